/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nfo_abi.h - the one header shared by the eBPF data plane and userspace.
 *
 * Every map key and value crossing the BPF boundary is defined here, with
 * fixed-width types, explicit padding and a size assertion. Never type one of
 * these structs a second time anywhere else.
 *
 * Vocabulary follows the kernel flowtable (nf_flow_table): a connection has two
 * directions, ORIGINAL and REPLY; each direction has a tuple (what a packet of
 * that direction looks like when it arrives) and is a separate map entry.
 */
#ifndef NFO_ABI_H
#define NFO_ABI_H

#include <linux/types.h>

#define NFO_ABI_VERSION 10

/*
 * Directions, as in enum flow_offload_tuple_dir / ip_conntrack_dir. Typed here:
 * <linux/netfilter/nf_conntrack_tuple_common.h> pulls in <linux/in.h>, which
 * clashes with glibc's <netinet/in.h> in userspace files that include this first.
 */
#define NFO_DIR_ORIGINAL 0
#define NFO_DIR_REPLY 1

/* Default sizes; the loader may change the max_entries before load. */
#define NFO_DEFAULT_FLOWS 1048576 /* connections; each takes two entries */
#define NFO_MAX_IFINDEX 65536 /* devices map is indexed by ifindex */
#define NFO_MAX_SLOTS 256 /* offload devices (slot 0 is unused) */

/*
 * Flow keys: the tuple of one direction as it arrives, plus the ingress
 * device. A packet of a known 5-tuple arriving on another device misses.
 *
 * Device and protocol share one word, so that the IPv4 key is 16 bytes: a
 * hash map keeps it in the cache line of its element's 48-byte header, and
 * hashes and compares four words instead of five (measured: README,
 * "Where the goals stand"). 24 bits hold every ifindex the fast path
 * serves: the devices map ends at NFO_MAX_IFINDEX, a frame from a device
 * beyond it never gets as far as building a key, and the daemon keys only
 * the directions of devices it attached.
 */
#define NFO_KEY_IFINDEX_BITS 24

struct nfo_key4 {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 ifindex : NFO_KEY_IFINDEX_BITS;
	__u32 l4proto : 8;
};

struct nfo_key6 {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u32 ifindex : NFO_KEY_IFINDEX_BITS;
	__u32 l4proto : 8;
};

/* Flow entry flags (nfo_flow.flags), set by the control plane. */
#define NFO_FLOW_NAT_ADDR (1U << 0) /* rewrite saddr/daddr */
#define NFO_FLOW_NAT_PORT (1U << 1) /* rewrite sport/dport */
#define NFO_FLOW_SNAT (1U << 2) /* informational: source NAT applies */
#define NFO_FLOW_DNAT (1U << 3) /* informational: destination NAT applies */
/*
 * Informational: the key is the tuple after the destination NAT that a
 * bridge's netfilter hooks (br_netfilter) applied before the bridge device's
 * ingress hook saw the packet; conntrack's tuple of this direction has the
 * destination before NAT.
 */
#define NFO_FLOW_AFTER_DNAT (1U << 4)
/*
 * The fast path holds conntrack's entry of this connection (see ct_hold() in
 * the fast path); it clears the flag when it cannot, and the daemon holds it.
 */
#define NFO_FLOW_CT_HOLD (1U << 5)

/*
 * When the fast path holds conntrack: on a flow's first packet, then on the
 * first packet of each period of 2^NFO_CT_HOLD_SHIFT ns (8.6 s), and while
 * the flow is younger than NFO_CT_HOLD_YOUNG_NS also on the first of each
 * 2^NFO_CT_HOLD_YOUNG_SHIFT ns (2.1 s); see ct_hold_due() in the fast path.
 *
 * Each flow's periods begin at its own phase, taken from its tuple: were
 * they the clock's, every busy flow would hold on its first packet after
 * the same instant, and 100,000 of them cut forwarding by 20-30% for
 * 0.2-0.3 s every 8.6 s. The phase spreads the same holds evenly.
 * Both directions of a connection may have different phases; each holds
 * the same entry, which only makes its holds come more often.
 */
#define NFO_CT_HOLD_SHIFT 33
#define NFO_CT_HOLD_YOUNG_SHIFT 31
#define NFO_CT_HOLD_YOUNG_NS 4000000000ULL

