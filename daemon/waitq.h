/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Marked connections waiting for room in the flow table, first come first
 * served. A connection that does not fit stays on the kernel path with its
 * normal conntrack timeouts and is remembered here, not retried: when
 * offloaded connections leave, the oldest waiters are asked for again from
 * conntrack and admitted. The queue is bounded; a connection that finds it
 * full is picked up again by a later event or dump.
 */
#ifndef NFO_WAITQ_H
#define NFO_WAITQ_H

#include <stdint.h>

#include "flow.h"

struct nfo_waiter {
	struct nfo_waiter *hnext; /* hash chain */
	struct nfo_waiter *qnext, *qprev; /* queue, oldest first */
	struct nfo_tuple orig;
	uint32_t released_s; /* 0 while waiting; else when it was asked for again */
	uint32_t gen; /* last resync that saw it in conntrack */
	uint16_t zone;
};

#define NFO_WAITQ_MAX 65536

struct nfo_waitq {
	struct nfo_waiter **hash;
	uint32_t hmask;
	struct nfo_waiter *head, *tail;
	uint64_t count; /* waiters, released or not */
	uint64_t waiting[2]; /* not yet released, per family: [0] IPv4, [1] IPv6 */
	uint64_t released[2]; /* asked for again, answer not yet handled */
	uint64_t full; /* connections not remembered because the queue was full */
};

int nfo_waitq_init(struct nfo_waitq *q);
void nfo_waitq_free(struct nfo_waitq *q);
struct nfo_waiter *nfo_waitq_find(struct nfo_waitq *q, const struct nfo_tuple *orig,
				  uint16_t zone);
/* Append at the tail. -ENOSPC when the queue is full, -ENOMEM. */
int nfo_waitq_add(struct nfo_waitq *q, const struct nfo_tuple *orig, uint16_t zone,
		  uint32_t gen);
/* Unlink and free. */
void nfo_waitq_remove(struct nfo_waitq *q, struct nfo_waiter *w);
/* Mark as asked for again at time now_s (seconds, never 0). */
void nfo_waitq_release(struct nfo_waitq *q, struct nfo_waiter *w, uint32_t now_s);

#endif
