// SPDX-License-Identifier: GPL-2.0-only
/*
 * Round trips through the flow map's key and entry: a conntrack entry's two
 * tuples (ORIGINAL and REPLY, as conntrack reports them) become one map
 * entry per direction (nfo_flow_build); reading a key back
 * (nfo_key_tuple), the tuple a packet leaves with (nfo_flow_out_tuple) and
 * the connection an entry belongs to (nfo_entry_orig) must give back what
 * went in, for no NAT, source NAT, destination NAT, both, ports only, IPv4
 * and IPv6, TCP and UDP.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "unit.h"

enum nat { NAT_NONE, NAT_SNAT, NAT_DNAT, NAT_BOTH, NAT_PORTS, NAT_KINDS };
static const char *const nat_name[] = { "none", "snat", "dnat", "snat+dnat", "ports" };

static void addr(union nfo_addr *a, int family, uint8_t net, uint8_t host)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->b[0] = 198;
		a->b[1] = 18 + (net >> 7);
		a->b[2] = net & 0x7f;
		a->b[3] = host;
	} else {
		a->b[0] = 0x20;
		a->b[1] = 0x01;
		a->b[2] = 0x0d;
		a->b[3] = 0xb8;
		a->b[7] = net;
		a->b[15] = host;
		a->b[9] = (uint8_t)random(); /* differ beyond the first 4 bytes */
	}
}

static const char *tstr(const struct nfo_tuple *t, char *buf, size_t len)
{
	char s[64], d[64];

	nfo_addr_str(t->family, &t->src, s, sizeof(s));
	nfo_addr_str(t->family, &t->dst, d, sizeof(d));
	snprintf(buf, len, "%s %s:%u -> %s:%u", nfo_proto_str(t->l4proto), s, ntohs(t->sport), d,
		 ntohs(t->dport));
	return buf;
}

/*
 * A connection as conntrack reports it: the client's packet (ORIGINAL), and
 * what the server's answer looks like (REPLY). Source NAT changes where the
 * reply goes to (the router's address and port), destination NAT where it
 * comes from.
 */
static void connection(int family, int proto, enum nat kind, struct nfo_tuple *orig,
		       struct nfo_tuple *reply)
{
	struct nfo_tuple r;

	memset(orig, 0, sizeof(*orig));
	orig->family = family;
	orig->l4proto = proto;
	addr(&orig->src, family, 1, 2 + random() % 200);
	addr(&orig->dst, family, 130, 2 + random() % 200);
	orig->sport = htons(1024 + random() % 60000);
	orig->dport = htons(1 + random() % 1023);
	nfo_tuple_invert(&r, orig);
	if (kind == NAT_SNAT || kind == NAT_BOTH) {
		addr(&r.dst, family, 130, 1); /* masquerade to the router's WAN address */
		r.dport = htons(1024 + random() % 60000);
	}
	if (kind == NAT_DNAT || kind == NAT_BOTH) {
		addr(&r.src, family, 3, 2 + random() % 200); /* port forward to a LAN host */
		r.sport = htons(8000 + random() % 100);
	}
	if (kind == NAT_PORTS) {
		r.dport = htons(1024 + random() % 60000);
		r.sport = htons(8000 + random() % 100);
	}
	*reply = r;
}