/* The key's two ports as one word, source port in the low half. */
#define NFO_KEY_PORTS(k) ((__u32)(k)->sport | (__u32)(k)->dport << 16)

/* 0 .. 2^33 - 2 ns: a multiplicative hash of the tuple's words. */
#define NFO_CT_HOLD_PHASE(mix) ((__u64)((__u32)(mix) * 2654435761U) << (NFO_CT_HOLD_SHIFT - 32))

static inline __u64 nfo_ct_hold_phase4(const struct nfo_key4 *k)
{
	return NFO_CT_HOLD_PHASE(k->saddr ^ k->daddr ^ NFO_KEY_PORTS(k));
}

/*
 * IPv6: word 1 (the end of a /48 site's prefix and its subnet id) and word 3
 * (the low half of the interface id) of each address.
 */
static inline __u64 nfo_ct_hold_phase6(const struct nfo_key6 *k)
{
	return NFO_CT_HOLD_PHASE(k->saddr[1] ^ k->saddr[3] ^ k->daddr[1] ^ k->daddr[3] ^
				 NFO_KEY_PORTS(k));
}

/*
 * Flow entry: one direction of one connection.
 *
 * The control plane writes the entry once; csum_addr and csum_port are
 * ones'-complement differences (RFC 1624: sum of ~old and new 16-bit words,
 * folded) of the address and port rewrite; the same address difference serves
 * the IPv4 header checksum and the TCP/UDP pseudo-header. The fast path owns
 * the next-hop cache, the counters and the TCP state; the control plane reads
 * them.
 *
 * The order is by use, not by owner: everything a forwarded packet reads or
 * writes lies in the first 112 bytes (the rewrite and the next hop, then the
 * counters and the TCP state), which the kernel's hash map places in two
 * cache lines for an IPv4 entry; what a route lookup or an RST reads comes
 * next, and what only the control plane reads comes last.
 *
 * Times are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_coarse_ns()).
 */
struct nfo_flow {
	__be32 nat_saddr[4]; /* IPv4 uses nat_saddr[0] */
	__be32 nat_daddr[4];
	__be16 nat_sport;
	__be16 nat_dport;
	__u32 flags;
	__u32 csum_addr;
	__u32 csum_port;
	/*
	 * Next-hop cache (fast path): what the last route lookup answered,
	 * valid while the routing generation (bumped by the daemon on every
	 * route, rule, neighbour, link and device change it sees) is still
	 * nh_gen, for packets with the same TOS / IPv6 flow word (nh_tos), no
	 * larger than nh_mtu, and until nh_until at the latest (a change
	 * nothing reported, or no daemon running). nh_mtu 0: empty. The
	 * egress device is oif.
	 */
	__u32 nh_gen;
	__u8 nh_dmac[6];
	__u8 nh_smac[6];
	/* Every packet writes the counters here. */
	__u64 packets;
	__u64 bytes; /* layer 3 bytes, as conntrack counts them */
	__u64 last_used_ns;
	__u32 oif; /* egress device of the last forwarded packet */
	__u32 nh_tos;
	__u32 nh_until; /* CLOCK_MONOTONIC in units of 2^20 ns (about 1 ms), wrapping */
	__u16 nh_mtu;
	__u8 teardown; /* fast path: NFO_TEARDOWN_* once set */
	__u8 dir; /* NFO_DIR_* */
	/*
	 * TCP: bytes 8-15 of the header of the last segment of this direction
	 * other than SYN/FIN/RST, as sent: the sender's acknowledgment number
	 * (what it expects next), data offset and flags, and its window field
	 * (unscaled). They judge the RSTs of the other direction. All zero
	 * until the fast path has seen such a segment.
	 */
	__be32 tcp_ack;
	__be16 tcp_doff_flags;
	__be16 tcp_window;
	/* Read when the next hop is looked up, or for an RST, from here. */
	/*
	 * Policy routing (set by the control plane when ip rules beyond the
	 * defaults exist): the packet mark the kernel routed this direction
	 * with (given to the route lookup; 0: none), and the egress device it
	 * chose, both as seen when the connection was admitted. A lookup that
	 * picks another device hands the flow to the stack. 0: not checked.
	 */
	__u32 mark;
	__u32 route_oif;
	/*
	 * Source-NATed direction: the device the NAT was set up for. The
	 * kernel drops a masqueraded connection whose route moves to another
	 * device (its address belongs to the old one); if the route moves,
	 * the fast path hands the flow to the stack to decide. 0: any device.
	 */
	__u32 snat_oif;
	__u32 ct_id; /* conntrack id; pairs the two directions */
	/* Control plane only from here. */
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 pad0[7];
	__u64 created_ns;
};

