#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer (c) of the tests: the command line. Golden text and JSON of every
# command against a router (tests/e2e/lib.sh, tests/lib/) carrying four known
# connections, JSON validated against its documented keys, text and JSON
# compared, a table of bad arguments, and `stop` leaving nothing behind.
#
#   tests/cli/run.sh                    run (as root; build first: make)
#   UPDATE_GOLDEN=1 tests/cli/run.sh    rewrite tests/cli/golden/ from this run,
#                                       then review `git diff tests/cli/golden`
#   KEEP_OUTPUT=DIR tests/cli/run.sh    also keep the raw and normalised outputs
#
# A golden file holds the command line, the normalised stdout and stderr and
# the exit status. Normalising (tests/cli/check.py) replaces what changes from
# run to run or machine to machine - counters, conntrack ids, ifindexes, ages,
# times, pids, kernel and version, latency figures, which kernel features this
# kernel has - by <TAGS>, and sorts what has no defined order (flows are listed
# by conntrack id, which is random). Those values are checked otherwise: text
# against JSON, JSON against `ip link`, filters against known counts.
#
# Where the CLI misbehaves and the right behaviour is plain (e.g. a JSON stream
# that does not parse), the check expects the right behaviour and fails until
# the CLI is fixed; elsewhere the golden files record what the CLI does now.
#
# The known connections (client ports fixed, so tuples are stable):
#   udp  198.18.1.2:40001      -> 198.19.2.2:7001      lan0 -> wan0, masquerade
#   tcp  [2001:db8:1::2]:40002 -> [2001:db8:2::2]:7002 lan0 -> wan0, masquerade
#   tcp  198.18.1.2:40003      -> 198.18.3.2:7003      lan0 -> lan1, no NAT
#   udp  [2001:db8:1::2]:40004 -> [2001:db8:3::2]:7004 lan0 -> lan1, no NAT
# each sending a packet every 100 ms (tests/lib/traffic.py client), plus one
# unanswered UDP packet 198.18.1.2:40009 -> 198.19.2.2:7999 for explain.
set -u

T0=$(date +%s)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - tests/cli must run as root (namespaces, BPF)"
	exit 1
fi
if [ ! -x "$ROOT/build/nft-offload" ]; then
	echo "not ok - $ROOT/build/nft-offload is missing: run make first"
	exit 1
fi

# Namespaces, private bpffs, cleanup on exit.
# shellcheck source=../e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

# Ours, set after lib.sh so that nothing there overrides them.
HERE=$ROOT/tests/cli
GOLDEN=$HERE/golden
# The helpers need the system python (the one on PATH may lack packages).
check_py() { /usr/bin/python3 "$HERE/check.py" "$@"; }
TRAFFIC_PY=(/usr/bin/python3 "$ROOT/tests/lib/traffic.py")
UPDATE=${UPDATE_GOLDEN:-0}
W=$TMP/cli
mkdir -p "$W" "$GOLDEN"
export NFO_TMP=$TMP NFO_PIN=$PIN

N_OK=0
N_FAIL=0
ok() {
	echo "ok - $*"
	N_OK=$((N_OK + 1))
}
notok() {
	echo "not ok - $*"
	N_FAIL=$((N_FAIL + 1))
}
diag() { sed 's/^/#   /' | head -n "${1:-40}"; }
expect() { # expect "description" command...: ok when the command succeeds
	local what=$1
	shift
	if "$@"; then ok "$what"; else notok "$what"; fi
}

# ---- running the CLI --------------------------------------------------------

# cli ARGS: nft-offload ARGS in the router namespace with our pin dir.
# Leaves stdout, stderr and the exit status in $W/out, $W/err, $RC.
PINARGS=1
cli() {
	if [ "$PINARGS" = 1 ]; then
		timeout 30 ip netns exec "$R" "$NFO" --pin-dir "$PIN" "$@" >"$W/out" 2>"$W/err"
	else
		timeout 30 ip netns exec "$R" "$NFO" "$@" >"$W/out" 2>"$W/err"
	fi
	RC=$?
}
cli_nopin() {
	PINARGS=0
	cli "$@"
	PINARGS=1
}

declare -A WRITTEN=() USED=()

