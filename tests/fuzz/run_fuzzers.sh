#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang-14 (ASan + UBSan) and runs
# each for a bounded time.
#
#   tests/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Default 20 s per target (the test suite's short run); give e.g. 3600 for a
# long run. Targets: hacf haresources authkeys yaml wire floors cert hb3
# (default: all).
# Findings and the grown corpus go to tests/fuzz/out/ (not committed); the
# seed corpus in tests/fuzz/corpus/ is only read. Exit status 0 when every
# target ran its time without a crash or sanitizer report.
#
# The fuzzers are built outside Bazel because Bazel's auto-configured
# toolchain here is gcc; the sources are the same non-test .cc files that the
# Bazel libraries use.
set -euo pipefail

SECONDS_PER_TARGET="${1:-20}"
shift || true
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then TARGETS=(hacf haresources authkeys yaml wire floors cert hb3); fi

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/tests/fuzz/out"
BUILD="$OUT/build"
mkdir -p "$BUILD/gen/proto" "$BUILD/obj"

CXX="${CXX_FUZZ:-clang++-14}"
FLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined
       -fno-sanitize-recover=undefined -I"$ROOT" -I"$BUILD/gen")
LIBS=(-lyaml-cpp -lprotobuf -labsl_statusor -labsl_status -labsl_cord
      -labsl_cordz_info -labsl_cord_internal -labsl_cordz_functions
      -labsl_cordz_handle -labsl_exponential_biased -labsl_str_format_internal
      -labsl_synchronization -labsl_graphcycles_internal -labsl_stacktrace
      -labsl_symbolize -labsl_debugging_internal -labsl_demangle_internal
      -labsl_malloc_internal -labsl_time -labsl_civil_time -labsl_time_zone
      -labsl_strings -labsl_strings_internal -labsl_hash -labsl_city
      -labsl_low_level_hash -labsl_raw_hash_set -labsl_bad_optional_access
      -labsl_bad_variant_access -labsl_strerror -labsl_int128 -labsl_base
      -labsl_spinlock_wait -labsl_throw_delegate -labsl_raw_logging_internal
      -labsl_log_severity -labsl_hashtablez_sampler -lssl -lcrypto -lpthread)

# Generated code is replaced only when it changed, so objects stay fresh.
rm -rf "$BUILD/gen.new"; mkdir -p "$BUILD/gen.new"
(cd "$ROOT" && protoc --proto_path=. --cpp_out="$BUILD/gen.new" proto/*.proto)
for f in "$BUILD"/gen.new/proto/*; do
  cmp -s "$f" "$BUILD/gen/proto/$(basename "$f")" || cp "$f" "$BUILD/gen/proto/"
done
rm -rf "$BUILD/gen.new"

# Library sources: every non-test .cc of the parser packages, the wire
# codec and the Heartbeat 3 wire.
SOURCES=("$BUILD"/gen/proto/*.pb.cc)
for f in "$ROOT"/agent/config/*.cc "$ROOT"/migrate/*.cc "$ROOT"/agent/wire/*.cc \
         "$ROOT"/agent/tls/*.cc "$ROOT"/agent/hb3wire/*.cc; do
  case "$f" in *_test.cc) continue ;; esac
  [ -e "$f" ] && SOURCES+=("$f")
done

# Objects are reused only while no header or source changed (a crude but
# safe stand-in for dependency tracking).
stamp=$(cat "$ROOT"/agent/config/*.h "$ROOT"/migrate/*.h "$ROOT"/agent/wire/*.h "$ROOT"/agent/tls/*.h \
  "$ROOT"/agent/hb3wire/*.h "$ROOT"/agent/core/*.h "$ROOT"/proto/*.proto "$0" 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$(cat "$BUILD/stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -f "$BUILD"/obj/*.o
  echo "$stamp" > "$BUILD/stamp"
fi

OBJECTS=()
for src in "${SOURCES[@]}"; do
  obj="$BUILD/obj/$(echo "${src#"$ROOT"/}" | tr '/' '_').o"
  if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ]; then
    echo "fuzz: compiling ${src#"$ROOT"/}"
    "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  fi
  OBJECTS+=("$obj")
done

failed=0
for t in "${TARGETS[@]}"; do
  src="$ROOT/tests/fuzz/${t}_fuzzer.cc"
  bin="$BUILD/${t}_fuzzer"
  echo "fuzz: linking ${t}_fuzzer"
  "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer "$src" "${OBJECTS[@]}" "${LIBS[@]}" -o "$bin"
  corpus="$OUT/corpus/$t"
  mkdir -p "$corpus" "$OUT/findings/$t"
  if [ -d "$ROOT/tests/fuzz/corpus/$t" ]; then cp -n "$ROOT/tests/fuzz/corpus/$t"/* "$corpus/" 2>/dev/null || true; fi
  echo "fuzz: running ${t}_fuzzer for ${SECONDS_PER_TARGET}s"
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
       -max_len=8192 -print_final_stats=1 -artifact_prefix="$OUT/findings/$t/" \
       "$corpus" > "$OUT/${t}.log" 2>&1; then
    echo "fuzz: ${t}_fuzzer FAILED; see $OUT/${t}.log and $OUT/findings/$t/"
    tail -40 "$OUT/${t}.log"
    failed=1
  else
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/${t}.log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: ${t}_fuzzer ok (${runs} inputs, no crash)"
  fi
done
exit "$failed"
