#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# An HA router pair: keepalived (VRRP) moves a LAN and a WAN virtual address,
# conntrackd (FTFW) syncs conntrack from the master to the backup over a
# link of their own, nft-offload runs on both (tc mode).
#
#   client --+                      +-- server
#            | LAN bridge    WAN bridge |
#            +-- lan0 [A] wan0 -----+
#            +-- lan0 [B] wan0 -----+
#                  A sync0 -- sync0 B
#
# A TCP transfer (64 MiB, rate-limited so that it spans both switches,
# content checked) and a numbered UDP stream go through A, masqueraded to the
# WAN virtual address, offloaded. A third connection (UDP to port 7777) is
# accepted by A's ruleset and dropped by B's. After more than conntrack's UDP
# timeout (10 s in both routers) A's links go down: B takes over, commits the
# synced entries, and must offload the first two within 1 s (NAT included)
# but not the third, which its kernel path drops. Then A's links come up, A
# takes the addresses back and offloads again within 1 s. The transfer must
# complete intact, the UDP loss must stay within the VRRP switch times.
source "$(dirname "$0")/lib.sh"
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
source "$(dirname "$0")/ha_lib.sh"

MB=${NFO_HA_MB:-64}
RATE=${NFO_HA_RATE:-1.6} # MB/s: the transfer lasts MB / RATE seconds (40 s),
# long enough to span both switches even on a loaded machine
UDP_PPS=500
HOLD=12 # seconds offloaded on A before the failover (> the UDP timeout, 10 s)

topology
start_router A || nfo_done
start_router B || nfo_done
wait_for 10 is_master A && wait_for 10 sh -c "[ \"\$(tail -n1 $TMP/state-B 2>/dev/null | cut -d' ' -f1)\" = BACKUP ]"
check "A is VRRP master, B backup" is_master A
ip netns exec $C ping -c1 -W2 $VIP_LAN >/dev/null
ip netns exec $S ping -c1 -W2 $VIP_WAN >/dev/null

# Status on both routers reports conntrackd's sync.
for r in A B; do
	check "$r: status reports conntrackd sync running" \
		sh -c "ip netns exec ${NS[$r]} $NFO --pin-dir $TMP/bpf/$r status -j |
			$PY -c 'import json,sys; s=json.load(sys.stdin)[\"conntrackd\"]; sys.exit(not s[\"running\"])'"
done

# Traffic, all through A.
sexec $TRAFFIC tcp-recv 5001 "$MB" >"$TMP/tcp-recv" 2>&1 &
recv_pid=$!
n_udp=$(awk -v r=$RATE -v mb=$MB -v p=$UDP_PPS 'BEGIN { printf "%d", (mb / r - 2) * p }')
# The receiver reports back every 50th datagram (10 a second), as RTCP or
# QUIC receivers do: a stream whose reply direction never sends stays on the
# kernel path after a takeover, since the ruleset must accept both directions.
sexec $TRAFFIC udp-sink 9000 "$n_udp" --timeout 20 --ack 50 >"$TMP/udp-sink" 2>&1 &
sink_pid=$!
sexec $TRAFFIC udp-echo 7777 --log "$TMP/drop-arrivals" &
wait_for 5 listening $S 5001
sleep 0.3
cexec $TRAFFIC tcp-send $SERVER4 5001 "$MB" --rate "$RATE" >"$TMP/tcp-send" 2>&1 &
send_pid=$!
cexec $TRAFFIC udp-stream $SERVER4 9000 "$n_udp" --rate $UDP_PPS >"$TMP/udp-stream" 2>&1 &
stream_pid=$!
cexec $TRAFFIC udp-stream $SERVER4 7777 100000 --rate 100 >/dev/null 2>&1 &
t_start=$(now)

check "A offloads the TCP and UDP connections" wait_for 5 offloaded_on A
check "A offloads UDP to port 7777 (its ruleset accepts it)" wait_for 5 sh -c \
	"[ \$(ip netns exec $A $NFO --pin-dir $TMP/bpf/A flows --count --port 7777) -ge 1 ]"
check "B's daemon offloads nothing while backup" test "$(flows_on B 5001)" -eq 0

# Longer than conntrack's UDP timeout with every packet in A's fast path.
sleep $HOLD
est_a=$(counter_on A established)
check "A: ${HOLD}s later the connections are still offloaded (UDP timeout 10 s)" offloaded_on A
ext=$(on B conntrackd -C "$TMP/conntrackd-B.conf" -e ct 2>/dev/null)
check "B: conntrackd's external cache still holds the UDP connection" \
	grep -q "dport=9000" <<<"$ext"
