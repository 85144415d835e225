#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The daemon's contract with the ruleset and with conntrack: the ruleset
# decides, selectors select, conntrack stays consistent (kept alive, aged after
# idle, FIN/RST seen, no INVALID), ruleset changes re-validate live flows,
# restarts keep traffic flowing, stop leaves nothing, lost events resync.
source "$(dirname "$0")/lib.sh"

nfo_topology
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
sexec $TRAFFIC udp-echo 7 --log "$TMP/echo7.log" &
sexec $TRAFFIC udp-echo 9999 &
disown -a
# Rules the tests observe: port 7 counted before the established accept; port
# 9999 dropped by the ruleset.
rexec nft insert rule inet filter forward udp dport 7 counter comment '"udp7"'
rexec nft insert rule inet filter forward udp dport 9999 drop

ct_mark_of() { # conntrack mark of the UDP flow to server port $1
	rexec conntrack -L -p udp --dport "$1" 2>/dev/null | grep -o 'mark=[0-9]*' | head -1 | cut -d= -f2
}
ct_timeout_of() { # seconds left of the conntrack entry to server port $1
	rexec conntrack -L -p udp --dport "$1" 2>/dev/null | awk '{print $3; exit}'
}

# --- a connection older than the daemon --------------------------------------
# Conntrack reports events only for entries created while an event listener
# existed: this one never will. The daemon's catch-up dumps find it.
cexec $TRAFFIC udp-rr $SERVER4 7 2 --sport 40050 >/dev/null
nfo_start || exit 1
cexec $TRAFFIC udp-rr $SERVER4 7 250 --sport 40050 --gap 0.02 >/dev/null &
rr=$!
check "a connection from before the daemon is offloaded too (catch-up)" wait_for 8 port_flows 40050 1
check "while it runs, conntrack reports every new connection (nf_conntrack_events 1)" \
	test "$(rexec cat /proc/sys/net/netfilter/nf_conntrack_events)" = 1
wait $rr

# --- the table's size: conntrack's limit --------------------------------------
# No --flows: the table holds what conntrack can (nf_conntrack_max, host-wide;
# at least 16k, 1M without a limit), and says so when the limit rises above it.
ct_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
want=$ct_max
[ "$ct_max" -ge 16384 ] || want=16384
[ "$ct_max" != 0 ] || want=1048576
cap=$(nfo status -j | $PY -c 'import json,sys; print(json.load(sys.stdin)["flows"]["capacity"])')
check "no flows set: capacity $cap per family, conntrack's limit $ct_max" test "$cap" = "$want"
check "the start says where the capacity came from" grep -q "capacity $cap connections per family (conntrack's limit\|capacity $cap connections per family (the " "$NFO_LOG"
if [ "$ct_max" != 0 ]; then
	NFO_CT_MAX_RESTORE=$ct_max
	sysctl -qw net.netfilter.nf_conntrack_max=$((cap + 1))
	check "conntrack's limit raised above the capacity: the daemon says the table cannot hold it" \
		wait_for 4 grep -q "conntrack's limit (net.netfilter.nf_conntrack_max) is now $((cap + 1)), above the flow table's capacity of $cap" "$NFO_LOG"
	sleep 1.5
	check "... once" test "$(grep -c "is now $((cap + 1)), above" "$NFO_LOG")" = 1
	limit_json() { nfo status -j | $PY -c 'import json,sys; f=json.load(sys.stdin)["flows"]; print(f["ct_limit_above_capacity"], f.get("ct_limit"))'; }
	check "... and status says it ($(limit_json))" test "$(limit_json)" = "True $((cap + 1))"
	check "... in its text too" sh -c "ip netns exec $R $NFO --pin-dir $PIN status | grep -q \"WARNING: conntrack's limit (net.netfilter.nf_conntrack_max, $((cap + 1))) is above the capacity\""
	sysctl -qw net.netfilter.nf_conntrack_max="$ct_max"
	NFO_CT_MAX_RESTORE=
	limit_back() { [ "$(limit_json)" = "False None" ]; }
	check "the limit back within the capacity: status no longer warns" wait_for 4 limit_back
fi

# --- the ruleset decides ----------------------------------------------------
cexec $TRAFFIC udp-rr $SERVER4 7 3 --sport 40001 >/dev/null
check "accepted UDP flow is offloaded" wait_for 3 flows_at_least 1
n0=$(rule_packets udp7)
cexec $TRAFFIC udp-rr $SERVER4 7 200 --sport 40001 >/dev/null
n1=$(rule_packets udp7)
check "the ruleset judged its first packet (rule counter $n0)" test "$n0" -ge 1
check "its later packets bypass the ruleset (counter $n0 -> $n1 after 200 more)" \
	test $((n1 - n0)) -le 2
