#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A conntrack dump overtaken by a full hand-back. The daemon reads a dump in
# slices between events; a ruleset change meanwhile sends every flow back
# and, 250 ms later, clears every mark (the second pass). What the dump
# still delivers after that was marked before: admitted, it would put
# connections the new ruleset drops back into the fast path (until a later
# dump finds their marks gone). So such a dump is discarded and run again.
#
# 50,000 marked conntrack entries (bench/ct_flood) make the dump long: they
# come from a network the router has no route to, so the daemon refuses them
# when it learns of them (no offload device towards the sender), and once
# the route exists nothing but a dump finds them again. The dump starts, the
# ruleset then drops that network: none of them may stay offloaded, neither
# right after the dumps (before the catch-up dump 2 s later would clean up)
# nor later; a real stream the ruleset still accepts comes back.
source "$(dirname "$0")/lib.sh"

FLOOD=$ROOT/build/bench/ct_flood
if [ ! -x "$FLOOD" ]; then
	say "not ok - $FLOOD is missing (make build/bench/ct_flood; make test-e2e builds it)"
	exit 1
fi
N=${NFO_DUMP_N:-50000}
FSRC=198.18.200.1 # 50,000 source ports per address

nfo_topology
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
# ct_flood's marks come through ctnetlink: trusted for this test (see HA pair).
# An event buffer that holds the events of 50,000 mark changes: a loss would
# start a resync at once, which hides what the discarded dump would have
# left behind.
nfo_start --mode tc --trust-netlink-marks --event-buffer 64M || exit 1

# A real exchange from the client, which the new ruleset still accepts
# (requests and replies: a connection the ruleset re-judges needs both
# directions' packets to be marked again).
sexec $TRAFFIC udp-echo 7 &
wait_for 5 sh -c "ip netns exec $S ss -Hlun 'sport = :7' | grep -q ."
cexec $TRAFFIC udp-rr $SERVER4 7 600 --sport 40400 --gap 0.02 >"$TMP/rr" &
rp=$!
check "a real exchange is offloaded" wait_for 5 port_flows 40400 1

# A conntrack hold the fast path cannot make: an entry whose timeout nothing
# may change (IPS_FIXED_TIMEOUT, set through ctnetlink by ct_flood; port
# 10000 is its first source port). Its first packet in the fast path fails
# to hold it, clears the entry's flag and tells the daemon, which takes the
# holds over (and warns once).
if ct_kfuncs; then
	rexec "$FLOOD" --src $CLIENT4 --dst $SERVER4 --dport 7 --fixed-timeout 1 >/dev/null
	check "an entry with a fixed timeout is offloaded" wait_for 5 port_flows 10000 1
	cexec $TRAFFIC udp-stream $SERVER4 7 20 --sport 10000 --rate 200 >/dev/null
	check "... the fast path could not hold it and told the daemon" \
		wait_for 3 grep -q "the fast path could not hold a connection's conntrack entry" "$NFO_LOG"
	nfo explain udp $CLIENT4:10000 $SERVER4:7 >"$TMP/explain-fixed" 2>&1
	check "... explain says the daemon holds it now" \
		grep -q "conntrack_hold .*the daemon holds its conntrack entry" "$TMP/explain-fixed"
	n=$(nfo flows -j --port 10000 | $PY -c 'import json,sys; print(sum(x["original"]["packets"] for x in json.load(sys.stdin)["flows"]))')
	check "... and its packets still took the fast path ($n forwarded)" test "${n:-0}" -ge 18
fi
# The first catch-up dump (2 s after the start) must not find the flood's
# entries: it runs before they are reachable. The next is 8 s later.
wait_for 5 grep -q "catch-up: " "$NFO_LOG"

out=$(rexec "$FLOOD" --src $FSRC "$N")
check "$N marked conntrack entries created (ct_flood: $out)" test "${out%% *}" = "$N"
refused() { # the daemon has refused all of them (no offload device towards the sender)
	local n
	n=$(sed -n 's/.*not offloaded so far: \([0-9]*\) entering.*/\1/p' "$NFO_LOG" | tail -n 1)
	[ "${n:-0}" -ge "$N" ]
}
check "the daemon learnt of them and refused them (no route to their sender)" wait_for 10 refused
check "... none is offloaded" test "$(flows_matching --addr $FSRC)" -eq 0

