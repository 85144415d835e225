#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # cleanup and its helpers run from traps
#
# demo/demo.sh - what `make demo` runs: the same UDP traffic through a router
# with a 1,000-rule forward chain, first through the kernel's own path, then
# with nft-offload, and what nft-offload shows about it.
#
#   client (trafgen)  --veth--  router (ruleset, NAT)  --veth--  server (sink)
#   198.18.1.2           lan0 198.18.1.1   wan0 198.19.2.1        198.19.2.2
#
# Everything lives in network namespaces this script creates (names carry its
# PID) and in a private BPF filesystem mount; nothing of the host (interfaces,
# ruleset, sysctls) is touched, and everything is removed on exit, on failure
# and on Ctrl-C. Addresses: 198.18.0.0/15 (RFC 2544 benchmarking range) only.
#
# Knobs: DEMO_SECS (seconds per measurement, 5), DEMO_REPS (repetitions per
# configuration, 3), DEMO_RULES (filler rules in the forward chain, 1000),
# NFO (path to the nft-offload binary).
#
# The rates are whole-pipeline rates on one CPU: the generator, the router's
# forwarding (softirq on the sending CPU) and the sink all share CPU 0, so
# they depend on the machine and on whatever else runs on it. The ratio of
# the two configurations, measured back to back in one run, is the result.
set -eEu

cd "$(dirname "$0")/.."
ROOT=$PWD
NFO=${NFO:-$ROOT/build/nft-offload}
# Namespaces, the daemon, traffic: the tests' library.
# shellcheck source=../tests/lib/net.sh
source "$ROOT/tests/lib/net.sh"
# shellcheck source=../tests/lib/daemon.sh
source "$ROOT/tests/lib/daemon.sh"
TRAFFIC=(python3 "$ROOT/tests/lib/traffic.py")
SECS=${DEMO_SECS:-5}
REPS=${DEMO_REPS:-3}
RULES=${DEMO_RULES:-1000}
WARMUP=1 # seconds of traffic before a measurement window opens
for v in "$SECS" "$REPS" "$RULES"; do
	case $v in
	'' | *[!0-9]*) echo "demo: DEMO_SECS, DEMO_REPS and DEMO_RULES must be numbers" >&2; exit 2 ;;
	esac
done
if [ "$SECS" -lt 1 ] || [ "$REPS" -lt 1 ] || [ "$RULES" -lt 2 ]; then
	echo "demo: DEMO_SECS and DEMO_REPS must be >= 1, DEMO_RULES >= 2" >&2
	exit 2
fi

ID=$$
C=nfod${ID}c # client: the traffic generator
R=nfod${ID}r # router: ruleset, NAT, nft-offload
S=nfod${ID}s # server: the sink, counted at its interface
TMP=$(mktemp -d "/tmp/nfo-demo.$ID.XXXXXX")
BPFFS=$TMP/bpf
PIN=$BPFFS/nfo
LOG=$TMP/daemon.log

CLIENT=$NET_CLIENT4
SERVER=$NET_SERVER4
SPORT=40000
DPORT=7000

TG_PID=
DAEMON_PID=
ECHO_PID=
STARTED= # every PID this script started, checked gone at the end
T0=$EPOCHREALTIME

say() { printf '%s\n' "$*"; }
die() {
	say "demo: FAILED: $*" >&2
	exit 1
}
rexec() { ip netns exec "$R" "$@"; }
nfo() { ip netns exec "$R" "$NFO" --pin-dir "$PIN" "$@"; }
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b - a}'; }

# ---- progress --------------------------------------------------------------

# Estimated seconds of each step, so that every announcement can say roughly
# how long the rest takes. One measurement = warm-up + window + start/stop.
MEASURE=$((REPS * (SECS + WARMUP)))
STEP_NAMES=(prereq topology flow kernel offload cleanup)
STEP_SECS=(1 2 1 "$MEASURE" $((MEASURE + 1)) 1)
STEP=0

