#!/usr/bin/env bash
# The built package, as an operator gets it: dpkg-deb --info (fields; a
# Depends that names the package of every library the binaries link, and
# that apt resolves in a simulated install), --contents (every file, its
# mode and owner), lintian (no error; its warnings printed), the man pages
# rendered by man, and the files extracted into a throwaway root: each
# binary's --version, the example spec validated by the packaged hacli,
# the bash completion, and the maintainer scripts against stand-ins for
# the systemd helpers.
#
#   deb_test.sh DEB VERSION
set -uo pipefail

DEB="$(pwd)/$1"
VERSION="$2"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/deb-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export HOME="$WORK/home" LC_ALL=C.UTF-8
mkdir -p "$HOME"
failures=0
current=""

begin() { current="$1"; ok=1; started=$SECONDS; }
end() { if [ "$ok" = 1 ]; then echo "ok: $current ($((SECONDS - started)) s)"; else echo "FAIL: $current"; failures=$((failures + 1)); fi; }
fail() { echo "  $*"; ok=0; }

begin "the file is ha-agent_VERSION_ARCH.deb"
arch=$(dpkg --print-architecture)
[ "$(basename "$DEB")" = "ha-agent_${VERSION}_${arch}.deb" ] || fail "named $(basename "$DEB")"
end

