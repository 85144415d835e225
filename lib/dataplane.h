/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data plane: the BPF programs and their maps, created fresh or adopted
 * from pins. This is the seam where another backend (hardware offload) would
 * plug in: everything above it talks in keys, entries and devices.
 */
#ifndef NFO_DATAPLANE_H
#define NFO_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/socket.h>

#include "flow.h"

#define NFO_DEFAULT_PIN_DIR "/sys/fs/bpf/nft-offload"

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

struct nfo_dp_opts {
	const char *pin_dir; /* NULL: private maps, nothing pinned (tests) */
	uint64_t flow_capacity; /* connections per family; 0 = default */
	uint32_t max_ifindex; /* 0 = default */
	/* Verifier statistics ("processed N insns ...") of each program. */
	char *xdp_log, *tc_log;
	size_t log_size;
};

struct nfo_dp {
	struct nfo_fastpath *skel; /* NULL when opened from pins only */
	int map_fd[NFO_MAP_MAX];
	char pin_dir[256];
	bool pinned;
	bool adopted; /* maps came from existing pins */
	uint32_t max_ifindex;
	uint64_t flow_capacity;
	int ncpus;
};

/* Load the programs; create the maps, or reuse them if pinned already. */
int nfo_dp_load(const struct nfo_dp_opts *opts, struct nfo_dp **dpp);
/* Open pinned maps only (the CLI). -ENOENT when nothing is pinned. */
int nfo_dp_open_pinned(const char *pin_dir, struct nfo_dp **dpp);
void nfo_dp_close(struct nfo_dp *dp);
/* Remove the pins (and the pin directory). Missing pins are not an error. */
int nfo_dp_unpin(const char *pin_dir);
/* True if pin_dir holds our pins. */
bool nfo_dp_pinned(const char *pin_dir);

int nfo_dp_prog_fd(const struct nfo_dp *dp, bool xdp);

static inline int nfo_dp_flow_fd(const struct nfo_dp *dp, uint8_t family)
{
	return dp->map_fd[family == AF_INET ? NFO_MAP_FLOW4 : NFO_MAP_FLOW6];
}

/* Flow entries. Errors are -errno. */
int nfo_dp_flow_add(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		    const struct nfo_flow *flow, bool replace);
int nfo_dp_flow_del(struct nfo_dp *dp, uint8_t family, const union nfo_key *key);
int nfo_dp_flow_get(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		    struct nfo_flow *flow);

/* Iterate over every entry of one family; cb returns non-zero to stop. */
typedef int (*nfo_flow_cb)(uint8_t family, const union nfo_key *key,
			   const struct nfo_flow *flow, void *arg);
int nfo_dp_flow_foreach(struct nfo_dp *dp, uint8_t family, nfo_flow_cb cb, void *arg);
/* Number of entries (both families). */
long nfo_dp_flow_count(struct nfo_dp *dp);

/* Devices and per-device statistics summed over CPUs. */
int nfo_dp_dev_get(struct nfo_dp *dp, uint32_t ifindex, struct nfo_dev *dev);
int nfo_dp_dev_set(struct nfo_dp *dp, uint32_t ifindex, const struct nfo_dev *dev);
/*
 * Routing generation: the fast path caches each flow's next hop (device, MACs,
 * MTU) and looks it up again once the generation moved. Bump it on every
 * route, rule, neighbour and link change (device changes bump it themselves);
 * a no-op for a data plane opened from its pins. The getter is for tests.
 */
void nfo_dp_route_gen_bump(struct nfo_dp *dp);
uint32_t nfo_dp_route_gen(struct nfo_dp *dp);
int nfo_dp_slot_get(struct nfo_dp *dp, uint32_t slot, struct nfo_slot *s);
int nfo_dp_slot_set(struct nfo_dp *dp, uint32_t slot, const struct nfo_slot *s);
int nfo_dp_stats_get(struct nfo_dp *dp, uint32_t slot, struct nfo_stats *sum);
int nfo_dp_stats_clear(struct nfo_dp *dp, uint32_t slot);

/* Every device that has a slot, with its statistics: up to max, their number. */
struct nfo_devstat {
	uint32_t slot;
	struct nfo_slot s;
	struct nfo_stats st;
};

int nfo_dp_devstats(struct nfo_dp *dp, struct nfo_devstat *d, int max);

int nfo_dp_state_get(struct nfo_dp *dp, struct nfo_state *st);
int nfo_dp_state_set(struct nfo_dp *dp, const struct nfo_state *st);

#endif
