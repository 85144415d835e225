// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, admission: the queue of eligible connections, room in the
 * flow table (waiters), route lookups, the device/policy/xfrm checks,
 * conntrack updates, the map writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "admission.h"
#include "bridge.h"
#include "instance.h"
#include "flowmem.h"
#include "log.h"

#include "ctx.h"
#include "ctreq.h"
#include "gc.h"
#include "iprules.h"
#include "devices.h"
#include "ruleset.h"
#include "admit.h"

/*
 * The flow maps are preallocated, one per family, each with room for
 * flow_capacity connections. A marked connection that finds no room is not
 * touched in conntrack (no held timeout, no liberal window tracking: it stays
 * on the kernel path as it is) and waits in a FIFO; when offloaded
 * connections leave, the oldest waiters are asked for again and admitted.
 */
/* The admission latency histogram (published by publish_state). */
static unsigned int latency_bucket(uint64_t ns)
{
	unsigned int msb;

	if (ns < 8)
		return ns;
	msb = 63 - __builtin_clzll(ns);
	return (msb - 2) * 8 + ((ns >> (msb - 3)) & 7);
}

static void latency_record(struct daemon *d, uint64_t ns)
{
	unsigned int b = latency_bucket(ns);

	d->adm.lat[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
	nfo_exporter_latency(&d->mx, ns);
	if (ns > d->adm.lat_max)
		d->adm.lat_max = ns;
}

static bool table_room(struct daemon *d, uint8_t family, uint64_t planned)
{
	int f = family == AF_INET6;

	return d->tab.count_fam[f] + d->waitq.released[f] + planned < nfo_dp_flow_capacity(d->dp);
}

static void wait_for_room(struct daemon *d, const struct nfo_tuple *orig, uint16_t zone)
{
	uint64_t now = mono_now_ns();

	if (nfo_waitq_find(&d->waitq, orig, zone) ||
	    nfo_waitq_add(&d->waitq, orig, zone, d->in.gen))
		return;
	if (now - d->adm.last_full_warn > 10000000000ULL) {
		d->adm.last_full_warn = now;
		pr_warn("flow table full (%llu connections per family): %llu marked connections "
			"wait on the kernel path for room; raise 'flows'",
			(unsigned long long)nfo_dp_flow_capacity(d->dp),
			(unsigned long long)d->waitq.count);
	}
}

/* Where the capacity came from, for the start's log line (flows not set). */
const char *admit_capacity_origin(struct daemon *d)
{
	uint64_t cap = nfo_dp_flow_capacity(d->dp);

	if (d->adm.ct_limit <= 0 && cap == NFO_DEFAULT_FLOWS)
		return " (the default: conntrack's limit unknown or none)";
	if (d->adm.ct_limit > 0 && cap == (uint64_t)d->adm.ct_limit)
		return " (conntrack's limit)";
	if (d->adm.ct_limit > 0 && cap == NFO_MIN_FLOWS && d->adm.ct_limit < (long long)cap)
		return " (the least default; conntrack's limit is lower)";
	return "";
}

/*
 * flows not set: the table was sized to conntrack's limit. If the limit is
 * raised later, conntrack may hold connections the table has no room for;
 * the table cannot grow while it runs. Say so once per new limit.
 */
void admit_watch_ct_limit(struct daemon *d)
{
	long long limit;

	if (d->cfg->flows)
		return;
	limit = nfo_ct_limit();
	if (limit < 0 || limit == d->adm.ct_limit)
		return;
	d->st.flags &= ~NFO_STATE_CT_LIMIT_ABOVE;
	if (limit == 0 || (uint64_t)limit > nfo_dp_flow_capacity(d->dp)) {
		d->st.flags |= NFO_STATE_CT_LIMIT_ABOVE;
		pr_warn("conntrack's limit (net.netfilter.nf_conntrack_max) is now %lld%s, above "
			"the flow table's capacity of %llu connections per family: connections "
			"beyond it stay on the kernel path. Restart nft-offload to size the table "
			"again (a table kept with --keep-on-exit keeps its size until 'nft-offload "
			"stop'), or set 'flows'",
			limit, limit ? "" : " (no limit)",
			(unsigned long long)nfo_dp_flow_capacity(d->dp));
	}
	d->adm.ct_limit = limit;
}

/* The conntrack entry is gone or no longer marked: stop waiting for it. */
void forget_waiter(struct daemon *d, const struct nfo_ct *ct)
{
	struct nfo_waiter *w = nfo_waitq_find(&d->waitq, &ct->orig, ct->zone);

	if (w)
		nfo_waitq_remove(&d->waitq, w);
}

/* May this eligible connection be admitted now, or must it wait (FIFO)? */
bool may_admit(struct daemon *d, const struct nfo_ct *ct)
{
	struct nfo_waiter *w = nfo_waitq_find(&d->waitq, &ct->orig, ct->zone);

	if (w && w->released_s) {
		/* Its turn came: the answer to the GET below. */
		nfo_waitq_remove(&d->waitq, w);
		return true;
	}
	if (w) {
		w->gen = d->in.gen;
		return false;
	}
	if (!d->waitq.waiting[ct->orig.family == AF_INET6] && table_room(d, ct->orig.family, 0))
		return true;
	wait_for_room(d, &ct->orig, ct->zone);
	return false;
}

/* Room freed: ask conntrack again for the oldest waiters that now fit. */
void release_waiters(struct daemon *d)
{
	uint32_t now = mono_now_s();
	struct nfo_waiter *w;
	uint64_t room[2];
	int f, n = 0;

	for (f = 0; f < 2; f++) {
		uint64_t used = d->tab.count_fam[f] + d->waitq.released[f];

		room[f] = d->waitq.waiting[f] && used < nfo_dp_flow_capacity(d->dp)
			      ? nfo_dp_flow_capacity(d->dp) - used
			      : 0;
	}
	/* No flush inside the walk: the answers may remove waiters. */
	for (w = d->waitq.head; w && (room[0] || room[1]) && n < BATCH_MAX / 2; w = w->qnext) {
		f = w->orig.family == AF_INET6;
		if (w->released_s || !room[f])
			continue;
		if (!nfo_nl_batch_room(&d->ctreq.ct_batch, NFO_CT_REQ_MAX) ||
		    d->ctreq.ct_batch.count >= BATCH_MAX)
			break;
		room[f]--;
		nfo_waitq_release(&d->waitq, w, now);
		nfo_ct_req_get(&d->ctreq.ct_batch, &w->orig, w->zone);
		n++;
	}
	if (n)
		ct_flush(d);
}

/*
 * Waiters asked for again that got no answer (gone from conntrack) and, after
 * a complete dump, waiters conntrack no longer has.
 */
void expire_waiters(struct daemon *d, bool after_dump)
{
	uint32_t now = mono_now_s();
	struct nfo_waiter *w, *next;

	if (!after_dump && !d->waitq.released[0] && !d->waitq.released[1])
		return;
	for (w = d->waitq.head; w; w = next) {
		next = w->qnext;
		if (w->released_s ? now - w->released_s >= 3 : after_dump && w->gen != d->in.gen)
			nfo_waitq_remove(&d->waitq, w);
	}
}

/* The queued admission of this connection, or NULL; *slot: where it would go. */
static struct pending *find_pending(struct daemon *d, const struct nfo_ct *ct, uint32_t *slot)
{
	uint32_t i = nfo_flowtable_hash(&ct->orig, ct->zone) & (PENDING_INDEX - 1);

	/*
	 * An index, not a walk of the queue: with hundreds queued, the walk
	 * cost microseconds per connection.
	 */
	for (; d->adm.pend_index[i]; i = (i + 1) & (PENDING_INDEX - 1)) {
		struct pending *p = &d->adm.pend[d->adm.pend_index[i] - 1];

		if (p->ct.zone == ct->zone && nfo_tuple_equal(&p->ct.orig, &ct->orig))
			return p;
	}
	*slot = i;
	return NULL;
}

/*
 * Conntrack destroyed a connection queued for admission (both events in one
 * batch): do not admit it. Nothing else would take it out again: its
 * DESTROY is consumed, and a UDP connection's first hold may be seconds away.
 */
void forget_pending(struct daemon *d, const struct nfo_ct *ct)
{
	uint32_t slot;
	struct pending *p = d->adm.npend ? find_pending(d, ct, &slot) : NULL;

	if (p)
		p->gone = true;
}

void queue_admission(struct daemon *d, const struct nfo_ct *ct, uint64_t rx_ns)
{
	struct pending *p;
	uint32_t i;

	/* The same connection twice in one batch (several events): once. */
	p = find_pending(d, ct, &i);
	if (p) {
		if (p->gone) {
			/* Destroyed, then created again (a new entry): admit the new one. */
			p->ct = *ct;
			p->gone = false;
		}
		return;
	}
	if (d->adm.npend == PENDING_MAX) {
		process_pending(d);
		/* The index is empty again. */
		i = nfo_flowtable_hash(&ct->orig, ct->zone) & (PENDING_INDEX - 1);
	}
	d->adm.pend_index[i] = d->adm.npend + 1;
	p = &d->adm.pend[d->adm.npend++];
	p->ct = *ct;
	p->rx_ns = rx_ns;
	p->oif[0] = p->oif[1] = 0;
	p->conn = NULL;
	p->gone = false;
}

static int route_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;

	if (!err && nlh && idx < NFO_ADDRSET_MAX)
		d->adm.rt_oif[idx] = nfo_route_oif(nlh);
	return 0;
}

