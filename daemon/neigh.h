/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Neighbour follow-up. The fast path's route lookup (bpf_fib_lookup) takes a
 * STALE neighbour as valid and, unlike a packet through the stack, never starts
 * the kernel's reachability probe: while the fast path carries all of a flow's
 * packets, a next hop whose MAC changed would be used forever. So when a
 * neighbour on an offload device turns STALE, the daemon asks the kernel to
 * use it (NTF_USE), which starts DELAY/PROBE exactly as a forwarded packet
 * would; a neighbour that then fails makes the fast path's lookup fail, and
 * the stack resolves it again.
 */
#ifndef NFO_NEIGH_H
#define NFO_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "nl.h"

/*
 * An RTM_NEWNEIGH event. If it reports an IPv4/IPv6 neighbour entering STALE
 * on a device for which is_offload(arg, ifindex) is true, ask the kernel to
 * re-resolve it through req. Returns 1 if asked, 0 if not, -errno on failure.
 */
int nfo_neigh_event(struct nfo_nl *req, const struct nlmsghdr *nlh,
		    bool (*is_offload)(void *arg, uint32_t ifindex), void *arg);

#endif
