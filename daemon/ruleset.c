// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, the ruleset watch: our table, generations and re-
 * validation, set element changes, netdev chains and xfrm policies that keep
 * flows on the kernel path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "nft.h"
#include "rtnl.h"
#include "nft_watch.h"

#include "ctx.h"
#include "ctreq.h"
#include "gc.h"
#include "devices.h"
#include "ruleset.h"

static void check_own_table(struct daemon *d);
static bool ct_concerned(const struct nfo_ct *ct, void *arg);
static long evict_concerned(struct daemon *d, const struct nfo_setchg *chg);

void check_ruleset(struct daemon *d, bool at_start)
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

int install_table(struct daemon *d)
{
	struct nfo_nft_spec spec = {
	    .mark = d->cfg->mark,
	    .log_group = d->cfg->log_group,
	    .selectors = (const char *const *)d->cfg->selectors,
	    .nselectors = d->cfg->nselectors,
	    .ndevices = d->dv.ndevs,
	};
	const char *names[NFO_MAX_DEVICES];
	char err[512];
	int i, rc;

	for (i = 0; i < d->dv.ndevs; i++)
		names[i] = d->dv.devs[i].name;
	spec.devices = names;
	rc = nfo_nft_install(&spec, err, sizeof(err));
	if (rc)
		pr_err("cannot install table %s %s: %s", NFO_NFT_FAMILY, NFO_NFT_TABLE, err);
	else
		d->rs.table_created = true; /* ours to remove if the start fails */
	if (!rc && nfo_nft_table_text(d->rs.table_text, sizeof(d->rs.table_text)))
		d->rs.table_text[0] = '\0';
	return rc;
}

static int nft_event_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	uint32_t gen, pid;

	nfo_setchg_event(&d->rs.setchg, nlh);
	if (nfo_nft_parse_gen(nlh, &gen, &pid))
		return 0;
	d->st.nft_gen = gen;
	if (pid == (uint32_t)getpid()) {
		/* Our own table: forget its events, keep the user's before it. */
		d->rs.setchg.nelems = d->rs.setchg_committed;
		d->rs.setchg.other = false;
		return 0;
	}
	if (d->rs.setchg.other || !d->rs.setchg.nelems)
		d->rs.revalidate_due = true;
	else
		d->rs.setchg_due = true;
	d->rs.setchg_committed = d->rs.setchg.nelems;
	return 0;
}

/* How long packets judged by the old ruleset may still be in flight. */
#define REVALIDATE_GRACE_NS 250000000ULL

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

	d->rs.revalidate_due = false;
	/* Everything goes back: what set changes were pending is covered. */
	nfo_setchg_reset(&d->rs.setchg);
	nfo_setchg_reset(&d->rs.again_chg);
	d->rs.setchg_committed = 0;
	d->rs.setchg_due = d->rs.again_targeted = false;
	check_own_table(d);
	check_ruleset(d, false);
	check_netdev_chains(d, false);
	n = evict_all(d, EVICT_RULESET, 0);
	d->st.revalidations++;
	d->rs.revalidate_again_ns = mono_now_ns() + REVALIDATE_GRACE_NS;
	pr_info("ruleset changed (generation %u): %ld connections back to the ruleset for "
		"re-validation",
		d->st.nft_gen, n);
}

void revalidate_again(struct daemon *d)
{
	bool targeted = d->rs.again_targeted;
	long n, m;

	d->rs.revalidate_again_ns = 0;
	d->rs.second_passes++; /* marks cleared below: a running dump is older */
	if (targeted) {
		/* After a set change: only the flows it concerns. */
		n = evict_concerned(d, &d->rs.again_chg);
		m = nfo_ct_clear_marks_if(d->cfg->mark, ct_concerned, &d->rs.again_chg);
		nfo_setchg_reset(&d->rs.again_chg);
		d->rs.again_targeted = false;
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
		d->rs.catchup_targeted = targeted;
		d->rs.catchups_asked++;
	}
	if (n || m > 0)
		pr_info("%s, second pass: %ld offloaded and %ld marked connections "
			"went back to the ruleset (marked by packets the old ruleset still judged)",
			targeted ? "set change" : "re-validation", n, m > 0 ? m : 0);
}

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
	uint64_t total = d->tab.count, t0 = mono_now_ns();
	size_t nelems = d->rs.setchg.nelems;
	long n;

	d->rs.setchg_due = false;
	nfo_setchg_resolve(&d->rs.setchg);
	if (d->rs.setchg.all) {
		pr_info("set elements changed in a way that may concern any flow (key type, or "
			"a rule that transforms the value it looks up)");
		revalidate(d);
		return;
	}
	n = evict_concerned(d, &d->rs.setchg);
	d->st.revalidations++;
	if (d->rs.revalidate_again_ns && !d->rs.again_targeted) {
		/* A full second pass is due anyway. */
	} else if (setchg_merge(&d->rs.again_chg, &d->rs.setchg)) {
		d->rs.again_targeted = true;
		d->rs.revalidate_again_ns = mono_now_ns() + REVALIDATE_GRACE_NS;
	} else {
		d->rs.again_targeted = false;
		d->rs.revalidate_again_ns = mono_now_ns() + REVALIDATE_GRACE_NS;
	}
	pr_info("set elements changed (generation %u, %zu elements): %ld of %llu connections "
		"concerned went back to the ruleset, in %.1f ms",
		d->st.nft_gen, nelems, n, (unsigned long long)total, (mono_now_ns() - t0) / 1e6);
	nfo_setchg_reset(&d->rs.setchg);
	d->rs.setchg_committed = 0;
}

