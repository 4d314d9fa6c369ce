#!/bin/bash
# Captures what Heartbeat's own cl_status, hb_standby and hb_takeover print
# and return, from a real two-node Heartbeat cluster (Debian's heartbeat
# package) run in network namespaces made here. See README.txt.
#
#   sudo ./capture.sh OUTDIR
#
# The host is left as it was: every node runs in its own network, mount and
# UTS namespace, with its own copies of /etc/ha.d and /var/lib/heartbeat and
# an empty /run bind-mounted over the host's only inside that namespace.
# Namespaces carry a per-run prefix and are deleted on exit, also on failure.
set -u

OUT=${1:?usage: capture.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

HEARTBEAT=/usr/libexec/heartbeat/heartbeat
HBSHARE=/usr/share/heartbeat
P=hbcap-$$-
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hbcap.XXXXXX")
declare -A HOLDER   # node number -> pid of the process holding its namespaces

cleanup() {
  for ns in "${P}n1" "${P}n2" "${P}br"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  done
  sleep 0.5
  for ns in "${P}n1" "${P}n2" "${P}br"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() { echo "capture: $*" >&2; exit 1; }

# --- network: two links (eth0, eth1), each a bridge in its own namespace ---
# node01 192.0.2.1 (eth0) / 192.0.2.129 (eth1), node02 .2 / .130, and a
# ping node 192.0.2.126 on the eth0 bridge. Nothing routes to the host.
make_network() {
  ip netns add "${P}br" && ip netns add "${P}n1" && ip netns add "${P}n2" || die "netns"
  local b="ip -n ${P}br"
  $b link set lo up
  for l in 0 1; do
    $b link add "br$l" type bridge && $b link set "br$l" up || die "bridge"
    for n in 1 2; do
      $b link add "n${n}e$l" type veth peer name "eth$l" netns "${P}n$n" || die "veth"
      $b link set "n${n}e$l" master "br$l" && $b link set "n${n}e$l" up
      ip -n "${P}n$n" addr add "192.0.2.$((l * 128 + n))/25" dev "eth$l"
      ip -n "${P}n$n" link set "eth$l" up
    done
  done
  ip -n "${P}n1" link set lo up
  ip -n "${P}n2" link set lo up
  $b addr add 192.0.2.126/25 dev br0
}

# --- one node's private /etc/ha.d and /var/lib/heartbeat ---
make_node_files() {
  local n=$1 me=node0$1 other_e0=192.0.2.$((3 - $1)) other_e1=192.0.2.$((131 - $1))
  local d="$WORK/n$n"
  mkdir -p "$d"
  cp -a /etc/ha.d "$d/ha.d"
  cp -a /var/lib/heartbeat "$d/lib"
  cat >"$d/ha.d/ha.cf" <<EOF
logfile /var/lib/heartbeat/ha-log
debugfile /var/lib/heartbeat/ha-debug
logfacility none
keepalive 1
warntime 3
deadtime 6
initdead 12
udpport 694
ucast eth0 $other_e0
ucast eth1 $other_e1
auto_failback on
node node01
node node02
ping 192.0.2.126
ping_group pgrp 192.0.2.125 192.0.2.126
crm no
EOF
  cat >"$d/ha.d/haresources" <<EOF
node01 hbcap::web
node02 hbcap::db
EOF
  printf 'auth 1\n1 sha1 hbcap-test-key\n' >"$d/ha.d/authkeys"
  chmod 600 "$d/ha.d/authkeys"
  # A resource that only marks itself started in the node's own state dir.
  cat >"$d/ha.d/resource.d/hbcap" <<'EOF'
#!/bin/sh
f=/var/lib/heartbeat/hbcap-$1
case "$2" in
  start) touch "$f" ;;
  stop) rm -f "$f" ;;
  status) if [ -f "$f" ]; then echo running; else echo stopped; fi ;;
esac
exit 0
EOF
  chmod 755 "$d/ha.d/resource.d/hbcap"
}

# A process that holds node N's namespaces: its network namespace, plus a
# new mount and UTS namespace with the node's own files mounted.
start_holder() {
  local n=$1 d="$WORK/n$1"
  ip netns exec "${P}n$n" unshare -m -u --propagation private bash -c "
    hostname node0$n
    mount --bind '$d/ha.d' /etc/ha.d
    mount --bind '$d/lib' /var/lib/heartbeat
    mount -t tmpfs -o mode=755 tmpfs /run
    mkdir -p /run/lock /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd
    chown -R hacluster:haclient /run/heartbeat
    chmod -R 750 /run/heartbeat
    touch '$d/ready'
    exec sleep 3600" &
  HOLDER[$n]=$!
  disown "${HOLDER[$n]}"  # killed by cleanup; no job report
  for _ in $(seq 50); do [ -f "$d/ready" ] && return 0; sleep 0.1; done
  die "node0$n's namespace did not come up"
}

