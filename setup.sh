#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need.
# Idempotent: packages already present are not fetched again. Run as root on
# Debian 12 (or with sudo available).
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap g++ protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libgrpc++-dev libabsl-dev libyaml-cpp-dev libssl-dev libcli11-dev
  libgtest-dev libgmock-dev
  # fuzzing
  clang-14 libclang-rt-14-dev
  # tests and demo
  # (namespaces, bridges, links and cuts for the multi-node tests; ping)
  iproute2 procps nftables iputils-ping
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
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
