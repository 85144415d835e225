#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# BPF_PROG_TEST_RUN cost of the fast path, in a private namespace with the
# routes and neighbours the programs look up (the topology of the BPF tests).
# The next hop's MAC is set to the ingress device's own so that a repeated
# run keeps hitting (see test_run_bench.c).
set -eu
cd "$(dirname "$0")/.."
NS=nfo-trb-$$
TMP=$(mktemp -d /tmp/nfo-trb.XXXXXX)
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM
/usr/bin/python3 tests/bpf/gen_vectors.py setup > "$TMP/setup.batch"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" -batch "$TMP/setup.batch"
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1
lanmac=$(ip -n "$NS" -j link show lan0 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip -n "$NS" neigh replace 198.18.2.2 lladdr "$lanmac" dev wan0 nud permanent
ip netns exec "$NS" build/bench/test_run_bench "$@"
