#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/run.sh - what `make bench` runs: nft-offload against the kernel's own
# forwarding path, on one machine, in network namespaces this script creates.
#
#   generator (trafgen, iperf3 client) --veth-- router --veth-- sink (XDP drop,
#   198.18.1.2                         lan0  wan0  iperf3 server)
#                                      198.18.1.1  198.19.2.1      198.19.2.2
#
# Phases, each interleaving its configurations round-robin over several
# repetitions (every other repetition in reverse order, so that slow drift of
# a shared, noisy machine falls on every configuration alike):
#   udp    64-byte UDP rate vs ruleset size N: kernel without ruleset, kernel
#          with conntrack + N rules + masquerade, nft-offload tc and XDP with
#          the same rulesets, and the ceiling (a bare redirect, tc and XDP)
#   scale  the same at one N with 1 / 1k / 100k flows, and with 1M dummy
#          entries in the flow map
#   bridge the same at one N with the LAN behind a Linux bridge (br-lan, the
#          router's veth lan0 its port): kernel and tc, beside plain veth
#   steady the largest flow set of the scale phase, no rules: the rate in
#          windows of 0.1 s for STEADY_S seconds, its lowest against its
#          median, and the windows just after each start of the clock's
#          8.6 s periods against the others (plain forwarding beside it, for
#          the host's own dips): whether the conntrack holds of all flows
#          fall together and cut the rate for a moment
#   tcp    iperf3 bulk throughput, kernel vs offload, with the offloads a
#          real NIC has (TSO at the sender, GRO at the router's ingress)
#          where veth allows; then the share of a 2 MiB transfer's packets
#          that still pass the forward chain
#   cpu2   two flows from two trafgen processes on two CPUs against one
#          flow on one CPU: how the fast path scales with cores
#   cp     control plane: conntrack entries flooded in, offloads/s, latency,
#          events lost at a 50,000/s flood, daemon CPU and memory, and how
#          long a new connection waits for admission while a full dump runs
#   trb    BPF_PROG_TEST_RUN cost of the fast path alone (bench/test_run.sh)
#   prof   (only when asked for: BENCH_PHASES=prof) CPU 0 per forwarded packet by
#          kernel function (perf), bare redirect, tc, XDP and plain forwarding side
#          by side: where the distance to the limit goes
#   sets   (only when asked for: BENCH_PHASES=sets) a blocklist set updated
#          once a second while the largest flow set runs offloaded: the
#          fast-path share of the traffic the updates do not concern, with
#          the set looked up directly (only concerned flows go back) and
#          through a mask (every flow goes back at every update)
#   ha     (only when named in BENCH_PHASES) an HA pair's failover with
#          BENCH_HA_FLOWS (default 100,000) offloaded connections
#          (bench/ha.sh, namespaces of its own; needs conntrackd, keepalived)
# Results: bench/results/latest.{md,png} for a full run, latest-quick.* for a
# quick one and latest-partial.* for some phases only (so a development run
# never replaces the published table),
# dated copies plus raw samples in bench/results/archive/; the table is
# printed at the end.
#
# QUICK=1 (make bench QUICK=1): fewer rule counts, repetitions and flows,
# shorter intervals; about 5 minutes. Knobs for experiments: NFO=path to
# another nft-offload binary, BENCH_RULES, BENCH_REPS, BENCH_INTERVAL,
# BENCH_PHASES (e.g. "udp tcp"), BENCH_DAEMON_ARGS (e.g. "-v -v"),
# BENCH_CP_FLOWS (connections in the control-plane phase).
#
# BENCH_CT_MAX=N: conntrack's limit, net.netfilter.nf_conntrack_max, is
# host-wide and cannot be raised inside a namespace. By default the benchmark
# leaves it alone and the control-plane phase floods in what fits under it;
# with BENCH_CT_MAX it raises the limit to N for that phase only and restores
# the old value afterwards, also on failure or Ctrl-C. A million connections:
#   make bench BENCH_CT_MAX=1200000
#
# Rates are whole-pipeline rates: generator, router and sink share CPU 0
# (trafgen pinned there; the forwarding runs in softirq on the sending CPU).
# Compare ratios measured in one run, never absolute numbers across runs.
set -eu
export LC_ALL=C # decimal points in EPOCHREALTIME and awk, whatever the locale

cd "$(dirname "$0")/.."
ROOT=$PWD
NFO_SRC=${NFO:-$ROOT/build/nft-offload}
PY=/usr/bin/python3 # the system one: the pyenv python3 on PATH may differ
case ${QUICK:-0} in 0 | "") QUICK=0 ;; *) QUICK=1 ;; esac

if [ "$QUICK" = 1 ]; then
	RUN_KIND=quick
	RULES=${BENCH_RULES:-"0 1000"}
	REPS=${BENCH_REPS:-3}
	INTERVAL=${BENCH_INTERVAL:-1}
	WARMUP=0.5
	READY_TIMEOUT=3 # seconds for the fast path to take over (+1 per 10k flows)
	SCALE_FLOWS="1 1000 10000"
	SCALE_REPS=2
	TCP_REPS=2
	TCP_SECS=1
	STEADY_S=10
	CP_FLOWS=${BENCH_CP_FLOWS:-150000}
	CP_WAIT=20
	CP_STALL=3
	IDLE_WIN=2
	CP_CATCHUPS=2 # latency measured after the catch-up dumps at 2 and 10 s
	CP_RATE=10000 # new connections/s for the latency measurement
	CP_PACED_S=3
	CP_FLOOD_S=1 # seconds of the CP_FLOOD_RATE flood
	PROBE_S=3    # seconds of admission probes around a full dump
	TRB_RUNS=100
	ATTEMPTS=2
	RETRY_BUDGET=4
else
	RUN_KIND=full
	RULES=${BENCH_RULES:-"0 100 1000 10000"}
	REPS=${BENCH_REPS:-5}
	INTERVAL=${BENCH_INTERVAL:-2}
	WARMUP=1
	READY_TIMEOUT=10
	SCALE_FLOWS="1 1000 100000"
	SCALE_REPS=3
	TCP_REPS=3
	TCP_SECS=5
	STEADY_S=26 # three periods of the conntrack holds (8.6 s)
	# Fewer when conntrack's limit does not leave room (see BENCH_CT_MAX).
	CP_FLOWS=${BENCH_CP_FLOWS:-1000000}
	CP_WAIT=60
	CP_STALL=10
	IDLE_WIN=10
	CP_CATCHUPS=3 # ... at 2, 10 and 30 s
	CP_RATE=10000
	CP_PACED_S=10
	CP_FLOOD_S=4
	PROBE_S=8
	TRB_RUNS=2000
	ATTEMPTS=3
	RETRY_BUDGET=60
fi
OTHER_MAX=0.10 # share of CPU 0 that other work may take before a sample is repeated
# A sample's window opens once the fast path carries this share (or at the
# timeout): the window then measures the steady state, not the admission of
# the last flows (timed separately, READY_S), as the 99% goal asks.
READY_SHARE=0.99
CP_FLOOD_RATE=50000 # new connections/s of the flood that must lose no event
PROBE_RATE=200      # admission probes/s around the full dump
ALL_PHASES="udp scale steady bridge tcp cpu2 cp trb" # sets: selectable (BENCH_PHASES=sets), not in a full run
PHASES=${BENCH_PHASES:-$ALL_PHASES}
MAIN_FLOWS=1000 # flows in the rule-count sweep
DUMMY=1000000   # dummy flow map entries in the scale phase
# The rule count of the scale and TCP phases: 1000 if swept, else the largest.
SCALE_RULES=$(printf '%s\n' $RULES | grep -qx 1000 && echo 1000 || printf '%s\n' $RULES | sort -n | tail -1)

ID=$$
G=nfob${ID}g # generator
R=nfob${ID}r # router
S=nfob${ID}s # sink
TMP=$(mktemp -d "/tmp/nfo-bench.$ID.XXXXXX")
PIN=$TMP/bpf/nfo
BIN=$TMP/bin
SAMPLES=$TMP/samples.tsv
META=$TMP/meta.txt
RESULTS=$ROOT/bench/results
STAMP=$(date +%Y%m%d-%H%M%S)
T_START=$EPOCHREALTIME

DAEMON_PID=
DAEMON_MODE=
DAEMON_XARGS=
GAVE_UP= # samples left out: trafgen kept exiting (cpu2 only)
GAVE_UP_LAST=
TG_PID=
TG_FLOWS=
TG_PINNED=
ECHO_PID=
IPERF_PID=
UPD_PID=       # the set updater of the sets phase
CUR_RULES=none # ruleset loaded in the router: none or N
LAN_DEV=lan0   # the router's LAN device: lan0, or br-lan with lan0 its port
LIMIT=         # bare redirect attached: "", tc or xdp
DUMMY_IN=0     # dummy entries are in the flow map
RETRIES=0      # samples repeated because CPU 0 was busy with other work
DISTURBED=0    # samples kept although disturbed (attempts or budget used up)
STALLS=0       # samples in which no packet reached the sink (repeated)
STOPS=0        # daemon stops, and the ct marks they left behind
CT_MAX_OLD=    # host nf_conntrack_max before BENCH_CT_MAX raised it
MARKS_LEFT=0
LEFT_LAST=0    # what the last stop left marked

say() { printf '%s\n' "$*" >&2; }
die() {
	say "bench: $*"
	exit 1
}
meta() { printf '%s=%s\n' "$1" "$2" >>"$META"; }
rexec() { ip netns exec "$R" "$@"; }
nfo() { ip netns exec "$R" "$NFO" --pin-dir "$PIN" "$@"; }

# ---- cleanup: on success, failure and Ctrl-C --------------------------------

# shellcheck source=../scripts/procs.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/procs.sh"

CT_MAX_SYSCTL=net.netfilter.nf_conntrack_max
ct_max_restore() {
	[ -n "$CT_MAX_OLD" ] || return 0
	sysctl -qw "$CT_MAX_SYSCTL=$CT_MAX_OLD" &&
		say "bench: host $CT_MAX_SYSCTL restored to $CT_MAX_OLD"
	CT_MAX_OLD=
}

tg_stop() {
	stop_trafgen "$TG_PID" "$G"
	TG_PID=
}

