# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Starting and stopping `nft-offload run` for the tests, the demo and the
# benchmark. NFO names the binary. Source it.

# daemon_launch NS LOG SECS RUN-ARGS...: `nft-offload run RUN-ARGS` in NS in
# the background, its output in LOG (emptied first); waits up to SECS until
# it says "running:". Sets DAEMON_PID (the daemon itself: ip netns exec and
# taskset exec it). DAEMON_CPU, if set, pins it to those CPUs. Returns 1 if
# it exited or did not get ready in time (LOG tells why).
daemon_launch() {
	local ns=$1 log=$2 secs=$3
	shift 3
	: >"$log"
	if [ -n "${DAEMON_CPU:-}" ]; then
		ip netns exec "$ns" taskset -c "$DAEMON_CPU" "$NFO" run "$@" >>"$log" 2>&1 &
	else
		ip netns exec "$ns" "$NFO" run "$@" >>"$log" 2>&1 &
	fi
	DAEMON_PID=$!
	daemon_wait_ready "$log" "$DAEMON_PID" "$secs"
}

# daemon_wait_ready LOG PID SECS: until LOG says "running:", PID is gone, or
# SECS pass.
daemon_wait_ready() {
	local log=$1 pid=$2 i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "running:" "$log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "running:" "$log" 2>/dev/null
}

# daemon_terminate PID [SECS]: SIGTERM (the daemon then removes its programs,
# nft table and pins), up to SECS (10) seconds to exit, then SIGKILL. Returns
# 1 if it had to be killed.
daemon_terminate() {
	local pid=$1 secs=${2:-10} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			return 0
		fi
		sleep 0.1
	done
	echo "nft-offload (pid $pid) ignored SIGTERM for $secs s: killed" >&2
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 1
}

# daemon_forget DIR: remove the run records (/run/nft-offload) of daemons
# whose pin directory lies under DIR: those that were killed rather than
# stopped leave theirs behind.
daemon_forget() {
	grep -l "^pin_dir $1/" /run/nft-offload/* 2>/dev/null | xargs -r rm -f
}
