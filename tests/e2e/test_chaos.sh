#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Chaos: traffic through an offloaded router while faults hit it in a random
# order (the seed is printed; CHAOS_SEED=N repeats a run, CHAOS_SECONDS sets
# how long faults are injected). At the end: data intact, no stale flow (what
# is offloaded is what conntrack and the ruleset allow), the daemon's CPU back
# to idle, status healthy.
source "$(dirname "$0")/lib.sh"

SECONDS_WANTED=${CHAOS_SECONDS:-20}
SEED=${CHAOS_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$SEED
say "# chaos: seed $SEED, ${SECONDS_WANTED}s of faults (CHAOS_SEED=$SEED CHAOS_SECONDS=$SECONDS_WANTED to repeat)"

nfo_topology
nfo_add_wan1
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
NFO_DEVICES="lan0 lan1 wan0 wan1"
# A small table (the burst fault overfills it), a small event buffer (the
# flood fault overflows it), a short idle timeout (full tables free up).
DOPTS=(--flows 32 --event-buffer 8192)
NFO_IDLE=3
export NFO_DEVICES NFO_IDLE
nfo_start "${DOPTS[@]}" || exit 1

sexec $TRAFFIC udp-echo 7 &
disown
# Data that must arrive intact whatever happens: a TCP stream between the two
# LANs (no NAT, so it survives a conntrack flush the way the kernel path does),
# and UDP request/replies to the server (loss allowed while a link is down,
# corruption never).
MB=$((SECONDS_WANTED / 2 + 12))
c2exec $TRAFFIC tcp-recv 7100 "$MB" >"$TMP/tcp-recv.out" &
recv=$!
wait_for 5 listening "$C2" 7100
cexec $TRAFFIC tcp-send $CLIENT2_4 7100 "$MB" --rate 1 &
send=$!
cat >"$TMP/udp-probe.py" <<'PY'
import os, socket, sys, time
host, port, sport, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', sport))
s.settimeout(0.05)
sent = ok = bad = last_ok = 0
while not os.path.exists(stop):
    sent += 1
    msg = b'%08d' % sent + os.urandom(24)
    s.sendto(msg, (host, port))
    try:
        while True:
            data = s.recv(2048)
            if data == msg:
                ok += 1
                last_ok = time.time()
                break
            if data[:8] != msg[:8] and len(data) == len(msg):
                continue  # a late reply to an earlier request
            bad += 1
            break
    except socket.timeout:
        pass
    time.sleep(0.005)
print('%d %d %d %.3f' % (sent, ok, bad, last_ok))
PY
cexec $PY "$TMP/udp-probe.py" $SERVER4 7 40700 "$TMP/stop" >"$TMP/udp-probe.out" &
probe=$!
check "the steady flows are offloaded before the faults" \
	wait_for 10 sh -c "[ \$(ip netns exec $R $NFO --pin-dir $PIN flows --count --port 40700) -eq 1 ] &&
		[ \$(ip netns exec $R $NFO --pin-dir $PIN flows --count --port 7100) -eq 1 ]"

# --- the faults ---------------------------------------------------------------
f_ct_flush() { rexec conntrack -F >/dev/null 2>&1; }
f_dev_flap() {
	rexec ip link set wan0 down
	sleep 0.5
	rexec ip link set wan0 up
}
f_dev_delete() {
	rexec ip link del wan1
	sleep 0.3
	nfo_add_wan1 >/dev/null 2>&1
}
f_daemon_stop() {
	kill -STOP "$NFO_PID"
	sleep 1.5
	kill -CONT "$NFO_PID"
}
f_daemon_kill() {
	kill -KILL "$NFO_PID"
	wait "$NFO_PID" 2>/dev/null
	NFO_PID=
	nfo_start "${DOPTS[@]}" >/dev/null || say "# restart failed"
}
f_ruleset_flush() { # the whole ruleset, reloaded in one transaction
	{ echo "flush ruleset"; rexec nft list ruleset; } >"$TMP/ruleset.nft"
	rexec nft -f "$TMP/ruleset.nft"
}
f_table_full() { # 48 new UDP connections for a table of 32
	cexec $PY - $SERVER4 <<'PY'
import socket, sys
socks = []
for i in range(48):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', 41000 + i))
    s.settimeout(0.2)
    socks.append(s)
for _ in range(3):
    for s in socks:
        s.sendto(b'x' * 32, (sys.argv[1], 7))
        try:
            s.recv(64)
        except socket.timeout:
            pass
PY
}
full_table_load() { # 48 UDP connections for a table of 32, busy for $1 seconds
	cexec $TRAFFIC udp-load $SERVER4 7 42000 48 "$1"
}
f_event_flood() { # 3,000 new conntrack entries at once for an 8 KiB event buffer
	cexec $PY - $SERVER4 <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in range(3000):
    s.sendto(b'f', (sys.argv[1], 20000 + p))
PY
}
faults=(ct_flush dev_flap dev_delete daemon_stop daemon_kill ruleset_flush table_full event_flood)
declare -A done_count
end=$((SECONDS + SECONDS_WANTED))
order=()
while [ $SECONDS -lt $end ] || [ ${#done_count[@]} -lt ${#faults[@]} ]; do
	f=${faults[RANDOM % ${#faults[@]}]}
	# Every fault at least once, then random ones until the time is up.
	if [ ${#done_count[@]} -lt ${#faults[@]} ] && [ -n "${done_count[$f]:-}" ]; then
		continue
	fi
	order+=("$f")
	"f_$f"
	done_count[$f]=$((${done_count[$f]:-0} + 1))
	sleep "0.$((RANDOM % 8 + 2))"
done
say "# faults in order: ${order[*]}"

# Last, a table that stays full under load: connections that do not fit stay
# on the kernel path and cost the daemon nothing.
full_table_load 6 &
load=$!
sleep 2.5
cpu_ticks() { awk '{print $14 + $15}' "/proc/$NFO_PID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks)
sleep 3
t1=$(cpu_ticks)
check "a full table under load costs the daemon little CPU ($((t1 - t0)) ticks of $((3 * hz)) in 3 s)" \
	test $(((t1 - t0) * 100)) -le $((3 * hz * 10))
wait $load

# --- the aftermath --------------------------------------------------------------
status_ok() { nfo status >"$TMP/status.txt" 2>&1; }
check "the daemon survived every fault" kill -0 "$NFO_PID"
check "status is healthy once the faults stop" wait_for 10 status_ok
wait $send
s_rc=$?
wait $recv
r_rc=$?
check "TCP stream intact across every fault: $(cat "$TMP/tcp-recv.out")" test $s_rc -eq 0 -a $r_rc -eq 0
check "the steady UDP flow is offloaded again" wait_for 10 port_flows 40700 1
touch "$TMP/stop"
wait $probe
read -r sent ok bad last_ok <"$TMP/udp-probe.out"
check "UDP replies never corrupt ($ok of $sent answered, $bad corrupt)" test "$bad" -eq 0 -a "$ok" -gt 0
check "UDP was still answered at the end" \
	$PY -c "import sys, time; sys.exit(time.time() - $last_ok > 2)"

# No stale flow: every offloaded connection has a conntrack entry that carries
# the mark (the ruleset accepted it) and is not closing.
stale_flows() {
	nfo flows -j >"$TMP/flows.json" || return 1
	rexec conntrack -L -o extended 2>/dev/null >"$TMP/ct.txt"
	$PY - "$TMP/flows.json" "$TMP/ct.txt" <<'PY'
import json, re, sys
flows = json.load(open(sys.argv[1]))["flows"]
ct = set()
for line in open(sys.argv[2]):
    m = re.search(r'src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)', line)
    mark = re.search(r'mark=(\d+)', line)
    if m and mark and int(mark.group(1)) & 0xc0000000 == 0xc0000000:
        ct.add((m.group(1), m.group(2), int(m.group(3)), int(m.group(4))))
stale = [f for f in flows
         if (f["original"]["src"], f["original"]["dst"],
             f["original"]["sport"], f["original"]["dport"]) not in ct]
for f in stale:
    print("# stale:", f["protocol"], f["original"]["src"], f["original"]["sport"],
          f["original"]["dst"], f["original"]["dport"])
sys.exit(1 if stale else 0)
PY
}
check "no stale flow: every offloaded connection carries both mark bits in conntrack" stale_flows
check "the table held no more than its capacity ($(nfo flows --count))" test "$(nfo flows --count)" -le 32
# The ruleset still decides after all that.
rexec nft insert rule inet filter forward udp dport 7 drop
check "a drop rule added after the chaos stops the UDP flow within a second" wait_for 1 port_flows 40700 0
rexec nft -a list chain inet filter forward | awk '/udp dport 7 drop/ {print $NF}' |
	while read -r h; do rexec nft delete rule inet filter forward handle "$h"; done

sleep 2
t0=$(cpu_ticks)
sleep 3
t1=$(cpu_ticks)
check "the daemon is back to idle ($((t1 - t0)) ticks of $((3 * hz)) in 3 s)" \
	test $(((t1 - t0) * 100)) -le $((3 * hz * 5))
nfo_done
