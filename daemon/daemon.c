// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run: the control plane.
 *
 * The user's ruleset decides; our nft chain (last in forward) marks the
 * conntrack entries of packets that got through it. This daemon watches
 * conntrack, admits marked connections with the kernel flowtable's rules,
 * writes both directions into the flow map, keeps conntrack consistent while
 * packets bypass it, and takes flows out again on FIN/RST, idle, conntrack
 * destroy, ruleset changes and device changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <bpf/libbpf.h>

#include "admission.h"
#include "attach.h"
#include "bridge.h"
#include "ct.h"
#include "daemon.h"
#include "dataplane.h"
#include "exporter.h"
#include "flowmem.h"
#include "flowtable.h"
#include "log.h"
#include "neigh.h"
#include "nflog.h"
#include "nft.h"
#include "nftset.h"
#include "instance.h"
#include "pindir.h"
#include "policy.h"
#include "routenote.h"
#include "rtnl.h"
#include "runrec.h"
#include "waitq.h"
#include "nft_watch.h"
#include "owner.h"
#include "xfrm.h"

#define PENDING_MAX 512
/*
 * Requests per netlink batch: the answers must fit in the socket's receive
 * buffer (each costs about a kilobyte of it), or they are lost (ENOBUFS).
 */
#define BATCH_MAX 128
#define LAT_BUCKETS 512

struct dev {
	char name[IFNAMSIZ];
	enum nfo_mode want; /* as configured (auto resolved at attach) */
	enum nfo_mode mode; /* as attached */
	uint32_t ifindex; /* 0 while the device does not exist */
	uint32_t slot;
	uint32_t flags; /* NFO_DEV_* */
	bool attached;
	bool up;
	bool netdev_chain; /* a netdev chain hooks it: kernel path only */
	bool owner_lost; /* our program was found replaced or gone */
	uint8_t mac[6];
	uint32_t master; /* bridge it is a port of, when it became one while running */
	bool bridge; /* a bridge device */
};

struct ct_answer {
	struct nfo_ct ct;
	uint64_t rx_ns; /* the mark notification that asked, or the flush */
};

struct pending {
	struct nfo_ct ct;
	uint64_t rx_ns; /* when the event was read */
	uint32_t oif[2]; /* route lookups: ingress of each direction */
	bool ok; /* still to be admitted */
	struct nfo_nflog_route route[2]; /* policy routing: as the kernel routed each direction */
};

struct daemon {
	struct nfo_config *cfg;
	struct nfo_dp *dp;
	struct nfo_flowtable tab;
	struct nfo_waitq waitq; /* marked connections waiting for room in the table */
	struct dev devs[NFO_MAX_DEVICES];
	int ndevs;

	struct nfo_nl ct_ev; /* conntrack events */
	struct nfo_nl ct_req; /* conntrack requests */
	struct nfo_nl ct_dump; /* conntrack dumps: never shared with requests */
	struct nfo_nl nft_ev; /* ruleset generations */
	struct nfo_nl rt_ev; /* links and routes */
	struct nfo_nl rt_req; /* route lookups */
	struct nfo_nl nflog; /* packets that set a mark bit (nflog group) */
	struct nfo_nl_batch ct_batch, rt_batch, adm_batch;
	int epfd, sigfd, timerfd, lockfd;
	struct ring_buffer *rb; /* teardown events from the fast path */

	struct pending pend[PENDING_MAX];
	int npend;
	int prep[PENDING_MAX]; /* admission batch request -> pend index */
	int nprep;
	int rt_first; /* first pend index of the route batch in flight */
	/* Answers to GET requests, collected by each flush, for the intake. */
	struct ct_answer *answers;
	size_t nanswers, answers_cap;

	uint32_t gen; /* resync generation */
	bool resync_due;
	uint64_t revalidate_again_ns; /* second pass of a re-validation, or 0 */
	uint32_t settle_at; /* a follow-up resync after a loss (wheel seconds) */
	/*
	 * Catch-up dumps: conntrack entries created while no event listener
	 * existed (before the daemon started, with nf_conntrack_events = 2)
	 * never report their mark. Dump the marked ones 2, 10 and 30 s after
	 * the start and after each ruleset re-validation (which clears marks
	 * such entries will not report again), then every 10 minutes.
	 */
	uint32_t catchup_at;
	unsigned int catchups;
	uint64_t dumped; /* entries of the dump in progress */
	bool revalidate_due;
	/*
	 * Set element changes: those of the transactions read so far
	 * (committed: up to the last NEWGEN of the user's), and those the
	 * second pass of a targeted re-validation must look at again.
	 */
	struct nfo_setchg setchg, again_chg;
	size_t setchg_committed;
	bool setchg_due, again_targeted;
	uint64_t lat[LAT_BUCKETS];
	uint64_t lat_max;
	struct nfo_state st;
	struct nfo_exporter mx; /* metrics */
	bool stop;
	bool table_created;
	bool runrec_written;
	struct nfo_pins_before pins_before; /* what a failed start must not remove */
	uint64_t skip_devices, skip_conntrack, skip_logged; /* admissions dropped */
	uint64_t last_full_warn;
	int nflog_buf; /* receive buffer of the nflog socket, bytes */
	int ct_ev_buf; /* receive buffer of the conntrack event socket, bytes */
	uint64_t get_since; /* when the oldest GET in the batch was asked for by nflog */
	uint64_t netlink_marks_cleared; /* marks not set by our ruleset */
	/* What keeps flows off the fast path besides the forward chains. */
	struct nfo_xfrm xfrm; /* xfrm policies that apply to forwarded packets */
	struct nfo_nl xfrm_ev; /* their events */
	bool xfrm_ev_open;
	uint64_t skip_keptoff; /* admissions refused: netdev chain or xfrm policy */
	char table_text[8192]; /* our table as listed right after install */
	struct nfo_policy pol; /* ip rules beyond the defaults */
	struct nfo_routenotes notes; /* how logged packets were routed (with pol.rules) */
	bool policy_due; /* rules changed: read them again */
	bool notes_nomem; /* said once */
	uint64_t skip_policy, skip_policy_logged;
};

/* What stays on the kernel path, and who owns the devices (defined below). */
static int check_owner(struct daemon *d, struct dev *dv, uint32_t ifindex);
static bool kept_off(struct daemon *d, const struct pending *p);
static void check_own_table(struct daemon *d);
static void check_netdev_chains(struct daemon *d, bool at_start);
static void read_xfrm_events(struct daemon *d);
static void watch_owners(struct daemon *d);

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint32_t mono_s(void)
{
	return mono_ns() / 1000000000ULL;
}

static const char *tuple_str(const struct nfo_tuple *t, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s %s:%u -> %s:%u", nfo_proto_str(t->l4proto),
		 nfo_addr_str(t->family, &t->src, s, sizeof(s)), ntohs(t->sport),
		 nfo_addr_str(t->family, &t->dst, d, sizeof(d)), ntohs(t->dport));
	return buf;
}

/* ---- latency histogram (HDR-like: 8 sub-buckets per power of two) ------- */

static unsigned int lat_bucket(uint64_t ns)
{
	unsigned int msb;

	if (ns < 8)
		return ns;
	msb = 63 - __builtin_clzll(ns);
	return (msb - 2) * 8 + ((ns >> (msb - 3)) & 7);
}

static uint64_t lat_upper(unsigned int b)
{
	unsigned int msb = b / 8 + 2, sub = b % 8;

	if (b < 8)
		return b;
	return ((8ULL + sub + 1) << (msb - 3)) - 1;
}

static uint64_t lat_percentile(struct daemon *d, double p)
{
	uint64_t total = 0, acc = 0;
	unsigned int i;

	for (i = 0; i < LAT_BUCKETS; i++)
		total += d->lat[i];
	if (!total)
		return 0;
	for (i = 0; i < LAT_BUCKETS; i++) {
		acc += d->lat[i];
		if (acc >= total * p)
			return lat_upper(i) < d->lat_max ? lat_upper(i) : d->lat_max;
	}
	return d->lat_max;
}

