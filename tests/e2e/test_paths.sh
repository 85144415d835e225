#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The paths around an offloaded flow change: routes, neighbours, MTU, devices
# going down or away; packets arrive where they should not (spoofing); many
# connections at once. Every transfer is checked end to end.
source "$(dirname "$0")/lib.sh"

nfo_topology
nfo_add_wan1
nfo_add_lan2
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
sexec $TRAFFIC udp-echo 7 &
disown
NFO_DEVICES="lan0 lan1 lan2 wan0 wan1" nfo_start || exit 1

# --- route change mid-transfer: new next hop on a new device ----------------
# LAN to LAN (no NAT): client -> client2, moved from lan1 to lan2.
c2exec $TRAFFIC tcp-recv 5001 40 >"$TMP/r1" &
rp=$!
wait_for 5 listening $C2 5001
cexec $TRAFFIC tcp-send $CLIENT2_4 5001 40 --rate 20 >/dev/null &
sp=$!
wait_for 5 port_flows 5001 1
sleep 0.5
w0=$(tx_packets lan2)
rexec ip route replace $CLIENT2_4/32 via 198.18.4.2 dev lan2
sleep 1
w1=$(tx_packets lan2)
check "route change: the flow leaves through lan2 at once ($((w1 - w0)) packets in 1 s)" \
	test $((w1 - w0)) -gt 500
check "route change: still in the fast path" port_flows 5001 1
wait $sp
wait $rp
check "route change: transfer intact ($(cat "$TMP/r1"))" grep -q " 0 corrupt" "$TMP/r1"
rexec ip route del $CLIENT2_4/32

# The same, measured: the fast path caches the next hop per flow and trusts it
# while the routing generation (bumped by the daemon on every route event) is
# unchanged, and for at most about a second. A paced one-way UDP stream
# (2,000/s) while the route flips lan1 -> lan2 -> lan1 -> lan2, 0.4 s apart;
# packets leaving by the device the route no longer names are counted. With
# the bump, only those of the daemon's reaction (milliseconds); with a next
# hop left to age out, at least 0.4 s of the stream whatever the cache's
# phase (800 packets): a single change could hide in a lucky phase.
c2exec $TRAFFIC gap recv 7031 5 >"$TMP/gr" &
gp=$!
sleep 0.3
cexec $TRAFFIC gap send $CLIENT2_4 7031 2.5 2000 &
gs=$!
check "route flips: the stream is offloaded" wait_for 3 port_flows 7031 1
sleep 0.2
wrong=0 right=0
for dev in lan2 lan1 lan2; do
	old=lan1
	if [ $dev = lan2 ]; then
		rexec ip route replace $CLIENT2_4/32 via 198.18.4.2 dev lan2
	else
		old=lan2
		rexec ip route del $CLIENT2_4/32
	fi
	o0=$(tx_packets $old) d0=$(tx_packets $dev)
	sleep 0.4
	o1=$(tx_packets $old) d1=$(tx_packets $dev)
	wrong=$((wrong + o1 - o0)) right=$((right + d1 - d0))
done
rexec ip route del $CLIENT2_4/32
wait $gs
wait $gp
say "# route flips: $(cat "$TMP/gr")"
check "route flips: the fast path follows each change at once ($wrong packets by the old device, $right by the new)" \
	test $wrong -lt 100 -a $right -gt 1500
# Out of the fast path, as the checks below count connections.
nfo evict --port 7031 >/dev/null

# A masqueraded flow is bound to its device: the kernel drops it when its
# route moves (its source address belongs to the old device). The fast path
# must not carry it out of the new device: it hands it to the stack.
cexec $TRAFFIC udp-rr $SERVER4 7 30 --sport 40300 --gap 0.01 >/dev/null
wait_for 3 port_flows 40300 1
s0=$(nfo_total snat_route)
rexec ip route replace $SERVER4/32 via 198.19.3.2 dev wan1
cexec $TRAFFIC udp-rr $SERVER4 7 5 --sport 40300 --timeout 0.3 >/dev/null
s1=$(nfo_total snat_route)
check "masquerade + moved route: handed to the stack ($((s1 - s0)) x snat_route)" test $((s1 - s0)) -ge 1
check "masquerade + moved route: flow out of the fast path" wait_for 3 port_flows 40300 0
rexec ip route del $SERVER4/32

