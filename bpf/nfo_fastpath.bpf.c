// SPDX-License-Identifier: GPL-2.0-only
/*
 * nfo_fastpath.bpf.c - the nft-offload fast path.
 *
 * Two entry points, nfo_tc (tc ingress, clsact) and nfo_xdp, and two steps in
 * the order of the kernel flowtable's: the lookup (parse the headers, build the
 * key, find the flow entry; one function per family) and one forward step for
 * both families, which takes the next hop, rewrites NAT addresses and ports
 * with incremental checksums, decrements the TTL/hop limit, rewrites the MACs
 * and answers pass, drop or redirect.
 *
 * The next hop (egress device, MACs, MTU) comes from the route and neighbour
 * lookup (bpf_fib_lookup) and is cached in the flow entry, valid while the
 * routing generation has not moved: the daemon bumps it on every route, rule,
 * neighbour, link and device change it sees, and a cached next hop is looked
 * up again after a second at the latest (changes nothing reports, no daemon).
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
/* TCP header byte 13: the flags conntrack's validity check looks at. */
#define NFO_TCP_FIN 0x01
#define NFO_TCP_SYN 0x02
#define NFO_TCP_RST 0x04
#define NFO_TCP_ACK 0x10
#define NFO_EOPNOTSUPP 95

char LICENSE[] SEC("license") = "GPL";

/*
 * Routing generation (.bss, mapped by the loader): bumped by the daemon
 * whenever routes, rules, neighbours, links or offload devices may have
 * changed; a cached next hop filled under another generation is stale. The
 * loader starts it at a random value, so that entries adopted from an earlier
 * run are not taken for current.
 */
__u32 nfo_route_gen;

/*
 * Conntrack's timeout, in milliseconds, that the fast path gives the entries
 * of the connections it carries (set by the loader from ct-timeout; 0: the
 * daemon holds them itself, see ct_hold()).
 */
const volatile __u32 nfo_ct_hold_ms;

/*
 * Set skb->priority of a forwarded IPv4 packet from its TOS, as ip_forward()
 * does while net.ipv4.ip_forward_update_priority is 1 (the default; read by
 * the daemon at start). The egress qdisc (pfifo_fast, prio, mqprio) may
 * choose its band by it. IPv6 forwarding leaves the priority alone.
 */
const volatile __u8 nfo_fwd_priority;

/*
 * Conntrack's BPF functions (kernel 6.1+, in the kernel's or nf_conntrack's
 * BTF). Weak: without them the program loads all the same, the loader
 * leaves nfo_ct_hold_ms at 0, and the verifier drops the calls as dead code
 * (a read-only value it knows). Never test the functions' addresses: a
 * kernel before 6.4 refuses a program that loads a kfunc's address. Only
 * pointers to struct nf_conn pass through here; libbpf wants the kind (a
 * struct) to match the kernel's, not its members. The options are the
 * 12-byte layout every such kernel takes (zone 0: the daemon asks for holds
 * only there).
 */
struct nf_conn {
	int opaque;
};

struct nfo_ct_opts {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};

#define NFO_CURRENT_NETNS (-1) /* BPF_F_CURRENT_NETNS */

extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb, struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz, struct nfo_ct_opts *opts,
					 __u32 opts__sz) __ksym __weak;
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp, struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz, struct nfo_ct_opts *opts,
					 __u32 opts__sz) __ksym __weak;
extern int bpf_ct_change_timeout(struct nf_conn *ct, __u32 timeout) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;

/*
 * The VLAN tag a driver took out of the frame (kernel 6.8+; device-bound
 * programs only, so only nfo_xdp_vlan calls it): 0 when there was one.
 */
extern int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md *ctx, __be16 *vlan_proto,
					__u16 *vlan_tci) __ksym __weak;

/*
 * A flow holds conntrack on its first packet, then on the first packet of
 * each period of 2^33 ns (8.6 s; NFO_CT_HOLD_SHIFT in nfo_abi.h, periods
 * that begin at the flow's own phase): well within the shortest timeout
 * conntrack gives a connection that one of its packets passed to the stack
 * (UDP, 30 s). In its first 4 s also every 2^31 ns (2.1 s), so at least once
 * more: a packet the stack still handled around the admission, after the
 * first hold, gives the entry conntrack's own timeout, which for UDP is 30 s
 * until the connection turns into a stream (2 s on); the kernel path would
 * have refreshed it to 120 s since.
 */

/*
 * The longest a cached next hop is used without a new lookup, in the units of
 * nfo_flow.nh_until (2^20 ns): about a second.
 */
#define NFO_NH_TIME_SHIFT 20
#define NFO_NH_MAX_AGE 954

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

