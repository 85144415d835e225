#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages nft-offload needs to build, test, demo and
# benchmark. Idempotent: when everything is present it only checks.
#   install-deps.sh           what make, make check, bench and demo need
#   install-deps.sh deb       + building and linting the Debian package
#   install-deps.sh systemd   + booting a Debian root under systemd-nspawn
set -eu

PKGS="make gcc clang llvm pkg-config libelf-dev zlib1g-dev
libbpf-dev bpftool
libmnl-dev libnftnl-dev libnftables-dev nftables
conntrack conntrackd keepalived
iproute2 ethtool iperf3 netsniff-ng socat tcpdump iputils-ping
python3 python3-scapy jq gnuplot-nox procps psmisc linux-perf"
for set in "$@"; do
	case $set in
	deb) PKGS="$PKGS debhelper dpkg-dev fakeroot lintian man-db" ;;
	systemd) PKGS="$PKGS systemd-container mmdebstrap" ;;
	*) echo "install-deps.sh: unknown set '$set' (deb, systemd)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "  DEPS     all Debian packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "nft-offload: installing packages needs root: sudo make deps (missing:$missing)" >&2
	exit 1
fi
echo "  DEPS     installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
