// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, conntrack intake: events, mark notifications (nflog), GET
 * answers, full resyncs; it decides what is admitted or evicted.
 */
#include <errno.h>
#include <poll.h>
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
		if (c) {
			evict(d, c, EVICT_DESTROY, 0);
		} else {
			forget_waiter(d, ct);
			forget_pending(d, ct);
		}
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
static bool distrust_netlink_mark(struct daemon *d, uint32_t portid, const struct nfo_ct *ct)
{
	struct nfo_ct_update u = { .set_mark = true, .mark = 0, .mark_mask = d->cfg->mark };
	char buf[128];

	if (d->cfg->trust_netlink_marks || !portid || ct->event == NFO_CT_DESTROY ||
	    !ct->has_mark || !(ct->mark & d->cfg->mark) || portid == d->ctreq.ct_req.portid ||
	    portid == d->in.ct_dump.portid || nfo_flowtable_find(&d->tab, &ct->orig, ct->zone))
		return false;
	if (!d->in.netlink_marks_cleared++)
		pr_info("cleared ct mark 0x%08x set through netlink by port id %u (conntrackd "
			"sync?): this router's ruleset marks such connections again",
			d->cfg->mark, portid);
	if (nfo_log_get_level() >= NFO_LOG_DEBUG)
		pr_debug("mark set through netlink cleared: %s",
			 tuple_str(&ct->orig, buf, sizeof(buf)));
	ct_flush_if_full(d);
	nfo_ct_req_update(&d->ctreq.ct_batch, &ct->orig, ct->zone, &u);
	intake_marks_cleared(d, &ct->orig, ct->zone);
	return true;
}

static int ct_event_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct nfo_ct ct;

	if (nfo_ct_parse(nlh, &ct))
		return 0;
	d->st.events++;
	nfo_ctdump_touch(&d->in.dump, &ct.orig, ct.zone);
	if (nfo_ctq_push(&d->in.ctq, &ct, nlh->nlmsg_pid, mono_now_ns()))
		d->in.ctq_lost = true;
	return 0;
}

/* Act on up to max of the events read ahead, oldest first. */
static void handle_queued(struct daemon *d, int max)
{
	struct nfo_ctq_item *it;

	while (max-- > 0 && (it = nfo_ctq_peek(&d->in.ctq))) {
		struct nfo_ctq_item e = *it;

		nfo_ctq_pop(&d->in.ctq);
		if (!distrust_netlink_mark(d, e.portid, &e.ct))
			handle_ct(d, &e.ct, e.rx_ns, false);
	}
}

/* Full hand-backs by the other parts: each clears marks a running dump still reports. */
static uint64_t handbacks(const struct daemon *d)
{
	return d->gc.evict_alls + d->rs.second_passes;
}

/*
 * Overtaken by a full hand-back (what it still delivers was marked before),
 * or by lost events (what it still delivers may be older than a change whose
 * event was lost: a mark cleared, the connection then admitted again).
 */
static bool dump_void(const struct daemon *d)
{
	return handbacks(d) != d->in.dump_handbacks || d->in.ev_losses != d->in.dump_ev_losses;
}

/*
 * This daemon cleared the marks of a connection (it left the fast path to be
 * judged again): a dump running now may have read it before, still marked,
 * and must not admit it again. Its event says the same, but later (the
 * dump's entries can be read first) or never (lost in a burst: the idle
 * checks of many connections at once).
 */
void intake_marks_cleared(struct daemon *d, const struct nfo_tuple *orig, uint16_t zone)
{
	nfo_ctdump_touch(&d->in.dump, orig, zone);
}

static int dump_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct nfo_conn *c;
	struct nfo_ct ct;

	if (dump_void(d) || nfo_ct_parse(nlh, &ct))
		return 0;
	d->in.dumped++;
	if (!nfo_ctdump_stale(&d->in.dump, &ct.orig, ct.zone)) {
		handle_ct(d, &ct, mono_now_ns(), true);
		return 0;
	}
	/*
	 * An event about it was read during the dump: the event is newer and
	 * was acted on. Still offloaded, it exists: not gone.
	 */
	c = nfo_flowtable_find(&d->tab, &ct.orig, ct.zone);
	if (c)
		c->gen = d->in.gen;
	return 0;
}

static void gone_cb(struct nfo_conn *c, void *arg)
{
	struct daemon *d = arg;

	if (c->gen != d->in.gen) {
		evict(d, c, EVICT_GONE, 0);
		d->in.swept_gone++;
	}
}

