// SPDX-License-Identifier: GPL-2.0-only
/*
 * nfo_fastpath.bpf.c - the nft-offload fast path.
 *
 * One core, two entry points: nfo_tc (tc ingress, clsact) and nfo_xdp. For a
 * packet whose tuple and ingress device are in the flow map, the core rewrites
 * NAT addresses and ports with incremental checksums, decrements the TTL/hop
 * limit, looks up route and neighbour (bpf_fib_lookup, per packet, so route and
 * neighbour changes are followed at once), rewrites the MACs and redirects.
 *
 * It fails open: anything it does not fully understand returns to the normal
 * stack unchanged, and the reason is counted per device. Nothing is ever
 * modified before the last check has passed.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "nfo_abi.h"

#define AF_INET 2
#define AF_INET6 10
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

char LICENSE[] SEC("license") = "GPL";

/*
 * Route lookup with a packet mark (kernel 6.10+). Older uapi headers lack the
 * flag and the field; the ABI is stable: the flag is bit 5, and the mark is
 * an input sharing its place with the output smac (the first 4 bytes).
 */
#define NFO_FIB_LOOKUP_MARK (1U << 5)

static __always_inline void fib_set_mark(struct bpf_fib_lookup *p, __u32 mark)
{
	__builtin_memcpy(p->smac, &mark, sizeof(mark));
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * NFO_DEFAULT_FLOWS);
	__type(key, struct nfo_key4);
	__type(value, struct nfo_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_flow4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * NFO_DEFAULT_FLOWS);
	__type(key, struct nfo_key6);
	__type(value, struct nfo_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_flow6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NFO_MAX_IFINDEX);
	__type(key, __u32);
	__type(value, struct nfo_dev);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NFO_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct nfo_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_events SEC(".maps");

/* Not used by the fast path: pinned beside it for the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NFO_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct nfo_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_state SEC(".maps");

/* Metrics and per-host accounting: the daemon writes, the CLI reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_metrics);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NFO_MAX_HOSTS);
	__type(key, struct nfo_host_key);
	__type(value, struct nfo_host);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_hosts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, NFO_MAX_LEAVING);
	__type(value, struct nfo_leaving);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nfo_leaving SEC(".maps");

/* Per-packet state shared by the two entry points. */
struct nfo_ctx {
	void *ctx; /* struct __sk_buff * or struct xdp_md * */
	void *data_end;
	struct nfo_stats *st;
	__u32 ifindex; /* ingress device */
	__u32 l3_len; /* bytes from the network header to the end */
	__u32 gso_size; /* tc only: segment payload size of a GSO skb */
	__u32 gso_segs;
	__u32 l4_off; /* offset of the L4 header from the packet start */
	__u32 l4_check; /* offset of the L4 checksum from the packet start */
	__u32 csum_flags; /* BPF_F_MARK_MANGLED_0 for UDP */
	__u32 l4_sum; /* 1 if the L4 checksum must be updated */
};

/*
 * Tear a flow down: from now on its packets go to the stack. Tell the daemon
 * once; a full ring buffer only delays it to the next idle check.
 */
static __always_inline void teardown(struct nfo_flow *f, const void *key, __u32 klen,
				     __u32 type)
{
	struct nfo_event *e;

	f->teardown = type;
	e = bpf_ringbuf_reserve(&nfo_events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ct_id = f->ct_id;
	e->family = f->family;
	e->dir = f->dir;
	__builtin_memcpy(e->key, key, klen);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int pass(struct nfo_ctx *c, enum nfo_reason r)
{
	c->st->pass[r]++;
	return 0;
}

static __always_inline __u16 csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + m' - m), with the difference precomputed. */
static __always_inline __u16 csum_apply(__u16 check, __u32 diff)
{
	return ~csum_fold((__u16)~check + diff);
}

/* An IPv4 header without options sums to 0xffff with its checksum. */
static __always_inline bool ip_csum_ok(const struct iphdr *iph)
{
	const __u32 *w = (const __u32 *)iph;
	__u64 s = (__u64)w[0] + w[1] + w[2] + w[3] + w[4];

	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return csum_fold((__u32)s) == 0xffff;
}

static __always_inline enum nfo_reason fib_reason(long rc)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return NFO_R_NO_NEIGH;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return NFO_R_MTU;
	case BPF_FIB_LKUP_RET_NOT_FWDED:
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
	case BPF_FIB_LKUP_RET_UNSUPP_LWT:
		return NFO_R_NO_ROUTE;
	default:
		return NFO_R_ERROR;
	}
}