# Runs a command inside node N's namespaces.
inns() {
  local n=$1
  shift
  nsenter -t "${HOLDER[$n]}" -m -u -n -- "$@"
}

start_heartbeat() { inns "$1" "$HEARTBEAT" >/dev/null 2>&1 || die "heartbeat on node0$1"; }
kill_heartbeat() {
  # SIGKILL every heartbeat process of that node (a crash; no shutdown).
  local pid
  for pid in $(ip netns pids "${P}n$1"); do
    [ "$pid" = "${HOLDER[$1]}" ] && continue
    kill -9 "$pid" 2>/dev/null
  done
}

# The transcript: one file per scenario.
SCEN=""
scenario() {
  SCEN="$OUT/$1.txt"
  shift
  {
    echo "# Heartbeat $(dpkg-query -W -f='${Version}' heartbeat) ($1)"
    shift
    for line in "$@"; do echo "# $line"; done
  } >"$SCEN"
}

# Records one command run on node N: "== node0N: COMMAND", its stdout, its
# stderr with cl_log's "Mon DD HH:MM:SS" and "[pid]" replaced by fixed text,
# and its exit status.
cap() {
  local n=$1
  shift
  local rc
  inns "$n" "$@" >"$WORK/o" 2>"$WORK/e"
  rc=$?
  {
    echo "== node0$n: $(echo "$*" | sed -e "s#$HBSHARE/##")"
    echo "-- stdout"
    sed -e "s#$HBSHARE/##g" "$WORK/o"
    echo "-- stderr"
    sed -E -e 's/^[A-Z][a-z]{2} [0-9]{2} [0-9:]{8} /MMM DD HH:MM:SS /' \
      -e 's/\[[0-9]+\]/[PID]/' -e "s#$HBSHARE/##g" "$WORK/e"
    echo "-- exit $rc"
  } >>"$SCEN"
}

# Waits (at most 40 s) until neither node's rscstatus says "transition" and
# both answers stayed the same for 3 s.
settle() {
  local i same=0 last="" now
  for i in $(seq 40); do
    now="$(inns 1 cl_status rscstatus 2>&1)/$(inns 2 cl_status rscstatus 2>&1)"
    if [ "$now" = "$last" ] && [ "${now#*transition}" = "$now" ]; then
      same=$((same + 1))
      [ $same -ge 3 ] && return 0
    else
      same=0
    fi
    last=$now
    sleep 1
  done
  die "rscstatus did not settle (last: $now)"
}

# Waits (at most $2 s) until "cl_status rscstatus" on node N prints $3.
wait_rsc() {
  local n=$1 limit=$2 want=$3 i
  for i in $(seq $((limit * 5))); do
    [ "$(inns "$n" cl_status rscstatus 2>/dev/null)" = "$want" ] && return 0
    sleep 0.2
  done
  die "node0$n: rscstatus did not become '$want' within ${limit}s (is '$(inns "$n" cl_status rscstatus 2>&1)')"
}

wait_node() {
  local n=$1 limit=$2 node=$3 want=$4 i
  for i in $(seq $((limit * 5))); do
    [ "$(inns "$n" cl_status nodestatus "$node" 2>/dev/null)" = "$want" ] && return 0
    sleep 0.2
  done
  die "node0$n: $node did not become '$want' within ${limit}s"
}

wait_link() {
  local n=$1 limit=$2 node=$3 link=$4 want=$5 i
  for i in $(seq $((limit * 5))); do
    [ "$(inns "$n" cl_status hblinkstatus "$node" "$link" 2>/dev/null)" = "$want" ] && return 0
    sleep 0.2
  done
  die "node0$n: link $node $link did not become '$want' within ${limit}s"
}

# Polls, every 0.2 s for $2 s, what node N answers to a few queries, and
# records every change (elapsed ms since the poll started, then the answers).
watch_changes() {
  local n=$1 secs=$2 label=$3 last="" now start i
  shift 3
  start=$(date +%s%N)
  echo "== node0$n: watch ($label): $*" >>"$SCEN"
  for i in $(seq $((secs * 5))); do
    now=""
    for q in "$@"; do
      # shellcheck disable=SC2086
      now="$now $q=$(inns "$n" cl_status $q 2>/dev/null | tr '\n' ',' | sed 's/,$//')"
    done
    if [ "$now" != "$last" ]; then
      echo "$(( ($(date +%s%N) - start) / 1000000 ))ms$now" >>"$SCEN"
      last=$now
    fi
    sleep 0.2
  done
  echo "-- end" >>"$SCEN"
}