static void lat_record(struct daemon *d, uint64_t ns)
{
	unsigned int b = lat_bucket(ns);

	d->lat[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
	nfo_exporter_latency(&d->mx, ns);
	if (ns > d->lat_max)
		d->lat_max = ns;
}

/* ---- devices ------------------------------------------------------------ */

static struct dev *dev_by_ifindex(struct daemon *d, uint32_t ifindex)
{
	int i;

	for (i = 0; i < d->ndevs; i++)
		if (d->devs[i].ifindex == ifindex && ifindex)
			return &d->devs[i];
	return NULL;
}

static struct dev *dev_by_name(struct daemon *d, const char *name)
{
	int i;

	for (i = 0; i < d->ndevs; i++)
		if (!strcmp(d->devs[i].name, name))
			return &d->devs[i];
	return NULL;
}

/* Slot for a device: the one it had in the pinned state, else a free one. */
static uint32_t pick_slot(struct daemon *d, const char *name)
{
	uint32_t slot, free_slot = 0;
	int i;

	for (slot = 1; slot < NFO_MAX_SLOTS; slot++) {
		struct nfo_slot s;
		bool taken = false;

		if (nfo_dp_slot_get(d->dp, slot, &s))
			continue;
		if (s.name[0] && !strcmp(s.name, name))
			return slot;
		for (i = 0; i < d->ndevs; i++)
			if (d->devs[i].slot == slot)
				taken = true;
		if (!s.name[0] && !taken && !free_slot)
			free_slot = slot;
	}
	return free_slot;
}

static enum nfo_mode resolve_auto(const struct nfo_link *l, uint64_t features, bool have_feat)
{
	/*
	 * XDP where the driver does it natively and can also transmit
	 * redirected frames; veth copies every skb for XDP, so tc is faster
	 * there. Everything else: tc.
	 */
	if (!have_feat || strcmp(l->kind, "") || !(features & NFO_XDP_ACT_BASIC) ||
	    !(features & NFO_XDP_ACT_REDIRECT) || !(features & NFO_XDP_ACT_NDO_XMIT))
		return NFO_MODE_TC;
	return NFO_MODE_XDP;
}

/* Every device configured for xdp-generic: every redirect is a generic one. */
static bool all_generic(const struct daemon *d)
{
	int i;

	for (i = 0; i < d->ndevs; i++)
		if (d->devs[i].want != NFO_MODE_XDP_GENERIC)
			return false;
	return true;
}

static uint32_t xdp_tx_flag(const struct daemon *d, const struct dev *dv)
{
	uint64_t f;

	if (dv->mode != NFO_MODE_XDP && dv->mode != NFO_MODE_XDP_GENERIC)
		return 0;
	/*
	 * A redirect from generic XDP leaves through the device's normal
	 * transmit (a bridge's too), not through its XDP transmit.
	 */
	if (dv->mode == NFO_MODE_XDP_GENERIC && all_generic(d))
		return NFO_DEV_XDP_TX;
	/* Unknown features (old kernel): trust the mode. */
	if (nfo_xdp_features(dv->ifindex, &f) || (f & NFO_XDP_ACT_NDO_XMIT))
		return NFO_DEV_XDP_TX;
	return 0;
}

static int publish_dev(struct daemon *d, struct dev *dv)
{
	uint32_t keptoff = dv->netdev_chain ? NFO_DEV_NETDEV_CHAIN : 0;
	struct nfo_dev nd = { .slot = dv->slot,
			      .flags = dv->flags | xdp_tx_flag(d, dv) | keptoff };
	struct nfo_slot s = { .ifindex = dv->ifindex, .flags = dv->flags | keptoff };

	memcpy(nd.mac, dv->mac, 6);
	snprintf(s.name, sizeof(s.name), "%s", dv->name);
	s.attached_ns = mono_ns();
	return nfo_dp_dev_set(d->dp, dv->ifindex, &nd) ?: nfo_dp_slot_set(d->dp, dv->slot, &s);
}

/*
 * Routed packets of a bridged LAN arrive on the bridge device, never on its
 * ports: a port as an offload device would offload nothing. Say which device
 * to give instead.
 */
static int refuse_bridge_port(struct daemon *d, const struct dev *dv, const struct nfo_link *l)
{
	char br[IFNAMSIZ];
	int r = nfo_bridge_of(&d->rt_req, l, br, sizeof(br));

	if (r < 0) {
		pr_err("%s: cannot read its master device: %s", dv->name, strerror(-r));
		return r;
	}
	if (r) {
		pr_err("%s is a port of bridge %s: routed packets arrive on %s, not on its "
		       "ports; give %s as the device instead of %s",
		       dv->name, br, br, br, dv->name);
		return -EINVAL;
	}
	return 0;
}

/* The first configured device that is a bridge, or NULL. */
static const char *bridge_among(struct daemon *d)
{
	int i;

	for (i = 0; i < d->ndevs; i++) {
		struct nfo_link l;

		if (!nfo_link_get(&d->rt_req, 0, d->devs[i].name, &l) && nfo_link_is_bridge(&l))
			return d->devs[i].name;
	}
	return NULL;
}

/*
 * An XDP redirect cannot enter a bridge (a bridge has no XDP transmit), and a
 * bridge has no native XDP: with a bridge among the devices, auto means tc,
 * and the devices use tc, or all xdp-generic (whose redirects go through the
 * normal transmit) - anything else would offload one direction only.
 */
#define BRIDGE_MODES_HINT "use tc on every device, or xdp-generic on every device"
static int bridge_modes(struct daemon *d, struct dev *dv)
{
	const char *br = bridge_among(d);
	int i;

	if (!br)
		return 0;
	if (dv->want == NFO_MODE_AUTO)
		dv->mode = NFO_MODE_TC;
	for (i = 0; i < d->ndevs; i++) {
		const struct dev *o = &d->devs[i];
		enum nfo_mode m = o->want == NFO_MODE_AUTO ? NFO_MODE_TC : o->want;

		if (dv->mode != NFO_MODE_XDP && (o == dv || m == dv->mode))
			continue;
		if (o == dv)
			pr_err("%s: mode xdp cannot offload both directions: %s is a bridge, "
			       "and a bridge has no native XDP; %s",
			       dv->name, br, BRIDGE_MODES_HINT);
		else
			pr_err("%s in mode %s and %s in mode %s cannot offload both directions: "
			       "%s is a bridge, and an XDP redirect cannot enter a bridge; %s",
			       dv->name, nfo_mode_names[dv->mode], o->name, nfo_mode_names[m], br,
			       BRIDGE_MODES_HINT);
		return -EINVAL;
	}
	return 0;
}

/* Attach to one device. Errors are printed here, once, naming the device. */
static int attach_dev(struct daemon *d, struct dev *dv, const struct nfo_link *l)
{
	uint64_t feat = 0;
	bool have_feat = !nfo_xdp_features(l->ifindex, &feat);
	bool created = false;
	int err;

	err = refuse_bridge_port(d, dv, l);
	if (err)
		return err;
	if (l->ifindex >= d->dp->max_ifindex) {
		pr_err("%s: ifindex %u is beyond the devices map (%u entries)", dv->name,
		       l->ifindex, d->dp->max_ifindex);
		return -ERANGE;
	}
	if (!dv->slot)
		dv->slot = pick_slot(d, dv->name);
	if (!dv->slot) {
		pr_err("%s: no free device slot (at most %d devices)", dv->name, NFO_MAX_SLOTS - 1);
		return -ENOSPC;
	}
	dv->ifindex = l->ifindex;
	dv->bridge = nfo_link_is_bridge(l);
	memcpy(dv->mac, l->mac, 6);
	dv->up = l->up;
	dv->mode = dv->want == NFO_MODE_AUTO ? resolve_auto(l, feat, have_feat) : dv->want;
	err = bridge_modes(d, dv);
	if (err)
		return err;
	dv->flags = d->cfg->force ? NFO_DEV_FORCED : 0;
	err = check_owner(d, dv, l->ifindex);
	if (err)
		return err;

	if (dv->mode == NFO_MODE_TC) {
		err = nfo_attach_tc(dv->ifindex, nfo_dp_prog_fd(d->dp, false), d->cfg->force,
				    &created);
		if (err == -EBUSY)
			pr_err("%s already has tc ingress filters that are not ours; "
			       "use --force to add ours beside them", dv->name);
		else if (err)
			pr_err("cannot attach to %s (tc ingress): %s", dv->name, strerror(-err));
		if (err)
			return err;
		dv->flags |= NFO_DEV_TC | (created ? NFO_DEV_CLSACT_OURS : 0);
		/* Keep what an earlier run knew: it may have created the qdisc. */
		{
			struct nfo_slot old;

			if (!nfo_dp_slot_get(d->dp, dv->slot, &old) && old.ifindex == dv->ifindex)
				dv->flags |= old.flags & NFO_DEV_CLSACT_OURS;
		}
	} else {
		bool generic = dv->mode == NFO_MODE_XDP_GENERIC;

		err = nfo_attach_xdp(dv->ifindex, nfo_dp_prog_fd(d->dp, true), generic,
				     d->cfg->force);
		if (err == -EBUSY)
			pr_err("%s already has an XDP program that is not ours; use --force to "
			       "replace it", dv->name);
		else if (err == -EOPNOTSUPP && !generic)
			pr_err("cannot attach to %s: its driver has no native XDP (use mode tc, "
			       "or xdp-generic)", dv->name);
		else if (err)
			pr_err("cannot attach XDP to %s: %s", dv->name, strerror(-err));
		if (err)
			return err;
		dv->flags |= generic ? NFO_DEV_XDP | NFO_DEV_XDP_GENERIC : NFO_DEV_XDP;
	}
	dv->attached = true;
	err = publish_dev(d, dv);
	if (err) {
		pr_err("%s: cannot update the devices map: %s", dv->name, strerror(-err));
		return err;
	}
	pr_info("%s: attached (%s%s)", dv->name, nfo_mode_names[dv->mode],
		dv->want == NFO_MODE_AUTO ? ", auto" : "");
	return 0;
}

static void detach_dev(struct daemon *d, struct dev *dv, bool unpublish)
{
	struct nfo_dev none = {};
	int err = 0;

	if (!dv->ifindex)
		return;
	if (dv->attached && (dv->flags & NFO_DEV_TC))
		err = nfo_detach_tc(dv->ifindex, dv->flags & NFO_DEV_CLSACT_OURS);
	if (dv->attached && (dv->flags & NFO_DEV_XDP))
		err = nfo_detach_xdp(dv->ifindex, nfo_dp_prog_fd(d->dp, true));
	if (err && err != -ENODEV)
		pr_warn("cannot detach from %s: %s", dv->name, strerror(-err));
	if (unpublish)
		nfo_dp_dev_set(d->dp, dv->ifindex, &none);
	dv->attached = false;
}

/* ---- eviction ----------------------------------------------------------- */

/*
 * NFO_EVICTS (nfo_abi.h): idle; closing (TCP left ESTABLISHED: conntrack saw
 * FIN/RST); destroyed (conntrack entry gone); unmarked (someone cleared our
 * mark bit); ruleset (re-validation after a ruleset change); device (a device
 * went away or down); gone (missing from a resync dump); route moved (the
 * route of a source-NATed flow moved: the stack decides); teardown (FIN/RST
 * seen by the fast path, conntrack said nothing); kept off (a netdev chain or
 * an xfrm policy now applies to it: the fast path would skip it).
 */
enum evict_why {
#define X(e, label) EVICT_##e,
	NFO_EVICTS(X)
#undef X
};

static const char *const evict_names[] = {
#define X(e, label) label,
	NFO_EVICTS(X)
#undef X
};

static void ct_flush(struct daemon *d);

static void ct_flush_if_full(struct daemon *d)
{
	if (!nfo_nl_batch_room(&d->ct_batch, NFO_CT_REQ_MAX) || d->ct_batch.count >= BATCH_MAX)
		ct_flush(d);
}

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

static void evict(struct daemon *d, struct nfo_conn *c, enum evict_why why, uint32_t idle_s)
{
	enum nfo_fixup how = evict_fixup(why);
	char buf[128];

	/* Final counts first: taking the entries out also reads them. */
	nfo_exporter_leaving(&d->mx, c, why, evict_names[why]);
	if (how != NFO_FIXUP_NONE) {
		ct_flush_if_full(d);
		nfo_flow_offload_fixup_ct(&d->ct_batch, how, &c->orig, c->zone, c->tcp_state,
					  c->assured, idle_s, d->cfg->mark);
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

	if (a->ifindex && nfo_conn_ifindex(c, 0) != a->ifindex && nfo_conn_ifindex(c, 1) != a->ifindex)
		return;
	evict(a->d, c, a->why, 0);
	a->n++;
}

static long evict_all(struct daemon *d, enum evict_why why, uint32_t ifindex)
{
	struct evict_all_arg a = { .d = d, .why = why, .ifindex = ifindex };

	nfo_flowtable_foreach(&d->tab, evict_all_cb, &a);
	ct_flush(d);
	return a.n;
}

/* ---- a full flow table ------------------------------------------------- */

/*
 * The flow maps are preallocated, one per family, each with room for
 * flow_capacity connections. A marked connection that finds no room is not
 * touched in conntrack (no held timeout, no liberal window tracking: it stays
 * on the kernel path as it is) and waits in a FIFO; when offloaded
 * connections leave, the oldest waiters are asked for again and admitted.
 */
static bool table_room(struct daemon *d, uint8_t family, uint64_t planned)
{
	int f = family == AF_INET6;

	return d->tab.count_fam[f] + d->waitq.released[f] + planned < d->dp->flow_capacity;
}

static void wait_for_room(struct daemon *d, const struct nfo_tuple *orig, uint16_t zone)
{
	uint64_t now = mono_ns();

	if (nfo_waitq_find(&d->waitq, orig, zone) || nfo_waitq_add(&d->waitq, orig, zone, d->gen))
		return;
	if (now - d->last_full_warn > 10000000000ULL) {
		d->last_full_warn = now;
		pr_warn("flow table full (%llu connections per family): %llu marked connections "
			"wait on the kernel path for room; raise 'flows'",
			(unsigned long long)d->dp->flow_capacity,
			(unsigned long long)d->waitq.count);
	}
}

/* The conntrack entry is gone or no longer marked: stop waiting for it. */
static void forget_waiter(struct daemon *d, const struct nfo_ct *ct)
{
	struct nfo_waiter *w = nfo_waitq_find(&d->waitq, &ct->orig, ct->zone);

	if (w)
		nfo_waitq_remove(&d->waitq, w);
}

/* May this eligible connection be admitted now, or must it wait (FIFO)? */
static bool may_admit(struct daemon *d, const struct nfo_ct *ct)
{
	struct nfo_waiter *w = nfo_waitq_find(&d->waitq, &ct->orig, ct->zone);

	if (w && w->released_s) {
		/* Its turn came: the answer to the GET below. */
		nfo_waitq_remove(&d->waitq, w);
		return true;
	}
	if (w) {
		w->gen = d->gen;
		return false;
	}
	if (!d->waitq.waiting[ct->orig.family == AF_INET6] && table_room(d, ct->orig.family, 0))
		return true;
	wait_for_room(d, &ct->orig, ct->zone);
	return false;
}

/* Room freed: ask conntrack again for the oldest waiters that now fit. */
static void release_waiters(struct daemon *d)
{
	uint32_t now = mono_s();
	struct nfo_waiter *w;
	uint64_t room[2];
	int f, n = 0;

	for (f = 0; f < 2; f++) {
		uint64_t used = d->tab.count_fam[f] + d->waitq.released[f];

		room[f] = d->waitq.waiting[f] && used < d->dp->flow_capacity ?
				  d->dp->flow_capacity - used :
				  0;
	}
	/* No flush inside the walk: the answers may remove waiters. */
	for (w = d->waitq.head; w && (room[0] || room[1]) && n < BATCH_MAX / 2; w = w->qnext) {
		f = w->orig.family == AF_INET6;
		if (w->released_s || !room[f])
			continue;
		if (!nfo_nl_batch_room(&d->ct_batch, NFO_CT_REQ_MAX) ||
		    d->ct_batch.count >= BATCH_MAX)
			break;
		room[f]--;
		nfo_waitq_release(&d->waitq, w, now);
		nfo_ct_req_get(&d->ct_batch, &w->orig, w->zone);
		n++;
	}
	if (n)
		ct_flush(d);
}

/*
 * Waiters asked for again that got no answer (gone from conntrack) and, after
 * a complete dump, waiters conntrack no longer has.
 */
static void expire_waiters(struct daemon *d, bool after_dump)
{
	uint32_t now = mono_s();
	struct nfo_waiter *w, *next;

	if (!after_dump && !d->waitq.released[0] && !d->waitq.released[1])
		return;
	for (w = d->waitq.head; w; w = next) {
		next = w->qnext;
		if (w->released_s ? now - w->released_s >= 3 : after_dump && w->gen != d->gen)
			nfo_waitq_remove(&d->waitq, w);
	}
}

/* ---- admission ---------------------------------------------------------- */

static void queue_admission(struct daemon *d, const struct nfo_ct *ct, uint64_t rx_ns);

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
		c->gen = d->gen;
		if (ct->has_tcp_state)
			c->tcp_state = ct->tcp_state;
		if (!marked && !from_dump) {
			evict(d, c, EVICT_UNMARKED, 0);
		} else if (ct->orig.l4proto == IPPROTO_TCP && ct->has_tcp_state &&
			   ct->tcp_state != NFO_TCP_ESTABLISHED) {
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
		nfo_ct_req_get(&d->ct_batch, &ct->orig, ct->zone);
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

/* Answers to GETs arrive while the batch is flushed: queue them for the intake. */
static int get_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct ct_answer *a;

	if (err || !nlh)
		return 0;
	if (d->nanswers == d->answers_cap) {
		size_t cap = d->answers_cap ? d->answers_cap * 2 : 256;

		a = realloc(d->answers, cap * sizeof(*a));
		if (!a)
			return 0; /* the next resync finds it */
		d->answers = a;
		d->answers_cap = cap;
	}
	a = &d->answers[d->nanswers];
	/* TCP answers must carry the state (that is why it was asked for). */
	if (nfo_ct_parse(nlh, &a->ct) ||
	    (!a->ct.has_tcp_state && a->ct.orig.l4proto == IPPROTO_TCP))
		return 0;
	a->ct.event = NFO_CT_UPDATE;
	/* Latency counts from the mark notification that asked, if one did. */
	a->rx_ns = d->get_since ? d->get_since : mono_ns();
	d->nanswers++;
	return 0;
}

/*
 * Send the conntrack requests. Answers to GETs are only queued: the intake
 * acts on them (intake_settle), never a flush, so that no flush runs inside
 * another job's work.
 */
static void ct_flush(struct daemon *d)
{
	nfo_nl_batch_flush(&d->ct_batch, get_cb, d);
	d->get_since = 0;
}

static void process_pending(struct daemon *d);

static void queue_admission(struct daemon *d, const struct nfo_ct *ct, uint64_t rx_ns)
{
	struct pending *p;
	int i;

	/* The same connection twice in one batch (several events): once. */
	for (i = 0; i < d->npend; i++)
		if (d->pend[i].ct.zone == ct->zone && nfo_tuple_equal(&d->pend[i].ct.orig, &ct->orig))
			return;
	if (d->npend == PENDING_MAX)
		process_pending(d);
	p = &d->pend[d->npend++];
	p->ct = *ct;
	p->rx_ns = rx_ns;
	p->oif[0] = p->oif[1] = 0;
}

static int route_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;

	if (!err && nlh)
		d->pend[d->rt_first + idx / 2].oif[idx % 2] = nfo_route_oif(nlh);
	return 0;
}

/* ---- policy routing ----------------------------------------------------- */

static long evict_all(struct daemon *d, enum evict_why why, uint32_t ifindex);

/*
 * With ip rules beyond the defaults, a connection is admitted only with how
 * the kernel routed a packet of each direction (our chain logged it): the
 * mark the route lookup used, the device it came in through and the one the
 * kernel sent it out of. The fast path looks the route up with that mark and
 * hands the flow back if it picks another device. Without a note for both
 * directions, or with a rule the fast path cannot follow, the connection
 * stays on the kernel path.
 */
static bool policy_ok(struct daemon *d, struct pending *p)
{
	const char *why;
	bool unsupported;
	char buf[128];

	memset(p->route, 0, sizeof(p->route));
	if (!d->pol.rules)
		return true;
	why = nfo_policy_unsupported(&d->pol, p->ct.orig.family);
	unsupported = why != NULL;
	if (!why && !nfo_routenote_conn(&d->notes, &p->ct, p->route))
		why = "policy routing: no notification of how the kernel routed both directions";
	if (!why && (!p->route[0].indev || !p->route[1].indev))
		why = "policy routing: the notification has no input device";
	if (why) {
		memset(p->route, 0, sizeof(p->route));
		/* A missing note is usually a race: the note's own GET admits it. */
		if (unsupported)
			d->skip_policy++;
		if (nfo_log_get_level() >= NFO_LOG_DEBUG)
			pr_debug("not offloaded (%s): %s", why,
				 tuple_str(&p->ct.orig, buf, sizeof(buf)));
		return false;
	}
	/* Where each direction came in, as the kernel saw it: no guess needed. */
	p->oif[0] = p->route[0].indev;
	p->oif[1] = p->route[1].indev;
	return true;
}

static void note_route(struct daemon *d, const struct nlmsghdr *nlh, const struct nfo_tuple *t)
{
	struct nfo_nflog_route r;

	nfo_nflog_route(nlh, &r);
	if (nfo_routenote_add(&d->notes, t, &r, mono_ns()) && !d->notes_nomem) {
		d->notes_nomem = true;
		pr_warn("policy routing: no memory for route notes; connections stay on the kernel "
			"path");
	}
}

/*
 * At start and when rules change (or their events were lost): read them.
 * Flows admitted under other rules leave the fast path (their marks are
 * cleared, so they are judged again); without rules before or after, none
 * was admitted under any.
 */
static void policy_refresh(struct daemon *d, bool at_start)
{
	struct nfo_policy p;
	int err = nfo_policy_read(&d->rt_req, &p);
	bool any;
	int i;

	d->policy_due = false;
	if (err) {
		p.rules = 1;
		for (i = 0; i < 2; i++)
			snprintf(p.unsupported[i], sizeof(p.unsupported[i]),
				 "the ip rules cannot be read (%s)", strerror(-err));
	}
	for (i = 0; i < 2; i++)
		if (p.unsupported[i][0] && strcmp(p.unsupported[i], d->pol.unsupported[i]))
			pr_warn("policy routing: %s; marked %s connections stay on the kernel path",
				p.unsupported[i], i ? "IPv6" : "IPv4");
	if (p.rules && !d->pol.rules)
		pr_info("policy routing: %u ip rule%s beyond the defaults%s; each connection is "
			"offloaded with the mark and devices the kernel routed it with",
			p.rules, p.rules == 1 ? "" : "s", p.fwmark ? " (by fwmark)" : "");
	any = p.rules || d->pol.rules;
	d->pol = p;
	if (!at_start && any) {
		long n = evict_all(d, EVICT_ROUTE, 0);

		if (n > 0)
			pr_info("ip rules changed: %ld connection%s back to the kernel path", n,
				n == 1 ? "" : "s");
	}
}

static void policy_report(struct daemon *d)
{
	if (d->skip_policy == d->skip_policy_logged)
		return;
	d->skip_policy_logged = d->skip_policy;
	pr_info("marked connections not offloaded so far: %llu by policy routing",
		(unsigned long long)d->skip_policy);
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
		d->skip_devices++;
		if (nfo_log_get_level() >= NFO_LOG_DEBUG)
			pr_debug("not offloaded (%s direction arrives on a device that is "
				 "not an offload device): %s",
				 dir ? "reply" : "original",
				 tuple_str(&p->ct.orig, buf, sizeof(buf)));
		break;
	case NFO_ADMIT_DEV_NETDEV_CHAIN:
		d->skip_keptoff++;
		if (nfo_log_get_level() >= NFO_LOG_DEBUG)
			pr_debug("not offloaded (netdev chains hook %s): %s", dv[dir]->name,
				 tuple_str(&p->ct.orig, buf, sizeof(buf)));
		break;
	}
	return false;
}