/*
 * Both directions must enter through devices we are attached to that are up,
 * and no netdev chain may hook them: the check explain makes too.
 */
static bool devices_ok(struct daemon *d, struct pending *p)
{
	struct nfo_admit_dev ad[2] = {};
	struct dev *dv[2];
	char buf[128];
	int dir;

	for (dir = 0; dir < 2; dir++) {
		dv[dir] = dev_by_ifindex(d, p->oif[dir]);
		ad[dir].offload = dv[dir] && dv[dir]->attached;
		ad[dir].up = dv[dir] && dv[dir]->up;
		ad[dir].netdev_chain = dv[dir] && dv[dir]->netdev_chain;
	}
	switch (nfo_admit_devices(ad, &dir)) {
	case NFO_ADMIT_DEV_OK:
		return true;
	case NFO_ADMIT_DEV_NOT_OFFLOAD:
		d->adm.skip_devices++;
		if (nfo_log_get_level() >= NFO_LOG_DEBUG)
			pr_debug("not offloaded (%s direction arrives on a device that is "
				 "not an offload device): %s",
				 dir ? "reply" : "original",
				 tuple_str(&p->ct.orig, buf, sizeof(buf)));
		break;
	case NFO_ADMIT_DEV_NETDEV_CHAIN:
		d->adm.skip_keptoff++;
		if (nfo_log_get_level() >= NFO_LOG_DEBUG)
			pr_debug("not offloaded (netdev chains hook %s): %s", dv[dir]->name,
				 tuple_str(&p->ct.orig, buf, sizeof(buf)));
		break;
	}
	return false;
}