# Every read-only subcommand, as a monitoring check would ask them.
all_queries() {
  local n=$1
  cap "$n" cl_status hbstatus
  cap "$n" cl_status listnodes
  cap "$n" cl_status listnodes -n
  cap "$n" cl_status listnodes -p
  cap "$n" cl_status listnodes -v
  cap "$n" cl_status listnodes -m
  for node in node01 node02 192.0.2.126 nosuchnode; do
    cap "$n" cl_status nodestatus "$node"
  done
  cap "$n" cl_status nodestatus -m node02
  cap "$n" cl_status nodetype node02
  cap "$n" cl_status nodetype 192.0.2.126
  cap "$n" cl_status nodetype pgrp
  cap "$n" cl_status nodetype nosuchnode
  cap "$n" cl_status nodestatus pgrp
  cap "$n" cl_status nodeweight node02
  cap "$n" cl_status nodesite node02
  cap "$n" cl_status listnodes -n -p
  for node in node01 node02 192.0.2.126 pgrp; do
    cap "$n" cl_status listhblinks "$node"
    cap "$n" cl_status listhblinks -v "$node"
  done
  cap "$n" cl_status listhblinks -m node02
  cap "$n" cl_status listhblinks nosuchnode
  for link in eth0 eth1 eth9; do
    cap "$n" cl_status hblinkstatus node02 "$link"
  done
  cap "$n" cl_status hblinkstatus node01 eth0
  cap "$n" cl_status hblinkstatus 192.0.2.126 192.0.2.126
  cap "$n" cl_status hblinkstatus pgrp pgrp
  cap "$n" cl_status hblinkstatus nosuchnode eth0
  cap "$n" cl_status hblinkstatus -m node02 eth0
  cap "$n" cl_status hblinkstatus node02
  cap "$n" cl_status nodestatus
  cap "$n" cl_status rscstatus
  cap "$n" cl_status rscstatus -m
  cap "$n" cl_status hbparameter -p deadtime
  cap "$n" cl_status hbparameter -p auto_failback
  cap "$n" cl_status hbparameter -p keepalive
  cap "$n" cl_status hbparameter -p stonith
  cap "$n" cl_status hbparameter
  cap "$n" cl_status clientstatus node02 ipfail
  cap "$n" cl_status hbstatus -x
  cap "$n" cl_status listnodes -x
}