# step N TEXT [DETAIL]: announce step N with the time left including it.
step() {
	local n=$1 text=$2 detail=${3:+$3, } left=0 i
	STEP=$n
	for ((i = n - 1; i < ${#STEP_SECS[@]}; i++)); do left=$((left + STEP_SECS[i])); done
	say ""
	say "[$n/${#STEP_NAMES[@]}] $text (${detail}~${left} s left)"
}

# ---- cleanup: on success, failure and Ctrl-C ---------------------------------

# shellcheck source=../scripts/procs.sh
source "$ROOT/scripts/procs.sh"

tg_stop() {
	[ -n "$TG_PID" ] || return 0
	STARTED="$STARTED $TG_PID $(pgrep -P "$TG_PID" 2>/dev/null | tr '\n' ' ' || true)"
	stop_trafgen "$TG_PID"
	TG_PID=
}

# The daemon removes its programs, nft table and pins on SIGTERM; the
# namespaces and the bpffs mount go afterwards in any case.
daemon_stop() {
	[ -n "$DAEMON_PID" ] || return 0
	daemon_terminate "$DAEMON_PID" || true
	DAEMON_PID=
}

# What the daemon's SIGTERM must have removed, checked before the namespaces
# (which would take it along anyway) go.
daemon_traces() {
	local t=""
	rexec nft list table inet nft_offload >/dev/null 2>&1 && t="$t nft-table"
	for d in lan0 wan0; do
		rexec tc filter show dev "$d" ingress 2>/dev/null | grep -q . && t="$t tc-on-$d"
		ip -n "$R" link show dev "$d" 2>/dev/null | grep -q "prog/xdp" && t="$t xdp-on-$d"
	done
	[ -z "$(ls -A "$PIN" 2>/dev/null)" ] || t="$t pins"
	printf '%s' "$t"
}

cleanup() {
	local rc=$? p left="" had_daemon=$DAEMON_PID traces
	trap - EXIT ERR
	trap '' INT TERM # a second Ctrl-C must not leave half a cleanup
	set +eE
	if [ "$STEP" != 6 ]; then
		[ "$rc" = 0 ] && rc=1
		say ""
		say "[6/${#STEP_NAMES[@]}] cleaning up after the failure or interruption"
	fi
	tg_stop
	daemon_stop
	if [ -n "$had_daemon" ]; then
		traces=$(daemon_traces)
		if [ -z "$traces" ]; then
			say "      nft-offload stopped; nothing of it is left (nft table, tc programs, pins)"
		else
			say "demo: WARNING: nft-offload left behind after SIGTERM:$traces" >&2
			[ "$rc" = 0 ] && rc=1
		fi
	fi
	stop_pid "$ECHO_PID"
	# Anything else still running in our namespaces (nothing, normally),
	# the namespaces, the bpffs mount.
	net_cleanup
	# Check, do not assume: our namespaces, processes and mount are gone.
	[ -z "$(net_left "$C" "$R" "$S")" ] || left="$left namespaces"
	for p in $STARTED; do kill -0 "$p" 2>/dev/null && left="$left process-$p"; done
	grep -q " $BPFFS " /proc/mounts && left="$left bpffs-mount"
	rm -rf "$TMP"
	if [ -n "$left" ]; then
		say "demo: WARNING: left behind:$left" >&2
		[ "$rc" = 0 ] && rc=1
	else
		say "      removed namespaces, processes and the bpffs mount: nothing left"
	fi
	if [ "$rc" = 0 ]; then
		say ""
		say "demo finished in $(elapsed) s."
	else
		say "demo: failed (exit $rc) after $(elapsed) s" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'say ""; say "demo: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
# set -e alone would stop without a word: name the command that failed.
trap 'say "demo: FAILED: line $LINENO: $BASH_COMMAND" >&2' ERR

# ---- step 1: prerequisites ---------------------------------------------------

prereq() {
	local t missing=""
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, BPF): sudo make demo"
	[ -x "$NFO" ] || die "$NFO not built: run make first"
	for t in ip nft trafgen jq python3 taskset mountpoint pgrep conntrack; do
		command -v "$t" >/dev/null || missing="$missing $t"
	done
	[ -z "$missing" ] || die "missing tools:$missing (make deps installs them)"
	# CPU 0 belongs to the traffic (generator, forwarding, sink). This script,
	# the tools it runs to read counters and the daemon use CPU 1, so that
	# reading a counter does not take time from the pipeline it measures.
	NCPU=$(nproc --all)
	if [ "$NCPU" -ge 2 ]; then
		taskset -pc 1 $$ >/dev/null
		AUX_CPU=1
	else
		AUX_CPU=0
		say "      only one CPU: everything shares it; the rates will be lower"
	fi
	say "      $("$NFO" --version 2>/dev/null || echo nft-offload), kernel $(uname -r), $NCPU CPUs"
}

# ---- step 2: the router ------------------------------------------------------

# A small home/office router's forward chain: invalid packets dropped, then a
# block list of $RULES rules that apply to every packet (also of established
# connections, so that adding an entry cuts a live connection), then the
# usual established/LAN-to-WAN/port-forward accepts, policy drop; masquerade
# on the WAN side and one port forward. Every block-list entry names hosts in
# 198.19.128.0/17 or 2001:db8:ff::/48, which the demo's traffic never uses.
ruleset() {
	local i h l
	printf 'table inet filter {\n'
	printf '\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n'
	printf '\t\tct state established,related accept\n\t\tct state invalid drop\n'
	printf '\t\tiif "lo" accept\n\t\tiifname "lan0" accept\n'
	printf '\t\tmeta l4proto { icmp, ipv6-icmp } accept\n\t}\n'
	printf '\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n'
	printf '\t\tct state invalid counter drop comment "invalid"\n'
	for ((i = 0; i < RULES; i++)); do
		h=$((128 + i / 250))
		l=$((1 + i % 250))
		case $((i % 4)) in
		0) printf '\t\tip daddr 198.19.%d.%d counter drop\n' "$h" "$l" ;;
		1) printf '\t\tip saddr 198.19.%d.%d tcp dport %d counter drop\n' "$h" "$l" $((1024 + i)) ;;
		2) printf '\t\tip daddr 198.19.%d.%d udp dport %d counter drop\n' "$h" "$l" $((1024 + i)) ;;
		3) printf '\t\tip6 daddr 2001:db8:ff::%x counter drop\n' "$i" ;;
		esac
	done
	printf '\t\tct state established,related counter accept comment "established"\n'
	printf '\t\ticmp type echo-request counter accept\n'
	printf '\t\tiifname "lan0" oifname "wan0" counter accept comment "lan to wan"\n'
	printf '\t\tct status dnat counter accept comment "port forwards"\n'
	printf '\t}\n}\n'
	printf 'table inet nat {\n'
	printf '\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat;\n'
	printf '\t\tiifname "wan0" tcp dport 8080 dnat ip to %s:80\n\t}\n' "$CLIENT"
	printf '\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat;\n'
	printf '\t\toifname "wan0" masquerade\n\t}\n}\n'
}

