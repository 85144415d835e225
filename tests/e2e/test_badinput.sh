#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Bad input: each gives one clear error and a non-zero exit, and leaves the
# router exactly as it was (ruleset, tc filters, XDP programs, pins).
source "$(dirname "$0")/lib.sh"

nfo_topology
# A device whose driver has no native XDP (this kernel has no dummy driver; a
# bridge would be refused earlier, for being a bridge).
rexec ip link add ifb9 type ifb
rexec ip link set ifb9 up

# Everything nft-offload could have touched, as text.
snapshot() {
	local d
	rexec nft -s list ruleset
	for d in lan0 lan1 wan0 ifb9; do
		echo "== $d"
		rexec tc qdisc show dev $d | grep -v "qdisc noqueue"
		rexec tc filter show dev $d ingress
		rexec ip -d link show dev $d | grep -o 'prog/xdp[a-z]* id [0-9]*' || true
	done
	echo "== pins"
	ls -A "$PIN" 2>/dev/null
}

# bad WHAT EXIT EXPECTED_MESSAGE_RE -- nft-offload args...
bad() {
	local what=$1 want_rc=$2 re=$3 rc
	shift 4
	snapshot >"$TMP/before"
	rexec timeout 20 "$NFO" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	snapshot >"$TMP/after"
	if [ "$rc" -ne "$want_rc" ]; then
		fail "$what: exit $rc, want $want_rc ($(head -c 300 "$TMP/err"))"
	elif ! grep -qE "$re" "$TMP/err"; then
		fail "$what: message '$(head -c 300 "$TMP/err")' does not say /$re/"
	elif [ "$(grep -cE "$re" "$TMP/err")" -ne 1 ] || [ "$(grep -c 'error' "$TMP/err")" -gt 1 ]; then
		fail "$what: not one error line: $(cat "$TMP/err")"
	elif ! diff -u "$TMP/before" "$TMP/after" >"$TMP/diff"; then
		fail "$what: the system changed"
		sed 's/^/#   /' "$TMP/diff" | head -20
	else
		pass "$what: exit $rc, \"$(grep -E "$re" "$TMP/err" | head -1 | cut -c1-110)\", nothing changed"
	fi
}

RUN=(run --pin-dir "$PIN")

printf 'devices = lan0 wan0\nidle-timeout = 30\nthis is not a setting\n' >"$TMP/bad.conf"
bad "malformed config file" 2 "bad.conf:3: expected 'key = value'" -- "${RUN[@]}" -c "$TMP/bad.conf"
printf "devices = lan0 wan0\nmark = 0x7\n" >"$TMP/bad2.conf"
bad "config value out of range" 2 "bad2.conf:2: mark must be two bits" -- "${RUN[@]}" -c "$TMP/bad2.conf"
bad "unknown device" 2 "device nosuch0 does not exist" -- "${RUN[@]}" --device lan0 --device nosuch0
# eth0 exists, but in the client's namespace.
bad "device in another namespace" 2 "device eth0 does not exist in this network namespace" \
	-- "${RUN[@]}" --device lan0 --device eth0
bad "conflicting options: a device twice" 2 "device lan0 is listed twice" \
	-- "${RUN[@]}" --device lan0 --device wan0 --device lan0:xdp
bad "conflicting options: timeouts" 2 "ct-timeout .* must be longer than idle-timeout" \
	-- "${RUN[@]}" --device lan0 --device wan0 --idle-timeout 2h --ct-timeout 1h
bad "invalid selector" 2 "invalid selector 'ip daddr notanaddress'" \
	-- "${RUN[@]}" --device lan0 --device wan0 --select "ip daddr notanaddress"
# Selectors only match: a statement in one would act on every packet of every
# connection inside nft-offload's chain (ct mark set would clear the user's bits).
for sel in "ct mark set 0x1" "tcp dport 22 counter" "ip daddr 198.18.0.0/15 accept" \
	"meta mark set 7" "tcp dport 22 log" "ip dscp set cs3" "tcp dport 22 reject" \
	"udp dport 53 limit rate 1/second"; do
	bad "selector with a statement: $sel" 2 "selector '$sel' is not only a match" \
		-- "${RUN[@]}" --device lan0 --device wan0 --select "iifname \"lan0\"" --select "$sel"
done
bad "selector that would comment out the rest of the rule" 2 "a selector is one match expression" \
	-- "${RUN[@]}" --device lan0 --device wan0 --select "tcp dport 22 #"

# The mark bit is used by a rule of the user's.
rexec nft add rule inet filter forward ct mark and 0x80000000 == 0x80000000 counter comment '"markuser"' 
bad "mark bit already used by the ruleset" 2 "ct mark bits 0xc0000000 are already used by the ruleset" \
	-- "${RUN[@]}" --device lan0 --device wan0
bad "... other mark bits are fine to choose, a wrong number of them is not" 2 "mark must be two bits" \
	-- "${RUN[@]}" --device lan0 --device wan0 --mark 0x10
h=$(rexec nft -a list chain inet filter forward | awk '/markuser/ {print $NF}')
rexec nft delete rule inet filter forward handle "$h"

# Kernel feature missing, simulated: a driver without native XDP. lan0 is
# attached first and must be detached again.
bad "XDP requested on a device without native XDP (partial start rolled back)" 1 \
	"cannot attach to ifb9: its driver has no native XDP" -- "${RUN[@]}" --device lan0 --device ifb9:xdp