/* Conntrack's timeout of an offloaded connection: the long one, again. */
static void hold_ct(struct daemon *d, const struct nfo_conn *c)
{
	ct_flush_if_full(d);
	nfo_flow_offload_refresh(&d->ct_batch, c, d->cfg->ct_timeout);
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

static void admit(struct daemon *d, struct pending *p, uint64_t now)
{
	const struct nfo_ct *ct = &p->ct;
	struct nfo_tuple out[2];
	struct nfo_flow flow[2];
	struct nfo_conn *c;
	char buf[128];
	int dir, err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->orig = ct->orig;
	c->zone = ct->zone;
	c->ct_id = ct->id;
	c->tcp_state = ct->has_tcp_state ? ct->tcp_state : NFO_TCP_ESTABLISHED;
	c->assured = !!(ct->status & (NFO_IPS_ASSURED | NFO_IPS_SEEN_REPLY));
	c->gen = d->gen;
	/* A packet of one direction leaves looking like the other's inverse. */
	nfo_tuple_invert(&out[0], &ct->reply);
	nfo_tuple_invert(&out[1], &ct->orig);
	nfo_flow_build(&ct->orig, &out[0], p->oif[0], ct->id, NFO_DIR_ORIGINAL, &c->key[0],
		       &flow[0]);
	nfo_flow_build(&ct->reply, &out[1], p->oif[1], ct->id, NFO_DIR_REPLY, &c->key[1],
		       &flow[1]);
	bridge_rekey(d, p, NFO_DIR_ORIGINAL, &out[0], &c->key[0], &flow[0]);
	bridge_rekey(d, p, NFO_DIR_REPLY, &out[1], &c->key[1], &flow[1]);
	for (dir = 0; dir < 2; dir++) {
		flow[dir].mark = p->route[dir].mark;
		flow[dir].route_oif = p->route[dir].outdev;
	}
	/* The original direction leaves where the reply comes in (symmetric). */
	if (flow[0].flags & NFO_FLOW_SNAT)
		flow[0].snat_oif = p->oif[1];
	err = nfo_flow_offload_add(&d->tab, d->dp, c, flow, now);
	if (err) {
		d->st.admit_errors++;
		if (err == -E2BIG || err == -ENOSPC || err == -ENOMEM) {
			/* Full although counted: wait, do not retry at once. */
			wait_for_room(d, &ct->orig, ct->zone);
		} else if (now - d->last_full_warn > 10000000000ULL) {
			d->last_full_warn = now;
			pr_warn("cannot write a flow entry: %s", strerror(-err));
		}
		/* It stays in the slow path; give conntrack its timeout back. */
		ct_flush_if_full(d);
		nfo_flow_offload_fixup_ct(&d->ct_batch, NFO_FIXUP_TIMEOUT, &ct->orig, ct->zone,
					  c->tcp_state, c->assured, 0, d->cfg->mark);
		free(c);
		return;
	}
	/*
	 * A packet conntrack saw between the update above and these map writes
	 * refreshed the entry to its own timeout (30 s for UDP not yet
	 * assured), and no later packet reaches conntrack to refresh it again:
	 * hold it once more now. The first idle check, at most 10 s away, holds
	 * it again against anything still in flight.
	 */
	hold_ct(d, c);
	nfo_flowtable_schedule(&d->tab, c,
			     mono_s() + (d->cfg->idle_timeout < 10 ? d->cfg->idle_timeout : 10));
	lat_record(d, mono_ns() - p->rx_ns);
	d->st.offloaded_total++;
	if (nfo_log_get_level() >= NFO_LOG_DEBUG)
		pr_debug("offload: %s (in %s / %s)", tuple_str(&ct->orig, buf, sizeof(buf)),
			 dev_by_ifindex(d, p->oif[0])->name, dev_by_ifindex(d, p->oif[1])->name);
}

static int prep_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;

	/* The conntrack entry is gone (ENOENT) or refused: do not offload. */
	if (err && idx < (unsigned int)d->nprep) {
		struct pending *p = &d->pend[d->prep[idx]];
		char buf[128];

		p->ok = false;
		d->skip_conntrack++;
		if (nfo_log_get_level() >= NFO_LOG_DEBUG)
			pr_debug("not offloaded (conntrack update: %s): %s", strerror(-err),
				 tuple_str(&p->ct.orig, buf, sizeof(buf)));
	}
	return 0;
}

