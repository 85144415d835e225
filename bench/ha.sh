#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench/ha.sh - the HA benchmark phase (bench/run.sh, phase "ha"; not in
# make check): N UDP connections (default 100,000) offloaded on router A of
# an HA pair (tests/e2e/ha_lib.sh: keepalived, conntrackd FTFW, nft-offload
# on both), trafgen blasting all of them, then A's links go down. Measured:
# VRRP switch time, conntrackd's commit on B, the time from B becoming
# master until B's fast path carries >= 98% of the packets, and B's daemon
# CPU over that time. Prints a Markdown section on stdout.
#
#   bench/ha.sh [FLOWS]     (FLOWS = SPORTS x 32 destination ports)
set -u
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/tests/e2e/lib.sh"
exec 3>&1 1>&2 # the report on stdout (fd 3), progress on stderr
source "$ROOT/tests/e2e/ha_lib.sh"

FLOWS=${1:-100000}
DPORTS=32
SPORTS=$(((FLOWS + DPORTS - 1) / DPORTS))
# gcd(SPORTS, 32) = 1 so that trafgen's two counters visit every pair.
[ $((SPORTS % 2)) = 1 ] || SPORTS=$((SPORTS + 1))
FLOWS=$((SPORTS * DPORTS))
HA_HASHLIMIT=$((FLOWS * 4))
HA_NL_MAX=$((256 << 20)) # conntrackd's event socket: the set-up is a burst
HA_UDP_TIMEOUT=180       # connections wait for the whole set-up
# No idle eviction before the blast starts.
HA_DAEMON_ARGS="--idle-timeout 600 ${HA_DAEMON_ARGS:-}"
SHARE=0.98

