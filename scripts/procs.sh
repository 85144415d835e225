# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Stopping the processes the demo and the benchmark start. Source it.

# stop_trafgen PID [NETNS]: trafgen ignores SIGTERM and forks a worker even
# with -P 1: interrupt the parent and its children by PID, then kill what did
# not stop. With NETNS, also every trafgen left in that namespace: a worker
# whose parent has exited (one worker gave up on EAGAIN, say) is no longer
# its child, and would go on sending into the next measurement.
stop_trafgen() {
	local pid=$1 ns=${2:-} pids p i
	pids="$pid $(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)"
	if [ -n "$ns" ]; then
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = trafgen ] && pids="$pids $p"
		done
	fi
	pids=${pids# }
	[ -n "${pids// /}" ] || return 0
	# shellcheck disable=SC2086
	kill -INT $pids 2>/dev/null || true
	for i in $(seq 30); do
		# shellcheck disable=SC2086
		kill -0 $pids 2>/dev/null || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || true
}

# stop_pid PID [SECS]: SIGTERM, up to SECS (10) seconds, then SIGKILL (and
# say so on stderr).
stop_pid() {
	local pid=$1 secs=${2:-10} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq $((secs * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			return 0
		fi
		sleep 0.1
	done
	echo "process $pid ignored SIGTERM for $secs s: killed" >&2
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
