// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, policy routing: the ip rules, how logged packets were
 * routed, and whether a connection may be offloaded under them.
 */
#include <string.h>
#include "log.h"

#include "ctx.h"
#include "gc.h"
#include "iprules.h"

/*
 * With ip rules beyond the defaults, a connection is admitted only with how
 * the kernel routed a packet of each direction (our chain logged it): the
 * mark the route lookup used, the device it came in through and the one the
 * kernel sent it out of. The fast path looks the route up with that mark and
 * hands the flow back if it picks another device. Without a note for both
 * directions, or with a rule the fast path cannot follow, the connection
 * stays on the kernel path.
 */
bool policy_ok(struct daemon *d, struct pending *p)
{
	const char *why;
	bool unsupported;
	char buf[128];

	memset(p->route, 0, sizeof(p->route));
	if (!d->rules.pol.rules)
		return true;
	why = nfo_policy_unsupported(&d->rules.pol, p->ct.orig.family);
	unsupported = why != NULL;
	if (!why && !nfo_routenote_conn(&d->rules.notes, &p->ct, p->route))
		why = "policy routing: no notification of how the kernel routed both directions";
	if (!why && (!p->route[0].indev || !p->route[1].indev))
		why = "policy routing: the notification has no input device";
	if (why) {
		memset(p->route, 0, sizeof(p->route));
		/* A missing note is usually a race: the note's own GET admits it. */
		if (unsupported)
			d->rules.skip_policy++;
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

void note_route(struct daemon *d, const struct nlmsghdr *nlh, const struct nfo_tuple *t)
{
	struct nfo_nflog_route r;

	nfo_nflog_route(nlh, &r);
	if (nfo_routenote_add(&d->rules.notes, t, &r, mono_now_ns()) && !d->rules.notes_nomem) {
		d->rules.notes_nomem = true;
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
void policy_refresh(struct daemon *d, bool at_start)
{
	struct nfo_policy p;
	int err = nfo_policy_read(&d->rt_req, &p);
	bool any;
	int i;

	d->rules.policy_due = false;
	if (err) {
		p.rules = 1;
		for (i = 0; i < 2; i++)
			snprintf(p.unsupported[i], sizeof(p.unsupported[i]),
				 "the ip rules cannot be read (%s)", strerror(-err));
	}
	for (i = 0; i < 2; i++)
		if (p.unsupported[i][0] && strcmp(p.unsupported[i], d->rules.pol.unsupported[i]))
			pr_warn("policy routing: %s; marked %s connections stay on the kernel path",
				p.unsupported[i], i ? "IPv6" : "IPv4");
	if (p.rules && !d->rules.pol.rules)
		pr_info("policy routing: %u ip rule%s beyond the defaults%s; each connection is "
			"offloaded with the mark and devices the kernel routed it with",
			p.rules, p.rules == 1 ? "" : "s", p.fwmark ? " (by fwmark)" : "");
	any = p.rules || d->rules.pol.rules;
	d->rules.pol = p;
	if (!at_start && any) {
		long n = evict_all(d, EVICT_ROUTE, 0);

		if (n > 0)
			pr_info("ip rules changed: %ld connection%s back to the kernel path", n,
				n == 1 ? "" : "s");
	}
}

void policy_report(struct daemon *d)
{
	if (d->rules.skip_policy == d->rules.skip_policy_logged)
		return;
	d->rules.skip_policy_logged = d->rules.skip_policy;
	pr_info("marked connections not offloaded so far: %llu by policy routing",
		(unsigned long long)d->rules.skip_policy);
}

/* An ip rule was added or deleted: read them again after this batch of events. */
void iprules_changed(struct daemon *d)
{
	d->rules.policy_due = true;
}

void iprules_close(struct daemon *d)
{
	nfo_routenotes_free(&d->rules.notes);
}