# compare_golden NAME FILE: FILE against golden/NAME.txt (or write it).
# With SAME=1, the output of another spelling of the golden command line
# (-j before the command, --json): everything but the command line must match.
compare_golden() {
	local name=$1 got=$2 gold=$GOLDEN/$1.txt
	USED[$name]=1
	if [ "$UPDATE" = 1 ] && [ -z "${WRITTEN[$name]:-}" ] && [ "${SAME:-0}" = 0 ]; then
		cp "$got" "$gold"
		WRITTEN[$name]=1
		ok "golden $name (written)"
		return 0
	fi
	if [ ! -f "$gold" ]; then
		notok "golden $name: no golden/$name.txt (UPDATE_GOLDEN=1 $0 creates it)"
		return 1
	fi
	if [ "${SAME:-0}" = 1 ]; then
		tail -n +2 "$gold" >"$W/gold"
		tail -n +2 "$got" >"$W/got"
	else
		cp "$gold" "$W/gold"
		cp "$got" "$W/got"
	fi
	if diff -u "$W/gold" "$W/got" >"$W/diff"; then
		ok "golden $name: $(head -n1 "$got" | cut -c3-)"
		return 0
	fi
	notok "golden $name: $(head -n1 "$got" | cut -c3-) differs from golden/$name.txt"
	diag 60 <"$W/diff"
	return 1
}
golden_same() { SAME=1 golden "$@"; }
golden_same_nopin() { SAME=1 golden_nopin "$@"; }

# golden NAME MODE ARGS: run, normalise (MODE text, json or ndjson), compare.
golden() {
	local name=$1 mode=$2
	shift 2
	cli "$@"
	golden_last "$name" "$mode" "$(qargs "$@")"
}
golden_nopin() {
	local name=$1 mode=$2
	shift 2
	cli_nopin "$@"
	golden_last "$name" "$mode" "$(qargs "$@")"
}
# The command line as a shell would take it (quotes only where needed).
qargs() {
	local a out=""
	for a; do
		case $a in
		*[[:space:]\;\'\"\[\]\|*?]* | "") out+=" '$a'" ;;
		*) out+=" $a" ;;
		esac
	done
	echo "${out# }"
}
golden_last() { # the run just made
	local name=$1 mode=$2 cmdline=$3 n=$((${COUNTER:-0} + 1))
	COUNTER=$n
	check_py block "$cmdline" "$W/out" "$W/err" "$RC" "$mode" >"$W/$name.$n.got"
	if [ -n "${KEEP_OUTPUT:-}" ]; then
		mkdir -p "$KEEP_OUTPUT"
		cp "$W/out" "$KEEP_OUTPUT/$name.$n.out"
		cp "$W/err" "$KEEP_OUTPUT/$name.$n.err"
		cp "$W/$name.$n.got" "$KEEP_OUTPUT/"
	fi
	compare_golden "$name" "$W/$name.$n.got"
}

# validate KIND: the JSON in $W/out against its documented keys.
validate() {
	local kind=$1 what=$2
	if check_py validate "$kind" "$W/out" "$W/man" >"$W/problems" 2>&1; then
		ok "JSON of $what is valid, documented keys present"
	else
		notok "JSON of $what: $(head -n1 "$W/problems")"
		diag <"$W/problems"
	fi
}

# get EXPR: a value from the JSON in $W/out (EXPR is Python on d).
get() { check_py get "$W/out" "$1" 2>/dev/null; }

# expect_rc WHAT RC: the last run's exit status.
expect_rc() {
	if [ "$RC" = "$2" ]; then ok "$1: exit $2"; else
		notok "$1: exit $RC, expected $2"
		diag <"$W/err"
	fi
}

# same_state CMD ARGS: read text, JSON, text again until both texts agree
# (nothing changed in between); leaves $W/a.txt, $W/a.err, $W/a.json.
same_state() {
	local _
	for _ in 1 2 3 4 5; do
		cli "$@"
		cp "$W/out" "$W/a.txt"
		cp "$W/err" "$W/a.err"
		cli -j "$@"
		cp "$W/out" "$W/a.json"
		cli "$@"
		# ages, idle times, uptime and heartbeat move on; nothing else may
		if [ "$(stable <"$W/a.txt")" = "$(stable <"$W/out")" ]; then
			return 0
		fi
		sleep 0.3
	done
	return 1
}
stable() { sed -E 's/(age|idle)=[^ ]+//g; s/up [^,]+, heartbeat [^)]+//'; }

agree() { # agree KIND ARGS
	local kind=$1
	shift
	if ! same_state "$@"; then
		notok "$kind: the state kept changing while paused (cannot compare text and JSON)"
		return
	fi
	if check_py agree "$kind" "$W/a.txt" "$W/a.json" "$W/a.err" >"$W/problems" 2>&1; then
		ok "text and JSON of '$*' agree"
	else
		notok "text and JSON of '$*' disagree: $(head -n1 "$W/problems")"
		diag <"$W/problems"
	fi
}

count() { # count FILTER...: flows --count
	cli flows --count "$@"
	cat "$W/out"
}

