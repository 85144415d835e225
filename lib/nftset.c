// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "nft.h"
#include "nftset.h"

/* nft's datatype ids (NFTA_SET_KEY_TYPE); a concatenation packs 6 bits each. */
#define TYPE_IPADDR 7
#define TYPE_IP6ADDR 8
#define TYPE_INET_PROTOCOL 12
#define TYPE_INET_SERVICE 13
#define TYPE_BITS 6

void nfo_setchg_reset(struct nfo_setchg *c)
{
	free(c->elems);
	free(c->ranges);
	memset(c, 0, sizeof(*c));
}

static int set_index(struct nfo_setchg *c, uint32_t family, const char *table, const char *name)
{
	int i;

	if (!table || !name || strlen(table) >= NFO_SETCHG_NAME || strlen(name) >= NFO_SETCHG_NAME)
		return -1;
	for (i = 0; i < c->nsets; i++)
		if (c->sets[i].family == family && !strcmp(c->sets[i].table, table) &&
		    !strcmp(c->sets[i].name, name))
			return i;
	if (c->nsets == NFO_SETCHG_SETS)
		return -1;
	memset(&c->sets[i], 0, sizeof(c->sets[i]));
	c->sets[i].family = family;
	strcpy(c->sets[i].table, table);
	strcpy(c->sets[i].name, name);
	return c->nsets++;
}

static bool add_elem(struct nfo_setchg *c, int set, struct nftnl_set_elem *e)
{
	struct nfo_setchg_elem *x;
	const void *k, *ke;
	uint32_t klen = 0, kelen = 0;

	if (c->nelems == NFO_SETCHG_ELEMS)
		return false;
	if (c->nelems == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct nfo_setchg_elem *n = realloc(c->elems, cap * sizeof(*n));

		if (!n)
			return false;
		c->elems = n;
		c->cap = cap;
	}
	k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	ke = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &kelen);
	if (klen > sizeof(x->key) || kelen > sizeof(x->key_end))
		return false;
	x = &c->elems[c->nelems++];
	memset(x, 0, sizeof(*x));
	x->set = set;
	x->key_len = k ? klen : 0;
	x->key_end_len = ke ? kelen : 0;
	if (k)
		memcpy(x->key, k, klen);
	if (ke)
		memcpy(x->key_end, ke, kelen);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		x->flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	return true;
}

void nfo_setchg_event(struct nfo_setchg *c, const struct nlmsghdr *nlh)
{
	int type = nlh->nlmsg_type & 0xff;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	struct nftnl_set *s;
	int set;

	if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES || type == NFT_MSG_NEWGEN)
		return;
	if (type != NFT_MSG_NEWSETELEM && type != NFT_MSG_DELSETELEM) {
		c->other = true;
		return;
	}
	if (c->other)
		return;
	s = nftnl_set_alloc();
	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		c->other = true;
		goto out;
	}
	set = set_index(c, nftnl_set_get_u32(s, NFTNL_SET_FAMILY),
			nftnl_set_get_str(s, NFTNL_SET_TABLE), nftnl_set_get_str(s, NFTNL_SET_NAME));
	it = set < 0 ? NULL : nftnl_set_elems_iter_create(s);
	if (!it) {
		c->other = true;
		goto out;
	}
	while ((e = nftnl_set_elems_iter_next(it)))
		if (!add_elem(c, set, e)) {
			c->other = true;
			break;
		}
	nftnl_set_elems_iter_destroy(it);
out:
	if (s)
		nftnl_set_free(s);
}

/* ---- resolving: the sets' key types, and the rules that look them up ---- */

static int field_size(uint8_t t, bool concat)
{
	switch (t) {
	case TYPE_IPADDR:
		return 4;
	case TYPE_IP6ADDR:
		return 16;
	case TYPE_INET_SERVICE:
		return concat ? 4 : 2; /* each field of a concatenation fills 32-bit words */
	case TYPE_INET_PROTOCOL:
		return concat ? 4 : 1;
	}
	return -1;
}

static int width(uint8_t t)
{
	return t == TYPE_IPADDR ? 4 : t == TYPE_IP6ADDR ? 16 : t == TYPE_INET_SERVICE ? 2 : 1;
}