# --- neighbour change: the next hop's MAC changes ---------------------------
sexec $TRAFFIC tcp-recv 5002 40 >"$TMP/r2" &
rp=$!
wait_for 5 listening $S 5002
cexec $TRAFFIC tcp-send $SERVER4 5002 40 --rate 20 >/dev/null &
sp=$!
wait_for 5 port_flows 5002 1
sleep 0.5
sexec ip link set eth0 address 02:00:00:00:99:01
# What the router learns from the host's gratuitous ARP:
rexec ip neigh replace $SERVER4 lladdr 02:00:00:00:99:01 dev wan0
# Counted where the packets land: the server's IP input (frames still sent to
# the old MAC are dropped as other-host before it counts them), not the
# router's forward counter, which counts them either way.
# (Bytes: the server's GRO merges packets before IP counts them.) The
# sender is paced at 20 MB/s: most of it must arrive in that first second.
# The sender catches up after a loss, so this checks that the fast path
# follows the new MAC, not how soon: that is measured below.
in_bytes() { sexec awk '/^IpExt: [0-9]/ {print $8}' /proc/net/netstat; }
b0=$(in_bytes)
f0=$(nfo_total fwd_packets)
sleep 1
b1=$(in_bytes)
f1=$(nfo_total fwd_packets)
check "neighbour change: the fast path follows the new MAC ($((b1 - b0)) bytes reached the server in 1 s, $((f1 - f0)) packets forwarded)" \
	test $((b1 - b0)) -gt 12000000 -a $((f1 - f0)) -gt 500
wait $sp
wait $rp
check "neighbour change: transfer intact ($(cat "$TMP/r2"))" grep -q " 0 corrupt" "$TMP/r2"

# How soon: the server's MAC changes four times, 0.25 s apart, each time to a
# new one (frames to an old MAC are dropped by the server), under a paced
# one-way UDP stream (2,000/s). With the daemon's routing-generation bump the
# longest delivery gap is the few milliseconds between the server's change
# and the router's; a next hop left cached until it ages out (about 1 s)
# leaves a gap of at least 0.75 s whatever the cache's phase. It ends on the
# MAC the server has since the change above.
sexec $TRAFFIC gap recv 7030 5 >"$TMP/gn" &
gp=$!
sleep 0.3
cexec $TRAFFIC gap send $SERVER4 7030 2.5 2000 &
gs=$!
check "neighbour flips: the stream is offloaded" wait_for 3 port_flows 7030 1
sleep 0.2
f0=$(nfo_total fwd_packets)
for mac in 02:00:00:00:9a:01 02:00:00:00:9a:02 02:00:00:00:9a:03 02:00:00:00:99:01; do
	sexec ip link set eth0 address $mac
	rexec ip neigh replace $SERVER4 lladdr $mac dev wan0
	sleep 0.25
done
f1=$(nfo_total fwd_packets)
wait $gs
wait $gp
read -r _ got _ lost _ gap <"$TMP/gn"
check "neighbour flips: the fast path follows each new MAC at once (longest gap ${gap}s, $lost lost of $((got + lost)), $((f1 - f0)) packets forwarded)" \
	$PY -c "import sys; sys.exit(not (float('$gap') < 0.15 and $got > 4000 and $((f1 - f0)) > 1500))"
nfo evict --port 7030 >/dev/null

# --- path MTU: a smaller MTU on the egress link -----------------------------
# Lowered under an offloaded transfer: the fast path's next hop (cached with
# the old MTU) must send the first oversized packets to the stack, which
# answers with the ICMP errors the client learns the path MTU from. (A new
# connection's first oversized packets meet the kernel path before admission,
# so only this order proves what the fast path does.)
sexec $TRAFFIC tcp-recv 5005 12 >"$TMP/r5" &
rp=$!
wait_for 5 listening $S 5005
cexec $TRAFFIC tcp-send $SERVER4 5005 12 --rate 4 >/dev/null &
sp=$!
check "path MTU: the transfer is offloaded before the MTU drops" wait_for 5 port_flows 5005 1
sleep 0.5
m0=$(nfo_total mtu)
rexec ip link set wan0 mtu 1280
wait $sp
wait $rp
m1=$(nfo_total mtu)
check "path MTU: transfer intact across the MTU drop ($(cat "$TMP/r5"))" grep -q " 0 corrupt" "$TMP/r5"
check "oversized packets went to the stack ($((m1 - m0)) x mtu), which sent the ICMP errors" \
	test $((m1 - m0)) -gt 0
pm=$(cexec ip route get $SERVER4 | grep -o 'mtu [0-9]*')
check "the client learned the path MTU (${pm:-none})" test "$pm" = "mtu 1280"
check "path MTU (IPv4): a new transfer over the 1280-byte link completes intact" \
	tcp_transfer $C $S $SERVER4 5003 20