/*
 * A direction entering through a bridge with br_netfilter on arrives with its
 * destination NAT already applied (by the bridge's prerouting hooks): key it
 * as it arrives, and rewrite only what is left (the source).
 */
static void bridge_rekey(struct daemon *d, const struct pending *p, int dir,
			 const struct nfo_tuple *out, union nfo_key *key, struct nfo_flow *flow)
{
	const struct nfo_tuple *in = dir ? &p->ct.reply : &p->ct.orig;
	struct dev *dv = dev_by_ifindex(d, p->oif[dir]);
	uint32_t info = flow->flags & (NFO_FLOW_SNAT | NFO_FLOW_DNAT);
	struct nfo_tuple arrive;

	if (!dv || !dv->bridge || !nfo_tuple_after_dnat(in, out, &arrive) ||
	    !nfo_bridge_nf_on(in->family))
		return;
	nfo_flow_build(&arrive, out, p->oif[dir], p->ct.id, dir, key, flow);
	flow->flags |= info | NFO_FLOW_AFTER_DNAT;
}

/* The connection and its two flow entries (e->flow), to write. NULL: no memory. */
static struct nfo_conn *admit_build(struct daemon *d, const struct pending *p,
				    struct nfo_dp_conn *e)
{
	const struct nfo_ct *ct = &p->ct;
	struct nfo_flow *flow = e->flow;
	struct nfo_tuple out[2];
	struct nfo_conn *c;
	int dir;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->orig = ct->orig;
	c->zone = ct->zone;
	c->ct_id = ct->id;
	c->tcp_state = ct->has_tcp_state ? ct->tcp_state : TCP_CONNTRACK_ESTABLISHED;
	c->assured = !!(ct->status & (IPS_ASSURED | IPS_SEEN_REPLY));
	c->gen = d->in.gen;
	/* A packet of one direction leaves looking like the other's inverse. */
	nfo_tuple_invert(&out[0], &ct->reply);
	nfo_tuple_invert(&out[1], &ct->orig);
	nfo_flow_build(&ct->orig, &out[0], p->oif[0], ct->id, NFO_DIR_ORIGINAL, &c->key[0],
		       &flow[0]);
	nfo_flow_build(&ct->reply, &out[1], p->oif[1], ct->id, NFO_DIR_REPLY, &c->key[1], &flow[1]);
	bridge_rekey(d, p, NFO_DIR_ORIGINAL, &out[0], &c->key[0], &flow[0]);
	bridge_rekey(d, p, NFO_DIR_REPLY, &out[1], &c->key[1], &flow[1]);
	for (dir = 0; dir < 2; dir++) {
		flow[dir].mark = p->route[dir].mark;
		flow[dir].route_oif = p->route[dir].outdev;
	}
	/* The original direction leaves where the reply comes in (symmetric). */
	if (flow[0].flags & NFO_FLOW_SNAT)
		flow[0].snat_oif = p->oif[1];
	/*
	 * The fast path holds conntrack where it finds the entry by the keys:
	 * where they are conntrack's tuples (not a bridge's, after destination
	 * NAT). Its lookup knows no zone; other zones are not offloaded.
	 */
	c->fp_holds = nfo_dp_ct_holds(d->dp) &&
		      !((flow[0].flags | flow[1].flags) & NFO_FLOW_AFTER_DNAT);
	if (c->fp_holds) {
		flow[0].flags |= NFO_FLOW_CT_HOLD;
		flow[1].flags |= NFO_FLOW_CT_HOLD;
	}
	return c;
}

