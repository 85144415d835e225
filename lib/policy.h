/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy routing: which ip rules exist beyond the defaults, and whether the
 * fast path's route lookup can follow them.
 */
#ifndef NFO_POLICY_H
#define NFO_POLICY_H

#include <stdbool.h>

#include "nl.h"

struct nfo_policy {
	unsigned int rules; /* rules beyond the defaults (IPv4 and IPv6) */
	bool fwmark; /* one of them selects by packet mark */
	/*
	 * Why marked connections must stay on the kernel path while they exist
	 * ("" when they need not), by family: [0] IPv4, [1] IPv6.
	 */
	char unsupported[2][160];
};

/* The reason for a family (AF_INET, AF_INET6), or NULL if there is none. */
const char *nfo_policy_unsupported(const struct nfo_policy *p, int family);

/*
 * Read the rules of both families (a dump on the rtnetlink socket nl).
 * 0 or -errno.
 */
int nfo_policy_read(struct nfo_nl *nl, struct nfo_policy *p);

#endif
