// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, conntrack intake: events, mark notifications (nflog), GET
 * answers, full resyncs; it decides what is admitted or evicted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "log.h"
#include "nft.h"

#include "ctx.h"
#include "ctreq.h"
#include "gc.h"
#include "iprules.h"
#include "admit.h"
#include "intake.h"

static void handle_ct(struct daemon *d, struct nfo_ct *ct, uint64_t rx_ns, bool from_dump)
{
	struct nfo_conn *c;
	bool marked, need_get;
	const char *why;
	char buf[128];

	if (ct->orig.l4proto != IPPROTO_TCP && ct->orig.l4proto != IPPROTO_UDP)
		return;
	c = nfo_flowtable_find(&d->tab, &ct->orig, ct->zone);
	if (ct->event == NFO_CT_DESTROY) {
		if (c)
			evict(d, c, EVICT_DESTROY, 0);
		else
			forget_waiter(d, ct);
		return;
	}
	/* Both bits: the ruleset accepted an established packet of each direction. */
	marked = ct->has_mark && (ct->mark & d->cfg->mark) == d->cfg->mark;
	if (c) {
		c->gen = d->in.gen;
		if (ct->has_tcp_state)
			c->tcp_state = ct->tcp_state;
		if (!marked && !from_dump) {
			evict(d, c, EVICT_UNMARKED, 0);
		} else if (ct->orig.l4proto == IPPROTO_TCP && ct->has_tcp_state &&
			   ct->tcp_state != TCP_CONNTRACK_ESTABLISHED) {
			evict(d, c, EVICT_CLOSING, 0);
		}
		return;
	}
	if (!marked) {
		forget_waiter(d, ct);
		return;
	}
	why = nfo_ct_ineligible(ct, &need_get);
	if (need_get) {
		ct_flush_if_full(d);
		nfo_ct_req_get(&d->ctreq.ct_batch, &ct->orig, ct->zone);
		return;
	}
	if (why) {
		forget_waiter(d, ct);
		if (nfo_log_get_level() >= NFO_LOG_DEBUG)
			pr_debug("not offloaded (%s): %s", why,
				 tuple_str(&ct->orig, buf, sizeof(buf)));
		return;
	}
	if (may_admit(d, ct))
		queue_admission(d, ct, rx_ns);
}

/*
 * Admit what is queued, send the requests, act on the answers they brought
 * (which may queue more admissions), until nothing is left. The one place
 * where answers to conntrack requests are handled: data flows one way.
 */
void intake_settle(struct daemon *d)
{
	struct ct_answer *a;
	size_t i, n;

	for (;;) {
		process_pending(d);
		ct_flush(d);
		if (!d->ctreq.nanswers)
			break;
		/* Handling them may queue more answers: take these out first. */
		a = ctreq_take_answers(d, &n);
		for (i = 0; i < n; i++)
			handle_ct(d, &a[i].ct, a[i].rx_ns, false);
		free(a);
	}
	/* Admission could not update conntrack: unknown what applied, resync. */
	if (d->adm.update_failures != d->in.update_failures_seen) {
		d->in.update_failures_seen = d->adm.update_failures;
		d->in.resync_due = true;
	}
	/* A re-validation cleared marks that entries older than us never report. */
	if (d->rs.catchups_asked != d->in.catchups_asked_seen) {
		d->in.catchups_asked_seen = d->rs.catchups_asked;
		d->in.catchups = d->rs.catchup_targeted ? 2 : 0;
		d->in.catchup_at = mono_now_s() + 2;
	}
}

/*
 * Our mark bit on an entry that another process wrote through ctnetlink was
 * not set by this router's forward chain: conntrackd committing entries
 * synced from an HA peer (whose ruleset marked them), conntrack -I/-U. An
 * event caused by a netlink request carries the requester's port id, one
 * caused by a packet carries 0. Clear the bit on such an entry (unless it is
 * already offloaded here): its next packet that this router's ruleset accepts
 * marks it again, so this router's ruleset decides.
 */
static bool distrust_netlink_mark(struct daemon *d, const struct nlmsghdr *nlh,
				  const struct nfo_ct *ct)
{
	struct nfo_ct_update u = { .set_mark = true, .mark = 0, .mark_mask = d->cfg->mark };
	char buf[128];

	if (d->cfg->trust_netlink_marks || !nlh->nlmsg_pid || ct->event == NFO_CT_DESTROY ||
	    !ct->has_mark || !(ct->mark & d->cfg->mark) ||
	    nlh->nlmsg_pid == d->ctreq.ct_req.portid || nlh->nlmsg_pid == d->in.ct_dump.portid ||
	    nfo_flowtable_find(&d->tab, &ct->orig, ct->zone))
		return false;
	if (!d->in.netlink_marks_cleared++)
		pr_info("cleared ct mark 0x%08x set through netlink by port id %u (conntrackd "
			"sync?): this router's ruleset marks such connections again",
			d->cfg->mark, nlh->nlmsg_pid);
	if (nfo_log_get_level() >= NFO_LOG_DEBUG)
		pr_debug("mark set through netlink cleared: %s",
			 tuple_str(&ct->orig, buf, sizeof(buf)));
	ct_flush_if_full(d);
	nfo_ct_req_update(&d->ctreq.ct_batch, &ct->orig, ct->zone, &u);
	return true;
}