/*
 * Its entries could not be written (err): it stays on the kernel path. held:
 * conntrack already holds it (TCP), give conntrack its timeout back.
 */
static void admit_failed(struct daemon *d, struct pending *p, struct nfo_conn *c, int err,
			 bool held, uint64_t now)
{
	const struct nfo_ct *ct = &p->ct;

	d->st.admit_errors++;
	if (err == -E2BIG || err == -ENOSPC || err == -ENOMEM) {
		/* Full although counted: wait, do not retry at once. */
		wait_for_room(d, &ct->orig, ct->zone);
	} else if (now - d->adm.last_full_warn > 10000000000ULL) {
		d->adm.last_full_warn = now;
		pr_warn("cannot write a flow entry: %s", strerror(-err));
	}
	if (held) {
		ct_flush_if_full(d);
		nfo_flow_offload_fixup_ct(&d->ctreq.ct_batch, NFO_FIXUP_TIMEOUT, &ct->orig, ct->zone,
					  c->tcp_state, c->assured, 0, d->cfg->mark);
	}
	free(c);
	p->ok = false;
}

/*
 * TCP, after the map writes: forget conntrack's highest ACK once more. A
 * packet conntrack judged between the hold and the map writes set it again,
 * to a value the fast path's packets soon leave behind; conntrack would then
 * take the final RST, at exactly the sequence the receiver expects, for one
 * that is not exact, and keep the entry ESTABLISHED (with the close timeout)
 * instead of closing it. On the quiet socket, sent with the holds of the
 * idle checks; the connection counts as offloaded without waiting for it.
 */
