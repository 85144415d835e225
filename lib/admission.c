// SPDX-License-Identifier: GPL-2.0-only
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
