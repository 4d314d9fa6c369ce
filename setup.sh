#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need.
# Idempotent: packages already present are not fetched again. Run as root on
# Debian 12 (or with sudo available).
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap g++ protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libgrpc++-dev libabsl-dev libyaml-cpp-dev libssl-dev libcli11-dev
  libgtest-dev libgmock-dev libmnl-dev libcpp-httplib-dev libsystemd-dev
  # fuzzing
  clang-14 libclang-rt-14-dev
  # the Debian package (//packaging:deb) and its tests: dpkg-shlibdeps,
  # strip, help2man for the man pages, man to render them, lintian, and
  # systemd-analyze for the units
  dpkg-dev binutils help2man man-db lintian systemd
  # tests and demo
  # (namespaces, bridges, links and cuts for the multi-node tests; ping)
  iproute2 procps nftables iputils-ping
  # (the dashboard in a real browser: headless Chromium, its NSS certificate
  # store tools; a Prometheus text-format parser for /metrics)
  chromium libnss3-tools python3-prometheus-client
  # (the real OCF agents and Heartbeat resource.d scripts the resource tests
  # run unchanged: IPaddr2, Dummy, Filesystem, MailTo, resource.d/IPaddr)
  resource-agents heartbeat
  # (a real Heartbeat node in a NetLab, tests/harness/heartbeat_node: unshare
  # and nsenter; ifconfig, which the IPaddr agent calls and resource-agents
  # only recommends)
  util-linux net-tools
  # (the fault matrix: the wall-clock step on one agent, libfaketime; the
  # NFQUEUE rule that hands heartbeats to its jitter queue, iptables)
  faketime iptables
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# The heartbeat package is installed for its resource scripts, and for tests
# that run its daemon inside network namespaces of their own: the system's
# daemon must not start (it would take port 694). Where no policy-rc.d says
# otherwise, one that denies every start is in place during the install.
policy=/usr/sbin/policy-rc.d
placed=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 0755 "$policy"
  placed=1
fi
status=0
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" || status=$?
if [ -n "$placed" ]; then $SUDO rm -f "$policy"; fi
exit "$status"