static void forget_max_ack(struct daemon *d, const struct pending *p)
{
	if (!nfo_nl_batch_room(&d->ctreq.hold_batch, NFO_CT_REQ_MAX) ||
	    d->ctreq.hold_batch.count >= BATCH_MAX)
		ct_flush(d);
	nfo_ct_req_update(&d->ctreq.hold_batch, &p->ct.orig, p->ct.zone,
			  &(struct nfo_ct_update){ .tcp_liberal = true });
}

/* Conntrack holds the connection (or will at its first check): it is offloaded. */
static void admit_done(struct daemon *d, struct pending *p)
{
	char buf[128];

	/*
	 * The first idle check, at most 10 s away, holds the conntrack entry
	 * again, TCP always and UDP where the fast path does not (fp_holds:
	 * it holds every 8.6 s while packets flow): against a packet the fast
	 * path passed to the stack, one still in flight on the kernel path
	 * when the entries were written, and (TCP) one conntrack saw between
	 * its update and the map writes. Each set the entry back to its own
	 * timeout: for TCP that is long (established: days; with data
	 * unacknowledged: minutes), for UDP it is not.
	 */
	p->conn->first_check = 1;
	nfo_flowtable_schedule(&d->tab, p->conn, mono_now_s() + first_check_s(d));
	latency_record(d, mono_now_ns() - p->rx_ns);
	d->st.offloaded_total++;
	if (nfo_log_get_level() >= NFO_LOG_DEBUG)
		pr_debug("offload: %s (in %s / %s)", tuple_str(&p->ct.orig, buf, sizeof(buf)),
			 dev_by_ifindex(d, p->oif[0])->name, dev_by_ifindex(d, p->oif[1])->name);
	p->conn = NULL;
}

static int prep_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;

	/* The conntrack entry is gone (ENOENT) or refused: do not offload. */
	if (err && idx < (unsigned int)d->adm.nprep) {
		struct pending *p = &d->adm.pend[d->adm.prep[idx]];
		char buf[128];

		p->ok = false;
		d->adm.skip_conntrack++;
		if (nfo_log_get_level() >= NFO_LOG_DEBUG)
			pr_debug("not offloaded (conntrack update: %s): %s", strerror(-err),
				 tuple_str(&p->ct.orig, buf, sizeof(buf)));
	}
	return 0;
}

/*
 * A UDP connection needs no conntrack update at its admission when its entry
 * outlives the first idle check, which holds it (nfo_admit_hold_later). The
 * update, with the event the kernel builds for it, was about half of the
 * daemon's CPU per UDP offload (cp bench: 13-17 us -> 7-8 us). A connection
 * conntrack destroys meanwhile leaves by its DESTROY event, also when that
 * comes in the same batch as the event that queued it (forget_pending).
 */
static bool hold_at_first_check(const struct daemon *d, const struct pending *p)
{
	return nfo_admit_hold_later(p->ct.orig.l4proto, p->ct.timeout,
				    nfo_ct_timeout(IPPROTO_UDP, 0, false),
				    nfo_ct_timeout(IPPROTO_UDP, 0, true), first_check_s(d));
}

