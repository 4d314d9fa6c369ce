#!/usr/bin/env bash
# The main job: the product in one run, on this machine.
# 1-3  take the legacy /etc/ha.d of a two-node Heartbeat cluster shipped in
#      examples/legacy/ (node01 and node02: ucast on eth0 and eth1, a VIP and
#      Asterisk), convert both nodes' directories into one YAML spec,
#      validate it, and write the Heartbeat files back for node02 (rollback).
# 4-11 run that spec on two real ha-agents in network namespaces this script
#      creates: a LAN (a bridge at 192.0.2.1, the spec's ping node), a
#      crossover link between the nodes and a client. The spec's `asterisk`
#      is a small LSB script (examples/demo/asterisk) starting a UDP service
#      that answers with its node's name; the API is served over mutual TLS
#      with certificates made by `hacli cert`. From
#      the client: the server list, where the VIP is, a remote hb_standby,
#      then a crash of the active node, each measured by a client probing
#      the VIP every 2 ms (the longest time without an answer).
# Everything it started or created is removed at the end, also on failure
# or Ctrl-C. Where network namespaces are not available (not root, an
# unprivileged container) it says so and runs the loopback demo instead:
# three agents on 127.0.0.11-13, one killed, declared dead and restarted.
#
#   ./demo.sh [--short] [OUTPUT_DIR]   (default: a new temporary directory)
#
# --short: the same scenario with fewer prints (the test suite runs it).
# The files, certificates and agent logs stay in OUTPUT_DIR.
# Environment: DEMO_BIN_DIR=DIR takes the binaries from DIR (cli/hacli,
# agent/ha-agent, ... as under bazel-bin) instead of running setup.sh and
# bazel build; DEMO_FORCE_LOOPBACK=1 runs the loopback demo even where
# namespaces work.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

SHORT=""
if [ "${1:-}" = --short ]; then SHORT=1; shift; fi
ROOT="$(cd "$(dirname "$0")" && pwd)"
cd "$ROOT"
if [ -z "${DEMO_BIN_DIR:-}" ]; then
  ./setup.sh
  bazel build //cli:hacli //cli:hb_standby //agent:ha-agent //examples:vip_client \
    //tests/cluster:probe_server
  BIN="$ROOT/bazel-bin"
else
  BIN="$(cd "$DEMO_BIN_DIR" && pwd)"
fi
HACLI="$BIN/cli/hacli"
AGENT="$BIN/agent/ha-agent"
HB_STANDBY="$BIN/cli/hb_standby"
VIP_CLIENT="$BIN/examples/vip_client"
SERVICE_BIN="$(readlink -f "$BIN/tests/cluster/probe_server")"

OUT="${1:-$(mktemp -d -t hacluster-demo.XXXXXX)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

say() { echo "$@"; }
# Printed in the full demo only.
more() { if [ -z "$SHORT" ]; then echo "$@"; fi; }
step() { echo; echo "== $*"; }
# Shows a command as an operator types it ($ ...), paths relative to OUT.
show() { echo "\$ ${*//$OUT\//}"; }

# ------------------------------------------------------------------ 1-3