static void round_trip(int family, int proto, enum nat kind)
{
	struct nfo_tuple orig, reply, want_out[2], got, t;
	const struct nfo_tuple *in[2] = { &orig, &reply };
	union nfo_key key, key2;
	struct nfo_flow f, f2;
	uint32_t ifindex, ct_id = (uint32_t)random();
	char a[160], b[160];
	int dir;

	connection(family, proto, kind, &orig, &reply);
	/* A packet of one direction leaves looking like the inverse of the other. */
	nfo_tuple_invert(&want_out[NFO_DIR_ORIGINAL], &reply);
	nfo_tuple_invert(&want_out[NFO_DIR_REPLY], &orig);
	for (dir = NFO_DIR_ORIGINAL; dir <= NFO_DIR_REPLY; dir++) {
		bool addr_nat, port_nat, snat, dnat;
		size_t alen = family == AF_INET ? 4 : 16;

		/* Garbage first: every byte of key and entry must be set. */
		memset(&key, 0xa5, sizeof(key));
		memset(&f, 0xa5, sizeof(f));
		nfo_flow_build(in[dir], &want_out[dir], 10 + dir, ct_id, dir, &key, &f);
		memset(&key2, 0x5a, sizeof(key2));
		memset(&f2, 0x5a, sizeof(f2));
		nfo_flow_build(in[dir], &want_out[dir], 10 + dir, ct_id, dir, &key2, &f2);
		expect(!memcmp(&key, &key2, sizeof(key)) && !memcmp(&f, &f2, sizeof(f)),
		       "%s dir %d: key or entry depends on what the memory held before (padding)",
		       nat_name[kind], dir);

		/*
		 * The key's last word is the ingress device in its low 24 bits
		 * and the protocol in its top 8: the layout nfo_abi.h gives
		 * both sides (the BPF vectors look these keys up in the program).
		 */
		uint32_t last;
		size_t klen = family == AF_INET ? sizeof(key.k4) : sizeof(key.k6);

		memcpy(&last, (const uint8_t *)&key + klen - 4, 4);
		expect(last == ((uint32_t)(10 + dir) | (uint32_t)in[dir]->l4proto << 24),
		       "%s dir %d: key's device/protocol word is %#x", nat_name[kind], dir, last);
		static const uint8_t zero_pad[sizeof(f.pad0)];
		expect(!memcmp(f.pad0, zero_pad, sizeof(zero_pad)) && !f.teardown && !f.packets &&
			       !f.bytes && !f.last_used_ns && !f.nh_mtu && !f.nh_gen,
		       "%s dir %d: a new entry carries fast-path state", nat_name[kind], dir);

		nfo_key_tuple(&key, family, &got, &ifindex);
		expect(nfo_tuple_equal(&got, in[dir]) && ifindex == (uint32_t)(10 + dir),
		       "%s dir %d: key reads back as %s if %u, built from %s", nat_name[kind], dir,
		       tstr(&got, a, sizeof(a)), ifindex, tstr(in[dir], b, sizeof(b)));

		nfo_flow_out_tuple(&got, &f, &t);
		expect(nfo_tuple_equal(&t, &want_out[dir]),
		       "%s dir %d: leaves as %s, expected %s", nat_name[kind], dir,
		       tstr(&t, a, sizeof(a)), tstr(&want_out[dir], b, sizeof(b)));

		nfo_entry_orig(family, &key, &f, &t);
		expect(nfo_tuple_equal(&t, &orig), "%s dir %d: entry belongs to %s, expected %s",
		       nat_name[kind], dir, tstr(&t, a, sizeof(a)), tstr(&orig, b, sizeof(b)));
		expect(nfo_tuple_hash(&t) == nfo_tuple_hash(&orig),
		       "%s dir %d: the two directions hash apart", nat_name[kind], dir);

		expect(f.ct_id == ct_id && f.dir == dir && f.family == family,
		       "%s dir %d: ct_id %u dir %u family %u", nat_name[kind], dir, f.ct_id, f.dir,
		       f.family);
		addr_nat = memcmp(&in[dir]->src, &want_out[dir].src, alen) ||
			   memcmp(&in[dir]->dst, &want_out[dir].dst, alen);
		port_nat = in[dir]->sport != want_out[dir].sport ||
			   in[dir]->dport != want_out[dir].dport;
		snat = memcmp(&in[dir]->src, &want_out[dir].src, alen) ||
		       in[dir]->sport != want_out[dir].sport;
		dnat = memcmp(&in[dir]->dst, &want_out[dir].dst, alen) ||
		       in[dir]->dport != want_out[dir].dport;
		expect(!!(f.flags & NFO_FLOW_NAT_ADDR) == addr_nat &&
			       !!(f.flags & NFO_FLOW_NAT_PORT) == port_nat &&
			       !!(f.flags & NFO_FLOW_SNAT) == snat &&
			       !!(f.flags & NFO_FLOW_DNAT) == dnat,
		       "%s dir %d: flags %#x, expected addr %d port %d snat %d dnat %d",
		       nat_name[kind], dir, f.flags, addr_nat, port_nat, snat, dnat);
		/* Source NAT of the connection is source NAT of its ORIGINAL
		 * direction and destination NAT of its REPLY, and so on. */
		if (kind == NAT_SNAT)
			expect(dir == NFO_DIR_ORIGINAL ? snat && !dnat : dnat && !snat,
			       "snat dir %d: seen as snat %d dnat %d", dir, snat, dnat);
		if (kind == NAT_DNAT)
			expect(dir == NFO_DIR_ORIGINAL ? dnat && !snat : snat && !dnat,
			       "dnat dir %d: seen as snat %d dnat %d", dir, snat, dnat);
		if (kind == NAT_NONE)
			expect(!f.flags, "no NAT dir %d: flags %#x", dir, f.flags);
	}
}

