#!/bin/sh
# Runs a benchmark in its short mode; passes when it ran to the end and
# printed its figures (the figures themselves are not asserted).
set -eu
"$1" --short