begin "dpkg-deb --info: fields"
dpkg-deb --info "$DEB" > "$WORK/info" || fail "dpkg-deb --info failed"
field() { dpkg-deb --field "$DEB" "$1"; }
[ "$(field Package)" = ha-agent ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$VERSION" ] || fail "Version: $(field Version), want $VERSION"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ "$(field Section)" = admin ] || fail "Section: $(field Section)"
[ "$(field Priority)" = optional ] || fail "Priority: $(field Priority)"
field Maintainer | grep -qE '^[^<]+ <[^@ ]+@[^> ]+>$' || fail "Maintainer: $(field Maintainer)"
# Read whole first: `head` closing the pipe early could SIGPIPE dpkg-deb,
# which pipefail would count as a failure.
description="$(field Description)"
grep -q 'high-availability' <<< "${description%%$'\n'*}" || fail "Description: ${description%%$'\n'*}"
[ "$(field Installed-Size)" -gt 1000 ] || fail "Installed-Size: $(field Installed-Size)"
for script in postinst prerm postrm conffiles md5sums; do
  grep -qE " $script( |$)" "$WORK/info" || fail "no $script in the control area"
done
end

begin "Depends: the packages of the libraries the binaries link, with versions"
depends=$(field Depends)
echo "  Depends: $depends"
[ -n "$depends" ] || fail "empty Depends"
for p in 'libgrpc\+\+[0-9.]+' 'libprotobuf[0-9]+' 'libc6' 'libstdc\+\+6' 'libyaml-cpp[0-9.]+' 'libssl3'; do
  echo "$depends" | grep -qE "(^|, )$p \(>= [^)]+\)" || fail "no versioned $p in Depends"
done
mkdir -p "$WORK/root"
dpkg-deb -x "$DEB" "$WORK/root" || fail "dpkg-deb -x failed"
# Every NEEDED library of every binary: the package that ships it is a
# dependency (nothing hard-coded, nothing missing). One dpkg -S for all.
objdump -p "$WORK/root/usr/sbin/ha-agent" "$WORK/root/usr/sbin/ha-controller" "$WORK/root/usr/bin/hacli" \
  "$WORK/root/usr/libexec/ha-agent/heartbeat/cl_status" | awk '$1 == "NEEDED" { print $2 }' | sort -u > "$WORK/needed"
[ "$(wc -l < "$WORK/needed")" -ge 10 ] || fail "only $(wc -l < "$WORK/needed") NEEDED libraries"
ldconfig -p > "$WORK/ldcache"
while read -r soname; do
  path=$(awk -v s="$soname" '$1 == s && /x86-64/ { print $NF; exit }' "$WORK/ldcache")
  [ -n "$path" ] || { fail "$soname: not in the linker cache"; continue; }
  readlink -f "$path"
done < "$WORK/needed" > "$WORK/needed_paths"
# dpkg knows a file by the path its package shipped (merged /usr: /lib/... or /usr/lib/...).
sed 's#^/usr/lib/#/lib/#' "$WORK/needed_paths" > "$WORK/needed_paths_lib"
dpkg -S $(cat "$WORK/needed_paths" "$WORK/needed_paths_lib") > "$WORK/owners" 2>/dev/null
sed 's/^.*: //' "$WORK/owners" > "$WORK/owned_paths"
paste "$WORK/needed_paths" "$WORK/needed_paths_lib" | while read -r usr lib; do
  grep -qxF -e "$usr" -e "$lib" "$WORK/owned_paths" || echo "$usr"
done > "$WORK/unowned"
[ -s "$WORK/unowned" ] && fail "libraries of no package: $(tr '\n' ' ' < "$WORK/unowned")"
grep -v '^diversion' "$WORK/owners" | sed 's/: .*//; s/:[a-z0-9]*//g; s/, /\n/g' | sort -u > "$WORK/needed_pkgs"
while read -r pkg; do
  echo "$depends" | grep -qE "(^|, )${pkg//+/\\+}( |,|$)" || fail "the binaries link a library of $pkg, which is not in Depends"
done < "$WORK/needed_pkgs"
[ "$(wc -l < "$WORK/needed_pkgs")" -ge 8 ] || fail "only $(wc -l < "$WORK/needed_pkgs") packages own the libraries: $(tr '\n' ' ' < "$WORK/needed_pkgs")"
echo "  the binaries link $(wc -l < "$WORK/needed") libraries from: $(tr '\n' ' ' < "$WORK/needed_pkgs")"
end

begin "apt can install it here: every Depends resolves (simulated, nothing installed)"
apt-get install -s -q -o Debug::NoLocking=1 --no-install-recommends "$DEB" > "$WORK/apt" 2>&1 \
  || { fail "apt-get install -s failed:"; tail -5 "$WORK/apt" | sed 's/^/    /'; }
grep -q "^Inst ha-agent ($VERSION " "$WORK/apt" || { fail "apt would not install ha-agent $VERSION:"; tail -5 "$WORK/apt" | sed 's/^/    /'; }
end

begin "dpkg-deb --contents: every file, mode and owner"
dpkg-deb --contents "$DEB" > "$WORK/contents" || fail "dpkg-deb --contents failed"
want() {  # want MODE PATH
  local line
  line=$(awk -v p="./$2" '$6 == p' "$WORK/contents")
  if [ -z "$line" ]; then fail "missing: $2"; return; fi
  [ "$(echo "$line" | awk '{print $1}')" = "$1" ] || fail "$2: $(echo "$line" | awk '{print $1}'), want $1"
  [ "$(echo "$line" | awk '{print $2}')" = root/root ] || fail "$2: owner $(echo "$line" | awk '{print $2}')"
}
for f in usr/sbin/ha-agent usr/sbin/ha-controller usr/bin/hacli usr/libexec/ha-agent/heartbeat/cl_status \
         usr/libexec/ha-agent/heartbeat/hb_standby usr/libexec/ha-agent/heartbeat/hb_takeover; do
  want -rwxr-xr-x "$f"
done
for f in lib/systemd/system/ha-agent.service lib/systemd/system/ha-controller.service \
         etc/default/ha-agent etc/default/ha-controller etc/ha-agent/cluster.yaml.example \
         etc/logrotate.d/ha-agent usr/share/bash-completion/completions/hacli \
         usr/share/man/man8/ha-agent.8.gz usr/share/man/man8/ha-controller.8.gz usr/share/man/man1/hacli.1.gz \
         usr/share/doc/ha-agent/copyright usr/share/doc/ha-agent/changelog.gz \
         usr/share/doc/ha-agent/spec-reference.md.gz; do
  want -rw-r--r-- "$f"
done
want drwxr-xr-x etc/ha-agent/
for c in ha-agent ha-controller cl_status hb_standby hb_takeover; do
  grep -qF "./usr/share/bash-completion/completions/$c -> hacli" "$WORK/contents" || fail "no completion link $c"
done
# No file of Debian's heartbeat package is shipped (they may be installed together).
for f in usr/bin/cl_status usr/share/heartbeat/hb_standby usr/share/heartbeat/hb_takeover; do
  ! grep -qF "./$f" "$WORK/contents" || fail "ships $f, a file of the heartbeat package"
done
awk '$1 !~ /^[dl]/ && $2 != "root/root" { print "  owner: " $0 }' "$WORK/contents" | grep . && fail "files not owned by root"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles > "$WORK/conffiles"
for c in /etc/default/ha-agent /etc/default/ha-controller /etc/ha-agent/cluster.yaml.example /etc/logrotate.d/ha-agent; do
  grep -qxF "$c" "$WORK/conffiles" || fail "$c is not a conffile"
done
end

begin "lintian: no errors"
if ! command -v lintian >/dev/null; then
  fail "lintian is not installed (setup.sh installs it)"
else
  lintian --tag-display-limit 0 -I "$DEB" > "$WORK/lintian" 2>&1
  status=$?
  grep -v '^running with root privileges' "$WORK/lintian" | sed 's/^/  lintian: /'
  if grep -q '^E: ' "$WORK/lintian" || { [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; }; then
    fail "lintian reported errors (exit $status)"
  fi
  echo "  lintian: $(grep -c '^E: ' "$WORK/lintian") error(s), $(grep -c '^W: ' "$WORK/lintian") warning(s), $(grep -c '^I: ' "$WORK/lintian") info"
fi
end

begin "man renders the pages (man -l), without warnings"
for page in man8/ha-agent.8.gz man8/ha-controller.8.gz man1/hacli.1.gz; do
  MANWIDTH=80 man --warnings -l "$WORK/root/usr/share/man/$page" > "$WORK/man.out" 2> "$WORK/man.err" || fail "man -l $page failed"
  [ -s "$WORK/man.err" ] && { fail "man -l $page warns:"; sed 's/^/    /' "$WORK/man.err" | head; }
  for s in NAME SYNOPSIS DESCRIPTION OPTIONS; do
    grep -q "^$s" "$WORK/man.out" || fail "$page: no $s section"
  done
  grep -qF -- "--version" "$WORK/man.out" || fail "$page: no --version"
done
MANWIDTH=80 man -l "$WORK/root/usr/share/man/man8/ha-agent.8.gz" > "$WORK/man.out" 2>/dev/null
grep -qF -- "--config FILE" "$WORK/man.out" || fail "ha-agent(8) lacks --config"
grep -qF "/run/ha-agent/agent.sock" "$WORK/man.out" || fail "ha-agent(8) lacks FILES"
MANWIDTH=80 man -l "$WORK/root/usr/share/man/man1/hacli.1.gz" > "$WORK/man.out" 2>/dev/null
for s in migrate validate status standby "cert issue"; do
  grep -qF "hacli $s" "$WORK/man.out" || fail "hacli(1) lacks hacli $s"
done
end

begin "each extracted binary prints the package version"
for bin in usr/sbin/ha-agent usr/sbin/ha-controller usr/bin/hacli usr/libexec/ha-agent/heartbeat/cl_status \
           usr/libexec/ha-agent/heartbeat/hb_standby usr/libexec/ha-agent/heartbeat/hb_takeover; do
  got=$("$WORK/root/$bin" --version 2>&1)
  [ "$got" = "${bin##*/} (hacluster) $VERSION" ] || fail "$bin --version: '$got'"
done
end

begin "the example spec is valid (with a key file in place)"
head -c 32 /dev/urandom | base64 > "$WORK/key"
chmod 600 "$WORK/key"
sed "s#/etc/ha-agent/key#$WORK/key#" "$WORK/root/etc/ha-agent/cluster.yaml.example" > "$WORK/cluster.yaml"
"$WORK/root/usr/bin/hacli" validate "$WORK/cluster.yaml" > "$WORK/validate" 2>&1 || { fail "hacli validate:"; sed 's/^/    /' "$WORK/validate"; }
grep -q '0 warning' "$WORK/validate" || { fail "warnings:"; sed 's/^/    /' "$WORK/validate"; }
grep -q 'unix_socket: /run/ha-agent/agent.sock' "$WORK/cluster.yaml" || fail "the example's socket is not in /run/ha-agent"
end

begin "bash completion from the extracted binaries"
complete_words() {  # complete_words WORD...: what completing the last word offers
  PATH="$WORK/root/usr/sbin:$WORK/root/usr/bin:$WORK/root/usr/libexec/ha-agent/heartbeat:$PATH" bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    f=$(complete -p "$1" | awk "{print \$3}")
    $f; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ \
    "$WORK/root/usr/share/bash-completion/completions/hacli" "$@"
}
check_completion() {  # check_completion "WANT" WORD...
  local want="$1"; shift
  local got; got=$(complete_words "$@")
  [ "$got" = "$want" ] || fail "completing '$*': '$got', want '$want'"
}
check_completion "standby status " hacli st
check_completion "init issue " hacli cert i
check_completion "admin " hacli cert issue --role a
check_completion "--config " ha-agent --con
check_completion "--grpc-listen " ha-controller --grpc
check_completion "nodesite nodestatus nodetype nodeweight " cl_status node
check_completion "failback foreign " hb_standby f
check_completion "all failback foreign local " hb_takeover ""
check_completion "$WORK/cluster.yaml " hacli validate "$WORK/clu"
end

begin "maintainer scripts: enable ha-agent, not ha-controller; mask and purge on removal"
for s in postinst prerm postrm; do
  dpkg-deb --ctrl-tarfile "$DEB" | tar -xO "./$s" > "$WORK/$s"
  sh -n "$WORK/$s" || fail "$s: syntax"
done
mkdir -p "$WORK/stubs"
for tool in deb-systemd-helper deb-systemd-invoke systemctl; do
  # (deb-systemd-helper was-enabled answers yes for a unit it never saw)
  printf '#!/bin/sh\necho "%s $*" >> "%s"\n' "$tool" "$WORK/calls" > "$WORK/stubs/$tool"
  chmod +x "$WORK/stubs/$tool"
done
: > "$WORK/calls"
PATH="$WORK/stubs:$PATH" sh "$WORK/postinst" configure "" || fail "postinst configure failed"
grep -qx "deb-systemd-helper enable ha-agent.service" "$WORK/calls" || fail "postinst did not enable ha-agent.service"
grep -q "enable ha-controller" "$WORK/calls" && fail "postinst enabled ha-controller.service"
: > "$WORK/calls"
PATH="$WORK/stubs:$PATH" sh "$WORK/postrm" remove || fail "postrm remove failed"
grep -qx "deb-systemd-helper mask ha-agent.service ha-controller.service" "$WORK/calls" || fail "postrm remove did not mask"
sed -n 's/^/    call: /p' "$WORK/calls"
end

echo "deb_test: $failures failure(s)"
[ "$failures" -eq 0 ]
