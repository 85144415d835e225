/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data plane, as the daemon and the CLI see it: the only way they touch
 * the fast path. Everything here talks in keys, entries and devices; struct
 * nfo_dp is opaque. Behind it, a backend implements a small table of
 * operations (dataplane_impl.h): today the eBPF fast path (dp_bpf.c), with
 * its maps created fresh or adopted from pins; a hardware backend (tc flower
 * on a switchdev NIC, docs/hardware-offload.md) would be a second one.
 */
#ifndef NFO_DATAPLANE_H
#define NFO_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/socket.h>

#include "attach.h"
#include "flow.h"
#include "owner.h"

#define NFO_DEFAULT_PIN_DIR "/sys/fs/bpf/nft-offload"

struct nfo_dp;

struct nfo_dp_opts {
	const char *pin_dir; /* NULL: private maps, nothing pinned (tests) */
	uint64_t flow_capacity; /* connections per family; 0 = default */
	uint32_t max_ifindex; /* 0 = default */
	/*
	 * Conntrack timeout (seconds) the fast path sets on the entries of
	 * flows flagged NFO_FLOW_CT_HOLD; 0: the fast path never holds.
	 */
	uint32_t ct_hold_s;
	/*
	 * net.ipv4.ip_forward_update_priority is 0: the tc path leaves
	 * skb->priority alone, as ip_forward() then does (default: it sets it
	 * from the IPv4 TOS).
	 */
	bool keep_priority;
	/* Verifier statistics ("processed N insns ...") of each program. */
	char *xdp_log, *tc_log;
	size_t log_size;
};

/*
 * Load the programs; create the maps, or adopt them if pinned already (pins
 * of another ABI version or layout are refused, with one sentence).
 */
int nfo_dp_load(const struct nfo_dp_opts *opts, struct nfo_dp **dpp);
/* Open pinned maps only (the CLI). -ENOENT when nothing is pinned. */
int nfo_dp_open_pinned(const char *pin_dir, struct nfo_dp **dpp);
void nfo_dp_close(struct nfo_dp *dp);
/* Remove the pins (and the pin directory). Missing pins are not an error. */
int nfo_dp_unpin(const char *pin_dir);
/* True if pin_dir holds our pins. */
bool nfo_dp_pinned(const char *pin_dir);

/* What the data plane is and holds: limits, memory, and identity. */
struct nfo_dp_summary {
	const char *backend; /* "bpf" */
	bool adopted; /* its state came from an earlier run (pins) */
	uint64_t flow_capacity; /* connections per family */
	uint32_t max_ifindex; /* devices with a larger ifindex cannot be offloaded */
	uint64_t reserved_bytes; /* kernel memory the flow tables reserve */
	uint32_t owner_id; /* identifies this instance's programs on a device (0: none) */
};

void nfo_dp_summary(const struct nfo_dp *dp, struct nfo_dp_summary *s);
uint64_t nfo_dp_flow_capacity(const struct nfo_dp *dp);
uint32_t nfo_dp_max_ifindex(const struct nfo_dp *dp);
bool nfo_dp_adopted(const struct nfo_dp *dp);
/*
 * True when the fast path holds conntrack itself for flows flagged
 * NFO_FLOW_CT_HOLD (the kernel has conntrack's BPF functions).
 */
bool nfo_dp_ct_holds(const struct nfo_dp *dp);
/* The kernel has conntrack's BPF functions, with which the fast path holds conntrack. */
bool nfo_kernel_has_ct_kfuncs(void);

/*
 * Devices. attach puts the fast path on a device's hook in a mode (not
 * AUTO) and sets *flags to the NFO_DEV_* bits that describe it; foreign
 * programs make it fail with -EBUSY unless force; ours is replaced without a
 * gap. detach takes those flags back (NFO_DEV_CLSACT_OURS: remove the qdisc
 * it created). check says whether this instance's program is in place.
 */
int nfo_dp_attach(struct nfo_dp *dp, uint32_t ifindex, enum nfo_mode mode, bool force,
		  uint32_t *flags);
int nfo_dp_detach(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags);