/* Why the fast path tore a flow down (nfo_flow.teardown, nfo_event.type). */
#define NFO_TEARDOWN_FIN 1 /* TCP FIN or RST: conntrack sees it next */
#define NFO_TEARDOWN_ROUTE 2 /* route moved (source-NATed flow, policy routing) */
/*
 * nfo_event.type only: the fast path could not hold conntrack's entry of this
 * direction (not found, or a fixed timeout) and cleared NFO_FLOW_CT_HOLD.
 */
#define NFO_EVENT_CT_HOLD_FAILED 3

/*
 * Events ring buffer: the fast path reports each teardown, and each failed
 * conntrack hold, once (never per packet), so that the daemon acts at once
 * instead of at the next idle check.
 */
struct nfo_event {
	__u32 type; /* NFO_TEARDOWN_*, NFO_EVENT_* */
	__u32 ct_id;
	__u8 family;
	__u8 dir;
	__u8 pad[2];
	__u8 key[44]; /* struct nfo_key4 or nfo_key6, zero-padded */
};

/*
 * Devices map: an array indexed by ifindex. slot != 0 marks an offload device;
 * the slot indexes the per-CPU statistics and the slots map.
 */
#define NFO_DEV_TC (1U << 0) /* tc program attached to this device */
#define NFO_DEV_XDP (1U << 1) /* XDP program attached to this device */
#define NFO_DEV_XDP_TX (1U << 2) /* can be the target of an XDP redirect */
#define NFO_DEV_XDP_GENERIC (1U << 3) /* XDP attached in generic (skb) mode */
#define NFO_DEV_CLSACT_OURS (1U << 4) /* slots map: we created the clsact qdisc */
#define NFO_DEV_FORCED (1U << 5) /* slots map: attached beside/over foreign programs */
/* slots map: a netdev chain of the user's hooks this device: kernel path only */
#define NFO_DEV_NETDEV_CHAIN (1U << 6)
/* XDP: the device's own program, which asks the driver for a VLAN tag it took out */
#define NFO_DEV_XDP_VLAN (1U << 7)
/* devices map, set by that program: the driver cannot say (no VLAN hook) */
#define NFO_DEV_XDP_VLAN_UNKNOWN (1U << 8)

struct nfo_dev {
	__u32 slot;
	__u32 flags; /* NFO_DEV_* */
	__u8 mac[6]; /* device address, to ignore frames for other hosts */
	__u8 pad[2];
};

/* Slots map (array indexed by slot): which device a slot belongs to. */
struct nfo_slot {
	__u32 ifindex;
	__u32 flags; /* NFO_DEV_* as attached */
	char name[16]; /* IFNAMSIZ */
	__u64 attached_ns; /* CLOCK_MONOTONIC */
};

/*
 * Why a packet went to the slow path. One list, expanded into the enum here,
 * and into names and descriptions by the CLI.
 * X(enum suffix, json key, description)
 */
