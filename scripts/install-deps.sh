#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages nft-offload needs to build, test, demo and
# benchmark. Idempotent: when everything is present it only checks.
set -eu

PKGS="make gcc clang llvm pkg-config libelf-dev zlib1g-dev
libbpf-dev bpftool libxdp-dev xdp-tools
libmnl-dev libnftnl-dev libnftables-dev nftables
libnetfilter-conntrack-dev conntrack conntrackd keepalived
iproute2 ethtool iperf3 netsniff-ng socat tcpdump iputils-ping
python3 python3-scapy jq gnuplot-nox procps psmisc"

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