struct nfo_dp_devcheck {
	bool attached; /* our program is on the hook these flags name */
	struct nfo_owner owner; /* who owns the nft-offload program found there */
};

int nfo_dp_dev_check(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags,
		     struct nfo_dp_devcheck *c);
/* Whose nft-offload program is on the device, whatever its hook (o->ours: this one's). */
int nfo_dp_dev_owner(struct nfo_dp *dp, uint32_t ifindex, struct nfo_owner *o);

/*
 * Teardown events: the fast path reports each flow it tore down, once.
 * events_open registers the callback (the daemon, once); events_fd is a file
 * descriptor to poll for input; events_poll calls cb for each pending event
 * and returns their number or -errno. A cb that returns non-zero stops the
 * poll; the events after it stay queued.
 */
typedef int (*nfo_dp_event_cb)(const struct nfo_event *e, void *arg);
int nfo_dp_events_open(struct nfo_dp *dp, nfo_dp_event_cb cb, void *arg);
int nfo_dp_events_fd(const struct nfo_dp *dp);
int nfo_dp_events_poll(struct nfo_dp *dp);

/* Flow entries. Errors are -errno. */
int nfo_dp_flow_add(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		    const struct nfo_flow *flow, bool replace);
/*
 * Both directions of one connection (key[dir], flow[dir]), replacing what is
 * there: the reply's entry first, so that the fast path never carries the
 * original direction alone. All or nothing: on an error neither is left.
 */
int nfo_dp_flow_add_conn(struct nfo_dp *dp, uint8_t family, const union nfo_key key[2],
			 const struct nfo_flow flow[2]);
/* One connection's entries, by direction (NFO_DIR_*). */
struct nfo_dp_conn {
	union nfo_key key[2];
	struct nfo_flow flow[2];
};
/*
 * Many connections of one family, in order, each as nfo_dp_flow_add_conn
 * writes it, with as few calls as the backend can: returns how many were
 * written whole before one failed (n if none did). The failing one's error is
 * in *err (else 0), none of its entries is left, the ones after it are not
 * tried.
 */
unsigned int nfo_dp_flow_add_conns(struct nfo_dp *dp, uint8_t family,
				   const struct nfo_dp_conn *c, unsigned int n, int *err);
int nfo_dp_flow_del(struct nfo_dp *dp, uint8_t family, const union nfo_key *key);
int nfo_dp_flow_get(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		    struct nfo_flow *flow);
/* Remove an entry and return its last counters in one step (nothing lost). */
int nfo_dp_flow_take(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
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

/* Every device that has a slot, with its statistics: up to max, their number. */
struct nfo_devstat {
	uint32_t slot;
	struct nfo_slot s;
	struct nfo_stats st;
};

int nfo_dp_devstats(struct nfo_dp *dp, struct nfo_devstat *d, int max);

/* The daemon's records kept with the data plane (they outlive a restart). */
int nfo_dp_state_get(struct nfo_dp *dp, struct nfo_state *st);
int nfo_dp_state_set(struct nfo_dp *dp, const struct nfo_state *st);
int nfo_dp_metrics_get(struct nfo_dp *dp, struct nfo_metrics *m);
int nfo_dp_metrics_set(struct nfo_dp *dp, const struct nfo_metrics *m);
/* Per-host totals: get (-ENOENT if none), set, and the key after prev (NULL: first). */
int nfo_dp_host_get(struct nfo_dp *dp, const struct nfo_host_key *k, struct nfo_host *h);
int nfo_dp_host_set(struct nfo_dp *dp, const struct nfo_host_key *k, const struct nfo_host *h);
int nfo_dp_host_next(struct nfo_dp *dp, const struct nfo_host_key *prev,
		     struct nfo_host_key *next);
/* Final counts queued by the CLI for the daemon: push, and pop (-ENOENT when empty). */
int nfo_dp_leaving_push(struct nfo_dp *dp, const struct nfo_leaving *l);
int nfo_dp_leaving_pop(struct nfo_dp *dp, struct nfo_leaving *l);

#endif
