// SPDX-License-Identifier: GPL-2.0-only
/*
 * admit_test: the admission pipeline's library parts.
 *
 * Conntrack dumps read in slices (lib/ctdump.c):
 * 1. The stale-entry rule: once an event about a connection has been read
 *    during a dump, the dump's entries about it are older and must not be
 *    acted on; other connections' entries are; nothing is remembered while
 *    no dump runs, and a new dump forgets the last one's events.
 * 2. A real dump, in the test's private network namespace: 5,000 marked
 *    and 1,000 unmarked UDP entries created over ctnetlink; the dump of the
 *    marked ones arrives in several slices, never waits inside a read, and
 *    delivers each marked entry exactly once.
 *
 * Events read ahead of admission (lib/ctqueue.c):
 * 4. first in, first out across growth and wrap-around, with each event's
 *    port id and time; at its bound a push fails instead of growing.
 *
 * Route lookups of one batch, one per distinct address (lib/addrset.c):
 * 3. the same address gets the same index, another family or address a new
 *    one, an IPv4 address ignores the unused bytes, and a full set says so.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include "ct.h"
#include "addrset.h"
#include "ctdump.h"
#include "ctqueue.h"
#include "nl.h"
#include "unit.h"

#define MARK 0xc0000000U
#define MARKED 5000
#define UNMARKED 1000

static struct nfo_tuple udp4(uint32_t src, uint16_t sport)
{
	struct nfo_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET;
	t.l4proto = IPPROTO_UDP;
	t.src.ip = htonl(src);
	t.dst.ip = htonl(0xc6130202);
	t.sport = htons(sport);
	t.dport = htons(9);
	return t;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void stale_rule(void)
{
	struct nfo_ctdump cd;
	struct nfo_tuple a = udp4(0xc612010a, 1000), b = udp4(0xc612010a, 1001);
	int i, found = 0, wrong = 0;
	double t0;

	memset(&cd, 0, sizeof(cd));
	nfo_ctdump_touch(&cd, &a, 0);
	expect(!nfo_ctdump_stale(&cd, &a, 0), "no dump running: an event is not remembered");

	cd.running = true; /* as nfo_ctdump_start leaves it */
	nfo_ctdump_touch(&cd, &a, 0);
	expect(nfo_ctdump_stale(&cd, &a, 0), "event read during the dump: its dump entry is stale");
	expect(!nfo_ctdump_stale(&cd, &b, 0), "another connection's entry is not stale");
	expect(!nfo_ctdump_stale(&cd, &a, 1), "the same tuple in another zone is not stale");

	/*
	 * Many events during one dump (the set grows): all remembered, no
	 * others, fast. Connections that differ only in their source port
	 * once all fell into one slot (a hash whose low bits ignored the port):
	 * 30 us per event, far slower than the events came in.
	 */
	t0 = now_s();
	for (i = 0; i < 100000; i++) {
		struct nfo_tuple t = udp4(0xc6120000 + i / 50000, 10000 + i % 50000);

		nfo_ctdump_touch(&cd, &t, 0);
	}
	t0 = now_s() - t0;
	expect(t0 < 0.5, "100,000 events remembered in %.0f ms (under 500)", t0 * 1e3);
	for (i = 0; i < 100000; i++) {
		struct nfo_tuple t = udp4(0xc6120000 + i / 50000, 10000 + i % 50000);
		struct nfo_tuple u = udp4(0xc6121000 + i / 50000, 10000 + i % 50000);

		found += nfo_ctdump_stale(&cd, &t, 0);
		wrong += nfo_ctdump_stale(&cd, &u, 0);
	}
	expect(found == 100000 && wrong == 0,
	       "100,000 events in one dump: %d of 100000 remembered, %d others taken for them",
	       found, wrong);
	expect(cd.seen_count == 100001, "each connection remembered once (%u)", cd.seen_count);
	nfo_ctdump_free(&cd);
}

static void put_tuple(struct nlmsghdr *nlh, int type, const struct nfo_tuple *t)
{
	struct nlattr *tup, *ip, *proto;

	tup = mnl_attr_nest_start(nlh, type);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, t->src.ip);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, t->dst.ip);
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, t->sport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, t->dport);
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tup);
}

static int count_err_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	if (err)
		(*(int *)arg)++;
	return 0;
}

