#!/bin/sh
# Entrypoint of a cluster node container (pmxcfs-ts or C pmxcfs): install the cluster's
# corosync.conf, start corosync in the background, then run the given pmxcfs in the
# foreground as the container's main process.
# The cluster's config is installed at every start, not only when the file is missing:
# Debian's corosync package ships its own /etc/corosync/corosync.conf (cluster "debian",
# one node), and a node that kept it would form a cluster of one. pmxcfs then brings
# the file in step with /etc/pve/corosync.conf if the cluster's copy is newer.
set -eu

conf_src=${COROSYNC_CONF_SRC:-/config/corosync.conf}
if [ ! -s "$conf_src" ]; then
	echo "node-entrypoint: no corosync.conf (mount one at $conf_src)" >&2
	exit 1
fi
mkdir -p /etc/corosync
cp "$conf_src" /etc/corosync/corosync.conf

mkdir -p /run/corosync /var/lib/corosync /var/log/corosync /run/pve-cluster /etc/pve

corosync -f &
corosync_pid=$!

# shellcheck disable=SC2317  # invoked by the trap
stop() {
	if [ -n "${daemon_pid:-}" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	kill -TERM "$corosync_pid" 2>/dev/null || true
	wait "$corosync_pid" 2>/dev/null || true
	exit 0
}
trap stop TERM INT

"$@" &
daemon_pid=$!
rc=0
wait "$daemon_pid" || rc=$?
kill -TERM "$corosync_pid" 2>/dev/null || true
wait "$corosync_pid" 2>/dev/null || true
exit "$rc"
