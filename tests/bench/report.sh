#!/usr/bin/env bash
# One-command benchmark report: builds every benchmark under tests/bench
# (each cc_binary there), runs them one after the other, each from its
# runfiles directory as the test suite does, and writes docs/benchmarks.md:
# the machine (cores, CPU model, kernel, memory, Debian version, load), the
# date and commit, then for each benchmark its settings line, the lines
# that carry its figures (medians, p99, rates, deaths) and its whole output,
# verbatim. A benchmark that fails or times out is reported as such; the
# others still run.
#
#   tests/bench/report.sh [--short] [--output FILE] [--timeout SECONDS]
#
# --short       each benchmark's short mode (what the test suite runs): a
#               few minutes in all; figures from few trials
# --output FILE where to write the report (default docs/benchmarks.md)
# --timeout S   the most one benchmark may run (default 900 in short mode,
#               5400 in full mode); then it is stopped and reported so
#
# Full mode takes tens of minutes and loads every core: run it on a quiet
# machine, in the foreground, and nothing else meanwhile. The netns
# benchmarks (vip_failover_bench, controller_bench) need root with network
# namespaces; elsewhere they say so and are reported as failed.
set -uo pipefail

usage() {
  sed -n '/^#   tests/,/^# namespaces/p' "$0" | sed 's/^# \{0,1\}//'
}

short=0
output=""
timeout_s=""
while [ $# -gt 0 ]; do
  case "$1" in
    --short) short=1 ;;
    --output|-o)
      [ $# -ge 2 ] || { echo "report.sh: $1 needs a file" >&2; exit 2; }
      output=$2; shift ;;
    --timeout)
      [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "report.sh: --timeout needs a number of seconds" >&2; exit 2; }
      timeout_s=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "report.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT" || exit 1
[ -n "$output" ] || output="$ROOT/docs/benchmarks.md"
case "$output" in /*) ;; *) output="$PWD/$output" ;; esac
if [ -z "$timeout_s" ]; then
  if [ "$short" = 1 ]; then timeout_s=900; else timeout_s=5400; fi
fi
mode=$([ "$short" = 1 ] && echo short || echo full)
mode_flag=$([ "$short" = 1 ] && echo --short || true)

work="$(mktemp -d -t hacluster-bench-report.XXXXXX)" || exit 1
trap 'rm -rf "$work"' EXIT

# Every benchmark is a cc_binary of //tests/bench.
mapfile -t targets < <(bazel query 'kind("cc_binary", //tests/bench:*)' 2>"$work/query.err" | sort)
if [ "${#targets[@]}" -eq 0 ]; then
  echo "report.sh: found no benchmark in //tests/bench:" >&2
  cat "$work/query.err" >&2
  exit 1
fi
echo "report.sh: ${#targets[@]} benchmarks, $mode mode: ${targets[*]}"
if ! bazel build "${targets[@]}"; then
  echo "report.sh: the build failed; no report written" >&2
  exit 1
fi
bin="$(bazel info bazel-bin 2>/dev/null)"
workspace="$(sed -n 's/^workspace(name = "\([^"]*\)").*/\1/p' WORKSPACE | head -1)"

# The machine, before the runs.
cores=$(nproc)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
[ -n "$cpu" ] || cpu="unknown (no model name in /proc/cpuinfo)"
kernel="$(uname -srm)"
mem_kb=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/meminfo)
mem="$(awk -v kb="${mem_kb:-0}" 'BEGIN { printf "%.1f GiB", kb / 1048576 }')"
debian="unknown"
if [ -r /etc/os-release ]; then
  debian="$(. /etc/os-release && echo "${PRETTY_NAME:-unknown}")"
fi
[ -r /etc/debian_version ] && debian="$debian (/etc/debian_version $(cat /etc/debian_version))"
virt="$(systemd-detect-virt 2>/dev/null || true)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit (with uncommitted changes)"
fi
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# Runs one benchmark; leaves NAME.out, NAME.err, NAME.rc, NAME.secs.
run_one() {
  local target=$1 name=${1##*:} pkg=${1#//}
  pkg=${pkg%%:*}
  local exe="$bin/$pkg/$name"
  local dir="$exe.runfiles/$workspace"
  [ -d "$dir" ] || dir="$ROOT"
  echo "report.sh: running $name $mode_flag (in $dir, at most ${timeout_s}s)"
  local t0 t1 rc secs
  t0=$(date +%s.%N)
  (cd "$dir" && timeout --kill-after=30 "$timeout_s" "$exe" $mode_flag) \
    >"$work/$name.out" 2>"$work/$name.err" </dev/null
  rc=$?
  t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  echo "$rc" >"$work/$name.rc"
  echo "$secs" >"$work/$name.secs"
  echo "report.sh: $name: exit status $rc after ${secs}s"
}

for t in "${targets[@]}"; do run_one "$t"; done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# What each benchmark printed, classified: the first line of its output
# names the settings; lines with a median, a p99, a rate, a CPU share or a
# count of deaths or late heartbeats are its figures.
figures_re='median|p99|req/s|false death|late heartbeat|CPU|RSS|wrong or failed'
status_of() {  # NAME -> "ok" / "failed (exit status N)" / "timed out ..." / "killed ..."
  local rc
  rc=$(cat "$work/$1.rc")
  case "$rc" in
    0) echo "ok" ;;
    124) echo "timed out (stopped at the ${timeout_s} s limit)" ;;
    137) echo "killed by SIGKILL (the timeout's last resort, or the kernel)" ;;
    *) echo "failed (exit status $rc)" ;;
  esac
}
fence() {  # a fenced block that no line of the file can close
  local file=$1 ticks='```'
  while grep -q "^$ticks" "$file" 2>/dev/null; do ticks="$ticks\`"; done
  echo "$ticks"
}

