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
	/* Why offloading must stop while they exist ("" when it need not). */
	char unsupported[160];
};

/*
 * Read the rules of both families (a dump on the rtnetlink socket nl).
 * 0 or -errno.
 */
int nfo_policy_read(struct nfo_nl *nl, struct nfo_policy *p);

#endif