main() {
  command -v cl_status >/dev/null && [ -x "$HEARTBEAT" ] || die "install Debian's heartbeat package"
  [ "$(id -u)" = 0 ] || die "run as root (namespaces)"
  make_network
  make_node_files 1
  make_node_files 2
  start_holder 1
  start_holder 2

  scenario stopped "heartbeat not running on node01" \
    "no heartbeat daemon: what monitoring sees when the cluster software is down"
  cap 1 cl_status
  cap 1 cl_status -h
  cap 1 cl_status --help
  cap 1 cl_status nosuchcommand
  cap 1 cl_status hbstatus
  cap 1 cl_status hbstatus -v
  all_queries 1
  cap 1 cl_status clientstatus node01 ipfail

  # A request while heartbeat is down only appends to the FIFO's path,
  # which is then a plain file: removed so that heartbeat can make its FIFO.
  cap 1 "$HBSHARE/hb_standby"
  cap 1 "$HBSHARE/hb_takeover" local
  inns 1 rm -f /var/lib/heartbeat/fifo

  scenario usage "argument checks of hb_standby / hb_takeover (heartbeat not running)" \
    "hb_standby and hb_takeover only write a request into heartbeat's FIFO;" \
    "they print nothing on success and never wait for the move"
  for cmd in hb_standby hb_takeover; do
    cap 1 "$HBSHARE/$cmd" bogus
    cap 1 "$HBSHARE/$cmd" all local
    cap 1 "$HBSHARE/$cmd" --help
  done

  # node01 alone: before and after initdead.
  scenario alone "node01 started alone; node02 never started" \
    "keepalive 1, warntime 3, deadtime 6, initdead 12; auto_failback on" \
    "haresources: node01 hbcap::web / node02 hbcap::db" \
    "ping 192.0.2.126; ping_group pgrp 192.0.2.125 192.0.2.126 (.125 never answers)"
  start_heartbeat 1
  sleep 1
  cap 1 cl_status hbstatus
  cap 1 cl_status nodestatus node01
  cap 1 cl_status rscstatus
  watch_changes 1 20 "node01 starting" "nodestatus node01" "nodestatus node02" \
    "nodestatus 192.0.2.126" "rscstatus" "hblinkstatus node02 eth0"
  wait_rsc 1 30 all
  all_queries 1

  scenario joining "node02 starts while node01 runs both groups" \
    "node02 is heard on both links; auto_failback on gives db back to node02"
  start_heartbeat 2
  watch_changes 1 25 "node01 watching node02 join" "nodestatus node02" "rscstatus" \
    "hblinkstatus node02 eth0" "hblinkstatus node02 eth1"
  wait_rsc 1 40 local
  wait_rsc 2 40 local

  scenario both_up "both nodes up and settled, both links up" \
    "node01 holds web (preferred node01), node02 holds db (preferred node02)"
  all_queries 1
  all_queries 2
  cap 2 cl_status hbstatus -v
  cap 1 cl_status hbstatus -m

  scenario link_down "link eth1 cut between the nodes for more than deadtime" \
    "node02's eth1 bridge port is down; eth0 still carries the heartbeats"
  ip -n "${P}br" link set n2e1 down
  wait_link 1 20 node02 eth1 dead
  cap 1 cl_status listhblinks -v node02
  cap 1 cl_status hblinkstatus node02 eth1
  cap 1 cl_status hblinkstatus node02 eth0
  cap 1 cl_status nodestatus node02
  cap 1 cl_status listnodes -v
  cap 2 cl_status hblinkstatus node01 eth1
  ip -n "${P}br" link set n2e1 up
  wait_link 1 20 node02 eth1 up

  scenario ping_down "the ping node stops answering for more than deadtime"
  ip -n "${P}br" addr del 192.0.2.126/25 dev br0
  wait_node 1 20 192.0.2.126 dead
  cap 1 cl_status nodestatus 192.0.2.126
  cap 1 cl_status hblinkstatus 192.0.2.126 192.0.2.126
  cap 1 cl_status listnodes -v
  ip -n "${P}br" addr add 192.0.2.126/25 dev br0
  wait_node 1 20 192.0.2.126 ping

  scenario standby "hb_standby / hb_takeover with every argument, both nodes up" \
    "each step: the command, what rscstatus says right after, then once settled"
  cap 1 "$HBSHARE/hb_standby"
  cap 1 cl_status rscstatus
  cap 2 cl_status rscstatus
  watch_changes 1 8 "after hb_standby on node01" "rscstatus"
  step() { # node command... : run, settle, record both nodes' rscstatus
    local n=$1
    shift
    cap "$n" "$HBSHARE/$1" "${@:2}"
    settle
    cap 1 cl_status rscstatus
    cap 2 cl_status rscstatus
  }
  settle
  cap 1 cl_status rscstatus
  cap 2 cl_status rscstatus
  cap 1 "$HBSHARE/hb_takeover"
  watch_changes 1 8 "after hb_takeover on node01" "rscstatus"
  settle
  cap 1 cl_status rscstatus
  cap 2 cl_status rscstatus
  step 1 hb_standby foreign
  step 2 hb_takeover foreign
  step 1 hb_takeover local
  step 2 hb_standby local
  step 2 hb_takeover failback
  step 2 hb_standby all
  step 1 hb_standby failback
  step 2 hb_standby foreign
  step 1 hb_takeover all
  step 2 hb_takeover local
  cap 1 grep -c "bad resource type" /var/lib/heartbeat/ha-log

  scenario peer_dead "node02's heartbeat killed (SIGKILL), more than deadtime ago" \
    "node01 took db over"
  kill_heartbeat 2
  watch_changes 1 15 "node01 after node02 died" "nodestatus node02" "rscstatus" \
    "hblinkstatus node02 eth0"
  wait_rsc 1 30 all
  all_queries 1

  scenario peer_back "node02 restarted after its death" \
    "auto_failback on: db goes back to node02"
  start_heartbeat 2
  watch_changes 2 25 "node02 starting" "nodestatus node02" "nodestatus node01" "rscstatus"
  wait_rsc 2 40 local
  cap 1 cl_status nodestatus node02
  cap 2 cl_status nodestatus node01
  cap 2 cl_status rscstatus

  scenario peer_stopped "heartbeat on node02 stopped cleanly (heartbeat -k)" \
    "node02 gives db to node01 and says it leaves"
  inns 2 "$HEARTBEAT" -k >/dev/null 2>&1
  watch_changes 1 12 "node01 while node02 stops" "nodestatus node02" "rscstatus" \
    "hblinkstatus node02 eth0"
  wait_rsc 1 30 all
  cap 1 cl_status nodestatus node02
  cap 1 cl_status listnodes -v
  cap 1 cl_status hblinkstatus node02 eth0

  echo "capture: done, transcripts in $OUT"
}

main