static int create(struct nfo_nl *nl, int first, int n, uint32_t mark)
{
	struct nfo_nl_batch b;
	int i, errs = 0;

	if (nfo_nl_batch_init(&b, nl, 128 * NFO_CT_REQ_MAX, false))
		return -1;
	for (i = first; i < first + n; i++) {
		struct nfo_tuple o = udp4(0xc612010a + i / 50000, 10000 + i % 50000), r;
		struct nlmsghdr *nlh;
		struct nfgenmsg *nfg;

		if (b.count == 128 && nfo_nl_batch_flush(&b, count_err_cb, &errs))
			errs++;
		r = o;
		r.src = o.dst;
		r.dst = o.src;
		r.sport = o.dport;
		r.dport = o.sport;
		nlh = nfo_nl_batch_add(&b, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW,
				       NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
		nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
		nfg->nfgen_family = AF_INET;
		nfg->version = NFNETLINK_V0;
		put_tuple(nlh, CTA_TUPLE_ORIG, &o);
		put_tuple(nlh, CTA_TUPLE_REPLY, &r);
		mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_SEEN_REPLY | IPS_ASSURED |
							IPS_CONFIRMED));
		mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(600));
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
	}
	if (nfo_nl_batch_flush(&b, count_err_cb, &errs))
		errs++;
	nfo_nl_batch_free(&b);
	return errs;
}

struct seen {
	unsigned char *hit; /* by connection number */
	int entries, dups, strays;
};

static int dump_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct seen *s = arg;
	struct nfo_ct ct;
	int i;

	s->entries++;
	if (nfo_ct_parse(nlh, &ct) || !ct.has_mark || ct.mark != MARK) {
		s->strays++;
		return 0;
	}
	i = (int)(ntohl(ct.orig.src.ip) - 0xc612010a) * 50000 + ntohs(ct.orig.sport) - 10000;
	if (i < 0 || i >= MARKED) {
		s->strays++;
		return 0;
	}
	s->dups += s->hit[i]++ > 0;
	return 0;
}

static void real_dump(void)
{
	struct seen s = { .hit = calloc(MARKED, 1) };
	struct nfo_ctdump cd;
	struct nfo_nl req, dump;
	int reads = 0, again = 0, n, errs, missing = 0, i;
	double t, longest = 0;

	memset(&cd, 0, sizeof(cd));
	if (!s.hit || nfo_nl_open(&req, NETLINK_NETFILTER, 0) ||
	    nfo_nl_open(&dump, NETLINK_NETFILTER, 0)) {
		expect(0, "setup: %s", strerror(errno));
		return;
	}
	nfo_nl_set_rcvbuf(&req, 4 << 20);
	errs = create(&req, 0, MARKED, MARK);
	errs += create(&req, MARKED, UNMARKED, 0);
	expect(errs == 0, "%d marked and %d unmarked entries created (%d failures)", MARKED,
	       UNMARKED, errs);

	expect(nfo_ctdump_start(&cd, &dump, MARK, MARK) == 0 && cd.running, "dump started");
	while (cd.running) {
		t = now_s();
		n = nfo_ctdump_read(&cd, dump_cb, &s);
		t = now_s() - t;
		if (t > longest)
			longest = t;
		if (n == -EAGAIN) {
			again++;
			if (nfo_ctdump_wait(&cd, 5000))
				break;
			continue;
		}
		if (n < 0)
			break;
		reads++;
	}
	for (i = 0; i < MARKED; i++)
		missing += !s.hit[i];
	expect(!cd.running && cd.entries == MARKED,
	       "the dump ended with every marked entry (%llu of %d)",
	       (unsigned long long)cd.entries, MARKED);
	expect(missing == 0 && s.dups == 0 && s.strays == 0,
	       "each marked entry exactly once (%d missing, %d twice, %d others)", missing, s.dups,
	       s.strays);
	expect(reads > 1, "delivered in %d slices (one receive each)", reads);
	expect(longest < 0.05, "no read waited (longest %.1f ms)", longest * 1e3);

	/* The socket is ready for the next dump: nothing left over. */
	memset(&s.hit[0], 0, MARKED);
	s.entries = 0;
	expect(nfo_ctdump_start(&cd, &dump, MARK, MARK) == 0, "a second dump on the same socket");
	while (cd.running) {
		n = nfo_ctdump_read(&cd, dump_cb, &s);
		if (n == -EAGAIN && nfo_ctdump_wait(&cd, 5000))
			break;
		if (n < 0 && n != -EAGAIN)
			break;
	}
	expect(!cd.running && s.entries == MARKED, "the second dump: %d entries", s.entries);

	nfo_ctdump_free(&cd);
	nfo_nl_close(&req);
	nfo_nl_close(&dump);
	free(s.hit);
}