# client, router, server and their addresses: tests/lib/net.sh.
topology() {
	local ns
	net_router "$C" "$R" "$S"
	# IPv4 only: no IPv6 neighbour discovery or router solicitations in the
	# counters (the ruleset still has IPv6 rules, as a dual-stack one would).
	for ns in "$C" "$R" "$S"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
	done
	# The flow is created once, before both phases: it must not expire in
	# between (an expired UDP flow comes back unreplied and is not offloaded).
	rexec sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600 \
		net.netfilter.nf_conntrack_udp_timeout_stream=600 2>/dev/null || true
	# Static neighbours: no ARP in the middle of a measurement.
	net_static_neigh "$C" "$R" "$S"
	CLIENT_MAC=$NET_CLIENT_MAC
	LAN_MAC=$NET_LAN_MAC
	ruleset >"$TMP/ruleset.nft"
	rexec nft -f "$TMP/ruleset.nft"
	FWD_RULES=$(rexec nft -j list chain inet filter forward | jq '[.nftables[] | select(.rule)] | length')
	# The sink drops the generator's packets (UDP length 26) at ingress, before
	# they cost a socket lookup or an ICMP error; the interface counter has
	# counted them by then. The request/reply below is longer and passes.
	ip netns exec "$S" nft -f - <<EOF
table netdev sink {
	chain ingress {
		type filter hook ingress device "eth0" priority 0;
		udp dport $DPORT udp length 26 counter drop
	}
}
EOF
	net_bpffs "$BPFFS"
	say "      client $CLIENT --lan0-- router --wan0-- server $SERVER"
	say "      router: $FWD_RULES forward rules (policy drop), masquerade on wan0; the forward chain:"
	rexec nft -s list chain inet filter forward | grep -E 'drop|accept' | grep -v 'type filter' >"$TMP/fwd.txt"
	sed -n '1,3p' "$TMP/fwd.txt" | sed 's/^[[:space:]]*/        /'
	say "        ... $((RULES - 2)) more block-list rules like these, checked for every packet ..."
	tail -n 4 "$TMP/fwd.txt" | sed 's/^[[:space:]]*/        /'
}

