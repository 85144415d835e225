#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Layer (a): BPF_PROG_TEST_RUN tests of the fast path, in a private network
# namespace whose routes and neighbours the programs look up.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FUZZ=${FUZZ:-20000}
NS=nfo-bpft-$$
TMP=$(mktemp -d /tmp/nfo-bpft.XXXXXX)

cleanup() {
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

/usr/bin/python3 tests/bpf/gen_vectors.py setup > "$TMP/setup.batch"
/usr/bin/python3 tests/bpf/gen_vectors.py setup6 > "$TMP/setup6.batch"
/usr/bin/python3 tests/bpf/gen_vectors.py vectors > "$TMP/vectors"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" -batch "$TMP/setup.batch"
ip -n "$NS" -6 -batch "$TMP/setup6.batch"
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# The conntrack entries the hold cases find (a 100 s timeout, which the fast
# path must raise to the hour fastpath_test asks for).
/usr/bin/python3 tests/bpf/gen_vectors.py ctentries > "$TMP/ctentries"
while read -r fam src sport dst dport rsrc rsport rdst rdport; do
	ip netns exec "$NS" conntrack -I -p udp -s "$src" -d "$dst" --sport "$sport" --dport "$dport" \
		-r "$rsrc" -q "$rdst" --reply-port-src "$rsport" --reply-port-dst "$rdport" \
		--timeout 100 >/dev/null 2>&1
done <"$TMP/ctentries"
ip netns exec "$NS" "$BUILD/tests/fastpath_test" "$TMP/vectors" --fuzz "$FUZZ" ${SEED:+--seed $SEED}
held=0
while read -r fam src sport dst dport rsrc rsport rdst rdport; do
	t=$(ip netns exec "$NS" conntrack -L -f "$fam" -p udp -s "$src" --sport "$sport" 2>/dev/null |
		awk '{print $3; exit}')
	if [ "${t:-0}" -gt 3000 ]; then
		held=$((held + 1))
	else
		echo "not ok - conntrack entry $src:$sport -> $dst:$dport (reply to $rdst:$rdport) not held by the fast path (${t:-no entry}s left, want an hour)"
	fi
done <"$TMP/ctentries"
n=$(wc -l <"$TMP/ctentries")
[ "$held" = "$n" ] || exit 1
echo "ok - the fast path held conntrack: $held of $n entries (XDP and tc, IPv4 and IPv6, original and masqueraded reply directions) got an hour"
# The benchmark's cost harness checks the verdict of every run it times: with
# and without the policy rules (TRB_RULES=1, there with hit flows that ask for
# conntrack holds, TRB_CT_HOLD=1), a short run must forward.
for rules in 0 1; do
	TRB_RULES=$rules TRB_CT_HOLD=$rules TRB_BINS="$BUILD/bench/test_run_bench" \
		bench/test_run.sh 200 >"$TMP/trb.out" 2>&1 ||
		{ echo "bench/test_run.sh (TRB_RULES=$rules) failed:"; cat "$TMP/trb.out"; exit 1; }
	echo "ok - bench/test_run.sh TRB_RULES=$rules: $(grep -c '^| XDP\|^| tc' "$TMP/trb.out") entry points timed"
done
