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

for tool in keepalived conntrackd; do
	if ! command -v $tool >/dev/null; then
		say "# SKIP: $tool is not installed (make deps installs it)"
		exit 0
	fi
done

A=$R
B=nfo${ID}b
W=nfo${ID}w
NFO_EXTRA_NS="$B $W"
NFO_LOG=$TMP/nfo-A.log
VIP_LAN=198.18.1.1
VIP_WAN=198.19.2.1
MB=${NFO_HA_MB:-64}
RATE=${NFO_HA_RATE:-2.5} # MB/s: the transfer lasts MB / RATE seconds
UDP_PPS=500
HOLD=12 # seconds offloaded on A before the failover (> the UDP timeout, 10 s)

declare -A ADDR_LAN=([A]=198.18.1.11 [B]=198.18.1.12)
declare -A ADDR_WAN=([A]=198.19.2.11 [B]=198.19.2.12)
declare -A ADDR_SYNC=([A]=198.18.9.1 [B]=198.18.9.2)
declare -A NS=([A]=$A [B]=$B)
declare -A PEER=([A]=B [B]=A)
declare -A PRIO=([A]=150 [B]=100)

on() { local r=$1; shift; ip netns exec "${NS[$r]}" "$@"; }
nfo_on() { local r=$1; shift; on "$r" "$NFO" --pin-dir "$TMP/bpf/$r" "$@"; }
now() { date +%s.%N; }
elapsed_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

topology() {
	local ns r
	for ns in $C $S $A $B $W; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip -n $W link add brlan type bridge
	ip -n $W link add brwan type bridge
	for br in brlan brwan; do
		ip -n $W link set $br type bridge mcast_snooping 0
		ip -n $W link set $br up
	done
	on_w() { ip netns exec $W "$@"; }
	on_w sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
		2>/dev/null || true
	veth $C eth0 $W pc
	veth $S eth0 $W ps
	ip -n $W link set pc master brlan
	ip -n $W link set ps master brwan
	for r in A B; do
		veth "${NS[$r]}" lan0 $W l$r
		veth "${NS[$r]}" wan0 $W w$r
		ip -n $W link set l$r master brlan
		ip -n $W link set w$r master brwan
		ip -n "${NS[$r]}" addr add "${ADDR_LAN[$r]}/24" dev lan0
		ip -n "${NS[$r]}" addr add "${ADDR_WAN[$r]}/24" dev wan0
		on $r sysctl -qw net.ipv4.ip_forward=1 \
			net.netfilter.nf_conntrack_udp_timeout=10 \
			net.netfilter.nf_conntrack_udp_timeout_stream=10
	done
	ip link add sync0 netns $A type veth peer name sync0 netns $B
	for r in A B; do
		ip -n "${NS[$r]}" link set sync0 up
		ip -n "${NS[$r]}" addr add "${ADDR_SYNC[$r]}/30" dev sync0
	done
	ip -n $C addr add 198.18.1.2/24 dev eth0
	ip -n $C route add default via $VIP_LAN
	ip -n $S addr add $SERVER4/24 dev eth0
	for ns in $C $S; do ip netns exec $ns ethtool -K eth0 gro on >/dev/null 2>&1 || true; done
	mkdir -p "$TMP/bpf"
	mount -t bpf bpf "$TMP/bpf"
}

# Both routers: forward policy drop, established accept, LAN to WAN accept,
# source NAT to the WAN virtual address. B also drops UDP to port 7777.
ruleset() { # ruleset ROUTER
	local extra=
	[ "$1" = B ] && extra='udp dport 7777 counter drop comment "b-drop"'
	on "$1" nft -f - <<EOF
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state invalid counter drop comment "invalid"
		$extra
		ct state established,related counter accept comment "established"
		iifname "lan0" oifname "wan0" counter accept comment "lan-wan"
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" snat ip to $VIP_WAN
	}
}
EOF
}

# conntrackd, FTFW over UDP on the sync link; files of its own per router.
conntrackd_conf() { # conntrackd_conf ROUTER
	local r=$1 p=${PEER[$1]}
	cat >"$TMP/conntrackd-$r.conf" <<EOF
Sync {
	Mode FTFW {
		DisableExternalCache Off
	}
	UDP {
		IPv4_address ${ADDR_SYNC[$r]}
		IPv4_Destination_Address ${ADDR_SYNC[$p]}
		Port 3780
		Interface sync0
		SndSocketBuffer 1249280
		RcvSocketBuffer 1249280
		Checksum on
	}
}
General {
	HashSize 8192
	HashLimit 65536
	LogFile $TMP/conntrackd-$r.log
	Syslog off
	LockFile $TMP/conntrackd-$r.lock
	UNIX {
		Path $TMP/conntrackd-$r.ctl
	}
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth 8388608
	Filter From Userspace {
		Protocol Accept {
			TCP
			UDP
		}
		Address Ignore {
			IPv4_address 127.0.0.1
			IPv4_address $VIP_LAN
			IPv4_address $VIP_WAN
			IPv4_address ${ADDR_LAN[$r]}
			IPv4_address ${ADDR_WAN[$r]}
			IPv4_address ${ADDR_SYNC[$r]}
		}
	}
}
EOF
}