# ---- step 3: the flow ----------------------------------------------------------

# nft-offload (like the kernel flowtable) offloads a UDP flow only once
# conntrack has seen a reply: one request from the client's port, answered by
# the server, before the generator sends the same 5-tuple.
open_flow() {
	rm -f "$TMP/echo.ready"
	ip netns exec "$S" "${TRAFFIC[@]}" udp-echo --addr "$SERVER" --ready "$TMP/echo.ready" \
		$DPORT >"$TMP/echo.log" 2>&1 &
	ECHO_PID=$!
	STARTED="$STARTED $ECHO_PID"
	for _ in $(seq 50); do
		[ -e "$TMP/echo.ready" ] && break
		sleep 0.1
	done
	# One request (64 bytes: not what the sink drops), sent up to 5 times.
	ip netns exec "$C" "${TRAFFIC[@]}" udp-rr "$SERVER" $DPORT 1 --sport $SPORT --timeout 1 \
		--tries 5 >"$TMP/rr.log" 2>&1 ||
		die "no reply from the server: the router does not forward ($(tail -3 "$TMP/echo.log"))"
	stop_pid "$ECHO_PID"
	ECHO_PID=
	say "      conntrack has seen the reply: $(rexec conntrack -L -p udp --dport $DPORT 2>/dev/null | head -1 | sed 's/  */ /g')"
}

# ---- traffic and measurement -----------------------------------------------------

# 64-byte frames: 14 Ethernet + 20 IPv4 + 8 UDP + 18 payload (+ 4 FCS).
# trafgen computes the checksums; the router's MAC is the destination.
trafgen_cfg() {
	printf '{ eth(da=%s, sa=%s), ipv4(saddr=%s, daddr=%s, ttl=64), udp(sp=%d, dp=%d), fill(0x00, 18) }\n' \
		"$LAN_MAC" "$CLIENT_MAC" $CLIENT $SERVER $SPORT $DPORT >"$TMP/trafgen.cfg"
}

trafgen_start() {
	# One process (-P 1) pinned to CPU 0; --no-sock-mem leaves the host's
	# socket memory sysctls alone.
	ip netns exec "$C" taskset -c 0 trafgen -i "$TMP/trafgen.cfg" -o eth0 -P 1 \
		--no-sock-mem --no-cpu-stats >"$TMP/trafgen.log" 2>&1 &
	TG_PID=$!
	sleep 0.2
	kill -0 "$TG_PID" 2>/dev/null || die "trafgen did not start: $(tail -3 "$TMP/trafgen.log")"
}

