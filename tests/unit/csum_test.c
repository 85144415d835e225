// SPDX-License-Identifier: GPL-2.0-only
/*
 * Checksum differences against checksums computed from scratch.
 *
 * Random IPv4 and IPv6 packets, TCP and UDP, odd and even payloads, go
 * through a NAT rewrite the way the fast path does it: the IPv4 header
 * checksum and the TCP/UDP checksum updated incrementally with the
 * differences nfo_flow_build() precomputes (RFC 1624 eqn. 3), the TTL
 * decrement folded into the header's update. The result must be the exact
 * checksum an RFC 1071 sum over the rewritten packet gives - computed here
 * in network byte order, independently of the host-order words the code
 * under test adds - including UDP's rules: a computed 0 is sent as 0xffff,
 * and an IPv4 datagram sent without a checksum (0) keeps none.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "unit.h"

enum nat { NAT_NONE, NAT_SNAT, NAT_DNAT, NAT_BOTH, NAT_ADDR_ONLY, NAT_PORT_ONLY, NAT_KINDS };

struct pkt {
	int family, proto;
	uint8_t b[40 + 20 + 256];
	size_t l3, l4len; /* IP header length, L4 header + payload length */
};

static uint8_t rnd8(void)
{
	return (uint8_t)random();
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* RFC 1071: big-endian 16-bit words, an odd last byte padded with zero. */
static uint32_t sum_be(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold_be(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static size_t addr_len(const struct pkt *p)
{
	return p->family == AF_INET ? 4 : 16;
}

static uint8_t *saddr(struct pkt *p)
{
	return p->b + (p->family == AF_INET ? 12 : 8);
}

static uint8_t *daddr(struct pkt *p)
{
	return saddr(p) + addr_len(p);
}

static uint8_t *l4(struct pkt *p)
{
	return p->b + p->l3;
}

static size_t check_off(const struct pkt *p)
{
	return p->proto == IPPROTO_TCP ? 16 : 6;
}

/* The IPv4 header checksum from scratch. */
static uint16_t ip_check_scratch(struct pkt *p)
{
	uint8_t h[20];

	memcpy(h, p->b, 20);
	h[10] = h[11] = 0;
	return (uint16_t)~fold_be(sum_be(0, h, 20));
}

/* The TCP/UDP checksum from scratch: pseudo-header, then the segment. */
static uint16_t l4_check_scratch(struct pkt *p)
{
	uint8_t seg[20 + 256], ph[40];
	size_t alen = addr_len(p), n = 0;
	uint16_t c;

	memcpy(ph, saddr(p), 2 * alen);
	n = 2 * alen;
	if (p->family == AF_INET) {
		ph[n++] = 0;
		ph[n++] = p->proto;
		put16(ph + n, p->l4len);
		n += 2;
	} else {
		ph[n++] = 0;
		ph[n++] = 0;
		put16(ph + n, p->l4len);
		n += 2;
		ph[n++] = 0;
		ph[n++] = 0;
		ph[n++] = 0;
		ph[n++] = p->proto;
	}
	memcpy(seg, l4(p), p->l4len);
	seg[check_off(p)] = seg[check_off(p) + 1] = 0;
	c = (uint16_t)~fold_be(sum_be(sum_be(0, ph, n), seg, p->l4len));
	if (p->proto == IPPROTO_UDP && c == 0)
		c = 0xffff; /* RFC 768: 0 means "no checksum" */
	return c;
}

static void finish_checksums(struct pkt *p)
{
	if (p->family == AF_INET)
		put16(p->b + 10, ip_check_scratch(p));
	put16(l4(p) + check_off(p), l4_check_scratch(p));
}

static void random_addr(uint8_t *a, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		a[i] = rnd8();
}

static void random_packet(struct pkt *p, int family, int proto)
{
	size_t plen = random() % 200, hlen = proto == IPPROTO_TCP ? 20 : 8, i;

	memset(p, 0, sizeof(*p));
	p->family = family;
	p->proto = proto;
	p->l3 = family == AF_INET ? 20 : 40;
	p->l4len = hlen + plen;
	for (i = 0; i < p->l3 + p->l4len; i++)
		p->b[i] = rnd8();
	if (family == AF_INET) {
		p->b[0] = 0x45;
		put16(p->b + 2, p->l3 + p->l4len);
		p->b[6] = 0x40;
		p->b[7] = 0;
		p->b[8] = 2 + random() % 254; /* TTL the fast path may decrement */
		p->b[9] = proto;
	} else {
		p->b[0] = 0x60;
		put16(p->b + 4, p->l4len);
		p->b[6] = proto;
		p->b[7] = 2 + random() % 254;
	}
	if (proto == IPPROTO_UDP)
		put16(l4(p) + 4, p->l4len);
	else
		l4(p)[12] = 0x50; /* data offset 5 */
	finish_checksums(p);
}

/* The packet's tuple as nfo_flow_build() takes it (network order). */
static void packet_tuple(struct pkt *p, struct nfo_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->family = p->family;
	t->l4proto = p->proto;
	memcpy(&t->src, saddr(p), addr_len(p));
	memcpy(&t->dst, daddr(p), addr_len(p));
	memcpy(&t->sport, l4(p), 2);
	memcpy(&t->dport, l4(p) + 2, 2);
}

static void nat_tuple(const struct nfo_tuple *in, enum nat kind, struct nfo_tuple *out)
{
	size_t alen = in->family == AF_INET ? 4 : 16;

	*out = *in;
	if (kind == NAT_SNAT || kind == NAT_BOTH || kind == NAT_ADDR_ONLY)
		random_addr((uint8_t *)&out->src, alen);
	if (kind == NAT_DNAT || kind == NAT_BOTH || kind == NAT_ADDR_ONLY)
		random_addr((uint8_t *)&out->dst, alen);
	if (kind == NAT_SNAT || kind == NAT_BOTH || kind == NAT_PORT_ONLY)
		out->sport = (uint16_t)random();
	if (kind == NAT_DNAT || kind == NAT_BOTH || kind == NAT_PORT_ONLY)
		out->dport = (uint16_t)random();
}

/*
 * The fast path's arithmetic, on 16-bit words as they lie in memory:
 * HC' = ~(~HC + diff), the sum folded twice.
 */
static uint16_t fp_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t fp_apply(uint16_t check, uint32_t diff)
{
	return (uint16_t)~fp_fold((uint16_t)~check + diff);
}

/* Forward one packet as the fast path does, with a flow entry. */
static void fast_path(struct pkt *p, const struct nfo_flow *f)
{
	size_t alen = addr_len(p);
	uint16_t check, *cp;

	if (p->family == AF_INET) {
		uint32_t diff = (uint16_t)~htons(0x0100); /* TTL - 1 */

		if (f->flags & NFO_FLOW_NAT_ADDR)
			diff += f->csum_addr;
		memcpy(&check, p->b + 10, 2);
		check = fp_apply(check, diff);
		memcpy(p->b + 10, &check, 2);
		p->b[8]--;
	} else {
		p->b[7]--;
	}
	if (f->flags & NFO_FLOW_NAT_ADDR) {
		memcpy(saddr(p), f->nat_saddr, alen);
		memcpy(daddr(p), f->nat_daddr, alen);
	}
	if (f->flags & NFO_FLOW_NAT_PORT) {
		memcpy(l4(p), &f->nat_sport, 2);
		memcpy(l4(p) + 2, &f->nat_dport, 2);
	}
	if (!(f->flags & (NFO_FLOW_NAT_ADDR | NFO_FLOW_NAT_PORT)))
		return;
	cp = (uint16_t *)(l4(p) + check_off(p));
	memcpy(&check, cp, 2);
	if (p->proto == IPPROTO_UDP && p->family == AF_INET && !check)
		return;
	{
		uint32_t diff = 0;

		if (f->flags & NFO_FLOW_NAT_ADDR)
			diff += f->csum_addr;
		if (f->flags & NFO_FLOW_NAT_PORT)
			diff += f->csum_port;
		check = fp_apply(check, diff);
	}
	if (p->proto == IPPROTO_UDP && !check)
		check = 0xffff;
	memcpy(cp, &check, 2);
}

/*
 * Make the rewritten packet's UDP checksum compute to 0 (sent as 0xffff):
 * add the after-NAT checksum to the first payload word, which moves the
 * after-NAT sum to 0xffff; then recompute the original checksums.
 */
static void force_zero_sum(struct pkt *p, const struct nfo_tuple *out)
{
	struct pkt q = *p;
	size_t alen = addr_len(p);
	uint16_t c, w;

	memcpy(saddr(&q), &out->src, alen);
	memcpy(daddr(&q), &out->dst, alen);
	memcpy(l4(&q), &out->sport, 2);
	memcpy(l4(&q) + 2, &out->dport, 2);
	c = l4_check_scratch(&q);
	if (c == 0xffff)
		return; /* already there */
	w = get16(l4(p) + 8);
	put16(l4(p) + 8, fold_be((uint32_t)w + c));
	finish_checksums(p);
}

static int zero_sums, no_checksum, rewritten;

static void one(int family, int proto, enum nat kind, int variant)
{
	struct nfo_tuple in, out;
	union nfo_key key;
	struct nfo_flow f;
	struct pkt p;
	uint16_t got, want;
	const char *fam = family == AF_INET ? "ipv4" : "ipv6";
	const char *pr = proto == IPPROTO_TCP ? "tcp" : "udp";

	random_packet(&p, family, proto);
	packet_tuple(&p, &in);
	nat_tuple(&in, kind, &out);
	if (proto == IPPROTO_UDP && kind != NAT_NONE && variant == 1 && p.l4len >= 10)
		force_zero_sum(&p, &out);
	if (proto == IPPROTO_UDP && family == AF_INET && variant == 2)
		memset(l4(&p) + 6, 0, 2); /* the sender sent no checksum */
	packet_tuple(&p, &in);
	nfo_flow_build(&in, &out, 3, 1, NFO_DIR_ORIGINAL, &key, &f);
	fast_path(&p, &f);

	if (family == AF_INET) {
		got = get16(p.b + 10);
		want = ip_check_scratch(&p);
		expect(got == want, "%s %s nat %d: IPv4 header checksum %#06x, from scratch %#06x",
		       fam, pr, kind, got, want);
	}
	got = get16(l4(&p) + check_off(&p));
	if (proto == IPPROTO_UDP && family == AF_INET && variant == 2) {
		no_checksum++;
		expect(got == 0, "%s udp nat %d: a datagram without checksum got %#06x", fam,
		       kind, got);
		return;
	}
	want = l4_check_scratch(&p);
	if (want == 0xffff && proto == IPPROTO_UDP)
		zero_sums++;
	if (kind != NAT_NONE)
		rewritten++;
	expect(got == want, "%s %s nat %d len %zu: %s checksum %#06x, from scratch %#06x", fam,
	       pr, kind, p.l4len, pr, got, want);
}

/* nfo_csum_diff() itself: adding the difference of old -> new to a sum
 * over old gives the sum over new, for random buffers of every even size. */
static void diff_alone(void)
{
	uint8_t a[40], b[40];
	size_t len, i;

	for (len = 2; len <= sizeof(a); len += 2) {
		uint32_t sa = 0, sb = 0;
		uint16_t w;

		for (i = 0; i < len; i++) {
			a[i] = rnd8();
			b[i] = random() % 3 ? rnd8() : a[i];
		}
		for (i = 0; i < len; i += 2) {
			memcpy(&w, a + i, 2);
			sa += w;
			memcpy(&w, b + i, 2);
			sb += w;
		}
		expect(fp_fold(fp_fold(sa) + nfo_csum_diff(a, b, len)) % 0xffff ==
			       fp_fold(sb) % 0xffff,
		       "nfo_csum_diff over %zu bytes: sum(old) + diff != sum(new)", len);
		expect(nfo_csum_diff(a, b, len) <= 0xffff, "nfo_csum_diff is not folded");
	}
}

int main(void)
{
	static const int fams[] = { AF_INET, AF_INET6 }, protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	int r, i, j, k, v;

	srandom(20261201);
	for (r = 0; r < 300; r++)
		for (i = 0; i < 2; i++)
			for (j = 0; j < 2; j++)
				for (k = 0; k < NAT_KINDS; k++)
					for (v = 0; v < 3; v++)
						one(fams[i], protos[j], k, v);
	for (r = 0; r < 50; r++)
		diff_alone();
	/* The special cases above must really have come up. */
	expect(zero_sums > 100, "UDP sums of 0 after NAT: only %d", zero_sums);
	expect(no_checksum > 100, "IPv4 UDP without checksum: only %d", no_checksum);
	expect(rewritten > 1000, "rewritten packets: only %d", rewritten);
	printf("# csum: %d rewritten packets, %d UDP sums of zero, %d without checksum\n",
	       rewritten, zero_sums, no_checksum);
	return unit_summary();
}