/* The one conntrack update of an admission, for pend[i]. */
static void queue_hold(struct daemon *d, int i)
{
	struct pending *p = &d->adm.pend[i];

	d->adm.prep[d->adm.nprep++] = i;
	nfo_ct_req_update(&d->adm.adm_batch, &p->ct.orig, p->ct.zone,
			  &(struct nfo_ct_update){ .set_timeout = true,
						   .timeout = d->cfg->ct_timeout,
						   .tcp_liberal = true });
}

/* Send the updates queued; those conntrack refused, or all on a failure, are not ok. */
static void send_holds(struct daemon *d)
{
	int err = nfo_nl_batch_flush(&d->adm.adm_batch, prep_cb, d), i;

	if (err) {
		/* Unknown which were applied: offload none of them now. */
		pr_warn("conntrack updates failed: %s; will retry at the next resync",
			strerror(-err));
		d->adm.update_failures++;
		for (i = 0; i < d->adm.nprep; i++)
			d->adm.pend[d->adm.prep[i]].ok = false;
	}
}

/*
 * Admit everything queued:
 *  1. route lookups for both directions' ingress device (the device the
 *     sender is reached through: routing is assumed symmetric);
 *  2. the checks;
 *  3. one conntrack update per connection, acknowledged before it counts as
 *     offloaded: timeout held while offloaded, and TCP window tracking
 *     liberal - otherwise the first reply acknowledging data conntrack
 *     never saw would be INVALID. For TCP it comes before the map writes
 *     (4), so that no packet bypasses conntrack before it is liberal. For
 *     UDP (nothing to make liberal) it comes after them, so that no packet
 *     reaches conntrack after it and gives the entry its own timeout again
 *     (30 s unreplied, 120 s stream): before, a second update per
 *     connection after the map writes held it once more. A UDP connection
 *     conntrack refuses (gone meanwhile) leaves the fast path at once.
 *     Most UDP connections need no update here: the fast path holds them
 *     from their first packet on (fp_holds), or their first idle check
 *     holds them in time (hold_at_first_check).
 *  4. the flow map writes;
 *  5. TCP: conntrack's highest ACK forgotten once more (forget_max_ack),
 *     sent after the connection counts as offloaded.
 */
