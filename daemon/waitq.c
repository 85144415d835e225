// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flowtable.h"
#include "waitq.h"

#define WAITQ_BUCKETS 16384

static uint32_t waitq_hash(const struct nfo_tuple *t, uint16_t zone)
{
	return nfo_flowtable_hash(t, zone);
}

static int fam_idx(const struct nfo_waiter *w)
{
	return w->orig.family == AF_INET6;
}

int nfo_waitq_init(struct nfo_waitq *q)
{
	memset(q, 0, sizeof(*q));
	q->hash = calloc(WAITQ_BUCKETS, sizeof(*q->hash));
	if (!q->hash)
		return -ENOMEM;
	q->hmask = WAITQ_BUCKETS - 1;
	return 0;
}

void nfo_waitq_free(struct nfo_waitq *q)
{
	struct nfo_waiter *w, *next;

	for (w = q->head; w; w = next) {
		next = w->qnext;
		free(w);
	}
	free(q->hash);
	memset(q, 0, sizeof(*q));
}

struct nfo_waiter *nfo_waitq_find(struct nfo_waitq *q, const struct nfo_tuple *orig,
				  uint16_t zone)
{
	struct nfo_waiter *w;

	/* Nobody waits (the rule, not the exception): no bucket to touch. */
	if (!q->hash || !q->count)
		return NULL;
	for (w = q->hash[waitq_hash(orig, zone) & q->hmask]; w; w = w->hnext)
		if (w->zone == zone && nfo_tuple_equal(&w->orig, orig))
			return w;
	return NULL;
}

int nfo_waitq_add(struct nfo_waitq *q, const struct nfo_tuple *orig, uint16_t zone,
		  uint32_t gen)
{
	struct nfo_waiter *w;
	uint32_t b;

	if (q->count >= NFO_WAITQ_MAX) {
		q->full++;
		return -ENOSPC;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->orig = *orig;
	w->zone = zone;
	w->gen = gen;
	b = waitq_hash(orig, zone) & q->hmask;
	w->hnext = q->hash[b];
	q->hash[b] = w;
	w->qprev = q->tail;
	if (q->tail)
		q->tail->qnext = w;
	else
		q->head = w;
	q->tail = w;
	q->count++;
	q->waiting[fam_idx(w)]++;
	return 0;
}

void nfo_waitq_remove(struct nfo_waitq *q, struct nfo_waiter *w)
{
	struct nfo_waiter **pp = &q->hash[waitq_hash(&w->orig, w->zone) & q->hmask];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == w) {
			*pp = w->hnext;
			break;
		}
	if (w->qprev)
		w->qprev->qnext = w->qnext;
	else
		q->head = w->qnext;
	if (w->qnext)
		w->qnext->qprev = w->qprev;
	else
		q->tail = w->qprev;
	q->count--;
	if (w->released_s)
		q->released[fam_idx(w)]--;
	else
		q->waiting[fam_idx(w)]--;
	free(w);
}

void nfo_waitq_release(struct nfo_waitq *q, struct nfo_waiter *w, uint32_t now_s)
{
	if (w->released_s)
		return;
	w->released_s = now_s ? now_s : 1;
	q->waiting[fam_idx(w)]--;
	q->released[fam_idx(w)]++;
}