# Reachable now, through lan0: only a dump finds them. Start one, and change
# the ruleset while it runs: their network is dropped from now on.
rexec ip route add 198.18.200.0/24 via $CLIENT4 dev lan0
nl0=$(wc -l <"$NFO_LOG")
kill -USR1 "$NFO_PID"
# The dump starts at the daemon's next tick (within a second) and admits
# them for most of a second: change the ruleset once it has begun.
admitting() { [ "$(flows_matching --addr $FSRC)" -gt 0 ]; }
check "the dump runs (it admits them)" wait_for 3 admitting
rexec nft insert rule inet filter forward ip saddr 198.18.200.0/24 counter drop
t0=$(date +%s.%N)
since() { tail -n +"$((nl0 + 1))" "$NFO_LOG"; }
second_pass_then_dump() { # the second pass, then a dump that ended after it
	since | sed -n '/second pass/,$p' | grep -q -e "conntrack resync: " -e "catch-up: "
}
check "the second pass ran and a dump ended after it" wait_for 10 second_pass_then_dump
n1=$(flows_matching --addr $FSRC)
t1=$(date +%s.%N)
since | grep -e 'ruleset changed' -e 'overtaken' -e 'second pass' -e 'resync: ' -e 'catch-up: ' |
	sed 's/^/# /'
check "a dump was overtaken by the hand-back and run again" \
	sh -c "tail -n +$((nl0 + 1)) '$NFO_LOG' | grep -q 'overtaken by a ruleset or device change'"
check "right after the dumps, none of the dropped network's connections is offloaded ($n1, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the change)" \
	test "$n1" -eq 0
check "... before a catch-up dump could have removed them" sh -c "! tail -n +$((nl0 + 1)) '$NFO_LOG' | grep -q 'catch-up: '"
sleep 3
check "3 s later, still none ($(flows_matching --addr $FSRC))" test "$(flows_matching --addr $FSRC)" -eq 0
check "the real exchange, still accepted, is offloaded again" wait_for 3 port_flows 40400 1
wait $rp
check "... and intact throughout ($(cat "$TMP/rr"))" grep -q "600/600 replies intact" "$TMP/rr"

nfo_stop
check "nothing left behind" nothing_left

# --- Idle hand-backs during a dump ------------------------------------------------
# Connections that go idle together go back to the ruleset together: the
# daemon clears their marks. A dump that started in the same tick had read
# some of them before, still marked, and admitted them again: offloaded
# without the ruleset's marks until their events (read after the dump's
# entries) evicted them, or, when those events were lost in the burst (a
# small event buffer), until the resync after the loss: the chaos test's
# "stale flow". The daemon notes what it hands back itself, and a dump that
# lost events meanwhile is run again.
# A dump starts at every tick (SIGUSR1 every 0.1 s) while they go idle. They
# send nothing then, so nothing can mark them again: each is admitted once.
sexec $TRAFFIC udp-echo 9 &
wait_for 5 sh -c "ip netns exec $S ss -Hlun 'sport = :9' | grep -q ."
K=500
NFO_IDLE=2 nfo_start --mode tc --event-buffer 4096 || exit 1
cexec $TRAFFIC udp-load $SERVER4 9 43000 $K 1.5 &
load=$!
check "$K connections offloaded" wait_for 5 port_flows 9 $K
wait $load
nl0=$(wc -l <"$NFO_LOG")
( for _ in $(seq 60); do kill -USR1 "$NFO_PID" 2>/dev/null; sleep 0.1; done ) &
sig=$!
counts=()
for _ in $(seq 100); do counts+=("$(flows_matching --port 9)"); sleep 0.03; done
wait $sig
say "# offloaded connections of port 9 while they went idle (changes): $(printf '%s\n' "${counts[@]}" | uniq | tr '\n' ' ')"
since | grep -c 'conntrack events lost' | sed 's/^/# event losses meanwhile: /'
check "dumps ran while they went idle ($(since | grep -c 'conntrack resync: ') ended)" \
	test "$(since | grep -c 'conntrack resync: ')" -ge 3
check "... all of them left" wait_for 3 port_flows 9 0
sleep 1.2 # the status the daemon publishes each second
admitted=$(nfo status -j | $PY -c 'import json, sys; print(json.load(sys.stdin)["flows"]["offloaded_total"])')
check "each was admitted once, none again from a dump after it left ($admitted admissions)" \
	test "$admitted" -eq $K
nfo_stop
check "nothing left behind" nothing_left
nfo_done
