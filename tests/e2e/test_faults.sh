#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Faults and limits: a flow table smaller than the marked connections.
source "$(dirname "$0")/lib.sh"

nfo_topology
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)

# CPU ticks (utime + stime) of a process.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Seconds left of each conntrack entry to server port $1, one a line.
ct_timeouts() { rexec conntrack -L -p tcp --dport "$1" 2>/dev/null | awk '{print $3}' | sort -n; }
status_waiting() {
	nfo status -j | $PY -c 'import json,sys; print(json.load(sys.stdin)["flows"]["waiting"])'
}
waiting_is() { [ "$(status_waiting)" = "$1" ]; }

# --- a full flow table -------------------------------------------------------
# 16 connections fit; 14 more wait on the kernel path. No retry loop: the
# daemon stays idle, their conntrack timeouts are the kernel's own and count
# down, status says the table is full, and they get in when the first end.
sexec $TRAFFIC tcp-echo 6001 &
sexec $TRAFFIC tcp-echo 6002 &
disown -a
nfo_start --flows 16 || exit 1
wait_for 5 listening "$S" 6001 && wait_for 5 listening "$S" 6002
cexec $TRAFFIC tcp-many $SERVER4 6001 16 --rounds 2 --gate "$TMP/gateA" >"$TMP/manyA" &
a=$!
check "16 connections fill the table" wait_for 8 port_flows 6001 16
cexec $TRAFFIC tcp-many $SERVER4 6002 14 --rounds 3 --gate "$TMP/gateB" >"$TMP/manyB" &
b=$!
check "status counts the 14 connections that do not fit" wait_for 8 waiting_is 14
t0=$(cpu_ticks "$NFO_PID")
sleep 3
t1=$(cpu_ticks "$NFO_PID")
hz=$(getconf CLK_TCK)
check "daemon CPU stays low with a full table ($((t1 - t0)) ticks in 3 s, limit 10%)" \
	test $((t1 - t0)) -le $((hz * 3 / 10))
nfo status >"$TMP/status" 2>&1
rc=$?
check "status exits non-zero and says the table is full" \
	eval "[ $rc -ne 0 ] && grep -q 'flow table full: 14 connections waiting' '$TMP/status'"
check "the waiting ones stay on the kernel path" test "$(flows_matching --port 6002)" -eq 0
est=$(rexec cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established)
ct_timeouts 6002 >"$TMP/to1"
sleep 2
ct_timeouts 6002 >"$TMP/to2"
check "their conntrack timeouts are the kernel's own (not held)" \
	eval "[ \$(wc -l <'$TMP/to1') -eq 14 ] && awk -v e=$est '\$1 > 86400 && \$1 <= e {n++} END {exit n != 14}' '$TMP/to1'"
check "and count down" eval "[ \"\$(head -1 '$TMP/to2')\" -lt \"\$(head -1 '$TMP/to1')\" ]"
sport=$(rexec conntrack -L -p tcp --dport 6002 2>/dev/null | grep -o 'sport=[0-9]*' | head -1 | cut -d= -f2)
nfo explain tcp "$CLIENT4:$sport" "$SERVER4:6002" >"$TMP/explain" 2>&1
check "explain says the table is full for a waiting connection" grep -q 'flow table full' "$TMP/explain"
: >"$TMP/gateB"
wait_for 10 test -e "$TMP/gateB.done1"
# The first 16 end: the 14 get their room, oldest first.
: >"$TMP/gateA"
check "first connections finish intact" eval "wait $a && grep -q ' 0 bad' '$TMP/manyA'"
check "the waiting connections are admitted when room frees" wait_for 8 port_flows 6002 14
check "and nothing waits any more" wait_for 3 waiting_is 0
fwd0=$(nfo_total fwd_packets)
: >"$TMP/gateB"
check "their traffic is intact" eval "wait $b && grep -q ' 0 bad' '$TMP/manyB'"
check "and takes the fast path" test "$(nfo_total fwd_packets)" -gt "$fwd0"
nfo explain tcp "$CLIENT4:1" "$SERVER4:6002" >"$TMP/explain2" 2>&1
check "explain does not claim a full table when it is not" \
	eval "! grep -qi 'full' '$TMP/explain2'"
nfo_stop

nfo_done
