#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The unit under a real systemd (make check-systemd): a minimal Debian root
# (mmdebstrap, cached in build/systemd/root) boots with systemd-nspawn in a
# network namespace of its own, which is the test router's (lib.sh topology:
# client and server namespaces outside, veths into the container). The
# package from make deb is installed inside, on a throw-away overlay
# (--volatile=overlay), and the service is driven with systemctl:
# not started on install, a configuration error fails without restarts,
# start reaches READY, traffic is offloaded, kill -9 is restarted and adopts
# the flow, stop leaves nothing.
source "$(dirname "$0")/../e2e/lib.sh"
cd "$ROOT" || exit 1

VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
ARCH=$(dpkg --print-architecture)
DEB=nft-offload_${VERSION}_${ARCH}.deb
CACHE=$ROOT/build/systemd
RFS=$CACHE/root
SUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")
SYSBPF=$TMP/sysbpf # the container's /sys/fs/bpf
PIN=$SYSBPF/nft-offload
NSPAWN_PID=
LEADER=

in_ct() { nsenter -t "$LEADER" -a -- "$@"; }
prop() { in_ct systemctl show -P "$1" nft-offload.service; }

ct_cleanup() {
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$NSPAWN_PID" # nspawn asks the container's systemd to power off
		for _ in $(seq 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$NSPAWN_PID" 2>/dev/null
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	mountpoint -q "$SYSBPF" && umount "$SYSBPF"
}
trap 'rc=$?; ct_cleanup; (exit $rc); nfo_cleanup' EXIT

# ---- tools, package, root -----------------------------------------------------
./scripts/install-deps.sh deb systemd || exit 1
if ! make --no-print-directory deb >"$TMP/build.log" 2>&1; then
	say "Bail out! make deb failed:"
	tail -n 20 "$TMP/build.log" | sed 's/^/#   /'
	exit 1
fi
# The root holds what the package depends on (there is no network inside to
# fetch it), systemd and iproute2. Rebuilt when that list changes.
deps=$(dpkg-deb -f "build/deb/$DEB" Depends | sed 's/([^)]*)//g; s/|[^,]*//g; s/ //g')
want="$SUITE systemd,systemd-sysv,iproute2,$deps"
if [ "$(cat "$RFS/.nfo-root" 2>/dev/null)" != "$want" ]; then
	say "# building the Debian root in $RFS ($want)"
	t0=$(date +%s)
	rm -rf "$CACHE/root.tmp"
	mkdir -p "$CACHE"
	if ! mmdebstrap --variant=minbase --include="${want#* }" "$SUITE" "$CACHE/root.tmp" \
		>"$CACHE/mmdebstrap.log" 2>&1; then
		say "Bail out! mmdebstrap failed:"
		tail -n 20 "$CACHE/mmdebstrap.log" | sed 's/^/#   /'
		exit 1
	fi
	echo nfo-systemd-test >"$CACHE/root.tmp/etc/hostname"
	echo "$want" >"$CACHE/root.tmp/.nfo-root"
	rm -rf "$RFS"
	mv "$CACHE/root.tmp" "$RFS"
	say "# root built in $(($(date +%s) - t0)) s"
fi

# ---- boot ---------------------------------------------------------------------------
# PID 1 of this machine is not systemd: no machined to register with, no
# scope to create (--register=no --keep-unit). --private-network: a network
# namespace of its own, with /proc/sys/net writable as on a host. nspawn
# keeps CAP_BPF and CAP_PERFMON out of a container unless asked, and its own
# seccomp filter refuses bpf() (EPERM) unless allowed: the unit's filter is
# the one under test. The container's /sys/fs/bpf is a bpffs the test can
# look into.
mkdir -p "$SYSBPF"
mount -t bpf bpf "$SYSBPF"
t0=$(date +%s)
systemd-nspawn -D "$RFS" --machine="nfo$ID" --register=no --keep-unit --volatile=overlay \
	--private-network --capability=CAP_BPF,CAP_PERFMON --system-call-filter=bpf \
	--bind="$SYSBPF:/sys/fs/bpf" --bind-ro="$ROOT/build/deb:/mnt/deb" \
	--boot </dev/null >"$TMP/console.log" 2>&1 &
NSPAWN_PID=$!
leader() {
	LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd)
	[ -n "$LEADER" ]
}
booted() {
	case $(in_ct systemctl is-system-running 2>/dev/null) in
	running | degraded) return 0 ;;
	*) return 1 ;;
	esac
}
if ! wait_for 20 leader || ! wait_for 60 booted; then
	fail "container boots"
	sed 's/^/#   /' "$TMP/console.log"
	nfo_done
fi
pass "systemd-nspawn --boot: systemd $(in_ct systemctl --version | awk 'NR == 1 {print $2}') is up ($(in_ct systemctl is-system-running), $(($(date +%s) - t0)) s)"
ip netns attach "$R" "$LEADER"
nfo_topology