check "path MTU (IPv6): a new transfer over the 1280-byte link completes intact" \
	tcp_transfer $C $S $SERVER6 5004 20
rexec ip link set wan0 mtu 1500

# --- spoofing: a known 5-tuple arriving on another device --------------------
cexec $TRAFFIC udp-rr $SERVER4 7 20 --sport 40100 --gap 0.01 >/dev/null
wait_for 3 port_flows 40100 1
n0=$(nfo_dev_stat lan1 no_flow)
f0=$(nfo_dev_stat lan1 fwd_packets)
lan1mac=$(rexec cat /sys/class/net/lan1/address)
c2exec $PY -c "
from scapy.all import Ether, IP, UDP, Raw, sendp
sendp(Ether(dst='$lan1mac') / IP(src='$CLIENT4', dst='$SERVER4', ttl=64) /
      UDP(sport=40100, dport=7) / Raw(b'spoof' * 10), iface='eth0', count=50, verbose=False)"
sleep 0.3
n1=$(nfo_dev_stat lan1 no_flow)
f1=$(nfo_dev_stat lan1 fwd_packets)
check "spoofed copies of an offloaded tuple on lan1 missed the fast path ($((n1 - n0)) no_flow)" \
	test $((n1 - n0)) -ge 50
check "... and none was fast-forwarded from lan1 ($((f1 - f0)))" test $((f1 - f0)) -eq 0

# --- a device goes down, comes back; is removed, comes back ------------------
c2exec $TRAFFIC udp-rr $SERVER4 7 20 --sport 40200 --gap 0.01 >/dev/null
check "flow through lan1 offloaded" wait_for 3 port_flows 40200 1
rexec ip link set lan1 down
check "lan1 down: its flows leave the fast path" wait_for 3 port_flows 40200 0
check "lan1 down: one clear log line" wait_for 2 grep -q "lan1: device down; 1 connections back" "$NFO_LOG"
check "lan1 down: the daemon is still running" kill -0 "$NFO_PID"
rexec ip link set lan1 up
wait_for 5 sh -c "ip netns exec $C2 ping -c1 -W1 198.18.3.1 >/dev/null"
c2exec $TRAFFIC udp-rr $SERVER4 7 20 --sport 40201 --gap 0.01 >/dev/null
check "lan1 up again: flows offloaded again" wait_for 3 port_flows 40201 1
rexec ip link del lan1
check "lan1 removed: one clear log line" wait_for 3 grep -q "lan1: device removed" "$NFO_LOG"
check "lan1 removed: its flows are gone" wait_for 3 port_flows 40201 0
check "lan1 removed: the daemon is still running" kill -0 "$NFO_PID"
check "lan1 removed: status says it is gone" sh -c "ip netns exec $R $NFO --pin-dir $PIN status | grep -q 'lan1 .*gone'"
veth "$C2" eth0 "$R" lan1
ip -n "$C2" addr add $CLIENT2_4/24 dev eth0
ip -n "$C2" route add default via 198.18.3.1
ip -n "$R" addr add 198.18.3.1/24 dev lan1
c2exec ethtool -K eth0 gro on >/dev/null 2>&1
check "lan1 recreated: the daemon attaches again" wait_for 3 grep -q "lan1: device is back" "$NFO_LOG"
wait_for 5 sh -c "ip netns exec $C2 ping -c1 -W1 198.18.3.1 >/dev/null"
c2exec $TRAFFIC udp-rr $SERVER4 7 20 --sport 40202 --gap 0.01 >/dev/null
check "lan1 recreated: flows offloaded again" wait_for 3 port_flows 40202 1

# --- many concurrent connections ---------------------------------------------
sexec $TRAFFIC tcp-echo 6000 &
disown
wait_for 5 listening $S 6000
cexec $TRAFFIC tcp-many $SERVER4 6000 1000 --rounds 2 --gate "$TMP/gate" >"$TMP/many" &
mp=$!
check "1000 concurrent TCP connections all offloaded" wait_for 30 flows_at_least 1000
p0=$(nfo_total fwd_packets)
touch "$TMP/gate"
wait $mp
p1=$(nfo_total fwd_packets)
check "all 1000 complete their echoes correctly ($(cat "$TMP/many"))" grep -q " 0 bad" "$TMP/many"
check "the second round went through the fast path ($((p1 - p0)) packets for 1000 echoes)" \
	test $((p1 - p0)) -ge 2000
check "closing them empties the fast path" wait_for 10 flows_at_most 3

nfo_stop
check "nothing left behind" nothing_left
nfo_done