# keepalived: one sync group for both addresses, unicast adverts every 0.1 s,
# the notify script conntrackd's documentation uses (commit, flush, resync,
# bulk send on becoming master; resync request on becoming backup).
keepalived_conf() { # keepalived_conf ROUTER
	local r=$1 p=${PEER[$1]} ctd="conntrackd -C $TMP/conntrackd-$1.conf"
	cat >"$TMP/notify-$r.sh" <<EOF
#!/bin/sh
# keepalived calls: notify-$r.sh GROUP|INSTANCE NAME STATE PRIORITY
t=\$(date +%s.%N)
case \$3 in
MASTER)
	$ctd -c
	$ctd -f
	$ctd -R
	$ctd -B
	;;
BACKUP)
	$ctd -n
	;;
FAULT)
	$ctd -t
	;;
esac
echo "\$3 \$t" >>$TMP/state-$r
EOF
	chmod 700 "$TMP/notify-$r.sh"
	cat >"$TMP/keepalived-$r.conf" <<EOF
global_defs {
	router_id ha$r
	vrrp_version 3
	script_user root
	vrrp_garp_master_delay 0
	vrrp_garp_master_repeat 2
}
vrrp_sync_group G {
	group {
		LAN
		WAN
	}
	notify $TMP/notify-$r.sh
}
vrrp_instance LAN {
	state BACKUP
	interface lan0
	virtual_router_id 51
	priority ${PRIO[$r]}
	advert_int 0.1
	unicast_src_ip ${ADDR_LAN[$r]}
	unicast_peer {
		${ADDR_LAN[$p]}
	}
	virtual_ipaddress {
		$VIP_LAN/24 dev lan0
	}
}
vrrp_instance WAN {
	state BACKUP
	interface wan0
	virtual_router_id 52
	priority ${PRIO[$r]}
	advert_int 0.1
	unicast_src_ip ${ADDR_WAN[$r]}
	unicast_peer {
		${ADDR_WAN[$p]}
	}
	virtual_ipaddress {
		$VIP_WAN/24 dev wan0
	}
}
EOF
}

start_router() { # start_router ROUTER
	local r=$1
	ruleset $r
	conntrackd_conf $r
	keepalived_conf $r
	on $r conntrackd -C "$TMP/conntrackd-$r.conf" >"$TMP/conntrackd-$r.out" 2>&1 &
	wait_for 5 test -S "$TMP/conntrackd-$r.ctl" || { fail "$r: conntrackd did not start"; return 1; }
	on $r keepalived -n -l -P -f "$TMP/keepalived-$r.conf" -p "$TMP/keepalived-$r.pid" \
		-r "$TMP/vrrp-$r.pid" >"$TMP/keepalived-$r.out" 2>&1 &
	: >"$TMP/nfo-$r.log"
	on $r "$NFO" run --pin-dir "$TMP/bpf/$r" --device lan0 --device wan0 --mode tc \
		>>"$TMP/nfo-$r.log" 2>&1 &
	wait_for 10 grep -q "running:" "$TMP/nfo-$r.log" ||
		{ fail "$r: nft-offload did not start"; sed 's/^/#   /' "$TMP/nfo-$r.log"; return 1; }
}

state_of() { tail -n1 "$TMP/state-$1" 2>/dev/null | cut -d' ' -f1; }
is_master() { [ "$(state_of "$1")" = MASTER ]; }
master_since() { awk '$1 == "MASTER" { t = $2 } END { print t }' "$TMP/state-$1"; }

# Offloaded connections of ROUTER with PORT (either tuple).
flows_on() { nfo_on "$1" flows --count --port "$2" 2>/dev/null || echo 0; }
offloaded_on() { [ "$(flows_on "$1" 5001)" -ge 1 ] && [ "$(flows_on "$1" 9000)" -ge 1 ]; }

fwd_packets_on() {
	nfo_on "$1" stats -j | $PY -c 'import json, sys; print(json.load(sys.stdin)["total"]["fwd_packets"])'
}

