#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# VLAN-tagged frames carrying the tuple of an offloaded flow. The router has
# no VLAN device, so its kernel path drops them (another host's frames); on a
# router with one they would belong to that VLAN's device and rules, not to
# the flow. A driver may take the tag out of the frame before XDP runs (veth
# keeps the one its peer sent beside the frame; so do NICs with
# rx-vlan-offload): the fast path must still not forward them, in tc and XDP
# mode, IPv4 and IPv6, as the kernel path without nft-offload does not.
source "$(dirname "$0")/lib.sh"

need_built vlan_push.bpf.o
PUSH=$ROOT/build/tests/vlan_push.bpf.o
nfo_topology
sexec $TRAFFIC udp-echo 7 &
wait_for 5 udp_listening "$S" 7
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)

# tagged DST SPORT: how many of 20 datagrams from the client's SPORT, sent
# with VLAN tag 10, reached the server.
tagged() {
	rm -f "$TMP/sniffing"
	sexec $PY -c '
import sys
from scapy.all import sniff, Raw
p = sniff(iface="eth0", filter="udp dst port 7", timeout=1.2,
          lfilter=lambda x: Raw in x and bytes(x[Raw]).startswith(b"TAGGED"),
          started_callback=lambda: open(sys.argv[1], "w").close())
print(len(p))' "$TMP/sniffing" >"$TMP/seen" &
	local sn=$!
	wait_for 10 test -e "$TMP/sniffing"
	cexec tc qdisc add dev eth0 clsact
	cexec tc filter add dev eth0 egress bpf da obj "$PUSH" sec tc
	cexec $PY -c '
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[2])))
for i in range(20):
    s.sendto(b"TAGGED %d" % i, (sys.argv[1], 7))
    time.sleep(0.005)' "$1" "$2"
	cexec tc qdisc del dev eth0 clsact
	wait $sn
	cat "$TMP/seen"
}

sp=41000
for mode in kernel tc xdp; do
	if [ $mode = xdp ]; then
		# XDP sees no checksum state: senders must put full checksums.
		for ns in $C $S; do ip netns exec $ns ethtool -K eth0 tx off >/dev/null; done
	fi
	if [ $mode = xdp ]; then
		# A driver without the VLAN hook: tap. A frame now and then, from
		# its file descriptor, runs its XDP program.
		rexec $PY -c '
import fcntl, os, struct, subprocess, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"tap0", 0x0002 | 0x1000))  # TUNSETIFF, TAP, NO_PI
subprocess.run(["ip", "link", "set", "tap0", "up"], check=True)
frame = bytes.fromhex("ffffffffffff020000000009" "0806") + bytes(46)
while True:
    os.write(fd, frame)
    time.sleep(0.1)' &
		wait_for 5 rexec ip link show tap0 up
	fi
	if [ $mode != kernel ]; then
		NFO_DEVICES="lan0 lan1 wan0${mode/#xdp/ tap0}"
		NFO_DEVICES=${NFO_DEVICES/%tc/} nfo_start --mode $mode ||
			{ fail "$mode: daemon start"; continue; }
	fi
	for dst in $SERVER4 $SERVER6; do
		fam=IPv4
		[ "$dst" = "$SERVER6" ] && fam=IPv6
		check "$mode: $fam UDP flow from port $sp answered" \
			cexec $TRAFFIC udp-rr $dst 7 20 --gap 0.01 --sport $sp
		if [ $mode != kernel ]; then
			check "$mode: $fam flow offloaded" wait_for 5 port_flows $sp 1
			n0=$(nfo_dev_stat lan0 not_ip)
		fi
		seen=$(tagged $dst $sp)
		check "$mode: $fam: no tagged datagram of its tuple reached the server ($seen of 20)" \
			test "$seen" = 0
		if [ $mode != kernel ]; then
			n1=$(nfo_dev_stat lan0 not_ip)
			check "$mode: $fam: the fast path passed them to the stack ($((n1 - n0)) x not_ip on lan0)" \
				test $((n1 - n0)) -ge 20
			f0=$(nfo_total fwd_packets)
			check "$mode: $fam: the flow still answers untagged" \
				cexec $TRAFFIC udp-rr $dst 7 20 --gap 0.01 --sport $sp
			f1=$(nfo_total fwd_packets)
			check "$mode: $fam: ... through the fast path ($((f1 - f0)) packets)" \
				test $((f1 - f0)) -ge 40
		fi
		sp=$((sp + 1))
	done
	if [ $mode = xdp ]; then
		check "xdp: the daemon says lan0's program sees tags the driver took out" \
			grep -q "lan0: attached (xdp).*VLAN tag the driver took out go to the stack" "$NFO_LOG"
		vlan_tags() { # the devices whose XDP program sees VLAN tags taken out
			nfo status -j | $PY -c 'import json, sys
print(" ".join(x["name"] for x in json.load(sys.stdin)["devices"] if x["xdp_vlan_tags"]))'
		}
		check "xdp: status says so for the veths, not for tap0, whose driver cannot say ($(vlan_tags))" \
			test "$(vlan_tags)" = "lan0 lan1 wan0"
		check "xdp: status notes it for tap0" sh -c "nfo_status() { ip netns exec $R $NFO --pin-dir $PIN status; };
			nfo_status | grep -q 'tap0 .*note: its driver cannot tell frames whose VLAN tag'"
	fi
	[ $mode = kernel ] || nfo_stop
done
check "nothing left behind" nothing_left
nfo_done