cleanup() {
	local rc=$? ns p
	trap - EXIT INT TERM
	set +e
	tg_stop
	# SIGTERM makes the daemon remove its programs, table and pins.
	stop_pid "$DAEMON_PID"
	stop_pid "$ECHO_PID"
	stop_pid "$IPERF_PID"
	stop_pid "$UPD_PID"
	# Whatever else still runs in our namespaces (nothing, normally).
	for ns in "$G" "$R" "$S"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -INT "$p" 2>/dev/null
			sleep 0.2
			kill -KILL "$p" 2>/dev/null
		done
	done
	for ns in "$G" "$R" "$S"; do
		ip netns del "$ns" 2>/dev/null
	done
	mountpoint -q "$TMP/bpf" && umount "$TMP/bpf"
	ct_max_restore
	if [ "$rc" != 0 ] && { [ -s "$TMP/daemon-all.log" ] || [ -s "$TMP/daemon.log" ]; }; then
		# The daemon's side of a failed run, for whoever debugs it.
		mkdir -p "$RESULTS/archive"
		cat "$TMP/daemon-all.log" "$TMP/daemon.log" >"$RESULTS/archive/$STAMP-failed-daemon.log" 2>/dev/null
	fi
	rm -rf "$TMP"
	if ip netns list | grep -q "^nfob${ID}"; then
		say "bench: WARNING: namespaces left behind: $(ip netns list | grep "^nfob${ID}")"
	fi
	[ "$rc" = 0 ] || say "bench: failed (exit $rc)"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- topology ----------------------------------------------------------------

# shellcheck source=../tests/lib/net.sh
source tests/lib/net.sh

# generator -- router -- sink: the client, router and server of
# tests/lib/net.sh (IPv4), with static neighbours.
topology() {
	net_router "$G" "$R" "$S"
	# Conntrack events for every entry. The default (2) gives an entry its
	# event extension only if some ctnetlink listener exists - anywhere on
	# the host - when it is created; the flows opened below before the daemon
	# runs would then never report their mark, and whether they are offloaded
	# would depend on what else runs on the machine.
	rexec sysctl -qw net.netfilter.nf_conntrack_events=1
	# Flows must not expire while another configuration is being measured
	# (an expired UDP flow comes back unreplied and is never offloaded).
	rexec sysctl -qw net.netfilter.nf_conntrack_udp_timeout=3600 \
		net.netfilter.nf_conntrack_udp_timeout_stream=3600
	net_gro "$G" eth0
	net_gro "$S" eth0
	# Static neighbours: no ARP in the way of a measurement.
	net_static_neigh "$G" "$R" "$S"
	GEN_MAC=$NET_CLIENT_MAC
	LAN_MAC=$NET_LAN_MAC
	WAN_MAC=$NET_WAN_MAC
	SINK_MAC=$NET_SERVER_MAC
	WAN_IFINDEX=$(net_ifindex "$R" wan0)
	net_bpffs "$TMP/bpf"
}

bpf_build() {
	local multi
	multi=$(gcc -print-multiarch 2>/dev/null || true)
	clang -O2 -g -target bpf -Wall -Werror ${multi:+-I/usr/include/$multi} \
		-c bench/sink_drop.bpf.c -o "$TMP/sink_drop.bpf.o"
	# The ceiling program has the egress and the MACs built in: no lookup at all.
	clang -O2 -g -target bpf -Wall -Werror ${multi:+-I/usr/include/$multi} \
		-DEGRESS_IFINDEX="$WAN_IFINDEX" -DDST_MAC="$(mac_c "$SINK_MAC")" \
		-DSRC_MAC="$(mac_c "$WAN_MAC")" -c bench/redirect.bpf.c -o "$TMP/redirect.bpf.o"
}

mac_c() { # aa:bb:.. -> 0xaa,0xbb,..
	printf '0x%s' "${1//:/,0x}"
}

sink_xdp() { # on|off: the sink's XDP drop program
	if [ "$1" = on ]; then
		ip -n "$S" link set dev eth0 xdpdrv obj "$TMP/sink_drop.bpf.o" sec xdp
	else
		ip -n "$S" link set dev eth0 xdpdrv off
	fi
}

# ---- rulesets ------------------------------------------------------------------

# A router's forward chain: N rules that do not match the benchmark's traffic
# (each is evaluated, as on a real router whose established-accept rule comes
# late), then established accept, LAN to WAN accept, drop; masquerade on WAN.
# The match values are inside 198.18.0.0/15 but never used by any packet.
ruleset_gen() { # N
	local n=$1 i
	{
		printf 'table inet bench {\n}\ndelete table inet bench\n'
		printf 'table ip benchnat {\n}\ndelete table ip benchnat\n'
		printf 'table inet bench {\n\tchain forward {\n'
		printf '\t\ttype filter hook forward priority filter; policy drop;\n'
		for ((i = 0; i < n; i++)); do
			printf '\t\tip saddr 198.19.%d.%d udp dport %d counter drop\n' \
				$((128 + i / 250)) $((i % 250)) $((10000 + i % 50000))
		done
		printf '\t\tct state established,related counter accept\n'
		printf '\t\tiifname "lan0" oifname "wan0" counter accept\n'
		printf '\t}\n}\n'
		printf 'table ip benchnat {\n\tchain postrouting {\n'
		printf '\t\ttype nat hook postrouting priority srcnat;\n'
		printf '\t\toifname "wan0" masquerade\n\t}\n}\n'
	} >"$TMP/rules.$n.nft"
}

ruleset_load() { # N
	[ "$CUR_RULES" = "$1" ] && return 0
	rexec nft -f "$TMP/rules.$1.nft"
	CUR_RULES=$1
	# A running daemon sends every flow back to the ruleset, and again 250 ms
	# later: flows opened before that second pass go back too, and the
	# generator's one-way packets never set their reply bit again.
	[ -z "${DAEMON_PID:-}" ] || sleep 0.4
}

# No tables at all: no conntrack, no NAT (the kernel's fastest own path).
ruleset_clear() {
	[ "$CUR_RULES" = none ] && return 0
	rexec nft delete table inet bench
	rexec nft delete table ip benchnat
	CUR_RULES=none
}

# ---- daemon and ceiling programs -------------------------------------------------

# shellcheck source=../tests/lib/daemon.sh
source tests/lib/daemon.sh

daemon_start() { # MODE [extra run options]
	local mode=$1
	shift
	[ -s "$TMP/daemon.log" ] && cat "$TMP/daemon.log" >>"$TMP/daemon-all.log"
	echo "=== nft-offload run --mode $mode $* ($(date +%T))" >>"$TMP/daemon-all.log"
	DAEMON_MODE=$mode
	DAEMON_XARGS="$*"
	# CPU 1: the generator and the forwarding own CPU 0. Up to 60 s: the
	# start includes a dump of every marked conntrack entry.
	# shellcheck disable=SC2086 # BENCH_DAEMON_ARGS: extra options, e.g. -v
	DAEMON_CPU=1 daemon_launch "$R" "$TMP/daemon.log" 60 --pin-dir "$PIN" --device "$LAN_DEV" \
		--device wan0 --mode "$mode" ${BENCH_DAEMON_ARGS:-} "$@" && {
		case "$* ${BENCH_DAEMON_ARGS:-}" in
		*--flows*) ;;
		*) grep -q '^flow_capacity_default=' "$META" ||
			meta flow_capacity_default "$(daemon_status | jq '.flows.capacity')" ;;
		esac
		return 0
	}
	sed 's/^/  daemon: /' "$TMP/daemon.log" >&2
	die "nft-offload run --mode $mode did not start"
}

daemon_stop() { # [SECS to wait for it]
	local left
	[ -n "$DAEMON_PID" ] || return 0
	daemon_terminate "$DAEMON_PID" "${1:-10}" || true
	grep -E "warning|error" "$TMP/daemon.log" | sed 's/^/  daemon: /' >>"$TMP/daemon-warnings.log" || true
	DAEMON_PID=
	DAEMON_MODE=
	DAEMON_XARGS=
	DUMMY_IN=0 # the maps went with the daemon
	# The next start must find no connection already marked for offload, as
	# on a fresh router; count what stop left marked, then clear it.
	left=$(rexec "$BIN/ct_unmark")
	STOPS=$((STOPS + 1))
	MARKS_LEFT=$((MARKS_LEFT + left))
	LEFT_LAST=$left
}

limit_attach() { # tc|xdp
	[ "$LIMIT" = "$1" ] && return 0
	limit_detach
	if [ "$1" = tc ]; then
		rexec tc qdisc add dev lan0 clsact
		rexec tc filter add dev lan0 ingress bpf da obj "$TMP/redirect.bpf.o" sec tc
	else
		ip -n "$R" link set dev lan0 xdpdrv obj "$TMP/redirect.bpf.o" sec xdp
	fi
	LIMIT=$1
}

limit_detach() {
	case $LIMIT in
	tc) rexec tc qdisc del dev lan0 clsact ;;
	xdp) ip -n "$R" link set dev lan0 xdpdrv off ;;
	esac
	LIMIT=
}

dummy_set() { # 0|1: DUMMY dummy entries in the flow map
	local out
	[ "$DUMMY_IN" = "$1" ] && return 0
	if [ "$1" = 1 ]; then
		out=$(rexec "$BIN/fill_flows" "$PIN" "$DUMMY")
		meta dummy_fill_s "$(echo "$out" | awk '{print $2}')"
	else
		rexec "$BIN/fill_flows" --delete "$PIN" "$DUMMY" >/dev/null
	fi
	DUMMY_IN=$1
}

# Bring the router into configuration MODE with RULES rules (DUMMY 0|1),
# changing only what differs from the current state.
# The LAN behind a bridge (1) or on lan0 itself (0): the router's LAN address,
# MAC and static neighbour move to br-lan, lan0 becomes its only port.
bridge_set() { # 0|1
	local want=br-lan from=lan0
	[ "$1" = 1 ] || { want=lan0 from=br-lan; }
	[ "$LAN_DEV" = "$want" ] && return 0
	daemon_stop
	if [ "$1" = 1 ]; then
		ip -n "$R" link add br-lan address "$LAN_MAC" type bridge
		ip -n "$R" link set lan0 master br-lan
		ip -n "$R" link set br-lan up
	fi
	ip -n "$R" addr del 198.18.1.1/24 dev "$from"
	ip -n "$R" addr add 198.18.1.1/24 dev "$want"
	ip -n "$R" neigh replace 198.18.1.2 lladdr "$GEN_MAC" dev "$want" nud permanent
	[ "$1" = 1 ] || ip -n "$R" link del br-lan
	LAN_DEV=$want
}