/*
 * Admit everything queued, in three batches:
 *  1. route lookups for both directions' ingress device (the device the
 *     sender is reached through: routing is assumed symmetric);
 *  2. conntrack updates, acknowledged before anything else happens: timeout
 *     held while offloaded, and TCP window tracking liberal - otherwise the
 *     first reply acknowledging data conntrack never saw would be INVALID;
 *  3. the flow map writes.
 */
static void process_chunk(struct daemon *d, int first, int n, uint64_t now)
{
	uint64_t planned[2] = { 0, 0 };
	int i, err;

	for (i = first; i < first + n; i++) {
		nfo_route_req(&d->rt_batch, d->pend[i].ct.orig.family, &d->pend[i].ct.orig.src);
		nfo_route_req(&d->rt_batch, d->pend[i].ct.reply.family, &d->pend[i].ct.reply.src);
	}
	d->rt_first = first;
	err = nfo_nl_batch_flush(&d->rt_batch, route_cb, d);
	if (err)
		pr_warn("route lookups failed: %s", strerror(-err));
	d->nprep = 0;
	for (i = first; i < first + n; i++) {
		struct pending *p = &d->pend[i];

		if (!policy_ok(d, p)) {
			p->ok = false;
			continue;
		}
		p->ok = devices_ok(d, p);
		if (!p->ok)
			continue;
		p->ok = !kept_off(d, p);
		if (!p->ok) {
			d->skip_keptoff++;
			continue;
		}
		/* No room: leave conntrack untouched, wait (no hold, no liberal). */
		if (!table_room(d, p->ct.orig.family, planned[p->ct.orig.family == AF_INET6])) {
			p->ok = false;
			wait_for_room(d, &p->ct.orig, p->ct.zone);
			continue;
		}
		planned[p->ct.orig.family == AF_INET6]++;
		d->prep[d->nprep++] = i;
		nfo_ct_req_update(&d->adm_batch, &p->ct.orig, p->ct.zone,
				  &(struct nfo_ct_update){ .set_timeout = true,
							   .timeout = d->cfg->ct_timeout,
							   .tcp_liberal = true });
	}
	err = nfo_nl_batch_flush(&d->adm_batch, prep_cb, d);
	if (err) {
		/* Unknown which were applied: offload none of them now. */
		pr_warn("conntrack updates failed: %s; will retry at the next resync",
			strerror(-err));
		d->resync_due = true;
		return;
	}
	for (i = first; i < first + n; i++)
		if (d->pend[i].ok)
			admit(d, &d->pend[i], now);
}

static void process_pending(struct daemon *d)
{
	uint64_t now = mono_ns();
	int i;

	for (i = 0; i < d->npend; i += BATCH_MAX / 2)
		process_chunk(d, i, d->npend - i < BATCH_MAX / 2 ? d->npend - i : BATCH_MAX / 2,
			      now);
	d->npend = 0;
	ct_flush(d);
}

/*
 * Admit what is queued, send the requests, act on the answers they brought
 * (which may queue more admissions), until nothing is left. The one place
 * where answers to conntrack requests are handled: data flows one way.
 */
static void intake_settle(struct daemon *d)
{
	struct ct_answer *a;
	size_t i, n;

	for (;;) {
		process_pending(d);
		ct_flush(d);
		if (!d->nanswers)
			return;
		/* Handling them may queue more answers: take these out first. */
		a = d->answers;
		n = d->nanswers;
		d->answers = NULL;
		d->nanswers = d->answers_cap = 0;
		for (i = 0; i < n; i++)
			handle_ct(d, &a[i].ct, a[i].rx_ns, false);
		free(a);
	}
}

/* ---- conntrack events and resync --------------------------------------- */

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
	    !ct->has_mark || !(ct->mark & d->cfg->mark) || nlh->nlmsg_pid == d->ct_req.portid ||
	    nlh->nlmsg_pid == d->ct_dump.portid ||
	    nfo_flowtable_find(&d->tab, &ct->orig, ct->zone))
		return false;
	if (!d->netlink_marks_cleared++)
		pr_info("cleared ct mark 0x%08x set through netlink by port id %u (conntrackd "
			"sync?): this router's ruleset marks such connections again",
			d->cfg->mark, nlh->nlmsg_pid);
	if (nfo_log_get_level() >= NFO_LOG_DEBUG)
		pr_debug("mark set through netlink cleared: %s",
			 tuple_str(&ct->orig, buf, sizeof(buf)));
	ct_flush_if_full(d);
	nfo_ct_req_update(&d->ct_batch, &ct->orig, ct->zone, &u);
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
	handle_ct(d, &ct, mono_ns(), false);
	return 0;
}

static int dump_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct nfo_ct ct;

	if (!nfo_ct_parse(nlh, &ct)) {
		d->dumped++;
		handle_ct(d, &ct, mono_ns(), true);
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

	if (c->gen != a->d->gen) {
		evict(a->d, c, EVICT_GONE, 0);
		a->n++;
	}
}

/*
 * Full resync: dump every marked conntrack entry, admit what should be in the
 * fast path, and evict what conntrack no longer has (its DESTROY was lost).
 */
