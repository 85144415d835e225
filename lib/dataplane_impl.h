/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * For backends only: what a data plane implements. lib/dataplane.c checks
 * arguments common to every backend and calls these; a backend fills in
 * struct nfo_dp's common fields and keeps its own state behind priv.
 */
#ifndef NFO_DATAPLANE_IMPL_H
#define NFO_DATAPLANE_IMPL_H

#include "dataplane.h"

/* The records a data plane keeps for the daemon beside its flows. */
enum nfo_rec {
	NFO_REC_DEV, /* key uint32_t ifindex, struct nfo_dev */
	NFO_REC_SLOT, /* key uint32_t slot, struct nfo_slot */
	NFO_REC_STATE, /* key uint32_t 0, struct nfo_state */
	NFO_REC_METRICS, /* key uint32_t 0, struct nfo_metrics */
	NFO_REC_HOST, /* key struct nfo_host_key, struct nfo_host */
	NFO_REC_LEAVING, /* a queue of struct nfo_leaving (no key) */
};

struct nfo_dp_ops {
	const char *name;
	void (*close)(struct nfo_dp *dp);

	int (*flow_update)(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
			   const struct nfo_flow *flow, bool replace);
	/* Optional: many connections in few steps (see nfo_dp_flow_add_conns). */
	unsigned int (*flow_update_conns)(struct nfo_dp *dp, uint8_t family,
					  const struct nfo_dp_conn *c, unsigned int n, int *err);
	int (*flow_delete)(struct nfo_dp *dp, uint8_t family, const union nfo_key *key);
	int (*flow_lookup)(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
			   struct nfo_flow *flow);
	int (*flow_take)(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
			 struct nfo_flow *flow);
	int (*flow_foreach)(struct nfo_dp *dp, uint8_t family, nfo_flow_cb cb, void *arg);

	int (*attach)(struct nfo_dp *dp, uint32_t ifindex, enum nfo_mode mode, bool force,
		      uint32_t *flags);
	int (*detach)(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags);
	int (*dev_check)(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags,
			 struct nfo_dp_devcheck *c);
	int (*dev_owner)(struct nfo_dp *dp, uint32_t ifindex, struct nfo_owner *o);
	/* Per-device counters summed over CPUs. */
	int (*stats_get)(struct nfo_dp *dp, uint32_t slot, struct nfo_stats *sum);

	/* Records: get/set by key; next walks keys; set with key NULL pushes, pop takes. */
	int (*rec_get)(struct nfo_dp *dp, enum nfo_rec r, const void *key, void *val);
	int (*rec_set)(struct nfo_dp *dp, enum nfo_rec r, const void *key, const void *val);
	int (*rec_next)(struct nfo_dp *dp, enum nfo_rec r, const void *prev, void *next);
	int (*rec_pop)(struct nfo_dp *dp, enum nfo_rec r, void *val);

	int (*events_open)(struct nfo_dp *dp, nfo_dp_event_cb cb, void *arg);
	int (*events_fd)(const struct nfo_dp *dp);
	int (*events_poll)(struct nfo_dp *dp);

	/* reserved_bytes and owner_id of the summary; the rest is common. */
	void (*summary)(const struct nfo_dp *dp, struct nfo_dp_summary *s);
	/* The routing generation cached next hops are checked against. */
	void (*route_gen_bump)(struct nfo_dp *dp);
	uint32_t (*route_gen)(const struct nfo_dp *dp);
};

struct nfo_dp {
	const struct nfo_dp_ops *ops;
	void *priv; /* the backend's */
	bool adopted; /* state came from an earlier run */
	uint32_t max_ifindex;
	uint64_t flow_capacity;
	uint32_t ct_hold_s; /* the fast path holds conntrack for this long (0: it does not) */
};

/* The eBPF backend (dp_bpf.c). */
extern const struct nfo_dp_ops nfo_dp_bpf_ops;
int nfo_dp_bpf_load(const struct nfo_dp_opts *opts, struct nfo_dp **dpp);
int nfo_dp_bpf_open_pinned(const char *pin_dir, struct nfo_dp **dpp);

#endif
