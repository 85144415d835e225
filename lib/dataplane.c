// SPDX-License-Identifier: GPL-2.0-only
/*
 * The front of the data plane: what is common to every backend (argument
 * checks, counting, the device listing) and the calls into the backend's
 * table of operations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane_impl.h"

int nfo_dp_load(const struct nfo_dp_opts *opts, struct nfo_dp **dpp)
{
	return nfo_dp_bpf_load(opts, dpp);
}

int nfo_dp_open_pinned(const char *pin_dir, struct nfo_dp **dpp)
{
	return nfo_dp_bpf_open_pinned(pin_dir, dpp);
}

void nfo_dp_close(struct nfo_dp *dp)
{
	if (!dp)
		return;
	dp->ops->close(dp);
	free(dp);
}

void nfo_dp_summary(const struct nfo_dp *dp, struct nfo_dp_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->backend = dp->ops->name;
	s->adopted = dp->adopted;
	s->flow_capacity = dp->flow_capacity;
	s->max_ifindex = dp->max_ifindex;
	dp->ops->summary(dp, s);
}

uint64_t nfo_dp_flow_capacity(const struct nfo_dp *dp)
{
	return dp->flow_capacity;
}

uint32_t nfo_dp_max_ifindex(const struct nfo_dp *dp)
{
	return dp->max_ifindex;
}

bool nfo_dp_adopted(const struct nfo_dp *dp)
{
	return dp->adopted;
}

bool nfo_dp_ct_holds(const struct nfo_dp *dp)
{
	return dp->ct_hold_s != 0;
}

/* ---- devices -------------------------------------------------------------- */

int nfo_dp_attach(struct nfo_dp *dp, uint32_t ifindex, enum nfo_mode mode, bool force,
		  uint32_t *flags)
{
	*flags = 0;
	if (!ifindex || ifindex >= dp->max_ifindex)
		return -ERANGE;
	if (mode == NFO_MODE_AUTO)
		return -EINVAL; /* the caller resolves it: it knows the device */
	return dp->ops->attach(dp, ifindex, mode, force, flags);
}

int nfo_dp_detach(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags)
{
	return dp->ops->detach(dp, ifindex, flags);
}

int nfo_dp_dev_check(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags,
		     struct nfo_dp_devcheck *c)
{
	return dp->ops->dev_check(dp, ifindex, flags, c);
}

int nfo_dp_dev_owner(struct nfo_dp *dp, uint32_t ifindex, struct nfo_owner *o)
{
	return dp->ops->dev_owner(dp, ifindex, o);
}

int nfo_dp_dev_get(struct nfo_dp *dp, uint32_t ifindex, struct nfo_dev *dev)
{
	if (ifindex >= dp->max_ifindex)
		return -ERANGE;
	return dp->ops->rec_get(dp, NFO_REC_DEV, &ifindex, dev);
}

int nfo_dp_dev_set(struct nfo_dp *dp, uint32_t ifindex, const struct nfo_dev *dev)
{
	int err;

	if (ifindex >= dp->max_ifindex)
		return -ERANGE;
	err = dp->ops->rec_set(dp, NFO_REC_DEV, &ifindex, dev);
	/* The next hops cached through this device were checked against its flags. */
	nfo_dp_route_gen_bump(dp);
	return err;
}

void nfo_dp_route_gen_bump(struct nfo_dp *dp)
{
	if (dp->ops->route_gen_bump)
		dp->ops->route_gen_bump(dp);
}

uint32_t nfo_dp_route_gen(struct nfo_dp *dp)
{
	return dp->ops->route_gen ? dp->ops->route_gen(dp) : 0;
}

int nfo_dp_slot_get(struct nfo_dp *dp, uint32_t slot, struct nfo_slot *s)
{
	if (slot >= NFO_MAX_SLOTS)
		return -ERANGE;
	return dp->ops->rec_get(dp, NFO_REC_SLOT, &slot, s);
}

int nfo_dp_slot_set(struct nfo_dp *dp, uint32_t slot, const struct nfo_slot *s)
{
	if (slot >= NFO_MAX_SLOTS)
		return -ERANGE;
	return dp->ops->rec_set(dp, NFO_REC_SLOT, &slot, s);
}

int nfo_dp_stats_get(struct nfo_dp *dp, uint32_t slot, struct nfo_stats *sum)
{
	return dp->ops->stats_get(dp, slot, sum);
}

int nfo_dp_devstats(struct nfo_dp *dp, struct nfo_devstat *d, int max)
{
	uint32_t slot;
	int n = 0;

	for (slot = 1; slot < NFO_MAX_SLOTS && n < max; slot++) {
		if (nfo_dp_slot_get(dp, slot, &d[n].s) || !d[n].s.name[0])
			continue;
		if (nfo_dp_stats_get(dp, slot, &d[n].st))
			continue;
		d[n].slot = slot;
		n++;
	}
	return n;
}

/* ---- teardown events -------------------------------------------------------- */

int nfo_dp_events_open(struct nfo_dp *dp, nfo_dp_event_cb cb, void *arg)
{
	return dp->ops->events_open(dp, cb, arg);
}

int nfo_dp_events_fd(const struct nfo_dp *dp)
{
	return dp->ops->events_fd(dp);
}

int nfo_dp_events_poll(struct nfo_dp *dp)
{
	return dp->ops->events_poll(dp);
}

