#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Malformed and random packets of an offloaded flow through the router, with
# the fast path on and then off: the server must receive exactly the same
# frames both times, whole (an Ethernet trailer the kernel cuts must be cut). Whatever the fast path takes must be what the kernel
# would have forwarded, byte for byte; whatever it does not understand must
# reach the stack unchanged.
source "$(dirname "$0")/lib.sh"
N=${NFO_FUZZ_PACKETS:-1500}
SEED=${NFO_FUZZ_SEED:-$RANDOM}
FZ="$PY $ROOT/tests/e2e/fuzz_packets.py"

nfo_topology
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
lanmac=$(rexec cat /sys/class/net/lan0/address)
say "# fuzz seed $SEED, $N packets"
$FZ gen "$TMP/fuzz.pcap" "$N" "$SEED" "$lanmac" $CLIENT4 40700 $SERVER4 7

capture() { # capture OUT: what arrives at the server while the fuzz is sent
	# Not through sexec: $! must be tcpdump itself, to stop it with SIGINT.
	ip netns exec "$S" tcpdump -Z root -i eth0 -Q in -U -nn -w "$1" ip 2>/dev/null &
	local tp=$!
	sleep 1
	cexec $FZ send "$TMP/fuzz.pcap" eth0
	sleep 1
	kill -INT $tp
	wait $tp 2>/dev/null
}

# XDP cannot finish partial checksums of local senders.
for ns in $C $S; do ip netns exec $ns ethtool -K eth0 tx off >/dev/null; done
# The client's link takes a 1500-byte IP packet with a trailer; wan0 keeps 1500.
cexec ip link set eth0 mtu 1600
rexec ip link set lan0 mtu 1600

for mode in tc xdp; do
	nfo_start --mode $mode || exit 1
	# The flow needs a reply to be offloaded; then the echo goes away, so
	# that the fuzz is not echoed back into the router (whose own answers
	# would differ between runs in their IP ids).
	sexec $TRAFFIC udp-echo 7 &
	ep=$!
	wait_for 3 sh -c "ip netns exec $S ss -Hlun 'sport = :7' | grep -q ."
	cexec $TRAFFIC udp-rr $SERVER4 7 5 --sport 40700 >/dev/null
	check "$mode: the flow is offloaded" wait_for 3 port_flows 40700 1
	kill $ep 2>/dev/null
	sexec pkill -f 'udp-echo 7'
	wait $ep 2>/dev/null
	f0=$(nfo_total fwd_packets)
	capture "$TMP/with.pcap"
	f1=$(nfo_total fwd_packets)
	check "$mode: the fast path forwarded part of the fuzz ($((f1 - f0)) packets)" test $((f1 - f0)) -gt 0
	check "$mode: the daemon survived" kill -0 "$NFO_PID"
	nfo_stop
	# The same packets through the kernel alone (the flow handed back).
	capture "$TMP/without.pcap"
	check "$mode: the server received the same frames with and without offload" \
		$FZ compare "$TMP/with.pcap" "$TMP/without.pcap"
	check "$mode: Ethernet trailers cut, with offload" \
		$FZ trailers "$TMP/with.pcap"
done
check "nothing left behind" nothing_left
nfo_done
