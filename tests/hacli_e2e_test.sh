#!/usr/bin/env bash
# End to end through the real hacli binary: help texts, exit statuses,
# legacy -> spec -> legacy -> spec on the shipped example, file modes, and
# the FILE:LINE diagnostics an operator sees.
set -uo pipefail

HACLI="$(pwd)/cli/hacli"
EXAMPLES="$(pwd)/examples/legacy"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/hacli-e2e.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
failures=0
current=""

begin() { current="$1"; ok=1; }
end() { if [ "$ok" = 1 ]; then echo "ok: $current"; else echo "FAIL: $current"; failures=$((failures + 1)); fi; }
fail() { echo "  $*"; ok=0; }
# run EXPECTED_STATUS ARGS...: runs hacli, output in $WORK/out and $WORK/err
run() {
  local want="$1"; shift
  "$HACLI" "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "hacli $* exited $got, want $want"; sed 's/^/    stderr: /' "$WORK/err" | head -20
  fi
}
has() {  # has out|err TEXT
  grep -qF -- "$2" "$WORK/$1" || { fail "$1 of the last command lacks '$2':"; sed 's/^/    | /' "$WORK/$1" | head -20; }
}

for n in node01 node02; do
  mkdir -p "$WORK/legacy/$n"; cp "$EXAMPLES/$n"/* "$WORK/legacy/$n/"; chmod 600 "$WORK/legacy/$n/authkeys"
done

begin "help texts explain each subcommand with examples"
run 0 --help; has out migrate; has out validate
run 0 migrate --help; has out "--from"; has out "--peer"; has out "--to-legacy"; has out "Examples:"
run 0 validate --help; has out "FILE:LINE:COL"; has out "Examples:"
end

begin "usage errors exit 2"
run 2; run 2 frobnicate
run 2 migrate
run 2 migrate --from "$WORK/legacy/node01" --to-legacy x.yaml
run 2 migrate --to-legacy x.yaml --node node01
run 2 validate
has err "hacli"
end

begin "two nodes' directories convert to a spec that validates, written mode 0600, its secret in a file beside it"
run 0 migrate --from "$WORK/legacy/node01" --peer "$WORK/legacy/node02" -o "$WORK/cluster.yaml"
has err "wrote"
[ "$(stat -c %a "$WORK/cluster.yaml")" = 600 ] || fail "cluster.yaml mode $(stat -c %a "$WORK/cluster.yaml"), want 600"
[ "$(stat -c %a "$WORK/cluster.authkey1")" = 600 ] || fail "cluster.authkey1 missing or not mode 600"
grep -q "secret_file: cluster.authkey1" "$WORK/cluster.yaml" || fail "the spec does not name its secret file"
grep -q "192.0.2.11" "$WORK/cluster.yaml" || fail "node01's address 192.0.2.11 not derived from node02's ucast line"
grep -q "192.0.2.12" "$WORK/cluster.yaml" || fail "node02's address 192.0.2.12 not derived from node01's ucast line"
run 0 validate "$WORK/cluster.yaml"; has out "valid"; has out "2 node(s)"
end

begin "without -o the YAML goes to stdout and equals the file, but for the secret kept inline"
run 0 migrate --from "$WORK/legacy/node01" --peer "$WORK/legacy/node02"
has err "the key secrets stay inline"
diff <(grep -v "secret" "$WORK/out") <(grep -v "secret" "$WORK/cluster.yaml") >/dev/null \
  || fail "stdout differs from the -o file"
grep -q "secret: $(cat "$WORK/cluster.authkey1")" "$WORK/out" || fail "stdout lacks the inline secret"
end

begin "rollback writes Heartbeat files that convert back to the same spec"
run 0 migrate --to-legacy "$WORK/cluster.yaml" --node node01 -o "$WORK/back/node01"
run 0 migrate --to-legacy "$WORK/cluster.yaml" --node node02 -o "$WORK/back/node02"
for n in node01 node02; do
  for f in ha.cf haresources authkeys; do [ -f "$WORK/back/$n/$f" ] || fail "no $n/$f"; done
  [ "$(stat -c %a "$WORK/back/$n/authkeys")" = 600 ] || fail "$n/authkeys not mode 600"
done
grep -q "ucast eth0 192.0.2.12" "$WORK/back/node01/ha.cf" || fail "node01's ha.cf does not ucast to node02"
grep -q "ucast eth0 192.0.2.11" "$WORK/back/node02/ha.cf" || fail "node02's ha.cf does not ucast to node01"
run 0 migrate --from "$WORK/back/node01" --peer "$WORK/back/node02" -o "$WORK/cluster2.yaml"
diff "$WORK/cluster.yaml" <(sed 's/cluster2.authkey/cluster.authkey/' "$WORK/cluster2.yaml") >/dev/null \
  || { fail "spec changed over the round trip:"; diff "$WORK/cluster.yaml" "$WORK/cluster2.yaml" | head -20; }
cmp -s "$WORK/cluster.authkey1" "$WORK/cluster2.authkey1" || fail "secret changed over the round trip"
end

begin "rollback for an unknown node fails with a message"
run 1 migrate --to-legacy "$WORK/cluster.yaml" --node node09 -o "$WORK/back/node09"
has err "node09"
end

begin "rollback of a hand-written spec warns, at its line, about what Heartbeat cannot hold"
cat > "$WORK/hand.yaml" <<'YAML'
cluster_name: voip
nodes:
  - name: node01
    addresses: [192.0.2.11]
  - name: node02
    addresses: [192.0.2.12]
media:
  - ucast: {interface: eth0}
auth:
  keys:
    - {id: 1, method: sha1, secret: s3cret-for-sha1}
groups:
  - name: voip
    preferred_node: node01
    resources:
      - ip: {address: 192.0.2.10}
      - lsb: {name: asterisk}
        monitor_interval: 10s
YAML
chmod 600 "$WORK/hand.yaml"
run 0 migrate --to-legacy "$WORK/hand.yaml" --node node02 -o "$WORK/back/hand"
has err "hand.yaml:18:"; has err "monitor_interval"; has err "warning"
grep -q "ucast eth0 192.0.2.11" "$WORK/back/hand/ha.cf" || fail "node02's ha.cf does not ucast to node01"
grep -q "^node01 192.0.2.10 asterisk" "$WORK/back/hand/haresources" || fail "haresources line wrong"
sed -i 's/method: sha1/method: sha256/' "$WORK/hand.yaml"
run 1 migrate --to-legacy "$WORK/hand.yaml" --node node02 -o "$WORK/back/hand256"
has err "hand.yaml:11:7: error: auth.keys[0] uses sha256"
[ -e "$WORK/back/hand256/authkeys" ] && fail "files written despite the error"
end

begin "rollback reads a key kept in a secret file next to the spec"
sed -e 's/method: sha256, secret: s3cret-for-sha1/method: md5, secret_file: hand.key/' \
  "$WORK/hand.yaml" > "$WORK/handkey.yaml"
printf 'from-the-key-file\n' > "$WORK/hand.key"; chmod 600 "$WORK/hand.key"
run 0 migrate --to-legacy "$WORK/handkey.yaml" --node node01 -o "$WORK/back/handkey"
grep -qx "1 md5 from-the-key-file" "$WORK/back/handkey/authkeys" || fail "secret file not used: $(cat "$WORK/back/handkey/authkeys")"
has err "cluster_name"
rm "$WORK/hand.key"
run 1 migrate --to-legacy "$WORK/handkey.yaml" --node node01 -o "$WORK/back/handkey2"
has err "hand.key"
: > "$WORK/hand.key"; chmod 600 "$WORK/hand.key"
run 1 migrate --to-legacy "$WORK/handkey.yaml" --node node01 -o "$WORK/back/handkey3"
has err "hand.key is empty"
end

begin "-o writes through a symbolic link and '-' means stdout"
mkdir -p "$WORK/real"; ln -s "$WORK/real/spec.yaml" "$WORK/link.yaml"
run 0 migrate --from "$WORK/legacy/node01" --peer "$WORK/legacy/node02" -o "$WORK/link.yaml"
[ -L "$WORK/link.yaml" ] || fail "the link was replaced by a file"
diff <(sed 's/link.authkey/cluster.authkey/' "$WORK/real/spec.yaml") "$WORK/cluster.yaml" >/dev/null \
  || fail "the link's target was not written"
[ -f "$WORK/link.authkey1" ] || fail "the secret file is not beside the path given"
run 0 migrate --from "$WORK/legacy/node01" --peer "$WORK/legacy/node02" -o -
diff <(grep -v "secret" "$WORK/out") <(grep -v "secret" "$WORK/cluster.yaml") >/dev/null \
  || fail "-o - did not print the spec"
[ -e ./- ] && fail "-o - created a file named '-'"
run 1 migrate --from "$WORK/legacy/node01" --peer "$WORK/legacy/node02" -o "$WORK/real"
has err "not a regular file"
[ -e "$WORK/real.authkey1" ] && fail "a secret file was left for a spec that was not written"
end

begin "an authkeys readable by others is refused, naming the file"
cp -r "$WORK/legacy/node01" "$WORK/open"; chmod 644 "$WORK/open/authkeys"
run 1 migrate --from "$WORK/open"
has err "authkeys"; has err "chmod 600"
[ -s "$WORK/out" ] && fail "YAML printed despite the error"
end

begin "an invalid spec: exit 1 with FILE:LINE:COL and did-you-mean"
cp "$WORK/cluster.yaml" "$WORK/bad.yaml"; chmod 600 "$WORK/bad.yaml"
printf 'timming:\n  keepalive: 1s\n' >> "$WORK/bad.yaml"
line=$(grep -n '^timming:' "$WORK/bad.yaml" | cut -d: -f1)
run 1 validate "$WORK/bad.yaml"
has err "bad.yaml:$line:1: error:"; has err "timing"; has out "invalid"
end

begin "a missing file is an error naming it"
run 1 validate "$WORK/nope.yaml"; has err "nope.yaml"
run 1 migrate --from "$WORK/nowhere"; has err "nowhere"
end

echo "hacli e2e: $failures failed"
[ "$failures" -eq 0 ]