# Programs that are not ours: refused without --force.
cat >"$TMP/foreign.c" <<'EOF'
#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
SEC("xdp") int foreign_xdp(struct xdp_md *ctx) { return XDP_PASS; }
SEC("tc") int foreign_tc(struct __sk_buff *skb) { return 0; }
char LICENSE[] SEC("license") = "GPL";
EOF
clang -O2 -target bpf -I/usr/include/$(gcc -print-multiarch) -c "$TMP/foreign.c" -o "$TMP/foreign.o"
rexec ip link set dev lan1 xdpdrv obj "$TMP/foreign.o" sec xdp
bad "foreign XDP program on the device" 1 "lan1 already has an XDP program that is not ours; use --force" \
	-- "${RUN[@]}" --device lan0 --device lan1:xdp
rexec ip link set dev lan1 xdpdrv off
rexec tc qdisc add dev wan0 clsact
rexec tc filter add dev wan0 ingress prio 5 bpf da obj "$TMP/foreign.o" sec tc
bad "foreign tc filter on the device" 1 "wan0 already has tc ingress filters that are not ours; use --force" \
	-- "${RUN[@]}" --device lan0 --device wan0
# With --force: ours beside theirs; stop removes ours only.
nfo_start --force || exit 1
check "--force: our filter beside theirs" sh -c "ip netns exec $R tc filter show dev wan0 ingress | grep -q nfo_tc &&
	ip netns exec $R tc filter show dev wan0 ingress | grep -q foreign_tc"
nfo_stop
check "--force then stop: theirs is still there" sh -c "ip netns exec $R tc filter show dev wan0 ingress | grep -q foreign_tc"
check "--force then stop: ours is gone, and the clsact we did not create stays" \
	sh -c "! ip netns exec $R tc filter show dev wan0 ingress | grep -q nfo_tc &&
	ip netns exec $R tc qdisc show dev wan0 | grep -q clsact"
rexec tc qdisc del dev wan0 clsact

# Pins left by another version: one sentence, the pins kept as they were
# (a failed restart once crashed on them).
mkdir -p "$PIN"
bpftool map create "$PIN/nfo_state" type array key 4 value 8 entries 1 name nfo_state
bad "pins of another layout (another version)" 1 "pinned map .*/nfo_state has another layout" \
	-- "${RUN[@]}" --device lan0 --device wan0
rm -f "$PIN/nfo_state"
# A flow map whose entries are another size (the key of ABI 9 and before): both
# layouts named.
bpftool map create "$PIN/nfo_flow4" type hash key 20 value 104 entries 16 name nfo_flow4
bad "a flow map of another entry size" 1 \
	"pinned map .*/nfo_flow4 has another layout \\(key 20, value 104 bytes; this nft-offload uses 16, [0-9]+: left by another version" \
	-- "${RUN[@]}" --device lan0 --device wan0
rm -f "$PIN/nfo_flow4"

# Pins of another ABI version with the same map sizes (the layout check alone
# would adopt them): a fast path left running (--keep-on-exit) whose state
# says version 6 is refused with one sentence naming both versions, and left
# exactly as it was: programs attached, pins and their state untouched.
state_hex() { bpftool -j map lookup pinned "$PIN/nfo_state" key 0 0 0 0 |
	$PY -c 'import json,sys; print(" ".join(b[2:] for b in json.load(sys.stdin)["value"]))'; }
set_abi() { # set_abi N: write N as the state's abi_version (its first 4 bytes)
	local v
	v=$(state_hex | cut -d' ' -f5-)
	bpftool map update pinned "$PIN/nfo_state" key 0 0 0 0 \
		value hex $(printf '%02x %02x %02x %02x' $(($1 & 255)) $(($1 >> 8 & 255)) 0 0) $v
}
abi=$(sed -n 's/^#define NFO_ABI_VERSION \([0-9]*\).*/\1/p' "$ROOT/include/nfo_abi.h")
nfo_start --keep-on-exit || exit 1
nfo_stop
old_abi=$((abi - 1))
set_abi $old_abi
state_hex >"$TMP/state.before"
bad "pins of another ABI version" 1 \
	"pins in $PIN were made by nft-offload ABI version $old_abi, this binary is version $abi: .*'nft-offload stop'.*or remove $PIN" \
	-- "${RUN[@]}" --device lan0 --device wan0
check "... its pinned state is untouched" eval "state_hex | cmp -s - '$TMP/state.before'"
check "... and its programs stay attached" eval "rexec tc filter show dev lan0 ingress | grep -q nfo_tc"
set_abi $abi
check "the same pins with this version are stopped" nfo stop

# Running twice.
nfo_start || exit 1
bad "running twice" 1 "another nft-offload daemon is running" -- "${RUN[@]}" --device lan0 --device wan0
check "the first daemon is unharmed" sh -c "ip netns exec $R $NFO --pin-dir $PIN status >/dev/null"
nfo_stop

# Not root.
snapshot >"$TMP/before"
rexec setpriv --reuid 65534 --regid 65534 --clear-groups "$NFO" "${RUN[@]}" --device lan0 --device wan0 \
	>/dev/null 2>"$TMP/err"
rc=$?
snapshot >"$TMP/after"
check "not root: exit 1, one sentence ($(cat "$TMP/err"))" \
	sh -c "[ $rc -eq 1 ] && [ \$(wc -l <'$TMP/err') -eq 1 ] && grep -q 'needs root' '$TMP/err'"
check "not root: nothing changed" diff -q "$TMP/before" "$TMP/after"

check "nothing of nft-offload left at the end" nothing_left
nfo_done
