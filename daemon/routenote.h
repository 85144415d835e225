/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Route notes: with policy routing, how the kernel routed the packet of each
 * direction that our chain logged (its mark, input and output devices), kept
 * until the connection is admitted. A bounded cache: the oldest note of a
 * bucket gives way to a new one.
 */
#ifndef NFO_ROUTENOTE_H
#define NFO_ROUTENOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"
#include "flow.h"
#include "nflog.h"

struct nfo_routenote;

struct nfo_routenotes {
	struct nfo_routenote *slot; /* NULL until the first note */
};

/* Note how a logged packet (tuple as seen in the forward hook) was routed. */
int nfo_routenote_add(struct nfo_routenotes *n, const struct nfo_tuple *t,
		      const struct nfo_nflog_route *r, uint64_t now);
/*
 * The notes of both directions of a conntrack entry: true if both exist. The
 * forward hook sees a packet after destination NAT and before source NAT, so
 * the original direction looks like orig.src:sport -> reply.src:sport and
 * the reply direction like its inverse.
 */
bool nfo_routenote_conn(const struct nfo_routenotes *n, const struct nfo_ct *ct,
			struct nfo_nflog_route r[2]);
void nfo_routenotes_free(struct nfo_routenotes *n);

#endif
