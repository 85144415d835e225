#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A LAN behind a Linux bridge (br-lan, ports p1 p2 p3; client on p1 with a
# spare link on p3, client2 on p2), a WAN server:
#   - a bridge port given as the device is refused naming the bridge; modes
#     that would offload one direction only are refused; xdp-generic on every
#     device offloads both directions;
#   - masquerade, a port forward, a LAN->WAN DNAT and a port forward with
#     LAN-side masquerade, IPv4/IPv6, br_netfilter on and off: both directions
#     carried by the fast path (per-direction counters of `flows -j`);
#   - explain says when a direction in the map has carried nothing;
#   - a configured device joining and leaving a bridge is not "removed";
#   - a next hop whose MAC changes without a gratuitous ARP/NA (IPv4, IPv6)
#     recovers like the kernel path (gap measured with and without offload);
#   - a client roaming to another bridge port, and changing its MAC, loses no
#     more than on the kernel path.
source "$(dirname "$0")/lib.sh"
GAP="$TRAFFIC gap"
LAN4=198.18.1.2
LAN6=2001:db8:1::2

br_ruleset() {
	rexec nft -f - <<EOF
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related counter accept comment "established"
		iifname "br-lan" oifname "wan0" counter accept
		ct status dnat counter accept
	}
}
table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		iifname "wan0" tcp dport 8080 dnat to $LAN4:80
		iifname "wan0" udp dport 5353 dnat to $LAN4:53
		iifname "wan0" tcp dport 8082 dnat to $LAN4:82
		iifname "br-lan" tcp dport 8081 dnat to $SERVER4:81
		iifname "br-lan" udp dport 5301 dnat to $SERVER4:7
	}
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
		oifname "br-lan" tcp dport 82 masquerade
	}
}
table ip6 nat {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		iifname "wan0" tcp dport 8080 dnat to [$LAN6]:80
		iifname "br-lan" tcp dport 8081 dnat to [$SERVER6]:81
	}
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
EOF
}

br_topology() {
	local ns f
	net_ns "$C" "$C2" "$R" "$S"
	ip -n "$R" link add br-lan type bridge
	veth "$C" eth0 "$R" p1
	veth "$C2" eth0 "$R" p2
	veth "$C" eth1 "$R" p3
	ip -n "$C" link set eth1 down
	for p in p1 p2 p3; do ip -n "$R" link set $p master br-lan; done
	ip -n "$R" link set br-lan up
	veth "$R" wan0 "$S" eth0
	ip -n "$C" addr add $LAN4/24 dev eth0
	ip -n "$C" addr add $LAN6/64 dev eth0 nodad
	ip -n "$C2" addr add 198.18.1.3/24 dev eth0
	ip -n "$C2" addr add 2001:db8:1::3/64 dev eth0 nodad
	for ns in "$C" "$C2"; do
		ip -n "$ns" route add default via 198.18.1.1
		ip -n "$ns" -6 route add default via 2001:db8:1::1
	done
	ip -n "$S" addr add $SERVER4/24 dev eth0
	ip -n "$S" addr add $SERVER6/64 dev eth0 nodad
	ip -n "$S" route add default via $WAN4
	ip -n "$S" -6 route add default via $WAN6
	ip -n "$R" addr add 198.18.1.1/24 dev br-lan
	ip -n "$R" addr add 2001:db8:1::1/64 dev br-lan nodad
	ip -n "$R" addr add $WAN4/24 dev wan0
	ip -n "$R" addr add $WAN6/64 dev wan0 nodad
	rexec sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# Short neighbour timers (the same with and without offload) keep the
	# neighbour and roaming cases to seconds. Without a DELAY period an entry
	# whose reachable time ends goes STALE (not DELAY, which a recent use by
	# the stack allows): the case where nothing but a packet through the
	# stack, or nft-offload's request, starts the probe.
	for d in wan0 br-lan; do
		for f in ipv4 ipv6; do
			rexec sysctl -qw net.$f.neigh.$d.base_reachable_time_ms=1000 \
				net.$f.neigh.$d.delay_first_probe_time=0 \
				net.$f.neigh.$d.retrans_time_ms=300
		done
	done
	# XDP-generic senders must put full checksums.
	for ns in "$C" "$C2" "$S"; do ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null; done
	cexec ethtool -K eth1 tx off >/dev/null
	net_bpffs "$TMP/bpf"
	br_ruleset
	cexec ping -c1 -W2 198.18.1.1 >/dev/null
	c2exec ping -c1 -W2 198.18.1.1 >/dev/null
	sexec ping -c1 -W2 $WAN4 >/dev/null
}