tmp="$output.tmp.$$"
{
  echo "# Benchmark report"
  echo
  echo "Written by \`tests/bench/report.sh$([ "$short" = 1 ] && echo " --short")\`, which builds and runs every"
  echo "benchmark of \`tests/bench\` one after the other and writes this file. Run it"
  echo "again to replace it. The figures, targets and explanations of each benchmark"
  echo "are in the README's Benchmarks section; this page is the raw record of one run."
  echo
  if [ "$short" = 1 ]; then
    echo "**This is a short-mode run** (\`--short\`, what the test suite runs): few trials"
    echo "and short measuring windows, so a p99 is often the slowest of a handful of"
    echo "trials and every figure moves from run to run. It shows that every benchmark"
    echo "runs and what it measures; the reference figures are the full-mode runs"
    echo "quoted in the README."
  else
    echo "**This is a full-mode run**, the mode of the figures quoted in the README."
  fi
  echo
  echo "## Machine and run"
  echo
  echo "| | |"
  echo "| --- | --- |"
  echo "| date | $started |"
  echo "| mode | $mode |"
  echo "| commit | $commit |"
  echo "| cores (nproc) | $cores |"
  echo "| CPU | $cpu |"
  [ -n "$virt" ] && echo "| virtualization | $virt |"
  echo "| kernel | $kernel |"
  echo "| memory | $mem |"
  echo "| OS | $debian |"
  echo "| load average (1, 5, 15 min) before / after | $load_before / $load_after |"
  echo
  echo "The machine may be shared: the load average says how busy it was."
  echo
  echo "## Summary"
  echo
  echo "| benchmark | outcome | time | settings (first line of its output) |"
  echo "| --- | --- | --- | --- |"
  for t in "${targets[@]}"; do
    n=${t##*:}
    settings="$(head -n 1 "$work/$n.out" | sed 's/|/\\|/g')"
    [ -n "$settings" ] || settings="(no output)"
    echo "| [\`$n\`](#$n) | $(status_of "$n") | $(cat "$work/$n.secs") s | $settings |"
  done
  for t in "${targets[@]}"; do
    n=${t##*:}
    echo
    echo "## $n"
    echo
    echo "\`$t\`, run as \`$n$([ "$short" = 1 ] && echo " --short")\` from its runfiles directory: $(status_of "$n"), $(cat "$work/$n.secs") s."
    echo
    if grep -Eq "$figures_re" "$work/$n.out"; then
      echo "Figures (the lines of its output with medians, p99, rates, CPU or deaths):"
      echo
      grep -E "$figures_re" "$work/$n.out" | sed 's/^[[:space:]]*//; s/`/'"'"'/g; s/.*/- `&`/'
    else
      echo "No figure line in its output (see below)."
    fi
    echo
    echo "Output (stdout), verbatim:"
    echo
    f=$(fence "$work/$n.out")
    echo "$f"
    cat "$work/$n.out"
    [ -z "$(tail -c 1 "$work/$n.out")" ] || echo
    echo "$f"
    if [ -s "$work/$n.err" ]; then
      echo
      echo "Standard error, verbatim:"
      echo
      f=$(fence "$work/$n.err")
      echo "$f"
      cat "$work/$n.err"
      [ -z "$(tail -c 1 "$work/$n.err")" ] || echo
      echo "$f"
    fi
  done
} >"$tmp" && mv "$tmp" "$output"

failed=0
for t in "${targets[@]}"; do
  [ "$(cat "$work/${t##*:}.rc")" = 0 ] || failed=$((failed + 1))
done
echo "report.sh: wrote $output (${#targets[@]} benchmarks, $failed failed)"
[ "$failed" -eq 0 ]