static void process_chunk(struct daemon *d, int first, int n, uint64_t now)
{
	struct nfo_conn *conn[BATCH_MAX / 2];
	struct nfo_dp_conn e[BATCH_MAX / 2];
	int idx[BATCH_MAX / 2], errs[BATCH_MAX / 2];
	uint64_t planned[2] = { 0, 0 };
	struct nfo_addrset as;
	int i, j, m, dir, err;

	/* Each distinct address once: its connections share the answer. */
	nfo_addrset_init(&as);
	for (i = first; i < first + n; i++) {
		struct pending *p = &d->adm.pend[i];

		for (dir = 0; dir < 2; dir++) {
			const struct nfo_tuple *t = dir ? &p->ct.reply : &p->ct.orig;
			bool added;

			p->rt[dir] = nfo_addrset_add(&as, t->family, &t->src, &added);
			if (added)
				nfo_route_req(&d->adm.rt_batch, t->family, &t->src);
		}
	}
	memset(d->adm.rt_oif, 0, sizeof(d->adm.rt_oif));
	err = nfo_nl_batch_flush(&d->adm.rt_batch, route_cb, d);
	if (err)
		pr_warn("route lookups failed: %s", strerror(-err));
	for (i = first; i < first + n; i++) {
		struct pending *p = &d->adm.pend[i];

		for (dir = 0; dir < 2; dir++)
			p->oif[dir] = p->rt[dir] >= 0 ? d->adm.rt_oif[p->rt[dir]] : 0;
	}
	d->adm.nprep = 0;
	for (i = first; i < first + n; i++) {
		struct pending *p = &d->adm.pend[i];

		if (p->gone) {
			/* Gone from conntrack meanwhile (its DESTROY came in the same batch). */
			d->adm.skip_conntrack++;
			p->ok = false;
			continue;
		}
		if (!policy_ok(d, p)) {
			p->ok = false;
			continue;
		}
		p->ok = devices_ok(d, p);
		if (!p->ok)
			continue;
		p->ok = !kept_off(d, p);
		if (!p->ok) {
			d->adm.skip_keptoff++;
			continue;
		}
		/* No room: leave conntrack untouched, wait (no hold, no liberal). */
		if (!table_room(d, p->ct.orig.family, planned[p->ct.orig.family == AF_INET6])) {
			p->ok = false;
			wait_for_room(d, &p->ct.orig, p->ct.zone);
			continue;
		}
		planned[p->ct.orig.family == AF_INET6]++;
		if (p->ct.orig.l4proto == IPPROTO_TCP)
			queue_hold(d, i);
	}
	send_holds(d);
	/* The map writes, all at once. */
	for (i = first, m = 0; i < first + n; i++) {
		struct pending *p = &d->adm.pend[i];

		if (!p->ok)
			continue;
		conn[m] = admit_build(d, p, &e[m]);
		if (!conn[m]) {
			p->ok = false;
			continue;
		}
		idx[m++] = i;
	}
	nfo_flow_offload_add_many(&d->tab, d->dp, conn, e, m, now, errs);
	d->adm.nprep = 0;
	for (j = 0; j < m; j++) {
		struct pending *p = &d->adm.pend[idx[j]];
		bool tcp = p->ct.orig.l4proto == IPPROTO_TCP;

		if (errs[j]) {
			admit_failed(d, p, conn[j], errs[j], tcp, now);
			continue;
		}
		p->conn = conn[j];
		if (tcp || p->conn->fp_holds || hold_at_first_check(d, p)) {
			if (tcp)
				forget_max_ack(d, p);
			admit_done(d, p);
		} else {
			queue_hold(d, idx[j]);
		}
	}
	send_holds(d);
	for (i = 0; i < d->adm.nprep; i++) {
		struct pending *p = &d->adm.pend[d->adm.prep[i]];

		if (p->ok) {
			admit_done(d, p);
		} else {
			/* Conntrack refused it (gone) or the batch failed: kernel path. */
			nfo_flow_offload_del(&d->tab, d->dp, p->conn);
			p->conn = NULL;
		}
	}
}

void process_pending(struct daemon *d)
{
	uint64_t now = mono_now_ns();
	int i;

	for (i = 0; i < d->adm.npend; i += BATCH_MAX / 2)
		process_chunk(
		    d, i, d->adm.npend - i < BATCH_MAX / 2 ? d->adm.npend - i : BATCH_MAX / 2, now);
	if (d->adm.npend)
		memset(d->adm.pend_index, 0, sizeof(d->adm.pend_index));
	d->adm.npend = 0;
	ct_flush(d);
}

/* Say, once per change, how many marked connections were not offloaded and why. */
void admit_report(struct daemon *d)
{
	if (d->adm.skip_devices + d->adm.skip_conntrack == d->adm.skip_logged)
		return;
	d->adm.skip_logged = d->adm.skip_devices + d->adm.skip_conntrack;
	pr_info("marked connections not offloaded so far: %llu entering through a device "
		"that is not an offload device, %llu gone from conntrack meanwhile",
		(unsigned long long)d->adm.skip_devices, (unsigned long long)d->adm.skip_conntrack);
}

/*
 * Its batches: route lookups on the loop's route socket, conntrack updates on
 * ctreq's quiet socket (they never touch a mark: their events say nothing new).
 */
int admit_open(struct daemon *d)
{
	return nfo_nl_batch_init(&d->adm.rt_batch, &d->rt_req, 256 * 1024, true) ?:
	       nfo_nl_batch_init(&d->adm.adm_batch, &d->ctreq.ct_quiet, 256 * 1024, false);
}

void admit_close(struct daemon *d)
{
	nfo_nl_batch_free(&d->adm.rt_batch);
	nfo_nl_batch_free(&d->adm.adm_batch);
}
