#!/usr/bin/env bash
# hb_standby and hb_takeover pass their argument to hacli and return its
# exit status: checked without an agent (3), with a bad scope (2).
set -uo pipefail
failures=0
check() {  # check WANT_STATUS WANT_STDERR PROGRAM ARGS...
  local want="$1" text="$2"; shift 2
  local err
  err="$("$@" 2>&1 >/dev/null)"
  local got=$?
  if [ "$got" -ne "$want" ]; then echo "FAIL: $* exited $got, want $want: $err"; failures=$((failures + 1)); fi
  case "$err" in *"$text"*) ;; *) echo "FAIL: $* said '$err', want '$text'"; failures=$((failures + 1)) ;; esac
}
export HACLI_SOCKET=/nonexistent/agent.sock
check 3 "hacli: standby: cannot reach the agent at /nonexistent/agent.sock" cli/hb_standby
check 3 "hacli: takeover: cannot reach the agent at /nonexistent/agent.sock" cli/hb_takeover foreign
check 2 "unknown scope 'everything'" cli/hb_standby everything
echo "hb wrappers: $failures failed"
[ "$failures" -eq 0 ]
