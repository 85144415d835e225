#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Metrics and accounting: `metrics` and the daemon's GET /metrics (IPv4 and
# IPv6) in a strictly checked Prometheus format, agreeing with `stats -j`
# during and after traffic; the textfile; bad listen addresses refused.
# With nf_conntrack_acct=1, known UDP and TCP traffic through offloaded
# connections adds up to the byte in every view: flows totals, flows
# --conntrack, conntrack's counters of the same traffic without offload, the
# receiver's own IP byte counts, and the per-host metric after eviction.
source "$(dirname "$0")/lib.sh"
PROM="$PY $ROOT/tests/e2e/prom.py"
PORT=9567

nfo_topology
rexec sysctl -qw net.netfilter.nf_conntrack_acct=1
sexec $TRAFFIC udp-echo 7 &
exec 2> >(grep -v -e '^Terminated' -e ' Killed ' >&2)
# One IP packet per segment everywhere, so that packets add up too (the fast
# path counts a GSO packet as its segments, conntrack as one).
for ns in $C $S; do ip netns exec $ns ethtool -K eth0 tso off gso off gro off >/dev/null 2>&1; done
for d in lan0 lan1 wan0; do rexec ethtool -K $d tso off gso off gro off >/dev/null 2>&1; done

scrape() { rexec $PROM scrape "$1" >"$2"; }
val() { $PROM get "$@"; }
valid() { $PROM check "$1" >/dev/null; }

# ---- bad listen addresses: one sentence, nothing changed ----------------------
for bad in 198.18.1.1 127.0.0.1:0 127.0.0.1:70000 '::1:9567' 'localhost:9567'; do
	out=$(nfo run --device lan0 --device wan0 --metrics-listen "$bad" 2>&1)
	rc=$?
	check "metrics-listen '$bad' refused with one sentence (exit $rc)" \
		test $rc -eq 2 -a "$(printf '%s\n' "$out" | wc -l)" -eq 1 -a \
		-n "$(printf '%s' "$out" | grep "metrics-listen must be ADDRESS:PORT")"
done
ip netns exec "$R" $PY -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", '$PORT')); s.listen(1); time.sleep(30)' &
busy=$!
wait_for 5 listening "$R" $PORT
out=$(nfo run --device lan0 --device wan0 --metrics-listen 127.0.0.1:$PORT 2>&1)
rc=$?
kill $busy 2>/dev/null
wait $busy 2>/dev/null
check "port in use: exit $rc, '$out'" test $rc -ne 0 -a "$(printf '%s\n' "$out" | wc -l)" -eq 1 -a \
	"${out#*error: }" = "cannot listen for metrics on 127.0.0.1:$PORT: Address already in use"
check "port in use: nothing changed" nothing_left

# ---- reference: the same UDP traffic without nft-offload ------------------------
N=300
ct_counts() { # ct_counts SPORT: "opackets obytes rpackets rbytes" from conntrack -L
	rexec conntrack -L -p udp --orig-port-src "$1" -o extended 2>/dev/null | $PY -c '
import re, sys
line = sys.stdin.read()
print(" ".join(re.findall(r"packets=(\d+) bytes=(\d+)", line)[0] + re.findall(r"packets=(\d+) bytes=(\d+)", line)[1]))'
}
cexec $TRAFFIC udp-rr $SERVER4 7 $N --sport 41000 >/dev/null
ref=$(ct_counts 41000)
check "reference (no offload): conntrack counted $N packets of 92 bytes each way ($ref)" \
	test "$ref" = "$N $((N * 92)) $N $((N * 92))"

