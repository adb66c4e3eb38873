#!/usr/bin/env bash
# System packages pmxcfs-ts needs on Debian 12 (run as root). Idempotent.
#  - corosync + dev headers: the N-API addon (libcpg, libquorum, libcmap) and the lab
#  - librrd-dev: the RRD binding (status module: RRD files, rrdcached client);
#    rrdcached: only its binary, for the test of updates through the daemon's socket
#  - libfuse3-dev: the FUSE binding (do not install the `fuse3` package: it removes `fuse`)
#  - iproute2, util-linux: network/mount/UTS namespaces for the lab
#  - python3, make, g++: node-gyp
#  - psmisc: killall, for the drop-in process test (killall pmxcfs)
#  - tmux: the pseudo-terminal test of `pmxcfs-ts status --watch`
#  - valgrind: the FUSE addon's session-lifetime test also runs under memcheck
set -euo pipefail
packages=(
  corosync libcpg-dev libquorum-dev libcmap-dev libcorosync-common-dev libqb-dev libvotequorum-dev
  librrd-dev rrdcached libfuse3-dev pkg-config iproute2 util-linux procps psmisc python3 make g++ sqlite3
  tmux
  valgrind
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian starts corosync.service on install where systemd runs; the host daemon is not
# used (lab nodes run their own corosync in namespaces), so keep it from holding ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet corosync 2>/dev/null; then
  systemctl stop corosync || true
fi
