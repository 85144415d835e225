/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Offload devices: attach and detach, link events (up/down, MAC, bridge
 * ports), neighbours, who owns each device.
 */
#ifndef NFO_DAEMON_DEVICES_H
#define NFO_DAEMON_DEVICES_H

#include "ctx.h"

struct dev *dev_by_ifindex(struct daemon *d, uint32_t ifindex);
int publish_dev(struct daemon *d, struct dev *dv);
int attach_dev(struct daemon *d, struct dev *dv, const struct nfo_link *l);
void detach_dev(struct daemon *d, struct dev *dv, bool unpublish);
void read_rt_events(struct daemon *d);
void refresh_xdp_tx(struct daemon *d);
void watch_owners(struct daemon *d);
void devices_add(struct daemon *d, const char *name, enum nfo_mode want);

#endif
