#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# BPF_PROG_TEST_RUN cost of the fast path, in a private namespace with the
# routes and neighbours the programs look up (the topology of the BPF tests).
# The next hop's MAC is set to the ingress device's own so that a repeated
# run keeps hitting (see test_run_bench.c).
#
#   bench/test_run.sh [RUNS]
#
# TRB_BINS="BIN..."  builds to compare, side by side in the same namespace
#                    (default: build/bench/test_run_bench); each embeds its
#                    own fast path object, so keep a copy of the old binary.
# TRB_RULES=1        add the BPF tests' policy-routing rules (ip rule): any
#                    rule beyond the defaults makes every route lookup walk
#                    the rule list, which costs about 300 ns on a lookup
#                    (IPv4); without them the figures are those of a router
#                    without policy routing.
# TRB_CT_HOLD=1      the hit flows ask for conntrack holds, as the daemon's
#                    entries do where the kernel has conntrack's BPF
#                    functions: each hit pays the check whether one is due.
set -eu
cd "$(dirname "$0")/.."
NS=nfo-trb-$$
TMP=$(mktemp -d /tmp/nfo-trb.XXXXXX)
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM
if [ "${TRB_RULES:-0}" = 1 ]; then
	/usr/bin/python3 tests/bpf/gen_vectors.py setup > "$TMP/setup.batch"
	/usr/bin/python3 tests/bpf/gen_vectors.py setup6 > "$TMP/setup6.batch"
else
	/usr/bin/python3 tests/bpf/gen_vectors.py setup | grep -v '^rule ' > "$TMP/setup.batch"
	: > "$TMP/setup6.batch"
fi
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" -batch "$TMP/setup.batch"
[ -s "$TMP/setup6.batch" ] && ip -n "$NS" -6 -batch "$TMP/setup6.batch"
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
lanmac=$(ip -n "$NS" -j link show lan0 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip -n "$NS" neigh replace 198.18.2.2 lladdr "$lanmac" dev wan0 nud permanent
ip -n "$NS" -6 neigh replace 2001:db8:2::2 lladdr "$lanmac" dev wan0 nud permanent
# The IPv4 UDP test flow's conntrack entry, for the cost of a conntrack hold.
ip netns exec "$NS" conntrack -I -p udp -s 198.18.1.2 -d 198.18.100.10 --sport 40000 --dport 53 \
	-r 198.18.100.10 -q 198.18.1.2 --reply-port-src 53 --reply-port-dst 40000 --timeout 3600 \
	>/dev/null 2>&1
bins=${TRB_BINS:-build/bench/test_run_bench}
for bin in $bins; do
	[ "$bins" = "$bin" ] || printf '\n### %s%s\n\n' "$bin" "$([ "${TRB_RULES:-0}" = 1 ] && echo ' (with ip rules)')"
	ip netns exec "$NS" "$bin" "$@"
done