# TCP: the receiver counts IP total lengths itself, as conntrack does.
sexec nft -f - <<'NFT'
table inet acct2 {
	counter in5100 { }
	counter out5100 { }
	counter in5101 { }
	counter out5101 { }
	chain in { type filter hook input priority 0; tcp dport 5100 counter name in5100; tcp dport 5101 counter name in5101; }
	chain out { type filter hook output priority 0; tcp sport 5100 counter name out5100; tcp sport 5101 counter name out5101; }
}
NFT
rcv_counts() { # rcv_counts PORT: "opackets obytes rpackets rbytes" counted by the server
	sexec nft -j list counters table inet acct2 | $PY -c '
import json, sys
c = {o["counter"]["name"]: o["counter"] for o in json.load(sys.stdin)["nftables"] if "counter" in o}
i, o = c["in" + sys.argv[1]], c["out" + sys.argv[1]]
print(i["packets"], i["bytes"], o["packets"], o["bytes"])' "$1"
}
ct_tcp_counts() { # ct_tcp_counts DPORT
	rexec conntrack -L -p tcp --orig-port-dst "$1" -o extended 2>/dev/null | $PY -c '
import re, sys
c = re.findall(r"packets=(\d+) bytes=(\d+)", sys.stdin.read())
print(" ".join(c[0] + c[1]) if len(c) == 2 else "none")'
}
tcp_transfer $C $S $SERVER4 5100 2 || fail "TCP reference transfer"
sleep 0.2
tref=$(ct_tcp_counts 5100)
check "reference (no offload): conntrack counts TCP as the receiver does ($tref)" \
	test "$tref" = "$(rcv_counts 5100)"

# ---- offloaded: the same traffic, every view adds up ------------------------------
mkdir -p "$TMP/prom"
umask 077 # as under the systemd unit (UMask=0077)
nfo_start --metrics-listen 127.0.0.1:$PORT --metrics-file "$TMP/prom/nft_offload.prom" \
	--metrics-interval 1 -v || { fail "daemon start"; nfo_done; }
umask 022
# The first exchanges go through conntrack, the rest through the fast path.
cexec $TRAFFIC udp-rr $SERVER4 7 $N --sport 41001 --gap 0.005 >/dev/null
wait_for 3 port_flows 41001 1
nfo flows -j --port 41001 >"$TMP/flows.json"
read -r fp tot <<<"$($PY -c '
import json, sys
f = json.load(open(sys.argv[1]))["flows"][0]
o, r = f["original"], f["reply"]
print("%d/%d/%d/%d" % (o["packets"], o["bytes"], r["packets"], r["bytes"]),
      "%s %s %s %s" % (o["total_packets"], o["total_bytes"], r["total_packets"], r["total_bytes"]))' "$TMP/flows.json")"
check "flows -j: totals equal conntrack's count without offload ($tot)" test "$tot" = "$ref"
check "flows -j: the fast path carried most of it ($fp)" test "${fp%%/*}" -ge $((N / 2))
ctl=$(nfo flows --conntrack 2>/dev/null | grep "sport=41001 ")
check "flows --conntrack: true counters and [OFFLOAD] ($ctl)" $PY -c '
import re, sys
l = sys.argv[1]
c = re.findall(r"packets=(\d+) bytes=(\d+)", l)
sys.exit(not (" ".join(c[0] + c[1]) == sys.argv[2] and " [OFFLOAD] " in l and
              l.startswith("ipv4     2 udp      17 ")))' "$ctl" "$ref"
# Entries that are not offloaded: exactly conntrack's own line (timeouts aside).
same_line() {
	local a b
	a=$(rexec conntrack -L -p udp --orig-port-src 41000 -o extended 2>/dev/null | sed -E 's/^(\S+ +\S+ +\S+ +\S+ +)[0-9]+ /\1T /')
	b=$(nfo flows --conntrack 2>/dev/null | grep "sport=41000 " | sed -E 's/^(\S+ +\S+ +\S+ +\S+ +)[0-9]+ /\1T /')
	[ -n "$a" ] && [ "$a" = "$b" ] || { say "# conntrack: $a"; say "# ours:      $b"; return 1; }
}
check "flows --conntrack: a connection not offloaded prints as conntrack -L -o extended" same_line

# Evicted: conntrack keeps its part, the per-host metric gets the fast path's.
h0=$(nfo metrics | tee "$TMP/m0" | $PROM get /dev/stdin nft_offload_host_bytes_total \
	address=$CLIENT4 family=ipv4 direction=original 2>/dev/null || echo 0)
nfo evict --port 41001 >/dev/null
sleep 1.5
nfo metrics >"$TMP/m1"
h1=$(val "$TMP/m1" nft_offload_host_bytes_total address=$CLIENT4 family=ipv4 direction=original)
p1=$(val "$TMP/m1" nft_offload_host_packets_total address=$CLIENT4 family=ipv4 direction=reply)
h1r=$(val "$TMP/m1" nft_offload_host_bytes_total address=$CLIENT4 family=ipv4 direction=reply)
IFS=/ read -r fop fob frp frb <<<"$fp"
check "per-host metric after evict: the fast path's final counts ($((h1 - h0)) = $fob bytes)" \
	test $((h1 - h0)) -eq "$fob" -a "$p1" -ge "$frp"