enter() { # MODE RULES [DUMMY]
	local mode=$1 rules=$2 dummy=${3:-0}
	case $mode in
	*-br)
		mode=${mode%-br}
		bridge_set 1
		;;
	*) bridge_set 0 ;;
	esac
	case $mode in
	tc | xdp)
		# The table's size by default follows conntrack's limit; the dummy
		# entries need a table for a million connections (the old default).
		local xargs=
		[ "$dummy" = 0 ] || xargs="--flows 1M"
		[ "$DAEMON_MODE" = "$mode" ] && [ "$DAEMON_XARGS" = "$xargs" ] || daemon_stop
		limit_detach
		ruleset_load "$rules"
		# shellcheck disable=SC2086 # none or two words
		[ -n "$DAEMON_PID" ] || daemon_start "$mode" $xargs
		dummy_set "$dummy"
		;;
	kernel)
		daemon_stop
		limit_detach
		ruleset_load "$rules"
		;;
	plain)
		daemon_stop
		limit_detach
		ruleset_clear
		;;
	limit-tc | limit-xdp)
		daemon_stop
		ruleset_clear
		limit_attach "${mode#limit-}"
		;;
	esac
}

# ---- flows and traffic -------------------------------------------------------------

# Flow set F: A source ports x B destination ports, gcd(A, B) = 1 (see
# tests/lib/traffic.py udp-open); disjoint port ranges, so all sets exist side by side.
flowset() { # F -> "SPORT0 A DPORT0 B"
	case $1 in
	1) echo "40000 1 7000 1" ;;
	2) echo "40100 2 7050 1" ;; # the cpu2 phase: one flow per trafgen process
	1000) echo "41000 125 7100 8" ;;
	10000) echo "42000 625 7200 16" ;;
	100000) echo "44000 3125 7300 32" ;;
	*) die "no flow set for $1 flows" ;;
	esac
}

# dinc(MIN, MAX, 1), or the plain number when there is one value (trafgen
# refuses dinc with MIN == MAX).
port_field() { # FIRST COUNT
	if [ "$2" = 1 ]; then echo "$1"; else echo "dinc($1, $(($1 + $2 - 1)), 1)"; fi
}

trafgen_cfg() { # F
	local s0 a d0 b
	read -r s0 a d0 b <<<"$(flowset "$1")"
	if [ "$1" = 2 ]; then
		# One configuration per sender (see trafgen_start), each its own
		# flow at a fixed source port.
		printf '{ eth(da=%s, sa=%s), ipv4(saddr=198.18.1.2, daddr=198.19.2.2, ttl=64), udp(sp=%s, dp=%s), fill(0x00, 18) }\n' \
			"$LAN_MAC" "$GEN_MAC" "$s0" "$d0" >"$TMP/tg.2.0.cfg"
		printf '{ eth(da=%s, sa=%s), ipv4(saddr=198.18.1.2, daddr=198.19.2.2, ttl=64), udp(sp=%s, dp=%s), fill(0x00, 18) }\n' \
			"$LAN_MAC" "$GEN_MAC" "$((s0 + 1))" "$d0" >"$TMP/tg.2.1.cfg"
		return
	fi
	# 14 + 20 + 8 + 18 = 60 bytes, 64 on the wire; checksums by trafgen.
	printf '{ eth(da=%s, sa=%s), ipv4(saddr=198.18.1.2, daddr=198.19.2.2, ttl=64), udp(sp=%s, dp=%s), fill(0x00, 18) }\n' \
		"$LAN_MAC" "$GEN_MAC" "$(port_field "$s0" "$a")" "$(port_field "$d0" "$b")" >"$TMP/tg.$1.cfg"
}

echo_start() { # FLOWSETS...
	local f s0 a d0 b specs="" i
	for f in "$@"; do
		read -r s0 a d0 b <<<"$(flowset "$f")"
		specs="$specs $d0:$b"
	done
	# shellcheck disable=SC2086
	ip netns exec "$S" "$PY" tests/lib/traffic.py udp-echo --ipv4 --ready - $specs \
		>"$TMP/echo.log" 2>&1 &
	ECHO_PID=$!
	for i in $(seq 100); do
		grep -q ready "$TMP/echo.log" && return 0
		sleep 0.1
	done
	die "the UDP echo server did not start: $(cat "$TMP/echo.log")"
}

# One request and one reply per 5-tuple: UDP is offloaded only once conntrack
# has seen a reply. Done once, with the kernel path (N = 0) in place.
flows_open() { # F
	local s0 a d0 b n
	read -r s0 a d0 b <<<"$(flowset "$1")"
	n=$(ip netns exec "$G" "$PY" tests/lib/traffic.py udp-open 198.18.1.2 198.19.2.2 "$s0:$a" "$d0:$b" || true)
	[ "$n" = "$1" ] || die "only ${n:-0} of $1 flows got a reply"
}

trafgen_start() { # F
	TG_FLOWS=$1
	if [ "$1" = 2 ]; then
		# Two senders, one flow each, as RSS keeps a flow on one CPU. Not
		# trafgen -P 2: every one of its processes sends every packet of
		# the configuration (measured 2026-12-02: each CPU sent half of
		# each flow, so both CPUs wrote both flows' entries), and its
		# cpu(N) prefix sent nothing here. trafgen -P 1 pins its worker
		# to CPU 0 whatever the affinity it starts with: the second
		# sender is moved to CPU 1 once it runs (trafgen_pin).
		(
			ip netns exec "$G" trafgen -i "$TMP/tg.2.0.cfg" -o eth0 -P 1 \
				--no-sock-mem --no-cpu-stats &
			ip netns exec "$G" trafgen -i "$TMP/tg.2.1.cfg" -o eth0 -P 1 \
				--no-sock-mem --no-cpu-stats &
			wait
		) >"$TMP/trafgen.log" 2>&1 &
		TG_PID=$!
		trafgen_pin "$TMP/tg.2.1.cfg" 1
		return
	else
		ip netns exec "$G" taskset -c 0 trafgen -i "$TMP/tg.$1.cfg" -o eth0 -P 1 \
			--no-sock-mem --no-cpu-stats >"$TMP/trafgen.log" 2>&1 &
	fi
	TG_PID=$!
}

sink_rx() { ip netns exec "$S" cat /sys/class/net/eth0/statistics/rx_packets; }
router_rx() {
	ip netns exec "$R" sh -c 'echo $(( $(cat /sys/class/net/lan0/statistics/rx_packets) + $(cat /sys/class/net/wan0/statistics/rx_packets) ))'
}
fastpath_pkts() {
	if [ -n "$DAEMON_PID" ]; then nfo stats -j | jq '.total.fwd_packets'; else echo 0; fi
}
# "forwarded slow-path" packet counts of the fast path, both devices; the
# whole statistics into FILE, for slow_reasons.
fastpath_counts() { # FILE
	if [ -n "$DAEMON_PID" ]; then
		nfo stats -j | tee "$1" | jq -r '"\(.total.fwd_packets) \(.total.slow_path_packets)"'
	else
		echo '{}' >"$1"
		echo 0 0
	fi
}
# The reasons packets went to the stack between two statistics files:
# "no_flow=12,egress=3", or "-" when none did.
slow_reasons() { # FILE1 FILE2
	jq -rn --slurpfile a "$1" --slurpfile b "$2" '
		[($b[0].total.slow_path // {}) | to_entries[]
		 | .value -= ($a[0].total.slow_path[.key] // 0) | select(.value > 0)
		 | "\(.key)=\(.value)"] | if length == 0 then "-" else join(",") end'
}
# CPU 0 from /proc/stat, in ticks: "softirq+irq total busy+steal".
cpu0() { awk '/^cpu0 /{print $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# Wait until the fast path carries (nearly) all traffic: after a daemon start
# or a ruleset change the flows come back within milliseconds - or not, and
# then the sample says so (its fast-path share). Sets READY_S, the seconds it
# took (or the timeout). Larger flow sets get more time to be admitted.
wait_fastpath() { # FLOWS
	local start end f1 r1 f2 r2 reopened=0
	start=${EPOCHREALTIME/./}
	end=$((start + (READY_TIMEOUT + $1 / 10000) * 1000000))
	sleep 0.2
	while :; do
		# Flows the daemon sent back to the ruleset after they were opened
		# (a re-validation pass still running) need a reply again: the
		# generator only sends one way. Once, after 1.5 s.
		if [ "$reopened" = 0 ] && [ $((${EPOCHREALTIME/./} - start)) -gt 1500000 ]; then
			flows_open "$1"
			reopened=1
		fi
		f1=$(fastpath_pkts)
		r1=$(sink_rx)
		sleep 0.25
		f2=$(fastpath_pkts)
		r2=$(sink_rx)
		if awk -v f=$((f2 - f1)) -v r=$((r2 - r1)) -v min="$READY_SHARE" 'BEGIN{exit !(r > 0 && f / r >= min)}' ||
			[ "${EPOCHREALTIME/./}" -gt "$end" ]; then
			READY_S=$(awk -v a="$start" -v b="${EPOCHREALTIME/./}" 'BEGIN{printf "%.1f", (b - a) / 1e6}')
			return 0
		fi
	done
}

# CPU ticks (utime + stime) of the generator's trafgen processes that run
# on CPU 0 only and of ksoftirqd/0 (forwarding deferred from our packets):
# CPU 0's expected load.
our_ticks() {
	local pids="$KSOFTIRQD0" p
	for p in $(ip netns pids "$G" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = trafgen ] &&
			grep -qx 'Cpus_allowed_list:[[:space:]]*0' "/proc/$p/status" 2>/dev/null &&
			pids="$pids $p"
	done
	# shellcheck disable=SC2086
	for p in $pids; do cat "/proc/$p/stat" 2>/dev/null; done |
		awk '{sub(/^.*\) /, ""); t += $12 + $13} END {print t + 0}'
}

# trafgen_pin CFG CPU: move the trafgen sending CFG (parent and worker) to
# CPU once its worker runs. TG_PINNED=1 if done.
trafgen_pin() {
	local cfg=$1 cpu=$2 i p pids
	TG_PINNED=0
	for i in $(seq 50); do
		pids=$(pgrep -f -- "-i $cfg " || true)
		[ "$(wc -w <<<"$pids")" -ge 2 ] && break
		sleep 0.05
	done
	[ "$(wc -w <<<"$pids")" -ge 2 ] || return 0
	for p in $pids; do
		taskset -pc "$cpu" "$p" >/dev/null 2>&1 || return 0
		grep -qx "Cpus_allowed_list:[[:space:]]*$cpu" "/proc/$p/status" || return 0
	done
	TG_PINNED=1
}

# Every sender trafgen_start started still runs (and, for two flows, the
# second is on CPU 1).
tg_alive() {
	if [ "$TG_FLOWS" = 2 ]; then
		[ "$TG_PINNED" = 1 ] && [ "$(pgrep -c -P "$TG_PID" || true)" = 2 ]
	else
		kill -0 "$TG_PID" 2>/dev/null
	fi
}

# One sample; the line goes to $TMP/sample.line. Returns 1 if other
# processes (or the hypervisor) took more than OTHER_MAX of CPU 0.
udp_sample_once() { # PHASE CONFIG RULES FLOWLABEL FLOWS REP
	local phase=$1 cfg=$2 rules=$3 label=$4 flows=$5 rep=$6
	local t1 t2 r1 r2 c1 c2 f1 f2 o1 o2 fp s1 s2 slow why=- workers
	local try
	# trafgen can give up at start while a device is being reconfigured
	# (XDP attach): start it again rather than measure silence.
	# A flow is offloaded once the ruleset accepted a packet of each direction
	# with nft-offload's chain in place; the generator only sends one way, so
	# a request/reply per flow first (marks are cleared at each daemon start
	# and ruleset change).
	case $cfg in
	tc | xdp | tc-br) flows_open "$flows" ;;
	esac
	for try in 1 2 3; do
		trafgen_start "$flows"
		READY_S=-
		case $cfg in
		tc | xdp | tc-br) wait_fastpath "$flows" ;;
		*) sleep "$WARMUP" ;;
		esac
		tg_alive && break
		say "  (trafgen exited or could not be placed: $(tail -1 "$TMP/trafgen.log"); starting it again)"
		tg_stop
		if [ "$try" = 3 ]; then
			# Two senders: one whose socket stays full (EAGAIN) exits,
			# as it did when both flows shared one queue (before XPS,
			# see phase_cpu2). That sample is left out and the report
			# says so, rather than the whole run lost.
			[ "$phase" = cpu2 ] || die "trafgen keeps exiting: $(cat "$TMP/trafgen.log")"
			GAVE_UP_LAST="$(tail -1 "$TMP/trafgen.log")"
			return 3
		fi
		sleep 0.5
	done
	# trafgen's workers: one that gives up during the window (EAGAIN, two
	# senders) leaves a rate of fewer flows than the sample claims.
	workers=$(pgrep -c -P "$TG_PID" || true)
	# Each counter is read at the same point of both snapshots, so that the
	# fast path's window has the same length as the sink's.
	t1=$EPOCHREALTIME
	r1=$(sink_rx)
	c1=$(cpu0)
	o1=$(our_ticks)
	read -r f1 s1 < <(fastpath_counts "$TMP/st1.json")
	sleep "$INTERVAL"
	t2=$EPOCHREALTIME
	r2=$(sink_rx)
	c2=$(cpu0)
	o2=$(our_ticks)
	read -r f2 s2 < <(fastpath_counts "$TMP/st2.json")
	if [ "$(pgrep -c -P "$TG_PID" || true)" -lt "$workers" ]; then
		tg_stop
		GAVE_UP_LAST="a trafgen worker exited during the window: $(tail -1 "$TMP/trafgen.log")"
		return 4
	fi
	tg_stop
	kill -0 "$DAEMON_PID" 2>/dev/null || [ -z "$DAEMON_PID" ] || die "the daemon died: $(tail -5 "$TMP/daemon.log")"
	fp=-
	slow=-
	case $cfg in tc | xdp | tc-br) fp=$((f2 - f1)) slow=$((s2 - s1)) why=$(slow_reasons "$TMP/st1.json" "$TMP/st2.json") ;; esac
	awk -v why="$why" -v ph="$phase" -v cfg="$cfg" -v n="$rules" -v fl="$label" -v rep="$rep" \
		-v t1="$t1" -v t2="$t2" -v r=$((r2 - r1)) -v fp="$fp" -v c1="$c1" -v c2="$c2" \
		-v o=$((o2 - o1)) -v omax="$OTHER_MAX" -v ready="$READY_S" -v slow="$slow" 'BEGIN {
		split(c1, a, " "); split(c2, b, " ")
		pps = r / (t2 - t1)
		tot = b[2] - a[2]
		sirq = tot > 0 ? (b[1] - a[1]) / tot : 0
		# Busy CPU 0 time that was not ours: other processes, steal.
		other = tot > 0 ? ((b[3] - a[3]) - o) / tot : 0
		if (other < 0) other = 0
		share = (fp == "-") ? "-" : (r > 0 ? sprintf("%.3f", fp / r) : "0")
		printf "%s\t%s\t%s\t%s\t%d\t%.0f\t%.3f\t%s\t%.3f\t%s\t%s\t%s\n", ph, cfg, n, fl, rep, pps, sirq, share, other, ready, slow, why
		exit (r == 0 ? 2 : other > omax)
	}' >"$TMP/sample.line"
}

