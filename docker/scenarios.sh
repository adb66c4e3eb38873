#!/usr/bin/env bash
# scenarios.sh FILE: brings up docker/FILE (3 nodes n1..n3, any mix of C and TS pmxcfs)
# and runs the compose scenarios against it, through each node's /etc/pve and corosync:
#   up           containers started, /etc/pve mounted on every node
#   quorum       corosync quorate with 3 votes, pmxcfs's .members: quorate
#   members      .members lists the 3 nodes online
#   process      `pidof pmxcfs` / `pgrep -x pmxcfs` find the daemon, comm is pmxcfs
#   writes       a file written on each node is read on the other two
#   restart      n3 stopped, a write on n1 meanwhile, n3 started: rejoins and syncs
#   killall      `killall pmxcfs` on n2 ends its daemon cleanly (exit 0, container
#                stops), n2 started again rejoins and syncs
#   partition    n3's network cut: n3 loses quorum and /etc/pve turns read-only while
#                n1 keeps writing; healed: n3 regains quorum, syncs and writes again
#   agree        the content of /etc/pve is identical on all nodes
#   down         `docker-compose down -v` leaves no container, volume or network
# Needs the engine of docker/engine.sh running and the images of docker/images.sh.
set -euo pipefail
cd "$(dirname "$0")"

FILE=${1:?compose file}
PROJECT=${PMXCFS_COMPOSE_PROJECT:-pmxcfs-compose}
export DOCKER_HOST=unix://${PMXCFS_COMPOSE_SOCK:-/run/pmxcfs-compose/podman.sock}
NODES=(n1 n2 n3)
# Long enough for a corosync membership change plus a DFSM sync round on 2 busy cores.
SYNC_TIMEOUT=${PMXCFS_COMPOSE_TIMEOUT:-120}

dc() { docker-compose --ansi never -p "$PROJECT" -f "$FILE" "$@"; }
cid() { echo "${PROJECT}_$1_1"; }
# A shell command in a running node (podman exec: the same engine, without the
# second or so that each docker-compose invocation costs).
x() {
	local n=$1
	shift
	podman exec "$(cid "$n")" sh -c "$*"
}
log() { printf '[%s %(%H:%M:%S)T] %s\n' "$FILE" -1 "$*" >&2; }

fail() {
	log "FAIL: $*"
	dc ps >&2 || true
	dc logs --no-color --tail=60 >&2 || true
	dc down -v >&2 || true
	exit 1
}

# wait_until WHAT CMD...: poll CMD until it succeeds, at most SYNC_TIMEOUT seconds.
wait_until() {
	local what=$1 deadline=$((SECONDS + SYNC_TIMEOUT))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${SYNC_TIMEOUT}s waiting for: $what"
		sleep 1
	done
}

results=()
scenario() {
	local name=$1 t0=$SECONDS
	shift
	log "-- $name"
	"$@"
	results+=("$(printf '  %-10s ok %4d s' "$name" $((SECONDS - t0)))")
}

mounted() { x "$1" 'mountpoint -q /etc/pve'; }
# corosync's view: quorate with the 3 votes; pmxcfs's view (.members): quorate.
quorate3() {
	x "$1" 'corosync-quorumtool -s | grep -Eq "^Quorate: +Yes" && corosync-quorumtool -s | grep -Eq "^Total votes: +3"' &&
		x "$1" 'grep -q "\"quorate\": 1" /etc/pve/.members'
}
online_count() { x "$1" 'grep -c "\"online\": 1" /etc/pve/.members'; }
not_quorate() { x "$1" 'corosync-quorumtool -s | grep -Eq "^Quorate: +No"'; }
reads() { [ "$(x "$1" "cat /etc/pve/$2")" = "$3" ]; }
running() { [ "$(podman inspect --format '{{.State.Running}}' "$(cid "$1")")" = true ]; }
stopped() { ! running "$1"; }

s_up() {
	dc up -d
	local n
	for n in "${NODES[@]}"; do wait_until "$n: /etc/pve mounted" mounted "$n"; done
}

s_quorum() {
	local n
	for n in "${NODES[@]}"; do wait_until "$n: quorate with 3 nodes" quorate3 "$n"; done
}

# Every node lists all 3 nodes online in .members (C takes "online" from the members of
# the status CPG group: a pmxcfs-ts node must be in it to count on a C node).
three_online() { [ "$(online_count "$1")" -eq 3 ]; }
s_members() {
	local n
	for n in "${NODES[@]}"; do wait_until "$n: .members lists 3 nodes online" three_online "$n"; done
}

s_process() {
	local n pid
	for n in "${NODES[@]}"; do
		pid=$(x "$n" 'pidof pmxcfs') || fail "$n: pidof pmxcfs found nothing"
		[ "$(x "$n" "cat /proc/$pid/comm")" = pmxcfs ] || fail "$n: comm of $pid is not pmxcfs"
		[ "$(x "$n" 'pgrep -x pmxcfs')" = "$pid" ] || fail "$n: pgrep -x pmxcfs disagrees with pidof"
	done
}

