/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Accounting that adds up. Offloaded packets never reach conntrack, so its
 * counters stop at the packets it saw; per direction, conntrack's counters
 * plus the fast path's are the connection's true totals. This module reads
 * both, keeps the per-host totals of connections that left the fast path,
 * and prints conntrack's own line format with the true counters.
 */
#ifndef NFO_ACCT_H
#define NFO_ACCT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ct.h"
#include "dataplane.h"

/* Is net.netfilter.nf_conntrack_acct on (in this network namespace)? */
bool nfo_acct_ct_enabled(void);

/* Remove a flow entry and return its final counters (atomically). */
int nfo_acct_take(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		  struct nfo_flow *flow);

/* The host a connection is accounted to: its ORIGINAL direction's source. */
void nfo_acct_host_key(const struct nfo_tuple *orig, struct nfo_host_key *hk);

/*
 * The daemon: add a connection's final fast-path counts to its host's totals
 * (-E2BIG when the host table is full and the host is new).
 */
int nfo_acct_host_add(struct nfo_dp *dp, const struct nfo_leaving *l);
/* The CLI: queue final counts for the daemon (-E2BIG when the queue is full). */
int nfo_acct_leaving_push(struct nfo_dp *dp, const struct nfo_leaving *l);
/*
 * The CLI (evict, flush): take one entry out of the fast path and queue its
 * final counts for the daemon. 0, -ENOENT if it was gone, or -E2BIG if the
 * entry was taken but the queue is full (its counts are then lost).
 */
int nfo_acct_evict_entry(struct nfo_dp *dp, uint8_t family, const union nfo_key *key);
/* The daemon: take one queued record; -ENOENT when the queue is empty. */
int nfo_acct_leaving_pop(struct nfo_dp *dp, struct nfo_leaving *l);

/*
 * Conntrack's entries with CTA_USE and whether counters came with them,
 * from a dump: cb gets each TCP/UDP entry of both families.
 */
struct nfo_acct_ct {
	struct nfo_ct ct;
	uint32_t use;
	bool counters; /* conntrack accounting was on for this entry */
};

typedef int (*nfo_acct_ct_cb)(const struct nfo_acct_ct *e, void *arg);
int nfo_acct_ct_dump(uint32_t mark, uint32_t mask, nfo_acct_ct_cb cb, void *arg);

/*
 * One line in the format of conntrack -L -o extended, with packets and bytes
 * of each direction raised by the fast path's (fp_*; NULL when the
 * connection is not offloaded, which also decides [OFFLOAD] vs [ASSURED]).
 */
void nfo_acct_ct_line(FILE *f, const struct nfo_acct_ct *e, const uint64_t *fp_packets,
		      const uint64_t *fp_bytes);

#endif
