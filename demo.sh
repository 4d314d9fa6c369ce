#!/usr/bin/env bash
# The main job: a local demo cluster.
# 1-3: take the legacy /etc/ha.d of a two-node Heartbeat cluster shipped in
#      examples/legacy/ (node01 and node02), convert both nodes' directories
#      into one YAML cluster spec, validate it, and write the Heartbeat files
#      back for node02 (the rollback path).
# 4-7: run a live three-node cluster of real ha-agents on this machine's
#      loopback (127.0.0.11-13, UDP port 694), show `hacli status`, kill one
#      node with SIGKILL and watch the others declare it dead, restart it and
#      see its new generation. Every agent is stopped at the end.
#
#   ./demo.sh [OUTPUT_DIR]     (default: a new temporary directory)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")" && pwd)"
cd "$ROOT"
./setup.sh
bazel build //cli:hacli //agent:ha-agent
HACLI="$ROOT/bazel-bin/cli/hacli"
AGENT="$ROOT/bazel-bin/agent/ha-agent"

OUT="${1:-$(mktemp -d -t hacluster-demo.XXXXXX)}"
mkdir -p "$OUT"
# git does not keep file modes; Heartbeat (and hacli) refuse an authkeys
# that others can read, so the copies get mode 0600 as on a real node.
for n in node01 node02; do
  rm -rf "$OUT/legacy/$n"
  mkdir -p "$OUT/legacy/$n"
  cp examples/legacy/$n/* "$OUT/legacy/$n/"
  chmod 600 "$OUT/legacy/$n/authkeys"
done

echo
echo "== 1. Convert node01's and node02's /etc/ha.d into one spec"
echo "\$ hacli migrate --from legacy/node01 --peer legacy/node02 -o cluster.yaml"
"$HACLI" migrate --from "$OUT/legacy/node01" --peer "$OUT/legacy/node02" \
  -o "$OUT/cluster.yaml"
echo
cat "$OUT/cluster.yaml"

echo
echo "== 2. Validate it"
echo "\$ hacli validate cluster.yaml"
"$HACLI" validate "$OUT/cluster.yaml"

echo
echo "== 3. Rollback: Heartbeat files for node02 from the spec"
echo "\$ hacli migrate --to-legacy cluster.yaml --node node02 -o rollback-node02"
"$HACLI" migrate --to-legacy "$OUT/cluster.yaml" --node node02 -o "$OUT/rollback-node02"
for f in ha.cf haresources authkeys; do
  echo "--- rollback-node02/$f ($(stat -c %a "$OUT/rollback-node02/$f"))"
  cat "$OUT/rollback-node02/$f"
done

LIVE="$OUT/live"
rm -rf "$LIVE"
mkdir -p "$LIVE"
printf 'demo-cluster-secret\n' >"$LIVE/authkey"
chmod 600 "$LIVE/authkey"
cat >"$LIVE/cluster.yaml" <<'YAML'
cluster_name: demo
config_version: 1
nodes:
  - name: node01
    addresses: [127.0.0.11]
  - name: node02
    addresses: [127.0.0.12]
  - name: node03
    addresses: [127.0.0.13]
timing:
  keepalive: 200ms
  deadtime: 1s
  initdead: 2s
media:
  - ucast: {interface: lo}
auth:
  active_key: 1
  keys:
    - {id: 1, method: sha256, secret_file: authkey}
YAML

declare -A PIDS=()
stop_all() {
  for n in "${!PIDS[@]}"; do kill "${PIDS[$n]}" 2>/dev/null || true; done
  for n in "${!PIDS[@]}"; do wait "${PIDS[$n]}" 2>/dev/null || true; done
}
trap stop_all EXIT
start() {
  "$AGENT" --config "$LIVE/cluster.yaml" --node "$1" --state-dir "$LIVE/$1" \
    2>>"$LIVE/$1.log" &
  PIDS[$1]=$!
}
# Polls `hacli status -o json` of node01 until node $1 is in state $2
# (at most 100 times, 0.1 s apart).
wait_state() {
  for _ in $(seq 1 100); do
    if "$HACLI" --socket "$LIVE/node01/agent.sock" status -o json 2>/dev/null |
      tr -d ' \n' | grep -q "\"name\":\"$1\",\"state\":\"$2\""; then
      return 0
    fi
    sleep 0.1
  done
  echo "demo: $1 never reached $2; logs in $LIVE" >&2
  return 1
}

echo
echo "== 4. A live three-node cluster on loopback (keepalive 200ms, deadtime 1s)"
echo "\$ ha-agent --config cluster.yaml --node node0N --state-dir node0N   (x3)"
cat "$LIVE/cluster.yaml"
for n in node01 node02 node03; do start $n; done
for n in node01 node02 node03; do wait_state $n NODE_STATE_UP; done
echo
echo "\$ hacli --socket node01/agent.sock status"
"$HACLI" --socket "$LIVE/node01/agent.sock" status

# Nobody is declared dead before initdead has passed since the start.
for _ in $(seq 1 100); do
  "$HACLI" --socket "$LIVE/node01/agent.sock" status -o json | grep -q in_initdead || break
  sleep 0.1
done

echo
echo "== 5. kill -9 node03: the others declare it dead after deadtime"
kill -9 "${PIDS[node03]}"
wait "${PIDS[node03]}" 2>/dev/null || true
unset 'PIDS[node03]'
wait_state node03 NODE_STATE_DEAD
echo "\$ hacli --socket node02/agent.sock status"
"$HACLI" --socket "$LIVE/node02/agent.sock" status

echo
echo "== 6. Restart node03: it comes back with the next generation"
start node03
wait_state node03 NODE_STATE_UP
"$HACLI" --socket "$LIVE/node01/agent.sock" status

echo
echo "== 7. What node01 saw (hacli watch, the events it still holds)"
echo "\$ timeout 1 hacli --socket node01/agent.sock watch"
timeout 1 "$HACLI" --socket "$LIVE/node01/agent.sock" watch || true

stop_all
trap - EXIT
echo
echo "demo: done; files and agent logs in $OUT"
