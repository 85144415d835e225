#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A blind RST from the WAN: someone who knows an offloaded connection's
# 4-tuple but not its sequence numbers sends a reset. The end host ignores it
# (out of window); conntrack, liberal while the connection is offloaded,
# would take it as the end. The fast path must drop it, and the connection
# must keep working. A genuine RST (an abortive close) must still end the
# flow.
source "$(dirname "$0")/lib.sh"

nfo_topology
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
# A closed conntrack entry goes away after 2 s instead of 10: a connection
# that conntrack wrongly closed dies within the test.
rexec sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close=2
sexec $TRAFFIC tcp-echo 7007 &
wait_for 5 listening "$S" 7007

ct_state() { # ct_state PORT: conntrack's TCP state of the connection to PORT
	rexec conntrack -L -p tcp --dport "$1" 2>/dev/null | awk '{ print $4; exit }'
}
ct_state_is() { [ "$(ct_state "$1")" = "$2" ]; }

# One connection, echo rounds gated by files: round 0 now, the others when
# the test says. It starts before nft-offload and is offloaded while quiet
# (marked by hand, found by a resync), so that conntrack sees none of its
# packets after admission: its own RST check (armed by the highest ACK it
# saw, which admission clears) stays off, as it does whenever the last
# packets before admission do not cross it.
G=$TMP/gate
cexec $TRAFFIC tcp-many $SERVER4 7007 1 --rounds 3 --gate "$G" >"$TMP/many" &
mp=$!
wait_for 5 test -e "$G.done0"
# Marks set by hand through ctnetlink: trusted for this test (see HA pair).
nfo_start --mode tc --trust-netlink-marks || exit 1
sleep 0.5
sp=$(rexec conntrack -L -p tcp --dport 7007 2>/dev/null | sed -n 's/.*sport=\([0-9]*\) dport=7007 .*/\1/p')
rexec conntrack -U -s $CLIENT4 -d $SERVER4 -p tcp --sport "$sp" --dport 7007 --mark 0xc0000000 \
	>/dev/null 2>&1
kill -USR1 "$NFO_PID"
check "the connection is offloaded" wait_for 5 port_flows 7007 1

# Learn the server's sequence number from one of its segments (round 1), to
# send the reset surely out of window, as a blind sender's guess would be.
sexec $PY -c '
import sys
from scapy.all import sniff, TCP
p = sniff(iface="eth0", filter="tcp src port 7007 and tcp[13] & 0x18 != 0", count=1, timeout=10,
          started_callback=lambda: open(sys.argv[1], "w").close())
print(p[0][TCP].seq, p[0][TCP].dport) if p else print("none")' "$TMP/sniffing" >"$TMP/seg" &
sn=$!
wait_for 10 test -e "$TMP/sniffing"
touch "$G"
wait $sn
wait_for 5 test -e "$G.done1"
read -r seq natport <"$TMP/seg"
check "a server segment was seen (seq $seq, port $natport)" test "$seq" != none

b0=$(nfo_total tcp_rst_blind)
f0=$(nfo_total tcp_fin_rst)
sexec $PY -c '
import sys
from scapy.all import IP, TCP, send
seq, port = int(sys.argv[1]), int(sys.argv[2])
for off in (1 << 30, 1 << 31, 3 << 30):  # three guesses, each far out of window
    send(IP(src=sys.argv[3], dst=sys.argv[4]) /
         TCP(sport=7007, dport=port, flags="R", seq=(seq + off) & 0xffffffff), verbose=False)
' "$seq" "$natport" $SERVER4 $WAN4
sleep 0.5
b1=$(nfo_total tcp_rst_blind)
f1=$(nfo_total tcp_fin_rst)
check "the blind RSTs were dropped and counted ($((b1 - b0)) x tcp_rst_blind)" test $((b1 - b0)) -eq 3
check "no teardown for them ($((f1 - f0)) x tcp_fin_rst)" test $((f1 - f0)) -eq 0
check "conntrack still says ESTABLISHED (now $(ct_state 7007))" ct_state_is 7007 ESTABLISHED
check "the connection is still offloaded" port_flows 7007 1