expect_count() { # expect_count N FILTER...
	local n=$1 got
	shift
	got=$(count "$@")
	if [ "$got" = "$n" ] && [ "$RC" = 0 ]; then
		ok "flows --count $* = $n"
	else
		notok "flows --count $*: '$got' (exit $RC), expected $n"
		diag <"$W/err"
	fi
	cli -j flows --count "$@"
	got=$(get 'd["count"]')
	[ "$got" = "$n" ] || notok "flows -j --count $*: count $got, expected $n"
}

flows_count_is() { [ "$(count)" = "$1" ]; }

# ---- leftovers --------------------------------------------------------------

# nothing_left WHEN: no nft table, no tc filter, clsact or XDP on the router's
# devices, no pins, and the programs and maps we saw are freed.
nothing_left() {
	local when=$1 d left=""
	if rexec nft list table inet nft_offload >/dev/null 2>&1; then
		left+=" nft-table"
	fi
	for d in lan0 lan1 wan0; do
		[ -n "$(rexec tc filter show dev "$d" ingress)" ] && left+=" tc-filter:$d"
		[ -n "$(rexec tc filter show dev "$d" egress)" ] && left+=" tc-egress-filter:$d"
		rexec tc qdisc show dev "$d" | grep -q clsact && left+=" clsact:$d"
		rexec ip -d link show dev "$d" | grep -q 'prog/xdp' && left+=" xdp:$d"
	done
	[ -e "$PIN" ] && left+=" pins:$(find "$PIN" -mindepth 1 -printf '%f,')"
	for d in ${PROG_IDS:-}; do
		wait_for 5 sh -c "! bpftool prog show id $d >/dev/null 2>&1" || left+=" prog-id:$d"
	done
	for d in ${MAP_IDS:-}; do
		wait_for 5 sh -c "! bpftool map show id $d >/dev/null 2>&1" || left+=" map-id:$d"
	done
	if [ -z "$left" ]; then
		ok "$when: nothing left behind (nft table, tc, XDP, pins, programs, maps)"
	else
		notok "$when: left behind:$left"
	fi
}

