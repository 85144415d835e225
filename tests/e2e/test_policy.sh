#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Policy routing on a two-WAN router: ip rules by fwmark (the mark set in
# prerouting by destination port, or restored from the ct mark as mwan3
# does), by source, by input device and by destination port; masquerade on
# both WANs (client), no NAT (client2). Each flow runs first on the kernel
# path alone, then with nft-offload: the offloaded packets must leave through
# the device the kernel used, with its address (the server counts packets
# by input device and source), and the fast path must carry them.
source "$(dirname "$0")/lib.sh"

nfo_topology
nfo_add_wan1
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)

DST=198.19.9.9 # a server address behind both WANs (not a connected route)
DST6=2001:db8:9::9
sexec ip addr add $DST/32 dev lo
sexec ip addr add $DST6/128 dev lo
for a in 2001:db8:2::1 2001:db8:4::1; do # the router's WAN addresses
	sexec ip -6 route add $a/128 dev eth$([ $a = 2001:db8:2::1 ] && echo 0 || echo 1) src $DST6
done
# The UDP echo answers from DST: make it the server's preferred source.
sexec ip route change 198.19.2.0/24 dev eth0 proto kernel scope link src $DST
sexec ip route change 198.19.3.0/24 dev eth1 proto kernel scope link src $DST
sexec ip route change default via $WAN4 dev eth0 src $DST
sexec ip route add 198.18.3.0/24 via 198.19.3.1 src $DST # client2 (no NAT): back via wan1
rexec ip route add default via $SERVER4 dev wan0
rexec ip route add default via 198.19.3.2 dev wan1 table 200
rexec ip -6 route add default via $SERVER6 dev wan0
rexec ip -6 route add default via 2001:db8:4::2 dev wan1 table 200
rexec nft -f - <<EOF
add rule inet filter forward iifname { "lan0", "lan1" } oifname "wan1" counter accept
insert rule ip nat postrouting ip saddr 198.18.3.0/24 accept
add rule ip nat postrouting oifname "wan1" masquerade
add rule ip6 nat postrouting oifname "wan1" masquerade
table inet pol {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		# mwan3's pattern: the first packet picks the WAN in the ct mark,
		# every packet restores it. The low byte only: nft-offload keeps
		# its own bits in the ct mark's high bits.
		iifname { "lan0", "lan1" } ct state new udp dport 5002 ct mark set ct mark or 0x2
		meta mark set ct mark and 0xff
		iifname { "lan0", "lan1" } udp dport 5001 meta mark set 2
		iifname { "lan0", "lan1" } tcp dport 5003 meta mark set 2
	}
}
EOF
# What the server receives, by input device and source address.
{
	echo "table inet obs {"
	echo "chain in {"
	echo "type filter hook input priority 0;"
	for i in eth0 eth1; do
		for a in 198.19.2.1 198.19.3.1 $CLIENT2_4; do
			echo "iifname $i ip saddr $a counter comment \"$i/$a\""
		done
		for a in 2001:db8:2::1 2001:db8:4::1; do
			echo "iifname $i ip6 saddr $a counter comment \"$i/$a\""
		done
	done
	echo "}"
	echo "}"
} | sexec nft -f -
for p in 5000 5001 5002 5005; do
	sexec $TRAFFIC udp-echo $p &
	disown
done
listening_udp() { sexec ss -Hlun "sport = :$1" | grep -q .; }
wait_for 5 listening_udp 5005

seen() { ns_rule_packets "$S" "$1"; }
explain_says() { nfo explain udp "$1" "$2" | grep -q "$3"; }
# udp_kernel_only NS DST DPORT SPORT: delivered, and not offloaded.
udp_kernel_only() {
	local out
	out=$(ip netns exec "$1" $TRAFFIC udp-rr "$2" "$3" 50 --sport "$4" --gap 0.002 --timeout 0.5)
	check "kernel path delivers ($out)" test "$out" = "udp-rr: 50/50 replies intact"
	check "not offloaded" port_flows "$4" 0
}