# wait_for counts tries; these checks take long with many connections.
wait_until() { # SECONDS COMMAND...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.5
	done
}
mac_of() { ip netns exec "$1" cat "/sys/class/net/$2/address"; }
sink_rx() { sexec cat /sys/class/net/eth0/statistics/rx_packets; }
daemon_pid() { pgrep -f -n "nft-offload run --pin-dir $TMP/bpf/$1 " ; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

tg_start() { # ROUTER: blast every flow at that router's LAN MAC
	printf '{ eth(da=%s, sa=%s), ipv4(saddr=198.18.1.2, daddr=%s, ttl=64), udp(sp=dinc(44000, %d, 1), dp=dinc(7300, %d, 1)), fill(0x00, 18) }\n' \
		"$(mac_of "${NS[$1]}" lan0)" "$(mac_of $C eth0)" "$SERVER4" \
		$((44000 + SPORTS - 1)) $((7300 + DPORTS - 1)) >"$TMP/tg.cfg"
	# A session of its own: trafgen forks a worker, and both must stop
	# (a leftover worker would keep sending to the old MAC).
	setsid ip netns exec "$C" trafgen -i "$TMP/tg.cfg" -o eth0 -P 1 --no-sock-mem --no-cpu-stats \
		>/dev/null 2>&1 &
	TG=$!
}
tg_stop() {
	[ -n "${TG:-}" ] || return 0
	kill -INT -- -"$TG" 2>/dev/null
	for _ in $(seq 20); do kill -0 -- -"$TG" 2>/dev/null || break; sleep 0.1; done
	kill -KILL -- -"$TG" 2>/dev/null
	wait "$TG" 2>/dev/null
	TG=
}

# Fast-path share of what reached the server over 0.5 s: one minus the
# share that went through ROUTER's forward chain (its rule counters). Near
# the goal the slow-path count is small, so the skew between reading the
# router and the server hardly matters.
slow_on() { echo $(($(counter_on "$1" established) + $(counter_on "$1" lan-wan))); }
share_on() { # ROUTER -> prints the share
	local s1 r1 s2 r2
	s1=$(slow_on "$1")
	r1=$(sink_rx)
	sleep 0.5
	s2=$(slow_on "$1")
	r2=$(sink_rx)
	awk -v s=$((s2 - s1)) -v r=$((r2 - r1)) 'BEGIN { printf "%.3f", (r > 0 ? 1 - s / r : 0) }'
}

topology
start_router A || exit 1
start_router B || exit 1
wait_for 10 is_master A || { say "A did not become master"; exit 1; }
sleep 1
# The server answers the flow set-up, and drops the blast before conntrack.
sexec nft -f - <<EOF
table inet sink {
	chain pre {
		type filter hook prerouting priority -400;
		ip length 46 counter drop
	}
}
EOF
: >"$TMP/echo.log"
sexec $PY "$ROOT/tests/lib/traffic.py" udp-echo --ipv4 --ready - 7300:$DPORTS >"$TMP/echo.log" 2>&1 &
wait_for 10 grep -q ready "$TMP/echo.log"
say "ha: opening $FLOWS UDP connections through A"
t0=$(now)
n=$(cexec $PY "$ROOT/tests/lib/traffic.py" udp-open 198.18.1.2 $SERVER4 44000:$SPORTS 7300:$DPORTS)
say "ha: $n opened in $(elapsed_ms "$t0" "$(now)") ms"
# Events lost during the burst are found by A's next dump: ask for it now.
kill -USR1 "$(daemon_pid A)"
wait_until 120 sh -c "[ \$(ip netns exec $A $NFO --pin-dir $TMP/bpf/A flows --count) -ge $((FLOWS * 99 / 100)) ]" ||
	say "ha: A offloaded only $(nfo_on A flows --count)"
off_a=$(nfo_on A flows --count)
synced() { [ "$(on B conntrackd -C "$TMP/conntrackd-B.conf" -e ct 2>/dev/null | grep -c 'dport=73')" -ge "$FLOWS" ]; }
wait_until 60 synced || say "ha: B's external cache is incomplete"
ext_b=$(on B conntrackd -C "$TMP/conntrackd-B.conf" -e ct 2>/dev/null | grep -c 'dport=73')
tg_start A
sleep 2
share_a=$(share_on A)
say "ha: A carries $share_a of the packets in its fast path; failing A"

pid_b=$(daemon_pid B)
ticks0=$(ticks "$pid_b")
sw=$(switch_over A down B)
t_m=$(master_since B)
tg_stop
tg_start B # the generator follows the gratuitous ARP to B's MAC
ready=never
for _ in $(seq 120); do
	s=$(share_on B)
	if awk -v s="$s" -v m=$SHARE 'BEGIN { exit !(s >= m) }'; then
		ready=$(elapsed_ms "$t_m" "$(now)")
		break
	fi
done
t_r=$(now)
ticks1=$(ticks "$pid_b")
share_b=$(share_on B)
off_b=$(nfo_on B flows --count)
tg_stop
hz=$(getconf CLK_TCK)
cpu=$(awk -v t=$((ticks1 - ticks0)) -v hz="$hz" -v a="$t_m" -v b="$t_r" \
	'BEGIN { printf "%.0f", 100 * t / hz / (b - a) }')
commit=$(grep -o 'Committed [0-9]* new entries\|commit has taken [0-9.]* seconds' \
	"$TMP/conntrackd-B.log" | tail -n2 | paste -sd, -)
sed 's/^/ha: B daemon: /' "$TMP/nfo-B.log" | grep -v -e libbpf -e 'debug: offload' | tail -n 12
nfo_on B stats | sed 's/^/ha: B stats: /'
[ -n "${HA_DAEMON_ARGS##*--idle-timeout 600 }" ] &&
	say "ha: B master at $(date -d @"$t_m" +%T.%N), offloads (-v) from $(grep -m1 'debug: offload' "$TMP/nfo-B.log" | cut -d' ' -f1) to $(grep 'debug: offload' "$TMP/nfo-B.log" | tail -n1 | cut -d' ' -f1)"
say "ha: switch ${sw} ms, B >= $SHARE after ${ready} ms, daemon CPU ${cpu}%"

cat >&3 <<EOF
### HA failover ($(date -u '+%Y-%m-%d %H:%M UTC'), bench/ha.sh $FLOWS)

$FLOWS UDP connections opened through router A (request/reply, masqueraded to the WAN
virtual address), offloaded there ($off_a), synced to B by conntrackd FTFW ($ext_b in
B's external cache), trafgen sending 64-byte packets over all of them (A's fast path
share $share_a). A's links down:

| measure | value |
|---|---|
| VRRP switch (A's links down to B master, advert_int 0.1 s) | ${sw} ms |
| conntrackd commit on B | ${commit:-not logged} |
| B master to >= 98% of packets in B's fast path | ${ready} ms |
| B's fast-path share then / connections offloaded on B | $share_b / $off_b |
| B's daemon CPU from master to that point | ${cpu}% of a CPU |

The generator is pointed at B's MAC as soon as B is master (as the gratuitous ARP does
for real clients). B offloads a connection after its first packet through B's own
forward chain, which marks it (marks synced from A are not trusted).
EOF