br_topology
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)

# --- devices and modes ------------------------------------------------------

refused() { # refused "DEVICES" "expected words" [run options]
	local devs=$1 want=$2
	shift 2
	NFO_DEVICES=$devs nfo_start "$@" 2>/dev/null && { nfo_stop; return 1; }
	NFO_PID=
	grep -q -- "$want" "$NFO_LOG"
}
check "a bridge port is refused, naming the bridge" \
	refused "p1 wan0" "p1 is a port of bridge br-lan.*give br-lan as the device" --mode tc
check "xdp on a bridge is refused with the reason" \
	refused "br-lan:xdp wan0" "a bridge has no native XDP" --mode tc
check "xdp on the WAN with a bridge in tc mode is refused with the reason" \
	refused "br-lan wan0:xdp" "an XDP redirect cannot enter a bridge" --mode tc

# Both directions of the connection on PORT carried by the fast path while a
# paced transfer runs: print "ORIG REPLY" packets (from flows -j).
dir_packets() { # dir_packets PORT
	nfo flows -j --port "$1" | $PY -c '
import json, sys
f = json.load(sys.stdin)["flows"]
print(*(f[0]["original"]["packets"], f[0]["reply"]["packets"]) if f else (0, 0))'
}

both_dirs() { # both_dirs WHAT FROM_NS TO_NS DST PORT LISTEN_PORT
	local what=$1 from=$2 to=$3 dst=$4 port=$5 lport=$6 r s o p
	ip netns exec "$to" $TRAFFIC tcp-recv "$lport" 1 >"$TMP/recv" &
	r=$!
	wait_for 5 listening "$to" "$lport"
	ip netns exec "$from" $TRAFFIC tcp-send "$dst" "$port" 1 --rate 1 >/dev/null &
	s=$!
	# The last counters seen while the transfer runs (FIN ends the flow).
	o=0 p=0
	while kill -0 $s 2>/dev/null; do
		read -r o2 p2 < <(dir_packets "$port")
		[ "${o2:-0}" -ge "$o" ] && [ "${p2:-0}" -ge "$p" ] && o=${o2:-0} p=${p2:-0}
		sleep 0.2
	done
	wait $s
	if wait $r && [ "$o" -ge 100 ] && [ "$p" -ge 5 ]; then
		pass "$what: intact, fast path original $o / reply $p packets"
	else
		fail "$what: $(cat "$TMP/recv"), fast path original ${o:-?} / reply ${p:-?} packets"
	fi
}

for mode in tc xdp-generic; do
	NFO_DEVICES="br-lan wan0" nfo_start --mode $mode || { fail "$mode: daemon start"; continue; }
	for brnf in 1 0; do
		[ $mode = tc ] || [ $brnf = 1 ] || continue
		rexec sysctl -qw net.bridge.bridge-nf-call-iptables=$brnf \
			net.bridge.bridge-nf-call-ip6tables=$brnf
		t="$mode, br_netfilter $brnf"
		both_dirs "$t: IPv4 masquerade" $C $S $SERVER4 5001 5001
		both_dirs "$t: IPv4 LAN->WAN DNAT" $C $S 198.19.2.99 8081 81
		both_dirs "$t: IPv4 port forward with LAN-side masquerade" $S $C $WAN4 8082 82
		# Where br_netfilter changes nothing, once is enough.
		[ $mode = tc ] && [ $brnf = 1 ] || continue
		both_dirs "$t: IPv4 port forward" $S $C $WAN4 8080 80
		both_dirs "$t: IPv6 masquerade" $C $S $SERVER6 5002 5002
		both_dirs "$t: IPv6 port forward" $S $C $WAN6 8080 80
		both_dirs "$t: IPv6 LAN->WAN DNAT" $C $S 2001:db8:2::99 8081 81
	done
	nfo_stop
done

# --- explain, link events ---------------------------------------------------

NFO_DEVICES="br-lan wan0" nfo_start --mode tc || fail "daemon start"

