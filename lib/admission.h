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
#include <stdint.h>

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

/*
 * May the conntrack update that holds an admitted connection's timeout wait
 * for its first idle check, first_check_s away (which holds it anyway)?
 * Only for UDP (TCP's update also makes window tracking liberal, before any
 * packet bypasses conntrack), and only when the entry outlives that check
 * by NFO_ADMIT_HOLD_MARGIN_S: both what is left of its timeout now (left_s,
 * 0 when unknown) and conntrack's own UDP timeouts (udp_s unreplied,
 * udp_stream_s stream), which a packet still on the kernel path may set.
 */
#define NFO_ADMIT_HOLD_MARGIN_S 15

bool nfo_admit_hold_later(uint8_t l4proto, uint32_t left_s, uint32_t udp_s, uint32_t udp_stream_s,
			  uint32_t first_check_s);

#endif