left=$(ct_counts 41001)
read -r cop cob crp crb <<<"$left"
check "after evict: conntrack's counters + the per-host metric = the reference" \
	test "$((cop + fop)) $((cob + h1 - h0)) $((crp + frp)) $((crb + frb))" = "$ref"
check "the CLI's eviction reached the daemon's log (debug)" \
	grep -q "left the fast path (evicted by the CLI): a flow entry of host $CLIENT4" "$NFO_LOG"

# TCP through the fast path; FIN/RST take it out: conntrack's counters plus
# the per-host metric are what the receiver counted.
metric() { # metric NAME LABELS...: from the daemon's listener
	scrape http://127.0.0.1:$PORT/metrics "$TMP/mx" && val "$TMP/mx" "$@"
}
hb0=$(metric nft_offload_host_bytes_total address=$CLIENT4 family=ipv4 direction=original)
hp0=$(metric nft_offload_host_packets_total address=$CLIENT4 family=ipv4 direction=original)
rb0=$(metric nft_offload_host_bytes_total address=$CLIENT4 family=ipv4 direction=reply)
rp0=$(metric nft_offload_host_packets_total address=$CLIENT4 family=ipv4 direction=reply)
tcp_transfer $C $S $SERVER4 5101 2 || fail "TCP transfer through the fast path"
wait_for 5 port_flows 5101 0
sleep 1.5
hb=$(($(metric nft_offload_host_bytes_total address=$CLIENT4 family=ipv4 direction=original) - hb0))
hp=$(($(metric nft_offload_host_packets_total address=$CLIENT4 family=ipv4 direction=original) - hp0))
rb=$(($(metric nft_offload_host_bytes_total address=$CLIENT4 family=ipv4 direction=reply) - rb0))
rp=$(($(metric nft_offload_host_packets_total address=$CLIENT4 family=ipv4 direction=reply) - rp0))
read -r cop cob crp crb <<<"$(ct_tcp_counts 5101)"
rcv=$(rcv_counts 5101)
# How much the fast path carries depends on how soon the ruleset has accepted
# a packet of each direction (the transfer runs at full speed): the sums below
# are the point, this only shows the fast path had a real share of it.
check "TCP: the fast path carried most of it ($hp of ${rcv%% *} packets)" test "$hp" -ge $((${rcv%% *} / 2))
check "TCP: conntrack's counters + per-host metric = the receiver's count ($((cop + hp)) $((cob + hb)) $((crp + rp)) $((crb + rb)) = $rcv)" \
	test "$((cop + hp)) $((cob + hb)) $((crp + rp)) $((crb + rb))" = "$rcv"
check "TCP: the daemon logged the final counts (debug)" \
	grep -Eq "left the fast path \((closing|teardown)\): tcp $CLIENT4:[0-9]+ -> $SERVER4:5101: original $hp packets $hb bytes, reply $rp packets $rb bytes" "$NFO_LOG"

# ---- metrics against stats -j, during and after traffic ----------------------------
sexec $TRAFFIC udp-sink 9001 30000 --timeout 20 >/dev/null &
sink=$!
sleep 0.3
cexec $TRAFFIC udp-stream $SERVER4 9001 30000 --rate 10000 --hold 0.3 >/dev/null &
sleep 1.5
scrape http://127.0.0.1:$PORT/metrics "$TMP/a"
nfo stats -j >"$TMP/s.json"
scrape http://127.0.0.1:$PORT/metrics "$TMP/b"
stats_vs() { # stats_vs MODE(mid|equal) BEFORE AFTER
	$PY - "$@" "$TMP/s.json" <<'PYEOF'
import json, subprocess, sys
mode, a, b, sj = sys.argv[1:5]
def load(path):
    sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else ".")
    import importlib.util
    spec = importlib.util.spec_from_file_location("prom", PROM_PY)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return {(n, tuple(sorted(l.items()))): v for n, l, v in m.parse(open(path).read())[1]}
