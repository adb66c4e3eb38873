#!/bin/sh
# Script form of `pmxcfs-ts lab ...` (see src/lab/cli.ts): scripts/lab.sh up 3, sh 1 CMD..., down.
exec node "$(dirname "$0")/../bin/pmxcfs-ts.mjs" lab "$@"