sink_rx() { ip netns exec "$S" cat /sys/class/net/eth0/statistics/rx_packets; }
fastpath_pkts() {
	if [ -n "$DAEMON_PID" ]; then nfo stats -j | jq '.total.fwd_packets'; else echo 0; fi
}
# Packets the forward chain's "established" rule judged: what the ruleset saw.
ruleset_pkts() {
	rexec nft -j list chain inet filter forward |
		jq '[.nftables[].rule? | select(.comment == "established") | .expr[] | .counter?.packets | select(.)] | add // 0'
}

# After the daemon starts, the flow's next packet is marked by nft-offload's
# chain and the flow enters the fast path within milliseconds: wait until the
# fast path carries (nearly) everything the sink receives.
wait_offloaded() {
	local i f1 r1 f2 r2
	for i in $(seq 20); do
		f1=$(fastpath_pkts)
		r1=$(sink_rx)
		sleep 0.25
		f2=$(fastpath_pkts)
		r2=$(sink_rx)
		[ $((r2 - r1)) -gt 0 ] && [ $(((f2 - f1) * 100)) -ge $(((r2 - r1) * 98)) ] && return 0
	done
	say "      daemon log:"
	sed 's/^/        /' "$LOG"
	die "the flow did not move to the fast path within 5 s ($(nfo flows --count 2>/dev/null || echo 0) flows offloaded)"
}

# measure LABEL: REPS windows of SECS seconds; appends pps to RATES_<LABEL>.
# With the daemon running, the status/flows/stats snapshots are taken after
# the last window, while the traffic still runs. Over the whole phase (warm-up
# included, so that nothing slips between windows) it also counts what the
# sink received and what the ruleset's "established" rule judged.
measure() {
	local label=$1 rep t1 t2 r1 r2 f1 f2 p0 e0 pps share
	local -n rates=RATES_$label
	p0=$(sink_rx)
	e0=$(ruleset_pkts)
	for ((rep = 1; rep <= REPS; rep++)); do
		trafgen_start
		if [ -n "$DAEMON_PID" ]; then wait_offloaded; else sleep "$WARMUP"; fi
		# Each counter is read at the same point of both snapshots.
		t1=$EPOCHREALTIME
		r1=$(sink_rx)
		f1=$(fastpath_pkts)
		sleep "$SECS"
		t2=$EPOCHREALTIME
		r2=$(sink_rx)
		f2=$(fastpath_pkts)
		if [ -n "$DAEMON_PID" ] && [ "$rep" = "$REPS" ]; then
			nfo status >"$TMP/status.txt" 2>&1 || true
			nfo flows >"$TMP/flows.txt" 2>&1 || true
			nfo stats >"$TMP/stats.txt" 2>&1 || true
		fi
		tg_stop
		[ -z "$DAEMON_PID" ] || kill -0 "$DAEMON_PID" 2>/dev/null ||
			die "the daemon died: $(tail -5 "$LOG")"
		[ $((r2 - r1)) -gt 0 ] || die "no packet reached the server in ${SECS} s"
		pps=$(awk -v r=$((r2 - r1)) -v a="$t1" -v b="$t2" 'BEGIN{printf "%.0f", r / (b - a)}')
		rates+=("$pps")
		if [ -n "$DAEMON_PID" ]; then
			share=$(awk -v f=$((f2 - f1)) -v r=$((r2 - r1)) 'BEGIN{printf "%.0f", f * 100 / r}')
			say "      run $rep/$REPS: $(kpps "$pps") kpps, ${share}% via the fast path"
		else
			say "      run $rep/$REPS: $(kpps "$pps") kpps"
		fi
	done
	sleep 0.2 # the last packets in flight
	PKTS_SEEN[$label]=$(($(sink_rx) - p0))
	RULE_SEEN[$label]=$(($(ruleset_pkts) - e0))
}