#define NFO_REASONS(X)                                                           \
	X(NO_FLOW, "no_flow", "no flow entry for this tuple and device")         \
	X(NOT_IP, "not_ip", "not an IPv4/IPv6 frame (ARP, VLAN, ...)")           \
	X(OTHERHOST, "other_host", "frame not addressed to this device")         \
	X(PROTO, "proto", "protocol other than TCP/UDP (ICMP, ESP, ...)")        \
	X(FRAGMENT, "fragment", "IPv4 fragment")                                 \
	X(IP_OPTIONS, "ip_options", "IPv4 header with options")                  \
	X(IPV6_EXT, "ipv6_ext", "IPv6 extension header")                         \
	X(MALFORMED, "malformed", "truncated or inconsistent header")            \
	X(TTL, "ttl", "TTL or hop limit <= 1")                                   \
	X(TCP_FIN_RST, "tcp_fin_rst", "TCP FIN or RST (flow marked teardown)")   \
	X(TCP_SYN, "tcp_syn", "TCP SYN on an offloaded flow (no teardown)")      \
	X(TCP_RST_BLIND, "tcp_rst_blind", "TCP RST out of window (dropped)")     \
	X(TCP_FLAGS, "tcp_flags", "TCP without ACK, SYN or RST (invalid)")       \
	X(TEARDOWN, "teardown", "flow already marked teardown")                  \
	X(UDP_CSUM, "udp_csum", "UDP checksum the fast path cannot update")      \
	X(NO_ROUTE, "no_route", "no route, or route is not a forward")           \
	X(NO_NEIGH, "no_neigh", "next hop neighbour not resolved")               \
	X(MTU, "mtu", "packet larger than the egress MTU")                       \
	X(EGRESS, "egress", "egress device is not an offload device")            \
	X(HAIRPIN, "hairpin", "egress is the ingress device (stack redirects)")  \
	X(SNAT_ROUTE, "snat_route", "route of a source-NATed flow moved")         \
	X(POLICY, "policy", "egress differs from the kernel's (policy routing)") \
	X(ERROR, "error", "helper failure (pull, checksum)")

#define NFO_REASON_ENUM_(e, key, desc) NFO_R_##e,
enum nfo_reason { NFO_REASONS(NFO_REASON_ENUM_) NFO_R_MAX };
#undef NFO_REASON_ENUM_

/* Per-device, per-CPU statistics (value of the stats map, indexed by slot). */
struct nfo_stats {
	__u64 fwd_packets;
	__u64 fwd_bytes; /* layer 3 bytes */
	__u64 pass[NFO_R_MAX];
};

/*
 * Daemon state (single-entry array, pinned): lets the stateless CLI see the
 * daemon's health and configuration.
 */
struct nfo_state {
	__u32 abi_version;
	__u32 pid; /* 0 when no daemon runs */
	__u64 started_ns; /* CLOCK_MONOTONIC */
	__u64 started_unix; /* seconds since the epoch */
	__u64 heartbeat_ns; /* CLOCK_MONOTONIC, updated once a second */
	__u32 ct_mark; /* the conntrack mark bit */
	__u32 idle_timeout_s;
	__u64 flow_capacity; /* connections */
	__u64 flows; /* connections currently offloaded */
	__u64 offloaded_total; /* connections admitted since start */
	__u64 evicted_total; /* connections evicted since start */
	__u64 events; /* conntrack events handled */
	__u64 events_lost; /* ENOBUFS on the event socket */
	__u64 resyncs; /* full conntrack dumps after event loss */
	__u64 revalidations; /* ruleset changes that flushed the table */
	__u64 admit_errors; /* flows that could not be written to the map */
	__u32 nft_gen; /* ruleset generation last validated */
	__u32 flags; /* NFO_STATE_* */
	__u64 latency_p50_ns; /* mark event received -> map entry written */
	__u64 latency_p99_ns;
	__u64 latency_max_ns;
	__u64 flows_waiting; /* marked connections waiting for room in the flow table */
	__u32 table_restores; /* our table found changed or gone, and reinstalled */
	__u32 xfrm_policies; /* xfrm policies that keep matching flows off */
	__u64 table_restored_unix; /* last reinstall, seconds since the epoch */
	__u32 devs_map_id; /* id of our devices map: programs using it are ours */
	__u32 netdev_blocked; /* devices kept on the kernel path by netdev chains */
	char pin_dir[128]; /* this instance's pin directory (names the owner) */
};

/*
 * Why the daemon took a connection out of the fast path. One list, expanded
 * into the daemon's enum and into the metrics' reason labels.
 * X(enum suffix, label)
 */
#define NFO_EVICTS(X)                 \
	X(IDLE, "idle")               \
	X(CLOSING, "closing")         \
	X(DESTROY, "destroyed")       \
	X(UNMARKED, "unmarked")       \
	X(RULESET, "ruleset")         \
	X(DEVICE, "device")           \
	X(GONE, "gone")               \
	X(ROUTE, "route_moved")       \
	X(TEARDOWN, "teardown")       \
	X(KEPTOFF, "kept_off")

#define NFO_EVICT_SLOTS 16 /* room for more reasons without an ABI change */

