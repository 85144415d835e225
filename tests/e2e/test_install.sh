#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Packaging: `make install` / `make uninstall` into a scratch DESTDIR (never
# the host's own /usr or /etc), the installed man page, systemd unit and
# sample config; the sample config really runs the daemon (in a namespace of
# our own) and stops cleanly; the demo script at least parses.
source "$(dirname "$0")/lib.sh"

D=$TMP/root # DESTDIR
BIN=$D/usr/sbin/nft-offload
MAN=$D/usr/share/man/man8/nft-offload.8
UNIT=$D/usr/lib/systemd/system/nft-offload.service
CONF=$D/etc/nft-offload.conf
SAMPLE=$ROOT/packaging/nft-offload.conf

mk() { make -C "$ROOT" --no-print-directory "$@" DESTDIR="$D" PREFIX=/usr >>"$TMP/make.log" 2>&1; }

# ---- make install ------------------------------------------------------------
if ! mk install; then
	fail "make install DESTDIR=... PREFIX=/usr"
	sed 's/^/#   /' "$TMP/make.log"
	nfo_done
fi
pass "make install DESTDIR=... PREFIX=/usr"
check "binary installed in /usr/sbin and runs (--version)" sh -c "[ -x '$BIN' ] && '$BIN' --version >/dev/null"
check "man page installed in /usr/share/man/man8" test -s "$MAN"
man_ok() { # renders with man -l, no groff warnings, has the sections users need
	local out err
	out=$(man -l "$MAN" 2>"$TMP/man.err") || return 1
	err=$(cat "$TMP/man.err")
	[ -z "$err" ] || { say "# man -l: $err"; return 1; }
	echo "$out" | grep -q "^NAME" && echo "$out" | grep -q "^CONFIGURATION FILE" &&
		echo "$out" | grep -q "nft-offload run"
}
check "man page readable by man -l (NAME, CONFIGURATION FILE, no warnings)" man_ok
check "unit installed in /usr/lib/systemd/system" test -s "$UNIT"
check "unit: @BINDIR@ substituted" sh -c "! grep -q '@BINDIR@' '$UNIT'"
check "unit: ExecStart=/usr/sbin/nft-offload run -c /etc/nft-offload.conf" \
	grep -qx 'ExecStart=/usr/sbin/nft-offload run -c /etc/nft-offload.conf' "$UNIT"
check "unit: Type=notify, Restart=on-failure, After=nftables.service" sh -c "
	grep -qx 'Type=notify' '$UNIT' && grep -qx 'Restart=on-failure' '$UNIT' &&
	grep -q '^After=.*nftables.service' '$UNIT'"
