// SPDX-License-Identifier: GPL-2.0-only
/*
 * nl_batch_test: netlink request batches (lib/nl.c).
 *
 * The daemon fills two batches on one conntrack socket in turns (admission
 * updates and hand-backs); answers are matched to requests by sequence
 * number. Numbered when added, a batch with another batch's requests in
 * between lost track of its answers and waited 5 s for them. This test fills
 * two batches in turns on one rtnetlink socket with link queries for lo
 * (read-only; run it in a private namespace) and checks that each flush gets
 * exactly its own answers, at the right index, at once; and that a failing
 * request is reported at its index.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/rtnetlink.h>

#include "nl.h"
#include "unit.h"

struct answers {
	int n;
	int idx[8];
	int err[8];
	int ifindex[8];
};

static int answer_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct answers *a = arg;

	if (a->n < 8) {
		a->idx[a->n] = (int)idx;
		a->err[a->n] = err;
		a->ifindex[a->n] = nlh ? ((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index : 0;
	}
	a->n++;
	return 0;
}

static void get_link(struct nfo_nl_batch *b, int ifindex)
{
	struct nlmsghdr *nlh = nfo_nl_batch_add(b, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	struct answers aa = {}, ab = {};
	struct nfo_nl_batch a, b;
	struct nfo_nl nl;
	int lo = (int)if_nametoindex("lo"), err;
	double t0;

	if (!lo || nfo_nl_open(&nl, NETLINK_ROUTE, 0) || nfo_nl_batch_init(&a, &nl, 4096, true) ||
	    nfo_nl_batch_init(&b, &nl, 4096, true)) {
		printf("not ok - setup: %s\n", strerror(errno));
		return 1;
	}

	/* A: one request; B: one request and flushed; A: one more, flushed. */
	get_link(&a, lo);
	get_link(&b, lo);
	t0 = now_s();
	err = nfo_nl_batch_flush(&b, answer_cb, &ab);
	expect(err == 0 && ab.n == 1 && ab.idx[0] == 0 && ab.ifindex[0] == lo,
	       "batch B, flushed between A's requests: its one answer (err %d, %d answers)", err,
	       ab.n);
	get_link(&a, lo);
	err = nfo_nl_batch_flush(&a, answer_cb, &aa);
	expect(err == 0 && aa.n == 2 && aa.idx[0] == 0 && aa.idx[1] == 1,
	       "batch A, filled around B: both answers, at index 0 and 1 (err %d, %d answers)", err,
	       aa.n);
	expect(now_s() - t0 < 1.0, "both flushes answered at once (%.3f s; a lost answer waits 5 s)",
	       now_s() - t0);

	/* A failing request in the middle is reported at its own index. */
	memset(&aa, 0, sizeof(aa));
	get_link(&a, lo);
	get_link(&a, 0x7ffffff0); /* no such device */
	get_link(&a, lo);
	err = nfo_nl_batch_flush(&a, answer_cb, &aa);
	expect(err == 0 && aa.n == 3 && aa.idx[1] == 1 && aa.err[1] == -ENODEV &&
		       aa.idx[2] == 2 && aa.ifindex[2] == lo,
	       "a failing request: reported at index 1 (%d), the others answered (%d answers)",
	       aa.err[1], aa.n);

	nfo_nl_batch_free(&a);
	nfo_nl_batch_free(&b);
	nfo_nl_close(&nl);
	return unit_summary();
}
