#!/usr/bin/env bash
# Container engine for the compose tests, on Debian 12 as root. Idempotent.
#   engine.sh install   packages + /etc/containers/containers.conf
#   engine.sh start     podman's Docker-compatible API service inside a network
#                       namespace of its own (bridges and iptables rules stay out of
#                       the host's namespace); prints nothing, waits for the socket
#   engine.sh stop      stops that service and removes the namespace
# Socket: $PMXCFS_COMPOSE_SOCK (default /run/pmxcfs-compose/podman.sock).
set -euo pipefail

NETNS=${PMXCFS_COMPOSE_NETNS:-pmxcfs-compose}
SOCK=${PMXCFS_COMPOSE_SOCK:-/run/pmxcfs-compose/podman.sock}
PIDFILE=$(dirname "$SOCK")/service.pid
CONF=/etc/containers/containers.conf
CONF_MARK='# written by pmxcfs-ts docker/engine.sh'
# podman 4.3 with runc: crun refuses hybrid cgroup hosts; netavark needs iptables;
# catatonit is the init that compose's `init: true` asks for.
PACKAGES=(podman runc iptables netavark catatonit mmdebstrap uidmap)

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}" docker-compose; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# --no-install-recommends: docker-compose would otherwise bring docker.io + containerd.
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Machines without CAP_SYS_RESOURCE fail podman's default nofile (1048576) in setrlimit;
# PID 1 may not be systemd, so no systemd cgroup manager or journald events; netavark
# explicitly, as Debian also ships a CNI config that podman would otherwise pick; a
# default subnet other than podman's 10.88.0.0/16 that hosts commonly use already.
write_conf() {
	if [ -e "$CONF" ] && ! grep -qF "$CONF_MARK" "$CONF"; then
		echo "engine.sh: $CONF exists and is not ours; leaving it as it is" >&2
		return 0
	fi
	mkdir -p "$(dirname "$CONF")"
	cat >"$CONF" <<-EOF
	$CONF_MARK
	[containers]
	default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
	[engine]
	runtime = "runc"
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	[network]
	network_backend = "netavark"
	default_subnet = "10.91.0.0/16"
	EOF
}

start_service() {
	if [ -S "$SOCK" ] && curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; then
		return 0
	fi
	ip netns list | grep -qw "^$NETNS" || ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	mkdir -p "$(dirname "$SOCK")"
	rm -f "$SOCK"
	nsenter --net="/run/netns/$NETNS" setsid podman system service --time=0 "unix://$SOCK" \
		>"$(dirname "$SOCK")/service.log" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	for _ in $(seq 1 100); do
		curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "engine.sh: podman service did not answer on $SOCK" >&2
	cat "$(dirname "$SOCK")/service.log" >&2
	return 1
}

stop_service() {
	if [ -s "$PIDFILE" ]; then
		kill "$(cat "$PIDFILE")" 2>/dev/null || true
		rm -f "$PIDFILE"
	fi
	rm -f "$SOCK"
	ip netns list | grep -qw "^$NETNS" && ip netns del "$NETNS"
	return 0
}

case "${1:-}" in
install) install_packages; write_conf ;;
start) start_service ;;
stop) stop_service ;;
*) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