/*
 * Checks common to both families once the flow entry is known, and the route.
 * Returns the egress ifindex, or 0 (counted) to pass the packet to the stack.
 */
static __always_inline __u32 route(struct nfo_ctx *c, struct bpf_fib_lookup *p,
				   struct nfo_flow *f, const void *key, __u32 klen, const bool xdp)
{
	struct nfo_dev *odev;
	__u32 oif, flags = 0;
	long rc;

	/* Policy routing: the mark the ruleset gave this direction. */
	if (f->mark) {
		fib_set_mark(p, f->mark);
		flags = NFO_FIB_LOOKUP_MARK;
	}
	rc = bpf_fib_lookup(c->ctx, p, sizeof(*p), flags);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return pass(c, fib_reason(rc));
	oif = p->ifindex;
	if (oif == c->ifindex)
		return pass(c, NFO_R_HAIRPIN);
	/* Never out of a device the kernel did not choose for this flow. */
	if (f->route_oif && oif != f->route_oif) {
		teardown(f, key, klen, NFO_TEARDOWN_ROUTE);
		return pass(c, NFO_R_POLICY);
	}
	if (f->snat_oif && oif != f->snat_oif) {
		teardown(f, key, klen, NFO_TEARDOWN_ROUTE);
		return pass(c, NFO_R_SNAT_ROUTE);
	}
	odev = bpf_map_lookup_elem(&nfo_devs, &oif);
	if (!odev || !odev->slot)
		return pass(c, NFO_R_EGRESS);
	if (xdp && !(odev->flags & NFO_DEV_XDP_TX))
		return pass(c, NFO_R_EGRESS);
	/* Its netdev egress chains would be skipped: the stack transmits. */
	if (odev->flags & NFO_DEV_NETDEV_CHAIN)
		return pass(c, NFO_R_EGRESS);
	return oif;
}

static __always_inline void account(struct nfo_ctx *c, struct nfo_flow *f,
				    __u32 oif, __u32 bytes)
{
	__u32 segs = c->gso_segs ? c->gso_segs : 1;

	__sync_fetch_and_add(&f->packets, segs);
	__sync_fetch_and_add(&f->bytes, bytes);
	f->last_used_ns = bpf_ktime_get_coarse_ns();
	if (f->oif != oif)
		f->oif = oif;
	c->st->fwd_packets += segs;
	c->st->fwd_bytes += bytes;
}

static __always_inline void set_macs(struct ethhdr *eth, struct bpf_fib_lookup *p)
{
	__builtin_memcpy(eth->h_dest, p->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, p->smac, ETH_ALEN);
}

/*
 * Parse the L4 header at l4 (TCP or UDP), check it against the L3 payload
 * length and fill in the port word and header length. Returns 0 or a reason.
 */