static int set_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct nfo_setchg *c = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	uint32_t kt, klen, flags;
	uint8_t f[8];
	int i, n = 0, size = 0;
	struct nfo_setchg_set *x = NULL;

	if (!s || nftnl_set_nlmsg_parse(nlh, s) < 0)
		goto out;
	for (i = 0; i < c->nsets; i++)
		if (c->sets[i].family == nftnl_set_get_u32(s, NFTNL_SET_FAMILY) &&
		    !strcmp(c->sets[i].table, nftnl_set_get_str(s, NFTNL_SET_TABLE)) &&
		    !strcmp(c->sets[i].name, nftnl_set_get_str(s, NFTNL_SET_NAME)))
			x = &c->sets[i];
	if (!x)
		goto out;
	x->found = true;
	kt = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
	klen = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
	flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	x->interval = flags & NFT_SET_INTERVAL;
	for (; kt && n < 8; kt >>= TYPE_BITS)
		f[n++] = kt & ((1U << TYPE_BITS) - 1);
	if (kt || !n || n > NFO_SETCHG_FIELDS)
		goto out; /* nfields stays 0: not interpretable */
	x->concat = n > 1;
	for (i = 0; i < n; i++) {
		int sz = field_size(f[n - 1 - i], x->concat);

		if (sz < 0)
			goto out;
		x->ftype[i] = f[n - 1 - i];
		size += sz;
	}
	if ((uint32_t)size != klen)
		goto out;
	x->nfields = n;
out:
	if (s)
		nftnl_set_free(s);
	return 0;
}

/*
 * Expressions a rule that looks a set up may hold for its lookup to see a
 * packet or conntrack field as it is: no mask, hash, byte swap or anything
 * else that would make the looked-up value differ from the tuple's.
 */
static bool plain_expr(const char *name)
{
	static const char *const ok[] = { "payload", "cmp",	 "lookup",   "ct",    "meta",
					  "counter", "immediate", "log",      "limit", "quota",
					  "reject",  "nat",	 "masq",     "redir", "queue",
					  "objref",  "notrack",	 "connlimit", "range", "last",
					  "dynset" };
	unsigned int i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(name, ok[i]))
			return true;
	return false;
}

struct rule_use {
	struct nfo_setchg_set *set;
	bool uses, plain;
};

static int use_cb(struct nftnl_expr *e, void *arg)
{
	struct rule_use *u = arg;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	const char *set = NULL;

	if (!plain_expr(name))
		u->plain = false;
	if (!strcmp(name, "lookup"))
		set = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET);
	else if (!strcmp(name, "objref") && nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_SET_NAME))
		set = nftnl_expr_get_str(e, NFTNL_EXPR_OBJREF_SET_NAME);
	if (set && !strcmp(set, u->set->name))
		u->uses = true;
	return 0;
}

static int rule_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct nfo_setchg *c = arg;
	struct nftnl_rule *r = nftnl_rule_alloc();
	int i;

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto out;
	for (i = 0; i < c->nsets; i++) {
		struct rule_use u = { .set = &c->sets[i], .plain = true };

		if (c->sets[i].family != nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) ||
		    strcmp(c->sets[i].table, nftnl_rule_get_str(r, NFTNL_RULE_TABLE)))
			continue;
		nftnl_expr_foreach(r, use_cb, &u);
		if (u.uses && !u.plain)
			c->sets[i].plain = false;
	}
out:
	if (r)
		nftnl_rule_free(r);
	return 0;
}

static struct nfo_setchg_range *new_range(struct nfo_setchg *c, const struct nfo_setchg_set *s)
{
	struct nfo_setchg_range *r = realloc(c->ranges, (c->nranges + 1) * sizeof(*r));

	if (!r)
		return NULL;
	c->ranges = r;
	r = &c->ranges[c->nranges++];
	memset(r, 0, sizeof(*r));
	r->nfields = s->nfields;
	memcpy(r->ftype, s->ftype, sizeof(r->ftype));
	return r;
}