# ---- install --------------------------------------------------------------------------
if ! in_ct dpkg -i "/mnt/deb/$DEB" >"$TMP/dpkg.log" 2>&1; then
	fail "dpkg -i $DEB in the container"
	sed 's/^/#   /' "$TMP/dpkg.log"
	nfo_done
fi
pass "dpkg -i $DEB in the container"
# NFO_UNIT_DROPIN="[Service]\nKEY=VALUE...": a drop-in for the unit, to try
# a change to the sandbox before editing packaging/nft-offload.service.
if [ -n "${NFO_UNIT_DROPIN:-}" ]; then
	in_ct mkdir -p /etc/systemd/system/nft-offload.service.d
	printf '%b\n' "$NFO_UNIT_DROPIN" | in_ct sh -c 'cat >/etc/systemd/system/nft-offload.service.d/test.conf'
	in_ct systemctl daemon-reload
	say "# drop-in: $(printf '%b' "$NFO_UNIT_DROPIN" | tr '\n' ' ')"
fi
check "installed: not enabled ($(in_ct systemctl is-enabled nft-offload)), not started ($(prop ActiveState))" \
	sh -c "[ \"\$(nsenter -t $LEADER -a systemctl is-enabled nft-offload)\" = disabled ] &&
		[ \"\$(nsenter -t $LEADER -a systemctl show -P ActiveState nft-offload)\" = inactive ]"

# ---- a configuration error is not restarted -------------------------------------------
# The configuration as shipped names no devices.
in_ct systemctl start nft-offload 2>/dev/null
rc=$?
sleep 5 # RestartSec=2s: a restart would have happened by now
state="$(prop ActiveState)/$(prop Result), status $(prop ExecMainStatus), $(prop NRestarts) restarts"
check "shipped config: start fails (rc $rc), exit status 2, failed without restarts ($state)" \
	test "$rc" -ne 0 -a "$state" = "failed/exit-code, status 2, 0 restarts"
check "... and the journal says why" sh -c "
	nsenter -t $LEADER -a journalctl -q -u nft-offload | grep -q 'at least two devices'"
in_ct systemctl reset-failed nft-offload

# ---- start -------------------------------------------------------------------------------
in_ct sed -i 's/^#devices = eth0 eth1$/devices = lan0 lan1 wan0/' /etc/nft-offload.conf
check "config: devices = lan0 lan1 wan0" in_ct grep -qx 'devices = lan0 lan1 wan0' /etc/nft-offload.conf
t0=$(date +%s.%N)
in_ct systemctl start nft-offload 2>"$TMP/start.err"
rc=$?
t1=$(date +%s.%N)
# Type=notify: systemctl start returns once the daemon sent READY=1.
check "Type=notify: systemctl start returned at READY: rc $rc after $($PY -c "print(round($t1 - $t0, 1))") s, $(prop ActiveState)/$(prop SubState)" \
	test "$rc" -eq 0 -a "$(prop Type)" = notify -a "$(prop ActiveState)/$(prop SubState)" = active/running
if [ "$rc" -ne 0 ]; then
	sed 's/^/#   /' "$TMP/start.err"
	in_ct journalctl -q --no-pager -n 30 -u nft-offload | sed 's/^/#   /'
	nfo_done
fi
status_ok() {
	in_ct nft-offload status -j | $PY -c '
import json, sys
s = json.load(sys.stdin)
d = {x["name"]: x["attached"] for x in s["devices"]}
sys.exit(not (s["healthy"] and d == {"lan0": True, "lan1": True, "wan0": True}))'
}
check "nft-offload status: healthy, lan0 lan1 wan0 attached" status_ok
check "pins under the container's /sys/fs/bpf/nft-offload" test -n "$(ls -A "$PIN" 2>/dev/null)"

# ---- traffic, kill -9, restart, adoption --------------------------------------------------
fwd() { in_ct nft-offload stats -j | $PY -c 'import json,sys; print(json.load(sys.stdin)["total"]["fwd_packets"])'; }
port_flows_ct() { [ "$(in_ct nft-offload flows --count --port "$1" 2>/dev/null || echo 0)" -ge 1 ]; }
sexec $TRAFFIC tcp-recv 5007 64 >"$TMP/recv" &
rp=$!
wait_for 5 listening "$S" 5007
cexec $TRAFFIC tcp-send $SERVER4 5007 64 --rate 8 >/dev/null &
sp=$!
check "TCP transfer offloaded (flows --port 5007)" wait_for 5 port_flows_ct 5007
p0=$(fwd)
sleep 1
p1=$(fwd)
check "fast-path packets grow ($p0 -> $p1)" test $((p1 - p0)) -gt 100
pid0=$(prop MainPID)
in_ct systemctl kill --kill-whom=main --signal=SIGKILL nft-offload
restarted() { [ "$(prop NRestarts)" -ge 1 ] && [ "$(prop SubState)" = running ]; }
wait_for 15 restarted
pid1=$(prop MainPID)
n=$(prop NRestarts)
check "kill -9: systemd restarts the daemon (MainPID $pid0 -> $pid1, $n restart, $(prop SubState))" \
	test "$n" -eq 1 -a "$pid1" != "$pid0" -a "$(prop SubState)" = running
check "the restarted daemon adopted the flow (journal)" sh -c "
	nsenter -t $LEADER -a journalctl -q -u nft-offload | grep -q 'adopted 1 offloaded'"
p2=$(fwd)
sleep 1
p3=$(fwd)
check "after the restart the flow stays on the fast path ($p2 -> $p3)" test $((p3 - p2)) -gt 100
wait $sp
wait $rp
check "transfer across kill and restart intact ($(cat "$TMP/recv"))" grep -q " 0 corrupt" "$TMP/recv"
check "status healthy after the restart" status_ok

# ---- stop -------------------------------------------------------------------------------------
check "systemctl stop: rc 0, inactive" sh -c "
	nsenter -t $LEADER -a systemctl stop nft-offload &&
	[ \"\$(nsenter -t $LEADER -a systemctl show -P ActiveState nft-offload)\" = inactive ]"
check "stop leaves nothing (nft table, tc, XDP, pins, nf_conntrack_events)" nothing_left
# The unit's own seccomp filter is in force: without bpf in it the daemon
# cannot start, and says which call was refused.
in_ct mkdir -p /run/systemd/system/nft-offload.service.d
printf '[Service]\nSystemCallFilter=~bpf\nRestart=no\n' |
	in_ct sh -c 'cat >/run/systemd/system/nft-offload.service.d/nobpf.conf'
in_ct systemctl daemon-reload
in_ct systemctl start nft-offload 2>/dev/null
rc=$?
check "drop-in SystemCallFilter=~bpf: start fails (rc $rc, $(prop ActiveState))" \
	test "$rc" -ne 0 -a "$(prop ActiveState)" = failed
check "... and the journal names the refused call (cannot open pinned map ...: Operation not permitted)" sh -c "
	nsenter -t $LEADER -a journalctl -q -u nft-offload | grep -q 'pinned map .*: Operation not permitted'"
in_ct rm -r /run/systemd/system/nft-offload.service.d
in_ct systemctl daemon-reload
in_ct systemctl reset-failed nft-offload
check "... and left nothing either" nothing_left
# ---- metrics-listen inside the sandbox -----------------------------------------
# The unit opens IP sockets and loopback for it, and nothing more.
in_ct sh -c 'echo "metrics-listen = 127.0.0.1:9567" >>/etc/nft-offload.conf'
in_ct systemctl restart nft-offload
scrape() {
	in_ct timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9567 &&
		printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>/dev/null
}
scrape_up() { scrape | grep -q '^nft_offload_up 1'; }
if wait_for 5 scrape_up; then
	pass "metrics-listen = 127.0.0.1:9567: the daemon serves /metrics under the unit's sandbox"
else
	fail "metrics-listen = 127.0.0.1:9567: the daemon serves /metrics under the unit's sandbox"
	in_ct grep -n metrics /etc/nft-offload.conf | sed 's/^/#   /'
	in_ct ss -ltnp | sed 's/^/#   /'
	scrape | head -3 | sed 's/^/#   /'
fi
# The same sandbox around a stand-in (bash connecting out) instead of the
# daemon: its exit status and stderr say how far it got.
standin() { # standin ADDRESS PORT
	printf '[Service]\nType=oneshot\nRestart=no\nExecStart=\nExecStart=/usr/bin/timeout 2 /bin/bash -c "exec 3<>/dev/tcp/%s/%s"\nStandardError=file:/run/standin.err\n' "$1" "$2" |
		in_ct sh -c 'mkdir -p /run/systemd/system/nft-offload.service.d &&
			cat >/run/systemd/system/nft-offload.service.d/standin.conf'
	in_ct systemctl daemon-reload
	in_ct systemctl start nft-offload 2>/dev/null
	STANDIN="$(prop ExecMainStatus): $(in_ct cat /run/standin.err 2>/dev/null | head -1 | sed 's/.*: //')"
	in_ct rm -rf /run/systemd/system/nft-offload.service.d /run/standin.err
	in_ct systemctl daemon-reload
	in_ct systemctl reset-failed nft-offload 2>/dev/null
}
in_ct systemctl stop nft-offload
standin 127.0.0.1 1
check "sandbox: loopback is reachable (refused by nobody listening: $STANDIN)" \
	test "$STANDIN" = "1: Connection refused"
standin $CLIENT4 1
check "sandbox: any other address is not (the packet is dropped: $STANDIN)" \
	test "$STANDIN" = "124: "
in_ct sed -i '/^metrics-listen = /d' /etc/nft-offload.conf

check "the daemon switched nf_conntrack_events to 1 (/proc/sys/net writable in the sandbox)" sh -c "
	nsenter -t $LEADER -a journalctl -q -u nft-offload | grep -q 'nf_conntrack_events 2 -> 1'"
# For a look afterwards: the container's whole journal.
in_ct journalctl -q --no-pager -o short-precise >"$CACHE/last-journal.txt" 2>&1
say "# the container's journal: build/systemd/last-journal.txt"

nfo_done