static __always_inline int parse_l4(struct nfo_ctx *c, void *l4, __u8 proto,
				    __u32 l4_len, __u32 *ports, __u32 *hlen,
				    __u8 *tcp_flags)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > c->data_end)
			return NFO_R_MALFORMED;
		if (th->doff < 5 || th->doff * 4 > l4_len)
			return NFO_R_MALFORMED;
		*hlen = th->doff * 4;
		*tcp_flags = ((__u8 *)th)[13];
		c->l4_check = offsetof(struct tcphdr, check);
		c->csum_flags = 0;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		__u32 ulen;

		if ((void *)(uh + 1) > c->data_end)
			return NFO_R_MALFORMED;
		ulen = bpf_ntohs(uh->len);
		/* A GSO (UDP_SEGMENT) super-packet carries the segment length. */
		if (ulen < sizeof(*uh) || (!c->gso_size && ulen > l4_len))
			return NFO_R_MALFORMED;
		*hlen = sizeof(*uh);
		*tcp_flags = 0;
		c->l4_check = offsetof(struct udphdr, check);
		c->csum_flags = BPF_F_MARK_MANGLED_0;
	} else {
		return NFO_R_PROTO;
	}
	*ports = *(__u32 *)l4;
	return 0;
}

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAGS_CTL (TCP_FLAG_FIN | TCP_FLAG_SYN | TCP_FLAG_RST)

/*
 * Remember what the sender of a TCP segment acknowledges and advertises:
 * bytes 8-15 of its header (ACK number, data offset and flags, window) in
 * one copy, byte order left alone. parse_l4() checked the whole header.
 */
static __always_inline void tcp_track(struct nfo_flow *f, const void *th)
{
	*(__u64 *)&f->tcp_ack = *(const __u64 *)(th + 8);
}

/*
 * A TCP segment with FIN, SYN or RST on an offloaded flow; r is the entry of
 * the other direction (NULL if unknown). Returns 0 (counted) to pass it to
 * the stack, or sets *drop.
 *
 * Liberal window tracking (set at admission, as the kernel flowtable does)
 * lets conntrack take any RST as the end of the connection, so the fast path
 * judges RSTs the way the receiver does (RFC 5961, 3.2): against the
 * receiver's last ACK number, which is RCV.NXT as it last said, and its window
 * field. The field is taken unscaled: the scale is negotiated in the SYN,
 * which the fast path never sees, and the unscaled window is never larger
 * than the real one, so nothing the receiver would ignore as out of window
 * gets through. The receiver's view is learnt only from packets that arrive
 * on the other device, so a blind sender on one side cannot move it. A
 * genuine RST sent with more than that window in flight is dropped too; the
 * receiver's next ACK then draws an RST at exactly the sequence it
 * acknowledges, which passes. Before the receiver has been seen, the RST
 * goes to the stack as it always did.
 *
 * A SYN on an established connection never ends it: the stack gets it
 * (conntrack ignores it, the receiver answers with a challenge ACK) and the
 * flow stays offloaded.
 */
static __always_inline int tcp_ctl(struct nfo_ctx *c, struct nfo_flow *f,
				   const struct nfo_flow *r, const struct tcphdr *th,
				   __u8 flags, const void *key, __u32 klen, int *drop)
{
	if (flags & TCP_FLAG_RST) {
		if (r && r->ct_id == f->ct_id && r->dir != f->dir && r->tcp_doff_flags &&
		    bpf_ntohl(th->seq) - bpf_ntohl(r->tcp_ack) > bpf_ntohs(r->tcp_window)) {
			*drop = 1;
			return pass(c, NFO_R_TCP_RST_BLIND);
		}
	} else if (flags & TCP_FLAG_SYN) {
		return pass(c, NFO_R_TCP_SYN);
	}
	teardown(f, key, klen, NFO_TEARDOWN_FIN);
	return pass(c, NFO_R_TCP_FIN_RST);
}

/*
 * Cut an Ethernet trailer (padding after the IP packet, as minimum-size
 * frames carry) as the stack does on input: the frame leaves as long as its
 * IP packet, and a trailer cannot push it over the egress MTU. Invalidates
 * packet pointers; 0 or a negative error.
 */
static __always_inline long trim(struct nfo_ctx *c, __u32 l3, const bool xdp)
{
	if (xdp)
		return bpf_xdp_adjust_tail(c->ctx, (int)l3 - (int)c->l3_len);
	return bpf_skb_change_tail(c->ctx, sizeof(struct ethhdr) + l3, 0);
}