# flow LABEL NS DPORT SPORT DEV SRC MODE: 100 UDP request/replies from NS to
# DST:DPORT; the requests must leave through DEV and reach the server from
# SRC (masquerade address or the client's own); MODE kernel or offload.
flow() {
	local label=$1 ns=$2 dport=$3 sport=$4 dev=$5 src=$6 mode=$7 other srv f0 f1
	local t0 t1 o0 o1 s0 s1 out
	other=wan0
	[ "$dev" = wan0 ] && other=wan1
	srv=eth${dev#wan}
	t0=$(tx_packets "$dev")
	o0=$(tx_packets "$other")
	s0=$(seen "$srv/$src")
	f0=$([ "$mode" = offload ] && nfo_total fwd_packets || echo 0)
	out=$(ip netns exec "$ns" $TRAFFIC udp-rr "${FLOW_DST:-$DST}" "$dport" 100 --sport "$sport" --gap 0.002 --timeout 0.5)
	t1=$(tx_packets "$dev")
	o1=$(tx_packets "$other")
	s1=$(seen "$srv/$src")
	f1=$([ "$mode" = offload ] && nfo_total fwd_packets || echo 0)
	check "$mode: $label: $out" test "$out" = "udp-rr: 100/100 replies intact"
	check "$mode: $label: $((t1 - t0)) packets out of $dev, $((o1 - o0)) out of $other" \
		test $((t1 - t0)) -ge 100 -a $((o1 - o0)) -lt 5
	check "$mode: $label: the server got $((s1 - s0)) from $src on $srv" test $((s1 - s0)) -ge 100
	if [ "$mode" = offload ]; then
		check "offload: $label: $((f1 - f0)) packets through the fast path" \
			test $((f1 - f0)) -ge 150
	fi
}

# IPv6 without suppress_prefixlength: the fast path cannot follow it (below).
rules_fwmark() {
	rexec ip rule add lookup main suppress_prefixlength 0 pref 100
	rexec ip rule add fwmark 2 lookup 200 pref 200
	rexec ip -6 rule add fwmark 2 lookup 200 pref 200
}
rules_source() {
	rexec ip rule add from $CLIENT4 lookup 200 pref 200
	rexec ip rule add from $CLIENT2_4 lookup 200 pref 201
}
rules_iif() { rexec ip rule add iif lan1 lookup 200 pref 200; }
rules_dport() { rexec ip rule add ipproto udp dport 5005 lookup 200 pref 200; }
rules_flush() {
	local p
	for p in 100 200 201; do
		rexec ip rule del pref $p 2>/dev/null
		rexec ip -6 rule del pref $p 2>/dev/null
	done
}

# Every phase on the kernel path first, then with nft-offload (sport base).
phases() {
	local mode=$1 b=$2
	rules_fwmark
	flow "fwmark by dport, masquerade" $C 5001 $((b + 1)) wan1 198.19.3.1 $mode
	flow "ct mark restored (mwan3), masquerade" $C 5002 $((b + 2)) wan1 198.19.3.1 $mode
	flow "unmarked, masquerade" $C 5000 $((b + 3)) wan0 198.19.2.1 $mode
	flow "fwmark by dport, no NAT" $C2 5001 $((b + 4)) wan1 $CLIENT2_4 $mode
	FLOW_DST=$DST6 flow "IPv6 fwmark by dport, masquerade" $C 5001 $((b + 11)) wan1 2001:db8:4::1 $mode
	FLOW_DST=$DST6 flow "IPv6 unmarked, masquerade" $C 5000 $((b + 12)) wan0 2001:db8:2::1 $mode
	rules_flush
	rules_source
	flow "from CLIENT, masquerade" $C 5000 $((b + 5)) wan1 198.19.3.1 $mode
	flow "from CLIENT2, no NAT" $C2 5000 $((b + 6)) wan1 $CLIENT2_4 $mode
	rules_flush
	rules_iif
	flow "iif lan1, no NAT" $C2 5000 $((b + 7)) wan1 $CLIENT2_4 $mode
	flow "iif lan0 (main), masquerade" $C 5000 $((b + 8)) wan0 198.19.2.1 $mode
	rules_flush
	rules_dport
	flow "ipproto udp dport 5005, masquerade" $C 5005 $((b + 9)) wan1 198.19.3.1 $mode
	flow "other dport (main), masquerade" $C 5000 $((b + 10)) wan0 198.19.2.1 $mode
	rules_flush
}

phases kernel 41000
NFO_DEVICES="lan0 lan1 wan0 wan1" nfo_start || exit 1
phases offload 42000

# A TCP transfer routed by fwmark, offloaded, intact, out of wan1.
rules_fwmark
t0=$(tx_packets wan1)
o0=$(tx_packets wan0)
f0=$(nfo_total fwd_packets)
check "offload: TCP by fwmark: 8 MB intact" tcp_transfer $C $S $DST 5003 8
t1=$(tx_packets wan1)
o1=$(tx_packets wan0)
f1=$(nfo_total fwd_packets)
check "offload: TCP by fwmark: $((t1 - t0)) packets out of wan1, $((o1 - o0)) out of wan0" \
	test $((t1 - t0)) -ge 100 -a $((o1 - o0)) -lt 5
check "offload: TCP by fwmark: $((f1 - f0)) packets through the fast path" test $((f1 - f0)) -ge 1000

# Rules the fast path cannot follow: the family's marked connections stay on
# the kernel path, and explain says why. IPv4: a tunnel id selector; IPv6:
# suppress_prefixlength (ignored by the kernel's IPv6 lookup for BPF).
rexec ip rule add tun_id 7 lookup 300 pref 300
rexec ip -6 rule add lookup main suppress_prefixlength 0 pref 100
wait_for 3 grep -q "suppress_prefixlength" "$NFO_LOG"
say "# IPv4, tunnel id rule"
udp_kernel_only $C $DST 5001 43001
check "tunnel id rule: explain says why" explain_says $CLIENT4:43001 $DST:5001 "tunnel id"
say "# IPv6, suppress_prefixlength rule"
udp_kernel_only $C $DST6 5001 43002
check "IPv6 suppress rule: explain says why" explain_says "[$CLIENT6]:43002" "[$DST6]:5001" "suppress_prefixlength"
rexec ip rule del pref 300
rules_flush

nfo_stop
nfo_done