static int ct_event_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct nfo_ct ct;

	if (nfo_ct_parse(nlh, &ct))
		return 0;
	d->st.events++;
	if (distrust_netlink_mark(d, nlh, &ct))
		return 0;
	handle_ct(d, &ct, mono_now_ns(), false);
	return 0;
}

static int dump_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct nfo_ct ct;

	if (!nfo_ct_parse(nlh, &ct)) {
		d->in.dumped++;
		handle_ct(d, &ct, mono_now_ns(), true);
	}
	return 0;
}

struct gone_arg {
	struct daemon *d;
	long n;
};

static void gone_cb(struct nfo_conn *c, void *arg)
{
	struct gone_arg *a = arg;

	if (c->gen != a->d->in.gen) {
		evict(a->d, c, EVICT_GONE, 0);
		a->n++;
	}
}

/*
 * Full resync: dump every marked conntrack entry, admit what should be in the
 * fast path, and evict what conntrack no longer has (its DESTROY was lost).
 */
int resync(struct daemon *d, const char *why)
{
	struct gone_arg ga = { .d = d };
	uint64_t admitted = d->st.offloaded_total, t0 = mono_now_ns();
	bool catchup = !strcmp(why, "catch-up");
	int err, tries;

	d->in.gen++;
	d->in.dumped = 0;
	for (tries = 0; tries < 3; tries++) {
		err = nfo_ct_dump(&d->in.ct_dump, d->cfg->mark, d->cfg->mark, dump_cb, d);
		if (err != -ENOBUFS && err != -EINTR)
			break;
	}
	intake_settle(d);
	if (err) {
		pr_warn("conntrack dump failed (%s); will retry", strerror(-err));
		d->in.resync_due = true;
		return err;
	}
	nfo_flowtable_foreach(&d->tab, gone_cb, &ga);
	ct_flush(d);
	expire_waiters(d, true);
	d->in.resync_due = false;
	if (catchup) {
		pr_info("catch-up: %llu marked connections in %.0f ms; %llu offloaded and %ld gone "
			"that conntrack had not reported",
			(unsigned long long)d->in.dumped, (mono_now_ns() - t0) / 1e6,
			(unsigned long long)(d->st.offloaded_total - admitted), ga.n);
		return 0;
	}
	if (strcmp(why, "initial dump"))
		d->st.resyncs++;
	pr_info("conntrack %s: %llu connections offloaded in %.0f ms%s", why,
		(unsigned long long)d->tab.count, (mono_now_ns() - t0) / 1e6,
		ga.n ? ", some were gone" : "");
	return 0;
}

/*
 * Events were lost: the receive buffer was too small for a burst. Double it
 * (as conntrackd does), up to CT_EV_BUF_MAX or the configured size if that
 * is larger, and say so at each growth.
 */
#define CT_EV_BUF_MAX (128 << 20)

static void grow_ct_ev_buf(struct daemon *d)
{
	int max = d->cfg->event_buffer > CT_EV_BUF_MAX ? d->cfg->event_buffer : CT_EV_BUF_MAX;
	int want = d->in.ct_ev_buf > max / 2 ? max : d->in.ct_ev_buf * 2;
	int err;

	if (want <= d->in.ct_ev_buf)
		return;
	err = nfo_nl_set_rcvbuf(&d->in.ct_ev, want);
	if (err) {
		pr_warn("cannot grow the conntrack event buffer to %d KiB: %s", want >> 10,
			strerror(-err));
		d->in.ct_ev_buf = max; /* do not try again at every loss */
		return;
	}
	pr_info("conntrack event buffer grown from %d to %d KiB after a loss%s",
		d->in.ct_ev_buf >> 10, want >> 10, want == max ? " (the largest it gets)" : "");
	d->in.ct_ev_buf = want;
}

void read_ct_events(struct daemon *d)
{
	int n = nfo_nl_read_events(&d->in.ct_ev, ct_event_cb, d, 256);

	if (n == -ENOBUFS) {
		d->st.events_lost++;
		grow_ct_ev_buf(d);
		if (!d->in.resync_due)
			pr_warn("conntrack events lost (receive buffer full); resyncing");
		d->in.resync_due = true;
	} else if (n < 0) {
		pr_warn("reading conntrack events: %s", strerror(-n));
	}
	intake_settle(d);
	release_waiters(d);
	intake_settle(d);
}

