/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Set element changes, so that adding one address to a blocklist does not
 * send every offloaded flow back to the ruleset. A transaction that changes
 * only set elements can change the verdict only for packets whose looked-up
 * values are among the changed elements; when those values are addresses,
 * ports or protocols, which the flow's two tuples hold, the flows concerned
 * are found by comparing. Anything else - another kind of change, a key type
 * that is not made of those, a rule that transforms a value before the lookup
 * (a mask, a hash), a catch-all element - means every flow.
 */
#ifndef NFO_NFTSET_H
#define NFO_NFTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "flow.h"

#define NFO_SETCHG_FIELDS 4 /* fields of a concatenation handled */
#define NFO_SETCHG_SETS 16 /* distinct sets per batch handled */
#define NFO_SETCHG_ELEMS 65536 /* elements per batch handled */
#define NFO_SETCHG_NAME 256 /* NFT_NAME_MAXLEN */

/* One element as received, until its set's type is known. */
struct nfo_setchg_elem {
	uint16_t set;
	uint8_t key_len, key_end_len; /* 0: absent */
	uint32_t flags;
	uint8_t key[64], key_end[64];
};

struct nfo_setchg_set {
	uint32_t family;
	char table[NFO_SETCHG_NAME], name[NFO_SETCHG_NAME];
	/* Resolved: */
	int nfields;
	uint8_t ftype[NFO_SETCHG_FIELDS];
	bool interval, concat, found, plain;
};

/* A box of values: a flow is concerned if each field has a value of it inside. */
struct nfo_setchg_range {
	uint8_t nfields;
	uint8_t ftype[NFO_SETCHG_FIELDS];
	uint8_t lo[NFO_SETCHG_FIELDS][16], hi[NFO_SETCHG_FIELDS][16];
};

struct nfo_setchg {
	struct nfo_setchg_elem *elems;
	size_t nelems, cap;
	struct nfo_setchg_set sets[NFO_SETCHG_SETS];
	int nsets;
	bool other; /* something else changed: every flow */
	bool all; /* after resolving: not interpretable, every flow */
	struct nfo_setchg_range *ranges;
	size_t nranges;
};

void nfo_setchg_reset(struct nfo_setchg *c);
/* Record one nftables event (not NEWGEN, which ends a transaction). */
void nfo_setchg_event(struct nfo_setchg *c, const struct nlmsghdr *nlh);
/* After the transaction: learn the sets' types and how rules use them. */
void nfo_setchg_resolve(struct nfo_setchg *c);
/* Could the changed elements match a packet of this connection? */
bool nfo_setchg_concerns(const struct nfo_setchg *c, const struct nfo_tuple *orig,
			 const struct nfo_tuple *reply);

#endif
