// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, conntrack requests: one batch any part appends to; a flush
 * sends it and queues the answers to GET requests for the intake (never acts
 * on them).
 */
#include "ctx.h"
#include "ctreq.h"

void ct_flush_if_full(struct daemon *d)
{
	if (!nfo_nl_batch_room(&d->ct_batch, NFO_CT_REQ_MAX) || d->ct_batch.count >= BATCH_MAX)
		ct_flush(d);
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
	a->rx_ns = d->get_since ? d->get_since : mono_now_ns();
	d->nanswers++;
	return 0;
}

/*
 * Send the conntrack requests. Answers to GETs are only queued: the intake
 * acts on them (intake_settle), never a flush, so that no flush runs inside
 * another job's work.
 */
void ct_flush(struct daemon *d)
{
	nfo_nl_batch_flush(&d->ct_batch, get_cb, d);
	d->get_since = 0;
}