# A sample, repeated (within a budget) when something else ran on CPU 0: on
# a shared machine another job's traffic generator can halve a rate.
udp_sample() { # PHASE CONFIG RULES FLOWLABEL FLOWS REP
	local try rc
	for ((try = 1; ; try++)); do
		rc=0
		udp_sample_once "$@" || rc=$?
		[ "$rc" = 0 ] && break
		if [ "$rc" = 4 ] && [ "$try" -lt 3 ]; then
			say "  ($GAVE_UP_LAST: sample repeated)"
			sleep 1
			continue
		fi
		if [ "$rc" = 3 ] || [ "$rc" = 4 ]; then
			# Only the two-sender phase gets here (see udp_sample_once).
			[ "$1" = cpu2 ] || die "trafgen: $GAVE_UP_LAST"
			say "  $1 $2 flows=$5 rep $6: not measured ($GAVE_UP_LAST)"
			GAVE_UP="${GAVE_UP:+$GAVE_UP; }$2 with $5 flows, repetition $6 ($GAVE_UP_LAST)"
			meta trafgen_gave_up "$GAVE_UP"
			return 0
		fi
		if [ "$rc" = 2 ]; then
			# Not a rate but a stall (seen once: veth right after an XDP
			# attach); always worth another try, and counted.
			STALLS=$((STALLS + 1))
			[ "$try" -lt 3 ] || break
			say "  (no packet reached the sink: sample repeated)"
		else
			[ "$try" -lt "$ATTEMPTS" ] && [ "$RETRIES" -lt "$RETRY_BUDGET" ] || {
				DISTURBED=$((DISTURBED + 1))
				break
			}
			RETRIES=$((RETRIES + 1))
			awk -F'\t' '{printf "  (CPU 0 was %.0f%% busy with other work: sample repeated)\n", $9 * 100}' "$TMP/sample.line" >&2
		fi
		sleep 1
	done
	cat "$TMP/sample.line" >>"$SAMPLES"
	awk -F'\t' '{printf "  %-5s %-9s N=%-5s flows=%-12s rep %d: %7.1f kpps  softirq %3.0f%%  other %3.0f%%  fast path %s%s%s\n", $1, $2, $3, $4, $5, $6 / 1000, $7 * 100, $9 * 100, $8, ($10 == "-" ? "" : " (after " $10 "s)"), ($11 == "-" ? "" : ", slow path " $11 ($12 == "-" ? "" : " (" $12 ")"))}' "$TMP/sample.line" >&2
}

# Round-robin: every other repetition walks the list backwards, so the
# expensive switches (daemon start, ruleset load) stay few and drift cancels.
serpentine() { # REP ITEMS...
	local rep=$1
	shift
	if [ $((rep % 2)) = 1 ]; then
		printf '%s\n' "$@"
	else
		printf '%s\n' "$@" | tac
	fi
}

# ---- phases --------------------------------------------------------------------

# New conntrack entries a fresh UDP tuple leaves in the router: 0 where no
# conntrack hook is registered. Also prints the table's size (conntrack -C)
# before and after: "NEW COUNT_BEFORE COUNT_AFTER".
ct_probe() { # DPORT
	local c0 c1
	c0=$(rexec conntrack -C 2>/dev/null || echo 0)
	ip netns exec "$G" bash -c "echo probe >/dev/udp/198.19.2.2/$1" || true
	sleep 0.2
	c1=$(rexec conntrack -C 2>/dev/null || echo 0)
	echo "$(rexec conntrack -L -p udp --dport "$1" 2>/dev/null | grep -c "dport=$1 " || true) $c0 $c1"
}

# The reference "kernel forwarding, no ruleset" must really run without
# conntrack: a fresh tuple sent through it leaves no entry, while the same
# probe with the N=0 ruleset (a control that shows the probe can fail) does.
plain_ct_check() {
	enter plain 0
	meta plain_ct_probe "$(ct_probe 7990)"
	enter kernel 0
	meta kernel_ct_probe "$(ct_probe 7991)"
	say "  conntrack probe: no ruleset $(grep '^plain_ct_probe=' "$META" | cut -d= -f2), N=0 ruleset $(grep '^kernel_ct_probe=' "$META" | cut -d= -f2) (new entries, count before, after)"
}

phase_udp() {
	local rep item cfg n items=()
	say "== udp: 64-byte UDP, $MAIN_FLOWS flows, rules: $RULES; $REPS repetitions of ${INTERVAL}s"
	plain_ct_check
	items=(plain:- limit-tc:- limit-xdp:-)
	for cfg in kernel tc xdp; do
		for n in $RULES; do items+=("$cfg:$n"); done
	done
	for ((rep = 1; rep <= REPS; rep++)); do
		for item in $(serpentine "$rep" "${items[@]}"); do
			cfg=${item%%:*}
			n=${item#*:}
			enter "$cfg" "${n/-/0}"
			udp_sample udp "$cfg" "$n" "$MAIN_FLOWS" "$MAIN_FLOWS" "$rep"
		done
	done
}

phase_scale() {
	local rep item cfg f d items=() mid=1000
	say "== scale: flows $SCALE_FLOWS (and $MAIN_FLOWS + $DUMMY dummy entries) at N=$SCALE_RULES; $SCALE_REPS repetitions"
	for cfg in kernel tc xdp; do
		for f in $SCALE_FLOWS; do items+=("$cfg:$f:0"); done
		[ "$cfg" = kernel ] || items+=("$cfg:$mid:1")
	done
	for ((rep = 1; rep <= SCALE_REPS; rep++)); do
		for item in $(serpentine "$rep" "${items[@]}"); do
			IFS=: read -r cfg f d <<<"$item"
			enter "$cfg" "$SCALE_RULES" "$d"
			if [ "$d" = 1 ]; then
				udp_sample scale "$cfg" "$SCALE_RULES" "$f+1M" "$f" "$rep"
			else
				udp_sample scale "$cfg" "$SCALE_RULES" "$f" "$f" "$rep"
			fi
		done
	done
}

# CONFIG with no rules, trafgen sending FLOWS, and for nft-offload its fast
# path carrying them (the profile and the steady phase measure from then on).
send_flows() { # CONFIG FLOWS
	enter "$1" 0
	case $1 in tc | xdp) flows_open "$2" ;; esac
	trafgen_start "$2"
	case $1 in tc | xdp) wait_fastpath "$2" ;; *) sleep "$WARMUP" ;; esac
}