/*
 * The clock of the fast path, per CPU: the coarse monotonic time read once
 * per jiffy. Coarse time moves only at the tick that also moves jiffies, so
 * reading it again within a jiffy gives the same value; jiffies cost one load
 * (the verifier inlines bpf_jiffies64), the time a helper call. Private to
 * the program (not pinned).
 */
struct nfo_clock {
	__u64 jiffies;
	__u64 ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nfo_clock);
} nfo_clock SEC(".maps");

/* Per-packet state shared by the two entry points. */
struct nfo_ctx {
	void *ctx; /* struct __sk_buff * or struct xdp_md * */
	void *data_end;
	struct nfo_stats *st;
	__u64 now; /* CLOCK_MONOTONIC, coarse (ktime_now()), once per packet */
	__u32 ifindex; /* ingress device */
	__u32 l3_len; /* bytes from the network header to the end */
	__u32 gso_size; /* tc only: segment payload size of a GSO skb */
	__u32 gso_segs;
	__u32 oif; /* the answer of a redirect: egress device */
};

/* What the forward step answers; the entry points map it to their codes. */
enum nfo_verdict {
	NFO_PASS, /* to the stack, unchanged (counted by reason) */
	NFO_DROP, /* counted: a blind RST, or rewritten half-way */
	NFO_REDIRECT, /* rewritten, out of nfo_ctx.oif */
};

/* What the lookup found: where the headers are, and the key (the entry is apart). */
struct nfo_pkt {
	struct ethhdr *eth;
	void *l3;
	void *l4;
	struct tcphdr *th; /* NULL for UDP */
	const void *key; /* struct nfo_key4 or nfo_key6 */
	__u32 klen;
	__u32 tot; /* IP packet length, header included */
	__u32 l4_hlen;
	__u32 tos; /* route lookup input: IPv4 TOS, IPv6 flow word */
};

/* The next hop: egress device and the MACs of the frame. */
struct nfo_nh {
	__u32 oif;
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
};

/* Both copy their MACs into the Ethernet header in one go: dmac, then smac. */
_Static_assert(__builtin_offsetof(struct nfo_nh, smac) ==
		       __builtin_offsetof(struct nfo_nh, dmac) + ETH_ALEN,
	       "nfo_nh: smac must follow dmac");
_Static_assert(__builtin_offsetof(struct nfo_flow, nh_smac) ==
		       __builtin_offsetof(struct nfo_flow, nh_dmac) + ETH_ALEN,
	       "nfo_flow: nh_smac must follow nh_dmac");

/*
 * Tell the daemon (a teardown, a failed conntrack hold); a full ring buffer
 * only delays it to the next idle check that reads the entries.
 */
static __always_inline void report(const struct nfo_flow *f, const struct nfo_pkt *p, __u32 type)
{
	struct nfo_event *e;

	e = bpf_ringbuf_reserve(&nfo_events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ct_id = f->ct_id;
	e->family = f->family;
	e->dir = f->dir;
	if (p->klen == sizeof(struct nfo_key4))
		__builtin_memcpy(e->key, p->key, sizeof(struct nfo_key4));
	else
		__builtin_memcpy(e->key, p->key, sizeof(struct nfo_key6));
	bpf_ringbuf_submit(e, 0);
}

/* Tear a flow down: from now on its packets go to the stack. Reported once. */
static __always_inline void teardown(struct nfo_flow *f, const struct nfo_pkt *p, __u32 type)
{
	f->teardown = type;
	report(f, p, type);
}

/* CLOCK_MONOTONIC as bpf_ktime_get_coarse_ns() answers it, cached per jiffy. */
static __always_inline __u64 ktime_now(void)
{
	__u64 j = bpf_jiffies64();
	__u32 zero = 0;
	struct nfo_clock *ck = bpf_map_lookup_elem(&nfo_clock, &zero);

	if (!ck)
		return bpf_ktime_get_coarse_ns();
	if (ck->jiffies != j) {
		ck->ns = bpf_ktime_get_coarse_ns();
		ck->jiffies = j;
	}
	return ck->ns;
}

static __always_inline int pass(struct nfo_ctx *c, enum nfo_reason r)
{
	c->st->pass[r]++;
	return NFO_PASS;
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
 * Parse the L4 header at l4 (TCP or UDP) and check it against the L3 payload
 * length. Returns 0 or a reason.
 */
static __always_inline int parse_l4(struct nfo_ctx *c, struct nfo_pkt *p, void *l4, __u8 proto,
				    __u32 l4_len)
{
	p->l4 = l4;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > c->data_end)
			return NFO_R_MALFORMED;
		if (th->doff < 5 || th->doff * 4 > l4_len)
			return NFO_R_MALFORMED;
		p->l4_hlen = th->doff * 4;
		p->th = th;
		return 0;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		__u32 ulen;

		if ((void *)(uh + 1) > c->data_end)
			return NFO_R_MALFORMED;
		ulen = bpf_ntohs(uh->len);
		/* A GSO (UDP_SEGMENT) super-packet carries the segment length. */
		if (ulen < sizeof(*uh) || (!c->gso_size && ulen > l4_len))
			return NFO_R_MALFORMED;
		p->l4_hlen = sizeof(*uh);
		p->th = NULL;
		return 0;
	}
	return NFO_R_PROTO;
}

