/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The eBPF backend's own handles, for what is about BPF itself and nothing
 * else: the pin files (pindir.c), BPF_PROG_TEST_RUN tests and benchmarks.
 * The daemon and the CLI use dataplane.h only.
 */
#ifndef NFO_DP_BPF_H
#define NFO_DP_BPF_H

#include <stdbool.h>

#include "dataplane.h"

enum nfo_map {
	NFO_MAP_FLOW4,
	NFO_MAP_FLOW6,
	NFO_MAP_DEVS,
	NFO_MAP_STATS,
	NFO_MAP_SLOTS,
	NFO_MAP_STATE,
	NFO_MAP_EVENTS,
	NFO_MAP_METRICS,
	NFO_MAP_HOSTS,
	NFO_MAP_LEAVING,
	NFO_MAP_MAX,
};

extern const char *const nfo_map_names[NFO_MAP_MAX];

/* -ENOENT when dp was opened from pins only (no programs), or is not BPF. */
int nfo_dp_prog_fd(const struct nfo_dp *dp, bool xdp);
/* A map's file descriptor; -ENOENT if dp is not the BPF backend. */
int nfo_dp_map_fd(const struct nfo_dp *dp, enum nfo_map m);

static inline int nfo_dp_flow_fd(const struct nfo_dp *dp, uint8_t family)
{
	return nfo_dp_map_fd(dp, family == AF_INET ? NFO_MAP_FLOW4 : NFO_MAP_FLOW6);
}

#endif