# write_read WRITER NAME: a unique content written on WRITER, read back on every node.
write_read() {
	local w=$1 name=$2 n content
	content="$name from $w at $(date +%s.%N)"
	x "$w" "printf '%s' '$content' > /etc/pve/$name" || fail "$w: write of /etc/pve/$name failed"
	for n in "${NODES[@]}"; do wait_until "$n reads /etc/pve/$name" reads "$n" "$name" "$content"; done
}

s_writes() {
	local n
	for n in "${NODES[@]}"; do write_read "$n" "compose-$n.txt"; done
}

s_restart() {
	dc stop n3
	local content="written while n3 was stopped"
	x n1 "printf '%s' '$content' > /etc/pve/while-n3-down.txt" || fail "n1: write with n3 stopped failed"
	dc start n3
	wait_until "n3 reads what n1 wrote while it was stopped" reads n3 while-n3-down.txt "$content"
	wait_until "n3: quorate with 3 nodes" quorate3 n3
	write_read n3 after-restart.txt
}

s_killall() {
	x n2 'killall pmxcfs' || fail "n2: killall pmxcfs failed"
	wait_until "n2's container ends with its daemon" stopped n2
	local rc
	rc=$(podman inspect --format '{{.State.ExitCode}}' "$(cid n2)")
	[ "$rc" = 0 ] || fail "n2: daemon ended with exit code $rc after killall"
	x n1 "printf '%s' 'written while n2 was down' > /etc/pve/while-n2-down.txt" || fail "n1: write with n2 down failed"
	dc start n2
	wait_until "n2 reads what n1 wrote while it was down" reads n2 while-n2-down.txt 'written while n2 was down'
	wait_until "n2: quorate with 3 nodes" quorate3 n2
}

# The cut drops all traffic on n3's cluster interface (both ways), as a pulled cable.
CUT='iptables -I INPUT -i eth0 -j DROP && iptables -I OUTPUT -o eth0 -j DROP'
HEAL='iptables -D INPUT -i eth0 -j DROP && iptables -D OUTPUT -o eth0 -j DROP'
write_fails() { ! x "$1" "printf x > /etc/pve/$2"; }

s_partition() {
	x n3 "$CUT" || fail "n3: iptables cut failed"
	wait_until "n3 loses quorum" not_quorate n3
	wait_until "n3's /etc/pve is read-only" write_fails n3 cut-probe.txt
	reads n3 compose-n1.txt "$(x n1 'cat /etc/pve/compose-n1.txt')" || fail "n3: old files unreadable during the cut"
	x n1 "printf '%s' 'written during the cut' > /etc/pve/during-cut.txt" || fail "n1: write during n3's cut failed"
	x n3 "$HEAL" || fail "n3: iptables heal failed"
	wait_until "n3: quorate with 3 nodes after the heal" quorate3 n3
	wait_until "n3 reads what n1 wrote during the cut" reads n3 during-cut.txt 'written during the cut'
	write_read n3 after-heal.txt
}

# The files under /etc/pve (not the per-node dot files), hashed on each node.
TREE_HASH='cd /etc/pve && find . -path "./.*" -prune -o -type f -print | LC_ALL=C sort | xargs -r sha256sum | sha256sum'
same_tree() {
	local a b c
	a=$(x n1 "$TREE_HASH") && b=$(x n2 "$TREE_HASH") && c=$(x n3 "$TREE_HASH") && [ "$a" = "$b" ] && [ "$b" = "$c" ]
}

s_agree() {
	wait_until "/etc/pve identical on n1, n2, n3" same_tree
}

s_down() {
	dc down -v
	local left
	left=$(podman ps -aq --filter "label=com.docker.compose.project=$PROJECT")
	[ -z "$left" ] || fail "containers left after down -v: $left"
	left=$(podman volume ls -q --filter "label=com.docker.compose.project=$PROJECT")
	[ -z "$left" ] || fail "volumes left after down -v: $left"
	left=$(podman network ls -q --filter "label=com.docker.compose.project=$PROJECT")
	[ -z "$left" ] || fail "networks left after down -v: $left"
}

# A previous run that died half-way must not leave state behind.
dc down -v >/dev/null 2>&1 || true
t0=$SECONDS
scenario up s_up
scenario quorum s_quorum
scenario members s_members
scenario process s_process
scenario writes s_writes
scenario restart s_restart
scenario killall s_killall
scenario partition s_partition
scenario agree s_agree
scenario down s_down
echo "== $FILE: all scenarios passed in $((SECONDS - t0)) s"
printf '%s\n' "${results[@]}"