if command -v systemd-analyze >/dev/null; then
	# verify wants ExecStart's binary and the Documentation= man page to
	# exist: point both at the DESTDIR copies.
	mkdir -p "$TMP/unit"
	sed "s|^ExecStart=/usr/sbin/|ExecStart=$D/usr/sbin/|" "$UNIT" >"$TMP/unit/nft-offload.service"
	check "unit: systemd-analyze verify is clean" sh -c "
		out=\$(MANPATH='$D/usr/share/man' systemd-analyze verify '$TMP/unit/nft-offload.service' 2>&1)
		rc=\$?; [ -z \"\$out\" ] || echo \"\$out\" | sed 's/^/# /'; [ \$rc -eq 0 ] && [ -z \"\$out\" ]"
else
	say "ok - unit: systemd-analyze verify # SKIP systemd-analyze not installed"
fi
check "sample config installed as /etc/nft-offload.conf" cmp -s "$SAMPLE" "$CONF"

# Install over an existing config: the admin's file stays.
printf '# the admin'"'"'s own settings\ndevices = eth7 eth8\n' >"$CONF"
cp "$CONF" "$TMP/conf.admin"
check "make install again succeeds" mk install
check "make install keeps an existing /etc/nft-offload.conf" cmp -s "$TMP/conf.admin" "$CONF"

# ---- make uninstall ----------------------------------------------------------
check "make uninstall succeeds" mk uninstall
check "uninstall removed binary, man page and unit" sh -c "[ ! -e '$BIN' ] && [ ! -e '$MAN' ] && [ ! -e '$UNIT' ]"
check "uninstall kept the config" cmp -s "$TMP/conf.admin" "$CONF"
left=$(cd "$D" && find . -type f -o -type l | grep -vx './etc/nft-offload.conf')
check "uninstall left no other file${left:+ (left: $left)}" test -z "$left"

# ---- the sample config runs the daemon ---------------------------------------
# Everything that runs the daemon runs in a namespace of our own, so that a
# config naming real devices could never attach to the host's.
ip netns add "$R"
ip -n "$R" link set lo up
mkdir -p "$TMP/bpf"
mount -t bpf bpf "$TMP/bpf"

# run_conf CONFIG: the daemon's output and exit status when it refuses.
run_conf() {
	OUT=$(ip netns exec "$R" timeout 10 "$NFO" run -c "$1" --pin-dir "$PIN" 2>&1)
	RC=$?
}
refused() { # refused TEXT: exit status 2 and TEXT in the message
	[ "$RC" -eq 2 ] && printf '%s\n' "$OUT" | grep -qF -- "$1"
}
# As shipped, devices are commented out: the daemon must refuse clearly, with
# exit status 2 (the unit's RestartPreventExitStatus= relies on it).
run_conf "$SAMPLE"
check "sample as shipped: refused, exit status 2, 'at least two devices' (rc $RC)" \
	refused "at least two devices"
printf 'mode = fast\n' >"$TMP/bad.conf"
run_conf "$TMP/bad.conf"
check "a bad value: exit status 2, file and line named (rc $RC: ${OUT#*error: })" refused "bad.conf:1:"

# The sample's first example device line, uncommented, in the namespace with
# devices of those names (a veth pair).
devs=$(sed -n 's/^#[[:space:]]*devices[[:space:]]*=[[:space:]]*//p' "$SAMPLE" | head -1)
check "sample has an example devices line (devices = $devs)" test -n "$devs"
# shellcheck disable=SC2086 # two names
set -- $devs
sed "0,/^#[[:space:]]*devices[[:space:]]*=.*/s//devices = $devs/" "$SAMPLE" >"$TMP/test.conf"
check "the uncommented copy differs from the sample only in that line" \
	test "$(diff "$SAMPLE" "$TMP/test.conf" | grep -c '^[<>]')" -eq 2
ip -n "$R" link add "$1" type veth peer name "$2"
ip -n "$R" link set "$1" up
ip -n "$R" link set "$2" up
: >"$NFO_LOG"
# --pin-dir on the command line: under ip netns exec /sys/fs/bpf is not the
# host's, and the command line overrides the file.
ip netns exec "$R" "$NFO" run -c "$TMP/test.conf" --pin-dir "$PIN" >>"$NFO_LOG" 2>&1 &
NFO_PID=$!
check "daemon with the sample config starts ('running:')" wait_for 10 grep -q "running:" "$NFO_LOG"
check "status: healthy, both devices attached" sh -c "
	ip netns exec $R $NFO -c $TMP/test.conf --pin-dir $PIN status -j | $PY -c '
import json, sys
s = json.load(sys.stdin)
d = {x[\"name\"]: x[\"attached\"] for x in s[\"devices\"]}
sys.exit(not (s[\"healthy\"] and d == {\"$1\": True, \"$2\": True}))'"
kill -TERM "$NFO_PID"
wait "$NFO_PID"
rc=$?
NFO_PID=
check "SIGTERM: daemon exits with status 0 (rc $rc)" test "$rc" -eq 0
gone() {
	rexec nft list table inet nft_offload >/dev/null 2>&1 && { say "# nft table left"; return 1; }
	for d in "$1" "$2"; do
		[ -z "$(rexec tc filter show dev "$d" ingress 2>/dev/null)" ] || { say "# tc filter left on $d"; return 1; }
		ip -n "$R" link show dev "$d" | grep -q "prog/xdp" && { say "# XDP left on $d"; return 1; }
	done
	[ -z "$(ls -A "$PIN" 2>/dev/null)" ] || { say "# pins left: $(ls "$PIN")"; return 1; }
}
check "... and leaves nothing behind (nft table, tc, XDP, pins)" gone "$1" "$2"

# ---- the Debian package's version -------------------------------------------------
# make deb refuses to build when they differ; catch that here, without building.
mk_version=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")
deb_version=$(sed -n '1s/^nft-offload (\([^)]*\)).*/\1/p' "$ROOT/debian/changelog")
check "debian/changelog is at the Makefile's VERSION ($deb_version, $mk_version)" \
	test -n "$mk_version" -a "$deb_version" = "$mk_version"

# ---- the demo ------------------------------------------------------------------
check "demo/demo.sh is executable and parses (bash -n)" sh -c "
	[ -x '$ROOT/demo/demo.sh' ] && bash -n '$ROOT/demo/demo.sh'"
check "demo/demo.sh: SPDX line right after the shebang" \
	test "$(sed -n 2p "$ROOT/demo/demo.sh")" = "# SPDX-License-Identifier: GPL-2.0-only"

nfo_done
