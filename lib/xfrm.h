/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xfrm (IPsec) policies. bpf_fib_lookup ignores them, so a flow that a policy
 * would encrypt, drop or require to arrive decrypted must stay on the kernel
 * path. Policies are read over NETLINK_XFRM (a dump, again after each policy
 * event) and matched exactly against a connection's tuples.
 */
#ifndef NFO_XFRM_H
#define NFO_XFRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "nl.h"

/* A policy that applies to forwarded packets (dir fwd or out). */
struct nfo_xfrm_pol {
	uint8_t family; /* AF_INET, AF_INET6, or 0: any */
	uint8_t proto; /* 0: any */
	uint8_t prefixlen_s, prefixlen_d;
	uint16_t sport, sport_mask, dport, dport_mask; /* network order */
	union nfo_addr saddr, daddr;
	uint8_t dir; /* XFRM_POLICY_FWD or XFRM_POLICY_OUT */
	uint8_t action; /* XFRM_POLICY_ALLOW or _BLOCK */
	uint8_t ntmpl;
};

struct nfo_xfrm {
	int total; /* every policy, socket policies excepted */
	int n; /* those that matter to forwarded flows */
	int cap;
	struct nfo_xfrm_pol *p;
};

/* Read every policy (replaces the previous contents). */
int nfo_xfrm_dump(struct nfo_xfrm *x);
void nfo_xfrm_free(struct nfo_xfrm *x);
/*
 * Does a policy select a packet of this connection? orig and reply are the
 * conntrack tuples; both directions are checked before and after NAT.
 * Returns the policy, or NULL; desc gets "dir fwd src A/32 dst B/32 ... action block".
 */
const struct nfo_xfrm_pol *nfo_xfrm_match(const struct nfo_xfrm *x, const struct nfo_tuple *orig,
					  const struct nfo_tuple *reply);
void nfo_xfrm_pol_str(const struct nfo_xfrm_pol *p, char *buf, size_t len);
/* An event socket joined to the policy group: any message means "dump again". */
int nfo_xfrm_events_open(struct nfo_nl *nl);

#endif
