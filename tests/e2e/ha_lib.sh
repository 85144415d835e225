# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# An HA router pair in namespaces, for tests/e2e/test_ha.sh and bench/ha.sh;
# source it after lib.sh. client -- LAN bridge -- routers A and B -- WAN
# bridge -- server, a sync link A <-> B; keepalived (VRRP, unicast adverts
# every 0.1 s) moves the LAN and WAN virtual addresses, conntrackd (FTFW)
# syncs conntrack, nft-offload runs on both (tc mode). Knobs: HA_HASHLIMIT and
# HA_NL_MAX (conntrackd cache entries, event buffer), HA_UDP_TIMEOUT (10 s),
# HA_DAEMON_ARGS (more nft-offload run options).
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
	net_ns $C $S $A $B $W
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
			net.netfilter.nf_conntrack_udp_timeout=${HA_UDP_TIMEOUT:-10} \
			net.netfilter.nf_conntrack_udp_timeout_stream=${HA_UDP_TIMEOUT:-10}
	done
	ip link add sync0 netns $A type veth peer name sync0 netns $B
	for r in A B; do
		ip -n "${NS[$r]}" link set sync0 up
		ip -n "${NS[$r]}" addr add "${ADDR_SYNC[$r]}/30" dev sync0
	done
	ip -n $C addr add 198.18.1.2/24 dev eth0
	ip -n $C route add default via $VIP_LAN
	ip -n $S addr add $SERVER4/24 dev eth0
	for ns in $C $S; do net_gro $ns eth0; done
	net_bpffs "$TMP/bpf"
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
	HashLimit ${HA_HASHLIMIT:-65536}
	LogFile $TMP/conntrackd-$r.log
	Syslog off
	LockFile $TMP/conntrackd-$r.lock
	UNIX {
		Path $TMP/conntrackd-$r.ctl
	}
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth ${HA_NL_MAX:-8388608}
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

keepalived_instance() { # NAME DEV VRID VIP (of router $r, peer $p)
	local addr
	if [ "$2" = lan0 ]; then
		addr=("${ADDR_LAN[$r]}" "${ADDR_LAN[$p]}")
	else
		addr=("${ADDR_WAN[$r]}" "${ADDR_WAN[$p]}")
	fi
	cat <<EOF
vrrp_instance $1 {
	state BACKUP
	interface $2
	virtual_router_id $3
	priority ${PRIO[$r]}
	advert_int 0.1
	unicast_src_ip ${addr[0]}
	unicast_peer {
		${addr[1]}
	}
	virtual_ipaddress {
		$4/24 dev $2
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
EOF
	keepalived_instance LAN lan0 51 "$VIP_LAN" >>"$TMP/keepalived-$r.conf"
	keepalived_instance WAN wan0 52 "$VIP_WAN" >>"$TMP/keepalived-$r.conf"
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
	# shellcheck disable=SC2086 # HA_DAEMON_ARGS: options
	daemon_launch "${NS[$r]}" "$TMP/nfo-$r.log" 10 --pin-dir "$TMP/bpf/$r" --device lan0 \
		--device wan0 --mode tc ${HA_DAEMON_ARGS:-} ||
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

counter_on() { ns_rule_packets "${NS[$1]}" "$2"; } # counter_on ROUTER COMMENT

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