/* The dump and the walk after it are over: say so. */
static void resync_done(struct daemon *d)
{
	const char *why = d->in.dump_why;
	uint64_t t0 = d->in.dump.start_ns;
	char pause[96];

	d->in.sweeping = false;
	ct_flush(d);
	expire_waiters(d, true);
	snprintf(pause, sizeof(pause), "read in slices of at most %.1f ms, %.1f ms of CPU",
		 d->in.dump.slice_max_ns / 1e6, d->in.dump.slice_cpu_max_ns / 1e6);
	if (!strcmp(why, "resync"))
		d->in.settle_at = mono_now_s() + 3; /* the follow-up: see intake_tick() */
	if (!strcmp(why, "catch-up")) {
		pr_info("catch-up: %llu marked connections in %.0f ms (%s); %llu offloaded and %ld "
			"gone that conntrack had not reported",
			(unsigned long long)d->in.dumped, (mono_now_ns() - t0) / 1e6, pause,
			(unsigned long long)(d->st.offloaded_total - d->in.dump_admitted),
			d->in.swept_gone);
		return;
	}
	if (strcmp(why, "initial dump"))
		d->st.resyncs++;
	pr_info("conntrack %s: %llu connections offloaded in %.0f ms (%s)%s", why,
		(unsigned long long)d->tab.count, (mono_now_ns() - t0) / 1e6, pause,
		d->in.swept_gone ? ", some were gone" : "");
}

/* A dump overtaken by a full hand-back or a loss: its word on what is gone is void. */
static void resync_void(struct daemon *d)
{
	pr_info("conntrack %s overtaken by %s after %llu entries; dumping again", d->in.dump_why,
		d->in.ev_losses != d->in.dump_ev_losses ? "lost conntrack events"
							: "a ruleset or device change",
		(unsigned long long)d->in.dumped);
	d->in.sweeping = false;
	d->in.resync_due = true;
}

/*
 * Background work (the dump's slices, the walk's steps) gives way to the
 * rest: after each step the event loop waits as long as the step used the
 * CPU before the next one, handling events meanwhile at once. Run back to
 * back, the steps made the daemon a CPU hog for the whole dump, and the
 * scheduler ran other tasks in the middle of its steps, for milliseconds
 * at a time, while new connections waited (slices of 2.5 ms of CPU took up
 * to 10 ms). At most half the CPU, a dump takes up to twice as long.
 */
#define BG_PAUSE_MAX_NS 2000000ULL

static void bg_pause(struct daemon *d, uint64_t cpu_ns)
{
	d->in.bg_next_ns = mono_now_ns() + (cpu_ns < BG_PAUSE_MAX_NS ? cpu_ns : BG_PAUSE_MAX_NS);
}

/* Nanoseconds until the next background step is due: -1 none, 0 now. */
int64_t intake_bg_wait_ns(const struct daemon *d)
{
	uint64_t now;

	if (!d->in.dump.running && !d->in.sweeping)
		return -1;
	now = mono_now_ns();
	return now >= d->in.bg_next_ns ? 0 : (int64_t)(d->in.bg_next_ns - now);
}

/*
 * A step of the walk after a dump: evict what conntrack no longer has (not
 * reported by the dump nor by an event since it started). With a million
 * connections the whole walk takes about a hundred milliseconds: in steps of
 * SWEEP_STEP_NS between events, so that no new connection waits for it.
 */
#define SWEEP_STEP_NS 1000000ULL
#define SWEEP_BUCKETS 1024

void intake_sweep_step(struct daemon *d)
{
	uint64_t t0 = mono_now_ns(), cpu0 = nfo_ctdump_cpu_ns();
	bool done;

	if (!d->in.sweeping)
		return;
	if (dump_void(d)) {
		resync_void(d);
		return;
	}
	do
		done = nfo_flowtable_foreach_step(&d->tab, &d->in.sweep, SWEEP_BUCKETS, gone_cb, d);
	while (!done && mono_now_ns() - t0 < SWEEP_STEP_NS);
	ct_flush(d);
	cpu0 = nfo_ctdump_cpu_ns() - cpu0;
	nfo_ctdump_slice(&d->in.dump, mono_now_ns() - t0, cpu0);
	bg_pause(d, cpu0);
	if (done)
		resync_done(d);
}

/* The dump is over: walk the table for what it did not report (in steps). */
static int resync_finish(struct daemon *d, int err)
{
	if (err) {
		pr_warn("conntrack dump failed (%s); will retry", strerror(-err));
		d->in.resync_due = true;
		return err;
	}
	if (dump_void(d)) {
		resync_void(d);
		return 0;
	}
	d->in.sweeping = true;
	d->in.sweep = (struct nfo_flowtable_cursor){ 0 };
	d->in.swept_gone = 0;
	return 0;
}

/*
 * Read a slice of the dump in progress: a few milliseconds' worth, or until
 * 32 admissions are queued, or until a conntrack event or a mark
 * notification is waiting, then the event loop reads events again. New
 * offloads never wait for a whole dump, nor for the rest of a slice: at
 * most for the read under way (about 85 entries).
 */
#define DUMP_SLICE_NS 2000000ULL
#define DUMP_SLICE_ADMISSIONS 32

static bool events_waiting(struct daemon *d)
{
	struct pollfd p[2] = {
		{ .fd = nfo_nl_fd(&d->in.ct_ev), .events = POLLIN },
		{ .fd = nfo_nl_fd(&d->in.nflog), .events = POLLIN },
	};

	return poll(p, 2, 0) > 0;
}

