# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Network namespaces for the tests, the demo and the benchmark: created
# here, remembered, and removed by net_cleanup (which the caller's EXIT trap
# runs, so also on failure and interrupt). Addresses only from 198.18.0.0/15
# and 2001:db8::/32; nothing is created in the host's namespace.
#
# The common shape, net_router CLIENT ROUTER SERVER:
#
#   client eth0 --veth-- lan0 router wan0 --veth-- eth0 server
#   198.18.1.2/24       198.18.1.1    198.19.2.1       198.19.2.2/24
#   2001:db8:1::2/64    2001:db8:1::1 2001:db8:2::1    2001:db8:2::2/64 (NET_IPV6=1)
#
# with default routes through the router and forwarding on. Callers add what
# is theirs (more links, rulesets, sysctls) with the helpers below.

NET_NS=""    # namespaces created here, in creation order
NET_MOUNTS="" # bpffs mounts made here

NET_CLIENT4=198.18.1.2
NET_LAN4=198.18.1.1
NET_WAN4=198.19.2.1
NET_SERVER4=198.19.2.2
NET_CLIENT6=2001:db8:1::2
NET_LAN6=2001:db8:1::1
NET_WAN6=2001:db8:2::1
NET_SERVER6=2001:db8:2::2

# net_ns NS...: create (unless it exists: a container's, named by
# `ip netns attach`), loopback up, remembered for net_cleanup.
net_ns() {
	local ns
	for ns; do
		[ -e "/run/netns/$ns" ] || ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up || return 1
		NET_NS="$NET_NS $ns"
	done
}

# net_veth NS1 DEV1 NS2 DEV2: a veth pair between two namespaces, both up.
net_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# net_gro NS DEV: GRO on. A veth takes XDP-redirected frames only with NAPI
# on, and GRO turns it on.
net_gro() {
	ip netns exec "$1" ethtool -K "$2" gro on >/dev/null 2>&1
}

net_mac() { # NS DEV
	ip -n "$1" -j link show "$2" | jq -r '.[0].address'
}

net_ifindex() { # NS DEV
	ip -n "$1" -j link show "$2" | jq -r '.[0].ifindex'
}

# net_router CLIENT ROUTER SERVER: the topology above. NET_IPV6=1 adds the
# IPv6 addresses and routes (nodad: usable at once).
net_router() {
	local c=$1 r=$2 s=$3
	net_ns "$c" "$r" "$s" || return 1
	net_veth "$c" eth0 "$r" lan0 || return 1
	net_veth "$r" wan0 "$s" eth0 || return 1
	ip -n "$c" addr add $NET_CLIENT4/24 dev eth0
	ip -n "$c" route add default via $NET_LAN4
	ip -n "$r" addr add $NET_LAN4/24 dev lan0
	ip -n "$r" addr add $NET_WAN4/24 dev wan0
	ip -n "$s" addr add $NET_SERVER4/24 dev eth0
	ip -n "$s" route add default via $NET_WAN4
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1 || return 1
	[ "${NET_IPV6:-0}" = 1 ] || return 0
	ip -n "$c" addr add $NET_CLIENT6/64 dev eth0 nodad
	ip -n "$c" -6 route add default via $NET_LAN6
	ip -n "$r" addr add $NET_LAN6/64 dev lan0 nodad
	ip -n "$r" addr add $NET_WAN6/64 dev wan0 nodad
	ip -n "$s" addr add $NET_SERVER6/64 dev eth0 nodad
	ip -n "$s" -6 route add default via $NET_WAN6
	ip netns exec "$r" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# net_static_neigh CLIENT ROUTER SERVER: permanent IPv4 neighbours on both
# links of net_router (no ARP in the middle of a measurement). Sets
# NET_CLIENT_MAC, NET_LAN_MAC, NET_WAN_MAC, NET_SERVER_MAC.
net_static_neigh() {
	local c=$1 r=$2 s=$3
	NET_CLIENT_MAC=$(net_mac "$c" eth0)
	NET_LAN_MAC=$(net_mac "$r" lan0)
	NET_WAN_MAC=$(net_mac "$r" wan0)
	NET_SERVER_MAC=$(net_mac "$s" eth0)
	ip -n "$c" neigh replace $NET_LAN4 lladdr "$NET_LAN_MAC" dev eth0 nud permanent &&
		ip -n "$r" neigh replace $NET_CLIENT4 lladdr "$NET_CLIENT_MAC" dev lan0 nud permanent &&
		ip -n "$r" neigh replace $NET_SERVER4 lladdr "$NET_SERVER_MAC" dev wan0 nud permanent &&
		ip -n "$s" neigh replace $NET_WAN4 lladdr "$NET_WAN_MAC" dev eth0 nud permanent
}

# net_bpffs DIR: a private BPF filesystem. `ip netns exec` remounts /sys,
# so pins under /sys/fs/bpf made in one call are gone in the next.
net_bpffs() {
	mkdir -p "$1" && mount -t bpf bpf "$1" && NET_MOUNTS="$NET_MOUNTS $1"
}

# net_kill NS...: SIGKILL every process still in these namespaces.
net_kill() {
	local ns p
	for ns; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
}

# net_cleanup [NS...]: kill what still runs in our namespaces (and in NS...,
# namespaces made elsewhere), delete them, unmount our bpffs mounts. Stop
# the processes that clean up after themselves (the daemon) before this.
net_cleanup() {
	local ns m
	# shellcheck disable=SC2086 # lists of names
	net_kill $NET_NS "$@"
	for ns in $NET_NS "$@"; do ip netns del "$ns" 2>/dev/null; done
	for m in $NET_MOUNTS; do mountpoint -q "$m" && umount "$m"; done
	NET_NS=""
	NET_MOUNTS=""
	return 0
}

# net_left NS...: those of the namespaces named that still exist.
net_left() {
	local ns
	for ns; do [ -e "/run/netns/$ns" ] && printf '%s ' "$ns"; done
	return 0
}