# Programs and maps of the running instance, to check they are freed later.
record_ids() {
	local d f
	PROG_IDS=""
	MAP_IDS=""
	for d in lan0 lan1 wan0; do
		PROG_IDS+=" $(rexec tc -j filter show dev "$d" ingress |
			/usr/bin/python3 -c 'import json,sys
print(" ".join(str(f["options"]["prog"]["id"]) for f in json.load(sys.stdin)
               if "prog" in f.get("options", {})))')"
	done
	for f in "$PIN"/*; do
		MAP_IDS+=" $(bpftool -j map show pinned "$f" 2>/dev/null |
			/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)"
	done
	# shellcheck disable=SC2086 # split on purpose
	PROG_IDS=$(printf '%s\n' $PROG_IDS | sort -u | tr '\n' ' ')
	# shellcheck disable=SC2086
	MAP_IDS=$(printf '%s\n' $MAP_IDS | sort -u | tr '\n' ' ')
	if [ -n "${PROG_IDS// /}" ] && [ -n "${MAP_IDS// /}" ]; then
		ok "recorded the daemon's programs (${PROG_IDS% }) and pinned maps (${MAP_IDS% })"
	else
		notok "cannot find the daemon's programs or maps (programs '$PROG_IDS', maps '$MAP_IDS')"
	fi
}

# ---- traffic ----------------------------------------------------------------

start_traffic() {
	sexec "${TRAFFIC_PY[@]}" serve "$W/s.ready" 7001 7002 >"$W/serve-s.log" 2>&1 &
	c2exec "${TRAFFIC_PY[@]}" serve "$W/c2.ready" 7003 7004 >"$W/serve-c2.log" 2>&1 &
	wait_for 5 test -e "$W/s.ready" && wait_for 5 test -e "$W/c2.ready" || return 1
	mkdir -p "$W/client"
	cexec "${TRAFFIC_PY[@]}" client "$W/client" \
		"udp,$CLIENT4,40001,$SERVER4,7001" \
		"tcp,$CLIENT6,40002,$SERVER6,7002" \
		"tcp,$CLIENT4,40003,$CLIENT2_4,7003" \
		"udp,$CLIENT6,40004,$CLIENT2_6,7004" >"$W/client.log" 2>&1 &
	wait_for 10 test -e "$W/client/ready"
}
pause_traffic() {
	touch "$W/client/pause"
	sleep 0.5 # the last echoes and ACKs
}
resume_traffic() { rm -f "$W/client/pause"; }
received() { cat "$W/client/received" 2>/dev/null || echo 0; }

# ---- 1. help, version, man --------------------------------------------------

echo "# help, version, man page"
nfo_topology || {
	notok "cannot build the test namespaces"
	exit 1
}
cli_nopin --man
cp "$W/out" "$W/man"
golden_nopin man text --man
golden_nopin version text --version
golden_same_nopin version text -V
v=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")
cli_nopin --version
expect "--version prints the Makefile's VERSION ($v)" grep -qx "nft-offload $v (ABI [0-9]*)" "$W/out"
golden_nopin help text --help
golden_same_nopin help text -h
golden_same_nopin help text help
golden_nopin no-arguments text
for c in run status flows stats flush evict explain stop; do
	golden "help-$c" text "$c" --help
done
cli flows -h
expect "-h is --help" cmp -s "$W/out" <(ip netns exec "$R" "$NFO" flows --help)

# ---- 2. bad arguments -------------------------------------------------------

echo "# bad arguments: one line on stderr, nothing on stdout, exit 2"
printf 'devices = lan0 wan0\n# a comment\nmark = 7\n' >"$TMP/bad-mark.conf"
printf 'devices = lan0 wan0\nbogus = 1\n' >"$TMP/bad-key.conf"
printf 'devices = lan0 wan0\n\nidle-timeout\n' >"$TMP/bad-line.conf"
printf 'devices = lan0\0 wan0\n' >"$TMP/bad-nul.conf"
# A devices value longer than any fixed buffer: the last name must not be cut.
printf 'devices = %1020s wan0x lan0\n' "" >"$TMP/bad-long.conf"
mkdir -p "$TMP/conf-dir"
: >"$W/usage-errors.got"
# bad EXIT ARGS: one row of the table.
bad() {
	local rc=$1 lines
	shift
	if [ "$1" = "--no-pin-dir" ]; then
		shift
		cli_nopin "$@"
	else
		cli "$@"
	fi
	check_py block "$(qargs "$@")" "$W/out" "$W/err" "$RC" text >>"$W/usage-errors.got"
	lines=$(wc -l <"$W/err")
	if [ "$RC" = "$rc" ] && [ "$lines" = 1 ] && [ ! -s "$W/out" ] &&
		grep -q '^nft-offload: ' "$W/err"; then
		ok "nft-offload $* -> exit $rc: $(cat "$W/err")"
	else
		notok "nft-offload $*: exit $RC (expected $rc), $lines stderr lines, $(wc -c <"$W/out") bytes on stdout"
		diag <"$W/err"
	fi
}
bad 2 --no-pin-dir bogus
bad 2 --no-pin-dir --bogus
bad 2 --no-pin-dir -j
bad 2 status --bogus
bad 2 status -x
bad 2 status extra
bad 2 status --config
bad 2 status --pin-dir relative/dir
bad 2 flows --sort
bad 2 flows --sort nonsense
bad 2 flows --port 70000
bad 2 flows --port 0
bad 2 flows --addr notanaddress
bad 2 flows --dev nosuchdev
bad 2 flows --proto icmp
bad 2 flows --limit 0
bad 2 flows --id xyz
bad 2 flows 198.18.1.2
bad 2 stats --iterations 3
bad 2 stats --watch 0
bad 2 stats extra
bad 2 flush --json
bad 2 flush -j
bad 2 -j flush
bad 2 flush extra
bad 2 evict
bad 2 evict --json --port 7001
bad 2 evict 198.18.1.2
bad 2 stop -j
bad 2 stop extra
bad 2 run --json --device lan0 --device wan0
bad 2 explain
bad 2 explain 198.18.1.2
bad 2 explain tcp 198.18.1.2
bad 2 explain icmp 198.18.1.2 198.19.2.2
bad 2 explain 198.18.1.2 198.19.2.2 198.18.3.2
bad 2 explain 198.18.1.2 2001:db8:2::2
bad 2 explain 198.18.1.2:70000 198.19.2.2
bad 2 explain notanaddress 198.19.2.2
bad 2 explain '[2001:db8:1::2' 2001:db8:2::2
bad 2 run --mark 7 --device lan0 --device wan0
bad 2 run --mark 0 --device lan0 --device wan0
bad 2 run --idle-timeout 0 --device lan0 --device wan0
bad 2 run --device a --device a
bad 2 run --mode fast --device lan0 --device wan0
bad 2 run --device lan0:fast --device wan0
bad 2 run --flows 1 --device lan0 --device wan0
bad 2 run --ct-timeout 30 --device lan0 --device wan0
bad 2 run --event-buffer 1 --device lan0 --device wan0
bad 2 run --select 'tcp dport 80; drop' --device lan0 --device wan0
bad 2 run --device lan0 --device wan0 extra
bad 2 run --device lan0
bad 2 run
bad 2 run --idle-timeout 2h --ct-timeout 1h --device lan0 --device wan0
bad 2 run -c "$TMP/bad-mark.conf"
bad 2 run -c "$TMP/bad-key.conf"
bad 2 run -c "$TMP/bad-line.conf"
bad 2 status -c "$TMP/bad-mark.conf"
bad 2 run -c "$TMP/no-such.conf"
# Numbers: overflow, NaN and infinity, the kernel's limit; one sentence each.
bad 2 run --idle-timeout 1147797409030816545h --device lan0 --device wan0
bad 2 run --ct-timeout 99999999999999999999 --device lan0 --device wan0
bad 2 run --flows 128M --device lan0 --device wan0
bad 2 run --flows 99999999999999999999999 --device lan0 --device wan0
bad 2 run --event-buffer 17179869184G --device lan0 --device wan0
bad 2 run --mark -0x80000000 --device lan0 --device wan0
bad 2 stats --watch nan
bad 2 stats --watch inf
bad 2 stats --watch 1 --iterations 99999999999999999999999
bad 2 flows --limit 99999999999999999999999
bad 2 flows --id -4294967295
bad 2 flows --port ' 80'
# Config and command-line details.
bad 2 run --device lo --device wan0
bad 2 explain tcp 198.18.1.2 198.19.2.2 198.18.3.2
bad 2 run -c "$TMP/conf-dir"
bad 2 run -c "$TMP/bad-nul.conf"
bad 2 run -c "$TMP/bad-long.conf"
bad 2 status --pin-dir "/$(printf '%0300d' 0)"
compare_golden usage-errors "$W/usage-errors.got"
# --pin-dir=DIR before the command is a global option like --pin-dir DIR.
cli_nopin --pin-dir="$PIN" stop
expect "--pin-dir=DIR before the command is accepted (exit $RC)" [ "$RC" = 0 ]
expect "... and used" grep -q "nothing pinned in $PIN" "$W/err"
# The config file errors name FILE:LINE.
for f in bad-mark.conf:3 bad-key.conf:2 bad-line.conf:3; do
	expect "config error names $f" grep -q "^nft-offload: error: <TMP>/$f: " "$W/usage-errors.got"
done

echo "# not root: one sentence, exit 1"
: >"$W/nonroot.got"
nobody() { # nobody ARGS: as uid/gid 65534 in the router namespace
	timeout 10 ip netns exec "$R" setpriv --reuid 65534 --regid 65534 --clear-groups \
		"$NFO" --pin-dir "$PIN" "$@" >"$W/out" 2>"$W/err"
	RC=$?
	check_py block "$(qargs "$@")" "$W/out" "$W/err" "$RC" text >>"$W/nonroot.got"
}
for c in status flows stats flush "evict --proto udp" "explain 198.18.1.2 198.19.2.2" stop \
	"run --device lan0 --device wan0"; do
	# shellcheck disable=SC2086
	nobody $c
	if [ "$RC" = 1 ] && [ "$(wc -l <"$W/err")" = 1 ] && [ ! -s "$W/out" ] &&
		grep -q "^nft-offload: ${c%% *} needs root" "$W/err"; then
		ok "non-root $c -> exit 1: $(cat "$W/err")"
	else
		notok "non-root $c: exit $RC, stderr: $(head -c 200 "$W/err")"
	fi
done
nobody status --help
expect "non-root status --help works (exit 0)" [ "$RC" = 0 ]
nobody flows --port 70000
expect "non-root bad usage still exits 2" [ "$RC" = 2 ]
compare_golden nonroot "$W/nonroot.got"

# ---- 3. nothing attached ----------------------------------------------------

# Run before the daemon ever started, and again after each stop: same output.
idle_checks() {
	local when=$1
	echo "# nothing attached ($when)"
	golden idle-status text status
	expect_rc "$when: status" 1
	expect "$when: status says not running" grep -q '^health: *no: not running$' "$W/out"
	golden idle-status-json json status -j
	expect_rc "$when: status -j" 1
	validate status "status -j ($when)"
	expect "$when: status -j: daemon.running false, healthy false" \
		[ "$(get '(d["daemon"]["running"], d["healthy"])')" = "(False, False)" ]
	for c in flows:flows stats:stats stats-watch:"stats --watch 0.2 --iterations 1" \
		flush:flush evict:"evict --proto udp"; do
		# shellcheck disable=SC2086
		eval "set -- ${c#*:}"
		golden "idle-${c%%:*}" text "$@"
		expect_rc "$when: $*" 1
		expect "$when: $* says nothing is pinned, in one line" \
			[ "$(cat "$W/err")" = "nft-offload: not running here: nothing pinned in $PIN" ]
	done
	golden idle-flows-json text -j flows
	expect "$when: flows -j prints nothing on stdout" [ ! -s "$W/out" ]
	golden idle-explain text explain tcp 198.18.1.2:40099 198.18.3.2:7099
	expect_rc "$when: explain (not offloaded)" 1
	golden idle-stop text stop
	expect_rc "$when: stop" 0
}
idle_checks "never started"

echo "# a daemon that cannot start leaves nothing behind"
cli run --device lan0 --device nosuchdev
golden_last run-no-device text "run --device lan0 --device nosuchdev"
nothing_left "failed run"

# ---- 4. running, with known connections ---------------------------------------

echo "# daemon and known connections"
# The pid of the daemon in the router namespace.
daemon_pid() {
	local p
	for p in $(ip netns pids "$R"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = nft-offload ] && echo "$p"
	done
}
start_daemon() {
	: >"$NFO_LOG"
	nfo_start --flows 4096 && DPID=$(daemon_pid) && [ -n "$DPID" ]
}
if ! start_daemon; then
	notok "the daemon did not start"
	exit 1
fi
ok "daemon started (pid $DPID)"
# Everything below needs the known connections: stop here without them.
if start_traffic; then
	ok "traffic: 4 connections answered"
else
	notok "traffic did not start"
	tail -n 5 "$W"/*.log | diag
	exit 1
fi
if wait_for 10 flows_count_is 4; then
	ok "4 connections offloaded"
else
	notok "not 4 connections offloaded: $(count)"
	cli flows
	diag <"$W/out"
	diag <"$NFO_LOG"
	exit 1
fi
cexec /usr/bin/python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.1.2", 40009))
s.sendto(b"nobody listens", ("198.19.2.2", 7999))'

echo "# golden output, traffic running"
golden status text status
expect_rc "status (healthy)" 0
golden status-json json status -j
validate status "status -j"
golden_same status-json json -j status
golden_same status-json json status --json
golden flows text flows
golden flows-json json flows -j
validate flows "flows -j"
golden_same flows-json json -j flows
golden flows-count text flows --count
golden flows-count-json json flows --count -j
golden flows-udp text flows --proto udp
golden flows-limit text flows --limit 1 --sort bytes --ipv6
golden stats text stats
golden stats-json json stats -j
validate stats "stats -j"
golden_same stats-json json -j stats
golden stats-all text stats --all
golden explain-udp4 text explain udp 198.18.1.2:40001 198.19.2.2:7001
golden explain-udp4-json json explain -j udp 198.18.1.2:40001 198.19.2.2:7001
validate explain "explain -j (offloaded)"
golden_same explain-udp4-json json -j explain udp 198.18.1.2:40001 198.19.2.2:7001
golden explain-masquerade text explain 198.19.2.2:7001 198.19.2.1:40001
golden explain-tcp6 text explain tcp '[2001:db8:1::2]:40002' '[2001:db8:2::2]:7002'
golden explain-udp6 text explain 2001:db8:1::2 2001:db8:3::2
golden explain-unreplied text explain udp 198.18.1.2:40009 198.19.2.2:7999
golden explain-unreplied-json json explain udp 198.18.1.2:40009 198.19.2.2:7999 -j
validate explain "explain -j (not offloaded)"
golden explain-unknown text explain tcp 198.18.1.2:40099 198.18.3.2:7099

echo "# JSON against the system"
cli status -j
expect "status -j: daemon.running, healthy" \
	[ "$(get '(d["daemon"]["running"], d["healthy"], d["daemon"]["pid"])')" = "(True, True, $DPID)" ]
expect "status -j: nft.table_present, ct_mark 0xc0000000" \
	[ "$(get '(d["nft"]["table_present"], d["nft"]["ct_mark"])')" = "(True, 3221225472)" ]
expect "status -j: capacity is --flows 4096" [ "$(get 'd["flows"]["capacity"]')" = 4096 ]
expect "status -j: devices lan0 lan1 wan0, tc, attached, up" \
	[ "$(get '[(x["name"], x["mode"], x["attached"], x["link"]) for x in d["devices"]]')" = \
	"[('lan0', 'tc', True, 'up'), ('lan1', 'tc', True, 'up'), ('wan0', 'tc', True, 'up')]" ]
links=$(rexec ip -j link show | /usr/bin/python3 -c 'import json,sys
print({l["ifname"]: l["ifindex"] for l in json.load(sys.stdin)})')
expect "status -j: ifindexes are those of ip link" \
	/usr/bin/python3 -c "import sys; l=$links; d=$(get '{x["name"]: x["ifindex"] for x in d["devices"]}'); sys.exit(any(l[k] != v for k, v in d.items()))"
cli stats -j
expect "stats -j: ifindexes are those of ip link" \
	/usr/bin/python3 -c "import sys; l=$links; d=$(get '{x["name"]: x["ifindex"] for x in d["devices"]}'); sys.exit(any(l[k] != v for k, v in d.items()) or len(d) != 3)"
expect "stats -j: every device forwarded packets, lan0 had no_flow passes" \
	[ "$(get 'all(x["fwd_packets"] > 0 for x in d["devices"]) and d["devices"][0]["slow_path"]["no_flow"] > 0')" = True ]
cli flows -j
expect "flows -j: original.in/out and nat as set up" \
	[ "$(get 'sorted((f["protocol"], f["family"], f["original"]["in"], f["original"]["out"], f["reply"]["in"], f["nat"], f["state"]) for f in d["flows"])')" = \
	"[('tcp', 'ipv4', 'lan0', 'lan1', 'lan1', 'none', 'active'), ('tcp', 'ipv6', 'lan0', 'wan0', 'wan0', 'snat', 'active'), ('udp', 'ipv4', 'lan0', 'wan0', 'wan0', 'snat', 'active'), ('udp', 'ipv6', 'lan0', 'lan1', 'lan1', 'none', 'active')]" ]
expect "flows -j: masquerade to 198.19.2.1 / 2001:db8:2::1 in the reply tuple" \
	[ "$(get 'sorted(f["reply"]["dst"] for f in d["flows"] if f["nat"] == "snat")')" = "['198.19.2.1', '2001:db8:2::1']" ]
expect "flows -j: packets flowed both ways" \
	[ "$(get 'all(f[x]["packets"] > 0 and f[x]["bytes"] > 0 for f in d["flows"] for x in ("original", "reply"))')" = True ]
udp4_id=$(get '[f["ct_id"] for f in d["flows"] if f["protocol"] == "udp" and f["family"] == "ipv4"][0]')
cli explain -j udp 198.18.1.2:40001 198.19.2.2:7001
expect "explain -j: offloaded, with the conntrack id flows shows" \
	[ "$(get '(d["offloaded"], d["verdict"], str('"$udp4_id"') in d["checks"][0]["detail"])')" = "(True, 'offloaded', True)" ]
cli explain -j udp 198.18.1.2:40009 198.19.2.2:7999
expect "explain -j: unreplied UDP fails at 'marked'" \
	[ "$(get '[(c["check"], c["ok"]) for c in d["checks"]]')" = "[('conntrack', True), ('xfrm', True), ('marked', False)]" ]

printf '# the test pin dir\npin-dir = %s\n' "$PIN" >"$TMP/pin-dir.conf"
cli_nopin status -j -c "$TMP/pin-dir.conf"
expect "status -c FILE reads pin-dir from FILE" [ "$(get 'd["daemon"]["running"]')" = True ]

echo "# filters"
expect_count 4
expect_count 2 --proto tcp
expect_count 2 --proto udp
expect_count 2 --ipv4
expect_count 2 --ipv6
expect_count 1 --proto tcp --ipv6
expect_count 4 --dev lan0
expect_count 2 --dev lan1
expect_count 2 --dev wan0
expect_count 1 --addr 198.19.2.1
expect_count 1 --addr 2001:db8:2::1
expect_count 1 --addr 198.18.3.2
expect_count 2 --addr 2001:db8:1::2
expect_count 0 --addr 198.18.200.1
expect_count 1 --port 40002
expect_count 1 --port 7004
expect_count 0 --port 9
expect_count 1 --id "$udp4_id"
expect_count 0 --proto udp --dev lan1 --ipv4
# 0 is "no filter" inside the CLI: --id 0 must not select every connection
# (evict --id 0 would then evict them all).
cli flows --count --id 0
if [ "$RC" = 2 ] || { [ "$RC" = 0 ] && [ "$(cat "$W/out")" = 0 ]; }; then
	ok "flows --count --id 0: refused or 0"
else
	notok "flows --count --id 0 selects $(cat "$W/out") connections (exit $RC): --id 0 is taken as no filter, so evict --id 0 would evict everything"
fi
cli flows -j --limit 1
expect "flows -j --limit 1: one connection listed, count of all 4" \
	[ "$(get '(len(d["flows"]), d["count"])')" = "(1, 4)" ]
for k in bytes packets age idle; do
	case $k in
	bytes) e='f["original"]["bytes"] + f["reply"]["bytes"]' ;;
	packets) e='f["original"]["packets"] + f["reply"]["packets"]' ;;
	age) e='f["age_s"]' ;;
	idle) e='f["idle_s"]' ;;
	esac
	cli flows -j --sort "$k"
	expect "flows --sort $k: largest first" \
		[ "$(get "(lambda v: v == sorted(v, reverse=True))([$e for f in d['flows']])")" = True ]
done
cli flows --sort bytes --limit 2
expect "flows --limit 2 prints 2 lines" [ "$(wc -l <"$W/out")" = 2 ]

echo "# text and JSON agree (traffic paused)"
pause_traffic
agree status status
agree flows flows
agree flows flows --proto tcp
agree stats stats
agree stats-all stats --all
agree explain explain udp 198.18.1.2:40001 198.19.2.2:7001
agree explain explain udp 198.18.1.2:40009 198.19.2.2:7999
agree explain explain tcp 198.18.1.2:40099 198.18.3.2:7099
cli -j status
a=$(get 'd["flows"]["offloaded"]')
expect "status and flows --count agree ($a)" [ "$a" = "$(count)" ]

echo "# evict and flush (traffic paused, so nothing comes back meanwhile)"
golden evict-port text evict --port 7003
expect_count 3
golden evict-none text evict --addr 198.18.200.1
expect_count 3
golden evict-udp6 text evict --proto udp --ipv6
expect_count 2
golden flush text flush
expect_count 0
golden flush-empty text flush
golden flows-empty text flows
golden flows-empty-json json flows -j
resume_traffic
if wait_for 10 flows_count_is 4; then
	ok "after flush, the resumed connections are offloaded again"
else
	notok "after flush: $(count) connections offloaded again, expected 4"
fi
pub() {
	cli status -j
	[ "$(get 'd["flows"]["offloaded_total"] >= 8 and d["flows"]["evicted_total"] >= 4')" = True ]
}
expect "status -j counts the evictions and the re-offloads" wait_for 5 pub

echo "# stats --watch"
cli stats --watch 0.2 --iterations 2
expect_rc "stats --watch 0.2 --iterations 2" 0
expect "stats --watch: 2 reports of 3 device lines" \
	[ "$(grep -cE '^[0-9]{2}:[0-9]{2}:[0-9]{2}  (lan0|lan1|wan0) +fwd +[0-9.]+[kMG]? pps +[0-9.]+[kMG]?bit/s +slow path +[0-9.]+[kMG]? pps' "$W/out")" = 6 ]
# One JSON document per report, one per line (what `jq` and scripts expect).
cli stats --watch 0.2 --iterations 2 -j
expect_rc "stats --watch 0.2 --iterations 2 -j" 0
if check_py validate watch "$W/out" >"$W/problems"; then
	ok "stats --watch -j: one valid JSON document per report"
else
	notok "stats --watch -j: $(head -n1 "$W/problems")"
	diag <"$W/out"
fi
expect "stats --watch -j: 2 reports" [ "$(wc -l <"$W/out")" = 2 ]

# ---- 5. stop ------------------------------------------------------------------

echo "# stop with the daemon running"
record_ids
before=$(received)
golden stop text stop
expect_rc "stop" 0
expect "the daemon has exited" wait_for 5 sh -c "! kill -0 $DPID 2>/dev/null"
nothing_left "after stop"
sleep 0.5
expect "the connections live on through the stack after stop ($before -> $(received) echoes)" \
	[ "$(received)" -gt "$before" ]
idle_checks "after stop"

echo "# stop after the daemon was killed"
if ! start_daemon; then
	notok "the daemon did not start again"
	exit 1
fi
wait_for 10 flows_count_is 4 || notok "restarted: not 4 connections offloaded: $(count)"
record_ids
{
	kill -KILL "$DPID"
	wait "$NFO_PID"
} 2>/dev/null
golden killed-status text status
expect_rc "status with the daemon killed" 1
golden killed-status-json json status -j
validate status "status -j (daemon killed)"
pause_traffic
agree status status
resume_traffic
golden killed-stop text stop
expect_rc "stop after kill" 0
nothing_left "after kill and stop"
idle_checks "after kill and stop"

echo "# a leftover nft table alone"
rexec nft add table inet nft_offload
golden leftover-stop text stop
expect_rc "stop with only a leftover table" 0
nothing_left "after removing a leftover table"

# ---- summary ------------------------------------------------------------------

for f in "$GOLDEN"/*.txt; do
	f=$(basename "$f" .txt)
	[ -n "${USED[$f]:-}" ] && continue
	if [ "$UPDATE" = 1 ]; then
		rm -f "$GOLDEN/$f.txt"
		echo "# removed unused golden/$f.txt"
	else
		echo "# golden/$f.txt is not used by any check (UPDATE_GOLDEN=1 removes it)"
	fi
done
echo "# cli: $N_OK passed, $N_FAIL failed ($(($(date +%s) - T0))s)"
if [ "$UPDATE" = 1 ]; then
	echo "# golden files written to $GOLDEN: review them with git diff"
fi
[ "$N_FAIL" -eq 0 ]
exit $?
