#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Faults and limits: a pin directory that is not ours, or not on a BPF
# filesystem, or gone while the daemon runs; a flow table smaller than the
# marked connections; a set element added to a blocklist.
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

run_fails() { # run_fails PIN_DIR SENTENCE: the daemon refuses to start, saying it
	ip netns exec "$R" timeout 5 "$NFO" run --pin-dir "$1" --device lan0 --device wan0 \
		>"$TMP/run.out" 2>&1
	local rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qF -- "$2" "$TMP/run.out" ||
		{ sed 's/^/#   /' "$TMP/run.out"; return 1; }
}
attached_anywhere() { # is a program of ours on lan0, lan1 or wan0?
	local d
	for d in lan0 lan1 wan0; do
		rexec tc filter show dev $d ingress 2>/dev/null | grep -q nfo_tc && return 0
		rexec ip link show dev $d 2>/dev/null | grep -q "prog/xdp" && return 0
	done
	return 1
}

# --- a pin directory that is not on a BPF filesystem ------------------------
# Files named like the maps, on a tmpfs: refused before anything is done, and
# nothing is deleted.
mkdir -p "$TMP/tfs"
mount -t tmpfs tmpfs "$TMP/tfs"
mkdir "$TMP/tfs/nfo"
for f in nfo_flow4 nfo_flow6 nfo_devs nfo_stats; do echo "precious $f" >"$TMP/tfs/nfo/$f"; done
(cd "$TMP/tfs" && find . -type f | sort | xargs sha256sum) >"$TMP/tfs.before"
check "a pin directory on tmpfs is refused with one sentence" \
	run_fails "$TMP/tfs/nfo" "pin directory $TMP/tfs/nfo is not on a BPF filesystem"
check "... and a new one under tmpfs too" \
	run_fails "$TMP/tfs/new" "pin directory $TMP/tfs/new is not on a BPF filesystem"
check "its files are untouched" \
	eval "(cd '$TMP/tfs' && find . -type f | sort | xargs sha256sum) | cmp -s - '$TMP/tfs.before'"
check "nothing was created" test ! -e "$TMP/tfs/new"
check "nothing was attached" eval "! attached_anywhere"
umount "$TMP/tfs"

# --- a pin directory prepared by someone else -------------------------------
mkdir "$TMP/bpf/other"
chown 65534 "$TMP/bpf/other"
check "a pin directory owned by another user is refused" \
	run_fails "$TMP/bpf/other" "pin directory $TMP/bpf/other belongs to uid 65534, not root"
chown 0 "$TMP/bpf/other"
chmod 0777 "$TMP/bpf/other"
check "a pin directory writable by others is refused" \
	run_fails "$TMP/bpf/other" "pin directory $TMP/bpf/other is writable by group or others (mode 0777)"
check "... and left as it was" test "$(stat -c %a "$TMP/bpf/other")" = 777
rmdir "$TMP/bpf/other"

# --- stop when the pins are gone --------------------------------------------
nfo_start || exit 1
pid=$NFO_PID
rm -rf "$PIN"
nfo stop >"$TMP/stop1" 2>&1
check "stop finds a daemon whose pins are gone, and stops it" wait_for 5 eval "! kill -0 $pid 2>/dev/null"
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
NFO_PID=
check "... saying so" grep -q "the pins in $PIN are gone; stopping the daemon found by its run record (pid $pid)" "$TMP/stop1"
check "... and its programs, table and settings are gone" nothing_left

nfo_start || exit 1
kill -KILL "$NFO_PID"
wait "$NFO_PID" 2>/dev/null
NFO_PID=
rm -rf "$PIN"
nfo stop >"$TMP/stop2" 2>&1
check "stop removes what a killed daemon left, pins gone" nothing_left
check "... saying each thing it removed" eval "grep -q 'detached a leftover tc program from lan0' '$TMP/stop2' && grep -q 'removed a leftover table inet nft_offload' '$TMP/stop2'"

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

# --- a set element added to a drop rule's set ------------------------------
# It stops the live offloaded flow it matches; another offloaded flow stays in
# the fast path without interruption (its entry is not re-created).
ct_id_of() { # conntrack id of the offloaded flow with this port
	nfo flows -j --port "$1" | $PY -c 'import json,sys; f=json.load(sys.stdin)["flows"]; print(f[0]["ct_id"] if f else 0)'
}
age_of() { # seconds since the flow with this port entered the fast path
	nfo flows -j --port "$1" | $PY -c 'import json,sys; f=json.load(sys.stdin)["flows"]; print(f[0]["age_s"] if f else -1)'
}
sexec $TRAFFIC udp-echo 7 &
disown -a
nfo_start || exit 1
rexec nft add set inet filter blk '{ type ipv4_addr; }'
rexec nft insert rule inet filter forward ip saddr @blk counter drop comment '"blk"'
sleep 0.5
cexec $TRAFFIC udp-rr $SERVER4 7 500 --gap 0.01 --sport 40201 --timeout 0.5 --give-up 4 >"$TMP/rrA" &
ra=$!
c2exec $TRAFFIC udp-rr $SERVER4 7 500 --gap 0.01 --sport 40202 --timeout 0.5 >"$TMP/rrB" &
rb=$!
check "two flows offloaded" eval "wait_for 5 port_flows 40201 1 && wait_for 5 port_flows 40202 1"
sleep 2
idB=$(ct_id_of 40202)
fwd0=$(nfo_total fwd_packets)
t_add=$(date +%s.%N)
rexec nft add element inet filter blk '{ 198.18.1.2 }'
check "the flow from the added address leaves the fast path" wait_for 2 port_flows 40201 0
check "... and the drop rule stops it" eval "wait $ra; [ \"\$(rule_packets blk)\" -gt 0 ]"
sleep 0.5
check "the other flow is still offloaded" test "$(ct_id_of 40202)" = "$idB"
# A flow sent back and admitted again gets a new entry: its age starts again.
ageB=$(age_of 40202)
since=$($PY -c "import time; print(round(time.time() - $t_add, 1))")
check "... in the same entry, never sent back (in the fast path for ${ageB}s, element added ${since}s ago)" \
	$PY -c "import sys; sys.exit(not $ageB > $since)"
check "... its traffic still takes the fast path" test "$(nfo_total fwd_packets)" -gt "$fwd0"
check "... and is intact" eval "wait $rb && grep -q '500/500' '$TMP/rrB'"
check "the daemon said so" grep -q "set elements changed .* 1 of 2 connections concerned" "$NFO_LOG"
# A rule that masks the value it looks up: no element can be matched to a
# tuple, so every flow goes back to the ruleset.
rexec nft add set inet filter nets '{ type ipv4_addr; }'
rexec nft insert rule inet filter forward ip saddr and 255.255.255.0 @nets drop
sleep 0.5
rexec nft add element inet filter nets '{ 198.18.9.0 }'
check "a set looked up through a mask re-validates every flow" \
	wait_for 2 grep -q "may concern any flow" "$NFO_LOG"
nfo_stop

nfo_done