counter_on() { # counter_on ROUTER COMMENT
	on "$1" nft -j list ruleset | $PY -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    r = o.get("rule")
    if r and r.get("comment") == sys.argv[1]:
        for e in r["expr"]:
            if "counter" in e:
                print(e["counter"]["packets"]); sys.exit(0)
print(-1)' "$2"
}

# The masqueraded reply tuple of B's copy of the TCP connection: to VIP_WAN.
nat_offloaded_on() {
	nfo_on "$1" flows -j --port 5001 | $PY -c '
import json, sys
f = json.load(sys.stdin)
f = f["flows"] if isinstance(f, dict) else f
print("yes" if f and json.dumps(f[0]).count(sys.argv[1]) else "no")' "$VIP_WAN"
}

# Wait until ROUTER offloads the TCP and UDP connections; prints the ms it
# took from its takeover.
offload_after_takeover() { # ROUTER
	local r=$1 t0 t1
	t0=$(master_since "$r")
	wait_for 5 offloaded_on "$r" || { echo "never"; return 1; }
	t1=$(now)
	elapsed_ms "$t0" "$t1"
}

# A switch: CUT the links of FROM (down) or bring them back (up), wait for
# TO's keepalived to become master; prints the switch time in ms.
switch_over() { # switch_over ROUTER up|down TO
	local t0 t1
	t0=$(now)
	ip -n "${NS[$1]}" link set lan0 "$2"
	ip -n "${NS[$1]}" link set wan0 "$2"
	wait_for 10 is_master "$3" || { echo "never"; return 1; }
	t1=$(master_since "$3")
	elapsed_ms "$t0" "$t1"
}

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
sexec $TRAFFIC udp-sink 9000 "$n_udp" --timeout 20 >"$TMP/udp-sink" 2>&1 &
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

# Fail A.
sw1=$(switch_over A down B)
check "B took over (${sw1} ms after A's links went down)" is_master B
off1=$(offload_after_takeover B)
check "B offloads the synced TCP and UDP connections ${off1} ms after taking over (<= 1000)" \
	test "$off1" != never -a "${off1/never/99999}" -le 1000
check "B's flow carries the NAT to $VIP_WAN" test "$(nat_offloaded_on B)" = yes
t_b=$(now)
sleep 1
fp1=$(fwd_packets_on B)
est1=$(counter_on B established)
drop1=$(counter_on B b-drop)
sleep 1
fp2=$(fwd_packets_on B)
est2=$(counter_on B established)
drop2=$(counter_on B b-drop)
check "B: fast path carries the connections ($((fp2 - fp1)) packets in 1 s; forward chain saw $((est2 - est1)))" \
	test $((fp2 - fp1)) -ge 400 -a $((est2 - est1)) -le 20
check "B does not offload UDP to port 7777 (its ruleset drops it)" test "$(flows_on B 7777)" -eq 0
check "B's kernel path drops it ($((drop2 - drop1)) packets in 1 s)" test $((drop2 - drop1)) -ge 50
# A mark that arrives through ctnetlink is not trusted either: conntrackd
# 1.4.7 commits synced entries without their mark (seen above: B marked them
# itself), but a sync that kept it, or conntrack -I, must not bypass B's
# ruleset. Inject the entry A's chain leaves: replied, assured, marked.
ct_mark_on_b() { on B conntrack -L -p udp --sport 7778 2>/dev/null | grep -o 'mark=[0-9]*'; }
on B conntrack -I -p udp -s 198.18.1.2 -d $SERVER4 --sport 7778 --dport 7777 \
	-r $SERVER4 -q $VIP_WAN --reply-port-src 7777 --reply-port-dst 7778 \
	--status ASSURED,SEEN_REPLY --timeout 60 --mark 0x80000000 >/dev/null 2>&1
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
sw2=$(switch_over A up A)
check "A took back over (${sw2} ms after its links came up)" is_master A
off2=$(offload_after_takeover A)
check "A offloads the connections again ${off2} ms after taking over (<= 1000)" \
	test "$off2" != never -a "${off2/never/99999}" -le 1000
check "A's flow carries the NAT to $VIP_WAN" test "$(nat_offloaded_on A)" = yes
sleep 1
fa1=$(fwd_packets_on A)
ea1=$(counter_on A established)
sleep 1
fa2=$(fwd_packets_on A)
ea2=$(counter_on A established)
check "A: fast path carries the connections again ($((fa2 - fa1)) packets in 1 s; forward chain saw $((ea2 - ea1)))" \
	test $((fa2 - fa1)) -ge 400 -a $((ea2 - ea1)) -le 20

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
