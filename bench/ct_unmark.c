// SPDX-License-Identifier: GPL-2.0-only
/*
 * ct_unmark: clear one ct mark bit on every conntrack entry that has it.
 *
 * The benchmark stops and starts nft-offload many times in one namespace.
 * Each start should find the router as a fresh one would: no connection
 * marked for offload before its packets pass the ruleset again. `stop` is
 * meant to clear the bit itself; whatever it leaves behind is counted (and
 * reported) and cleared here, so that one configuration cannot slow the
 * next one's start down.
 *
 *   ct_unmark [--mark BIT]      (inside the router's namespace)
 *
 * Prints the number of entries that still had the bit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>

#include "ct.h"
#include "nl.h"

#define BATCH 256

struct list {
	struct nfo_tuple *t;
	uint16_t *zone;
	size_t n, cap;
};

static int dump_cb(unsigned int idx, const struct nlmsghdr *msg, int err, void *arg)
{
	struct list *l = arg;
	struct nfo_ct ct;

	if (err || !msg || nfo_ct_parse(msg, &ct))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4096;
		void *t = realloc(l->t, cap * sizeof(*l->t));
		void *z = t ? realloc(l->zone, cap * sizeof(*l->zone)) : NULL;

		if (t)
			l->t = t;
		if (!t || !z)
			return -ENOMEM;
		l->zone = z;
		l->cap = cap;
	}
	l->t[l->n] = ct.orig;
	l->zone[l->n++] = ct.zone;
	return 0;
}

static int ack_cb(unsigned int idx, const struct nlmsghdr *msg, int err, void *arg)
{
	/* ENOENT: the entry went away meanwhile; nothing to clear. */
	if (err && err != -ENOENT)
		(*(unsigned long *)arg)++;
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t mark = 0x80000000;
	struct list l = {};
	unsigned long failed = 0;
	struct nfo_nl_batch b;
	struct nfo_nl nl;
	size_t i;
	int err;

	if (argc == 3 && !strcmp(argv[1], "--mark"))
		mark = strtoul(argv[2], NULL, 0);
	else if (argc != 1) {
		fprintf(stderr, "usage: ct_unmark [--mark BIT]\n");
		return 2;
	}
	err = nfo_nl_open(&nl, NETLINK_NETFILTER, 0);
	if (err) {
		fprintf(stderr, "ct_unmark: netlink: %s\n", strerror(-err));
		return 1;
	}
	nfo_nl_set_rcvbuf(&nl, 8 << 20);
	/* The whole dump first: requests on the same socket would interleave with it. */
	err = nfo_ct_dump(&nl, mark, mark, dump_cb, &l);
	if (err) {
		fprintf(stderr, "ct_unmark: conntrack dump: %s\n", strerror(-err));
		return 1;
	}
	err = nfo_nl_batch_init(&b, &nl, BATCH * NFO_CT_REQ_MAX, false);
	for (i = 0; !err && i < l.n; i++) {
		struct nfo_ct_update u = { .set_mark = true, .mark = 0, .mark_mask = mark };

		if (b.count == BATCH)
			err = nfo_nl_batch_flush(&b, ack_cb, &failed);
		if (!err)
			nfo_ct_req_update(&b, &l.t[i], l.zone[i], &u);
	}
	if (!err)
		err = nfo_nl_batch_flush(&b, ack_cb, &failed);
	if (err || failed) {
		fprintf(stderr, "ct_unmark: %s\n", err ? strerror(-err) : "some updates failed");
		return 1;
	}
	printf("%zu\n", l.n);
	nfo_nl_batch_free(&b);
	nfo_nl_close(&nl);
	free(l.t);
	free(l.zone);
	return 0;
}