/*
 * Update the L4 checksum: inline for XDP (frames carry a full checksum), with
 * bpf_l4_csum_replace() for tc so that CHECKSUM_PARTIAL skbs (GRO, local
 * senders on veth) get only the pseudo-header part. Must run after every
 * direct packet access: the helper invalidates packet pointers.
 */
static __always_inline int l4_csum(struct nfo_ctx *c, void *l4, struct nfo_flow *f,
				   const bool xdp)
{
	__u32 flags = f->flags;

	if (!(flags & (NFO_FLOW_NAT_ADDR | NFO_FLOW_NAT_PORT)))
		return 0;
	if (xdp) {
		__u16 *check = l4 + c->l4_check;
		__u32 diff = 0;
		__u16 sum;

		if ((void *)(check + 1) > c->data_end)
			return -1;
		if (c->csum_flags && !*check)
			return 0; /* IPv4 UDP without checksum stays without */
		if (flags & NFO_FLOW_NAT_ADDR)
			diff += f->csum_addr;
		if (flags & NFO_FLOW_NAT_PORT)
			diff += f->csum_port;
		sum = csum_apply(*check, diff);
		if (c->csum_flags && !sum)
			sum = 0xffff;
		*check = sum;
		return 0;
	}
	{
		struct __sk_buff *skb = c->ctx;
		__u32 off = c->l4_off + c->l4_check;

		if ((flags & NFO_FLOW_NAT_ADDR) &&
		    bpf_l4_csum_replace(skb, off, 0, f->csum_addr,
					BPF_F_PSEUDO_HDR | c->csum_flags))
			return -1;
		if ((flags & NFO_FLOW_NAT_PORT) &&
		    bpf_l4_csum_replace(skb, off, 0, f->csum_port, c->csum_flags))
			return -1;
	}
	return 0;
}

