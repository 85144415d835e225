#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The mark rules: a connection is offloaded only once the ruleset accepted an
# established packet of each direction (a drop of one direction holds), and
# the rules notify the daemon themselves (nflog), so that connections that
# conntrack never reports events for are offloaded as fast as new ones.
source "$(dirname "$0")/lib.sh"

nfo_topology
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
ONEWAY="$TRAFFIC oneway"

# --- a drop in one direction holds ------------------------------------------
# Established packets of one direction dropped, the other accepted:
#   tcp 9003: client -> server data dropped (the handshake's SYN passes)
#   tcp 9004: server -> client dropped (the SYN-ACK already)
#   udp 9005: client -> server dropped after the first reply
#   udp 9006: server -> client dropped
#   udp 9007: nothing dropped (control: offloaded)
rexec nft insert rule inet filter forward ct direction original ct state established \
	tcp dport 9003 counter drop comment '"o9003"'
rexec nft insert rule inet filter forward ct direction reply ct state established \
	tcp sport 9004 counter drop comment '"r9004"'
rexec nft insert rule inet filter forward ct direction original ct state established \
	udp dport 9005 counter drop comment '"o9005"'
rexec nft insert rule inet filter forward ct direction reply ct state established \
	udp sport 9006 counter drop comment '"r9006"'
CASES="tcp:9003:o9003 tcp:9004:r9004 udp:9005:o9005 udp:9006:r9006 udp:9007:-"