/* Lookup, IPv4: parse, build the key, find the entry (*f, NULL if none). 0 or a reason. */
static __always_inline int lookup4(struct nfo_ctx *c, struct nfo_pkt *p, struct nfo_key4 *k,
				   struct nfo_flow **f)
{
	struct iphdr *iph = p->l3;
	__u32 tot;
	int r;

	if ((void *)(iph + 1) > c->data_end)
		return NFO_R_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return NFO_R_MALFORMED;
	if (iph->ihl != 5)
		return NFO_R_IP_OPTIONS;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < sizeof(*iph) || tot > c->l3_len)
		return NFO_R_MALFORMED;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return NFO_R_FRAGMENT;
	if (iph->ttl <= 1)
		return NFO_R_TTL;
	/* The stack drops a bad header checksum; so must we, by not taking it. */
	if (!ip_csum_ok(iph))
		return NFO_R_MALFORMED;
	r = parse_l4(c, p, iph + 1, iph->protocol, tot - sizeof(*iph));
	if (r)
		return r;
	k->saddr = iph->saddr;
	k->daddr = iph->daddr;
	*(__u32 *)&k->sport = *(__u32 *)p->l4;
	k->ifindex = c->ifindex;
	k->l4proto = iph->protocol;
	p->tot = tot;
	p->tos = iph->tos;
	*f = bpf_map_lookup_elem(&nfo_flow4, k);
	return 0;
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

/* Lookup, IPv6: parse, build the key, find the entry (*f, NULL if none). 0 or a reason. */
static __always_inline int lookup6(struct nfo_ctx *c, struct nfo_pkt *p, struct nfo_key6 *k,
				   struct nfo_flow **f)
{
	struct ipv6hdr *ip6h = p->l3;
	__u32 plen;
	int r;

	if ((void *)(ip6h + 1) > c->data_end)
		return NFO_R_MALFORMED;
	if (ip6h->version != 6)
		return NFO_R_MALFORMED;
	plen = bpf_ntohs(ip6h->payload_len);
	/* payload_len 0 is a jumbogram or BIG TCP: leave it to the stack. */
	if (!plen || plen + sizeof(*ip6h) > c->l3_len)
		return NFO_R_MALFORMED;
	if (ip6h->hop_limit <= 1)
		return NFO_R_TTL;
	if (ipv6_ext(ip6h->nexthdr))
		return NFO_R_IPV6_EXT;
	r = parse_l4(c, p, ip6h + 1, ip6h->nexthdr, plen);
	if (r)
		return r;
	/* A zero UDP checksum is invalid in IPv6 (RFC 8200): not ours. */
	if (!p->th && !((struct udphdr *)(ip6h + 1))->check)
		return NFO_R_UDP_CSUM;
	__builtin_memcpy(k->saddr, &ip6h->saddr, 16);
	__builtin_memcpy(k->daddr, &ip6h->daddr, 16);
	*(__u32 *)&k->sport = *(__u32 *)p->l4;
	k->ifindex = c->ifindex;
	k->l4proto = ip6h->nexthdr;
	p->tot = plen + sizeof(*ip6h);
	p->tos = *(__be32 *)ip6h & bpf_htonl(0x0fffffff);
	*f = bpf_map_lookup_elem(&nfo_flow6, k);
	return 0;
}

/*
 * Remember what the sender of a TCP segment acknowledges and advertises: its
 * ACK number, data offset and flags, and window field, byte order left alone.
 */
static __always_inline void tcp_track(struct nfo_flow *f, const struct tcphdr *th)
{
	f->tcp_ack = th->ack_seq;
	f->tcp_doff_flags = ((const __be16 *)th)[6];
	f->tcp_window = th->window;
}

/*
 * The entry of the other direction of a TCP connection (NULL if unknown): it
 * arrives where this one leaves, with the rewritten tuple reversed.
 */