static void addrset(void)
{
	struct nfo_addrset as;
	union nfo_addr a, b, c;
	bool added, all = true;
	int i, i0, i1, i2, i3;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0xff, sizeof(c));
	a.ip = htonl(0xc612010a);
	b.ip = htonl(0xc612010b);
	c.ip = a.ip; /* the same IPv4 address, other bytes not zero */
	nfo_addrset_init(&as);
	i0 = nfo_addrset_add(&as, AF_INET, &a, &added);
	expect(i0 == 0 && added, "first address: index 0, added");
	i1 = nfo_addrset_add(&as, AF_INET, &a, &added);
	expect(i1 == 0 && !added, "the same address again: index 0, not added");
	i2 = nfo_addrset_add(&as, AF_INET, &c, &added);
	expect(i2 == 0 && !added, "IPv4: bytes beyond the address do not count");
	i3 = nfo_addrset_add(&as, AF_INET, &b, &added);
	expect(i3 == 1 && added, "another address: index 1");
	i3 = nfo_addrset_add(&as, AF_INET6, &a, &added);
	expect(i3 == 2 && added, "the same bytes in another family: index 2");
	for (i = as.n; i < NFO_ADDRSET_MAX; i++) {
		union nfo_addr x = { .ip = htonl(0xc6130000 + i) };

		all &= nfo_addrset_add(&as, AF_INET, &x, &added) == i && added;
	}
	expect(all && as.n == NFO_ADDRSET_MAX, "filled to %d distinct addresses", NFO_ADDRSET_MAX);
	b.ip = htonl(0xc6140000);
	expect(nfo_addrset_add(&as, AF_INET, &b, &added) == -1 && !added,
	       "full: a new address gets -1");
	expect(nfo_addrset_add(&as, AF_INET, &a, &added) == 0,
	       "full: a known address still gets its index");
}

static void ctqueue(void)
{
	struct nfo_ctq q = { .max = 4096 };
	struct nfo_ct ct;
	int i, next = 0, bad = 0, err = 0;

	memset(&ct, 0, sizeof(ct));
	/* Push 3 and pop 2 at a time: the ring wraps while it grows. */
	for (i = 0; i < 3000; i++) {
		struct nfo_ctq_item *it;

		ct.id = (uint32_t)i;
		err |= nfo_ctq_push(&q, &ct, (uint32_t)i * 7, (uint64_t)i * 11);
		if (i % 3 == 2) {
			int k;

			for (k = 0; k < 2 && (it = nfo_ctq_peek(&q)); k++, next++) {
				bad += it->ct.id != (uint32_t)next ||
				       it->portid != (uint32_t)next * 7 ||
				       it->rx_ns != (uint64_t)next * 11;
				nfo_ctq_pop(&q);
			}
		}
	}
	while (nfo_ctq_peek(&q)) {
		struct nfo_ctq_item *it = nfo_ctq_peek(&q);

		bad += it->ct.id != (uint32_t)next || it->portid != (uint32_t)next * 7;
		nfo_ctq_pop(&q);
		next++;
	}
	expect(!err && !bad && next == 3000, "3000 events out in the order they went in (%d wrong)",
	       bad);
	for (i = 0; i < 4096; i++)
		err |= nfo_ctq_push(&q, &ct, 0, 0);
	expect(!err && !nfo_ctq_room(&q, 1) && nfo_ctq_push(&q, &ct, 0, 0) == -ENOSPC,
	       "at its bound (4096): no room, a push fails");
	nfo_ctq_free(&q);

	/* Emptied after a flood, a large queue gives its memory back. */
	q.max = 0;
	for (i = 0; i < 100000; i++)
		err |= nfo_ctq_push(&q, &ct, 0, 0);
	for (i = 0; i < 100000; i++)
		nfo_ctq_pop(&q);
	expect(!err && !q.v && !q.cap && !nfo_ctq_peek(&q) && !nfo_ctq_push(&q, &ct, 0, 0) &&
		       nfo_ctq_peek(&q),
	       "100,000 events in and out: memory given back, the queue still works");
	nfo_ctq_free(&q);
}

int main(void)
{
	ctqueue();
	stale_rule();
	real_dump();
	addrset();
	return unit_summary();
}
