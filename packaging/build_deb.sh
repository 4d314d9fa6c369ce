#!/usr/bin/env bash
# Builds the ha-agent Debian package from the Bazel outputs (run by the
# //packaging:deb genrule; every input is an argument):
#
#   build_deb.sh OUT.deb VERSION PACKAGING_DIR SPEC_REFERENCE \
#       ha-agent ha-controller hacli cl_status hb_standby hb_takeover
#
# Binaries are stripped as dh_strip does; man pages come from each
# program's --help and --version (help2man), hacli's with every
# subcommand's --help; Depends is what dpkg-shlibdeps finds the binaries
# link, from the installed libraries' shlibs/symbols files.
set -euo pipefail

out=$1 version=$2 pkgdir=$3 spec_reference=$4
agent=$5 controller=$6 hacli=$7 cl_status=$8 hb_standby=$9 hb_takeover=${10}

arch=$(dpkg --print-architecture)
case "$out" in
  *_"${version}_${arch}.deb") ;;
  *) echo "build_deb.sh: $out does not end in _${version}_${arch}.deb (this machine is $arch)" >&2; exit 1 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/ha-agent-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps finds the package's files under debian/PACKAGE.
root=$work/debian/ha-agent
mkdir -p "$root"
umask 022

# Every file's time is the changelog's (reproducible: dpkg-deb clamps to it).
SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  //p' "$pkgdir/changelog" | head -1)" +%s)
export SOURCE_DATE_EPOCH

# Binaries. The drop-ins go where they clash with nobody (Heartbeat's own
# are /usr/bin/cl_status and /usr/share/heartbeat/hb_*): see the README.
install -d "$root/usr/sbin" "$root/usr/bin" "$root/usr/libexec/ha-agent/heartbeat"
strip_to() {  # strip_to SRC DEST: dh_strip's options for an executable
  strip --remove-section=.comment --remove-section=.note -o "$2" "$1"
  chmod 0755 "$2"
}
strip_to "$agent" "$root/usr/sbin/ha-agent"
strip_to "$controller" "$root/usr/sbin/ha-controller"
strip_to "$hacli" "$root/usr/bin/hacli"
strip_to "$cl_status" "$root/usr/libexec/ha-agent/heartbeat/cl_status"
strip_to "$hb_standby" "$root/usr/libexec/ha-agent/heartbeat/hb_standby"
strip_to "$hb_takeover" "$root/usr/libexec/ha-agent/heartbeat/hb_takeover"

# Each binary must print this package's version.
for b in usr/sbin/ha-agent usr/sbin/ha-controller usr/bin/hacli \
         usr/libexec/ha-agent/heartbeat/cl_status usr/libexec/ha-agent/heartbeat/hb_standby \
         usr/libexec/ha-agent/heartbeat/hb_takeover; do
  got=$("$root/$b" --version)
  if [ "$got" != "${b##*/} (hacluster) $version" ]; then
    echo "build_deb.sh: $b --version printed '$got', not '${b##*/} (hacluster) $version'" >&2
    exit 1
  fi
done

# Units, defaults, configuration, logrotate, completion.
install -D -m 0644 "$pkgdir/ha-agent.service" "$root/lib/systemd/system/ha-agent.service"
install -D -m 0644 "$pkgdir/ha-controller.service" "$root/lib/systemd/system/ha-controller.service"
install -D -m 0644 "$pkgdir/default.ha-agent" "$root/etc/default/ha-agent"
install -D -m 0644 "$pkgdir/default.ha-controller" "$root/etc/default/ha-controller"
install -D -m 0644 "$pkgdir/cluster.yaml.example" "$root/etc/ha-agent/cluster.yaml.example"
install -D -m 0644 "$pkgdir/logrotate.ha-agent" "$root/etc/logrotate.d/ha-agent"
completions=usr/share/bash-completion/completions
install -D -m 0644 "$pkgdir/bash_completion" "$root/$completions/hacli"
for c in ha-agent ha-controller cl_status hb_standby hb_takeover; do
  ln -s hacli "$root/$completions/$c"
done

