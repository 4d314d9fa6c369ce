#!/usr/bin/env bash
# The whole test suite: set-up, Bazel build and every test, then the fuzzers
# for a short bounded run. Ends with `tests: N passed, M failed`, counting
# each GoogleTest case, each non-GoogleTest test target and each fuzzer.
#
#   tests/run_all.sh            # everything
#   FUZZ_SECONDS=300 tests/run_all.sh   # longer fuzzing
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
./setup.sh || { echo "tests: 0 passed, 1 failed"; exit 1; }

FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
LOG="$(mktemp -t hacluster-test.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

start=$(date +%s)
# Every test runs every time: a result cached from an earlier run (the disk
# cache is shared by every clone on the machine) would hide a flaky test.
bazel test --keep_going --nocache_test_results //... 2>&1 | tee "$LOG"
bazel_status=${PIPESTATUS[0]}
testlogs="$(bazel info bazel-testlogs 2>/dev/null)"

passed=0
failed=0
failed_names=()
# One summary line per test target: "//pkg:name   PASSED in 0.1s" etc.
while read -r target status; do
  xml="$testlogs/${target#//}"
  xml="${xml/://}/test.xml"
  if [ "$status" = PASSED ] || [ "$status" = FAILED ]; then
    if [ -f "$xml" ] && grep -q '<testsuites ' "$xml"; then
      t=$(grep -o '<testsuites [^>]*' "$xml" | grep -o ' tests="[0-9]*"' | head -1 | grep -o '[0-9]*')
      f=$(grep -o '<testsuites [^>]*' "$xml" | grep -o ' failures="[0-9]*"' | head -1 | grep -o '[0-9]*')
      e=$(grep -o '<testsuites [^>]*' "$xml" | grep -o ' errors="[0-9]*"' | head -1 | grep -o '[0-9]*')
      f=$((f + ${e:-0}))
      if [ "$status" = FAILED ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed mid-run
      passed=$((passed + t - f))
      failed=$((failed + f))
    elif [ "$status" = PASSED ]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
    fi
  else
    failed=$((failed + 1))
  fi
  if [ "$status" != PASSED ]; then failed_names+=("$target ($status)"); fi
done < <(grep -E '^//[^ ]+ +(\(cached\) )?(PASSED|FAILED|NO STATUS|FAILED TO BUILD|TIMEOUT|FLAKY|INCOMPLETE|SKIPPED)' "$LOG" \
         | sed -E 's/\(cached\) //' | awk '{s=$2; if ($2=="FAILED" && $3=="TO") s="FAILED_TO_BUILD"; if ($2=="NO") s="NO_STATUS"; print $1, s}')

# Exit 3 means some tests failed (counted above); anything else but 0 means
# the build itself failed, even if every test that did build passed.
if [ "$bazel_status" -ne 0 ] && { [ "$bazel_status" -ne 3 ] || [ "$failed" -eq 0 ]; }; then
  failed_names+=("bazel test (exit $bazel_status: build failure)")
  failed=$((failed + 1))
fi
echo "bazel: $(( $(date +%s) - start ))s"

fuzz_start=$(date +%s)
for t in hacf haresources authkeys yaml wire floors cert hb3; do
  if tests/fuzz/run_fuzzers.sh "$FUZZ_SECONDS" "$t"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_names+=("fuzz $t")
  fi
done
echo "fuzz: $(( $(date +%s) - fuzz_start ))s"

if [ "${CI:-}" = true ]; then bazel shutdown >/dev/null 2>&1 || true; fi
for n in "${failed_names[@]}"; do echo "FAILED: $n"; done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