/*
 * Admission latency histogram bounds (nanoseconds), for Prometheus: bucket i
 * counts latencies <= bound i and > bound i-1; the last bucket is +Inf.
 */
#define NFO_LAT_BOUNDS_NS                                                         \
	{ 50000ULL, 100000ULL, 250000ULL, 500000ULL, 1000000ULL, 2500000ULL,       \
	  5000000ULL, 10000000ULL, 25000000ULL, 50000000ULL, 100000000ULL,        \
	  250000000ULL, 500000000ULL, 1000000000ULL, 2500000000ULL }
#define NFO_LAT_BUCKETS 16 /* the bounds above and +Inf */

/* Daemon counters for metrics (single-entry array, pinned; daemon writes). */
struct nfo_metrics {
	__u64 lat_count;
	__u64 lat_sum_ns;
	__u64 lat_bucket[NFO_LAT_BUCKETS]; /* not cumulative */
	__u64 evicted[NFO_EVICT_SLOTS]; /* by NFO_EVICTS reason */
	__u64 hosts_full; /* final counts not added: host table full */
};

/*
 * Per-host totals (hash, pinned; daemon writes): what the fast path carried
 * for connections whose ORIGINAL direction came from this address (the
 * client), added when each connection leaves the fast path.
 */
#define NFO_MAX_HOSTS 4096

struct nfo_host_key {
	__be32 addr[4]; /* IPv4 uses addr[0] */
	__u8 family;
	__u8 pad[3];
};

struct nfo_host {
	__u64 packets[2]; /* by NFO_DIR_* */
	__u64 bytes[2];
	__u64 flows; /* connections that left the fast path */
};

/*
 * Final counts of a connection taken out of the fast path by the CLI (evict,
 * flush): queued for the daemon, the only writer of the host table.
 */
#define NFO_MAX_LEAVING 16384

struct nfo_leaving {
	struct nfo_host_key host;
	__u32 flows; /* 1, or 0 for the second entry of a connection */
	__u64 packets[2];
	__u64 bytes[2];
};

#define NFO_STATE_WARN_PRIO (1U << 0) /* another forward chain runs after ours */
#define NFO_STATE_EVENTS_SET (1U << 1) /* we set nf_conntrack_events from 2 to 1 */
#define NFO_STATE_EVENTS_REVIVED (1U << 2) /* someone set it to 0 meanwhile; we set 1 */
#define NFO_STATE_CT_LIMIT_ABOVE (1U << 3) /* conntrack's limit rose above the table's capacity */

/*
 * Compile-time layout checks: these sizes are ABI. A change here must bump
 * NFO_ABI_VERSION, and old pins are then refused with a clear message.
 */
_Static_assert(sizeof(struct nfo_key4) == 16, "nfo_key4 layout");
_Static_assert(sizeof(struct nfo_key6) == 40, "nfo_key6 layout");
_Static_assert(NFO_MAX_IFINDEX <= 1U << NFO_KEY_IFINDEX_BITS,
	       "an ifindex the devices map holds fits a key");
_Static_assert(sizeof(struct nfo_flow) == 144, "nfo_flow layout");
_Static_assert(__builtin_offsetof(struct nfo_flow, mark) == 112, "nfo_flow: per-packet part");
_Static_assert(sizeof(struct nfo_dev) == 16, "nfo_dev layout");
_Static_assert(sizeof(struct nfo_event) == 56, "nfo_event layout");
_Static_assert(sizeof(struct nfo_slot) == 32, "nfo_slot layout");
_Static_assert(sizeof(struct nfo_stats) == 8 * (2 + NFO_R_MAX), "nfo_stats layout");
_Static_assert(sizeof(struct nfo_state) == 304, "nfo_state layout");
_Static_assert(sizeof(struct nfo_metrics) == 8 * (3 + NFO_LAT_BUCKETS + NFO_EVICT_SLOTS),
	       "nfo_metrics layout");
_Static_assert(sizeof(struct nfo_host_key) == 20, "nfo_host_key layout");
_Static_assert(sizeof(struct nfo_host) == 40, "nfo_host layout");
_Static_assert(sizeof(struct nfo_leaving) == 56, "nfo_leaving layout");

#endif /* NFO_ABI_H */