# A direction keyed after br_netfilter's destination NAT has no key that
# names conntrack's entry: the fast path cannot hold it, the daemon does (its
# first idle check, 10 s after the admission), as on a kernel without
# conntrack's BPF functions.
rexec sysctl -qw net.bridge.bridge-nf-call-iptables=1
sexec $TRAFFIC udp-echo 7 &
wait_for 5 sh -c "ip netns exec $S ss -Hlun 'sport = :7' | grep -q ."
cexec $TRAFFIC udp-rr 198.19.2.99 5301 3 --sport 40301 >/dev/null
t_adm=$EPOCHREALTIME
check "UDP LAN->WAN DNAT through the bridge (br_netfilter 1) offloaded" wait_for 3 port_flows 40301 1
cexec $TRAFFIC udp-rr 198.19.2.99 5301 100 --sport 40301 --gap 0.02 >/dev/null
ct_left() { rexec conntrack -L -p udp --sport 40301 2>/dev/null | awk '{print $3; exit}'; }
n=$(nfo flows -j --port 40301 | $PY -c 'import json,sys; print(sum(x["original"]["packets"] for x in json.load(sys.stdin)["flows"]))')
el=$(awk -v a="$t_adm" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b - a}')
check "... its packets took the fast path ($n), which did not hold conntrack (${el}s after admission: $(ct_left)s left)" \
	test "${n:-0}" -ge 90 -a "$(ct_left)" -le 120
nfo explain udp $LAN4:40301 $SERVER4:7 >"$TMP/explain-hold" 2>&1
check "... and explain says the daemon holds it" \
	grep -q "conntrack_hold .*the daemon holds its conntrack entry" "$TMP/explain-hold"
sexec pkill -f 'udp-echo 7'
# A one-way stream: its reply direction is offloaded but carries nothing.
sexec $GAP recv 7010 4 >/dev/null &
r=$!
cexec $GAP send $SERVER4 7010 3.5 100 &
s=$!
sleep 3
nfo explain udp $LAN4 $SERVER4:7010 >"$TMP/explain" 2>&1
check "explain: a direction that carried 0 packets is named" \
	grep -q "reply direction has carried 0 packets in the fast path since it was offloaded" \
	"$TMP/explain"
wait $s $r
held() { test "$(ct_left)" -gt 3600 2>/dev/null; }
check "the UDP flow after br_netfilter's DNAT: the daemon's first idle check held conntrack (a day)" \
	wait_for 12 held

# A configured device joining and leaving a bridge: AF_BRIDGE port messages
# are not the device going away.
rexec ip link add br-x type bridge
rexec ip link set wan0 master br-x
rexec ip link set wan0 nomaster
rexec ip link del br-x
rexec ip addr add $WAN4/24 dev wan0 2>/dev/null
rexec ip addr add $WAN6/64 dev wan0 nodad 2>/dev/null
sleep 0.3
check "a device joining a bridge is reported as such" grep -q "wan0 joined bridge br-x" "$NFO_LOG"
check "a device leaving a bridge is not reported removed" \
	sh -c "! grep -q 'wan0: device removed' '$NFO_LOG'"
sexec ping -c1 -W2 $WAN4 >/dev/null
nfo_stop

# --- neighbours and roaming: kernel path, then offloaded, same test ---------

n=0
# gap_run LABEL FROM_NS TO_NS DST PORT LISTEN_PORT V6 SECS AT -- EVENT...: a
# paced UDP stream (200/s, SECS s); AT s after it starts, the event runs.
gap_run() {
	local label=$1 from=$2 to=$3 dst=$4 port=$5 lport=$6 v6=$7 secs=$8 at=$9 r s
	shift 10
	n=$((n + 1))
	rexec ip neigh flush dev wan0
	rexec ip -6 neigh flush dev wan0
	ip netns exec "$to" $GAP recv "$lport" $((secs + 2)) ${v6:+--ipv6} >"$TMP/gap.$n" &
	r=$!
	sleep 0.3
	ip netns exec "$from" $GAP send "$dst" "$port" "$secs" 200 &
	s=$!
	sleep "$at"
	"$@"
	wait $s
	wait $r
	say "# $label: $(cat "$TMP/gap.$n")"
	read -r _ _ _ LOST _ GAPS <"$TMP/gap.$n"
}
# The server takes a new MAC without telling (arp_notify/ndisc_notify 0). A
# MAC change flushes its neighbours, permanent ones too: put the router back
# at once, so that no ARP/NS of the server teaches the router its new MAC.
new_mac() {
	sexec ip link set dev eth0 address "02:00:5e:00:00:0$1"
	pin_router
}
pin_router() {
	local wmac
	wmac=$(rexec cat /sys/class/net/wan0/address)
	sexec ip neigh replace $WAN4 lladdr "$wmac" dev eth0 nud permanent
	sexec ip -6 neigh replace $WAN6 lladdr "$wmac" dev eth0 nud permanent
}

