/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device part of admission, one function for the daemon (which admits)
 * and `explain` (which says why not), so that the two can never disagree:
 * both directions must enter through offload devices that are up, and no
 * netdev chain may hook either (tc and XDP run before the netdev ingress
 * hook and a redirect skips the egress hook: offloaded packets would skip
 * those chains).
 */
#ifndef NFO_ADMISSION_H
#define NFO_ADMISSION_H

#include <stdbool.h>

/* One direction's ingress device, as the caller knows it. */
struct nfo_admit_dev {
	bool offload; /* an offload device: nft-offload's program is attached */
	bool up; /* link up */
	bool netdev_chain; /* hooked by a netdev chain allow-netdev-chains does not name */
};

enum nfo_admit_dev_why {
	NFO_ADMIT_DEV_OK,
	NFO_ADMIT_DEV_NOT_OFFLOAD, /* not an offload device, or down */
	NFO_ADMIT_DEV_NETDEV_CHAIN, /* kept on the kernel path by a netdev chain */
};

/*
 * dev[NFO_DIR_ORIGINAL], dev[NFO_DIR_REPLY]: may the connection be admitted?
 * Devices are judged before netdev chains; *dir is the first direction that
 * fails.
 */
enum nfo_admit_dev_why nfo_admit_devices(const struct nfo_admit_dev dev[2], int *dir);

#endif
