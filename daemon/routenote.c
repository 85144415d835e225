// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "routenote.h"

#define NOTES 16384 /* a power of two */
#define PROBE 8

struct nfo_routenote {
	struct nfo_tuple t;
	struct nfo_nflog_route r;
	uint64_t ns; /* when noted; 0: free */
};

static uint32_t bucket(const struct nfo_tuple *t)
{
	return nfo_tuple_hash(t) & (NOTES - 1);
}

int nfo_routenote_add(struct nfo_routenotes *n, const struct nfo_tuple *t,
		      const struct nfo_nflog_route *r, uint64_t now)
{
	struct nfo_routenote *e, *old = NULL;
	uint32_t b;
	int i;

	if (!n->slot) {
		n->slot = calloc(NOTES, sizeof(*n->slot));
		if (!n->slot)
			return -ENOMEM;
	}
	b = bucket(t);
	for (i = 0; i < PROBE; i++) {
		e = &n->slot[(b + i) & (NOTES - 1)];
		if (!e->ns || nfo_tuple_equal(&e->t, t)) {
			old = e;
			break;
		}
		if (!old || e->ns < old->ns)
			old = e;
	}
	old->t = *t;
	old->r = *r;
	old->ns = now ? now : 1;
	return 0;
}

static const struct nfo_nflog_route *find(const struct nfo_routenotes *n,
					  const struct nfo_tuple *t)
{
	uint32_t b = bucket(t);
	int i;

	for (i = 0; i < PROBE; i++) {
		const struct nfo_routenote *e = &n->slot[(b + i) & (NOTES - 1)];

		if (e->ns && nfo_tuple_equal(&e->t, t))
			return &e->r;
	}
	return NULL;
}

bool nfo_routenote_conn(const struct nfo_routenotes *n, const struct nfo_ct *ct,
			struct nfo_nflog_route r[2])
{
	const struct nfo_nflog_route *o, *p;
	struct nfo_tuple t, inv;

	if (!n->slot)
		return false;
	memset(&t, 0, sizeof(t));
	t.family = ct->orig.family;
	t.l4proto = ct->orig.l4proto;
	t.src = ct->orig.src;
	t.sport = ct->orig.sport;
	t.dst = ct->reply.src;
	t.dport = ct->reply.sport;
	nfo_tuple_invert(&inv, &t);
	o = find(n, &t);
	p = find(n, &inv);
	if (!o || !p)
		return false;
	r[0] = *o;
	r[1] = *p;
	return true;
}

void nfo_routenotes_free(struct nfo_routenotes *n)
{
	free(n->slot);
	n->slot = NULL;
}