static __always_inline struct nfo_flow *tcp_other(const struct nfo_pkt *p,
						  const struct nfo_flow *f, const bool v6)
{
	__u32 ports = *(__u32 *)p->l4;
	__be16 sport, dport;

	if (f->flags & NFO_FLOW_NAT_PORT)
		ports = *(__u32 *)&f->nat_sport;
	sport = ports & 0xffff; /* network order: the first two bytes */
	dport = ports >> 16;
	if (v6) {
		const struct ipv6hdr *ip6h = p->l3;
		struct nfo_key6 rk = { .sport = dport, .dport = sport, .ifindex = f->oif,
				       .l4proto = IPPROTO_TCP };

		if (f->flags & NFO_FLOW_NAT_ADDR) {
			__builtin_memcpy(rk.saddr, f->nat_daddr, 16);
			__builtin_memcpy(rk.daddr, f->nat_saddr, 16);
		} else {
			__builtin_memcpy(rk.saddr, &ip6h->daddr, 16);
			__builtin_memcpy(rk.daddr, &ip6h->saddr, 16);
		}
		return bpf_map_lookup_elem(&nfo_flow6, &rk);
	} else {
		const struct iphdr *iph = p->l3;
		struct nfo_key4 rk = { .saddr = iph->daddr, .daddr = iph->saddr, .sport = dport,
				       .dport = sport, .ifindex = f->oif,
				       .l4proto = IPPROTO_TCP };

		if (f->flags & NFO_FLOW_NAT_ADDR) {
			rk.saddr = f->nat_daddr[0];
			rk.daddr = f->nat_saddr[0];
		}
		return bpf_map_lookup_elem(&nfo_flow4, &rk);
	}
}

/*
 * A TCP segment with FIN, SYN or RST on an offloaded flow: pass it to the
 * stack (counted), or drop it.
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
static __always_inline int tcp_ctl(struct nfo_ctx *c, const struct nfo_pkt *p,
				   struct nfo_flow *f, const bool v6)
{
	const struct tcphdr *th = p->th;
	struct nfo_flow *o = NULL;

	if (th->rst) {
		o = f->oif ? tcp_other(p, f, v6) : NULL;
		if (o && (o->ct_id != f->ct_id || o->dir == f->dir))
			o = NULL;
		if (o && o->tcp_doff_flags &&
		    bpf_ntohl(th->seq) - bpf_ntohl(o->tcp_ack) > bpf_ntohs(o->tcp_window)) {
			pass(c, NFO_R_TCP_RST_BLIND);
			return NFO_DROP;
		}
	} else if (th->syn) {
		return pass(c, NFO_R_TCP_SYN);
	} else if ((f->flags & NFO_FLOW_CT_HOLD) && f->oif) {
		o = tcp_other(p, f, v6);
		if (o && (o->ct_id != f->ct_id || o->dir == f->dir))
			o = NULL;
	}
	teardown(f, p, NFO_TEARDOWN_FIN);
	/*
	 * Conntrack sees this FIN or RST and gives the entry a closing state's
	 * timeout: the other direction, forwarded until the daemon takes the
	 * connection out, must not hold it for a day again.
	 */
	if (o)
		o->flags &= ~NFO_FLOW_CT_HOLD;
	return pass(c, NFO_R_TCP_FIN_RST);
}

/*
 * Look the next hop up (route, then neighbour) as the kernel would route this
 * packet: after destination NAT, before source NAT, with the mark the ruleset
 * gave this direction. Checks the answer against the flow and the offload
 * devices and fills *nh. Returns 0 or a reason; tears nothing down.
 */
