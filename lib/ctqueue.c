// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctqueue.h"

static size_t bound(const struct nfo_ctq *q)
{
	return q->max ? q->max : NFO_CTQ_MAX;
}

static int grow(struct nfo_ctq *q)
{
	size_t ncap = q->cap ? q->cap * 2 : 1024, first;
	struct nfo_ctq_item *n;

	if (ncap > bound(q))
		ncap = bound(q);
	if (ncap <= q->cap)
		return -ENOSPC;
	n = malloc(ncap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	/* Unwrap: the oldest first. */
	first = q->cap - q->head < q->count ? q->cap - q->head : q->count;
	if (q->count) {
		memcpy(n, q->v + q->head, first * sizeof(*n));
		memcpy(n + first, q->v, (q->count - first) * sizeof(*n));
	}
	free(q->v);
	q->v = n;
	q->cap = ncap;
	q->head = 0;
	return 0;
}

int nfo_ctq_push(struct nfo_ctq *q, const struct nfo_ct *ct, uint32_t portid, uint64_t rx_ns)
{
	struct nfo_ctq_item *it;
	int err;

	if (q->count == q->cap && (err = grow(q)))
		return err;
	it = &q->v[(q->head + q->count) % q->cap];
	it->ct = *ct;
	it->rx_ns = rx_ns;
	it->portid = portid;
	q->count++;
	return 0;
}

struct nfo_ctq_item *nfo_ctq_peek(struct nfo_ctq *q)
{
	return q->count ? &q->v[q->head] : NULL;
}

void nfo_ctq_pop(struct nfo_ctq *q)
{
	if (!q->count)
		return;
	q->head = (q->head + 1) % q->cap;
	q->count--;
	if (!q->count && q->cap > NFO_CTQ_KEEP) {
		/* A flood is over: give its memory back. */
		free(q->v);
		q->v = NULL;
		q->cap = q->head = 0;
	}
}

int nfo_ctq_room(const struct nfo_ctq *q, size_t n)
{
	return q->count + n <= bound(q);
}

void nfo_ctq_free(struct nfo_ctq *q)
{
	free(q->v);
	memset(q, 0, sizeof(*q));
}