# Roaming: the client's MAC and addresses move from eth0 (port p1) to eth1
# (port p3); with arp_notify/ndisc_notify the MAC change announces itself.
roam() {
	local mac
	mac=$(cexec cat /sys/class/net/eth0/address)
	cexec ip link set eth0 down
	cexec ip link set eth1 address "$mac"
	cexec ip addr add $LAN4/24 dev eth1
	cexec ip addr add $LAN6/64 dev eth1 nodad
	cexec ip link set eth1 up
	cexec ip route replace default via 198.18.1.1 dev eth1 onlink
	cexec ip -6 route replace default via 2001:db8:1::1 dev eth1 onlink
}
roam_back() {
	local mac
	mac=$(cexec cat /sys/class/net/eth1/address)
	cexec ip link set eth1 down
	cexec ip addr flush dev eth1
	cexec ip link set eth0 address "$mac"
	cexec ip link set eth0 up
	# IPv6 drops the addresses of a link set down.
	cexec ip addr replace $LAN6/64 dev eth0 nodad
	cexec ip route replace default via 198.18.1.1 dev eth0 onlink
	cexec ip -6 route replace default via 2001:db8:1::1 dev eth0 onlink
}
client_mac() { # client_mac N: a new MAC on the client's current link, announced
	local d=eth0
	cexec ip link show eth0 | grep -q "state UP" || d=eth1
	cexec sysctl -qw net.ipv4.conf.$d.arp_notify=1 net.ipv6.conf.$d.ndisc_notify=1
	cexec ip link set dev $d address "02:00:5e:00:01:0$1"
}

sexec sysctl -qw net.ipv4.conf.eth0.arp_notify=0 net.ipv6.conf.eth0.ndisc_notify=0
# Only the router's own resolution of the server may learn its new MAC.
pin_router
declare -A G L
for run in kernel offload; do
	if [ $run = offload ]; then
		NFO_DEVICES="br-lan wan0" nfo_start --mode tc || fail "daemon start"
	fi
	k=1
	[ $run = kernel ] || k=3
	# The MAC changes once the neighbour has been confirmed again after the
	# stack's last use of it (so the fast path alone carries the flow).
	gap_run "$run: server MAC change, IPv4" $C $S $SERVER4 7020 7020 "" 8 4 -- new_mac $k
	G[$run.v4]=$GAPS
	gap_run "$run: server MAC change, IPv6" $C $S $SERVER6 7021 7021 v6 8 4 -- \
		new_mac $((k + 1))
	G[$run.v6]=$GAPS
	gap_run "$run: client roams p1 -> p3" $S $C $WAN4 5353 53 "" 4 2 -- roam
	L[$run.roam]=$LOST
	gap_run "$run: client changes MAC (announced)" $S $C $WAN4 5353 53 "" 4 2 -- client_mac $k
	L[$run.mac]=$LOST
	roam_back
done
fwd=$(nfo_total fwd_packets)
nfo_stop
# Both paths recover at the first failed probe of the kernel's NUD cycle
# (reachable 0.5-1.5 s here, probes 0.9 s), wherever in that cycle the MAC
# changed: the offloaded gap within one cycle of the kernel's, and never the
# whole remaining 4 s of the stream.
within() {
	$PY -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(not (a <= b + 1.5 and a < 3))' \
		"$1" "$2"
}
check "IPv4 next hop MAC change: offloaded gap ${G[offload.v4]} s, kernel ${G[kernel.v4]} s" \
	within "${G[offload.v4]}" "${G[kernel.v4]}"
check "IPv6 next hop MAC change: offloaded gap ${G[offload.v6]} s, kernel ${G[kernel.v6]} s" \
	within "${G[offload.v6]}" "${G[kernel.v6]}"
check "roaming p1 -> p3: offloaded lost ${L[offload.roam]}, kernel ${L[kernel.roam]} (of 800)" \
	test "${L[offload.roam]}" -le $((${L[kernel.roam]} + 40))
check "client MAC change: offloaded lost ${L[offload.mac]}, kernel ${L[kernel.mac]} (of 800)" \
	test "${L[offload.mac]}" -le $((${L[kernel.mac]} + 40))
check "the offloaded runs took the fast path ($fwd packets)" test "$fwd" -ge 3500

nfo_done