# git does not keep file modes; Heartbeat (and hacli) refuse an authkeys
# that others can read, so the copies get mode 0600 as on a real node.
for n in node01 node02; do
  rm -rf "$OUT/legacy/$n"
  mkdir -p "$OUT/legacy/$n"
  cp examples/legacy/$n/* "$OUT/legacy/$n/"
  chmod 600 "$OUT/legacy/$n/authkeys"
done
cd "$OUT"
echo "demo: working in $OUT (the paths below are relative to it)"

step "1. Convert node01's and node02's /etc/ha.d into one spec"
if [ -z "$SHORT" ]; then
  for f in ha.cf haresources; do
    echo "--- legacy/node01/$f"
    cat "legacy/node01/$f"
  done
fi
show hacli migrate --from legacy/node01 --peer legacy/node02 -o cluster.yaml
"$HACLI" migrate --from legacy/node01 --peer legacy/node02 -o cluster.yaml
if [ -z "$SHORT" ]; then echo; cat cluster.yaml; fi

step "2. Validate it"
show hacli validate cluster.yaml
"$HACLI" validate cluster.yaml

step "3. Rollback: Heartbeat files for node02 from the spec"
show hacli migrate --to-legacy cluster.yaml --node node02 -o rollback-node02
rm -rf rollback-node02
"$HACLI" migrate --to-legacy cluster.yaml --node node02 -o rollback-node02
if [ -z "$SHORT" ]; then
  echo "--- rollback-node02/ha.cf ($(stat -c %a rollback-node02/ha.cf))"
  cat rollback-node02/ha.cf
fi

# ------------------------------------------------------------------ loopback

# The fallback: three agents on this machine's loopback (127.0.0.11-13, UDP
# port 694), one killed with SIGKILL, declared dead after deadtime and
# restarted with its next generation.
loopback_demo() {
  local live="$OUT/loopback"
  rm -rf "$live"
  mkdir -p "$live"
  printf 'demo-cluster-secret\n' >"$live/authkey"
  chmod 600 "$live/authkey"
  cat >"$live/cluster.yaml" <<'YAML'
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
  declare -A pids=()
  loopback_stop() {
    local n
    trap '' INT TERM  # a second Ctrl-C does not cut the clean-up short
    for n in "${!pids[@]}"; do kill "${pids[$n]}" 2>/dev/null || true; done
    for n in "${!pids[@]}"; do wait "${pids[$n]}" 2>/dev/null || true; done
    pids=()
  }
  trap 'loopback_stop' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  loopback_start() {
    "$AGENT" --config "$live/cluster.yaml" --node "$1" --state-dir "$live/$1" \
      2>>"$live/$1.log" &
    pids[$1]=$!
  }
  # Polls node01's status until node $1 is in state $2 (at most 100 times,
  # 0.1 s apart).
  loopback_wait() {
    local i
    for i in $(seq 1 100); do
      if "$HACLI" --socket "$live/node01/agent.sock" status -o json 2>/dev/null |
        tr -d ' \n' | grep -q "\"name\":\"$1\",\"state\":\"$2\""; then
        return 0
      fi
      sleep 0.1
    done
    echo "demo: $1 never reached $2; logs in $live" >&2
    return 1
  }

  step "4. A live three-node cluster on loopback (keepalive 200ms, deadtime 1s)"
  show ha-agent --config loopback/cluster.yaml --node node0N --state-dir loopback/node0N "  (x3)"
  if [ -z "$SHORT" ]; then cat "$live/cluster.yaml"; fi
  local n
  for n in node01 node02 node03; do loopback_start $n; done
  for n in node01 node02 node03; do loopback_wait $n NODE_STATE_UP; done
  show hacli --socket loopback/node01/agent.sock status
  "$HACLI" --socket "$live/node01/agent.sock" status
  # Nobody is declared dead before initdead has passed since the start.
  for _ in $(seq 1 100); do
    "$HACLI" --socket "$live/node01/agent.sock" status -o json | grep -q in_initdead || break
    sleep 0.1
  done

  step "5. kill -9 node03: the others declare it dead after deadtime"
  kill -9 "${pids[node03]}"
  wait "${pids[node03]}" 2>/dev/null || true
  unset 'pids[node03]'
  loopback_wait node03 NODE_STATE_DEAD
  show hacli --socket loopback/node02/agent.sock status
  "$HACLI" --socket "$live/node02/agent.sock" status

  step "6. Restart node03: it comes back with the next generation"
  loopback_start node03
  loopback_wait node03 NODE_STATE_UP
  "$HACLI" --socket "$live/node01/agent.sock" status

  if [ -z "$SHORT" ]; then
    step "7. What node01 saw (hacli watch, the events it still holds)"
    show timeout 1 hacli --socket loopback/node01/agent.sock watch
    timeout 1 "$HACLI" --socket "$live/node01/agent.sock" watch || true
  fi
  loopback_stop
  trap - EXIT INT TERM
  echo
  echo "demo: loopback demo done; files and agent logs in $OUT"
}

# ------------------------------------------------------------------ the lab

# Namespaces of this run: <prefix>switch, <prefix>node01, <prefix>node02,
# <prefix>client. The prefix is unique per run.
PREFIX="hd$$-$RANDOM-"
SWITCH="${PREFIX}switch"
ns() { echo "$PREFIX$1"; }
CREATED=()    # namespaces created, in order
LIVE="$OUT/live"
PKI="$LIVE/pki"
VIP=192.0.2.10
PORT=4711     # the demo's asterisk answers on UDP 4711
API_PORT=7443

# Stops every process in the lab's namespaces (agents, services, the
# client: TERM, then KILL after 5 s), then deletes the namespaces, which
# takes their interfaces and the bridge with them. The binds of /etc/init.d
# and the rest live in the agents' private mount namespaces only and go with
# them. Runs on every exit, Ctrl-C and TERM included.
cleanup() {
  local status=$? ns procs i sig left
  # A second Ctrl-C (a terminal's, or one passed on by a wrapper such as
  # timeout(1)) must not cut the clean-up short: ignored from here on.
  trap - EXIT
  trap '' INT TERM
  set +e
  # (bash's notes on jobs killed by a signal are of no interest here)
  {
    for sig in TERM KILL; do
      for i in $(seq 1 50); do
        procs=()
        # shellcheck disable=SC2207
        for ns in "${CREATED[@]}"; do procs+=($(ip netns pids "$ns" 2>/dev/null)); done
        [ "${#procs[@]}" = 0 ] && break
        [ "$i" = 1 ] && kill -"$sig" "${procs[@]}"
        sleep 0.1
      done
    done
    # shellcheck disable=SC2046
    kill -KILL $(jobs -p)
    wait
  } 2>/dev/null
  for ns in "${CREATED[@]}"; do ip netns delete "$ns" 2>/dev/null; done
  left=""
  for ns in "${CREATED[@]}"; do [ -e "/run/netns/$ns" ] && left="$left $ns"; done
  if [ -n "$left" ]; then
    echo "demo: could not delete the namespaces$left" >&2
    [ "$status" = 0 ] && status=1
  else
    echo "demo: removed the namespaces ${PREFIX}* and every process in them"
  fi
  exit "$status"
}

if [ -n "${DEMO_FORCE_LOOPBACK:-}" ]; then
  echo
  echo "demo: DEMO_FORCE_LOOPBACK is set: the loopback demo instead of network namespaces"
  loopback_demo
  exit 0
fi
# A namespace is listed before it is made: a Ctrl-C in between still
# removes it.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
CREATED+=("$SWITCH")
if ! err=$(ip netns add "$SWITCH" 2>&1); then
  CREATED=()
  trap - EXIT INT TERM
  case "$err" in *"File exists"*) echo "demo: namespace $SWITCH exists already: run again" >&2; exit 1 ;; esac
  echo
  echo "demo: network namespaces are not available here (ip netns add: ${err:-failed});"
  echo "demo: they need root with CAP_SYS_ADMIN and CAP_NET_ADMIN, which an"
  echo "demo: unprivileged container does not give. Running the loopback demo instead."
  loopback_demo
  exit 0
fi

fail() {
  echo "demo: $*; logs in $LIVE" >&2
  exit 1
}

# on HOST CMD...: runs CMD in the namespace of HOST.
on() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }

# poll TRIES CMD...: waits until CMD succeeds, at most TRIES times 0.1 s.
poll() {
  local tries=$1 i
  shift
  for i in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

not() { ! "$@"; }

rm -rf "$LIVE"
mkdir -p "$LIVE"
chmod 700 "$LIVE"

step "4. A lab of network namespaces (prefix $PREFIX)"
cat <<'EOF'
        client 192.0.2.100
              |
  switch: bridge br0 192.0.2.1 (the ping node)          LAN 192.0.2.0/24
         /                          \
  node01 eth0 192.0.2.11      node02 eth0 192.0.2.12    VIP 192.0.2.10
  node01 eth1 198.51.100.11 -- node02 eth1 198.51.100.12 (crossover)
EOF
for h in node01 node02 client; do
  CREATED+=("$(ns "$h")")
  ip netns add "$(ns "$h")"
done
for n in "$SWITCH" $(ns node01) $(ns node02) $(ns client); do
  ip -n "$n" link set dev lo up
done
ip -n "$SWITCH" link add br0 type bridge stp_state 0 mcast_snooping 0
ip -n "$SWITCH" addr add 192.0.2.1/24 dev br0
ip -n "$SWITCH" link set dev br0 up
# One veth per host on the LAN, created inside the namespaces (nothing of
# the lab ever exists in this machine's own namespace): eth0 in the host,
# a bridge port named after the host in the switch.
lan() {  # HOST ADDRESS
  ip link add eth0 netns "$(ns "$1")" type veth peer name "$1" netns "$SWITCH"
  ip -n "$SWITCH" link set dev "$1" master br0 up
  ip -n "$(ns "$1")" addr add "$2/24" dev eth0
  ip -n "$(ns "$1")" link set dev eth0 up
}
lan node01 192.0.2.11
lan node02 192.0.2.12
lan client 192.0.2.100
ip link add eth1 netns "$(ns node01)" type veth peer name eth1 netns "$(ns node02)"
ip -n "$(ns node01)" addr add 198.51.100.11/24 dev eth1
ip -n "$(ns node02)" addr add 198.51.100.12/24 dev eth1
ip -n "$(ns node01)" link set dev eth1 up
ip -n "$(ns node02)" link set dev eth1 up
for h in node01 node02 client; do
  poll 50 on $h ping -c 1 -W 1 192.0.2.1 || fail "$h does not reach the bridge 192.0.2.1"
done
poll 50 on node01 ping -c 1 -W 1 198.51.100.12 || fail "node01 does not reach node02 on eth1"
say "lab up: $(ip netns list | grep -c "^$PREFIX") namespaces, every link answers ping"

step "5. Certificates for the API (mutual TLS), made by hacli cert"
cert() { show hacli cert "$@"; "$HACLI" cert "$@" >/dev/null; }
cert init --dir "$PKI" --cluster demo
cert issue --dir "$PKI" --role node --name node01 --san 192.0.2.11 --san 198.51.100.11
cert issue --dir "$PKI" --role node --name node02 --san 192.0.2.12 --san 198.51.100.12
cert issue --dir "$PKI" --role admin --name admin
cert issue --dir "$PKI" --role reader --name reader
more "$(cd "$PKI" && stat -c '  %A %n' ./*.crt ./*.key)"

step "6. The spec the agents run: the converted one, quicker timing, and an api section"
# Each node's own files: /etc/init.d with the asterisk script, its node
# certificate, its logs (the spec's logging.file is /var/log/heartbeat.log,
# as in ha.cf: each agent's /var/log is a directory of its own). These are
# bound over the common paths in each agent's private mount namespace, so
# one spec serves both nodes, as on two machines.
mkdir -p "$LIVE/node-tls"
for n in node01 node02; do
  mkdir -p "$LIVE/$n/init.d" "$LIVE/$n/tls" "$LIVE/$n/log" "$LIVE/$n/state"
  install -m 0755 "$ROOT/examples/demo/asterisk" "$LIVE/$n/init.d/asterisk"
  printf 'SERVICE_BIN=%s\nSERVICE_NODE=%s\nSERVICE_PORT=%s\nSERVICE_PIDFILE=%s\n' \
    "$SERVICE_BIN" "$n" "$PORT" "$LIVE/$n/asterisk.pid" >"$LIVE/$n/init.d/asterisk.env"
  install -m 0644 "$PKI/$n.crt" "$LIVE/$n/tls/node.crt"
  install -m 0600 "$PKI/$n.key" "$LIVE/$n/tls/node.key"
done
umask 077
sed -e 's/^  keepalive: .*/  keepalive: 100ms/' -e 's/^  warntime: .*/  warntime: 250ms/' \
  -e 's/^  deadtime: .*/  deadtime: 500ms/' -e 's/^  initdead: .*/  initdead: 2s/' \
  cluster.yaml >live/cluster.yaml
