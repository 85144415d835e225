# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Test harness: a router in network namespaces, torn down on exit.
#
#   client (198.18.1.2, 2001:db8:1::2) --lan0-- router --wan0-- server (198.19.2.2, 2001:db8:2::2)
#   client2 (198.18.3.2, 2001:db8:3::2) --lan1-- router
#
# The router runs a realistic ruleset: forward policy drop, established
# accept, LAN to WAN accept, a DNAT port forward (WAN 198.19.2.1:8080 ->
# client:80), masquerade on wan0 (IPv4 and IPv6). Everything lives in
# namespaces named after this shell's PID and in a private bpffs mount.
#
# Source it, then: nfo_topology; nfo_start [daemon options]; ... ; the EXIT
# trap cleans up (also on failure or interrupt).

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NFO=${NFO:-$ROOT/build/nft-offload}
# shellcheck source=../lib/net.sh
source "$ROOT/tests/lib/net.sh"
# shellcheck source=../lib/daemon.sh
source "$ROOT/tests/lib/daemon.sh"
PY=/usr/bin/python3
ID=${NFO_TEST_ID:-$$}
C=nfo${ID}c
C2=nfo${ID}d
R=nfo${ID}r
S=nfo${ID}s
TMP=$(mktemp -d "/tmp/nfo-e2e.${ID}.XXXXXX")
PIN=$TMP/bpf/nfo
NFO_LOG=$TMP/daemon.log
NFO_PID=
FAILS=0

# Addresses the tests use (client and server are those of tests/lib/net.sh).
# shellcheck disable=SC2034
{
	CLIENT4=$NET_CLIENT4
	CLIENT6=$NET_CLIENT6
	CLIENT2_4=198.18.3.2
	CLIENT2_6=2001:db8:3::2
	SERVER4=$NET_SERVER4
	SERVER6=$NET_SERVER6
	WAN4=$NET_WAN4
	WAN6=$NET_WAN6
}

rexec() { ip netns exec "$R" "$@"; }
cexec() { ip netns exec "$C" "$@"; }
c2exec() { ip netns exec "$C2" "$@"; }
sexec() { ip netns exec "$S" "$@"; }
nfo() { ip netns exec "$R" "$NFO" --pin-dir "$PIN" "$@"; }

say() { printf '%s\n' "$*"; }
pass() { say "ok - $*"; }
fail() {
	say "not ok - $*"
	FAILS=$((FAILS + 1))
	if [ -n "${NFO_LOG:-}" ] && [ -s "$NFO_LOG" ]; then
		say "# last daemon log lines:"
		tail -n 15 "$NFO_LOG" | sed 's/^/#   /'
	fi
}
check() { # check "description" command...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

nfo_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	disown -a 2>/dev/null
	if [ -n "$NFO_PID" ] && kill -0 "$NFO_PID" 2>/dev/null; then
		daemon_terminate "$NFO_PID" 5 2>/dev/null
	fi
	# Processes left in our namespaces (socat, iperf3, trafgen, ...), the
	# namespaces and the bpffs mount; NFO_EXTRA_NS names namespaces a test
	# made beyond the four above.
	# shellcheck disable=SC2086 # a list
	net_cleanup "$C" "$C2" "$R" "$S" ${NFO_EXTRA_NS:-}
	mountpoint -q "$TMP/bpf" && umount "$TMP/bpf"
	# A test that raised conntrack's host-wide limit: the value before.
	[ -z "${NFO_CT_MAX_RESTORE:-}" ] || sysctl -qw "net.netfilter.nf_conntrack_max=$NFO_CT_MAX_RESTORE"
	# Run records of daemons that were killed rather than stopped (HA pair,
	# KILL faults): they name this test's pin directories.
	daemon_forget "$TMP"
	rm -rf "$TMP"
	exit "$rc"
}
trap nfo_cleanup EXIT
trap 'exit 130' INT TERM

# Realistic router ruleset. FILLER extra non-matching rules make the slow path
# cost what it costs on a real router.
nfo_ruleset() {
	local filler=${1:-50} i
	{
		cat <<EOF
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state invalid counter drop comment "invalid"
EOF
		for ((i = 0; i < filler; i++)); do
			printf '\t\tip saddr 203.0.113.%d tcp dport %d counter drop\n' $((i % 250)) $((10000 + i))
		done
		cat <<EOF
		ct state established,related counter accept comment "established"
		iifname { "lan0", "lan1" } oifname "wan0" counter accept
		iifname "lan0" oifname "lan1" counter accept
		iifname "lan1" oifname "lan0" counter accept
		ct status dnat counter accept
	}
}
table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		iifname "wan0" tcp dport 8080 dnat to $CLIENT4:80
		iifname "wan0" udp dport 5353 dnat to $CLIENT4:53
	}
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
table ip6 nat {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		iifname "wan0" tcp dport 8080 dnat to [$CLIENT6]:80
	}
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
EOF
	} | rexec nft -f -
}