static __always_inline __u32 forward4(struct nfo_ctx *c, struct ethhdr *eth,
				      const bool xdp, int *err)
{
	struct iphdr *iph = (void *)(eth + 1);
	struct bpf_fib_lookup p = {};
	struct nfo_key4 k = {};
	struct nfo_flow *f;
	__u32 tot, ports, hlen, oif;
	__u8 tcp_flags;
	int r;

	if ((void *)(iph + 1) > c->data_end)
		return pass(c, NFO_R_MALFORMED);
	if (((__u8 *)iph)[0] != 0x45) {
		if (iph->version != 4 || iph->ihl < 5)
			return pass(c, NFO_R_MALFORMED);
		return pass(c, NFO_R_IP_OPTIONS);
	}
	tot = bpf_ntohs(iph->tot_len);
	if (tot < sizeof(*iph) || tot > c->l3_len)
		return pass(c, NFO_R_MALFORMED);
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return pass(c, NFO_R_FRAGMENT);
	if (iph->ttl <= 1)
		return pass(c, NFO_R_TTL);
	/* The stack drops a bad header checksum; so must we, by not taking it. */
	if (!ip_csum_ok(iph))
		return pass(c, NFO_R_MALFORMED);
	r = parse_l4(c, iph + 1, iph->protocol, tot - sizeof(*iph), &ports, &hlen,
		     &tcp_flags);
	if (r)
		return pass(c, r);

	k.saddr = iph->saddr;
	k.daddr = iph->daddr;
	*(__u32 *)&k.sport = ports;
	k.ifindex = c->ifindex;
	k.l4proto = iph->protocol;
	f = bpf_map_lookup_elem(&nfo_flow4, &k);
	if (!f)
		return pass(c, NFO_R_NO_FLOW);
	if (f->teardown)
		return pass(c, NFO_R_TEARDOWN);
	/* A GSO packet has no trailer to cut; the stack sorts one out. */
	if (tot != c->l3_len && c->gso_size)
		return pass(c, NFO_R_MALFORMED);

	p.family = AF_INET;
	p.tos = iph->tos;
	p.l4_protocol = iph->protocol;
	p.ifindex = c->ifindex;
	p.tot_len = c->gso_size ? sizeof(*iph) + hlen + c->gso_size : tot;
	if (f->flags & NFO_FLOW_NAT_ADDR) {
		p.ipv4_src = f->nat_saddr[0];
		p.ipv4_dst = f->nat_daddr[0];
	} else {
		p.ipv4_src = iph->saddr;
		p.ipv4_dst = iph->daddr;
	}
	if (f->flags & NFO_FLOW_NAT_PORT) {
		p.sport = f->nat_sport;
		p.dport = f->nat_dport;
	} else {
		*(__u32 *)&p.sport = ports;
	}
	if (tcp_flags & TCP_FLAGS_CTL) {
		struct nfo_flow *r = NULL;

		/* The other direction arrives where this one leaves. */
		if ((tcp_flags & TCP_FLAG_RST) && f->oif) {
			struct nfo_key4 rk = {
				.saddr = p.ipv4_dst,
				.daddr = p.ipv4_src,
				.sport = p.dport,
				.dport = p.sport,
				.ifindex = f->oif,
				.l4proto = IPPROTO_TCP,
			};

			r = bpf_map_lookup_elem(&nfo_flow4, &rk);
		}
		return tcp_ctl(c, f, r, (void *)(iph + 1), tcp_flags, &k, sizeof(k), err);
	}
	if (tcp_flags)
		tcp_track(f, iph + 1);
	/* The kernel routes after destination NAT, before source NAT. */
	p.ipv4_src = iph->saddr;
	p.sport = k.sport;
	oif = route(c, &p, f, &k, sizeof(k), xdp);
	if (!oif)
		return 0;

	/* Commit: from here on the packet is ours. */
	{
		__u32 diff = (__u16)~bpf_htons(0x0100); /* TTL - 1 */

		/* Not from p: bpf_fib_lookup() put the next hop in ipv4_dst. */
		if (f->flags & NFO_FLOW_NAT_ADDR) {
			iph->saddr = f->nat_saddr[0];
			iph->daddr = f->nat_daddr[0];
			diff += f->csum_addr;
		}
		iph->ttl--;
		iph->check = csum_apply(iph->check, diff);
	}
	if (f->flags & NFO_FLOW_NAT_PORT)
		*(__u32 *)(iph + 1) = *(__u32 *)&f->nat_sport;
	set_macs(eth, &p);
	c->l4_off = sizeof(*eth) + sizeof(*iph);
	if (l4_csum(c, iph + 1, f, xdp) || (tot != c->l3_len && trim(c, tot, xdp))) {
		*err = 1;
		return pass(c, NFO_R_ERROR);
	}
	account(c, f, oif, tot);
	return oif;
}

static __always_inline int ipv6_ext(__u8 nexthdr)
{
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
	case IPPROTO_MH:
		return 1;
	}
	return 0;
}