cexec $TRAFFIC udp-rr $SERVER4 9999 3 >/dev/null
sleep 0.5
check "a flow the ruleset drops is not offloaded" test "$(flows_matching --port 9999)" -eq 0
check "... and not marked in conntrack (mark ${ct_mark_of_9999:=$(ct_mark_of 9999)}, no entry = never confirmed)" \
	test "${ct_mark_of_9999:-0}" -eq 0
# NAT shown both ways: masquerade (snat) and the port forward (dnat).
cexec $TRAFFIC udp-echo 53 &
disown
sleep 0.3
sexec $TRAFFIC udp-rr $WAN4 5353 20 --gap 0.01 >/dev/null
check "port-forwarded flow offloaded" wait_for 3 port_flows 5353 1
check "flows shows snat and dnat, packets both ways" sh -c "
	ip netns exec $R $NFO --pin-dir $PIN flows -j | $PY -c '
import json, sys
f = json.load(sys.stdin)[\"flows\"]
nat = sorted(x[\"nat\"] for x in f)
both = all(x[\"original\"][\"packets\"] > 0 and x[\"reply\"][\"packets\"] > 0 for x in f)
sys.exit(not (\"snat\" in nat and \"dnat\" in nat and both))'"
# A UDP flow is offloaded without a conntrack update; its packets that bypass
# conntrack have the fast path hold the entry (ct-timeout, a day) at once, the
# port forward's NAT entry too. (The daemon's first idle check is 10 s away.)
ct_timeout_5353=$(rexec conntrack -L -p udp --dport 5353 2>/dev/null | awk '{print $3}' | sort -n | tail -1)
if ct_kfuncs; then
	check "a UDP flow is held in conntrack by the fast path at once (${ct_timeout_5353}s left)" \
		test "${ct_timeout_5353:-0}" -gt 3600
else
	check "a UDP flow keeps conntrack's own timeout until the daemon's first idle check (${ct_timeout_5353}s left)" \
		test "${ct_timeout_5353:-0}" -gt 0 -a "${ct_timeout_5353:-0}" -le 120
fi
# The UDP flows to port 7 too; stop gives them conntrack's own timeout again
# (UDP stream: 120 s).
ct_timeouts_7() { rexec conntrack -L -p udp --dport 7 2>/dev/null | awk '{print $3}' | sort -n; }
held_7() { test "$(ct_timeouts_7 | head -1)" -gt 3600; }
wait_for 12 held_7
check "offloaded flows held in conntrack (seconds left: $(ct_timeouts_7 | tr '\n' ' '))" \
	held_7
nfo_stop
check "stop on SIGTERM leaves nothing behind" nothing_left
check "conntrack marks cleared on stop" test "$(ct_mark_of 7)" -eq 0
check "stop gave them conntrack's own timeout back ($(ct_timeouts_7 | tail -1)s left at most)" \
	test "$(ct_timeouts_7 | tail -1)" -le 120
marked() { # entries with either of nft-offload's bits
	echo $(($(rexec conntrack -L -m 0x80000000/0x80000000 2>/dev/null | wc -l) +
		$(rexec conntrack -L -m 0x40000000/0xc0000000 2>/dev/null | wc -l)))
}
check "no conntrack entry keeps a mark bit after stop ($(marked))" test "$(marked)" -eq 0

# --- conntrack decides too ---------------------------------------------------
nfo_start || exit 1
# A connection with a helper (FTP) must stay in the slow path: the helper has
# to see every packet.
rexec nft -f - <<'NFT'
table inet helpers {
	ct helper ftp-standard {
		type "ftp" protocol tcp;
	}
	chain pre {
		type filter hook prerouting priority filter;
		tcp dport 21 ct helper set "ftp-standard"
	}
}
NFT
sexec socat -u TCP-LISTEN:21,reuseaddr - >/dev/null &
disown
wait_for 5 listening $S 21
cexec $PY -c "
import socket, time
c = socket.create_connection(('$SERVER4', 21), source_address=('0.0.0.0', 40021))
for _ in range(100):
    c.sendall(b'NOOP\r\n'); time.sleep(0.03)
c.close()" &
hp=$!
sleep 1.5
check "a connection with a conntrack helper is not offloaded" test "$(flows_matching --port 21)" -eq 0
check "... and explain says why" sh -c "ip netns exec $R $NFO --pin-dir $PIN explain tcp $CLIENT4:40021 \
	$SERVER4:21 | grep -q 'has a conntrack helper'"
wait $hp
rexec nft delete table inet helpers
# Conntrack destroys an offloaded connection: it leaves the fast path at once.
cexec $TRAFFIC udp-rr $SERVER4 7 20 --sport 40060 --gap 0.01 >/dev/null
wait_for 3 port_flows 40060 1
rexec conntrack -D -p udp --sport 40060 >/dev/null 2>&1
check "conntrack -D takes the flow out of the fast path at once" wait_for 1 port_flows 40060 0
# A path through a device that is not an offload device is never offloaded.
nfo_stop
NFO_DEVICES="lan0 wan0" nfo_start || exit 1
c2exec $TRAFFIC udp-rr $SERVER4 7 30 --sport 40070 --gap 0.01 >/dev/null
check "a connection entering through lan1 (not an offload device) is not offloaded" \
	test "$(flows_matching --port 40070)" -eq 0
cexec $TRAFFIC udp-rr $SERVER4 7 30 --sport 40071 --gap 0.01 >/dev/null
check "... while one entering through lan0 is" wait_for 3 port_flows 40071 1
# Another forward chain that runs after ours: warned about, loudly.
rexec nft add table inet late
rexec nft add chain inet late later '{ type filter hook forward priority 2147483647; }'
check "a forward chain running after ours is warned about" \
	wait_for 3 grep -q "forward chain(s) running at or after nft-offload's" "$NFO_LOG"
status_unhealthy() { ! rexec "$NFO" --pin-dir "$PIN" status >/dev/null; }
check "... and status reports it" wait_for 3 status_unhealthy
rexec nft delete table inet late
nfo_stop

# A mark nobody vouches for (left by a dead daemon, say) must not offload a
# flow: a fresh start clears it; the ruleset then judges and marks again.
rexec nft insert rule inet filter forward udp dport 7 ct mark set ct mark or 0xc0000000 comment '"plant"'
cexec $TRAFFIC udp-rr $SERVER4 7 2 --sport 40002 >/dev/null
h=$(rexec nft -a list chain inet filter forward | awk '/"plant"/ {print $NF}')
rexec nft delete rule inet filter forward handle "$h"
check "(a stale mark was planted: $(marked) entries)" test "$(marked)" -ge 1

# --- selectors --------------------------------------------------------------
nfo_start --select "udp dport 7" || exit 1
check "a fresh start clears stale marks" grep -q "cleared stale ct mark 0xc0000000" "$NFO_LOG"
cexec $TRAFFIC udp-rr $SERVER4 7 3 >/dev/null
cexec $TRAFFIC udp-rr $SERVER6 7 3 >/dev/null
tcp_transfer $C $S $SERVER4 5001 1 &
tp=$!
check "selector: UDP port 7 offloaded (IPv4 and IPv6)" wait_for 3 port_flows 7 2
wait $tp
check "selector: TCP to port 5001 never offloaded" test "$(nfo_total fwd_packets)" -lt 100
nfo_stop

# --- conntrack consistency --------------------------------------------------
rexec sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=5 net.netfilter.nf_conntrack_udp_timeout=5
NFO_IDLE=3 nfo_start || exit 1
rexec conntrack -F 2>/dev/null
# 12 s of traffic, more than twice the 5 s conntrack timeout.
cexec $TRAFFIC udp-rr $SERVER4 7 240 --gap 0.05 --sport 40007 >"$TMP/rr" &
rr=$!
sleep 8
check "offloaded flow alive in conntrack after 8 s with a 5 s timeout (timeout $(ct_timeout_of 7)s)" \
	test "$(ct_timeout_of 7)" -gt 60
wait $rr
check "no request lost meanwhile ($(cat "$TMP/rr"))" grep -q "240/240" "$TMP/rr"
check "idle flow leaves the fast path after the 3 s idle timeout" wait_for 6 flows_at_most 0
t=$(ct_timeout_of 7)
check "conntrack got its own timeout back (${t}s <= 5s)" test "${t:-99}" -le 5
ct_gone() { [ -z "$(ct_timeout_of "$1")" ]; }
check "... and then ages it out" wait_for 8 ct_gone 7
rexec sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=120 net.netfilter.nf_conntrack_udp_timeout=30

# TCP teardown: FIN and RST reach conntrack, no INVALID, flow removed.
inv0=$(rule_packets invalid)
sexec $TRAFFIC tcp-recv 5005 20 >"$TMP/recv5005" &
rp=$!
wait_for 5 listening $S 5005
cexec $TRAFFIC tcp-send $SERVER4 5005 20 --rate 20 >/dev/null &
sp=$!
check "TCP flow offloaded" wait_for 5 port_flows 5005 1
wait $sp
wait $rp
check "TCP stream intact ($(cat "$TMP/recv5005"))" grep -q " 0 corrupt" "$TMP/recv5005"
check "FIN took the flow out of the fast path" wait_for 3 port_flows 5005 0
st=$(rexec conntrack -L -p tcp --dport 5005 2>/dev/null | awk '{print $4}')
check "conntrack saw the close (state $st)" sh -c "echo '$st' | grep -qE 'TIME_WAIT|CLOSE|LAST_ACK|FIN_WAIT'"
check "no INVALID packets in the forward chain ($inv0 -> $(rule_packets invalid))" \
	test "$(rule_packets invalid)" -eq "$inv0"
# RST: a client that aborts its connection.
sexec socat -u TCP-LISTEN:5006,reuseaddr - >/dev/null &
wait_for 5 listening $S 5006
cexec $PY -c "
import socket, struct, time
c = socket.create_connection(('$SERVER4', 5006))
for _ in range(50):
    c.sendall(b'x' * 1000); time.sleep(0.02)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.close()"
check "RST took the flow out of the fast path" wait_for 3 port_flows 5006 0
# Conntrack closes the entry, or - when it holds the RST back as out of window
# (it did not see the ACKs of the offloaded part) - the daemon gives it the
# closing timeout instead of the offload hold.
ct_closed() {
	local l
	l=$(rexec conntrack -L -p tcp --dport 5006 2>/dev/null | head -1)
	[ -z "$l" ] || echo "$l" | grep -q CLOSE || [ "$(echo "$l" | awk '{print $3}')" -le 120 ]
}
check "conntrack ends the connection ($(rexec conntrack -L -p tcp --dport 5006 2>/dev/null | awk '{print $4, $3 "s"}'))" \
	wait_for 4 ct_closed
nfo_stop

# --- ruleset change re-validates live flows ---------------------------------
nfo_start || exit 1
: >"$TMP/echo7.log"
cexec $TRAFFIC udp-rr $SERVER4 7 600 --gap 0.01 --sport 40008 --timeout 0.5 --give-up 4 >/dev/null &
rr=$!
wait_for 3 port_flows 7 1
sleep 1
t_rule=$(date +%s.%N)
rexec nft insert rule inet filter forward udp sport 40008 drop
wait $rr
last=$(tail -1 "$TMP/echo7.log")
lag=$($PY -c "print(round($last - $t_rule, 3))")
check "a new drop rule stops the live offloaded flow within a second (last packet ${lag}s after)" \
	$PY -c "import sys; sys.exit(not $last - $t_rule < 1.0)"
check "re-validation logged" grep -q "ruleset changed" "$NFO_LOG"
[ -n "${NFO_DEBUG_REVAL:-}" ] && grep -v libbpf "$NFO_LOG" | tail -20
rexec nft -a list chain inet filter forward | awk '/udp sport 40008 drop/ {print $NF}' |
	while read -r h; do rexec nft delete rule inet filter forward handle "$h"; done
# (That too is a ruleset change: let its re-validation finish.)
sleep 0.5

# --- restart under traffic --------------------------------------------------
sexec $TRAFFIC tcp-recv 5007 40 >"$TMP/recv5007" &
rp=$!
wait_for 5 listening $S 5007
cexec $TRAFFIC tcp-send $SERVER4 5007 40 --rate 8 >/dev/null &
sp=$!
check "transfer offloaded" wait_for 5 port_flows 5007 1
kill -KILL "$NFO_PID"
wait "$NFO_PID" 2>/dev/null
NFO_PID=
p0=$(nfo_total fwd_packets)
sleep 1
p1=$(nfo_total fwd_packets)
check "daemon killed: the fast path keeps forwarding ($p0 -> $p1 packets)" test $((p1 - p0)) -gt 100
nfo_start || exit 1
check "restarted daemon adopts the flow" grep -q "adopted 1 offloaded" "$NFO_LOG"
wait $sp
wait $rp
check "transfer across kill and restart intact ($(cat "$TMP/recv5007"))" grep -q " 0 corrupt" "$TMP/recv5007"

# --- stop from the CLI ------------------------------------------------------
cexec $TRAFFIC udp-rr $SERVER4 7 3 >/dev/null
wait_for 3 flows_at_least 1
check "nft-offload stop succeeds" nfo stop
wait "$NFO_PID" 2>/dev/null
NFO_PID=
check "nft-offload stop leaves nothing behind" nothing_left
check "traffic still flows through the kernel after stop" \
	cexec $TRAFFIC udp-rr $SERVER4 7 20

# --- event loss and resync --------------------------------------------------
nfo_start --event-buffer 4096 || exit 1
# The daemon paused while the flows open: their conntrack events overflow its
# small buffer for sure (the mark notifications wait in theirs).
kill -STOP "$NFO_PID"
cexec $PY -c "
import socket
socks = []
for i in range(400):
    s = socket.socket(); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', 30000 + i)); s.connect(('$SERVER4', 7)); s.send(b'x'); socks.append(s)
for s in socks:
    s.settimeout(2); s.recv(100)
# A second request: the ruleset accepts an established packet of each
# direction (the reply, then this one) before a flow is offloaded.
for s in socks:
    s.send(b'y')
for s in socks:
    s.recv(100)
"
kill -CONT "$NFO_PID"
check "400 new UDP flows, all offloaded despite lost events" wait_for 10 flows_at_least 400
lost_resyncs() { nfo status -j | $PY -c 'import json,sys; e=json.load(sys.stdin)["events"]; print(e["lost"], e["resyncs"])'; }
# The mark notifications offload the flows at once; the resync follows at the
# next tick, and status is published once a second.
resynced() { set -- $(lost_resyncs); test "$1" -gt 0 -a "$2" -gt 0; }
wait_for 3 resynced
lost=$(lost_resyncs)
check "events were lost and a resync ran (lost, resyncs: $lost)" sh -c "set -- $lost; test \$1 -gt 0 -a \$2 -gt 0"
check "the loss grew the event buffer (4 -> 8 KiB, logged)" \
	grep -q "conntrack event buffer grown from 4 to 8 KiB after a loss" "$NFO_LOG"
# SIGUSR1: a resync on demand, which finds every flow in place.
resyncs() { nfo status -j | $PY -c 'import json,sys; print(json.load(sys.stdin)["events"]["resyncs"])'; }
r0=$(resyncs)
kill -USR1 "$NFO_PID"
resync_logged() { grep -qE "conntrack resync: [0-9]+ connections offloaded in [0-9]+ ms" <(sed -n '/SIGUSR1/,$p' "$NFO_LOG"); }
check "SIGUSR1: a full resync is logged with its duration" wait_for 5 resync_logged
resync_counted() { [ "$(resyncs)" -gt "$r0" ]; }
check "SIGUSR1: counted in status (resyncs was $r0)" wait_for 3 resync_counted
check "SIGUSR1: every flow still offloaded ($(flows_matching --port 7))" \
	test "$(flows_matching --port 7)" -ge 400
nfo_stop

# --- the first idle check with an idle timeout longer than its 10 s ---------
# It reads no entry (the flow cannot be idle yet), and the next check comes
# when the flow could first be idle: the idle timeout still ends the flow on
# time. The fast path held conntrack meanwhile, from the flow's first packet
# that bypassed it.
ct_left() { # seconds left of the conntrack entry from client port $1
	rexec conntrack -L -p udp --sport "$1" 2>/dev/null | awk '{print $3; exit}'
}
held() { test "$(ct_left "$1")" -gt 3600 2>/dev/null; }
NFO_IDLE=12 nfo_start || exit 1
cexec $TRAFFIC udp-rr $SERVER4 7 3 --sport 40012 >/dev/null
check "idle timeout 12 s: UDP flow offloaded" wait_for 3 port_flows 40012 1
cexec $TRAFFIC udp-rr $SERVER4 7 20 --sport 40012 --gap 0.01 >/dev/null
t_last=$EPOCHREALTIME
if ct_kfuncs; then
	check "... its packets through the fast path had it hold conntrack (a day: $(ct_left 40012)s)" held 40012
else
	check "... its first idle check holds conntrack (a day)" wait_for 12 held 40012
fi
check "... it leaves the fast path at the idle timeout" wait_for 16 port_flows 40012 0
el=$(awk -v a="$t_last" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b - a}')
check "... 12-15 s after its last packet (${el}s)" \
	awk -v e="$el" 'BEGIN{exit !(e >= 11.5 && e <= 15)}'
check "... and conntrack has its own timeout back ($(ct_left 40012)s)" test "$(ct_left 40012)" -le 120
nfo_stop

check "nothing left at the end" nothing_left

nfo_done
