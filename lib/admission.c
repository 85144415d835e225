// SPDX-License-Identifier: GPL-2.0-only
#include <netinet/in.h>

#include "admission.h"

enum nfo_admit_dev_why nfo_admit_devices(const struct nfo_admit_dev dev[2], int *dir)
{
	int i;

	for (i = 0; i < 2; i++)
		if (!dev[i].offload || !dev[i].up) {
			*dir = i;
			return NFO_ADMIT_DEV_NOT_OFFLOAD;
		}
	for (i = 0; i < 2; i++)
		if (dev[i].netdev_chain) {
			*dir = i;
			return NFO_ADMIT_DEV_NETDEV_CHAIN;
		}
	*dir = 0;
	return NFO_ADMIT_DEV_OK;
}

bool nfo_admit_hold_later(uint8_t l4proto, uint32_t left_s, uint32_t udp_s, uint32_t udp_stream_s,
			  uint32_t first_check_s)
{
	uint32_t t = left_s;

	if (l4proto != IPPROTO_UDP)
		return false;
	if (udp_s < t)
		t = udp_s;
	if (udp_stream_s < t)
		t = udp_stream_s;
	return t >= first_check_s + NFO_ADMIT_HOLD_MARGIN_S;
}
