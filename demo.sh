#!/usr/bin/env bash
# The main job. For now: take the legacy /etc/ha.d of a two-node Heartbeat
# cluster shipped in examples/legacy/ (node01 and node02), convert both
# nodes' directories into one YAML cluster spec, validate it, and write the
# Heartbeat files back for node02 (the rollback path).
#
#   ./demo.sh [OUTPUT_DIR]     (default: a new temporary directory)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")" && pwd)"
cd "$ROOT"
./setup.sh
bazel build //cli:hacli
HACLI="$ROOT/bazel-bin/cli/hacli"

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

echo
echo "demo: done; files in $OUT"