# The sink's packet counter every 0.1 s, read by one shell in the sink's
# namespace on CPU 1 (no process per read on CPU 0): "epoch_us packets
# uptime", the last on the clock the fast path's periods follow (boot time:
# the monotonic clock on a machine that never suspended).
sink_series() { # SECONDS
	ip netns exec "$S" taskset -c 1 bash -c '
		f=/sys/class/net/eth0/statistics/rx_packets
		for ((i = 0; i <= $1 * 10; i++)); do
			read -r n <"$f"
			read -r up _ </proc/uptime
			echo "${EPOCHREALTIME/./} $n $up"
			sleep 0.1
		done' _ "$1"
}

# Each window's rate, and in the last column its end on that clock.
phase_steady() {
	local cfg f=${SCALE_FLOWS##* } t0 n0 t n up i
	say "== steady: $f flows, no rules, the rate in windows of 0.1 s for ${STEADY_S}s"
	for cfg in plain tc xdp; do
		send_flows "$cfg" "$f"
		i=0
		t0=
		while read -r t n up; do
			if [ -n "$t0" ] && [ "$t" -gt "$t0" ]; then
				printf 'steady\t%s\t0\t%s\t%d\t%d\t-\t-\t-\t-\t-\tuptime=%s\n' "$cfg" "$f" \
					"$i" $(((n - n0) * 1000000 / (t - t0))) "$up" >>"$SAMPLES"
				i=$((i + 1))
			fi
			t0=$t
			n0=$n
		done < <(sink_series "$STEADY_S")
		tg_stop
		[ "$i" -gt 0 ] || die "steady: no window read from the sink's counter ($cfg)"
		say "  steady $(printf '%-6s' "$cfg") $i windows"
	done
}

phase_bridge() {
	local rep cfg
	say "== bridge: the LAN behind br-lan vs plain veth, $MAIN_FLOWS flows, N=$SCALE_RULES; $SCALE_REPS repetitions"
	for ((rep = 1; rep <= SCALE_REPS; rep++)); do
		for cfg in $(serpentine "$rep" kernel kernel-br tc tc-br); do
			enter "$cfg" "$SCALE_RULES"
			udp_sample bridge "$cfg" "$SCALE_RULES" "$MAIN_FLOWS" "$MAIN_FLOWS" "$rep"
		done
	done
	bridge_set 0
}

# TSO and checksum offload at both end hosts (the iperf3 client sends the
# data, the server the ACKs). XDP on veth cannot complete the partial
# checksums a local sender leaves (the sink counts TcpInCsumErrors and the
# transfer stalls), so XDP is measured with them off, and beside it the
# kernel with the same senders.
tcp_senders() { # on|off
	ip netns exec "$G" ethtool -K eth0 tx "$1" tso "$1" >/dev/null 2>&1 || true
	ip netns exec "$S" ethtool -K eth0 tx "$1" tso "$1" >/dev/null 2>&1 || true
	# Refused while the peer runs XDP; the report shows what was in force.
	[ "$1" = off ] || {
		ip netns exec "$G" ethtool -K eth0 tso on >/dev/null 2>&1 || true
		ip netns exec "$S" ethtool -K eth0 tso on >/dev/null 2>&1 || true
	}
}

# GRO on the router's two devices: what a NIC's driver does on receive.
router_gro() { # on|off
	rexec ethtool -K lan0 gro "$1" >/dev/null
	rexec ethtool -K wan0 gro "$1" >/dev/null
}

# Offload features in force, for the report: "tso=on tx=on gro=on".
tcp_features() {
	local tso tx gro
	tso=$(ip netns exec "$G" ethtool -k eth0 | awk '/^tcp-segmentation-offload:/{print $2}')
	tx=$(ip netns exec "$G" ethtool -k eth0 | awk '/^tx-checksumming:/{print $2}')
	gro=$(rexec ethtool -k lan0 | awk '/^generic-receive-offload:/{print $2}')
	echo "sender_tso=$tso sender_tx_csum=$tx router_lan0_gro=$gro"
}

tcp_sample() { # CONFIG REP
	local cfg=$1 rep=$2 f1 f2 r1 r2 bps fp
	f1=$(fastpath_pkts)
	r1=$(router_rx)
	if ip netns exec "$G" taskset -c 0 iperf3 -c 198.19.2.2 -p 5201 -t "$TCP_SECS" -O 1 -J \
		>"$TMP/iperf.json" 2>/dev/null; then
		bps=$(jq '.end.sum_received.bits_per_second' "$TMP/iperf.json")
	else
		bps=nan
	fi
	f2=$(fastpath_pkts)
	r2=$(router_rx)
	fp=-
	case $cfg in tc | xdp) fp=$(awk -v f=$((f2 - f1)) -v r=$((r2 - r1)) 'BEGIN{printf "%.3f", (r > 0 ? f / r : 0)}') ;; esac
	printf 'tcp\t%s\t%s\t1\t%d\t%s\t-\t%s\t-\t-\t-\t-\n' "$cfg" "$SCALE_RULES" "$rep" "$bps" "$fp" >>"$SAMPLES"
	say "  tcp   $(printf '%-11s' "$cfg") N=$SCALE_RULES rep $rep: $(awk -v b="$bps" 'BEGIN{printf "%.2f", b / 1e9}') Gbit/s  fast path $fp  ($(tcp_features))"
}

# Packets that passed the forward chain: the counters of its rules, summed.
fwd_chain_pkts() {
	rexec nft -j list chain inet bench forward |
		jq '[.nftables[].rule? // empty | .expr[]? | .counter? // empty | .packets] | add // 0'
}

# The share of a 2 MiB transfer's packets (both directions) that the
# forward chain saw, against every packet the router received meanwhile.
# Segments are counted as packets: no TSO at the senders, no GRO at the
# router, so that the chain's counters and the devices count alike.
fwd_share_sample() { # CONFIG REP
	local cfg=$1 rep=$2 c1 c2 r1 r2
	c1=$(fwd_chain_pkts)
	r1=$(router_rx)
	ip netns exec "$G" taskset -c 0 iperf3 -c 198.19.2.2 -p 5201 -n 2M -J >"$TMP/iperf.json" 2>/dev/null || true
	sleep 0.2
	c2=$(fwd_chain_pkts)
	r2=$(router_rx)
	printf 'fwdshare\t%s\t%s\t2M\t%d\t%s\t-\t-\t-\t-\t%s\t-\n' "$cfg" "$SCALE_RULES" "$rep" \
		"$(awk -v c=$((c2 - c1)) -v r=$((r2 - r1)) 'BEGIN{printf "%.4f", (r > 0 ? c / r : 0)}')" \
		"$((c2 - c1))/$((r2 - r1))" >>"$SAMPLES"
	say "  fwdshare $(printf '%-8s' "$cfg") rep $rep: $((c2 - c1)) of $((r2 - r1)) router packets passed the forward chain"
}

phase_tcp() {
	local rep item i
	say "== tcp: iperf3, one connection, ${TCP_SECS}s (+1s omitted), N=$SCALE_RULES; $TCP_REPS repetitions"
	# The sink's XDP program would turn off GSO on wan0 and copy every skb;
	# TCP wants the plain veth.
	sink_xdp off
	router_gro on
	ip netns exec "$S" taskset -c 1 iperf3 -s -p 5201 >"$TMP/iperf-server.log" 2>&1 &
	IPERF_PID=$!
	for i in $(seq 50); do
		ip netns exec "$S" ss -ltn 2>/dev/null | grep -q ':5201 ' && break
		sleep 0.1
	done
	# plain-txoff: the kernel without ruleset with XDP's senders.
	for ((rep = 1; rep <= TCP_REPS; rep++)); do
		for item in $(serpentine "$rep" plain kernel tc xdp plain-txoff); do
			# First the router (XDP off lan0 gives its peer GSO back), then the senders.
			enter "${item%-txoff}" "$SCALE_RULES"
			case $item in
			xdp | plain-txoff) tcp_senders off ;;
			*) tcp_senders on ;;
			esac
			[ "$rep" = 1 ] && meta "tcp_features_$item" "$(tcp_features)"
			tcp_sample "$item" "$rep"
		done
	done
	say "== fwdshare: a 2 MiB transfer, packets through the forward chain / router packets; $TCP_REPS repetitions"
	router_gro off
	tcp_senders off
	for ((rep = 1; rep <= TCP_REPS; rep++)); do
		for item in $(serpentine "$rep" kernel tc xdp); do
			enter "$item" "$SCALE_RULES"
			fwd_share_sample "$item" "$rep"
		done
	done
	tcp_senders on
	stop_pid "$IPERF_PID"
	IPERF_PID=
	sink_xdp on # the next phases count UDP test frames at the sink again
}