veth() { net_veth "$@"; } # veth NS1 DEV1 NS2 DEV2

# The router of tests/lib/net.sh (client, router, server, IPv4 and IPv6)
# plus client2 on the router's lan1.
nfo_topology() {
	local ns
	NET_IPV6=1 net_router "$C" "$R" "$S"
	net_ns "$C2"
	veth "$C2" eth0 "$R" lan1
	ip -n "$C2" addr add $CLIENT2_4/24 dev eth0
	ip -n "$C2" addr add $CLIENT2_6/64 dev eth0 nodad
	ip -n "$C2" route add default via 198.18.3.1
	ip -n "$C2" -6 route add default via 2001:db8:3::1
	ip -n "$R" addr add 198.18.3.1/24 dev lan1
	ip -n "$R" addr add 2001:db8:3::1/64 dev lan1 nodad
	for ns in "$C" "$C2" "$S"; do net_gro "$ns" eth0; done
	net_bpffs "$TMP/bpf"
	nfo_ruleset "${NFO_FILLER:-50}"
	# Neighbours resolved before timing-sensitive checks.
	cexec ping -c1 -W2 198.18.1.1 >/dev/null
	c2exec ping -c1 -W2 198.18.3.1 >/dev/null
	sexec ping -c1 -W2 $WAN4 >/dev/null
}

# A second router-server link (wan1: 198.19.3.1 <-> server eth1: 198.19.3.2)
# for route changes.
nfo_add_wan1() {
	veth "$R" wan1 "$S" eth1
	ip -n "$R" addr add 198.19.3.1/24 dev wan1
	ip -n "$R" addr add 2001:db8:4::1/64 dev wan1 nodad
	ip -n "$S" addr add 198.19.3.2/24 dev eth1
	ip -n "$S" addr add 2001:db8:4::2/64 dev eth1 nodad
	net_gro "$S" eth1
	sexec ping -c1 -W2 198.19.3.1 >/dev/null
}

# A second router-client2 link (lan2: 198.18.4.1 <-> client2 eth1: 198.18.4.2)
# for route changes of flows without NAT.
nfo_add_lan2() {
	veth "$R" lan2 "$C2" eth1
	ip -n "$R" addr add 198.18.4.1/24 dev lan2
	ip -n "$C2" addr add 198.18.4.2/24 dev eth1
	net_gro "$C2" eth1
	c2exec ping -c1 -W2 198.18.4.1 >/dev/null
}

# Transmitted packets of a router device.
tx_packets() {
	rexec cat "/sys/class/net/$1/statistics/tx_packets"
}

# Start the daemon in the router namespace (background); waits until ready.
# NFO_DEVICES lists the offload devices (default: lan0 lan1 wan0).
nfo_start() {
	local devs=() d
	for d in ${NFO_DEVICES:-lan0 lan1 wan0}; do devs+=(--device "$d"); done
	daemon_launch "$R" "$NFO_LOG" 10 --pin-dir "$PIN" "${devs[@]}" \
		--idle-timeout "${NFO_IDLE:-30}" "$@"
	local rc=$?
	NFO_PID=$DAEMON_PID
	[ "$rc" = 0 ] && return 0
	say "# daemon did not start:"
	sed 's/^/#   /' "$NFO_LOG"
	return 1
}

# Stop the daemon with SIGTERM; one that ignores it for a minute is killed
# and the test fails.
nfo_stop() {
	[ -n "$NFO_PID" ] || return 0
	daemon_terminate "$NFO_PID" 60 || fail "the daemon did not exit on SIGTERM"
	NFO_PID=
}

# Fast-path totals over all devices: fwd_packets, fwd_bytes, or a slow-path
# reason (no_flow, mtu, ...).
nfo_total() {
	nfo stats -j | $PY -c '
import json, sys
t = json.load(sys.stdin)["total"]
k = sys.argv[1]
print(t[k] if k in t else t["slow_path"][k])' "$1"
}

# Stats of one device: nfo_dev_stat DEV KEY
nfo_dev_stat() {
	nfo stats -j | $PY -c '
import json, sys
for d in json.load(sys.stdin)["devices"]:
    if d["name"] == sys.argv[1]:
        k = sys.argv[2]
        print(d[k] if k in d else d["slow_path"][k])' "$1" "$2"
}