static int resync(struct daemon *d, const char *why)
{
	struct gone_arg ga = { .d = d };
	uint64_t admitted = d->st.offloaded_total, t0 = mono_ns();
	bool catchup = !strcmp(why, "catch-up");
	int err, tries;

	d->gen++;
	d->dumped = 0;
	for (tries = 0; tries < 3; tries++) {
		err = nfo_ct_dump(&d->ct_dump, d->cfg->mark, d->cfg->mark, dump_cb, d);
		if (err != -ENOBUFS && err != -EINTR)
			break;
	}
	intake_settle(d);
	if (err) {
		pr_warn("conntrack dump failed (%s); will retry", strerror(-err));
		d->resync_due = true;
		return err;
	}
	nfo_flowtable_foreach(&d->tab, gone_cb, &ga);
	ct_flush(d);
	expire_waiters(d, true);
	d->resync_due = false;
	if (catchup) {
		pr_info("catch-up: %llu marked connections in %.0f ms; %llu offloaded and %ld gone "
			"that conntrack had not reported",
			(unsigned long long)d->dumped, (mono_ns() - t0) / 1e6,
			(unsigned long long)(d->st.offloaded_total - admitted), ga.n);
		return 0;
	}
	if (strcmp(why, "initial dump"))
		d->st.resyncs++;
	pr_info("conntrack %s: %llu connections offloaded in %.0f ms%s", why,
		(unsigned long long)d->tab.count, (mono_ns() - t0) / 1e6,
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
	int want = d->ct_ev_buf > max / 2 ? max : d->ct_ev_buf * 2;
	int err;

	if (want <= d->ct_ev_buf)
		return;
	err = nfo_nl_set_rcvbuf(&d->ct_ev, want);
	if (err) {
		pr_warn("cannot grow the conntrack event buffer to %d KiB: %s", want >> 10,
			strerror(-err));
		d->ct_ev_buf = max; /* do not try again at every loss */
		return;
	}
	pr_info("conntrack event buffer grown from %d to %d KiB after a loss%s",
		d->ct_ev_buf >> 10, want >> 10, want == max ? " (the largest it gets)" : "");
	d->ct_ev_buf = want;
}

static void read_ct_events(struct daemon *d)
{
	int n = nfo_nl_read_events(&d->ct_ev, ct_event_cb, d, 256);

	if (n == -ENOBUFS) {
		d->st.events_lost++;
		grow_ct_ev_buf(d);
		if (!d->resync_due)
			pr_warn("conntrack events lost (receive buffer full); resyncing");
		d->resync_due = true;
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
	if (d->pol.rules)
		note_route(d, nlh, &t);
	nfo_tuple_invert(&inv, &t);
	if (nfo_flowtable_find(&d->tab, &t, 0) || nfo_flowtable_find(&d->tab, &inv, 0))
		return 0;
	ct_flush_if_full(d);
	if (!d->get_since)
		d->get_since = mono_ns();
	nfo_ct_req_get(&d->ct_batch, &t, 0);
	ct_flush_if_full(d);
	nfo_ct_req_get(&d->ct_batch, &inv, 0);
	return 0;
}

static void read_nflog(struct daemon *d)
{
	int n = nfo_nl_read_events(&d->nflog, nflog_cb, d, 256);

	if (n == -ENOBUFS) {
		d->st.events_lost++;
		d->nflog_buf = d->nflog_buf < (64 << 20) ? d->nflog_buf * 2 : d->nflog_buf;
		nfo_nl_set_rcvbuf(&d->nflog, d->nflog_buf);
		if (!d->resync_due)
			pr_warn("mark notifications lost (nflog receive buffer full, now %d KiB); "
				"resyncing",
				d->nflog_buf >> 10);
		d->resync_due = true;
	} else if (n < 0) {
		pr_warn("reading mark notifications: %s", strerror(-n));
	}
	intake_settle(d);
}

/* ---- ruleset ------------------------------------------------------------ */

static void check_ruleset(struct daemon *d, bool at_start)
{
	struct nfo_nft_report r;

	if (nfo_nft_inspect(d->cfg->mark, &r))
		return;
	d->st.flags &= ~NFO_STATE_WARN_PRIO;
	if (r.later_chains) {
		d->st.flags |= NFO_STATE_WARN_PRIO;
		pr_warn("*** forward chain(s) running at or after nft-offload's (priority %d): %s. "
			"Packets they drop may already have been marked for offload; give them a "
			"lower priority ***",
			NFO_NFT_PRIO, r.later);
	}
	if (r.mark_clobbers)
		pr_warn("rules assign the whole ct mark and so clear nft-offload's bit 0x%08x: %s",
			d->cfg->mark, r.clobber);
	if (r.mark_conflicts && !at_start)
		pr_warn("rules now use nft-offload's ct mark bit 0x%08x: %s", d->cfg->mark,
			r.conflict);
}

static int install_table(struct daemon *d)
{
	struct nfo_nft_spec spec = {
		.mark = d->cfg->mark,
		.log_group = d->cfg->log_group,
		.selectors = (const char *const *)d->cfg->selectors,
		.nselectors = d->cfg->nselectors,
		.ndevices = d->ndevs,
	};
	const char *names[NFO_MAX_DEVICES];
	char err[512];
	int i, rc;

	for (i = 0; i < d->ndevs; i++)
		names[i] = d->devs[i].name;
	spec.devices = names;
	rc = nfo_nft_install(&spec, err, sizeof(err));
	if (rc)
		pr_err("cannot install table %s %s: %s", NFO_NFT_FAMILY, NFO_NFT_TABLE, err);
	else if (nfo_nft_table_text(d->table_text, sizeof(d->table_text)))
		d->table_text[0] = '\0';
	return rc;
}

static int nft_event_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	uint32_t gen, pid;

	nfo_setchg_event(&d->setchg, nlh);
	if (nfo_nft_parse_gen(nlh, &gen, &pid))
		return 0;
	d->st.nft_gen = gen;
	if (pid == (uint32_t)getpid()) {
		/* Our own table: forget its events, keep the user's before it. */
		d->setchg.nelems = d->setchg_committed;
		d->setchg.other = false;
		return 0;
	}
	if (d->setchg.other || !d->setchg.nelems)
		d->revalidate_due = true;
	else
		d->setchg_due = true;
	d->setchg_committed = d->setchg.nelems;
	return 0;
}

/* How long packets judged by the old ruleset may still be in flight. */
#define REVALIDATE_GRACE_NS 250000000ULL

static void revalidate(struct daemon *d);
static void revalidate_sets(struct daemon *d);
static long evict_concerned(struct daemon *d, const struct nfo_setchg *chg);
static bool ct_concerned(const struct nfo_ct *ct, void *arg);

/*
 * The ruleset changed: every offloaded flow goes back to it. Flows the new
 * rules still accept are marked again by our chain and come back.
 *
 * Packets that were already being judged by the old ruleset when the change
 * committed (on another CPU) can still reach our chain and mark a flow the
 * new rules would drop. So a second pass, once they are gone, sends back
 * everything marked since and clears every mark: only packets judged by the
 * new ruleset mark after that.
 */
static void revalidate(struct daemon *d)
{
	long n;

	d->revalidate_due = false;
	/* Everything goes back: what set changes were pending is covered. */
	nfo_setchg_reset(&d->setchg);
	nfo_setchg_reset(&d->again_chg);
	d->setchg_committed = 0;
	d->setchg_due = d->again_targeted = false;
	check_own_table(d);
	check_ruleset(d, false);
	check_netdev_chains(d, false);
	n = evict_all(d, EVICT_RULESET, 0);
	d->st.revalidations++;
	d->revalidate_again_ns = mono_ns() + REVALIDATE_GRACE_NS;
	pr_info("ruleset changed (generation %u): %ld connections back to the ruleset for "
		"re-validation",
		d->st.nft_gen, n);
}

static void revalidate_again(struct daemon *d)
{
	bool targeted = d->again_targeted;
	long n, m;

	d->revalidate_again_ns = 0;
	if (targeted) {
		/* After a set change: only the flows it concerns. */
		n = evict_concerned(d, &d->again_chg);
		m = nfo_ct_clear_marks_if(d->cfg->mark, ct_concerned, &d->again_chg);
		nfo_setchg_reset(&d->again_chg);
		d->again_targeted = false;
	} else {
		n = evict_all(d, EVICT_RULESET, 0);
		m = nfo_ct_clear_marks(d->cfg->mark);
	}
	/*
	 * Marks cleared on entries that report no events (older than the
	 * daemon) are found again by catch-up dumps. After a set change only
	 * the concerned entries lost theirs: one dump, and only if there were.
	 */
	if (!targeted || m > 0) {
		d->catchups = targeted ? 2 : 0;
		d->catchup_at = mono_s() + 2;
	}
	if (n || m > 0)
		pr_info("%s, second pass: %ld offloaded and %ld marked connections "
			"went back to the ruleset (marked by packets the old ruleset still judged)",
			targeted ? "set change" : "re-validation", n, m > 0 ? m : 0);
}

/* ---- set element changes: only the flows they concern ----------------- */

struct concerned_arg {
	struct daemon *d;
	const struct nfo_setchg *chg;
	long n;
};

static bool conn_concerned(const struct nfo_setchg *chg, const struct nfo_conn *c)
{
	struct nfo_tuple reply;
	uint32_t ifindex;

	/* The REPLY entry's key is conntrack's reply tuple. */
	nfo_key_tuple(&c->key[1], c->orig.family, &reply, &ifindex);
	return nfo_setchg_concerns(chg, &c->orig, &reply);
}

static void evict_concerned_cb(struct nfo_conn *c, void *arg)
{
	struct concerned_arg *a = arg;

	if (!conn_concerned(a->chg, c))
		return;
	evict(a->d, c, EVICT_RULESET, 0);
	a->n++;
}

static long evict_concerned(struct daemon *d, const struct nfo_setchg *chg)
{
	struct concerned_arg a = { .d = d, .chg = chg };

	nfo_flowtable_foreach(&d->tab, evict_concerned_cb, &a);
	ct_flush(d);
	return a.n;
}

static bool ct_concerned(const struct nfo_ct *ct, void *arg)
{
	return nfo_setchg_concerns(arg, &ct->orig, &ct->reply);
}

/* Append the ranges of `from` to `to` (for one second pass of several changes). */
static bool setchg_merge(struct nfo_setchg *to, const struct nfo_setchg *from)
{
	struct nfo_setchg_range *r;

	if (!from->nranges)
		return true;
	r = realloc(to->ranges, (to->nranges + from->nranges) * sizeof(*r));
	if (!r)
		return false;
	memcpy(r + to->nranges, from->ranges, from->nranges * sizeof(*r));
	to->ranges = r;
	to->nranges += from->nranges;
	return true;
}

/*
 * A transaction changed set elements only: the flows whose addresses, ports
 * or protocol fall on the changed elements go back to the ruleset, the others
 * stay in the fast path. Like a full re-validation, a second pass after the
 * grace period catches those re-marked by packets the old sets still judged.
 */
static void revalidate_sets(struct daemon *d)
{
	uint64_t total = d->tab.count, t0 = mono_ns();
	size_t nelems = d->setchg.nelems;
	long n;

	d->setchg_due = false;
	nfo_setchg_resolve(&d->setchg);
	if (d->setchg.all) {
		pr_info("set elements changed in a way that may concern any flow (key type, or "
			"a rule that transforms the value it looks up)");
		revalidate(d);
		return;
	}
	n = evict_concerned(d, &d->setchg);
	d->st.revalidations++;
	if (d->revalidate_again_ns && !d->again_targeted) {
		/* A full second pass is due anyway. */
	} else if (setchg_merge(&d->again_chg, &d->setchg)) {
		d->again_targeted = true;
		d->revalidate_again_ns = mono_ns() + REVALIDATE_GRACE_NS;
	} else {
		d->again_targeted = false;
		d->revalidate_again_ns = mono_ns() + REVALIDATE_GRACE_NS;
	}
	pr_info("set elements changed (generation %u, %zu elements): %ld of %llu connections "
		"concerned went back to the ruleset, in %.1f ms",
		d->st.nft_gen, nelems, n, (unsigned long long)total, (mono_ns() - t0) / 1e6);
	nfo_setchg_reset(&d->setchg);
	d->setchg_committed = 0;
}

static void read_nft_events(struct daemon *d)
{
	int n = nfo_nl_read_events(&d->nft_ev, nft_event_cb, d, 4096);

	if (n == -ENOBUFS) {
		/* Lost ruleset events: assume it changed. */
		d->revalidate_due = true;
	}
	if (d->revalidate_due)
		revalidate(d);
	else if (d->setchg_due)
		revalidate_sets(d);
}

/* ---- links and routes --------------------------------------------------- */

static void link_removed(struct daemon *d, struct dev *dv)
{
	long n = evict_all(d, EVICT_DEVICE, dv->ifindex);

	pr_warn("%s: device removed; %ld connections back to the stack", dv->name, n);
	dv->attached = false;
	dv->ifindex = 0;
	dv->up = false;
}

/*
 * An offload device that joins a bridge while running: its routed packets now
 * arrive on the bridge, so its flows can never match again.
 */
static void master_update(struct daemon *d, struct dev *dv, const struct nfo_link *l)
{
	char br[IFNAMSIZ];
	long n;

	if (dv->master == l->master)
		return;
	dv->master = l->master;
	if (nfo_bridge_of(&d->rt_req, l, br, sizeof(br)) == 1) {
		n = evict_all(d, EVICT_DEVICE, dv->ifindex);
		pr_warn("%s joined bridge %s: routed packets arrive on %s now, not on %s; "
			"%ld connections back to the stack (offload %s instead)",
			dv->name, br, br, dv->name, n, br);
	} else if (!l->master) {
		pr_info("%s: no longer a port of a bridge", dv->name);
	}
}

/* A link as it is now (event or query): attach, follow up/down and MAC. */
static void link_update(struct daemon *d, const struct nfo_link *l)
{
	struct dev *dv = dev_by_ifindex(d, l->ifindex);
	long n;

	if (!dv) {
		/* A configured device (re)appeared: attach to it. */
		dv = dev_by_name(d, l->name);
		if (dv && !dv->ifindex && attach_dev(d, dv, l) == 0)
			pr_info("%s: device is back", dv->name);
		return;
	}
	if (dv->up && !l->up) {
		n = evict_all(d, EVICT_DEVICE, dv->ifindex);
		pr_warn("%s: device down; %ld connections back to the stack", dv->name, n);
	} else if (!dv->up && l->up) {
		pr_info("%s: device up", dv->name);
	}
	dv->up = l->up;
	master_update(d, dv, l);
	if (memcmp(dv->mac, l->mac, 6)) {
		memcpy(dv->mac, l->mac, 6);
		publish_dev(d, dv);
	}
}

static bool neigh_dev_cb(void *arg, uint32_t ifindex)
{
	struct daemon *d = arg;
	struct dev *dv = dev_by_ifindex(d, ifindex);

	/* Only while the fast path may be the neighbour's only user. */
	return dv && dv->attached && d->tab.count;
}

static void neigh_event(struct daemon *d, const struct nlmsghdr *nlh)
{
	int r = nfo_neigh_event(&d->rt_req, nlh, neigh_dev_cb, d);

	if (r < 0 && r != -ENOENT)
		pr_warn("cannot ask for a neighbour to be resolved again: %s", strerror(-r));
}

static int rt_event_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct nfo_link l;
	struct dev *dv;

	if (nlh->nlmsg_type == RTM_NEWNEIGH) {
		neigh_event(d, nlh);
		return 0;
	}
	if (nlh->nlmsg_type == RTM_NEWRULE || nlh->nlmsg_type == RTM_DELRULE) {
		d->policy_due = true;
		return 0;
	}
	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return 0;
	if (nfo_link_parse(nlh, &l))
		return 0;
	/*
	 * AF_BRIDGE messages are the bridge's notifications about a port
	 * (joined, changed, left: RTM_DELLINK): never the device going away.
	 * The device's own AF_UNSPEC message follows with its new master.
	 */
	if (l.family == AF_BRIDGE)
		return 0;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		dv = dev_by_ifindex(d, l.ifindex);
		if (dv)
			link_removed(d, dv);
		return 0;
	}
	link_update(d, &l);
	return 0;
}