kpps() { awk -v p="$1" 'BEGIN{printf "%.1f", p / 1000}'; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
group() { printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

daemon_start() {
	# CPU 1 (with the script): CPU 0 is the traffic's.
	if ! DAEMON_CPU=$AUX_CPU daemon_launch "$R" "$LOG" 10 --pin-dir "$PIN" \
		--device lan0 --device wan0; then
		[ -z "$DAEMON_PID" ] || STARTED="$STARTED $DAEMON_PID"
		say "      daemon log:"
		sed 's/^/        /' "$LOG"
		die "nft-offload run did not start"
	fi
	STARTED="$STARTED $DAEMON_PID"
	say "      $(grep -m1 "running:" "$LOG" | sed 's/^[^:]*: //')"
}

# ---- main ------------------------------------------------------------------------

declare -a RATES_kernel=() RATES_offload=()
declare -A PKTS_SEEN=() RULE_SEEN=()

say "nft-offload demo: 64-byte UDP through a router with a $RULES-rule forward chain,"
TOTAL=0
for t in "${STEP_SECS[@]}"; do TOTAL=$((TOTAL + t)); done
say "without and with nft-offload ($REPS x ${SECS} s each; about $TOTAL s in all)."

step 1 "checking prerequisites"
prereq

step 2 "building the demo router: 3 network namespaces, $RULES-rule ruleset, masquerade"
topology
trafgen_cfg

step 3 "opening the UDP flow $CLIENT:$SPORT -> $SERVER:$DPORT with a request and a reply"
open_flow

step 4 "measuring without offload: every packet through conntrack and the ruleset" "$REPS x ${SECS} s"
measure kernel

step 5 "starting nft-offload (devices lan0 wan0), measuring the same traffic with it" "$REPS x ${SECS} s"
daemon_start
# nft-offload offloads a flow once the ruleset accepted a packet of each
# direction with its chain in place: one more request and reply.
open_flow
measure offload

K=$(median "${RATES_kernel[@]}")
O=$(median "${RATES_offload[@]}")
say ""
say "=== 64-byte UDP, one flow, $FWD_RULES forward rules + masquerade: median of $REPS x ${SECS} s ==="
say ""
printf '  %-34s %12s   %s\n' "router" "packets/s" "each run (kpps)"
printf '  %-34s %12s   %s\n' "kernel path (conntrack + ruleset)" "$(group "$K")" \
	"$(for r in "${RATES_kernel[@]}"; do kpps "$r"; echo; done | paste -sd' ')"
printf '  %-34s %12s   %s\n' "with nft-offload" "$(group "$O")" \
	"$(for r in "${RATES_offload[@]}"; do kpps "$r"; echo; done | paste -sd' ')"
printf '  %-34s %12s\n' "ratio" "$(awk -v o="$O" -v k="$K" 'BEGIN{printf "%.1fx", o / k}')"
say ""
say "  Over each whole phase the forward chain's \"established\" rule judged"
say "  $(group "${RULE_SEEN[kernel]}") of the $(group "${PKTS_SEEN[kernel]}") packets the server received without offload, and"
say "  $(group "${RULE_SEEN[offload]}") of $(group "${PKTS_SEEN[offload]}") with it: the ruleset accepted the flow, then the"
say "  fast path forwarded it."
say "  These are whole-pipeline rates: generator, router and sink share CPU 0 over"
say "  veth, so absolute numbers depend on the machine and its load; the ratio is"
say "  the result."
for what in status flows stats; do
	say ""
	say "=== nft-offload $what (taken while the offloaded traffic ran) ==="
	sed 's/^/  /' "$TMP/$what.txt"
done
say ""

step 6 "stopping nft-offload and removing the demo router"
exit 0
