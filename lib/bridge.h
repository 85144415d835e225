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

#include "rtnl.h"

/*
 * If l is a port of a bridge, put the bridge's name in name and return 1;
 * 0 if it is not a bridge port; -errno if the master cannot be read.
 */
int nfo_bridge_of(struct nfo_nl *nl, const struct nfo_link *l, char *name, size_t len);

/* A bridge device itself? */
bool nfo_link_is_bridge(const struct nfo_link *l);

#endif