/* Link events were lost: ask for each configured device as it is now. */
static void links_resync(struct daemon *d)
{
	int i;

	for (i = 0; i < d->ndevs; i++) {
		struct dev *dv = &d->devs[i];
		struct nfo_link l;
		int err = nfo_link_get(&d->rt_req, 0, dv->name, &l);

		/* Gone, or removed and created again under the same name. */
		if (dv->ifindex && (err || l.ifindex != dv->ifindex))
			link_removed(d, dv);
		if (!err)
			link_update(d, &l);
	}
}

/*
 * The fast path tore a flow down. A moved route of a source-NATed flow goes
 * back to the stack at once (it decides: the kernel drops masquerade whose
 * device changed); after a FIN/RST conntrack normally reports the close
 * within milliseconds, so only check again shortly in case it does not.
 */
static int teardown_event(void *ctx, void *data, size_t len)
{
	const struct nfo_event *e = data;
	struct daemon *d = ctx;
	union nfo_key key = {};
	struct nfo_flow f = {};
	struct nfo_conn *c;

	if (len < sizeof(*e) || (e->family != AF_INET && e->family != AF_INET6))
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
	if (e->type == NFO_TEARDOWN_ROUTE)
		evict(d, c, EVICT_ROUTE, 0);
	else
		nfo_flow_offload_teardown(&d->tab, c, mono_s());
	return 0;
}

static void read_teardowns(struct daemon *d)
{
	ring_buffer__consume(d->rb);
	ct_flush(d);
}

static void read_rt_events(struct daemon *d)
{
	int n = nfo_nl_read_events(&d->rt_ev, rt_event_cb, d, 4096);

	if (n == -ENOBUFS) {
		pr_warn("link events lost (receive buffer full); checking the devices again");
		links_resync(d);
	} else if (n < 0) {
		pr_warn("reading link events: %s", strerror(-n));
	}
	if (d->policy_due || n == -ENOBUFS)
		policy_refresh(d, false);
}

/* ---- periodic work ------------------------------------------------------ */

static void idle_gc(struct daemon *d)
{
	uint32_t now_s = mono_s();
	uint64_t now = mono_ns();
	struct nfo_conn *c, *next;

	for (c = nfo_flowtable_gc_step(&d->tab, now_s); c; c = next) {
		uint32_t idle, when;

		next = c->wnext;
		c->wnext = NULL;
		switch (nfo_flow_offload_gc(d->dp, c, now, now_s, d->cfg->idle_timeout, &idle,
					    &when)) {
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
			 * have given the entry conntrack's own short timeout.
			 */
			hold_ct(d, c);
			nfo_flowtable_schedule(&d->tab, c, when);
			break;
		}
	}
	ct_flush(d);
}

static void publish_state(struct daemon *d)
{
	d->st.heartbeat_ns = mono_ns();
	d->st.flows = d->tab.count;
	d->st.flows_waiting = d->waitq.count;
	d->st.latency_p50_ns = lat_percentile(d, 0.50);
	d->st.latency_p99_ns = lat_percentile(d, 0.99);
	d->st.latency_max_ns = d->lat_max;
	nfo_dp_state_set(d->dp, &d->st);
}

static void refresh_xdp_tx(struct daemon *d)
{
	int i;

	for (i = 0; i < d->ndevs; i++)
		if (d->devs[i].attached && (d->devs[i].flags & NFO_DEV_XDP))
			publish_dev(d, &d->devs[i]);
}

static void tick(struct daemon *d)
{
	static unsigned int ticks;
	uint64_t exp;

	if (read(d->timerfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	if (d->resync_due) {
		/*
		 * A dump taken while conntrack changes fast can miss entries
		 * created during it, and their events may have been lost too:
		 * look once more when things have settled.
		 */
		if (!resync(d, "resync"))
			d->settle_at = mono_s() + 3;
	} else if (d->settle_at && (int32_t)(mono_s() - d->settle_at) >= 0) {
		d->settle_at = 0;
		resync(d, "follow-up resync");
	} else if ((int32_t)(mono_s() - d->catchup_at) >= 0) {
		static const uint32_t next[] = { 8, 20 };

		d->catchup_at = mono_s() + (d->catchups < 2 ? next[d->catchups] : 600);
		d->catchups++;
		resync(d, "catch-up");
	}
	/* With nf_conntrack_events = 0 conntrack reports nothing, not even ends. */
	if (nfo_ct_events_revive()) {
		pr_warn("net.netfilter.nf_conntrack_events was set to 0, which silences every "
			"conntrack event nft-offload relies on; set it to 1 again");
		d->st.flags |= NFO_STATE_EVENTS_REVIVED;
	}
	idle_gc(d);
	nfo_exporter_tick(&d->mx);
	expire_waiters(d, false);
	release_waiters(d);
	intake_settle(d);
	if (++ticks % 10 == 0)
		refresh_xdp_tx(d);
	if (ticks % 5 == 0)
		watch_owners(d);
	if (d->skip_devices + d->skip_conntrack != d->skip_logged) {
		d->skip_logged = d->skip_devices + d->skip_conntrack;
		pr_info("marked connections not offloaded so far: %llu entering through a device "
			"that is not an offload device, %llu gone from conntrack meanwhile",
			(unsigned long long)d->skip_devices, (unsigned long long)d->skip_conntrack);
	}
	policy_report(d);
	publish_state(d);
}

/* ---- what stays on the kernel path, and who owns the devices ----------- */

/*
 * A netdev chain (table netdev ingress or egress, or an inet ingress chain)
 * on an offload device would never see offloaded packets: tc and XDP run
 * before the netdev ingress hook, and a redirect skips the egress hook. Such a
 * device stays on the kernel path, in both directions, unless
 * allow-netdev-chains names it. Called at start and on every ruleset change.
 */
static void check_netdev_chains(struct daemon *d, bool at_start)
{
	struct nfo_netdev_chains nc;
	uint32_t blocked = 0;
	char chains[512];
	int i, err;

	err = nfo_netdev_chains_scan(&nc);
	if (err) {
		pr_warn("cannot list the netdev chains: %s", strerror(-err));
		return;
	}
	for (i = 0; i < d->ndevs; i++) {
		struct dev *dv = &d->devs[i];
		bool on = nfo_netdev_chains_on(&nc, dv->name, chains, sizeof(chains)) > 0;
		bool allowed = on && nfo_config_netdev_allowed(d->cfg, dv->name);
		bool block = on && !allowed;
		long n = 0;

		blocked += block;
		if (allowed && at_start)
			pr_warn("%s: netdev chain(s) %s hook it, and allow-netdev-chains lets "
				"offloaded packets skip them",
				dv->name, chains);
		if (block == dv->netdev_chain)
			continue;
		dv->netdev_chain = block;
		if (dv->attached)
			publish_dev(d, dv);
		if (block && dv->ifindex)
			n = evict_all(d, EVICT_KEPTOFF, dv->ifindex);
		if (block)
			pr_warn("%s: netdev chain(s) %s hook it, and offloaded packets would skip "
				"them: its connections stay on the kernel path (%ld back to it); "
				"allow-netdev-chains = %s offloads it anyway",
				dv->name, chains, n, dv->name);
		else
			pr_info("%s: no netdev chain hooks it any more; offloading through it again",
				dv->name);
	}
	d->st.netdev_blocked = blocked;
}

struct keptoff_arg {
	struct daemon *d;
	long n;
};

static void xfrm_evict_cb(struct nfo_conn *c, void *arg)
{
	struct keptoff_arg *a = arg;
	struct nfo_tuple reply;
	uint32_t ifindex;

	nfo_key_tuple(&c->key[1], c->orig.family, &reply, &ifindex);
	if (nfo_xfrm_match(&a->d->xfrm, &c->orig, &reply)) {
		evict(a->d, c, EVICT_KEPTOFF, 0);
		a->n++;
	}
}

/* Read the xfrm policies again; offloaded flows one of them selects go back. */
static void xfrm_reload(struct daemon *d, bool at_start)
{
	struct keptoff_arg a = { .d = d };
	int err = nfo_xfrm_dump(&d->xfrm);

	if (err) {
		if (at_start)
			pr_warn("cannot read the xfrm (IPsec) policies: %s", strerror(-err));
		return;
	}
	if (d->xfrm.n) {
		nfo_flowtable_foreach(&d->tab, xfrm_evict_cb, &a);
		ct_flush(d);
	}
	if (at_start ? d->xfrm.total > 0 : d->st.xfrm_policies != (uint32_t)d->xfrm.total || a.n)
		pr_info("%d xfrm (IPsec) policies, %d of them for forwarded packets: the "
			"connections they select stay on the kernel path (%ld back to it)",
			d->xfrm.total, d->xfrm.n, a.n);
	d->st.xfrm_policies = d->xfrm.total;
}

static void xfrm_start(struct daemon *d)
{
	/* The event socket first, so that no change falls between it and the dump. */
	d->xfrm_ev_open = !nfo_xfrm_events_open(&d->xfrm_ev);
	if (!d->xfrm_ev_open)
		pr_warn("cannot watch xfrm (IPsec) policies (NETLINK_XFRM); policies added "
			"later are not followed");
	xfrm_reload(d, true);
}

static int ignore_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	return 0;
}

static void read_xfrm_events(struct daemon *d)
{
	/* Any policy event (or a loss of them): read them all again. */
	nfo_nl_read_events(&d->xfrm_ev, ignore_cb, d, 4096);
	xfrm_reload(d, false);
}

/* Admission: an xfrm policy says no (netdev chains: devices_ok). */
static bool kept_off(struct daemon *d, const struct pending *p)
{
	const struct nfo_xfrm_pol *pol;
	char buf[128], ps[192];

	pol = nfo_xfrm_match(&d->xfrm, &p->ct.orig, &p->ct.reply);
	if (pol && nfo_log_get_level() >= NFO_LOG_DEBUG) {
		nfo_xfrm_pol_str(pol, ps, sizeof(ps));
		pr_debug("not offloaded (an xfrm (IPsec) policy matches: %s): %s", ps,
			 tuple_str(&p->ct.orig, buf, sizeof(buf)));
	}
	return pol != NULL;
}

/*
 * Our table must hold what we installed, not only exist: a flushed chain or a
 * deleted rule silently stops all offload. Reinstall it (atomically) when
 * anything differs.
 */
static void check_own_table(struct daemon *d)
{
	static char now[sizeof(d->table_text)];
	const char *what;
	int err;

	err = nfo_nft_table_text(now, sizeof(now));
	if (err == -ENOENT)
		what = "was removed (nft flush ruleset?)";
	else if (!err && d->table_text[0] && strcmp(now, d->table_text))
		what = "was changed (its rules are not the ones nft-offload installed)";
	else
		return;
	pr_warn("table %s %s %s; reinstalling it", NFO_NFT_FAMILY, NFO_NFT_TABLE, what);
	if (install_table(d))
		return;
	d->st.table_restores++;
	d->st.table_restored_unix = time(NULL);
	publish_state(d);
}

/* One owner per device: refuse a device another instance's program is on. */
static int check_owner(struct daemon *d, struct dev *dv, uint32_t ifindex)
{
	struct nfo_owner o;
	char who[256];

	if (nfo_owner_query(ifindex, d->st.devs_map_id, &o) || !o.present || o.ours)
		return 0;
	nfo_owner_str(&o, who, sizeof(who));
	if (d->cfg->force && !o.pid) {
		/* Left behind by an instance whose pins are gone: nobody to ask. */
		pr_warn("%s: replacing the program of %s (--force)", dv->name, who);
		return 0;
	}
	pr_err("%s is already offloaded by %s: refusing to take it over (stop that instance "
	       "with 'nft-offload stop --pin-dir %s', or leave %s out)",
	       dv->name, who, o.pin_dir[0] ? o.pin_dir : "DIR", dv->name);
	return -EBUSY;
}

/* Our programs still where we put them? (status reports it too) */
static void watch_owners(struct daemon *d)
{
	char who[256];
	int i;

	for (i = 0; i < d->ndevs; i++) {
		struct dev *dv = &d->devs[i];
		struct nfo_owner o;
		bool lost;

		if (!dv->attached || !dv->ifindex ||
		    nfo_owner_query(dv->ifindex, d->st.devs_map_id, &o))
			continue;
		lost = !o.present || !o.ours;
		if (lost && !dv->owner_lost) {
			nfo_owner_str(&o, who, sizeof(who));
			pr_warn("%s: nft-offload's program is no longer on the device (%s): "
				"nothing is offloaded through it; restart the daemon to attach again",
				dv->name, o.present ? who : "removed by someone else");
		} else if (!lost && dv->owner_lost) {
			pr_info("%s: nft-offload's program is on the device again", dv->name);
		}
		dv->owner_lost = lost;
	}
}

/*
 * Adopted flows were judged by the ruleset of the previous daemon. If the
 * ruleset changed while no daemon ran (its generation differs from the one
 * last validated), send them all back to it, like a live change.
 */
static void revalidate_adopted(struct daemon *d, uint32_t gen_before)
{
	if (!d->tab.count)
		return;
	if (gen_before && gen_before == d->st.nft_gen) {
		pr_info("ruleset unchanged since the previous daemon (generation %u): the adopted "
			"connections stay offloaded",
			gen_before);
		return;
	}
	pr_info("the ruleset changed while no daemon ran (generation %u, last validated %u): "
		"re-validating the adopted connections",
		gen_before, d->st.nft_gen);
	revalidate(d);
}

/* ---- start and stop ----------------------------------------------------- */

/* systemd Type=notify without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

/* One daemon per pin directory: an abstract socket named after it. */
static int take_lock(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, n;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "nft-offload:%s", d->cfg->pin_dir);
	if (bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + n)) {
		close(fd);
		return -EADDRINUSE;
	}
	d->lockfd = fd;
	return 0;
}