# Man pages from --help. help2man escapes the text; hacli's subcommands
# are added as a section of their own.
man_page() {  # man_page SECTION BINARY DESCRIPTION [INCLUDE]
  local section=$1 bin=$2 description=$3 include=${4:-}
  local name=${bin##*/} args=()
  [ -n "$include" ] && args=(--include "$include")
  install -d "$root/usr/share/man/man$section"
  help2man --no-info --section "$section" --name "$description" \
    --source "hacluster $version" --manual "hacluster" "${args[@]}" \
    --output "$work/$name.$section" "$bin"
  gzip -9n -c "$work/$name.$section" > "$root/usr/share/man/man$section/$name.$section.gz"
  chmod 0644 "$root/usr/share/man/man$section/$name.$section.gz"
}
roff_text() {  # stdin as preformatted roff: backslashes and leading dots escaped
  sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}
{
  echo "[SUBCOMMANDS]"
  subs=$("$root/usr/bin/hacli" --help | sed -n '/^Subcommands:$/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
  for s in $subs; do
    echo ".SS \"hacli $s\""
    echo ".nf"
    "$root/usr/bin/hacli" "$s" --help | roff_text
    echo ".fi"
    nested=$("$root/usr/bin/hacli" "$s" --help | sed -n '/^Subcommands:$/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
    for n in $nested; do
      echo ".SS \"hacli $s $n\""
      echo ".nf"
      "$root/usr/bin/hacli" "$s" "$n" --help | roff_text
      echo ".fi"
    done
  done
  echo "[SEE ALSO]"
  echo "ha-agent(8), ha-controller(8); the spec reference, /usr/share/doc/ha-agent/spec-reference.md.gz"
} > "$work/hacli.include"
{
  echo "[FILES]"
  echo ".TP"; echo "/etc/ha-agent/cluster.yaml"; echo "The cluster spec ha-agent.service runs (example: cluster.yaml.example)."
  echo ".TP"; echo "/etc/default/ha-agent"; echo "Extra flags for the service (HA_AGENT_OPTS)."
  echo ".TP"; echo "/var/lib/ha-agent"; echo "The state directory."
  echo ".TP"; echo "/run/ha-agent/agent.sock"; echo "The API socket, as the example spec sets it."
  echo "[SEE ALSO]"
  echo "hacli(1), ha-controller(8); the spec reference, /usr/share/doc/ha-agent/spec-reference.md.gz"
} > "$work/ha-agent.include"
{
  echo "[FILES]"
  echo ".TP"; echo "/etc/default/ha-controller"; echo "The service's flags (HA_CONTROLLER_OPTS)."
  echo "[SEE ALSO]"
  echo "ha-agent(8), hacli(1)"
} > "$work/ha-controller.include"
man_page 8 "$root/usr/sbin/ha-agent" "high-availability cluster agent of one node" "$work/ha-agent.include"
man_page 8 "$root/usr/sbin/ha-controller" "one endpoint for the agents of one or many clusters" "$work/ha-controller.include"
man_page 1 "$root/usr/bin/hacli" "manage a high-availability cluster of ha-agent nodes" "$work/hacli.include"

# Documentation. The version has no Debian revision (a native package), so
# the changelog is changelog.gz.
doc=$root/usr/share/doc/ha-agent
install -d "$doc"
install -m 0644 "$pkgdir/copyright" "$doc/copyright"
sed "s/@VERSION@/$version/" "$pkgdir/changelog" | gzip -9n > "$doc/changelog.gz"
gzip -9n -c "$spec_reference" > "$doc/spec-reference.md.gz"
chmod 0644 "$doc"/*.gz

# Control area.
install -d "$root/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "$pkgdir/$s" "$root/DEBIAN/$s"; done
printf '%s\n' /etc/default/ha-agent /etc/default/ha-controller \
  /etc/ha-agent/cluster.yaml.example /etc/logrotate.d/ha-agent > "$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/conffiles"

# Depends: dpkg-shlibdeps over the ELF files, in a minimal debian/ tree.
cat > "$work/debian/control" <<CONTROL
Source: ha-agent
Maintainer: $(sed -n 's/^Maintainer: //p' "$pkgdir/control.in")

Package: ha-agent
Architecture: any
Depends: \${shlibs:Depends}
CONTROL
(
  cd "$work"
  dpkg-shlibdeps -O -e debian/ha-agent/usr/sbin/ha-agent -e debian/ha-agent/usr/sbin/ha-controller \
    -e debian/ha-agent/usr/bin/hacli -e debian/ha-agent/usr/libexec/ha-agent/heartbeat/cl_status \
    -e debian/ha-agent/usr/libexec/ha-agent/heartbeat/hb_standby \
    -e debian/ha-agent/usr/libexec/ha-agent/heartbeat/hb_takeover
) > "$work/shlibs" 2> "$work/shlibs.err" || { cat "$work/shlibs.err" >&2; exit 1; }
depends=$(sed -n 's/^shlibs:Depends=//p' "$work/shlibs")
if [ -z "$depends" ]; then
  echo "build_deb.sh: dpkg-shlibdeps found no dependencies" >&2; cat "$work/shlibs.err" >&2; exit 1
fi

size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" "$pkgdir/control.in" > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print0 | sort -z |
   xargs -0 md5sum | sed 's#  \./#  #') > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
