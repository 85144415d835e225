// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, conntrack requests: one batch any part appends to; a flush
 * sends it and queues the answers to GET requests for the intake (never acts
 * on them).
 */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "ctx.h"
#include "ctreq.h"

void ct_flush_if_full(struct daemon *d)
{
	if (!nfo_nl_batch_room(&d->ctreq.ct_batch, NFO_CT_REQ_MAX) ||
	    d->ctreq.ct_batch.count >= BATCH_MAX)
		ct_flush(d);
}

/* Answers to GETs arrive while the batch is flushed: queue them for the intake. */
static int get_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct ct_answer *a;

	if (err || !nlh)
		return 0;
	if (d->ctreq.nanswers == d->ctreq.answers_cap) {
		size_t cap = d->ctreq.answers_cap ? d->ctreq.answers_cap * 2 : 256;

		a = realloc(d->ctreq.answers, cap * sizeof(*a));
		if (!a)
			return 0; /* the next resync finds it */
		d->ctreq.answers = a;
		d->ctreq.answers_cap = cap;
	}
	a = &d->ctreq.answers[d->ctreq.nanswers];
	/* TCP answers must carry the state (that is why it was asked for). */
	if (nfo_ct_parse(nlh, &a->ct) ||
	    (!a->ct.has_tcp_state && a->ct.orig.l4proto == IPPROTO_TCP))
		return 0;
	a->ct.event = NFO_CT_UPDATE;
	/* Latency counts from the mark notification that asked, if one did. */
	a->rx_ns = d->ctreq.get_since ? d->ctreq.get_since : mono_now_ns();
	d->ctreq.nanswers++;
	return 0;
}

/*
 * Send the conntrack requests. Answers to GETs are only queued: the intake
 * acts on them (intake_settle), never a flush, so that no flush runs inside
 * another job's work.
 */
void ct_flush(struct daemon *d)
{
	nfo_nl_batch_flush(&d->ctreq.hold_batch, NULL, NULL);
	nfo_nl_batch_flush(&d->ctreq.ct_batch, get_cb, d);
	d->ctreq.get_since = 0;
}

/* The answers queued so far, for the intake: the caller frees them. */
struct ct_answer *ctreq_take_answers(struct daemon *d, size_t *n)
{
	struct ct_answer *a = d->ctreq.answers;

	*n = d->ctreq.nanswers;
	d->ctreq.answers = NULL;
	d->ctreq.nanswers = d->ctreq.answers_cap = 0;
	return a;
}

/* A GET asked for by a mark notification read at ns: latency counts from there. */
void ctreq_asked_at(struct daemon *d, uint64_t ns)
{
	if (!d->ctreq.get_since)
		d->ctreq.get_since = ns;
}

/* The request socket (large answers: dumps of GETs) and its batch. */
int ctreq_open(struct daemon *d)
{
	int err = nfo_nl_open(&d->ctreq.ct_req, NETLINK_NETFILTER, 0) ?:
		  nfo_nl_open(&d->ctreq.ct_quiet, NETLINK_NETFILTER, 0);

	if (err)
		return err;
	nfo_nl_set_rcvbuf(&d->ctreq.ct_req, 4 << 20);
	return nfo_nl_batch_init(&d->ctreq.ct_batch, &d->ctreq.ct_req, 256 * 1024, false) ?:
	       nfo_nl_batch_init(&d->ctreq.hold_batch, &d->ctreq.ct_quiet, 256 * 1024, false);
}

void ctreq_close(struct daemon *d)
{
	nfo_nl_batch_free(&d->ctreq.ct_batch);
	nfo_nl_batch_free(&d->ctreq.hold_batch);
	nfo_nl_close(&d->ctreq.ct_req);
	nfo_nl_close(&d->ctreq.ct_quiet);
	free(d->ctreq.answers);
	d->ctreq.answers = NULL;
	d->ctreq.nanswers = d->ctreq.answers_cap = 0;
}
