#!/usr/bin/env bash
# `npm run test:compose`: compose clusters for real, on Debian 12 as root.
#  1. the engine (docker/engine.sh: podman + runc + docker-compose over podman's API
#     socket, in a network namespace of its own),
#  2. the images, offline and cached (docker/images.sh),
#  3. the scenarios (docker/scenarios.sh) on docker/compose.yml (3 x pmxcfs-ts) and,
#     with PMXCFS_C_BIN set, on docker/compose.mixed.yml (C, TS, C),
#  4. the engine stopped again; the images stay cached for the next run.
# Prints a summary with the seconds each phase took; exits non-zero on the first
# failed scenario (the cluster's logs are printed, then it is torn down).
set -euo pipefail
cd "$(dirname "$0")"

t_all=$SECONDS
summary=()
phase() {
	local name=$1 t0=$SECONDS
	shift
	"$@"
	summary+=("$(printf '%-44s %5d s' "$name" $((SECONDS - t0)))")
}

cleanup() {
	bash ./engine.sh stop || true
}
trap cleanup EXIT

phase 'engine: packages + containers.conf' bash ./engine.sh install
phase 'engine: API service in its own netns' bash ./engine.sh start
phase 'images: base, node, pmxcfs-ts' bash ./images.sh all
if [ -n "${PMXCFS_C_BIN:-}" ]; then
	phase 'images: C node from PMXCFS_C_BIN' bash ./images.sh c "$PMXCFS_C_BIN"
fi
phase 'scenarios: compose.yml (TS TS TS)' bash ./scenarios.sh compose.yml
if [ -n "${PMXCFS_C_BIN:-}" ]; then
	phase 'scenarios: compose.mixed.yml (C TS C)' bash ./scenarios.sh compose.mixed.yml
else
	summary+=("scenarios: compose.mixed.yml                 skipped: PMXCFS_C_BIN is not set")
fi

echo
echo "== compose tests: summary =="
printf '%s\n' "${summary[@]}"
printf '%-44s %5d s\n' 'total' $((SECONDS - t_all))
