// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, connections leaving the fast path: eviction by reason (with
 * the hand-back to conntrack), the idle gc step, the fast path's teardown
 * events.
 */
#include <netinet/in.h>
#include <string.h>

#include "log.h"

#include "ctx.h"
#include "ctreq.h"
#include "gc.h"
#include "intake.h"

static const char *const evict_names[] = {
#define X(e, label) label,
    NFO_EVICTS(X)
#undef X
};

/* How each reason to leave the fast path hands the connection back. */
static enum nfo_fixup evict_fixup(enum evict_why why)
{
	switch (why) {
	case EVICT_IDLE:
	case EVICT_RULESET:
	case EVICT_DEVICE:
	case EVICT_ROUTE:
	case EVICT_KEPTOFF:
		/* Give conntrack its timeout back; clear the mark to re-judge. */
		return NFO_FIXUP_REJUDGE;
	case EVICT_UNMARKED:
	case EVICT_GONE:
		return NFO_FIXUP_TIMEOUT;
	case EVICT_TEARDOWN:
		/* The fast path saw a FIN/RST, conntrack did not report it. */
		return NFO_FIXUP_CLOSING;
	case EVICT_CLOSING:
	case EVICT_DESTROY:
		break; /* conntrack has set its own timeout, or forgot the entry */
	}
	return NFO_FIXUP_NONE;
}

void evict(struct daemon *d, struct nfo_conn *c, enum evict_why why, uint32_t idle_s)
{
	enum nfo_fixup how = evict_fixup(why);
	char buf[128];

	/* Final counts first: taking the entries out also reads them. */
	nfo_exporter_leaving(&d->mx, c, why, evict_names[why]);
	if (how != NFO_FIXUP_NONE) {
		ct_flush_if_full(d);
		nfo_flow_offload_fixup_ct(&d->ctreq.ct_batch, how, &c->orig, c->zone, c->tcp_state,
					  c->assured, idle_s, d->cfg->mark);
		if (how == NFO_FIXUP_REJUDGE || how == NFO_FIXUP_CLOSING)
			intake_marks_cleared(d, &c->orig, c->zone);
	}
	if (nfo_log_get_level() >= NFO_LOG_DEBUG)
		pr_debug("evict (%s): %s", evict_names[why], tuple_str(&c->orig, buf, sizeof(buf)));
	nfo_flow_offload_del(&d->tab, d->dp, c);
	d->st.evicted_total++;
}

struct evict_all_arg {
	struct daemon *d;
	enum evict_why why;
	uint32_t ifindex; /* 0: all */
	long n;
};

static void evict_all_cb(struct nfo_conn *c, void *arg)
{
	struct evict_all_arg *a = arg;

	if (a->ifindex && nfo_conn_ifindex(c, 0) != a->ifindex &&
	    nfo_conn_ifindex(c, 1) != a->ifindex)
		return;
	evict(a->d, c, a->why, 0);
	a->n++;
}

long evict_all(struct daemon *d, enum evict_why why, uint32_t ifindex)
{
	struct evict_all_arg a = { .d = d, .why = why, .ifindex = ifindex };

	d->gc.evict_alls++; /* the intake discards a dump running meanwhile */
	nfo_flowtable_foreach(&d->tab, evict_all_cb, &a);
	ct_flush(d);
	return a.n;
}

/* Conntrack's timeout of an offloaded connection: the long one, again. */
void hold_ct(struct daemon *d, const struct nfo_conn *c)
{
	if (!nfo_nl_batch_room(&d->ctreq.hold_batch, NFO_CT_REQ_MAX) ||
	    d->ctreq.hold_batch.count >= BATCH_MAX)
		ct_flush(d);
	nfo_flow_offload_refresh(&d->ctreq.hold_batch, c, d->cfg->ct_timeout);
}

/*
 * The fast path tore a flow down. A moved route of a source-NATed flow goes
 * back to the stack at once (it decides: the kernel drops masquerade whose
 * device changed); after a FIN/RST conntrack normally reports the close
 * within milliseconds, so only check again shortly in case it does not.
 * Or it could not hold conntrack's entry: the daemon holds it from now on.
 */
int fast_path_event(const struct nfo_event *e, void *ctx)
{
	struct daemon *d = ctx;
	union nfo_key key = {};
	struct nfo_flow f = {};
	struct nfo_conn *c;

	if (e->family != AF_INET && e->family != AF_INET6)
		return 0;
	memcpy(&key, e->key, e->family == AF_INET ? sizeof(key.k4) : sizeof(key.k6));
	/* A reply entry names its connection through its NAT: read it. */
	if (e->dir != NFO_DIR_ORIGINAL && nfo_dp_flow_get(d->dp, e->family, &key, &f))
		return 0;
	f.dir = e->dir;
	f.ct_id = e->ct_id;
	c = nfo_flowtable_find_entry(&d->tab, e->family, &key, &f);
	if (!c)
		return 0;
	if (e->type == NFO_EVENT_CT_HOLD_FAILED) {
		if (c->fp_holds && !d->gc.ct_hold_failures++)
			pr_warn("the fast path could not hold a connection's conntrack entry (not "
				"found, or a fixed timeout): the daemon holds such connections");
		c->fp_holds = 0;
		hold_ct(d, c);
	} else if (e->type == NFO_TEARDOWN_ROUTE) {
		evict(d, c, EVICT_ROUTE, 0);
	} else {
		nfo_flow_offload_teardown(&d->tab, c, mono_now_s());
	}
	return 0;
}