/* ---- flows ------------------------------------------------------------------ */

static bool family_ok(uint8_t family)
{
	return family == AF_INET || family == AF_INET6;
}

int nfo_dp_flow_add(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		    const struct nfo_flow *flow, bool replace)
{
	if (!family_ok(family))
		return -EAFNOSUPPORT;
	return dp->ops->flow_update(dp, family, key, flow, replace);
}

unsigned int nfo_dp_flow_add_conns(struct nfo_dp *dp, uint8_t family,
				   const struct nfo_dp_conn *c, unsigned int n, int *err)
{
	unsigned int i;

	*err = 0;
	if (!n)
		return 0;
	if (!family_ok(family)) {
		*err = -EAFNOSUPPORT;
		return 0;
	}
	if (dp->ops->flow_update_conns)
		return dp->ops->flow_update_conns(dp, family, c, n, err);
	/* One entry at a time, the reply's first. */
	for (i = 0; i < n; i++) {
		*err = dp->ops->flow_update(dp, family, &c[i].key[NFO_DIR_REPLY],
					    &c[i].flow[NFO_DIR_REPLY], true);
		if (*err)
			break;
		*err = dp->ops->flow_update(dp, family, &c[i].key[NFO_DIR_ORIGINAL],
					    &c[i].flow[NFO_DIR_ORIGINAL], true);
		if (*err) {
			dp->ops->flow_delete(dp, family, &c[i].key[NFO_DIR_REPLY]);
			break;
		}
	}
	return i;
}

int nfo_dp_flow_add_conn(struct nfo_dp *dp, uint8_t family, const union nfo_key key[2],
			 const struct nfo_flow flow[2])
{
	struct nfo_dp_conn c;
	int err;

	memcpy(c.key, key, sizeof(c.key));
	memcpy(c.flow, flow, sizeof(c.flow));
	nfo_dp_flow_add_conns(dp, family, &c, 1, &err);
	return err;
}

int nfo_dp_flow_del(struct nfo_dp *dp, uint8_t family, const union nfo_key *key)
{
	if (!family_ok(family))
		return -EAFNOSUPPORT;
	return dp->ops->flow_delete(dp, family, key);
}

int nfo_dp_flow_get(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		    struct nfo_flow *flow)
{
	if (!family_ok(family))
		return -EAFNOSUPPORT;
	return dp->ops->flow_lookup(dp, family, key, flow);
}

int nfo_dp_flow_take(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		     struct nfo_flow *flow)
{
	if (!family_ok(family))
		return -EAFNOSUPPORT;
	return dp->ops->flow_take(dp, family, key, flow);
}

int nfo_dp_flow_foreach(struct nfo_dp *dp, uint8_t family, nfo_flow_cb cb, void *arg)
{
	if (!family_ok(family))
		return -EAFNOSUPPORT;
	return dp->ops->flow_foreach(dp, family, cb, arg);
}

static int count_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		    void *arg)
{
	(*(long *)arg)++;
	return 0;
}

long nfo_dp_flow_count(struct nfo_dp *dp)
{
	long n = 0;
	int err;

	err = nfo_dp_flow_foreach(dp, AF_INET, count_cb, &n);
	if (!err)
		err = nfo_dp_flow_foreach(dp, AF_INET6, count_cb, &n);
	return err ? err : n;
}

/* ---- the daemon's records ----------------------------------------------------- */

int nfo_dp_state_get(struct nfo_dp *dp, struct nfo_state *st)
{
	uint32_t zero = 0;

	return dp->ops->rec_get(dp, NFO_REC_STATE, &zero, st);
}

int nfo_dp_state_set(struct nfo_dp *dp, const struct nfo_state *st)
{
	uint32_t zero = 0;

	return dp->ops->rec_set(dp, NFO_REC_STATE, &zero, st);
}

int nfo_dp_metrics_get(struct nfo_dp *dp, struct nfo_metrics *m)
{
	uint32_t zero = 0;

	return dp->ops->rec_get(dp, NFO_REC_METRICS, &zero, m);
}

int nfo_dp_metrics_set(struct nfo_dp *dp, const struct nfo_metrics *m)
{
	uint32_t zero = 0;

	return dp->ops->rec_set(dp, NFO_REC_METRICS, &zero, m);
}

int nfo_dp_host_get(struct nfo_dp *dp, const struct nfo_host_key *k, struct nfo_host *h)
{
	return dp->ops->rec_get(dp, NFO_REC_HOST, k, h);
}

int nfo_dp_host_set(struct nfo_dp *dp, const struct nfo_host_key *k, const struct nfo_host *h)
{
	return dp->ops->rec_set(dp, NFO_REC_HOST, k, h);
}

int nfo_dp_host_next(struct nfo_dp *dp, const struct nfo_host_key *prev,
		     struct nfo_host_key *next)
{
	return dp->ops->rec_next(dp, NFO_REC_HOST, prev, next);
}

int nfo_dp_leaving_push(struct nfo_dp *dp, const struct nfo_leaving *l)
{
	return dp->ops->rec_set(dp, NFO_REC_LEAVING, NULL, l);
}

int nfo_dp_leaving_pop(struct nfo_dp *dp, struct nfo_leaving *l)
{
	return dp->ops->rec_pop(dp, NFO_REC_LEAVING, l);
}