struct adopt_arg {
	struct daemon *d;
	uint32_t when; /* first idle check */
};

/*
 * Rebuild the table from the pinned flow map (restart without a gap): each
 * whole connection joins it; a lone direction goes (its connection is back
 * on the kernel path). A connection keyed after a bridge's destination NAT
 * has no key that names it: back to the stack too; the start's conntrack
 * dump offloads it again.
 */
static int adopt_cb(const struct nfo_fp_conn *fc, void *arg)
{
	struct adopt_arg *a = arg;
	struct nfo_conn *c = NULL;
	int dir;

	if (fc->have[0] && fc->have[1] && !(fc->flow[0].flags & NFO_FLOW_AFTER_DNAT) &&
	    !nfo_flowtable_find(&a->d->tab, &fc->orig, 0))
		c = calloc(1, sizeof(*c));
	if (!c) {
		for (dir = 0; dir < 2; dir++)
			if (fc->have[dir])
				nfo_dp_flow_del(a->d->dp, fc->family, &fc->key[dir]);
		return 0;
	}
	c->orig = fc->orig;
	c->key[0] = fc->key[0];
	c->key[1] = fc->key[1];
	c->ct_id = fc->ct_id;
	c->tcp_state = NFO_TCP_ESTABLISHED;
	c->assured = 1;
	c->gen = a->d->gen;
	nfo_flowtable_insert(&a->d->tab, c);
	nfo_flowtable_schedule(&a->d->tab, c, a->when);
	return 0;
}

static void adopt(struct daemon *d)
{
	struct adopt_arg a = { .d = d, .when = mono_s() + d->cfg->idle_timeout };
	int err = nfo_fp_foreach_conn(d->dp, adopt_cb, &a);

	if (err)
		pr_warn("cannot read the pinned flow table: %s", strerror(-err));
	if (d->tab.count)
		pr_info("adopted %llu offloaded connections from the pinned flow table",
			(unsigned long long)d->tab.count);
}

static int open_sockets(struct daemon *d)
{
	int err;

	err = nfo_nl_open(&d->ct_ev, NETLINK_NETFILTER, NFO_CT_EVENT_GROUPS);
	if (!err) {
		d->ct_ev_buf = d->cfg->event_buffer;
		err = nfo_nl_set_rcvbuf(&d->ct_ev, d->ct_ev_buf);
		if (err)
			pr_warn("cannot size the conntrack event buffer: %s", strerror(-err));
		err = 0;
	}
	err = err ?: nfo_nl_open(&d->ct_req, NETLINK_NETFILTER, 0);
	err = err ?: nfo_nl_open(&d->ct_dump, NETLINK_NETFILTER, 0);
	err = err ?: nfo_nl_open(&d->nft_ev, NETLINK_NETFILTER, 0);
	err = err ?: nfo_nl_join(&d->nft_ev, NFO_NFT_GROUP);
	err = err ?: nfo_nl_open(&d->rt_ev, NETLINK_ROUTE, nfo_rtnl_event_groups());
	err = err ?: nfo_nl_join(&d->rt_ev, RTNLGRP_IPV4_RULE);
	err = err ?: nfo_nl_join(&d->rt_ev, RTNLGRP_IPV6_RULE);
	err = err ?: nfo_nl_open(&d->rt_req, NETLINK_ROUTE, 0);
	if (!err) {
		nfo_nl_set_rcvbuf(&d->ct_req, 4 << 20);
		nfo_nl_set_rcvbuf(&d->ct_dump, 4 << 20);
		nfo_nl_set_rcvbuf(&d->rt_req, 4 << 20);
		nfo_nl_set_rcvbuf(&d->rt_ev, 1 << 20); /* bursts of link changes */
	}
	err = err ?: nfo_nl_batch_init(&d->ct_batch, &d->ct_req, 256 * 1024, false);
	err = err ?: nfo_nl_batch_init(&d->rt_batch, &d->rt_req, 256 * 1024, true);
	err = err ?: nfo_nl_batch_init(&d->adm_batch, &d->ct_req, 256 * 1024, false);
	if (err)
		pr_err("cannot open netlink sockets (conntrack events need "
		       "CONFIG_NF_CONNTRACK_EVENTS): %s",
		       strerror(-err));
	return err;
}

static void close_sockets(struct daemon *d)
{
	nfo_nl_batch_free(&d->ct_batch);
	nfo_nl_batch_free(&d->rt_batch);
	nfo_nl_batch_free(&d->adm_batch);
	nfo_nl_close(&d->ct_ev);
	nfo_nl_close(&d->ct_req);
	nfo_nl_close(&d->ct_dump);
	nfo_nl_close(&d->nft_ev);
	nfo_nl_close(&d->rt_ev);
	nfo_nl_close(&d->rt_req);
	nfo_nl_close(&d->nflog);
	if (d->xfrm_ev_open)
		nfo_nl_close(&d->xfrm_ev);
	d->xfrm_ev_open = false;
	nfo_xfrm_free(&d->xfrm);
	nfo_routenotes_free(&d->notes);
}

static int setup_loop(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[] = { nfo_nl_fd(&d->ct_ev), nfo_nl_fd(&d->nft_ev), nfo_nl_fd(&d->rt_ev), 0, 0, 0 };
	sigset_t set;
	unsigned int i;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->epfd < 0)
		return -errno;
	timerfd_settime(d->timerfd, 0, &its, NULL);
	fds[3] = d->sigfd;
	fds[4] = d->timerfd;
	d->rb = ring_buffer__new(d->dp->map_fd[NFO_MAP_EVENTS], teardown_event, d, NULL);
	if (!d->rb)
		return -errno;
	fds[5] = ring_buffer__epoll_fd(d->rb);
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		ev.data.fd = fds[i];
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fds[i], &ev))
			return -errno;
	}
	ev.data.fd = nfo_nl_fd(&d->nflog);
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	if (d->xfrm_ev_open) {
		ev.data.fd = nfo_nl_fd(&d->xfrm_ev);
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
			return -errno;
	}
	return nfo_exporter_watch(&d->mx, d->epfd);
}

static void handle_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			pr_info("SIGHUP: configuration is read at start; restart to apply changes");
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			/* At the next tick, like a resync after lost events. */
			pr_info("SIGUSR1: full conntrack resync requested");
			d->resync_due = true;
			continue;
		}
		pr_info("%s received, %s", strsignal(si.ssi_signo),
			d->cfg->keep_on_exit ? "leaving offload in place (on-exit = keep)" :
					       "removing nft-offload");
		d->stop = true;
	}
}

static void shutdown_all(struct daemon *d)
{
	int i;

	/* Programs off first, so no packet is fast-forwarded meanwhile. */
	for (i = 0; i < d->ndevs; i++)
		detach_dev(d, &d->devs[i], true);
	/*
	 * Nobody reads the conntrack events any more: with our socket gone the
	 * kernel need not build one for each connection handed back below
	 * (the updates for a million took 9.2 s instead of 11.5 s).
	 */
	nfo_nl_close(&d->ct_ev);
	/*
	 * Then what stop does without a daemon too: every entry of the maps
	 * handed back to conntrack, the table and the marks and the pins gone,
	 * nf_conntrack_events restored (the state map says whether we set it).
	 */
	publish_state(d);
	nfo_teardown(d->dp, d->cfg->pin_dir);
}