static __always_inline __u32 forward6(struct nfo_ctx *c, struct ethhdr *eth,
				      const bool xdp, int *err)
{
	struct ipv6hdr *ip6h = (void *)(eth + 1);
	struct bpf_fib_lookup p = {};
	struct nfo_key6 k = {};
	struct nfo_flow *f;
	__u32 plen, ports, hlen, oif;
	__u8 tcp_flags;
	int r;

	if ((void *)(ip6h + 1) > c->data_end)
		return pass(c, NFO_R_MALFORMED);
	if (ip6h->version != 6)
		return pass(c, NFO_R_MALFORMED);
	plen = bpf_ntohs(ip6h->payload_len);
	/* payload_len 0 is a jumbogram or BIG TCP: leave it to the stack. */
	if (!plen || plen + sizeof(*ip6h) > c->l3_len)
		return pass(c, NFO_R_MALFORMED);
	if (ip6h->hop_limit <= 1)
		return pass(c, NFO_R_TTL);
	if (ipv6_ext(ip6h->nexthdr))
		return pass(c, NFO_R_IPV6_EXT);
	r = parse_l4(c, ip6h + 1, ip6h->nexthdr, plen, &ports, &hlen, &tcp_flags);
	if (r)
		return pass(c, r);
	/* A zero UDP checksum is invalid in IPv6 (RFC 8200): not ours. */
	if (c->csum_flags && !((struct udphdr *)(ip6h + 1))->check)
		return pass(c, NFO_R_UDP_CSUM);

	__builtin_memcpy(k.saddr, &ip6h->saddr, 16);
	__builtin_memcpy(k.daddr, &ip6h->daddr, 16);
	*(__u32 *)&k.sport = ports;
	k.ifindex = c->ifindex;
	k.l4proto = ip6h->nexthdr;
	f = bpf_map_lookup_elem(&nfo_flow6, &k);
	if (!f)
		return pass(c, NFO_R_NO_FLOW);
	if (f->teardown)
		return pass(c, NFO_R_TEARDOWN);
	if (plen + sizeof(*ip6h) != c->l3_len && c->gso_size)
		return pass(c, NFO_R_MALFORMED);

	p.family = AF_INET6;
	p.flowinfo = *(__be32 *)ip6h & bpf_htonl(0x0fffffff);
	p.l4_protocol = ip6h->nexthdr;
	p.ifindex = c->ifindex;
	p.tot_len = c->gso_size ? sizeof(*ip6h) + hlen + c->gso_size :
				  plen + sizeof(*ip6h);
	if (f->flags & NFO_FLOW_NAT_ADDR) {
		__builtin_memcpy(p.ipv6_src, f->nat_saddr, 16);
		__builtin_memcpy(p.ipv6_dst, f->nat_daddr, 16);
	} else {
		__builtin_memcpy(p.ipv6_src, &ip6h->saddr, 16);
		__builtin_memcpy(p.ipv6_dst, &ip6h->daddr, 16);
	}
	if (f->flags & NFO_FLOW_NAT_PORT) {
		p.sport = f->nat_sport;
		p.dport = f->nat_dport;
	} else {
		*(__u32 *)&p.sport = ports;
	}
	if (tcp_flags & TCP_FLAGS_CTL) {
		struct nfo_flow *r = NULL;

		if ((tcp_flags & TCP_FLAG_RST) && f->oif) {
			struct nfo_key6 rk = {
				.sport = p.dport,
				.dport = p.sport,
				.ifindex = f->oif,
				.l4proto = IPPROTO_TCP,
			};

			__builtin_memcpy(rk.saddr, p.ipv6_dst, 16);
			__builtin_memcpy(rk.daddr, p.ipv6_src, 16);
			r = bpf_map_lookup_elem(&nfo_flow6, &rk);
		}
		return tcp_ctl(c, f, r, (void *)(ip6h + 1), tcp_flags, &k, sizeof(k), err);
	}
	if (tcp_flags)
		tcp_track(f, ip6h + 1);
	/* The kernel routes after destination NAT, before source NAT. */
	__builtin_memcpy(p.ipv6_src, &ip6h->saddr, 16);
	p.sport = k.sport;
	oif = route(c, &p, f, &k, sizeof(k), xdp);
	if (!oif)
		return 0;

	/* Commit. IPv6 has no header checksum. */
	if (f->flags & NFO_FLOW_NAT_ADDR) {
		__builtin_memcpy(&ip6h->saddr, f->nat_saddr, 16);
		__builtin_memcpy(&ip6h->daddr, f->nat_daddr, 16);
	}
	ip6h->hop_limit--;
	if (f->flags & NFO_FLOW_NAT_PORT)
		*(__u32 *)(ip6h + 1) = *(__u32 *)&f->nat_sport;
	set_macs(eth, &p);
	c->l4_off = sizeof(*eth) + sizeof(*ip6h);
	if (l4_csum(c, ip6h + 1, f, xdp) ||
	    (plen + sizeof(*ip6h) != c->l3_len && trim(c, plen + sizeof(*ip6h), xdp))) {
		*err = 1;
		return pass(c, NFO_R_ERROR);
	}
	account(c, f, oif, plen + sizeof(*ip6h));
	return oif;
}

