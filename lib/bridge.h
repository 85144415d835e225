/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bridges: routed packets of a bridged LAN arrive on the bridge device, never
 * on its ports, so the bridge is the device to offload. Resolve a port to its
 * bridge so that a port given as a device is refused with the right name.
 */
#ifndef NFO_BRIDGE_H
#define NFO_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "flow.h"
#include "rtnl.h"

/*
 * If l is a port of a bridge, put the bridge's name in name and return 1;
 * 0 if it is not a bridge port; -errno if the master cannot be read.
 */
int nfo_bridge_of(struct nfo_nl *nl, const struct nfo_link *l, char *name, size_t len);

/* A bridge device itself? */
bool nfo_link_is_bridge(const struct nfo_link *l);

/*
 * br_netfilter on for this family (net.bridge.bridge-nf-call-iptables or
 * -ip6tables of this network namespace)? Then a routed packet that enters
 * through a bridge has been through conntrack and destination NAT before the
 * bridge device's tc/XDP hook sees it.
 */
bool nfo_bridge_nf_on(uint8_t family);

/*
 * The tuple of a direction as it reaches a bridge's hook with br_netfilter
 * on: the source as it was sent (source NAT comes later, in postrouting), the
 * destination already translated (as in out). Returns false when that is the
 * tuple in itself (no destination NAT in this direction).
 */
bool nfo_tuple_after_dnat(const struct nfo_tuple *in, const struct nfo_tuple *out,
			  struct nfo_tuple *arrive);

#endif