/* Start-up failed: put back exactly what was there before. */
static void rollback(struct daemon *d, bool had_pins)
{
	int i;

	if (had_pins) {
		/* A restart: leave the running fast path as it was. */
		if (d->dp) {
			d->st.pid = 0;
			nfo_dp_state_set(d->dp, &d->st);
		}
		return;
	}
	for (i = 0; i < d->ndevs; i++)
		detach_dev(d, &d->devs[i], true);
	if (d->table_created)
		nfo_nft_remove();
	if (d->st.flags & NFO_STATE_EVENTS_SET)
		nfo_ct_events_restore();
	nfo_dp_close(d->dp);
	d->dp = NULL;
	nfo_pins_remove_new(d->cfg->pin_dir, &d->pins_before);
}

/* Refuse to start when another daemon owns the pins, or they disagree. */
static int check_pins(struct daemon *d)
{
	struct nfo_state st;
	struct nfo_dp *old;
	int rc = 0;

	if (nfo_dp_open_pinned(d->cfg->pin_dir, &old))
		return 0;
	if (!nfo_dp_state_get(old, &st)) {
		if (nfo_pid_is_daemon(st.pid)) {
			pr_err("nft-offload is already running (pid %u)", st.pid);
			rc = -EEXIST;
		} else if (st.ct_mark && st.ct_mark != d->cfg->mark) {
			pr_err("the pinned state uses ct mark bit 0x%08x, not 0x%08x; run "
			       "'nft-offload stop' first to change it",
			       st.ct_mark, d->cfg->mark);
			rc = -EINVAL;
		}
	}
	nfo_dp_close(old);
	return rc;
}

static void event_loop(struct daemon *d)
{
	while (!d->stop) {
		struct epoll_event evs[8];
		int timeout = -1, i, n;

		if (d->revalidate_again_ns) {
			uint64_t now = mono_ns();

			timeout = d->revalidate_again_ns > now ?
					  (int)((d->revalidate_again_ns - now) / 1000000) + 1 :
					  0;
		}
		n = epoll_wait(d->epfd, evs, 8, timeout);
		if (d->revalidate_again_ns && mono_ns() >= d->revalidate_again_ns)
			revalidate_again(d);

		if (n < 0 && errno != EINTR) {
			pr_err("epoll: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == nfo_nl_fd(&d->ct_ev))
				read_ct_events(d);
			else if (fd == nfo_nl_fd(&d->nft_ev))
				read_nft_events(d);
			else if (fd == nfo_nl_fd(&d->rt_ev))
				read_rt_events(d);
			else if (fd == nfo_nl_fd(&d->nflog))
				read_nflog(d);
			else if (d->xfrm_ev_open && fd == nfo_nl_fd(&d->xfrm_ev))
				read_xfrm_events(d);
			else if (fd == d->timerfd)
				tick(d);
			else if (fd == d->sigfd)
				handle_signal(d);
			else if (d->rb && fd == ring_buffer__epoll_fd(d->rb))
				read_teardowns(d);
			else if (nfo_exporter_owns(&d->mx, fd))
				nfo_exporter_handle(&d->mx, fd, evs[i].events);
		}
		/* Answers any job's requests brought back: to the intake. */
		intake_settle(d);
	}
}

static int start(struct daemon *d, bool had_pins)
{
	struct nfo_dp_opts dopts = { .pin_dir = d->cfg->pin_dir, .flow_capacity = d->cfg->flows };
	int i, err;

	if (nfo_dp_load(&dopts, &d->dp))
		return -1;
	if (open_sockets(d) || nfo_flowtable_init(&d->tab) || nfo_waitq_init(&d->waitq))
		return -1;
	d->tab.now = mono_s();

	nfo_dp_state_get(d->dp, &d->st);
	d->st.abi_version = NFO_ABI_VERSION;
	d->st.pid = getpid();
	d->st.started_ns = mono_ns();
	d->st.started_unix = time(NULL);
	d->st.ct_mark = d->cfg->mark;
	d->st.idle_timeout_s = d->cfg->idle_timeout;
	d->st.flow_capacity = d->dp->flow_capacity;
	d->st.flows = 0;
	d->st.devs_map_id = nfo_map_id(d->dp->map_fd[NFO_MAP_DEVS]);
	snprintf(d->st.pin_dir, sizeof(d->st.pin_dir), "%s", d->cfg->pin_dir);
	nfo_dp_state_set(d->dp, &d->st);
	nfo_exporter_start(&d->mx, d->dp);

	policy_refresh(d, true);
	if (d->dp->adopted)
		adopt(d);
	for (i = 0; i < d->ndevs; i++) {
		struct nfo_link l;

		err = nfo_link_get(&d->rt_req, 0, d->devs[i].name, &l);
		if (err) {
			pr_err("device %s: %s", d->devs[i].name, strerror(-err));
			return -1;
		}
		if (attach_dev(d, &d->devs[i], &l))
			return -1;
	}
	if (nfo_ct_events_on()) {
		d->st.flags |= NFO_STATE_EVENTS_SET;
		if (d->runrec_written)
			nfo_runrec_write(d->cfg->pin_dir,
					 &(struct nfo_runrec){ .pid = getpid(),
							       .mark = d->cfg->mark,
							       .events_set = true });
		pr_info("net.netfilter.nf_conntrack_events 2 -> 1: connections report to "
			"nft-offload even when created while it restarts (restored at stop)");
	}
	if (!had_pins) {
		/*
		 * A fresh start: marks left in conntrack (by an earlier run that
		 * died, say) are vouched for by nobody. Clear them before our
		 * chain marks again, so that every flow is judged by today's
		 * ruleset first.
		 */
		long n = nfo_ct_clear_marks(d->cfg->mark);

		if (n > 0)
			pr_info("cleared stale ct mark 0x%08x from %ld conntrack entries",
				d->cfg->mark, n);
	}
	if (install_table(d))
		return -EINVAL; /* a selector nft refuses: configuration */
	d->table_created = true;
	check_ruleset(d, true);
	check_netdev_chains(d, true);
	xfrm_start(d);
	if (setup_loop(d)) {
		pr_err("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int nfo_daemon_run(struct nfo_config *cfg)
{
	struct nfo_nft_report r;
	struct daemon *d;
	char mem[32];
	uint32_t gen_before;
	bool had_pins;
	int i, err, rc = 1;

	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	d->cfg = cfg;
	d->lockfd = d->epfd = d->sigfd = d->timerfd = -1;
	d->mx.lfd = d->mx.cfd = -1;

	/* Checks that change nothing yet. */
	if (take_lock(d)) {
		pr_err("another nft-offload daemon is running for %s", cfg->pin_dir);
		goto out;
	}
	if (nfo_pin_dir_check(cfg->pin_dir)) {
		rc = 2;
		goto out;
	}
	err = nfo_nft_inspect(cfg->mark, &r);
	if (err) {
		pr_err("cannot read the nftables ruleset: %s", strerror(-err));
		goto out;
	}
	if (r.mark_conflicts) {
		pr_err("ct mark bits 0x%08x are already used by the ruleset (%s); choose others "
		       "with --mark",
		       cfg->mark, r.conflict);
		rc = 2;
		goto out;
	}
	for (i = 0; i < cfg->ndevices; i++) {
		if (if_nametoindex(cfg->devices[i]) == 0) {
			pr_err("device %s does not exist in this network namespace",
			       cfg->devices[i]);
			rc = 2;
			goto out;
		}
		snprintf(d->devs[i].name, IFNAMSIZ, "%s", cfg->devices[i]);
		d->devs[i].want = cfg->dev_mode[i] != NFO_MODE_AUTO ? cfg->dev_mode[i] : cfg->mode;
	}
	d->ndevs = cfg->ndevices;
	if (nfo_exporter_open(&d->mx, cfg))
		goto out;
	had_pins = nfo_dp_pinned(cfg->pin_dir);
	if (had_pins && check_pins(d))
		goto out;
	for (i = 0; i < cfg->nselectors; i++) {
		char e[512];

		if (nfo_nft_check_selector(cfg->selectors[i], e, sizeof(e))) {
			pr_err("%s", e);
			rc = 2;
			goto out;
		}
	}
	err = nfo_nflog_open(&d->nflog, cfg->log_group, NFO_NFT_SNAPLEN);
	if (err) {
		/* A group bound by another socket: EPERM to us, EBUSY to a second bind. */
		if (err == -EBUSY || err == -EPERM)
			pr_err("nflog group %u is taken by another listener; choose another with "
			       "--log-group (log-group = N)",
			       (unsigned int)cfg->log_group);
		else
			pr_err("cannot listen to nflog group %u (needs "
			       "CONFIG_NETFILTER_NETLINK_LOG): %s",
			       (unsigned int)cfg->log_group, strerror(-err));
		rc = err == -EBUSY || err == -EPERM ? 2 : 1;
		goto out;
	}
	d->nflog_buf = 4 << 20; /* a burst of new flows: two messages each */
	nfo_nl_set_rcvbuf(&d->nflog, d->nflog_buf);
	nfo_pins_before(cfg->pin_dir, &d->pins_before);
	/* Outside the pin directory: 'stop' finds us even if the pins go. */
	err = nfo_runrec_write(cfg->pin_dir,
			       &(struct nfo_runrec){ .pid = getpid(), .mark = cfg->mark });
	if (err)
		pr_warn("cannot write the run record in %s: %s; 'nft-offload stop' will need the "
			"pins to find this daemon",
			NFO_RUN_DIR, strerror(-err));
	d->runrec_written = !err;
	/* Before our own table bumps it: did the ruleset change while no daemon ran? */
	if (nfo_nft_get_gen(&gen_before))
		gen_before = 0;

	err = start(d, had_pins);
	if (err) {
		rollback(d, had_pins);
		rc = err == -EINVAL ? 2 : 1;
		goto out_close;
	}
	nfo_log_set_timestamps(1); /* from here on, a long-running log */
	revalidate_adopted(d, gen_before);
	if (resync(d, "initial dump"))
		pr_warn("initial conntrack dump incomplete; retrying in the background");
	d->catchup_at = mono_s() + 2;
	publish_state(d);
	pr_info("running: %d devices, ct mark 0x%08x, idle timeout %us, capacity %llu "
		"connections per family (%s of kernel memory reserved)",
		d->ndevs, cfg->mark, cfg->idle_timeout, (unsigned long long)d->dp->flow_capacity,
		nfo_bytes_str(nfo_map_memlock(d->dp->map_fd[NFO_MAP_FLOW4]) +
				      nfo_map_memlock(d->dp->map_fd[NFO_MAP_FLOW6]),
			      mem, sizeof(mem)));
	sd_notify_ready();

	event_loop(d);
	rc = 0;
	if (!cfg->keep_on_exit) {
		shutdown_all(d);
	} else {
		d->st.pid = 0;
		publish_state(d);
	}
out_close:
	nfo_exporter_close(&d->mx);
	ring_buffer__free(d->rb);
	if (d->tab.hash)
		nfo_flowtable_free(&d->tab);
	free(d->answers);
	if (d->waitq.hash)
		nfo_waitq_free(&d->waitq);
	nfo_setchg_reset(&d->setchg);
	nfo_setchg_reset(&d->again_chg);
	close_sockets(d);
	nfo_dp_close(d->dp);
out:
	nfo_exporter_close(&d->mx);
	nfo_nl_close(&d->nflog);
	if (d->runrec_written)
		nfo_runrec_remove(cfg->pin_dir);
	if (d->lockfd >= 0)
		close(d->lockfd);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	free(d);
	return rc;
}