PROM_PY = __import__("os").environ["PROM_PY"]
A, B = load(a), load(b)
bad = 0
moving = 0
for d in json.load(open(sj))["devices"]:
    keys = [("nft_offload_fastpath_packets_total", (("device", d["name"]), ("direction", "in")), d["fwd_packets"]),
            ("nft_offload_fastpath_bytes_total", (("device", d["name"]), ("direction", "in")), d["fwd_bytes"])]
    keys += [("nft_offload_slowpath_packets_total", (("device", d["name"]), ("reason", r)), v)
             for r, v in d["slow_path"].items()]
    for n, l, v in keys:
        x, y = A[(n, l)], B[(n, l)]
        ok = x <= v <= y if mode == "mid" else x == v == y
        moving += x < y
        if not ok:
            print("# %s%s: metrics %d, %d; stats %d" % (n, dict(l), x, y, v)); bad += 1
if mode == "mid" and not moving:
    print("# nothing moved: no traffic during the scrapes?"); bad += 1
sys.exit(bad)
PYEOF
}
export PROM_PY=$ROOT/tests/e2e/prom.py
check "during traffic: stats -j lies between two scrapes, for every device and reason" stats_vs mid "$TMP/a" "$TMP/b"
wait $sink
sleep 0.3
# A stray packet of the links' own (IPv6 router solicitations, counted as
# other_host) can land between the three reads: read again, up to 5 times,
# until a quiet moment; counters that disagree do so every time.
for try in 1 2 3 4 5; do
	scrape http://127.0.0.1:$PORT/metrics "$TMP/a"
	nfo stats -j >"$TMP/s.json"
	nfo metrics >"$TMP/b"
	stats_vs equal "$TMP/a" "$TMP/b" >/dev/null && break
	sleep 0.5
done
check "traffic stopped: scrape, metrics and stats -j agree exactly" stats_vs equal "$TMP/a" "$TMP/b"
check "scrape: valid exposition format" valid "$TMP/a"
check "metrics command: valid exposition format" valid "$TMP/b"
adm=$(val "$TMP/b" nft_offload_admissions_total)
lat=$(val "$TMP/b" nft_offload_admission_latency_seconds_count)
check "admission latency histogram counts every admission ($lat of $adm)" test "$lat" -eq "$adm" -a "$adm" -ge 3
check "up 1 while the daemon runs (metrics command)" test "$(val "$TMP/b" nft_offload_up)" -eq 1
check "up 1 while the daemon runs (its own listener)" test "$(val "$TMP/a" nft_offload_up)" -eq 1
code=$(rexec $PY -c '
import urllib.request, urllib.error
try: urllib.request.urlopen("http://127.0.0.1:'$PORT'/x", timeout=5)
except urllib.error.HTTPError as e: print(e.code)')
check "GET of another path: 404 ($code)" test "$code" = 404
# A client that says nothing does not block the next scrape for long.
ip netns exec "$R" $PY -c '
import socket, time
s = socket.create_connection(("127.0.0.1", '$PORT')); time.sleep(8)' &
idle=$!
sleep 0.2
t0=$(date +%s%N)
scrape http://127.0.0.1:$PORT/metrics "$TMP/c"
t=$((($(date +%s%N) - t0) / 1000000))
kill $idle 2>/dev/null; wait $idle 2>/dev/null
check "a silent client is dropped after its timeout (next scrape after ${t} ms)" \
	test "$t" -lt 5000 -a -s "$TMP/c"

# ---- textfile -------------------------------------------------------------------
f=$TMP/prom/nft_offload.prom
check "textfile written, valid" valid "$f"
check "textfile: readable by node_exporter's user (mode $(stat -c %a "$f"))" \
	test "$(stat -c %a "$f")" = 644
check "textfile: no temporary file left" test -z "$(ls "$TMP/prom" | grep -v '^nft_offload.prom$')"
nfo_stop
check "textfile removed when the daemon stops" test ! -e "$f"

# ---- IPv6 listener ------------------------------------------------------------------
nfo_start --metrics-listen "[::1]:$PORT" || fail "daemon start with an IPv6 listener"
scrape "http://[::1]:$PORT/metrics" "$TMP/d"
check "IPv6 listener: valid exposition" valid "$TMP/d"
nfo_stop
nfo_done