# Two flows sent by two trafgen processes, one on each CPU, against one
# flow from one process on CPU 0, in the same round. On a 2-CPU machine the
# second CPU also runs the daemon, this script and whatever else the host
# does: the ratio is a lower bound of the fast path's own scaling.
veth_queues() { # N: tx and rx queues on every veth of the path (veth has up to 2)
	local ns dev q
	for ns in "$G:eth0" "$R:lan0" "$R:wan0" "$S:eth0"; do
		dev=${ns#*:}
		ns=${ns%%:*}
		ip netns exec "$ns" ethtool -L "$dev" rx "$1" tx "$1"
		for ((q = 0; q < $1; q++)); do
			ip netns exec "$ns" sh -c "echo $(($1 > 1 ? 1 << q : 0)) >/sys/class/net/$dev/queues/tx-$q/xps_cpus"
		done
	done
}

phase_cpu2() {
	local rep item cfg f
	say "== cpu2: 1 flow on 1 CPU vs 2 flows on 2 CPUs, N=$SCALE_RULES; $SCALE_REPS repetitions of ${INTERVAL}s"
	# One queue per CPU, and XPS mapping CPU i to queue i on every veth:
	# veth hands a packet to the peer's receive queue of the number it was
	# sent on, so the two flows never share a ring. Without XPS the queue is
	# a hash of the flow: on 2026-12-02 both flows landed on one queue, the
	# kernel without ruleset did not scale (1.00), and the second sender's
	# socket filled up while CPU 0 drained its packets (trafgen exits on
	# EAGAIN). Changed with no XDP attached.
	enter plain 0
	sink_xdp off
	veth_queues 2
	sink_xdp on
	for ((rep = 1; rep <= SCALE_REPS; rep++)); do
		for item in $(serpentine "$rep" plain:1 plain:2 tc:1 tc:2 xdp:1 xdp:2); do
			cfg=${item%%:*}
			f=${item#*:}
			enter "$cfg" "$SCALE_RULES"
			udp_sample cpu2 "$cfg" "$SCALE_RULES" "$f" "$f" "$rep"
		done
	done
	enter plain 0
	sink_xdp off
	veth_queues 1
	sink_xdp on
}

daemon_cpu_ticks() { awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"; }
daemon_rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$DAEMON_PID/status"; }
flow_map_bytes() { bpftool -j map show pinned "$PIN/nfo_flow4" | jq '.bytes_memlock // 0'; }
# Full conntrack dumps the daemon has logged (resyncs and catch-ups).
dumps_logged() { grep -cE 'resync: |catch-up: ' "$TMP/daemon.log"; }
# After lost events the daemon resyncs, then once more 3 s later: pending
# until the follow-up has been logged.
dump_pending() {
	case $(grep -E 'events lost|conntrack resync: |follow-up resync: |catch-up: ' "$TMP/daemon.log" | tail -1) in
	*"events lost"* | *"conntrack resync: "*) return 0 ;;
	esac
	return 1
}
# cp_settle T_LAST: wait until the first idle checks of what was offloaded
# up to T_LAST are done (each connection's comes 10 s after its admission
# and holds conntrack again), then until the daemon is quiet
# (under a tenth of a CPU for a second; at most 60 s). Keeps one step's
# checks out of the next step's CPU figure.
cp_settle() {
	local left a b
	left=$(awk -v t="$1" -v n="$EPOCHREALTIME" 'BEGIN{d = t + 10.5 - n; printf "%.2f", (d > 0 ? d : 0)}')
	sleep "$left"
	for _ in $(seq 60); do
		a=$(daemon_cpu_ticks)
		sleep 1
		b=$(daemon_cpu_ticks)
		[ $((b - a)) -le $(($(getconf CLK_TCK) / 10)) ] && return 0
	done
}

# status exits non-zero when the daemon looks unhealthy; its JSON is what we want.
daemon_status() { nfo status -j || true; }

# cp_wait_offloaded TARGET T0 WAIT: poll until TARGET connections are in the
# fast path, nothing moved for CP_STALL seconds, or WAIT seconds passed since
# T0. Sets CP_N (offloaded), CP_TLAST (when the count last moved) and
# CP_COMPLETE.
cp_wait_offloaded() {
	local target=$1 t0=$2 wait=$3 last=-1 now
	CP_TLAST=$t0
	CP_COMPLETE="no: no progress for ${CP_STALL}s, or ${wait}s passed"
	while :; do
		# flows.offloaded is counted live in the map.
		CP_N=$(daemon_status | jq '.flows.offloaded')
		now=$EPOCHREALTIME
		if [ "$CP_N" -ge "$target" ]; then
			CP_TLAST=$now
			CP_COMPLETE=yes
			return
		fi
		if [ "$CP_N" != "$last" ]; then
			last=$CP_N
			CP_TLAST=$now
		fi
		awk -v n="$now" -v t="$t0" -v w="$wait" -v l="$CP_TLAST" -v s="$CP_STALL" \
			'BEGIN{exit !(n - t > w || n - l > s)}' && return
		sleep 0.2
	done
}

# ct_flood_run OUTVAR ARGS...: bench/ct_flood in the router; its "COUNT
# SECONDS ERRORS" line into OUTVAR.
ct_flood_run() {
	local -n res=$1
	shift
	if ! res=$(rexec "$BIN/ct_flood" --timeout 3600 "$@" 2>"$TMP/ct_flood.err"); then
		say "  ct_flood: $(cat "$TMP/ct_flood.err")"
	fi
}

phase_cp() {
	local base t0 cpu0_ cpu1 cpu2 rss0 rss1 mem0 mem1 out st hz
	local ct_max flows wait paced n0 n1 flood lost0 lanidx probe_pid
	# No generator in this phase: this script and what it starts (ct_flood,
	# the status polls, the probes) leave CPU 1 to the daemon. On CPU 1 they
	# took half of it while the daemon offloaded, and each fork of the polls
	# (sed, sleep) took it away for milliseconds in the middle of a dump.
	taskset -pc 0 $$ >/dev/null
	ct_max=$(sysctl -n "$CT_MAX_SYSCTL")
	if [ -n "${BENCH_CT_MAX:-}" ] && [ "$BENCH_CT_MAX" -gt "$ct_max" ]; then
		say "bench: raising host $CT_MAX_SYSCTL from $ct_max to $BENCH_CT_MAX for this phase (BENCH_CT_MAX)"
		CT_MAX_OLD=$ct_max
		sysctl -qw "$CT_MAX_SYSCTL=$BENCH_CT_MAX" || die "cannot set $CT_MAX_SYSCTL"
		meta cp_ct_max_raised_from "$ct_max"
		ct_max=$BENCH_CT_MAX
	fi
	meta cp_ct_max "$ct_max"
	# Leave conntrack an eighth of its table for everything else, in steps of 10k.
	flows=$CP_FLOWS
	[ "$flows" -le $((ct_max - ct_max / 8)) ] || flows=$(((ct_max - ct_max / 8) / 10000 * 10000))
	meta cp_flows_wanted "$CP_FLOWS"
	paced=$((CP_RATE * CP_PACED_S))
	[ "$paced" -lt "$flows" ] || paced=$((flows / 2))
	flood=$((CP_FLOOD_RATE * CP_FLOOD_S))
	[ "$flood" -lt $((flows - paced)) ] || flood=$(((flows - paced) / 2))
	# 1 s per 10k connections on top of CP_WAIT: a million take a while.
	wait=$((CP_WAIT + flows / 10000))
	say "== cp: $paced conntrack entries at $CP_RATE/s, $flood at $CP_FLOOD_RATE/s, then $((flows - paced - flood)) at once (ctnetlink): latency, events lost, offload rate, CPU, memory, admission wait during a dump, stop"
	# A clean conntrack table: make room.
	daemon_stop
	limit_detach
	ruleset_load 0
	rexec conntrack -F >/dev/null 2>&1 || true
	# A long idle timeout: the idle window must show the cost of holding flows,
	# not of evicting them. ct_flood creates its entries already marked,
	# through ctnetlink: the daemon must trust those marks here.
	# A table for a million connections, as in the runs before the default
	# followed conntrack's limit (raised for this phase): the memory figures
	# stay comparable.
	daemon_start tc --idle-timeout 3600 --trust-netlink-marks \
		--flows "$((CP_FLOWS > 1048576 ? CP_FLOWS : 1048576))"
	hz=$(getconf CLK_TCK)
	rss0=$(daemon_rss_kb)
	mem0=$(flow_map_bytes)
	# The daemon dumps conntrack 2, 10 and 30 s after it starts (and after
	# ruleset changes, lost events, then every 10 min), in slices between
	# events. Measure the steady state: after CP_CATCHUPS of them.
	for _ in $(seq 90); do
		[ "$(grep -c 'catch-up: ' "$TMP/daemon.log")" -ge "$CP_CATCHUPS" ] && break
		sleep 0.5
	done
	base=$(daemon_status | jq '.flows.offloaded')

	# 1. Latency at a known load: new connections at CP_RATE per second.
	t0=$EPOCHREALTIME
	ct_flood_run out --rate "$CP_RATE" "$paced"
	cp_wait_offloaded $((base + paced)) "$t0" "$((CP_WAIT + CP_PACED_S))"
	meta cp_paced "$paced"
	meta cp_paced_rate "$(echo "$out" | awk '{printf "%.0f", ($2 > 0) ? ($1 - $3) / $2 : 0}')"
	meta cp_paced_offloaded "$((CP_N - base))"
	# The daemon publishes its histogram once a second.
	sleep 1.5
	st=$(daemon_status)
	meta cp_paced_lat_us "$(echo "$st" | jq -r '.offload_latency | "\(.p50_us) \(.p99_us) \(.max_us)"')"
	meta cp_paced_lost "$(echo "$st" | jq '.events.lost')"
	cp_settle "$CP_TLAST"

	# 1b. A flood at CP_FLOOD_RATE new connections/s, default settings:
	# does the daemon lose events (and fall back to a resync)?
	base=$(daemon_status | jq '.flows.offloaded')
	lost0=$(daemon_status | jq '.events.lost')
	cpu0_=$(daemon_cpu_ticks)
	t0=$EPOCHREALTIME
	ct_flood_run out --rate "$CP_FLOOD_RATE" --first "$paced" "$flood"
	cp_wait_offloaded $((base + flood)) "$t0" "$((CP_WAIT + CP_FLOOD_S))"
	cpu1=$(daemon_cpu_ticks)
	meta cp_flood "$flood"
	meta cp_flood_rate "$(echo "$out" | awk '{printf "%.0f", ($2 > 0) ? ($1 - $3) / $2 : 0}')"
	meta cp_flood_offloaded "$((CP_N - base))"
	meta cp_flood_s "$(awk -v a="$t0" -v b="$CP_TLAST" 'BEGIN{printf "%.2f", b - a}')"
	meta cp_flood_lost "$(($(daemon_status | jq '.events.lost') - lost0))"
	meta cp_flood_cpu_s "$(awk -v a="$cpu0_" -v b="$cpu1" -v hz="$hz" 'BEGIN{printf "%.2f", (b - a) / hz}')"
	# Its resyncs (if events were lost) and first idle checks must not run
	# into the next step.
	for _ in $(seq 240); do dump_pending || break; sleep 0.5; done
	cp_settle "$CP_TLAST"

	# 2. Throughput: the rest as fast as ctnetlink takes them.
	base=$(daemon_status | jq '.flows.offloaded')
	cpu0_=$(daemon_cpu_ticks)
	t0=$EPOCHREALTIME
	ct_flood_run out --first "$((paced + flood))" $((flows - paced - flood))
	meta cp_flows "$flows"
	meta cp_bulk "$((flows - paced - flood))"
	meta cp_created "$(echo "$out" | awk '{print $1 - $3}')"
	meta cp_create_s "$(echo "$out" | awk '{print $2}')"
	cp_wait_offloaded $((base + flows - paced - flood)) "$t0" "$wait"
	cpu1=$(daemon_cpu_ticks)
	meta cp_offloaded "$((CP_N - base))"
	# Rate over the time it took to reach the final count.
	meta cp_offload_s "$(awk -v a="$t0" -v b="$CP_TLAST" 'BEGIN{printf "%.2f", b - a}')"
	meta cp_complete "$CP_COMPLETE"
	meta cp_bulk_cpu_s "$(awk -v a="$cpu0_" -v b="$cpu1" -v hz="$hz" 'BEGIN{printf "%.2f", (b - a) / hz}')"
	# 2b. Their first idle checks, 10 s after admission: a one-off cost of
	# each connection, apart from admitting it and from idling. They hold
	# conntrack only where the fast path cannot (no conntrack kfuncs).
	meta cp_ct_holder "$(nfo status -j | jq -r 'if .features.conntrack_bpf.available then "the fast path" else "the daemon" end')"
	cp_settle "$CP_TLAST"
	cpu2=$(daemon_cpu_ticks)
	meta cp_bulk_check_cpu_s "$(awk -v a="$cpu1" -v b="$cpu2" -v hz="$hz" 'BEGIN{printf "%.2f", (b - a) / hz}')"

	# 3. Steady state: the flows sit idle in the fast path. A window in
	# which a dump ran (the resyncs after events lost in the flood) is
	# not idle: measure again.
	for _ in $(seq 10); do
		for _ in $(seq 240); do dump_pending || break; sleep 0.5; done
		n0=$(dumps_logged)
		cpu1=$(daemon_cpu_ticks)
		sleep "$IDLE_WIN"
		cpu2=$(daemon_cpu_ticks)
		sleep 0.5 # a dump that was under way has logged by now, or is still running
		n1=$(dumps_logged)
		[ "$n1" = "$n0" ] && ! dump_pending && break
	done
	# What a full dump costs with every connection in place (the periodic
	# one, every 10 min): ask for one (SIGUSR1). Meanwhile new connections
	# arrive one at a time, PROBE_RATE a second, and each one's wait from
	# its creation to its map entry is measured (ct_flood --probe).
	lanidx=$(ip -n "$R" -j link show lan0 | jq '.[0].ifindex')
	# The reference first: the same probe with no dump running (what a new
	# connection waits on this machine anyway: the daemon's wake-up, the
	# map write, the probe's own polling).
	rexec timeout $((PROBE_S + 60)) "$BIN/ct_flood" --timeout 3600 --probe "$PIN" --ifindex "$lanidx" \
		--rate "$PROBE_RATE" --first "$((flows + 1000 + 2 * PROBE_RATE * PROBE_S))" \
		$((PROBE_RATE * PROBE_S)) >"$TMP/probe-idle.out" 2>"$TMP/probe.err" ||
		say "  admission probe without a dump: $(cat "$TMP/probe.err")"
	meta cp_idle_wait "$(cat "$TMP/probe-idle.out")"
	rexec timeout $((PROBE_S + 60)) "$BIN/ct_flood" --timeout 3600 --probe "$PIN" --ifindex "$lanidx" \
		--rate "$PROBE_RATE" --first "$((flows + 1000))" $((PROBE_RATE * PROBE_S)) \
		>"$TMP/probe.out" 2>"$TMP/probe.err" &
	probe_pid=$!
	sleep 0.5
	kill -USR1 "$DAEMON_PID"
	for _ in $(seq 240); do
		sed -n '/SIGUSR1/,$p' "$TMP/daemon.log" | grep -q 'conntrack resync: ' && break
		sleep 0.5
	done
	meta cp_dump "$(sed -n '/SIGUSR1/,$p' "$TMP/daemon.log" |
		grep -oE 'resync: [0-9]+ connections offloaded in [0-9]+ ms' | head -1 | awk '{print $2, $(NF-1)}')"
	wait "$probe_pid" || say "  admission probe: $(cat "$TMP/probe.err")"
	# "PROBES MAX_MS P50_MS P99_MS MISSED"
	meta cp_dump_wait "$(cat "$TMP/probe.out")"
	# ... and its follow-up, 3 s later: the flows sit idle again before stop.
	for _ in $(seq 240); do dump_pending || break; sleep 0.5; done
	rss1=$(daemon_rss_kb)
	mem1=$(flow_map_bytes)
	st=$(daemon_status)
	meta cp_idle_s "$IDLE_WIN"
	meta cp_idle_cpu_s "$(awk -v a="$cpu1" -v b="$cpu2" -v hz="$hz" 'BEGIN{printf "%.2f", (b - a) / hz}')"
	meta cp_rss0_kb "$rss0"
	meta cp_rss1_kb "$rss1"
	meta cp_map0_bytes "$mem0"
	meta cp_map1_bytes "$mem1"
	meta cp_flows_now "$(echo "$st" | jq '.flows.offloaded')"
	# Over every offload of the phase: the paced ones, then the flood.
	meta cp_lat_p50_us "$(echo "$st" | jq '.offload_latency.p50_us')"
	meta cp_lat_p99_us "$(echo "$st" | jq '.offload_latency.p99_us')"
	meta cp_lat_max_us "$(echo "$st" | jq '.offload_latency.max_us')"
	meta cp_events_lost "$(echo "$st" | jq '.events.lost')"
	meta cp_resyncs "$(echo "$st" | jq '.events.resyncs')"
	meta cp_admit_errors "$(echo "$st" | jq '.flows.admit_errors')"
	say "  offloaded $(echo "$st" | jq '.flows.offloaded') of $flows; daemon RSS ${rss0} -> ${rss1} kB"

	# 4. Stopping hands every connection back to conntrack: how long that takes.
	t0=$EPOCHREALTIME
	daemon_stop 300
	meta cp_stop_s "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b - a}')"
	meta cp_stop_left "$LEFT_LAST"
	rexec conntrack -F >/dev/null 2>&1 || true
	ct_max_restore
	taskset -pc 1 $$ >/dev/null
}

# One element a second into set $1 (of table inet bench), never matching the
# generator's address 198.18.1.2 (nor its /24 through a mask).
set_updater_start() { # SET
	local set=$1
	(
		i=0
		while :; do
			i=$((i + 1))
			rexec nft add element inet bench "$set" "{ 198.18.$((100 + i / 250 % 150)).$((i % 250 + 1)) }" || true
			sleep 1
		done
	) >/dev/null 2>&1 &
	UPD_PID=$!
}

set_updater_stop() {
	stop_pid "$UPD_PID"
	UPD_PID=
}

set_updates() { grep -cE 'set elements changed|ruleset changed' "$TMP/daemon.log" || true; }

phase_sets() {
	local f cfg rep t1 t2 r1 r2 f1 f2 s1 s2 u1 u2 line n0
	f=$(printf '%s\n' $SCALE_FLOWS | sort -n | tail -1)
	say "== sets: $f flows offloaded (tc, N=$SCALE_RULES), one set element added a second; $REPS windows of ${INTERVAL}s"
	enter tc "$SCALE_RULES"
	rexec nft add set inet bench blk '{ type ipv4_addr; }'
	rexec nft add set inet bench blkm '{ type ipv4_addr; }'
	rexec nft insert rule inet bench forward ip saddr @blk counter drop
	rexec nft insert rule inet bench forward ip saddr and 255.255.255.0 @blkm counter drop
	CUR_RULES=sets # not the file any more: reloaded by the next phase
	trafgen_start "$f"
	# Those were ruleset changes: every flow went back, and the daemon dumps
	# conntrack 2, 10 and 30 s later. Measure once that has settled.
	n0=$(grep -c 'catch-up: ' "$TMP/daemon.log" || true)
	for _ in $(seq 180); do
		[ "$(grep -c 'catch-up: ' "$TMP/daemon.log" || true)" -ge $((n0 + CP_CATCHUPS)) ] && break
		sleep 0.5
	done
	for _ in $(seq 240); do dump_pending || break; sleep 0.5; done
	for cfg in none direct masked; do
		case $cfg in
		direct) set_updater_start blk ;;
		masked) set_updater_start blkm ;;
		esac
		wait_fastpath "$f"
		sleep 2 # an update or two has happened
		for ((rep = 1; rep <= REPS; rep++)); do
			t1=$EPOCHREALTIME
			r1=$(sink_rx)
			u1=$(set_updates)
			read -r f1 s1 < <(fastpath_counts "$TMP/st1.json")
			sleep "$INTERVAL"
			t2=$EPOCHREALTIME
			r2=$(sink_rx)
			u2=$(set_updates)
			read -r f2 s2 < <(fastpath_counts "$TMP/st2.json")
			line=$(awk -v cfg="$cfg" -v n="$SCALE_RULES" -v fl="$f" -v rep="$rep" \
				-v t1="$t1" -v t2="$t2" -v r=$((r2 - r1)) -v fp=$((f2 - f1)) \
				-v slow=$((s2 - s1)) -v u=$((u2 - u1)) 'BEGIN {
				printf "sets\t%s\t%s\t%s\t%d\t%.0f\t-\t%.3f\t-\t%d\t%s\n", cfg, n, fl, rep,
					r / (t2 - t1), (r > 0 ? fp / r : 0), u, slow }')
			printf '%s\n' "$line" >>"$SAMPLES"
			printf '%s\n' "$line" | awk -F'\t' '{printf "  sets  updates=%-7s rep %d: %7.1f kpps  fast path %s  (%s set changes in the window)\n", $2, $5, $6 / 1000, $8, $10}' >&2
		done
		set_updater_stop
	done
	tg_stop
	meta sets_flows "$f"
	meta sets_offloaded "$(nfo status -j | jq '.flows.offloaded')"
}