static __always_inline int route(struct nfo_ctx *c, const struct nfo_pkt *p,
				 const struct nfo_flow *f, struct nfo_nh *nh, __u32 seg_len,
				 __u16 *mtu, const bool v6, const bool xdp)
{
	struct bpf_fib_lookup fl = {};
	struct nfo_dev *odev;
	__u32 oif, flags = 0;
	long rc;

	fl.l4_protocol = p->th ? IPPROTO_TCP : IPPROTO_UDP;
	fl.ifindex = c->ifindex;
	fl.tot_len = seg_len;
	fl.sport = ((struct udphdr *)p->l4)->source;
	fl.dport = f->flags & NFO_FLOW_NAT_PORT ? f->nat_dport : ((struct udphdr *)p->l4)->dest;
	if (v6) {
		const struct ipv6hdr *ip6h = p->l3;

		fl.family = AF_INET6;
		fl.flowinfo = p->tos;
		__builtin_memcpy(fl.ipv6_src, &ip6h->saddr, 16);
		if (f->flags & NFO_FLOW_NAT_ADDR)
			__builtin_memcpy(fl.ipv6_dst, f->nat_daddr, 16);
		else
			__builtin_memcpy(fl.ipv6_dst, &ip6h->daddr, 16);
	} else {
		const struct iphdr *iph = p->l3;

		fl.family = AF_INET;
		fl.tos = p->tos;
		fl.ipv4_src = iph->saddr;
		fl.ipv4_dst = f->flags & NFO_FLOW_NAT_ADDR ? f->nat_daddr[0] : iph->daddr;
	}
	/* Policy routing: the mark the ruleset gave this direction. */
	if (f->mark) {
		fib_set_mark(&fl, f->mark);
		flags = NFO_FIB_LOOKUP_MARK;
	}
	rc = bpf_fib_lookup(c->ctx, &fl, sizeof(fl), flags);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return fib_reason(rc);
	oif = fl.ifindex;
	if (oif == c->ifindex)
		return NFO_R_HAIRPIN;
	/* Never out of a device the kernel did not choose for this flow. */
	if (f->route_oif && oif != f->route_oif)
		return NFO_R_POLICY;
	if (f->snat_oif && oif != f->snat_oif)
		return NFO_R_SNAT_ROUTE;
	odev = bpf_map_lookup_elem(&nfo_devs, &oif);
	if (!odev || !odev->slot)
		return NFO_R_EGRESS;
	if (xdp && !(odev->flags & NFO_DEV_XDP_TX))
		return NFO_R_EGRESS;
	/* Its netdev egress chains would be skipped: the stack transmits. */
	if (odev->flags & NFO_DEV_NETDEV_CHAIN)
		return NFO_R_EGRESS;
	nh->oif = oif;
	__builtin_memcpy(nh->dmac, fl.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fl.smac, ETH_ALEN);
	/*
	 * The lookup checked seg_len against the path MTU and, having passed,
	 * answers the MTU (in place of tot_len); a tc GSO skb is checked by
	 * the kernel against the device instead, so nothing is learnt then.
	 */
	*mtu = c->gso_size ? 0 : fl.mtu_result;
	return 0;
}

/*
 * The next hop of a packet: from the flow's cache while it holds (same
 * routing generation, same TOS / flow word, the packet fits, not too old),
 * otherwise from route(), refilling the cache. Sets nh->oif and *macs, the
 * destination and source MAC side by side (in the flow's cache or in *nh),
 * as the Ethernet header has them. 0 or a reason.
 */