/* Split a key into its fields' lo (and hi) values. */
static void fill(struct nfo_setchg_range *r, const struct nfo_setchg_set *s, const uint8_t *key,
		 bool hi)
{
	int i, off = 0;

	for (i = 0; i < s->nfields; i++) {
		memcpy(hi ? r->hi[i] : r->lo[i], key + off, width(s->ftype[i]));
		off += field_size(s->ftype[i], s->concat);
	}
}

static bool resolve_set(struct nfo_setchg *c, int si)
{
	const struct nfo_setchg_set *s = &c->sets[si];
	struct nfo_setchg_range *r = NULL;
	size_t i, klen = 0;
	int f;

	if (!s->found || !s->plain || !s->nfields)
		return false;
	for (f = 0; f < s->nfields; f++)
		klen += field_size(s->ftype[f], s->concat);
	for (i = 0; i < c->nelems; i++) {
		const struct nfo_setchg_elem *e = &c->elems[i];

		if (e->set != si)
			continue;
		if ((e->flags & NFT_SET_ELEM_CATCHALL) || e->key_len != klen)
			return false;
		if (s->interval && !s->concat) {
			/*
			 * An interval set holds boundaries; membership of a value
			 * comes from the nearest boundary below it. Changed
			 * boundaries change membership from the lowest of them up,
			 * to a boundary this batch did not touch, which is not
			 * known here: take everything from the lowest up.
			 */
			if (!r) {
				r = new_range(c, s);
				if (!r)
					return false;
				fill(r, s, e->key, false);
				memset(r->hi[0], 0xff, sizeof(r->hi[0]));
			} else if (memcmp(e->key, r->lo[0], width(s->ftype[0])) < 0) {
				fill(r, s, e->key, false);
			}
			continue;
		}
		if (s->interval && e->key_end_len != klen)
			return false;
		r = new_range(c, s);
		if (!r)
			return false;
		fill(r, s, e->key, false);
		fill(r, s, s->interval ? e->key_end : e->key, true);
		r = NULL;
	}
	return true;
}

void nfo_setchg_resolve(struct nfo_setchg *c)
{
	int i;

	c->all = c->other;
	if (c->all || !c->nelems)
		return;
	for (i = 0; i < c->nsets; i++)
		c->sets[i].plain = true;
	if (nfo_nft_dump(NFT_MSG_GETSET, set_cb, c) || nfo_nft_dump(NFT_MSG_GETRULE, rule_cb, c)) {
		c->all = true;
		return;
	}
	for (i = 0; i < c->nsets && !c->all; i++)
		if (!resolve_set(c, i))
			c->all = true;
}

/* ---- matching ------------------------------------------------------------ */

static bool within(const uint8_t *v, const struct nfo_setchg_range *r, int f)
{
	int w = width(r->ftype[f]);

	return memcmp(v, r->lo[f], w) >= 0 && memcmp(v, r->hi[f], w) <= 0;
}

static bool field_hit(const struct nfo_setchg_range *r, int f, const struct nfo_tuple *t[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		switch (r->ftype[f]) {
		case TYPE_IPADDR:
		case TYPE_IP6ADDR:
			if (t[i]->family != (r->ftype[f] == TYPE_IPADDR ? AF_INET : AF_INET6))
				return false;
			if (within((const uint8_t *)&t[i]->src, r, f) ||
			    within((const uint8_t *)&t[i]->dst, r, f))
				return true;
			break;
		case TYPE_INET_SERVICE:
			if (within((const uint8_t *)&t[i]->sport, r, f) ||
			    within((const uint8_t *)&t[i]->dport, r, f))
				return true;
			break;
		case TYPE_INET_PROTOCOL:
			if (within(&t[i]->l4proto, r, f))
				return true;
			break;
		}
	}
	return false;
}

bool nfo_setchg_concerns(const struct nfo_setchg *c, const struct nfo_tuple *orig,
			 const struct nfo_tuple *reply)
{
	const struct nfo_tuple *t[2] = { orig, reply };
	size_t i;
	int f;

	if (c->all)
		return true;
	for (i = 0; i < c->nranges; i++) {
		for (f = 0; f < c->ranges[i].nfields; f++)
			if (!field_hit(&c->ranges[i], f, t))
				break;
		if (f == c->ranges[i].nfields)
			return true;
	}
	return false;
}