/* Inverting twice is the identity; equality looks at every field. */
static void invert_equal(void)
{
	struct nfo_tuple o, r, rr, x;

	connection(AF_INET6, IPPROTO_TCP, NAT_NONE, &o, &r);
	nfo_tuple_invert(&rr, &r);
	expect(nfo_tuple_equal(&rr, &o), "invert twice is not the identity");
	x = o;
	x.dst.b[15] ^= 1;
	expect(!nfo_tuple_equal(&x, &o), "tuple_equal misses the last address byte");
	x = o;
	x.l4proto = IPPROTO_UDP;
	expect(!nfo_tuple_equal(&x, &o), "tuple_equal ignores the protocol");
	x = o;
	x.sport ^= htons(1);
	expect(!nfo_tuple_equal(&x, &o), "tuple_equal ignores the source port");
}

/*
 * The conntrack holds' phases (nfo_ct_hold_phase4/6) spread a flow set
 * evenly over the 8.6 s period: 100,000 flows that differ in one field only
 * (the source port of one client, as behind a NAT; the client's address,
 * with fixed ports as NTP has them; an IPv6 subnet or interface id), put
 * into 20 slices of the period, fill each with 5% +- 1.25%. Were they all
 * in one slice, their holds would fall together again.
 */
enum { PHASE_SLICES = 20, PHASE_FLOWS = 100000 };

static void phase_spread(const char *what, int family, int vary)
{
	unsigned int slice[PHASE_SLICES] = { 0 };
	const uint64_t period = 1ULL << NFO_CT_HOLD_SHIFT;
	int i, lo = PHASE_FLOWS, hi = 0, beyond = 0;

	for (i = 0; i < PHASE_FLOWS; i++) {
		uint64_t ph;

		if (family == AF_INET) {
			struct nfo_key4 k = { .saddr = htonl(0xc6120102), /* 198.18.1.2 */
					      .daddr = htonl(0xc6126409), .sport = htons(40000),
					      .dport = htons(123), .ifindex = 3, .l4proto = IPPROTO_UDP };

			if (vary == 0)
				k.sport = htons(1024 + i % 64000), k.saddr += htonl(i / 64000);
			else
				k.saddr = htonl(0xc6120000 + i); /* 198.18.0.0/15 */
			ph = nfo_ct_hold_phase4(&k);
		} else {
			struct nfo_key6 k = { .sport = htons(40000), .dport = htons(443), .ifindex = 3,
					      .l4proto = IPPROTO_TCP };

			k.saddr[0] = k.daddr[0] = htonl(0x20010db8);
			k.saddr[3] = htonl(2);
			k.daddr[3] = htonl(10);
			if (vary == 0)
				k.saddr[1] = htonl(i << 8 | 1); /* subnet i of a /40 */
			else
				k.saddr[3] = htonl(0x1000 + i);
			ph = nfo_ct_hold_phase6(&k);
		}
		if (ph >= period) {
			beyond++;
			continue;
		}
		slice[ph * PHASE_SLICES / period]++;
	}
	expect(!beyond, "%s: %d phases beyond the period", what, beyond);
	for (i = 0; i < PHASE_SLICES; i++) {
		lo = slice[i] < (unsigned int)lo ? (int)slice[i] : lo;
		hi = slice[i] > (unsigned int)hi ? (int)slice[i] : hi;
	}
	expect(lo >= PHASE_FLOWS / PHASE_SLICES * 3 / 4 && hi <= PHASE_FLOWS / PHASE_SLICES * 5 / 4,
	       "%s: slices of the period hold %d to %d of %d flows", what, lo, hi, PHASE_FLOWS);
}

int main(void)
{
	static const int fams[] = { AF_INET, AF_INET6 }, protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	int r, i, j, k;

	srandom(1324);
	for (r = 0; r < 50; r++)
		for (i = 0; i < 2; i++)
			for (j = 0; j < 2; j++)
				for (k = 0; k < NAT_KINDS; k++)
					round_trip(fams[i], protos[j], k);
	invert_equal();
	phase_spread("IPv4, source ports", AF_INET, 0);
	phase_spread("IPv4, source addresses", AF_INET, 1);
	phase_spread("IPv6, subnets", AF_INET6, 0);
	phase_spread("IPv6, interface ids", AF_INET6, 1);
	return unit_summary();
}
