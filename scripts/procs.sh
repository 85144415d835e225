# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Stopping the processes the demo and the benchmark start. Source it.

# stop_trafgen PID: trafgen ignores SIGTERM and forks a worker even with -P 1:
# interrupt the parent and its children by PID, then kill what did not stop.
stop_trafgen() {
	local pid=$1 pids i
	[ -n "$pid" ] || return 0
	pids="$pid $(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)"
	# shellcheck disable=SC2086
	kill -INT $pids 2>/dev/null || true
	for i in $(seq 30); do
		# shellcheck disable=SC2086
		kill -0 $pids 2>/dev/null || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
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