# The key's secret_file, which hacli migrate wrote beside the spec.
install -m 0600 cluster.authkey1 live/cluster.authkey1
cat >>live/cluster.yaml <<EOF
api:
  listen: [":$API_PORT"]                  # each node's own addresses
  tls_cert: $LIVE/node-tls/node.crt   # each node sees its own here
  tls_key: $LIVE/node-tls/node.key
  tls_client_ca: $PKI/ca.crt
EOF
umask 022
show diff -u cluster.yaml live/cluster.yaml
diff -u --label cluster.yaml --label live/cluster.yaml cluster.yaml live/cluster.yaml | sed "s|$OUT/||g" || true
show hacli validate live/cluster.yaml
"$HACLI" validate live/cluster.yaml

step "7. Two ha-agents, each in its namespace with its own /etc/init.d"
# ip netns exec NS unshare -m --propagation private sh -c 'mount --bind ...
# && exec ha-agent ...': the binds exist in the agent's mount namespace only
# (and its scripts'), never on this machine.
# shellcheck disable=SC2016
MOUNTS='mount --bind "$1/init.d" /etc/init.d && mount --bind "$1/tls" "$2" &&
        mount --bind "$1/log" /var/log && shift 2 && exec "$@"'
declare -A AGENT_PID=()
start_agent() {
  local n=$1
  # Not through on(): $! must be the agent's pid (ip and unshare exec it).
  ip netns exec "$(ns "$n")" unshare -m --propagation private sh -c "$MOUNTS" demo-mounts "$LIVE/$n" \
    "$LIVE/node-tls" "$AGENT" --config "$LIVE/cluster.yaml" --node "$n" \
    --state-dir "$LIVE/$n/state" >"$LIVE/$n/agent.log" 2>&1 &
  AGENT_PID[$n]=$!
}
sock() { echo "$LIVE/$1/state/agent.sock"; }
# The node that `hacli where VIP` names on node $1's socket.
where_on() { "$HACLI" --socket "$(sock "$1")" where "$VIP" 2>/dev/null; }
holder_is() { [ "$(where_on "$2")" = "$1" ]; }   # HOLDER OBSERVER
show "ip netns exec ${PREFIX}node01 unshare -m --propagation private sh -c 'mount --bind node01/init.d /etc/init.d && ... && exec ha-agent --config live/cluster.yaml --node node01 --state-dir live/node01/state'   (and node02)"
for n in node01 node02; do start_agent $n; done
for n in node01 node02; do
  poll 100 "$HACLI" --socket "$(sock $n)" status || fail "$n's agent never answered"