void read_teardowns(struct daemon *d)
{
	nfo_dp_events_poll(d->dp);
	ct_flush(d);
}

/*
 * The idle checks due: each reads both entries and holds conntrack again,
 * some microseconds. Connections admitted in the same second come due in
 * the same second (a flood: tens of thousands; checked at once, they held
 * the event loop for 300 ms), so they are checked in steps of at most
 * GC_STEP_NS between events, the event loop coming back for the next step
 * after a pause as long (gc_wait_ns): no new connection waits for them.
 */
#define GC_STEP_NS 1000000ULL

/* Seconds from an admission to the connection's first idle check. */
uint32_t first_check_s(const struct daemon *d)
{
	return d->cfg->idle_timeout < 10 ? d->cfg->idle_timeout : 10;
}

/*
 * Whether the daemon holds conntrack for c at an idle check. Not for a UDP
 * connection the fast path holds (fp_holds; fp_held: both entries still ask
 * it to, where the check read them): it holds every 8.6 s while packets
 * flow, and told the daemon if it could not. A TCP connection gets the
 * refresh all the same: it also makes conntrack forget the highest ACK that
 * a packet passed to the stack set (nfo_flow_offload_refresh).
 */
static bool daemon_holds(const struct nfo_conn *c, bool fp_held)
{
	return c->orig.l4proto == IPPROTO_TCP || !c->fp_holds || !fp_held;
}

/*
 * The first idle check of a connection this run admitted, when the idle
 * timeout is longer than the wait for it: the connection cannot be idle
 * yet, and the fast path reports its teardowns and the CLI its evictions as
 * they happen (the reads catch those only when their queue was full, at the
 * next check). Hold conntrack again unless the fast path does (UDP), and
 * come back when it could first be idle. Saves two map reads, two system
 * calls each connection (cp bench: the first check was more daemon CPU than
 * the admission).
 */
static bool first_check_holds_only(struct daemon *d, struct nfo_conn *c, uint32_t now_s)
{
	uint32_t wait = first_check_s(d);

	if (!c->first_check)
		return false;
	c->first_check = 0;
	if (d->cfg->idle_timeout <= wait)
		return false;
	if (daemon_holds(c, true))
		hold_ct(d, c);
	nfo_flowtable_schedule(&d->tab, c, now_s + d->cfg->idle_timeout - wait);
	return true;
}

void idle_gc_step(struct daemon *d)
{
	uint32_t now_s = mono_now_s();
	uint64_t now = mono_now_ns();
	struct nfo_conn *c;
	unsigned int n = 0;

	while ((c = nfo_flowtable_gc_next(&d->tab))) {
		uint32_t idle, when;
		bool fp_held;

		if (first_check_holds_only(d, c, now_s))
			goto next;
		switch (nfo_flow_offload_gc(d->dp, c, now, now_s, d->cfg->idle_timeout, &idle,
					    &when, &fp_held)) {
		case NFO_GC_GONE:
			/* Deleted behind our back (nft-offload evict/flush). */
			evict(d, c, EVICT_UNMARKED, idle);
			break;
		case NFO_GC_TEARDOWN:
			evict(d, c, EVICT_TEARDOWN, idle);
			break;
		case NFO_GC_IDLE:
			evict(d, c, EVICT_IDLE, idle);
			break;
		case NFO_GC_ALIVE:
			/*
			 * In use: a packet the fast path passed to the stack may
			 * have given the entry conntrack's own short timeout. The
			 * fast path holds it again within seconds where it can;
			 * where it could not, it cleared the flag: hold it here.
			 */
			if (daemon_holds(c, fp_held))
				hold_ct(d, c);
			nfo_flowtable_schedule(&d->tab, c, when);
			break;
		}
next:
		/* Sent as they go (the holds are most of the work); the clock now and then. */
		if (++n % 16 == 0) {
			ct_flush(d);
			if (mono_now_ns() - now >= GC_STEP_NS)
				break;
		}
	}
	ct_flush(d);
	/* Then as long a pause, like the dump's slices (see intake.c). */
	d->gc.next_ns = mono_now_ns();
	d->gc.next_ns += d->gc.next_ns - now;
}

/* The tick: what came due this second, a first step of it. */
void idle_gc(struct daemon *d)
{
	nfo_flowtable_gc_due(&d->tab, mono_now_s());
	idle_gc_step(d);
}

/* Nanoseconds until the next step of idle checks is due: -1 none, 0 now. */
int64_t gc_wait_ns(const struct daemon *d)
{
	uint64_t now;

	if (!d->tab.due)
		return -1;
	now = mono_now_ns();
	return now >= d->gc.next_ns ? 0 : (int64_t)(d->gc.next_ns - now);
}