static __always_inline struct nfo_stats *dev_stats(__u32 ifindex, struct nfo_dev **devp)
{
	struct nfo_dev *dev = bpf_map_lookup_elem(&nfo_devs, &ifindex);
	__u32 slot;

	if (!dev || !dev->slot)
		return NULL;
	slot = dev->slot;
	*devp = dev;
	return bpf_map_lookup_elem(&nfo_stats, &slot);
}

SEC("xdp")
int nfo_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct nfo_ctx c = {
		.ctx = ctx,
		.data_end = (void *)(long)ctx->data_end,
		.ifindex = ctx->ingress_ifindex,
	};
	struct ethhdr *eth = data;
	struct nfo_dev *dev;
	int err = 0;
	__u32 oif;

	c.st = dev_stats(c.ifindex, &dev);
	if (!c.st)
		return XDP_PASS;
	if ((void *)(eth + 1) > c.data_end) {
		pass(&c, NFO_R_MALFORMED);
		return XDP_PASS;
	}
	if (*(__u32 *)eth->h_dest != *(__u32 *)dev->mac ||
	    *(__u16 *)&eth->h_dest[4] != *(__u16 *)&dev->mac[4]) {
		pass(&c, NFO_R_OTHERHOST);
		return XDP_PASS;
	}
	c.l3_len = c.data_end - data - sizeof(*eth);
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		oif = forward4(&c, eth, true, &err);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		oif = forward6(&c, eth, true, &err);
	else
		oif = pass(&c, NFO_R_NOT_IP);
	if (err)
		return XDP_DROP; /* counted: rewritten half-way, or a blind RST */
	return oif ? bpf_redirect(oif, 0) : XDP_PASS;
}

/* Headers the tc path needs in the linear area: Ethernet, IPv6, TCP. */
#define NFO_PULL_LEN (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct tcphdr))

/*
 * Passing returns TC_ACT_UNSPEC, not TC_ACT_OK: other filters on the hook
 * (at a later priority) still see the packet, and then it goes on to the
 * stack as it would have without us.
 */
SEC("tc")
int nfo_tc(struct __sk_buff *skb)
{
	struct nfo_ctx c = {
		.ctx = skb,
		.ifindex = skb->ifindex,
	};
	struct ethhdr *eth;
	struct nfo_dev *dev;
	int err = 0;
	__u32 oif;

	c.st = dev_stats(c.ifindex, &dev);
	if (!c.st)
		return TC_ACT_UNSPEC;
	if (skb->pkt_type != PACKET_HOST) {
		pass(&c, NFO_R_OTHERHOST);
		return TC_ACT_UNSPEC;
	}
	/* A VLAN tag taken out by the driver leaves skb->protocol the inner one. */
	if (skb->vlan_present ||
	    (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))) {
		pass(&c, NFO_R_NOT_IP);
		return TC_ACT_UNSPEC;
	}
	/* Headers may sit outside the linear area (packet sockets, drivers). */
	if ((void *)(long)skb->data + NFO_PULL_LEN > (void *)(long)skb->data_end) {
		__u32 len = skb->len < NFO_PULL_LEN ? skb->len : NFO_PULL_LEN;

		if (bpf_skb_pull_data(skb, len)) {
			pass(&c, NFO_R_ERROR);
			return TC_ACT_UNSPEC;
		}
	}
	eth = (void *)(long)skb->data;
	c.data_end = (void *)(long)skb->data_end;
	if ((void *)(eth + 1) > c.data_end) {
		pass(&c, NFO_R_MALFORMED);
		return TC_ACT_UNSPEC;
	}
	c.l3_len = skb->len - sizeof(*eth);
	c.gso_size = skb->gso_size;
	c.gso_segs = skb->gso_segs;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		oif = forward4(&c, eth, false, &err);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		oif = forward6(&c, eth, false, &err);
	else
		oif = pass(&c, NFO_R_NOT_IP);
	if (err)
		return TC_ACT_SHOT; /* counted: rewritten half-way, or a blind RST */
	return oif ? bpf_redirect(oif, 0) : TC_ACT_UNSPEC;
}
