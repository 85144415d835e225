#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The skb priority of a forwarded packet: ip_forward() sets it from the IPv4
# TOS (net.ipv4.ip_forward_update_priority, 1 by default), and the egress
# qdisc may pick its band by it (pfifo_fast, prio, mqprio); IPv6 forwarding
# leaves it. Offloaded packets must leave with the priority the kernel path
# gives them: counted by priority at the router's wan0 egress, kernel path
# and tc mode side by side. (XDP frames have no skb and skip the qdisc.)
source "$(dirname "$0")/lib.sh"

need_built prio_count.bpf.o
COUNT=$ROOT/build/tests/prio_count.bpf.o
nfo_topology
sexec $TRAFFIC udp-echo 7 &
wait_for 5 udp_listening "$S" 7
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
rexec tc qdisc add dev wan0 clsact
rexec tc filter add dev wan0 egress bpf da obj "$COUNT" sec tc

# Datagrams to port 7 that left wan0, by priority: "p0 p1 ... p7".
by_prio() {
	local id
	id=$(rexec bpftool -j prog show name prio_count | jq '.map_ids[0]')
	# tc loads it without BTF: the value comes as raw bytes, 8 x u64 LE.
	rexec bpftool -j map dump id "$id" | $PY -c '
import json, sys
b = bytes(int(x, 16) for x in json.load(sys.stdin)[0]["value"])
print(" ".join(str(int.from_bytes(b[i:i + 8], "little")) for i in range(0, 64, 8)))'
}

# send DST SPORT TOS N: N echo rounds from SPORT with that TOS / traffic class.
send() {
	cexec $PY -c '
import socket, sys
dst, sport, tos, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 0), int(sys.argv[4])
v6 = ":" in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP,
             socket.IPV6_TCLASS if v6 else socket.IP_TOS, tos)
s.bind(("", sport))
s.settimeout(2)
for i in range(n):
    s.sendto(b"prio %d" % i, (dst, 7))
    s.recv(100)' "$@"
}

sp=42000
# Then with net.ipv4.ip_forward_update_priority 0: the kernel leaves the
# priority alone, and so must the fast path (the daemon reads it at start).
for mode in kernel tc kernel-sysctl0 tc-sysctl0; do
	cases="$SERVER4 0x10 6,$SERVER4 0xb8 4,$SERVER4 0x08 2,$SERVER6 0x10 0"
	case $mode in *-sysctl0)
		rexec sysctl -qw net.ipv4.ip_forward_update_priority=0
		cases="$SERVER4 0x10 0,$SERVER4 0xb8 0" ;;
	esac
	case $mode in tc*) nfo_start --mode tc || { fail "$mode: daemon start"; continue; } ;; esac
	IFS=, read -r -a tcases <<<"$cases"
	for t in "${tcases[@]}"; do
		read -r dst tos want <<<"$t"
		check "$mode: flow from port $sp (TOS $tos) answered" send $dst $sp $tos 5
		if [ "${mode%-sysctl0}" = tc ]; then
			check "$mode: port $sp offloaded" wait_for 5 port_flows $sp 1
			f0=$(nfo_total fwd_packets)
		fi
		read -r -a b0 <<<"$(by_prio)"
		send $dst $sp $tos 50
		read -r -a b1 <<<"$(by_prio)"
		check "$mode: TOS $tos to $dst: 50 datagrams left with priority $want ($((b1[want] - b0[want])); by priority before ${b0[*]}, after ${b1[*]})" \
			test $((b1[want] - b0[want])) -eq 50
		if [ "${mode%-sysctl0}" = tc ]; then
			f1=$(nfo_total fwd_packets)
			check "$mode: ... through the fast path ($((f1 - f0)) packets)" test $((f1 - f0)) -ge 100
		fi
		sp=$((sp + 1))
	done
	case $mode in tc*) nfo_stop ;; esac
done
rexec tc qdisc del dev wan0 clsact
check "nothing left behind" nothing_left
nfo_done