# start_each ROUND ROLE NS-EXEC SECONDS: one endpoint per case, in the background.
start_each() {
	local c proto port
	for c in $CASES; do
		IFS=: read -r proto port _ <<<"$c"
		$3 $ONEWAY "$2" "$proto" $SERVER4 "$port" "$4" >"$TMP/$1.$port.$2" &
		PIDS+=($!)
	done
}
# One round: every case at once for 2.5 s; "server-bytes client-echoed" per case
# in $TMP/$1.PORT, and the flows offloaded meanwhile in $TMP/$1.flows.
one_round() {
	local c port
	PIDS=()
	start_each "$1" server sexec 3.5
	sleep 0.3
	start_each "$1" client cexec 2.5
	sleep 2
	if [ -n "$NFO_PID" ]; then nfo flows --count >"$TMP/$1.flows"; fi
	wait "${PIDS[@]}"
	for c in $CASES; do
		port=$(cut -d: -f2 <<<"$c")
		echo "$(cat "$TMP/$1.$port.server") $(sed 's/.*echoed=//' "$TMP/$1.$port.client")" >"$TMP/$1.$port"
	done
}
drops() { # packets dropped by each drop rule so far
	local c r out=
	for c in $CASES; do
		r=${c##*:}
		[ "$r" = - ] || out="$out $r=$(rule_packets "$r")"
	done
	echo "${out# }"
}

one_round kernel
drops_kernel=$(drops)
nfo_start || exit 1
fwd0=$(nfo_total fwd_packets)
one_round offload
fwd1=$(nfo_total fwd_packets)
drops_offload=$(drops)
say "# delivered bytes (server received, client got back), kernel path vs nft-offload:"
for c in $CASES; do
	IFS=: read -r proto port _ <<<"$c"
	say "#   $proto $port: $(cat "$TMP/kernel.$port") vs $(cat "$TMP/offload.$port")"
done
say "# drop rule counters after the kernel round: $drops_kernel; after both: $drops_offload"
say "# fast path: $((fwd1 - fwd0)) packets forwarded in the nft-offload round," \
	"$(cat "$TMP/offload.flows") connections offloaded during it"
read -r k_srv k_cli <"$TMP/kernel.9003"
read -r o_srv o_cli <"$TMP/offload.9003"
check "tcp, original direction dropped: the server gets nothing, as without nft-offload" \
	test "$k_srv" -eq 0 -a "$o_srv" -eq 0
read -r k_srv k_cli <"$TMP/kernel.9004"
read -r o_srv o_cli <"$TMP/offload.9004"
check "tcp, reply direction dropped: nothing either way, as without nft-offload" \
	test "$k_srv$k_cli$o_srv$o_cli" = 0000
read -r k_srv k_cli <"$TMP/kernel.9005"
read -r o_srv o_cli <"$TMP/offload.9005"
check "udp, original direction dropped: only the first datagram arrives, as without" \
	test "$k_srv" -eq 512 -a "$o_srv" -eq 512
read -r k_srv k_cli <"$TMP/kernel.9006"
read -r o_srv o_cli <"$TMP/offload.9006"
check "udp, reply direction dropped: no reply reaches the client, as without" \
	test "$k_cli" -eq 0 -a "$o_cli" -eq 0 -a "$k_srv" -gt 0 -a "$o_srv" -gt 0
for c in $CASES; do
	r=${c##*:}
	[ "$r" = - ] && continue
	k=$(tr ' ' '\n' <<<"$drops_kernel" | sed -n "s/^$r=//p")
	o=$(tr ' ' '\n' <<<"$drops_offload" | sed -n "s/^$r=//p")
	check "drop rule $r dropped packets in both rounds ($k, then $((o - k)))" \
		test "$k" -gt 0 -a "$((o - k))" -gt 0
done
read -r k_srv k_cli <"$TMP/kernel.9007"
read -r o_srv o_cli <"$TMP/offload.9007"
check "control: udp 9007, nothing dropped: all echoed both rounds ($k_cli, $o_cli bytes)" \
	test "$k_cli" -gt 0 -a "$o_cli" -eq "$o_srv"
check "only the control connection was offloaded ($(cat "$TMP/offload.flows"))" \
	test "$(cat "$TMP/offload.flows")" -eq 1
check "... and took the fast path ($((fwd1 - fwd0)) packets)" test $((fwd1 - fwd0)) -gt 50
nfo_stop

# --- connections older than the daemon, idle at its start --------------------
# Created while nf_conntrack_events = 0: conntrack never reports an event for
# them. Idle through the start-up dumps, they resume 3 s after the start: the
# mark rules' notification offloads them within a second (the next dump would
# come 10 s after the start).
rexec sysctl -qw net.netfilter.nf_conntrack_events=0
sexec $ONEWAY server tcp $SERVER4 9010 30 >/dev/null &
sexec $ONEWAY server udp $SERVER4 9011 30 >/dev/null &
sleep 0.3
cexec $ONEWAY client tcp $SERVER4 9010 3 --gate "$TMP/go" >"$TMP/old.9010" &
old_tcp=$!
cexec $ONEWAY client udp $SERVER4 9011 3 --gate "$TMP/go" >"$TMP/old.9011" &
old_udp=$!
sleep 0.5
rexec sysctl -qw net.netfilter.nf_conntrack_events=2
nfo_start || exit 1
t_start=$(date +%s.%N)
sleep 3
touch "$TMP/go"
t_go=$(date +%s.%N)
check "old idle TCP connection offloaded within 1 s of resuming" wait_for 1 port_flows 9010 1
check "old idle UDP connection offloaded within 1 s of resuming" wait_for 1 port_flows 9011 1
t_done=$(date +%s.%N)
sleep 1.2 # the daemon publishes its figures once a second
lat=$(nfo status -j | $PY -c 'import json, sys; print(json.load(sys.stdin)["offload_latency"]["max_us"])')
say "# resumed $(awk "BEGIN { print $t_go - $t_start }") s after the start, both offloaded" \
	"$(awk "BEGIN { print $t_done - $t_go }") s later; daemon's admission latency max ${lat} us"
check "admission latency from the marking packet's notification under 10 ms (max ${lat} us)" \
	test "$lat" -gt 0 -a "$lat" -lt 10000
wait $old_tcp $old_udp
check "their data went through intact ($(cat "$TMP/old.9010"), $(cat "$TMP/old.9011"))" \
	sh -c "grep -qx 'sent=\([0-9]*\) echoed=\1' $TMP/old.9010 && grep -qx 'sent=\([0-9]*\) echoed=\1' $TMP/old.9011"

# nf_conntrack_events = 0 while running: set back, said in the log and status.
rexec sysctl -qw net.netfilter.nf_conntrack_events=0
events_on() { [ "$(rexec cat /proc/sys/net/netfilter/nf_conntrack_events)" = 1 ]; }
check "nf_conntrack_events = 0 while running is set back to 1 within 2 s" wait_for 2 events_on
check "... with a log line" grep -q "nf_conntrack_events was set to 0" "$NFO_LOG"
check "... and status says so" sh -c "ip netns exec $R $NFO --pin-dir $PIN status -j |
	$PY -c 'import json, sys; sys.exit(not json.load(sys.stdin)[\"events\"].get(\"ct_events_revived\"))'"

# The nflog group is ours alone: a second daemon (other pins) is refused.
out=$(timeout 5 ip netns exec "$R" "$NFO" run --pin-dir "$TMP/bpf/other" --device lan0 --device wan0 2>&1)
rc=$?
check "a second listener on the nflog group is refused (exit $rc: $out)" \
	sh -c "[ $rc -ne 0 ] && echo '$out' | grep -q 'nflog group 40960 is taken'"
nfo_stop

nfo_done
