#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the fast path would skip stays on the kernel path, and the daemon keeps
# deciding: netdev chains on an offload device (a DSCP mangle, a drop rule),
# xfrm (IPsec) policies, rule changes made while no daemon ran (restart with
# --keep-on-exit, and after kill -9), edits to nft-offload's own table, and a
# second instance on the same devices.
source "$(dirname "$0")/lib.sh"

nfo_topology
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
sexec $TRAFFIC udp-echo 7 --log "$TMP/echo7.log" &
sexec $TRAFFIC udp-echo 17 --log "$TMP/echo17.log" &
disown -a

# Seconds from $1 (date +%s.%N) to the last packet the echo server on port $2 saw.
lag_after() {
	$PY -c "print(round($(tail -1 "$TMP/echo$2.log") - $1, 3))"
}
# A udp-rr in the background: rr_bg SRC_NS SPORT DPORT COUNT
rr_bg() {
	ip netns exec "$1" $TRAFFIC udp-rr $SERVER4 "$3" "$4" --gap 0.01 --sport "$2" \
		--timeout 0.2 --give-up 10 >"$TMP/rr.$2" &
	RR=$!
}
json() { # json 'python expression on j' (j: nft-offload status -j)
	nfo status -j | $PY -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

# --- netdev chains: a DSCP mangle at lan0's ingress and egress --------------
# Like the kernel's flowtable test: every packet must carry cs3, as on the
# kernel path. Counted where the packets arrive (server input, client input).
rexec nft -f - <<EOF
table netdev dscp {
	chain in { type filter hook ingress device "lan0" priority 0; ip dscp set cs3; }
	chain out { type filter hook egress device "lan0" priority 0; ip dscp set cs3; }
}
EOF
for ns in $S $C; do
	ip netns exec "$ns" nft -f - <<EOF
table inet count {
	chain in {
		type filter hook input priority 0;
		udp dport 7 ip dscp cs3 counter comment "cs3"
		udp sport 7 ip dscp cs3 counter comment "cs3"
		udp dport 7 counter comment "all"
		udp sport 7 counter comment "all"
	}
}
EOF
done
count() { # count NS COMMENT
	ip netns exec "$1" nft -j list table inet count | $PY -c '
import json, sys
print(sum(e["counter"]["packets"] for o in json.load(sys.stdin)["nftables"] if "rule" in o
          and o["rule"].get("comment") == sys.argv[1] for e in o["rule"]["expr"] if "counter" in e))' "$2"
}
nfo_start --mode tc || exit 1
check "start-up log says why lan0 stays on the kernel path" \
	grep -q "lan0: netdev chain(s) netdev dscp in (ingress), netdev dscp out (egress) hook it" "$NFO_LOG"
cexec $TRAFFIC udp-rr $SERVER4 7 300 --gap 0.005 --sport 40101 >/dev/null
s_all=$(count $S all) s_cs3=$(count $S cs3) c_all=$(count $C all) c_cs3=$(count $C cs3)
check "every packet the server got carries cs3 ($s_cs3/$s_all)" test "$s_all" -ge 300 -a "$s_cs3" = "$s_all"
check "every reply the client got carries cs3 ($c_cs3/$c_all)" test "$c_all" -ge 300 -a "$c_cs3" = "$c_all"
check "lan0's connection was not offloaded" test "$(flows_matching --port 40101)" -eq 0
check "status names lan0's netdev chains, as a warning (still healthy)" \
	test "$(json '[d["kernel_path_only"] for d in j["devices"] if d["name"] == "lan0"][0], j["healthy"]')" \
	= "netdev dscp in (ingress), netdev dscp out (egress) True"
cexec $TRAFFIC udp-rr $SERVER4 7 3 --sport 40102 >/dev/null &
rr=$!
sleep 0.3
nfo explain udp $CLIENT4:40102 $SERVER4:7 >"$TMP/explain" 2>&1
wait $rr
check "explain names the netdev chains" grep -q "netdev_chains .*netdev chains hook lan0" "$TMP/explain"
# Removed while running: lan0 is offloaded again.
rexec nft delete table netdev dscp
c2=$(count $C all)
cexec $TRAFFIC udp-rr $SERVER4 7 100 --gap 0.01 --sport 40103 >/dev/null &
rr=$!
check "with the chains gone, lan0's connections are offloaded again" wait_for 3 port_flows 40103 1
wait $rr

# --- netdev chains: an ingress drop rule added while a flow is offloaded ----
# The rule drops every other reply at wan0. Without the guard, the replies it
# lets through re-mark the connection after the re-validation, and later
# replies take the fast path past the drop: all of them arrive.
cexec $TRAFFIC udp-rr $SERVER4 7 300 --gap 0.01 --sport 40104 --timeout 0.05 >/dev/null &
rr=$!
wait_for 3 port_flows 40104 1
sleep 0.3
rexec nft add table netdev f
rexec nft add chain netdev f in '{ type filter hook ingress device "wan0" priority 0; }'
rexec nft add rule netdev f in udp sport 7 numgen random mod 2 == 0 drop
sleep 0.5
q0=$(count $S all) r0=$(count $C all)
wait $rr
q1=$(count $S all) r1=$(count $C all)
check "a netdev ingress drop rule added under traffic holds (replies after it: $((r1 - r0)) of $((q1 - q0)))" \
	$PY -c "import sys; sys.exit(not 0 < $((r1 - r0)) < 0.8 * $((q1 - q0)))"
check "the connection left the fast path" test "$(flows_matching --port 40104)" -eq 0
rexec nft delete table netdev f
# An inet ingress chain over two devices is followed the same way.
rexec nft -f - <<EOF
table inet ing {
	chain c { type filter hook ingress devices = { "lan0", "lan1" } priority 0; }
}
EOF
both_listed() {
	test "$(json '[d["kernel_path_only"] for d in j["devices"]]')" = \
		"['inet ing c (ingress)', 'inet ing c (ingress)', None]"
}
check "an inet ingress chain with devices = { lan0, lan1 } keeps both on the kernel path" \
	wait_for 2 both_listed
rexec nft delete table inet ing
sleep 0.3

# --- IPsec: an xfrm policy added while flows are offloaded -------------------
: >"$TMP/echo7.log"
: >"$TMP/echo17.log"
rr_bg $C 40201 7 300
rr1=$RR
rr_bg $C2 40202 17 300
rr2=$RR
wait_for 3 port_flows 40201 1
wait_for 3 port_flows 40202 1
sleep 0.5
t_pol=$(date +%s.%N)
rexec ip xfrm policy add dir fwd src $CLIENT4/32 dst $SERVER4/32 action block
sleep 0.3
check "the flow the policy selects left the fast path" test "$(flows_matching --port 40201)" -eq 0
check "a flow it does not select stays offloaded" test "$(flows_matching --port 40202)" -eq 1
nfo explain udp $CLIENT4:40201 $SERVER4:7 >"$TMP/explain" 2>&1
check "explain: an xfrm (IPsec) policy matches" grep -q "an xfrm (IPsec) policy matches" "$TMP/explain"
check "status counts the policy" test "$(json 'j["xfrm"]["policies"]')" = 1
wait $rr1 $rr2
check "the kernel path applies the policy: nothing arrives after it ($(lag_after "$t_pol" 7)s)" \
	$PY -c "import sys; sys.exit(not $(lag_after "$t_pol" 7) < 0.5)"
check "the other flow got every reply" grep -q "300/300" "$TMP/rr.40202"
rexec ip xfrm policy flush

# --- nft-offload's own table: edited, restored ------------------------------
rexec nft flush chain inet nft_offload forward
restored() { rexec nft list chain inet nft_offload forward | grep -q "ct mark set"; }
check "a flushed chain is restored within a second" wait_for 1 restored
check "and logged" grep -q "table inet nft_offload was changed" "$NFO_LOG"
h=$(rexec nft -a list chain inet nft_offload forward | awk '/ct mark set/ {print $NF; exit}')
rexec nft delete rule inet nft_offload forward handle "$h"
check "a rule deleted by handle is restored within a second" wait_for 1 restored
restores() { test "$(json "j['nft']['table_restores']")" = 2; }
check "status counts the restores" wait_for 2 restores
cexec $TRAFFIC udp-rr $SERVER4 7 100 --gap 0.01 --sport 40301 >/dev/null &
rr=$!
check "offload resumes for new connections" wait_for 3 port_flows 40301 1
wait $rr

# --- one owner per device ---------------------------------------------------
PIN2=$TMP/bpf/other
# (timeout: an instance that does not refuse would run on; it exits with 124.)
ip netns exec "$R" timeout 5 "$NFO" run --pin-dir "$PIN2" --device lan0 --device wan0 \
	--mode tc --log-group 40961 >"$TMP/second.log" 2>&1
rc=$?
check "a second instance on the same devices refuses (exit $rc)" test $rc -ne 0 -a $rc -ne 124
check "naming the owner" grep -q "lan0 is already offloaded by another nft-offload instance (pid $NFO_PID, pin dir $PIN)" "$TMP/second.log"
check "the first instance stays healthy" nfo status >/dev/null
cexec $TRAFFIC udp-rr $SERVER4 7 100 --gap 0.01 --sport 40501 >/dev/null &
rr=$!
check "and keeps offloading" wait_for 3 port_flows 40501 1
wait $rr
rexec tc filter del dev lan1 ingress
nfo status >"$TMP/status" 2>&1
rc=$?
check "its status reports the removed program (exit $rc)" \
	grep -q "program not attached to lan1" "$TMP/status"
nfo_stop

# --- a rule added while no daemon ran: restart, and kill -9 ------------------
restart_case() { # restart_case SPORT HOW
	nfo_start --keep-on-exit || return 1
	rr_bg $C "$1" 7 500
	rr=$RR
	wait_for 3 port_flows "$1" 1
	sleep 0.3
	t_up=$(date +%s.%N)
	if [ "$2" = kill ]; then kill -KILL "$NFO_PID"; else kill -TERM "$NFO_PID"; fi
	wait "$NFO_PID" 2>/dev/null
	NFO_PID=
	rexec nft insert rule inet filter forward udp sport "$1" drop
	sleep 0.5
	# Meanwhile the fast path forwarded the adopted flow through the rule:
	check "$2: no daemon, the fast path still forwards ($(lag_after "$t_up" 7)s)" \
		$PY -c "import sys; sys.exit(not $(lag_after "$t_up" 7) > 0.3)"
	t_up=$(date +%s.%N)
	nfo_start --keep-on-exit || return 1
	wait $rr
	check "$2: a drop rule added while no daemon ran stops the adopted flow ($(lag_after "$t_up" 7)s after the restart)" \
		$PY -c "import sys; sys.exit(not $(lag_after "$t_up" 7) < 0.5)"
	check "$2: said so in the log" grep -q "ruleset changed while no daemon ran" "$NFO_LOG"
}
restart_case 40401 term
kill -TERM "$NFO_PID"
wait "$NFO_PID" 2>/dev/null
NFO_PID=
restart_case 40402 kill
nfo_stop
nfo_done