/*
 * A mark rule logged a packet: it set the bit of its direction. Ask conntrack
 * for the entry and treat the answer like an event. The packet was seen in
 * the forward hook with DNAT done and SNAT not yet, so its tuple is one of
 * the entry's two tuples, or the inverse of one: conntrack finds an entry by
 * either tuple, so ask for both (one of them fails with ENOENT).
 */
static int nflog_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct nfo_tuple t, inv;

	if (nfo_nflog_tuple(nlh, &t))
		return 0;
	if (d->rules.pol.rules)
		note_route(d, nlh, &t);
	nfo_tuple_invert(&inv, &t);
	if (nfo_flowtable_find(&d->tab, &t, 0) || nfo_flowtable_find(&d->tab, &inv, 0))
		return 0;
	ct_flush_if_full(d);
	ctreq_asked_at(d, mono_now_ns());
	nfo_ct_req_get(&d->ctreq.ct_batch, &t, 0);
	ct_flush_if_full(d);
	nfo_ct_req_get(&d->ctreq.ct_batch, &inv, 0);
	return 0;
}

void read_nflog(struct daemon *d)
{
	int n = nfo_nl_read_events(&d->in.nflog, nflog_cb, d, 256);

	if (n == -ENOBUFS) {
		d->st.events_lost++;
		d->in.nflog_buf =
		    d->in.nflog_buf < (64 << 20) ? d->in.nflog_buf * 2 : d->in.nflog_buf;
		nfo_nl_set_rcvbuf(&d->in.nflog, d->in.nflog_buf);
		if (!d->in.resync_due)
			pr_warn("mark notifications lost (nflog receive buffer full, now %d KiB); "
				"resyncing",
				d->in.nflog_buf >> 10);
		d->in.resync_due = true;
	} else if (n < 0) {
		pr_warn("reading mark notifications: %s", strerror(-n));
	}
	intake_settle(d);
}

/*
 * The periodic dumps: a resync after lost events (and a follow-up once
 * things settled: a dump taken while conntrack changes fast can miss entries
 * created during it, and their events may have been lost too), and the
 * catch-up dumps.
 */
void intake_tick(struct daemon *d)
{
	if (d->in.resync_due) {
		if (!resync(d, "resync"))
			d->in.settle_at = mono_now_s() + 3;
	} else if (d->in.settle_at && (int32_t)(mono_now_s() - d->in.settle_at) >= 0) {
		d->in.settle_at = 0;
		resync(d, "follow-up resync");
	} else if ((int32_t)(mono_now_s() - d->in.catchup_at) >= 0) {
		static const uint32_t next[] = { 8, 20 };

		d->in.catchup_at = mono_now_s() + (d->in.catchups < 2 ? next[d->in.catchups] : 600);
		d->in.catchups++;
		resync(d, "catch-up");
	}
}

/* A full resync at the next tick, like one after lost events. */
void intake_resync_soon(struct daemon *d)
{
	d->in.resync_due = true;
}

/* The event socket (its buffer as configured) and the dump socket. */
int intake_open(struct daemon *d)
{
	int err = nfo_nl_open(&d->in.ct_ev, NETLINK_NETFILTER, NFO_CT_EVENT_GROUPS);

	if (err)
		return err;
	d->in.ct_ev_buf = d->cfg->event_buffer;
	err = nfo_nl_set_rcvbuf(&d->in.ct_ev, d->in.ct_ev_buf);
	if (err)
		pr_warn("cannot size the conntrack event buffer: %s", strerror(-err));
	err = nfo_nl_open(&d->in.ct_dump, NETLINK_NETFILTER, 0);
	if (!err)
		nfo_nl_set_rcvbuf(&d->in.ct_dump, 4 << 20);
	return err;
}

/* The mark rules' notifications (their group as configured). */
int intake_open_nflog(struct daemon *d)
{
	int err = nfo_nflog_open(&d->in.nflog, d->cfg->log_group, NFO_NFT_SNAPLEN);

	if (err)
		return err;
	d->in.nflog_buf = 4 << 20; /* a burst of new flows: two messages each */
	nfo_nl_set_rcvbuf(&d->in.nflog, d->in.nflog_buf);
	return 0;
}

/* Running: the first catch-up dump in 2 s. */
void intake_started(struct daemon *d)
{
	d->in.catchup_at = mono_now_s() + 2;
}

/*
 * Stopping: nobody reads the events any more, and with the socket gone the
 * kernel need not build one for each connection handed back.
 */
void intake_stop_events(struct daemon *d)
{
	nfo_nl_close(&d->in.ct_ev);
}

void intake_close(struct daemon *d)
{
	nfo_nl_close(&d->in.ct_ev);
	nfo_nl_close(&d->in.ct_dump);
	nfo_nl_close(&d->in.nflog);
}