static __always_inline int next_hop(struct nfo_ctx *c, const struct nfo_pkt *p,
				    struct nfo_flow *f, struct nfo_nh *nh, const __u8 **macs,
				    const bool v6, const bool xdp)
{
	__u32 gen = *(volatile __u32 *)&nfo_route_gen;
	__u32 seg_len = p->tot;
	__u16 mtu;
	int r;

	if (c->gso_size)
		seg_len = (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) + p->l4_hlen +
			  c->gso_size;
	/*
	 * nh_until is at most NFO_NH_MAX_AGE ahead of the clock while the
	 * cache is good: unsigned, a stale one stays stale when the 32-bit
	 * time wraps (every 52 days), even with no daemon to evict it.
	 */
	if (seg_len <= f->nh_mtu && f->nh_gen == gen && f->nh_tos == p->tos &&
	    (__u32)(f->nh_until - (__u32)(c->now >> NFO_NH_TIME_SHIFT)) - 1 < NFO_NH_MAX_AGE) {
		nh->oif = f->oif;
		*macs = f->nh_dmac;
		return 0;
	}
	r = route(c, p, f, nh, seg_len, &mtu, v6, xdp);
	if (r)
		return r;
	*macs = nh->dmac;
	if (f->oif != nh->oif) {
		/*
		 * The cached MACs are the old device's: empty the cache
		 * before the device changes, also when nothing refills it (a
		 * tc GSO skb), or the next packet that fits it would leave by
		 * the new device with the old MACs.
		 */
		f->nh_mtu = 0;
		asm volatile("" ::: "memory");
		f->oif = nh->oif;
	}
	if (mtu) {
		/*
		 * Empty, fill, then valid (MTU last). A packet of this flow
		 * on another CPU that found the cache valid just before can
		 * still pair one next hop's device with the other's MACs: a
		 * race of two CPUs across a route change, which can cost that
		 * one packet.
		 */
		f->nh_mtu = 0;
		__builtin_memcpy(f->nh_dmac, nh->dmac, ETH_ALEN);
		__builtin_memcpy(f->nh_smac, nh->smac, ETH_ALEN);
		f->nh_gen = gen;
		f->nh_tos = p->tos;
		f->nh_until = (__u32)(c->now >> NFO_NH_TIME_SHIFT) + NFO_NH_MAX_AGE;
		asm volatile("" ::: "memory");
		f->nh_mtu = mtu;
	}
	return 0;
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

static __always_inline __u32 l4_check_off(const struct nfo_pkt *p)
{
	return p->th ? offsetof(struct tcphdr, check) : offsetof(struct udphdr, check);
}

/* The L4 checksum after NAT, XDP: frames carry a full checksum; update it. */
static __always_inline int l4_csum_xdp(struct nfo_ctx *c, const struct nfo_pkt *p,
				       const struct nfo_flow *f)
{
	__u16 *check = p->l4 + l4_check_off(p);
	__u32 diff = 0;
	__u16 sum;

	if ((void *)(check + 1) > c->data_end)
		return -1;
	if (!p->th && !*check)
		return 0; /* IPv4 UDP without checksum stays without */
	if (f->flags & NFO_FLOW_NAT_ADDR)
		diff += f->csum_addr;
	if (f->flags & NFO_FLOW_NAT_PORT)
		diff += f->csum_port;
	sum = csum_apply(*check, diff);
	if (!p->th && !sum)
		sum = 0xffff;
	*check = sum;
	return 0;
}

/*
 * The L4 checksum after NAT, tc: bpf_l4_csum_replace(), so that
 * CHECKSUM_PARTIAL skbs (GRO, local senders on veth) get only the
 * pseudo-header part. Invalidates packet pointers.
 */
static __always_inline int l4_csum_tc(struct nfo_ctx *c, const struct nfo_pkt *p,
				      const struct nfo_flow *f)
{
	__u32 off = (void *)p->l4 - (void *)p->eth + l4_check_off(p);
	__u32 mangled = p->th ? 0 : BPF_F_MARK_MANGLED_0;

	if ((f->flags & NFO_FLOW_NAT_ADDR) &&
	    bpf_l4_csum_replace(c->ctx, off, 0, f->csum_addr, BPF_F_PSEUDO_HDR | mangled))
		return -1;
	if ((f->flags & NFO_FLOW_NAT_PORT) &&
	    bpf_l4_csum_replace(c->ctx, off, 0, f->csum_port, mangled))
		return -1;
	return 0;
}

/*
 * Hold conntrack, as the kernel flowtable's garbage collector does for the
 * connections it carries: their packets no longer refresh the entry, so set
 * its timeout to the long one again while they flow. A connection that stops
 * sending is not held any more; the daemon hands it back at its idle check,
 * or conntrack's own timeout ends it, as without offload. No event: unlike a
 * ctnetlink update, this costs the daemon nothing. Where the entry cannot be
 * found (or refuses: a fixed timeout), the flag goes, and the daemon's idle
 * checks hold the connection instead.
 */
static __always_inline void ct_hold(struct nfo_ctx *c, const struct nfo_pkt *p,
				    struct nfo_flow *f, const bool v6, const bool xdp)
{
	struct nfo_ct_opts o = { .netns_id = NFO_CURRENT_NETNS };
	struct bpf_sock_tuple t = {};
	struct nf_conn *ct;
	__u32 tlen;

	if (!nfo_ct_hold_ms)
		return;
	if (v6) {
		const struct nfo_key6 *k = p->key;

		__builtin_memcpy(t.ipv6.saddr, k->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, k->daddr, 16);
		t.ipv6.sport = k->sport;
		t.ipv6.dport = k->dport;
		o.l4proto = k->l4proto;
		tlen = sizeof(t.ipv6);
	} else {
		const struct nfo_key4 *k = p->key;

		t.ipv4.saddr = k->saddr;
		t.ipv4.daddr = k->daddr;
		t.ipv4.sport = k->sport;
		t.ipv4.dport = k->dport;
		o.l4proto = k->l4proto;
		tlen = sizeof(t.ipv4);
	}
	if (xdp)
		ct = bpf_xdp_ct_lookup(c->ctx, &t, tlen, &o, sizeof(o));
	else
		ct = bpf_skb_ct_lookup(c->ctx, &t, tlen, &o, sizeof(o));
	if (ct) {
		long err = bpf_ct_change_timeout(ct, nfo_ct_hold_ms);

		bpf_ct_release(ct);
		if (!err)
			return;
	}
	f->flags &= ~NFO_FLOW_CT_HOLD; /* a rare write; losing a race only retries */
	report(f, p, NFO_EVENT_CT_HOLD_FAILED);
}

/*
 * A hold is due on the first packet, and on the first of a new period of the
 * flow's phase (account() sets the time of the last one): created_ns, in the
 * entry's cold part, is read only when a short period has passed.
 */
static __always_inline bool ct_hold_due(const struct nfo_flow *f, __u64 now, __u64 phase)
{
	__u64 crossed = (f->last_used_ns + phase) ^ (now + phase);

	if (!f->last_used_ns || crossed >> NFO_CT_HOLD_SHIFT)
		return true;
	/* Signed: created_ns comes from the fine clock, now from the coarse one. */
	return (crossed >> NFO_CT_HOLD_YOUNG_SHIFT) &&
	       (__s64)(now - f->created_ns) < (__s64)NFO_CT_HOLD_YOUNG_NS;
}

static __always_inline void account(struct nfo_ctx *c, struct nfo_flow *f, __u32 bytes)
{
	__u32 segs = c->gso_segs ? c->gso_segs : 1;

	__sync_fetch_and_add(&f->packets, segs);
	__sync_fetch_and_add(&f->bytes, bytes);
	f->last_used_ns = c->now;
	c->st->fwd_packets += segs;
	c->st->fwd_bytes += bytes;
}

/*
 * The forward step, both families: checks that need the entry, the next hop,
 * then the rewrite. Nothing is modified before the last check has passed.
 */
static __always_inline int forward(struct nfo_ctx *c, const struct nfo_pkt *p,
				   struct nfo_flow *f, const bool v6, const bool xdp)
{
	const __u8 *macs;
	struct nfo_nh nh;
	int r;

	if (f->teardown)
		return pass(c, NFO_R_TEARDOWN);
	/* A GSO packet has no trailer to cut; the stack sorts one out. */
	if (p->tot != c->l3_len && c->gso_size)
		return pass(c, NFO_R_MALFORMED);
	if (p->th) {
		/* One test for the common case: ACK, and none of FIN, SYN, RST. */
		__u8 fl = ((const __u8 *)p->th)[13] & (NFO_TCP_FIN | NFO_TCP_SYN | NFO_TCP_RST |
						       NFO_TCP_ACK);

		if (fl != NFO_TCP_ACK) {
			/*
			 * Neither ACK nor SYN nor RST (no flags, FIN, URG or
			 * PSH alone): conntrack calls such a segment invalid
			 * whatever its window tracking, and the ruleset judges
			 * it as that. The flow stays offloaded.
			 */
			if (!(fl & (NFO_TCP_ACK | NFO_TCP_SYN | NFO_TCP_RST)))
				return pass(c, NFO_R_TCP_FLAGS);
			return tcp_ctl(c, p, f, v6);
		}
		tcp_track(f, p->th);
	}
	c->now = ktime_now();
	r = next_hop(c, p, f, &nh, &macs, v6, xdp);
	if (r) {
		if (r == NFO_R_POLICY || r == NFO_R_SNAT_ROUTE)
			teardown(f, p, NFO_TEARDOWN_ROUTE);
		return pass(c, r);
	}

	/* Commit: from here on the packet is ours. */
	if (v6) {
		struct ipv6hdr *ip6h = p->l3;

		/* IPv6 has no header checksum. */
		if (f->flags & NFO_FLOW_NAT_ADDR) {
			__builtin_memcpy(&ip6h->saddr, f->nat_saddr, 16);
			__builtin_memcpy(&ip6h->daddr, f->nat_daddr, 16);
		}
		ip6h->hop_limit--;
	} else {
		struct iphdr *iph = p->l3;
		__u32 diff = (__u16)~bpf_htons(0x0100); /* TTL - 1 */

		if (f->flags & NFO_FLOW_NAT_ADDR) {
			iph->saddr = f->nat_saddr[0];
			iph->daddr = f->nat_daddr[0];
			diff += f->csum_addr;
		}
		iph->ttl--;
		iph->check = csum_apply(iph->check, diff);
		/*
		 * rt_tos2priority(): TOS bits 4 and 3 pick best effort (0),
		 * bulk (2), interactive (6) or interactive bulk (4), the
		 * kernel's ip_tos2prio table, as twice their Gray code.
		 */
		if (!xdp && nfo_fwd_priority) {
			__u32 b = (p->tos >> 3) & 3;

			((struct __sk_buff *)c->ctx)->priority = (b ^ (b >> 1)) << 1;
		}
	}
	if (f->flags & NFO_FLOW_NAT_PORT)
		*(__u32 *)p->l4 = *(__u32 *)&f->nat_sport;
	__builtin_memcpy(p->eth, macs, 2 * ETH_ALEN);
	if (f->flags & (NFO_FLOW_NAT_ADDR | NFO_FLOW_NAT_PORT)) {
		if (xdp ? l4_csum_xdp(c, p, f) : l4_csum_tc(c, p, f))
			goto error;
	}
	if (p->tot != c->l3_len && trim(c, p->tot, xdp))
		goto error;
	if ((f->flags & NFO_FLOW_CT_HOLD) &&
	    ct_hold_due(f, c->now, v6 ? nfo_ct_hold_phase6(p->key) : nfo_ct_hold_phase4(p->key)))
		ct_hold(c, p, f, v6, xdp);
	account(c, f, p->tot);
	c->oif = nh.oif;
	return NFO_REDIRECT;
error:
	pass(c, NFO_R_ERROR);
	return NFO_DROP;
}

/* Lookup, then forward: the whole fast path of one frame of either family. */
static __always_inline int fast_path(struct nfo_ctx *c, struct ethhdr *eth, const bool xdp)
{
	struct nfo_pkt p = { .eth = eth, .l3 = eth + 1 };
	struct nfo_flow *f = NULL;
	int r;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct nfo_key4 k = {};

		p.key = &k;
		p.klen = sizeof(k);
		r = lookup4(c, &p, &k, &f);
		if (r)
			return pass(c, r);
		if (!f)
			return pass(c, NFO_R_NO_FLOW);
		return forward(c, &p, f, false, xdp);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct nfo_key6 k = {};

		p.key = &k;
		p.klen = sizeof(k);
		r = lookup6(c, &p, &k, &f);
		if (r)
			return pass(c, r);
		if (!f)
			return pass(c, NFO_R_NO_FLOW);
		return forward(c, &p, f, true, xdp);
	}
	return pass(c, NFO_R_NOT_IP);
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

/*
 * The XDP entry point. A driver may take a frame's VLAN tag out before XDP
 * runs (veth keeps its peer's; NICs with rx-vlan-offload): the frame then
 * looks untagged, and only the device's own kfunc tells (vlan_kfunc, in the
 * device-bound copy). The stack gives such a frame to its VLAN device, or
 * drops it; it is not the flow's, whatever its tuple.
 */
static __always_inline int xdp_path(struct xdp_md *ctx, const bool vlan_kfunc)
{
	void *data = (void *)(long)ctx->data;
	struct nfo_ctx c = {
		.ctx = ctx,
		.data_end = (void *)(long)ctx->data_end,
		.ifindex = ctx->ingress_ifindex,
	};
	struct ethhdr *eth = data;
	struct nfo_dev *dev;

	c.st = dev_stats(c.ifindex, &dev);
	if (!c.st)
		return XDP_PASS;
	if (vlan_kfunc) {
		__be16 proto;
		__u16 tci;
		int r = bpf_xdp_metadata_rx_vlan_tag(ctx, &proto, &tci);

		if (!r) {
			pass(&c, NFO_R_NOT_IP);
			return XDP_PASS;
		}
		/* No VLAN hook in this driver: status says so (a rare write). */
		if (r == -NFO_EOPNOTSUPP && !(dev->flags & NFO_DEV_XDP_VLAN_UNKNOWN))
			dev->flags |= NFO_DEV_XDP_VLAN_UNKNOWN;
	}
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
	switch (fast_path(&c, eth, true)) {
	case NFO_REDIRECT:
		return bpf_redirect(c.oif, 0);
	case NFO_DROP:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

/* For any device (and generic XDP): sees only the tags left in the frame. */
SEC("xdp")
int nfo_xdp(struct xdp_md *ctx)
{
	return xdp_path(ctx, false);
}

/*
 * Loaded once per device, bound to it, where the kernel has the kfunc. A
 * driver without the VLAN hook answers -EOPNOTSUPP: then nothing more is
 * known than with nfo_xdp (README, Limits), and the device is flagged.
 */
SEC("xdp")
int nfo_xdp_vlan(struct xdp_md *ctx)
{
	return xdp_path(ctx, true);
}

/*
 * Headers the tc path needs in the linear area: Ethernet, IP, TCP (UDP's is
 * shorter), per family. A GSO or GRO skb of IPv4 TCP carries just its headers
 * in the linear area (66 bytes with timestamps): asking for IPv6's length
 * would pull payload out of the page fragments and reallocate the head of
 * every super-packet.
 */
#define NFO_PULL_LEN4 (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr))
#define NFO_PULL_LEN6 (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct tcphdr))

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
	__u32 need;

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
	need = skb->protocol == bpf_htons(ETH_P_IP) ? NFO_PULL_LEN4 : NFO_PULL_LEN6;
	if ((void *)(long)skb->data + need > (void *)(long)skb->data_end) {
		__u32 len = skb->len < need ? skb->len : need;

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
	switch (fast_path(&c, eth, false)) {
	case NFO_REDIRECT:
		return bpf_redirect(c.oif, 0);
	case NFO_DROP:
		return TC_ACT_SHOT;
	default:
		return TC_ACT_UNSPEC;
	}
}
