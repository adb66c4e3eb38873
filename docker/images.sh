#!/usr/bin/env bash
# Builds the compose images offline (no container registry): the only sources are the
# Debian mirror of the host's apt sources, the host's Node, the npm registry and this
# checkout. Each image is tagged with a hash of its inputs (parent image id included)
# and only built when that tag is missing, so unchanged inputs cost nothing.
#   images.sh base      localhost/pmxcfs-debian:bookworm   (mmdebstrap minbase)
#   images.sh node      localhost/pmxcfs-node:20           (base + host's node/npm/headers)
#   images.sh ts        localhost/pmxcfs-ts:latest         (multi-stage, docker/Dockerfile)
#   images.sh c BIN     localhost/pmxcfs-c:latest          (BIN + the libraries ldd lists)
#   images.sh all [BIN] base, node, ts (and c when BIN is given)
set -euo pipefail
cd "$(dirname "$0")/.."

SOURCES=${PMXCFS_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
WORK=${PMXCFS_COMPOSE_WORK:-/var/tmp/pmxcfs-compose}
BASE=localhost/pmxcfs-debian
NODE=localhost/pmxcfs-node
TS=localhost/pmxcfs-ts
C=localhost/pmxcfs-c
# The bookworm release the base is built from; part of the base's cache key.
SUITE=bookworm

log() { printf '[images %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
image_id() { podman image inspect --format '{{.Id}}' "$1"; }
hash_stdin() { sha256sum | cut -c1-16; }

# podman build with the host's network, apt sources and CA bundle (npm's registry sits
# behind a CA that only the host's bundle carries); compose `build:` cannot mount these.
build() {
	podman build --network=host \
		-v "$SOURCES:/etc/apt/sources.list.d/debian.sources:ro" \
		-v "$CA_BUNDLE:$CA_BUNDLE:ro" "$@"
}

# cached NAME KEY CMD...: run CMD (which must create NAME:KEY) unless NAME:KEY exists;
# then point NAME:latest at it.
cached() {
	local name=$1 key=$2
	shift 2
	if podman image exists "$name:$key"; then
		log "$name:$key cached"
	else
		log "$name:$key building"
		local t0=$SECONDS
		"$@"
		log "$name:$key built in $((SECONDS - t0)) s"
	fi
	podman tag "$name:$key" "$name:latest"
}

mk_base() {
	local key=$1 tar="$WORK/base.tar"
	mkdir -p "$WORK"
	# The image keeps no apt sources or lists: builds mount the host's sources.
	# shellcheck disable=SC2016  # $1 is the hook's argument (the chroot), not ours
	mmdebstrap --variant=minbase --include=ca-certificates \
		--customize-hook='rm -f "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/*; rm -rf "$1"/var/lib/apt/lists/*' \
		"$SUITE" "$tar" "$SOURCES"
	podman import "$tar" "$BASE:$key"
	rm -f "$tar"
}

image_base() {
	local key
	key=$( (echo "$SUITE minbase ca-certificates"; cat "$SOURCES") | hash_stdin)
	cached "$BASE" "$key" mk_base "$key"
}

mk_node() {
	local key=$1 ctx="$WORK/ctx-node"
	rm -rf "$ctx" && mkdir -p "$ctx"
	cp /usr/bin/node "$ctx/node"
	cp -a /usr/lib/node_modules/npm "$ctx/npm"
	cp -a /usr/include/node "$ctx/include-node"
	build --build-arg "BASE=$(image_id "$BASE:latest")" -f docker/Dockerfile.node -t "$NODE:$key" "$ctx"
	rm -rf "$ctx"
}

image_node() {
	local key
	key=$( (image_id "$BASE:latest"; sha256sum /usr/bin/node docker/Dockerfile.node;
		cat /usr/lib/node_modules/npm/package.json) | hash_stdin)
	cached "$NODE" "$key" mk_node "$key"
}

# The project's build context: the files git knows (tracked or not ignored) under the
# paths the Dockerfile copies, nothing from node_modules/ or dist/.
ts_context() {
	git ls-files -co --exclude-standard -- package.json package-lock.json binding.gyp \
		tsconfig.json scripts/bundle.mjs native bin src docker/Dockerfile docker/node-entrypoint.sh
}

mk_ts() {
	local key=$1 ctx="$WORK/ctx-ts"
	rm -rf "$ctx" && mkdir -p "$ctx"
	ts_context | tar -cf - -T - | tar -xf - -C "$ctx"
	build --build-arg "NODE_IMAGE=$(image_id "$NODE:latest")" -f "$ctx/docker/Dockerfile" -t "$TS:$key" "$ctx"
	rm -rf "$ctx"
}

image_ts() {
	local key
	key=$( (image_id "$NODE:latest"; ts_context | sort | xargs -d '\n' sha256sum) | hash_stdin)
	cached "$TS" "$key" mk_ts "$key"
}

# The C binary and every library ldd resolves for it, except glibc's own (the base has
# the same Debian 12 glibc); nothing of it is kept outside the image.
mk_c() {
	local key=$1 bin=$2 ctx="$WORK/ctx-c"
	rm -rf "$ctx" && mkdir -p "$ctx/lib"
	cp "$bin" "$ctx/pmxcfs"
	ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
		grep -Ev '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' |
		xargs -r cp -L -t "$ctx/lib"
	cp docker/node-entrypoint.sh "$ctx/"
	build --build-arg "BASE=$(image_id "$BASE:latest")" -f docker/Dockerfile.c -t "$C:$key" "$ctx"
	rm -rf "$ctx"
}

image_c() {
	local bin=$1 key
	[ -x "$bin" ] || { echo "images.sh: C binary '$bin' is not executable" >&2; return 1; }
	key=$( (image_id "$BASE:latest"; sha256sum "$bin" docker/Dockerfile.c docker/node-entrypoint.sh) | hash_stdin)
	cached "$C" "$key" mk_c "$key" "$bin"
}

case "${1:-}" in
base) image_base ;;
node) image_node ;;
ts) image_ts ;;
c) image_c "${2:?C binary}" ;;
all)
	image_base
	image_node
	image_ts
	if [ -n "${2:-}" ]; then image_c "$2"; fi
	;;
*) echo "usage: $0 base|node|ts|c BIN|all [BIN]" >&2; exit 2 ;;
esac
