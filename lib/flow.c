// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "flow.h"

void nfo_tuple_invert(struct nfo_tuple *out, const struct nfo_tuple *in)
{
	struct nfo_tuple t = *in;

	t.src = in->dst;
	t.dst = in->src;
	t.sport = in->dport;
	t.dport = in->sport;
	*out = t;
}

bool nfo_tuple_equal(const struct nfo_tuple *a, const struct nfo_tuple *b)
{
	size_t alen = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && a->l4proto == b->l4proto && a->sport == b->sport &&
	       a->dport == b->dport && !memcmp(&a->src, &b->src, alen) &&
	       !memcmp(&a->dst, &b->dst, alen);
}

uint32_t nfo_csum_diff(const void *old, const void *new, size_t bytes)
{
	const uint16_t *o = old, *n = new;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i < bytes / 2; i++)
		sum += (uint16_t)~o[i] + n[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

void nfo_flow_build(const struct nfo_tuple *in, const struct nfo_tuple *out,
		    uint32_t ifindex, uint32_t ct_id, uint8_t dir, union nfo_key *key,
		    struct nfo_flow *flow)
{
	size_t alen = in->family == AF_INET ? 4 : 16;
	uint16_t oldp[2] = { in->sport, in->dport }, newp[2] = { out->sport, out->dport };
	uint8_t olda[32], newa[32];

	memset(key, 0, sizeof(*key));
	memset(flow, 0, sizeof(*flow));
	if (in->family == AF_INET) {
		key->k4.saddr = in->src.ip;
		key->k4.daddr = in->dst.ip;
		key->k4.sport = in->sport;
		key->k4.dport = in->dport;
		key->k4.ifindex = ifindex;
		key->k4.l4proto = in->l4proto;
	} else {
		memcpy(key->k6.saddr, in->src.ip6, 16);
		memcpy(key->k6.daddr, in->dst.ip6, 16);
		key->k6.sport = in->sport;
		key->k6.dport = in->dport;
		key->k6.ifindex = ifindex;
		key->k6.l4proto = in->l4proto;
	}

	memcpy(flow->nat_saddr, &out->src, alen);
	memcpy(flow->nat_daddr, &out->dst, alen);
	flow->nat_sport = out->sport;
	flow->nat_dport = out->dport;
	memcpy(olda, &in->src, alen);
	memcpy(olda + alen, &in->dst, alen);
	memcpy(newa, &out->src, alen);
	memcpy(newa + alen, &out->dst, alen);
	if (memcmp(olda, newa, 2 * alen)) {
		flow->flags |= NFO_FLOW_NAT_ADDR;
		flow->csum_addr = nfo_csum_diff(olda, newa, 2 * alen);
	}
	if (memcmp(oldp, newp, sizeof(oldp))) {
		flow->flags |= NFO_FLOW_NAT_PORT;
		flow->csum_port = nfo_csum_diff(oldp, newp, sizeof(oldp));
	}
	/* Source NAT changes what the sender is; destination NAT the target. */
	if (memcmp(&in->src, &out->src, alen) || in->sport != out->sport)
		flow->flags |= NFO_FLOW_SNAT;
	if (memcmp(&in->dst, &out->dst, alen) || in->dport != out->dport)
		flow->flags |= NFO_FLOW_DNAT;
	flow->ct_id = ct_id;
	flow->dir = dir;
	flow->family = in->family;
}

void nfo_key_tuple(const union nfo_key *key, uint8_t family, struct nfo_tuple *t,
		   uint32_t *ifindex)
{
	memset(t, 0, sizeof(*t));
	t->family = family;
	if (family == AF_INET) {
		t->src.ip = key->k4.saddr;
		t->dst.ip = key->k4.daddr;
		t->sport = key->k4.sport;
		t->dport = key->k4.dport;
		t->l4proto = key->k4.l4proto;
		*ifindex = key->k4.ifindex;
	} else {
		memcpy(t->src.ip6, key->k6.saddr, 16);
		memcpy(t->dst.ip6, key->k6.daddr, 16);
		t->sport = key->k6.sport;
		t->dport = key->k6.dport;
		t->l4proto = key->k6.l4proto;
		*ifindex = key->k6.ifindex;
	}
}

void nfo_flow_out_tuple(const struct nfo_tuple *in, const struct nfo_flow *flow,
			struct nfo_tuple *out)
{
	size_t alen = in->family == AF_INET ? 4 : 16;

	*out = *in;
	if (flow->flags & NFO_FLOW_NAT_ADDR) {
		memcpy(&out->src, flow->nat_saddr, alen);
		memcpy(&out->dst, flow->nat_daddr, alen);
	}
	if (flow->flags & NFO_FLOW_NAT_PORT) {
		out->sport = flow->nat_sport;
		out->dport = flow->nat_dport;
	}
}

const char *nfo_addr_str(uint8_t family, const union nfo_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(family, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

int nfo_addr_parse(const char *s, union nfo_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, a) == 1)
		return AF_INET6;
	return 0;
}

const char *nfo_proto_str(uint8_t l4proto)
{
	switch (l4proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	}
	return "?";
}

void nfo_entry_orig(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		    struct nfo_tuple *orig)
{
	struct nfo_tuple in, out;
	uint32_t ifindex;

	nfo_key_tuple(key, family, &in, &ifindex);
	if (flow->dir == NFO_DIR_ORIGINAL) {
		*orig = in;
		return;
	}
	nfo_flow_out_tuple(&in, flow, &out);
	nfo_tuple_invert(orig, &out);
}

uint64_t nfo_tuple_hash(const struct nfo_tuple *t)
{
	const uint32_t *w = (const uint32_t *)&t->src;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)t->l4proto << 8) ^ t->family;
	int i;

	for (i = 0; i < 8; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h ^= ((uint64_t)t->sport << 16) | t->dport;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}