done
# node01 is preferred: it takes the group once it has heard node02.
for n in node01 node02; do
  poll 150 holder_is node01 $n || fail "$n never saw the group running on node01"
done
say "both agents up: hacli where $VIP says node01 on each"
# The measurements below are of the steady state: initdead is over.
in_initdead() { "$HACLI" --socket "$(sock "$1")" status -o json | grep -q in_initdead; }
for n in node01 node02; do
  poll 100 not in_initdead $n || fail "$n is still in initdead"
done
if [ -z "$SHORT" ]; then
  show hacli --socket live/node01/state/agent.sock status
  "$HACLI" --socket "$(sock node01)" status
fi

step "8. From the client (192.0.2.100), over mutual TLS"
SERVERS="192.0.2.11:$API_PORT,192.0.2.12:$API_PORT"
reader() {
  show hacli --server "$SERVERS" --ca live/pki/ca.crt --cert live/pki/reader.crt \
    --key live/pki/reader.key "$@"
  on client "$HACLI" --server "$SERVERS" --ca "$PKI/ca.crt" --cert "$PKI/reader.crt" \
    --key "$PKI/reader.key" "$@"
}
reader servers
reader where "$VIP"

# The client probing the VIP every 2 ms; its output in $LIVE/client-$1.txt.
CLIENT_PID=""
client_start() {
  CLIENT_OUT="$LIVE/client-$1.txt"
  ip netns exec "$(ns client)" "$VIP_CLIENT" --to "$VIP:$PORT" --interval 2ms --max-seconds 60 \
    >"$CLIENT_OUT" 2>&1 &
  CLIENT_PID=$!
  poll 50 grep -q "answers (first answer)" "$CLIENT_OUT" || fail "the client got no answer"
}
client_until() {  # NODE: waits until NODE answers instead, then stops the client
  poll 150 grep -q " $1 answers (" "$CLIENT_OUT" || fail "$1 never answered the client"
  kill -TERM "$CLIENT_PID"
  wait "$CLIENT_PID" || true
  CLIENT_PID=""
  sed -e '$d' -e 's/^/  /' "$CLIENT_OUT"
  say "client: $(tail -n 1 "$CLIENT_OUT")"
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

step "9. A scripted remote hb_standby: node01 hands the VIP and asterisk to node02"
say "(vip_client in the client namespace probes $VIP:$PORT every 2 ms)"
client_start standby
show HACLI_SERVER="$SERVERS" HACLI_CA=live/pki/ca.crt HACLI_CERT=live/pki/admin.crt \
  HACLI_KEY=live/pki/admin.key hb_standby
t0=$(date +%s%N)
on client env HACLI_SERVER="$SERVERS" HACLI_CA="$PKI/ca.crt" HACLI_CERT="$PKI/admin.crt" \
  HACLI_KEY="$PKI/admin.key" "$HB_STANDBY"
say "hb_standby returned after $(ms_since "$t0") ms"
client_until node02
reader where "$VIP"

step "10. node02 crashes: every process of it killed with SIGKILL, its VIP gone"
client_start crash
show "kill -9 \$(ip netns pids ${PREFIX}node02)   # its agent and asterisk"
show ip -n "${PREFIX}node02" addr del "$VIP/24" dev eth0
# shellcheck disable=SC2046
kill -9 $(ip netns pids "$(ns node02)")
ip -n "$(ns node02)" addr del "$VIP/24" dev eth0
wait "${AGENT_PID[node02]}" 2>/dev/null || true
client_until node01
say "failover: $(grep -o 'node01 answers (node02 before; [0-9.]* ms' "$CLIENT_OUT" |
  sed 's/.*; //') without an answer (deadtime 500ms, then the VIP and asterisk on node01)"
reader servers
if [ -z "$SHORT" ]; then
  echo "--- what node01's agent logged meanwhile (live/node01/agent.log)"
  grep -E 'node02|group' "$LIVE/node01/agent.log" | tail -n 8 | sed 's/^/  /'
fi

step "11. Stop node01's agent (SIGTERM: it releases the VIP and stops asterisk)"
kill -TERM "${AGENT_PID[node01]}"
wait "${AGENT_PID[node01]}" 2>/dev/null || true
on node01 ip -o addr show dev eth0 | grep -q " $VIP/" && fail "the VIP is still on node01"
say "done: files, certificates and agent logs in $OUT"