check "B: ... and the TCP connection" grep -q "dport=5001" <<<"$ext"

# takeover FROM up|down TO: FROM's links go up or down, TO must become
# master, offload the connections within 1 s (NAT included) and then carry
# them in its fast path, not its forward chain. Sets SW and OFF (ms).
takeover() {
	local to=$3 f1 f2 e1 e2
	SW=$(switch_over "$1" "$2" "$to")
	check "$to took over (${SW} ms after A's links went $2)" is_master "$to"
	OFF=$(offload_after_takeover "$to")
	check "$to offloads the synced TCP and UDP connections ${OFF} ms after taking over (<= 1000)" \
		test "$OFF" != never -a "${OFF/never/99999}" -le 1000
	check "$to's flow carries the NAT to $VIP_WAN" test "$(nat_offloaded_on "$to")" = yes
	sleep 1
	f1=$(fwd_packets_on "$to")
	e1=$(counter_on "$to" established)
	sleep 1
	f2=$(fwd_packets_on "$to")
	e2=$(counter_on "$to" established)
	check "$to: fast path carries the connections ($((f2 - f1)) packets in 1 s; forward chain saw $((e2 - e1)))" \
		test $((f2 - f1)) -ge 400 -a $((e2 - e1)) -le 20
}

# Fail A.
takeover A down B
sw1=$SW off1=$OFF
t_b=$(master_since B)
drop1=$(counter_on B b-drop)
sleep 1
drop2=$(counter_on B b-drop)
check "B does not offload UDP to port 7777 (its ruleset drops it)" test "$(flows_on B 7777)" -eq 0
check "B's kernel path drops it ($((drop2 - drop1)) packets in 1 s)" test $((drop2 - drop1)) -ge 50

# A mark that arrives through ctnetlink is not trusted either: conntrackd
# 1.4.7 commits synced entries without their mark (seen above: B marked them
# itself), but a sync that kept it, or conntrack -I, must not bypass B's
# ruleset. Inject the entry A's chain leaves: replied, assured, marked.
ct_mark_on_b() { on B conntrack -L -p udp --sport 7778 2>/dev/null | grep -o 'mark=[0-9]*'; }
on B conntrack -I -p udp -s 198.18.1.2 -d $SERVER4 --sport 7778 --dport 7777 \
	-r $SERVER4 -q $VIP_WAN --reply-port-src 7777 --reply-port-dst 7778 \
	--status ASSURED,SEEN_REPLY --timeout 60 --mark 0xc0000000 >/dev/null 2>&1
sleep 0.5
check "B: a connection whose mark came through netlink is not offloaded" \
	test "$(flows_on B 7778)" -eq 0
check "B cleared that mark ($(ct_mark_on_b))" test "$(ct_mark_on_b)" = mark=0
cexec sh -c "for i in \$(seq 20); do echo x; sleep 0.02; done |
	socat -u - UDP4-SENDTO:$SERVER4:7777,sourceport=7778"
sleep 0.3
check "B: its packets are judged by B's ruleset, dropped, not marked ($(ct_mark_on_b))" \
	test "$(ct_mark_on_b)" = mark=0 -a "$(flows_on B 7778)" -eq 0
late=$(awk -v t="$t_b" '$1 > t + 0.5' "$TMP/drop-arrivals" | wc -l)
check "the server got no UDP to port 7777 through B ($late packets)" test "$late" -eq 0

# Fail back to A.
sleep 1
takeover A up A
sw2=$SW off2=$OFF

# Results.
if wait $send_pid && wait $recv_pid; then
	pass "TCP: $(cat "$TMP/tcp-recv") ($(cat "$TMP/tcp-send")), no reset"
else
	fail "TCP transfer: $(cat "$TMP/tcp-send" "$TMP/tcp-recv")"
fi
wait $stream_pid
wait $sink_pid
got=$(sed -n 's/^udp-sink: \([0-9]*\)\/.*/\1/p' "$TMP/udp-sink")
lost=$((n_udp - ${got:-0}))
lost_ms=$((lost * 1000 / UDP_PPS))
check "UDP: lost $lost of $n_udp datagrams (${lost_ms} ms at $UDP_PPS/s), within the VRRP switch times (${sw1} + ${sw2} ms + 300)" \
	test "${got:-0}" -gt 0 -a "$lost_ms" -le $((${sw1/never/0} + ${sw2/never/0} + 300))
say "# figures: switch A->B ${sw1} ms, B offloads ${off1} ms later; switch B->A ${sw2} ms, A offloads ${off2} ms later; UDP lost ${lost_ms} ms; A's forward chain saw $est_a packets before the failover"
nfo_done
