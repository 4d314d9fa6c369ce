#!/usr/bin/env bash
# ./demo.sh --short, the newcomer's first run in a short form. In network
# namespaces it must move the VIP on a remote hb_standby and on the crash
# of the active node, print the client's figures for both (answers, longest
# gap, who answered before and after) and the failover time, and leave no
# namespace or process behind: after a normal run and after a Ctrl-C in the
# middle of the scenario (during the remote hb_standby). The loopback fallback must run as well. Where this
# machine allows no network namespaces, the demo must say so and fall back
# to loopback; only that is checked then (and the test says so).
set -uo pipefail

ROOT="$(pwd)"  # the runfiles: demo.sh, examples/ and the binaries
# Under /tmp: the agents' sockets live below it, and a Unix socket's path is
# limited to 108 bytes (TEST_TMPDIR is too deep).
WORK="$(mktemp -d /tmp/hacluster-demo-test.XXXXXX)"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The namespaces of a run, from its output ("... (prefix hd123-456-)").
prefix_of() { grep -o 'prefix hd[0-9]*-[0-9]*-' "$1" | head -n 1 | sed 's/^prefix //'; }
namespaces_of() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^$1" || true; }

# What a failed run may have left (the demo's own trap should leave
# nothing): processes in its namespaces, then the namespaces.
sweep() {  # PREFIX
  local ns pid
  [ -n "$1" ] || return 0
  for ns in $(namespaces_of "$1"); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns delete "$ns" 2>/dev/null
  done
}
PREFIXES=()
finish() {
  local p
  for p in "${PREFIXES[@]}"; do sweep "$p"; done
  rm -rf "$WORK"
}
trap finish EXIT

# Nothing of run $1 is left: no namespace with its prefix, no process
# naming its directory.
expect_clean() {  # RUN_DIR OUTPUT
  local prefix left procs
  prefix="$(prefix_of "$2")"
  if [ -n "$prefix" ]; then
    left="$(namespaces_of "$prefix")"
    [ -z "$left" ] || fail "$(basename "$1"): namespaces left: $left"
  fi
  procs="$(pgrep -a -f -- "$1/" || true)"
  [ -z "$procs" ] || fail "$(basename "$1"): processes left: $procs"
}

# run NAME [ENV=VALUE...]: demo.sh --short in $WORK/NAME, output in
# $WORK/NAME.out, exit status in $status; bounded by timeout(1), whose TERM
# the demo's trap handles.
run() {
  local name=$1
  shift
  env DEMO_BIN_DIR="$ROOT" "$@" timeout 300 ./demo.sh --short "$WORK/$name" \
    >"$WORK/$name.out" 2>&1
  status=$?
  PREFIXES+=("$(prefix_of "$WORK/$name.out")")
  echo "---- demo.sh --short ($name, exit $status)"
  cat "$WORK/$name.out"
}

# The lines of OUTPUT from the one starting with FROM to the one before TO.
section() { sed -n "/^$2/,/^$3/p" "$1"; }

# has OUTPUT REGEX WHAT
has() { grep -Eq -- "$2" "$1" || fail "$3: no line matching /$2/"; }

probe_ns="hdt$$-probe"
if ! ip netns add "$probe_ns" 2>/dev/null; then
  run fallback
  [ "$status" = 0 ] || fail "the demo without namespaces exited $status"
  has "$WORK/fallback.out" "network namespaces are not available here" "the fallback"
  has "$WORK/fallback.out" "^node03 +dead " "the loopback demo's kill"
  has "$WORK/fallback.out" "loopback demo done" "the loopback demo"
  expect_clean "$WORK/fallback" "$WORK/fallback.out"
  echo "SKIPPED: no network namespaces here (ip netns add refused): only the fallback was checked"
  [ "$failures" = 0 ] && echo "PASS" || echo "$failures failure(s)"
  exit $((failures > 0))
fi
ip netns delete "$probe_ns"

# 1. The scenario, to the end.
run netns
out="$WORK/netns.out"
[ "$status" = 0 ] || fail "demo.sh --short exited $status"
[ -n "$(prefix_of "$out")" ] || fail "no namespace prefix printed"
section "$out" "== 8\\." "== 9\\." >"$WORK/step8"
has "$WORK/step8" "^node01 +up +active " "hacli servers before the standby"
has "$WORK/step8" "^node02 +up +standby " "hacli servers before the standby"
has "$WORK/step8" "^node01$" "hacli where before the standby"
section "$out" "== 9\\." "== 10\\." >"$WORK/step9"
has "$WORK/step9" "^hb_standby returned after [0-9]+ ms$" "the remote hb_standby"
has "$WORK/step9" \
  "^client: answers [0-9]+ of [0-9]+ probes, longest gap [0-9.]+ ms from node01 to node02, last answer from node02$" \
  "the client's figures for the standby"
has "$WORK/step9" "^node02$" "hacli where after the standby"
section "$out" "== 10\\." "== 11\\." >"$WORK/step10"
has "$WORK/step10" \
  "^client: answers [0-9]+ of [0-9]+ probes, longest gap [0-9.]+ ms from node02 to node01, last answer from node01$" \
  "the client's figures for the crash"
has "$WORK/step10" "^failover: [0-9.]+ ms without an answer" "the failover time"
has "$WORK/step10" "^node01 +up +active .* 192\.0\.2\.10 " "hacli servers after the crash"
has "$WORK/step10" "^node02 +dead +down " "hacli servers after the crash"
has "$out" "^demo: removed the namespaces" "the clean-up"
expect_clean "$WORK/netns" "$out"

# 2. Ctrl-C in the middle: the demo runs in a process group of its own (as
# in a terminal) and the whole group gets SIGINT as hb_standby starts, the
# agents, their services and the client running.
set -m
env DEMO_BIN_DIR="$ROOT" timeout 300 ./demo.sh --short "$WORK/interrupted" \
  >"$WORK/interrupted.out" 2>&1 &
pid=$!
set +m
started='^\$ HACLI_SERVER=.* hb_standby$'
for _ in $(seq 1 600); do
  grep -q "$started" "$WORK/interrupted.out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
PREFIXES+=("$(prefix_of "$WORK/interrupted.out")")
if grep -q "$started" "$WORK/interrupted.out"; then
  kill -INT -- "-$pid"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "the interrupted demo still runs 30 s after SIGINT"
    kill -KILL -- "-$pid" 2>/dev/null
  fi
  wait "$pid"
  status=$?
  echo "---- demo.sh --short (interrupted, exit $status)"
  cat "$WORK/interrupted.out"
  [ "$status" != 0 ] || fail "the interrupted demo exited 0"
  has "$WORK/interrupted.out" "^demo: removed the namespaces" "the clean-up after SIGINT"
  expect_clean "$WORK/interrupted" "$WORK/interrupted.out"
else
  kill -KILL -- "-$pid" 2>/dev/null
  wait "$pid"
  cat "$WORK/interrupted.out"
  fail "the demo to interrupt never reached its hb_standby"
fi

# 3. The loopback fallback, forced.
run loopback DEMO_FORCE_LOOPBACK=1
[ "$status" = 0 ] || fail "the loopback demo exited $status"
has "$WORK/loopback.out" "^node03 +dead " "the loopback demo's kill"
has "$WORK/loopback.out" "loopback demo done" "the loopback demo"
expect_clean "$WORK/loopback" "$WORK/loopback.out"

[ "$failures" = 0 ] && echo "PASS" || echo "$failures failure(s)"
exit $((failures > 0))