void read_nft_events(struct daemon *d)
{
	int n = nfo_nl_read_events(&d->rs.nft_ev, nft_event_cb, d, 4096);

	if (n == -ENOBUFS) {
		/* Lost ruleset events: assume it changed. */
		d->rs.revalidate_due = true;
	}
	if (d->rs.revalidate_due)
		revalidate(d);
	else if (d->rs.setchg_due)
		revalidate_sets(d);
}

/*
 * A netdev chain (table netdev ingress or egress, or an inet ingress chain)
 * on an offload device would never see offloaded packets: tc and XDP run
 * before the netdev ingress hook, and a redirect skips the egress hook. Such a
 * device stays on the kernel path, in both directions, unless
 * allow-netdev-chains names it. Called at start and on every ruleset change.
 */
void check_netdev_chains(struct daemon *d, bool at_start)
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
	for (i = 0; i < d->dv.ndevs; i++) {
		struct dev *dv = &d->dv.devs[i];
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
			pr_info(
			    "%s: no netdev chain hooks it any more; offloading through it again",
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
	if (nfo_xfrm_match(&a->d->rs.xfrm, &c->orig, &reply)) {
		evict(a->d, c, EVICT_KEPTOFF, 0);
		a->n++;
	}
}

/* Read the xfrm policies again; offloaded flows one of them selects go back. */
static void xfrm_reload(struct daemon *d, bool at_start)
{
	struct keptoff_arg a = { .d = d };
	int err = nfo_xfrm_dump(&d->rs.xfrm);

	if (err) {
		if (at_start)
			pr_warn("cannot read the xfrm (IPsec) policies: %s", strerror(-err));
		return;
	}
	if (d->rs.xfrm.n) {
		nfo_flowtable_foreach(&d->tab, xfrm_evict_cb, &a);
		ct_flush(d);
	}
	if (at_start ? d->rs.xfrm.total > 0
		     : d->st.xfrm_policies != (uint32_t)d->rs.xfrm.total || a.n)
		pr_info("%d xfrm (IPsec) policies, %d of them for forwarded packets: the "
			"connections they select stay on the kernel path (%ld back to it)",
			d->rs.xfrm.total, d->rs.xfrm.n, a.n);
	d->st.xfrm_policies = d->rs.xfrm.total;
}

void xfrm_start(struct daemon *d)
{
	/* The event socket first, so that no change falls between it and the dump. */
	d->rs.xfrm_ev_open = !nfo_xfrm_events_open(&d->rs.xfrm_ev);
	if (!d->rs.xfrm_ev_open)
		pr_warn("cannot watch xfrm (IPsec) policies (NETLINK_XFRM); policies added "
			"later are not followed");
	xfrm_reload(d, true);
}

static int ignore_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	return 0;
}

void read_xfrm_events(struct daemon *d)
{
	/* Any policy event (or a loss of them): read them all again. */
	nfo_nl_read_events(&d->rs.xfrm_ev, ignore_cb, d, 4096);
	xfrm_reload(d, false);
}

/* Admission: an xfrm policy says no (netdev chains: devices_ok). */
bool kept_off(struct daemon *d, const struct pending *p)
{
	const struct nfo_xfrm_pol *pol;
	char buf[128], ps[192];

	pol = nfo_xfrm_match(&d->rs.xfrm, &p->ct.orig, &p->ct.reply);
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
	static char now[sizeof(d->rs.table_text)];
	const char *what;
	int err;

	err = nfo_nft_table_text(now, sizeof(now));
	if (err == -ENOENT)
		what = "was removed (nft flush ruleset?)";
	else if (!err && d->rs.table_text[0] && strcmp(now, d->rs.table_text))
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

/*
 * Adopted flows were judged by the ruleset of the previous daemon. If the
 * ruleset changed while no daemon ran (its generation differs from the one
 * last validated), send them all back to it, like a live change.
 */
void revalidate_adopted(struct daemon *d, uint32_t gen_before)
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

/* The ruleset's generation events. */
int ruleset_open(struct daemon *d)
{
	return nfo_nl_open(&d->rs.nft_ev, NETLINK_NETFILTER, 0) ?:
	       nfo_nl_join(&d->rs.nft_ev, NFO_NFT_GROUP);
}

void ruleset_close(struct daemon *d)
{
	nfo_nl_close(&d->rs.nft_ev);
	if (d->rs.xfrm_ev_open)
		nfo_nl_close(&d->rs.xfrm_ev);
	d->rs.xfrm_ev_open = false;
	nfo_xfrm_free(&d->rs.xfrm);
	nfo_setchg_reset(&d->rs.setchg);
	nfo_setchg_reset(&d->rs.again_chg);
}