phase_trb() {
	say "== trb: BPF_PROG_TEST_RUN, $TRB_RUNS runs"
	if [ ! -x build/bench/test_run_bench ] || [ ! -x bench/test_run.sh ]; then
		echo "not measured: build/bench/test_run_bench is missing" >"$TMP/trb.md"
		return 0
	fi
	# Its own namespace (bench/test_run.sh creates and removes it).
	if ! ./bench/test_run.sh "$TRB_RUNS" >"$TMP/trb.md" 2>"$TMP/trb.err"; then
		{
			echo "not measured: bench/test_run.sh failed:"
			sed 's/^/    /' "$TMP/trb.err"
		} >"$TMP/trb.md"
	fi
}

# Where CPU 0's time goes per forwarded packet, by kernel function, for
# the bare redirect, nft-offload and plain forwarding side by side (one
# flow, no rules): perf's cpu-clock samples of CPU 0 while trafgen sends,
# divided by the packets the sink counted in the same window. Only when
# asked for (BENCH_PHASES=prof): it explains the limit ratio, it is not a goal.
PROF_S=${BENCH_PROF_S:-3}
PROF_FLOWS=${BENCH_PROF_FLOWS:-$MAIN_FLOWS} # as many flows as the rule-count sweep
phase_prof() {
	local cfg r1 r2 cfgs="limit-tc tc limit-xdp xdp plain" f=$PROF_FLOWS
	command -v perf >/dev/null || die "perf is missing (make deps)"
	say "== prof: CPU 0 per packet by function, $f flows, ${PROF_S}s per configuration"
	for cfg in $cfgs; do
		send_flows "$cfg" "$f"
		r1=$(sink_rx)
		perf record -q -C 0 -o "$TMP/prof.$cfg.data" -- sleep "$PROF_S" >/dev/null 2>&1
		r2=$(sink_rx)
		tg_stop
		echo $((r2 - r1)) >"$TMP/prof.$cfg.pkts"
		perf report -q -i "$TMP/prof.$cfg.data" --no-children --sort sym -F period,sym \
			--stdio 2>/dev/null | awk 'NF >= 3 {p = $1; $1 = ""; $2 = ""; sub(/^ +/, ""); print p "\t" $0}' \
			>"$TMP/prof.$cfg.tsv"
	done
	"$PY" - "$TMP" $cfgs "$f" >"$TMP/prof.md" <<'PYEOF'
import sys
tmp, cfgs = sys.argv[1], sys.argv[2:-1]
per = {}
pkts = {}
for c in cfgs:
    pkts[c] = int(open(f"{tmp}/prof.{c}.pkts").read()) or 1
    d = {}
    for line in open(f"{tmp}/prof.{c}.tsv"):
        period, sym = line.rstrip("\n").split("\t", 1)
        if sym.startswith("bpf_prog_"):
            # The tag varies per load; XDP's per-device copy is XDP's program.
            name = sym.split("_", 3)[-1].removesuffix("_vlan")
            sym = "bpf_prog_" + name.rsplit("_", 1)[-1]
        d[sym] = d.get(sym, 0) + int(period) / pkts[c]
    per[c] = d
busy = {c: sum(v for s, v in per[c].items() if "idle" not in s and s != "[k] pv_native_safe_halt") for c in cfgs}
syms = sorted({s for c in cfgs for s in per[c]}, key=lambda s: -max(per[c].get(s, 0) for c in cfgs))
print(f"## CPU 0 per forwarded packet, by function (ns; perf cpu-clock, {sys.argv[-1]} flows, no rules)")
print()
print("| function | " + " | ".join(cfgs) + " |")
print("|---|" + "---|" * len(cfgs))
print("| **busy CPU 0 per packet** | " + " | ".join(f"**{busy[c]:.0f}**" for c in cfgs) + " |")
print("| packets at the sink | " + " | ".join(str(pkts[c]) for c in cfgs) + " |")
for s in syms[:40]:
    if "idle" in s or "safe_halt" in s:
        continue
    print(f"| `{s}` | " + " | ".join(f"{per[c].get(s, 0):.0f}" for c in cfgs) + " |")
# What the goals leave for the fast path's work, in the same unit: the ratio
# goals are rates, and with CPU 0 saturated a rate is 1 / busy time.
lookup = ("htab_map_hash", "lookup_nulls_elem_raw", "memcmp")
print()
for m in ("tc", "xdp"):
    lim = f"limit-{m}"
    if m not in busy or lim not in busy:
        continue
    prog = per[m].get(f"bpf_prog_{m}", 0) - per[lim].get(f"bpf_prog_{m}", 0)
    add = busy[m] - busy[lim]
    print(f"- {m}: the fast path adds {add:.0f} ns per packet to the bare redirect "
          f"({busy[lim] / busy[m]:.2f} of its rate; 0.95 would leave "
          f"{busy[lim] / 0.95 - busy[lim]:.0f} ns). Of the {add:.0f}: its program "
          f"{prog:.0f} ns more than the bare redirect's, the flow lookup (hash, walk, key "
          f"compare) {sum(per[m].get(s, 0) for s in lookup):.0f} ns")
    if "plain" in busy:
        print(f"  - against the kernel without ruleset: {busy['plain'] / busy[m]:.2f}; 1.10 "
              f"would leave {busy['plain'] / 1.10 - busy[lim]:.0f} ns above the bare redirect")
PYEOF
	cat "$TMP/prof.md" >&2
	# The whole profiles, for a closer look (perf report -i ...).
	mkdir -p "$RESULTS/archive/$STAMP-prof"
	cp "$TMP"/prof.* "$RESULTS/archive/$STAMP-prof/"
}

