#!/usr/bin/env bash
# One-time setup on Debian 12 as root: system packages, npm dependencies (builds
# the native addons and compiles TypeScript), and `pmxcfs-ts` on the PATH (so it
# also works inside lab nodes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund
ln -sf "$PWD/bin/pmxcfs-ts.mjs" /usr/local/bin/pmxcfs-ts
echo "pmxcfs-ts installed: $(command -v pmxcfs-ts)"