void intake_dump_slice(struct daemon *d)
{
	uint64_t t0 = mono_now_ns(), cpu0 = nfo_ctdump_cpu_ns();
	int n;

	if (!d->in.dump.running) {
		nfo_ctdump_read(&d->in.dump, dump_cb, d); /* drains: nothing is expected */
		return;
	}
	do
		n = nfo_ctdump_read(&d->in.dump, dump_cb, d);
	while (n >= 0 && d->in.dump.running && d->adm.npend < DUMP_SLICE_ADMISSIONS &&
	       mono_now_ns() - t0 < DUMP_SLICE_NS && !events_waiting(d));
	intake_settle(d);
	cpu0 = nfo_ctdump_cpu_ns() - cpu0;
	nfo_ctdump_slice(&d->in.dump, mono_now_ns() - t0, cpu0);
	bg_pause(d, cpu0);
	if (!d->in.dump.running)
		resync_finish(d, n < 0 && n != -EAGAIN ? n : 0);
}

/*
 * Full resync: dump every marked conntrack entry, admit what should be in the
 * fast path, and evict what conntrack no longer has (its DESTROY was lost).
 * The event loop reads the dump in slices (intake_dump_slice); one at a time.
 */
static int resync(struct daemon *d, const char *why)
{
	int err;

	if (d->in.dump.running || d->in.sweeping)
		return 0;
	d->in.gen++;
	d->in.dumped = 0;
	d->in.dump_why = why;
	d->in.dump_handbacks = handbacks(d);
	d->in.dump_ev_losses = d->in.ev_losses;
	d->in.dump_admitted = d->st.offloaded_total;
	d->in.bg_next_ns = 0;
	/* Events lost from here on need another dump: this one may miss them. */
	d->in.resync_due = false;
	err = nfo_ctdump_start(&d->in.dump, &d->in.ct_dump, d->cfg->mark, d->cfg->mark);
	return err ? resync_finish(d, err) : 0;
}

/* The initial dump, read to its end before returning. */
int intake_initial_dump(struct daemon *d)
{
	int err = resync(d, "initial dump");

	while (!err && d->in.dump.running) {
		err = nfo_ctdump_wait(&d->in.dump, 5000);
		if (!err)
			intake_dump_slice(d);
	}
	while (d->in.sweeping)
		intake_sweep_step(d);
	return err;
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

/*
 * Events read ahead, at most this many acted on per call: the event loop
 * comes back at once while any are queued (intake_queued).
 */
#define EVENTS_PER_TURN 256
#define EVENTS_PER_READ 4096

void read_ct_events(struct daemon *d)
{
	int n = 0;

	/*
	 * Read everything queued (reading is cheap, admitting is not), then
	 * act on a bounded number: the kernel's buffer stays empty while the
	 * queue absorbs a flood. A full queue leaves the rest to the socket.
	 */
	if (nfo_ctq_room(&d->in.ctq, EVENTS_PER_READ + 64))
		n = nfo_nl_read_events(&d->in.ct_ev, ct_event_cb, d, EVENTS_PER_READ);
	if (d->in.ctq_lost) {
		d->in.ctq_lost = false;
		n = -ENOBUFS;
	}
	if (n == -ENOBUFS) {
		d->st.events_lost++;
		d->in.ev_losses++;
		grow_ct_ev_buf(d);
		if (!d->in.resync_due)
			pr_warn("conntrack events lost (receive buffer full); resyncing");
		d->in.resync_due = true;
	} else if (n < 0) {
		pr_warn("reading conntrack events: %s", strerror(-n));
	}
	handle_queued(d, EVENTS_PER_TURN);
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
	if (d->in.dump.running || d->in.sweeping) {
		/* One dump at a time: what is due waits for it (and its walk) to end. */
	} else if (d->in.resync_due) {
		resync(d, "resync"); /* the follow-up is planned when it ends */
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
	/*
	 * Events of our own holds (the quiet socket): known, never read. Those of
	 * requests that clear marks are read: see struct ctreq_state.
	 */
	err = nfo_nl_ignore_port(&d->in.ct_ev, d->ctreq.ct_quiet.portid);
	if (err)
		pr_warn("cannot filter our own conntrack events: %s", strerror(-err));
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

/* Events read but not yet acted on: the event loop must not sleep. */
bool intake_queued(const struct daemon *d)
{
	return d->in.ctq.count > 0;
}

/* The walk after a dump is under way: its steps are due at intake_bg_wait_ns(). */
bool intake_sweeping(const struct daemon *d)
{
	return d->in.sweeping;
}

void intake_close(struct daemon *d)
{
	nfo_ctdump_free(&d->in.dump);
	nfo_ctq_free(&d->in.ctq);
	nfo_nl_close(&d->in.ct_ev);
	nfo_nl_close(&d->in.ct_dump);
	nfo_nl_close(&d->in.nflog);
}