phase_ha() {
	local flows=${BENCH_HA_FLOWS:-100000}
	say "== ha: failover of an HA pair with $flows offloaded connections"
	# Its own namespaces (bench/ha.sh creates and removes them).
	if ! NFO=$NFO ./bench/ha.sh "$flows" >"$TMP/ha.md" 2>"$TMP/ha.err"; then
		{
			echo "HA failover: not measured: bench/ha.sh failed:"
			tail -n 20 "$TMP/ha.err" | sed 's/^/    /'
		} >"$TMP/ha.md"
	fi
}

# ---- main ------------------------------------------------------------------------

main() {
	local f p all_flows prof_flows
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces, BPF)"
	for p in trafgen iperf3 nft conntrack jq clang bpftool gnuplot ethtool taskset; do
		command -v "$p" >/dev/null || die "$p is missing (make deps)"
	done
	[ -x "$NFO_SRC" ] || die "$NFO_SRC is missing (make)"
	[ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] || die "needs 2 CPUs (generator and forwarding on CPU 0, daemon on CPU 1)"
	# This script and what it starts run on CPU 1; CPU 0 is left to trafgen
	# and the forwarding its packets cause (explicitly pinned there).
	taskset -pc 1 $$ >/dev/null
	KSOFTIRQD0=$(pgrep -x ksoftirqd/0 || true)
	make --no-print-directory -s build/bench/fill_flows build/bench/ct_flood \
		build/bench/ct_unmark >&2
	# Private copies: build/ is shared, and a rebuild in the middle of the
	# run (another make) must not pair one daemon with another CLI.
	mkdir -p "$BIN"
	cp "$NFO_SRC" build/bench/fill_flows build/bench/ct_flood build/bench/ct_unmark "$BIN/"
	NFO=$BIN/$(basename "$NFO_SRC")

	printf 'phase\tconfig\trules\tflows\trep\tvalue\tsirq\tfastpath\tother\tready\tslow\twhy\n' >"$SAMPLES"
	: >"$META"
	meta kind "$RUN_KIND"
	meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	meta kernel "$(uname -r)"
	meta cpu "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo) x $(getconf _NPROCESSORS_ONLN)"
	# Refresh the index first: right after a commit its stat data can make
	# an unchanged tree look dirty.
	git update-index -q --refresh >/dev/null 2>&1 || true
	meta commit "$(git describe --always --dirty 2>/dev/null || echo unknown)"
	meta nfo "$NFO_SRC ($("$NFO" --version 2>/dev/null | head -1))"
	meta rules "$RULES"
	meta reps "$REPS"
	meta interval "$INTERVAL"
	meta main_flows "$MAIN_FLOWS"
	meta scale_rules "$SCALE_RULES"
	meta ready_timeout "$READY_TIMEOUT"
	meta ready_share "$READY_SHARE"
	meta scale_flows "$SCALE_FLOWS"
	meta scale_reps "$SCALE_REPS"
	meta dummy "$DUMMY"
	meta tcp_secs "$TCP_SECS"
	meta steady_s "$STEADY_S"
	meta tcp_reps "$TCP_REPS"
	meta cp_flood_rate_wanted "$CP_FLOOD_RATE"
	meta probe_rate "$PROBE_RATE"
	meta phases "$PHASES"

	say "== setup: namespaces $G $R $S"
	topology
	bpf_build
	sink_xdp on
	for f in $RULES 0 "$SCALE_RULES"; do [ -e "$TMP/rules.$f.nft" ] || ruleset_gen "$f"; done
	# The profile's flow count too (BENCH_PROF_FLOWS), when it runs: the echo
	# server answers only the flow sets it was started with.
	case " $PHASES " in *" prof "*) prof_flows=$PROF_FLOWS ;; *) prof_flows= ;; esac
	all_flows=$(printf '%s\n' "$MAIN_FLOWS" $SCALE_FLOWS 2 $prof_flows | sort -nu)
	for f in $all_flows; do trafgen_cfg "$f"; done
	echo_start $all_flows
	ruleset_load 0
	for f in $all_flows; do
		say "  opening $f flows (request/reply)"
		flows_open "$f"
	done
	# The echo server stays: each offload sample opens its flows again.

	for p in $PHASES; do
		case $p in
		udp) phase_udp ;;
		scale) phase_scale ;;
		steady) phase_steady ;;
		bridge) phase_bridge ;;
		tcp) phase_tcp ;;
		cpu2) phase_cpu2 ;;
		cp) phase_cp ;;
		sets) phase_sets ;;
		prof) phase_prof ;;
		trb | ha) ;; # after the topology is gone: nothing else running
		*) die "unknown phase $p" ;;
		esac
	done
	tg_stop
	daemon_stop
	# Warnings without their time stamps, counted.
	sed -E 's/^  daemon: [0-9:.]+ //' "$TMP/daemon-warnings.log" 2>/dev/null | sort | uniq -c >"$TMP/warnings.txt" || true
	for p in "$G" "$R" "$S"; do ip netns del "$p"; done
	case " $PHASES " in *" trb "*) phase_trb ;; *) echo "not run" >"$TMP/trb.md" ;; esac
	case " $PHASES " in *" ha "*) phase_ha ;; esac
	meta retries "$RETRIES"
	meta disturbed "$DISTURBED"
	meta stalls "$STALLS"
	meta other_max "$OTHER_MAX"
	meta daemon_stops "$STOPS"
	meta marks_left "$MARKS_LEFT"
	meta elapsed_s "$(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b - a}')"

	mkdir -p "$RESULTS/archive"
	"$PY" bench/report.py --samples "$SAMPLES" --meta "$META" --trb "$TMP/trb.md" \
		--warnings "$TMP/warnings.txt" --md "$TMP/report.md" --png "$TMP/report.png" \
		--workdir "$TMP"
	# Only a full run of every phase replaces the published table.
	latest=latest
	[ "$PHASES" = "$ALL_PHASES" ] || latest=latest-partial
	[ "$RUN_KIND" = quick ] && latest=latest-quick
	[ -s "$TMP/ha.md" ] && { echo; cat "$TMP/ha.md"; } >>"$TMP/report.md"
	[ -s "$TMP/prof.md" ] && { echo; cat "$TMP/prof.md"; } >>"$TMP/report.md"
	cp "$TMP/report.md" "$RESULTS/$latest.md"
	cp "$TMP/report.md" "$RESULTS/archive/$STAMP-$RUN_KIND.md"
	cp "$SAMPLES" "$RESULTS/archive/$STAMP-$RUN_KIND.tsv"
	cp "$META" "$RESULTS/archive/$STAMP-$RUN_KIND.meta"
	cat "$TMP/daemon-all.log" "$TMP/daemon.log" >"$RESULTS/archive/$STAMP-$RUN_KIND-daemon.log" 2>/dev/null || true
	if [ -s "$TMP/report.png" ]; then
		cp "$TMP/report.png" "$RESULTS/$latest.png"
		cp "$TMP/report.png" "$RESULTS/archive/$STAMP-$RUN_KIND.png"
	fi
	cat "$RESULTS/$latest.md"
	say "bench: results in bench/results/$latest.md and $latest.png ($(grep '^elapsed_s=' "$META" | cut -d= -f2)s)"
}

main "$@"
