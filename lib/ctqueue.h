/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Conntrack events read ahead of admission, in order. The kernel drops
 * events when the socket's buffer is full, and a flood of new connections
 * fills it as fast as admission (route lookups, conntrack updates, map
 * writes) drains it. Reading and parsing an event costs a small part of
 * admitting it: read everything queued into this FIFO (a few hundred bytes of
 * kernel memory per event become about 150 bytes here), and admit from it.
 */
#ifndef NFO_CTQUEUE_H
#define NFO_CTQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "ct.h"

struct nfo_ctq_item {
	struct nfo_ct ct;
	uint64_t rx_ns; /* when it was read */
	uint32_t portid; /* nlmsg_pid of the event: who caused it */
};

struct nfo_ctq {
	struct nfo_ctq_item *v;
	size_t cap, head, count;
	size_t max; /* items at most (memory bound); 0: NFO_CTQ_MAX */
};

/* About 150 bytes each: 75 MB at most, given back once the queue is empty. */
#define NFO_CTQ_MAX (1U << 19)
/* Kept while empty: below this many items. */
#define NFO_CTQ_KEEP (1U << 14)

/* Append; -ENOSPC at the bound (the event is lost), -ENOMEM. */
int nfo_ctq_push(struct nfo_ctq *q, const struct nfo_ct *ct, uint32_t portid, uint64_t rx_ns);
/* The oldest item, or NULL; valid until the next push or pop. */
struct nfo_ctq_item *nfo_ctq_peek(struct nfo_ctq *q);
void nfo_ctq_pop(struct nfo_ctq *q);
/* Room for n more? */
int nfo_ctq_room(const struct nfo_ctq *q, size_t n);
void nfo_ctq_free(struct nfo_ctq *q);

#endif
