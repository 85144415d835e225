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

# ---- offloaded: the same traffic, every view adds up ------------------------------
mkdir -p "$TMP/prom"
nfo_start --metrics-listen 127.0.0.1:$PORT --metrics-file "$TMP/prom/nft_offload.prom" \
	--metrics-interval 1 -v || { fail "daemon start"; nfo_done; }
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
nfo_done
