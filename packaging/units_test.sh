#!/usr/bin/env bash
# systemd-analyze verify on the packaged units, against a throwaway root:
# the package extracted (so ExecStart names its real binaries) over a copy
# of this machine's system units (the targets they order against). Any
# message about a unit fails the test: verify prints unknown keys and bad
# values but still exits 0. A unit with a wrong key and one whose binary is
# missing are checked to be reported, so a verify that checks nothing
# fails too. Also: each unit's settings as systemd parsed them.
#
#   units_test.sh DEB
set -uo pipefail

DEB="$(pwd)/$1"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/units-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
failures=0
current=""
begin() { current="$1"; ok=1; }
end() { if [ "$ok" = 1 ]; then echo "ok: $current"; else echo "FAIL: $current"; failures=$((failures + 1)); fi; }
fail() { echo "  $*"; ok=0; }

ROOT="$WORK/root"
mkdir -p "$ROOT/lib/systemd/system" "$ROOT/etc/systemd/system"
cp -a /lib/systemd/system/. "$ROOT/lib/systemd/system/"
dpkg-deb -x "$DEB" "$ROOT"
# The units name /bin/kill (ExecReload) and load /etc/default files.
mkdir -p "$ROOT/bin" && cp /bin/kill "$ROOT/bin/kill"

verify() {  # verify UNIT...: 0 when systemd-analyze says nothing about them
  systemd-analyze verify --root="$ROOT" --man=no "$@" > "$WORK/verify.out" 2>&1
  local status=$?
  if [ "$status" -ne 0 ] || [ -s "$WORK/verify.out" ]; then
    sed 's/^/    verify: /' "$WORK/verify.out"
    return 1
  fi
}

begin "systemd-analyze verify accepts ha-agent.service and ha-controller.service"
systemd-analyze --version | head -1 | sed 's/^/  /'
verify /lib/systemd/system/ha-agent.service /lib/systemd/system/ha-controller.service || fail "verify complained"
end

begin "verify does report a bad key and a missing binary (the check above can fail)"
sed 's/^Restart=on-failure$/Restart=on-failure\nRestartt=always/' "$ROOT/lib/systemd/system/ha-agent.service" \
  > "$ROOT/lib/systemd/system/broken-key.service"
verify /lib/systemd/system/broken-key.service >/dev/null && fail "an unknown key passed"
grep -q "Unknown key 'Restartt'" "$WORK/verify.out" || fail "no word on the unknown key"
sed 's#/usr/sbin/ha-agent#/usr/sbin/no-such-agent#' "$ROOT/lib/systemd/system/ha-agent.service" \
  > "$ROOT/lib/systemd/system/broken-exec.service"
verify /lib/systemd/system/broken-exec.service >/dev/null && fail "a missing binary passed"
rm -f "$ROOT/lib/systemd/system/broken-"*.service
end

begin "ha-agent.service: notify, watchdog, reload, the directories, the capabilities it must keep"
u="$ROOT/lib/systemd/system/ha-agent.service"
has() { grep -qxF -- "$1" "$u" || fail "no '$1'"; }
has "Type=notify"
has "NotifyAccess=main"
grep -qE '^WatchdogSec=[1-9][0-9]*s$' "$u" || fail "no WatchdogSec"
has 'ExecReload=/bin/kill -HUP $MAINPID'
has "EnvironmentFile=-/etc/default/ha-agent"
grep -qE '^ExecStart=/usr/sbin/ha-agent --config /etc/ha-agent/cluster.yaml --state-dir /var/lib/ha-agent \$HA_AGENT_OPTS$' "$u" \
  || fail "ExecStart: $(grep ^ExecStart= "$u")"
has "RuntimeDirectory=ha-agent"
has "StateDirectory=ha-agent"
has "LimitMEMLOCK=infinity"
has "Restart=on-failure"
has "KillMode=process"
grep -q '^NoNewPrivileges=yes' "$u" && fail "NoNewPrivileges=yes would stop respawn's setuid"
for cap in CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_NICE CAP_IPC_LOCK CAP_SETUID CAP_SETGID CAP_KILL CAP_CHOWN CAP_SYS_ADMIN; do
  grep -E '^CapabilityBoundingSet=' "$u" | grep -qw "$cap" || fail "CapabilityBoundingSet lacks $cap"
done
# The agent's flags in ExecStart are the agent's (its --help lists them).
"$ROOT/usr/sbin/ha-agent" --help > "$WORK/agent.help"
"$ROOT/usr/sbin/ha-controller" --help > "$WORK/controller.help"
for flag in --config --state-dir; do
  grep -qE -- "(^ +|,)$flag( |$)" "$WORK/agent.help" || fail "ha-agent --help has no $flag"
done
# The directories the agent is told about are the ones systemd makes.
grep -q "unix_socket: /run/ha-agent/agent.sock" "$ROOT/etc/ha-agent/cluster.yaml.example" || fail "example socket not in RuntimeDirectory"
end

begin "ha-controller.service: notify, and confined"
u="$ROOT/lib/systemd/system/ha-controller.service"
for line in "Type=notify" "NotifyAccess=main" "EnvironmentFile=-/etc/default/ha-controller" \
            'ExecStart=/usr/sbin/ha-controller $HA_CONTROLLER_OPTS' "NoNewPrivileges=yes" \
            "ProtectSystem=strict" "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"; do
  grep -qxF -- "$line" "$u" || fail "no '$line'"
done
# The variable each unit expands is the one its /etc/default file sets.
grep -qE '^HA_AGENT_OPTS=' "$ROOT/etc/default/ha-agent" || fail "/etc/default/ha-agent does not set HA_AGENT_OPTS"
grep -qE '^HA_CONTROLLER_OPTS=' "$ROOT/etc/default/ha-controller" || fail "/etc/default/ha-controller does not set HA_CONTROLLER_OPTS"
# Every flag the example in /etc/default/ha-controller uses exists.
for flag in $(grep -oE -- '--[a-z-]+' "$ROOT/etc/default/ha-controller" | sort -u); do
  grep -qE -- "(^ +|,)$flag( |$)" "$WORK/controller.help" || fail "/etc/default/ha-controller: ha-controller has no $flag"
done
for flag in $(grep -oE -- '--[a-z-]+' "$ROOT/etc/default/ha-agent" | sort -u); do
  grep -qE -- "(^ +|,)$flag( |$)" "$WORK/agent.help" || fail "/etc/default/ha-agent: ha-agent has no $flag"
done
end

begin "systemd-analyze security: the exposure of each unit (a figure)"
for unit in ha-agent.service ha-controller.service; do
  systemd-analyze security --root="$ROOT" --offline=true --no-pager "/lib/systemd/system/$unit" 2>/dev/null \
    | tail -1 | sed "s/^/  $unit: /"
done
end

echo "units_test: $failures failure(s)"
[ "$failures" -eq 0 ]