# Segments with none of ACK, SYN and RST (no flags; URG alone), in the
# window: conntrack calls them invalid whatever its window tracking, so the
# kernel path does not reverse the NAT for them and they never reach the
# client. The fast path must leave them to the stack, and keep the flow.
rm -f "$TMP/sniffing"
cexec $PY -c '
import sys
from scapy.all import sniff
p = sniff(iface="eth0", filter="tcp src port 7007 and tcp[13] & 0x16 == 0", timeout=3,
          started_callback=lambda: open(sys.argv[1], "w").close())
print(len(p))' "$TMP/sniffing" >"$TMP/invalid-seen" &
sn=$!
wait_for 10 test -e "$TMP/sniffing"
t0=$(nfo_total tcp_flags)
sexec $PY -c '
import sys
from scapy.all import IP, TCP, send
seq, port = int(sys.argv[1]), int(sys.argv[2])
for fl in ("", "U"):
    send(IP(src=sys.argv[3], dst=sys.argv[4]) / TCP(sport=7007, dport=port, flags=fl, seq=seq),
         verbose=False)
' "$seq" "$natport" $SERVER4 $WAN4
wait $sn
t1=$(nfo_total tcp_flags)
check "the flagless and URG-only segments went to the stack ($((t1 - t0)) x tcp_flags)" \
	test $((t1 - t0)) -eq 2
check "none reached the client, as without offload ($(cat "$TMP/invalid-seen") seen)" \
	test "$(cat "$TMP/invalid-seen")" = 0
check "the connection is still offloaded after them" port_flows 7007 1
# Past the close timeout: a connection conntrack had closed would be gone.
sleep 3
check "conntrack still says ESTABLISHED 3 s later (now $(ct_state 7007))" ct_state_is 7007 ESTABLISHED
touch "$G"
wait $mp
check "data still flows afterwards ($(cat "$TMP/many"))" grep -q " 0 bad echoes" "$TMP/many"

# A genuine RST: the client aborts (SO_LINGER 0) after echo rounds in the
# fast path, the RST carries exactly the sequence number the server expects:
# it passes and ends the flow.
cexec $PY -c '
import socket, struct, sys, time
c = socket.create_connection((sys.argv[1], 7007), timeout=5)
def rounds(n, b):
    for i in range(n):
        c.sendall(b * 100)
        got = b""
        while len(got) < 100:
            got += c.recv(100 - len(got))
rounds(3, b"x")
open(sys.argv[2], "w").write("%d\n" % c.getsockname()[1])
# Rounds back to back while it is admitted: conntrack sees the last ones
# before the map writes, the fast path those after.
t0 = time.monotonic()
while not __import__("os").path.exists(sys.argv[2] + ".go") and time.monotonic() - t0 < 20:
    rounds(1, b"w")
rounds(3, b"y")  # offloaded: rounds conntrack does not see
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
' $SERVER4 "$TMP/abort" &
ap=$!
wait_for 5 test -e "$TMP/abort"
check "a second connection is offloaded" wait_for 5 port_flows 7007 1
f0=$(nfo_total tcp_fin_rst)
b0=$(nfo_total tcp_rst_blind)
touch "$TMP/abort.go"
wait $ap
# Conntrack must take it as the end at once: CLOSE, reported, and the flow
# evicted on that report within milliseconds. Had conntrack kept the entry
# ESTABLISHED (its RST check armed by an ACK it saw after admission, which
# the fast path's packets then left behind), the flow would only leave on the
# fast path's teardown, 1-2 s later, and conntrack would show ESTABLISHED
# until the close timeout.
# (Its own port: the first connection, which reports no conntrack events,
# leaves on its teardown.)
gone_soon() { # gone_soon PORT: no flow of PORT within half a second
	local i
	for i in 1 2 3 4 5; do
		port_flows "$1" 0 && return 0
		sleep 0.1
	done
	return 1
}
read -r asp <"$TMP/abort"
check "the genuine RST ended the flow at once" gone_soon "$asp"
st=$(rexec conntrack -L -p tcp --sport "$asp" --dport 7007 2>/dev/null | awk '{ print $4; exit }')
check "conntrack saw it: the connection is in CLOSE (now ${st:-gone})" test "$st" = CLOSE
f1=$(nfo_total tcp_fin_rst)
b1=$(nfo_total tcp_rst_blind)
check "it was passed to the stack ($((f1 - f0)) x tcp_fin_rst, $((b1 - b0)) x tcp_rst_blind)" \
	test $((f1 - f0)) -eq 1 -a $((b1 - b0)) -eq 0

nfo_stop
check "nothing left behind" nothing_left
nfo_done
