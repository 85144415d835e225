/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small set of addresses, each with its index: the distinct addresses of
 * one admission batch, so that each is looked up once (the route to a
 * server or a client is the same for all its connections at one moment).
 */
#ifndef NFO_ADDRSET_H
#define NFO_ADDRSET_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"

#define NFO_ADDRSET_MAX 128

struct nfo_addrset {
	unsigned int n;
	uint8_t family[NFO_ADDRSET_MAX];
	union nfo_addr addr[NFO_ADDRSET_MAX];
};

static inline void nfo_addrset_init(struct nfo_addrset *s)
{
	s->n = 0;
}

/*
 * The index of (family, addr), added if new (*added set then). -1 when the
 * set is full and the address is not in it.
 */
int nfo_addrset_add(struct nfo_addrset *s, uint8_t family, const union nfo_addr *addr,
		    bool *added);

#endif
