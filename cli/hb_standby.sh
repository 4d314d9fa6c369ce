#!/bin/sh
# Heartbeat's hb_standby, for the scripts that still call it: 'hacli standby'
# with the same argument (all, the default; foreign, local or failback) and
# hacli's exit status (0 done; see 'hacli --help'). It asks the local agent,
# or the remote one that HACLI_SERVER (with HACLI_CA, HACLI_CERT, HACLI_KEY)
# names. hacli is looked for beside this script first, then in PATH.
hacli="$(dirname "$0")/hacli"
[ -x "$hacli" ] || hacli=hacli
exec "$hacli" standby "$@"
