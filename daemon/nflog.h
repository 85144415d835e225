/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nflog: the mark rules of nft-offload's chain log each packet that sets a
 * direction's bit to an nflog group; the daemon reads the group to learn about
 * marked connections whether or not conntrack reports events for them.
 */
#ifndef NFO_NFLOG_H
#define NFO_NFLOG_H

#include <stdint.h>

#include "flow.h"
#include "nl.h"

/*
 * Open a socket bound to nflog group `group`, copying the first `copy`
 * bytes of each packet. -EBUSY: another listener holds the group.
 */
int nfo_nflog_open(struct nfo_nl *nl, uint16_t group, uint32_t copy);
/*
 * The tuple of a logged packet (as seen in the forward hook: DNAT done,
 * SNAT not yet). -EINVAL if it is not a TCP/UDP packet we can parse.
 */
int nfo_nflog_tuple(const struct nlmsghdr *nlh, struct nfo_tuple *t);
/*
 * What the kernel routed a logged packet with: its mark (0 when it had none)
 * and its input and output devices (for a bridged packet, the bridges).
 */
struct nfo_nflog_route {
	uint32_t mark;
	uint32_t indev;
	uint32_t outdev;
};

void nfo_nflog_route(const struct nlmsghdr *nlh, struct nfo_nflog_route *r);

#endif