TRAFFIC="$PY $ROOT/tests/lib/traffic.py"

# A TCP transfer with content check:
#   tcp_transfer FROM_NS TO_NS DST_ADDR PORT MB [LISTEN_PORT]
# The receiver listens on LISTEN_PORT (default PORT) in TO_NS, IPv4 and IPv6;
# the sender connects to DST_ADDR:PORT; sha256 of both ends must match.
tcp_transfer() {
	local from=$1 to=$2 dst=$3 port=$4 mb=$5 lport=${6:-$4} lp
	head -c "$((mb * 1048576))" /dev/urandom >"$TMP/tx.$port"
	ip netns exec "$to" socat -u "TCP6-LISTEN:$lport,reuseaddr,ipv6only=0" \
		"OPEN:$TMP/rx.$port,creat,trunc" &
	lp=$!
	wait_for 5 listening "$to" "$lport" || { kill $lp 2>/dev/null; return 1; }
	case $dst in *:*) dst="[$dst]" ;; esac
	if ! ip netns exec "$from" timeout 120 socat -u "FILE:$TMP/tx.$port" "TCP:$dst:$port"; then
		kill $lp 2>/dev/null
		return 1
	fi
	wait $lp
	[ "$(sha256sum <"$TMP/tx.$port")" = "$(sha256sum <"$TMP/rx.$port")" ]
}

listening() { # listening NS PORT
	ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .
}
udp_listening() { # udp_listening NS PORT
	ip netns exec "$1" ss -Hlun "sport = :$2" | grep -q .
}

# A helper make test-e2e builds (build/tests/NAME); the test fails without it.
need_built() { # need_built NAME
	[ -f "$ROOT/build/tests/$1" ] && return 0
	say "not ok - build/tests/$1 is missing (make test-e2e builds it)"
	exit 1
}

# The kernel has conntrack's BPF functions: the fast path holds conntrack
# (status: features.conntrack_bpf); else the daemon does, at its checks.
ct_kfuncs() {
	"$NFO" status -j 2>/dev/null | $PY -c 'import json,sys; sys.exit(not json.load(sys.stdin)["features"]["conntrack_bpf"]["available"])'
}

flows_at_least() { # flows_at_least N
	[ "$(nfo flows --count 2>/dev/null || echo 0)" -ge "$1" ]
}

flows_at_most() { # flows_at_most N
	[ "$(nfo flows --count 2>/dev/null || echo 0)" -le "$1" ]
}

# Offloaded connections matching flows filter options (e.g. --port 7).
flows_matching() {
	nfo flows --count "$@" 2>/dev/null || echo 0
}

# For wait_for (which re-runs a command, so no $(...) in its arguments):
port_flows() { # port_flows PORT N: exactly N connections with this port
	[ "$(flows_matching --port "$1")" -eq "$2" ]
}

# Router's ruleset counter of the rule with this comment.
rule_packets() { ns_rule_packets "$R" "$1"; }

# The same in namespace NS: ns_rule_packets NS COMMENT
ns_rule_packets() {
	ip netns exec "$1" nft -j list ruleset | $PY -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    r = o.get("rule")
    if r and r.get("comment") == sys.argv[1]:
        for e in r["expr"]:
            if "counter" in e:
                print(e["counter"]["packets"]); sys.exit(0)
print(-1)' "$2"
}

# Nothing of nft-offload left in the router namespace?
nothing_left() {
	local d
	rexec nft list table inet nft_offload >/dev/null 2>&1 && { say "# table left"; return 1; }
	for d in lan0 lan1 wan0; do
		rexec tc filter show dev $d ingress 2>/dev/null | grep -q nfo_tc && { say "# tc left on $d"; return 1; }
		rexec ip link show dev $d 2>/dev/null | grep -q "prog/xdp" && { say "# xdp left on $d"; return 1; }
	done
	[ -z "$(ls -A "$PIN" 2>/dev/null)" ] || { say "# pins left: $(ls "$PIN")"; return 1; }
	[ "$(rexec cat /proc/sys/net/netfilter/nf_conntrack_events)" = 2 ] ||
		{ say "# nf_conntrack_events not restored"; return 1; }
	return 0
}

nfo_flow_count() {
	nfo flows --count
}

# Wait until COND (a command) succeeds, up to SECONDS (tenths checked).
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

nfo_done() {
	if [ "$FAILS" -gt 0 ]; then
		say "# $FAILS check(s) failed"
		exit 1
	fi
	exit 0
}
