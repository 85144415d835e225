// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the flow table core (lib/flowtable.c): the gc wheel across
 * the wrap-around of its 32-bit clock and of its slot ring, pairing the two
 * directions of a connection from fast-path entries (both found, one
 * missing, conntrack id collisions, bridge after-DNAT keys), and the
 * lifecycle and the iterator against real (private, unpinned) flow maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flowtable.h"
#include "log.h"
#include "unit.h"


/* ---- the gc wheel ---------------------------------------------------------- */

/*
 * Many connections spread over several turns of the slot ring, the clock
 * starting just before its 32-bit wrap, advanced by irregular steps (some
 * longer than a turn of the ring): each comes out once, never early, and no
 * later than the step that passed its deadline.
 */
static void test_gc_ring(uint32_t start)
{
	enum { N = 5000 };
	struct nfo_flowtable ft;
	struct nfo_conn *c = calloc(N, sizeof(*c));
	uint32_t *when = calloc(N, sizeof(*when)), now = start, prev;
	int *seen = calloc(N, sizeof(*seen)), i, early = 0, late = 0, twice = 0, missed = 0;
	unsigned int seed = start;

	if (!c || !when || !seen || nfo_flowtable_init(&ft)) {
		expect(0, "gc ring: setup");
		return;
	}
	ft.now = start;
	for (i = 0; i < N; i++) {
		c[i].orig.family = i & 1 ? AF_INET6 : AF_INET;
		c[i].orig.l4proto = IPPROTO_UDP;
		c[i].orig.sport = htons(i);
		c[i].orig.dport = htons(i >> 16);
		when[i] = start + 1 + rand_r(&seed) % (4 * NFO_WHEEL_SLOTS);
		nfo_flowtable_insert(&ft, &c[i]);
		nfo_flowtable_schedule(&ft, &c[i], when[i]);
	}
	expect(ft.count == N && ft.count_fam[0] == N / 2 && ft.count_fam[1] == N / 2,
	       "gc ring: %d inserted, counted per family", N);
	while ((int32_t)(now - (start + 4 * NFO_WHEEL_SLOTS + 1)) <= 0) {
		struct nfo_conn *due;
		uint32_t step = 1 + rand_r(&seed) % 7;

		if (rand_r(&seed) % 50 == 0)
			step = NFO_WHEEL_SLOTS + rand_r(&seed) % 300; /* a long stall */
		prev = now;
		now += step;
		for (due = nfo_flowtable_gc_step(&ft, now); due; due = due->wnext) {
			i = due - c;
			if (seen[i]++)
				twice++;
			if ((int32_t)(now - when[i]) < 0)
				early++;
			if ((int32_t)(prev - when[i]) >= 0)
				late++;
		}
	}
	for (i = 0; i < N; i++)
		missed += !seen[i];
	expect(!early && !late && !twice && !missed,
	       "gc ring from %#x: %d early, %d late, %d twice, %d never", start, early, late, twice,
	       missed);
	for (i = 0; i < N; i++)
		expect(nfo_flowtable_find(&ft, &c[i].orig, 0) == &c[i],
		       "gc ring: connection %d still in the table after its check", i);
	for (i = 0; i < N; i++)
		nfo_flowtable_remove(&ft, &c[i]);
	expect(ft.count == 0 && ft.count_fam[0] == 0 && ft.count_fam[1] == 0,
	       "gc ring: table empty after removing all");
	nfo_flowtable_free(&ft);
	free(c);
	free(when);
	free(seen);
}

/* Removing a scheduled connection takes it off the wheel too. */
static void test_gc_remove(void)
{
	struct nfo_flowtable ft;
	struct nfo_conn a = {0}, b = {0};
	struct nfo_conn *due;

	if (nfo_flowtable_init(&ft)) {
		expect(0, "gc remove: setup");
		return;
	}
	ft.now = 0xffffff00;
	a.orig.family = b.orig.family = AF_INET;
	b.orig.sport = 1;
	nfo_flowtable_insert(&ft, &a);
	nfo_flowtable_insert(&ft, &b);
	nfo_flowtable_schedule(&ft, &a, 0xffffff00 + 300); /* across the wrap */
	nfo_flowtable_schedule(&ft, &b, 0xffffff00 + 300);
	nfo_flowtable_remove(&ft, &a);
	due = nfo_flowtable_gc_step(&ft, 0xffffff00 + 400);
	expect(due == &b && !b.wnext, "gc remove: only the connection left is due");
	nfo_flowtable_remove(&ft, &b);
	nfo_flowtable_free(&ft);
}

/*
 * Checks taken a few at a time: what is due waits on the due list, and a
 * connection removed (evicted by an event) or rescheduled meanwhile leaves
 * it, so that the checks never see a connection that is gone.
 */
static void test_gc_due(void)
{
	enum { N = 6 };
	struct nfo_flowtable ft;
	struct nfo_conn c[N] = {{0}}, *n;
	int i, got[N] = {0}, other = 0;

	if (nfo_flowtable_init(&ft)) {
		expect(0, "gc due: setup");
		return;
	}
	ft.now = 0xfffffff0;
	for (i = 0; i < N; i++) {
		c[i].orig.family = AF_INET;
		c[i].orig.sport = htons(i);
		nfo_flowtable_insert(&ft, &c[i]);
		nfo_flowtable_schedule(&ft, &c[i], 0xfffffff0 + 5 + (i == N - 1) * 100);
	}
	nfo_flowtable_gc_due(&ft, 0xfffffff0 + 20); /* all but the last, across the wrap */
	n = nfo_flowtable_gc_next(&ft);
	expect(n && n >= c && n < c + N - 1 && !n->wnext && !n->wpprev,
	       "gc due: the first one taken off, unlinked");
	got[n - c]++;
	nfo_flowtable_remove(&ft, &c[2] == n ? &c[3] : &c[2]); /* evicted while due */
	nfo_flowtable_schedule(&ft, &c[1] == n ? &c[0] : &c[1], ft.now + 50); /* checked elsewhere */
	while ((n = nfo_flowtable_gc_next(&ft))) {
		if (n < c || n >= c + N)
			other++;
		else
			got[n - c]++;
	}
	for (i = 0; i < N; i++)
		other += got[i] > 1;
	expect(!other && got[0] + got[1] == 1 && got[2] + got[3] == 1 && got[4] == 1 && !got[5] &&
		       !ft.due,
	       "gc due: each due connection once, none removed or rescheduled meanwhile, the "
	       "later one not yet (%d %d %d %d %d %d)",
	       got[0], got[1], got[2], got[3], got[4], got[5]);
	for (i = 0; i < N; i++)
		if (nfo_flowtable_find(&ft, &c[i].orig, 0))
			nfo_flowtable_remove(&ft, &c[i]);
	nfo_flowtable_free(&ft);
}

/* ---- the walk in steps ------------------------------------------------------ */


struct step_arg {
	int *seen; /* by sport */
	int visits;
	struct nfo_flowtable *ft;
};

/* Visits every connection; deletes those with an odd port (as an evict would). */
static void step_cb(struct nfo_conn *c, void *arg)
{
	struct step_arg *a = arg;

	a->seen[ntohs(c->orig.sport)]++;
	a->visits++;
	if (ntohs(c->orig.sport) & 1) {
		nfo_flowtable_remove(a->ft, c);
		free(c);
	}
}

static struct nfo_conn *step_conn(uint16_t port)
{
	struct nfo_conn *c = calloc(1, sizeof(*c));

	if (c) {
		c->orig.family = AF_INET;
		c->orig.l4proto = IPPROTO_UDP;
		c->orig.sport = htons(port);
	}
	return c;
}

/* ---- growing in steps ------------------------------------------------------- */

static void count_visit(struct nfo_conn *c, void *arg)
{
	int *seen = arg;

	seen[ntohs(c->orig.sport)]++;
}

/*
 * The table grows while connections come and go: during each grow (old
 * buckets not yet moved) every connection present is found and none removed
 * is, removal works on both sides, and the grow ends after a bounded number
 * of inserts. At the end a walk sees each connection once.
 */
static void test_grow_steps(void)
{
	enum { N = 20000 };
	struct nfo_flowtable ft;
	struct nfo_conn **c = calloc(N, sizeof(*c));
	int *seen = calloc(N, sizeof(*seen)), i, j, lost = 0, ghosts = 0, twice = 0, during = 0;
	bool *gone = calloc(N, sizeof(*gone));
	uint64_t left = 0;

	if (!c || !seen || !gone || nfo_flowtable_init(&ft)) {
		expect(0, "grow steps: setup");
		return;
	}
	for (i = 0; i < N; i++) {
		c[i] = step_conn(i);
		nfo_flowtable_insert(&ft, c[i]);
		if (i % 7 == 3) {
			nfo_flowtable_remove(&ft, c[i - 3]);
			free(c[i - 3]);
			gone[i - 3] = true;
		}
		if (!ft.old)
			continue;
		during++;
		/* Mid-grow: a sample of what is present and what is not. */
		for (j = i; j >= 0 && j > i - 50; j--) {
			struct nfo_conn *f = nfo_flowtable_find(&ft, &(struct nfo_tuple){
					.family = AF_INET, .l4proto = IPPROTO_UDP, .sport = htons(j) }, 0);

			lost += !gone[j] && f != c[j];
			ghosts += gone[j] && f;
		}
	}
	expect(during > 0 && !ft.old, "grow steps: grows were under way during %d inserts, none now",
	       during);
	expect(during < N / 10, "grow steps: each grow ended within a bounded number of inserts (%d "
	       "inserts in all)", during);
	expect(!lost && !ghosts, "grow steps: mid-grow, %d present not found, %d removed found", lost,
	       ghosts);
	nfo_flowtable_foreach(&ft, count_visit, seen);
	for (i = 0; i < N; i++) {
		left += !gone[i];
		twice += seen[i] > 1;
		lost += !gone[i] && (seen[i] != 1 || nfo_flowtable_find(&ft, &c[i]->orig, 0) != c[i]);
		ghosts += gone[i] && seen[i];
	}
	expect(ft.count == left && !lost && !ghosts && !twice,
	       "grow steps: %llu left (counted %llu), %d not seen once or not found, %d removed "
	       "seen, %d twice", (unsigned long long)left, (unsigned long long)ft.count, lost,
	       ghosts, twice);
	nfo_flowtable_free(&ft);
	free(c);
	free(seen);
	free(gone);
}

/*
 * The walk after a dump, in steps: each step visits at most the buckets it
 * is given; connections deleted by the callback or inserted between steps
 * do not upset it, and when the table grows (re-hashes) in the middle, the
 * walk starts over, so that none present throughout is missed.
 */
static void test_foreach_step(void)
{
	enum { N = 3000, MORE = 3000, STEP = 100 };
	struct nfo_flowtable ft;
	struct nfo_flowtable_cursor cur = { 0 };
	int *seen = calloc(N + MORE, sizeof(*seen)), i, steps = 0, missed = 0, left = 0;
	struct step_arg a = { .seen = seen, .ft = &ft };
	uint32_t hmask0;
	bool done = false, grew = false;

	if (!seen || nfo_flowtable_init(&ft)) {
		expect(0, "foreach step: setup");
		return;
	}
	for (i = 0; i < N; i++)
		nfo_flowtable_insert(&ft, step_conn(i));
	hmask0 = ft.hmask;
	while (!done && steps < 1000) {
		uint32_t from = cur.hmask == ft.hmask ? cur.next : 0;

		done = nfo_flowtable_foreach_step(&ft, &cur, STEP, step_cb, &a);
		expect(cur.next - from <= STEP, "foreach step: step %d walked %u buckets (at most %d)",
		       steps, cur.next - from, STEP);
		steps++;
		/* Halfway: enough new connections to make the table grow. */
		if (steps == 20)
			for (i = N; i < N + MORE; i++)
				nfo_flowtable_insert(&ft, step_conn(i));
		grew |= ft.hmask != hmask0;
	}
	expect(done && grew, "foreach step: the walk ended (%d steps) across a grow of the table",
	       steps);
	for (i = 0; i < N; i++)
		missed += !seen[i];
	for (i = 0; i < N + MORE; i++) {
		struct nfo_tuple t = { .family = AF_INET, .l4proto = IPPROTO_UDP, .sport = htons(i) };

		left += (i & 1) && seen[i] && nfo_flowtable_find(&ft, &t, 0);
	}
	expect(!missed && !left,
	       "foreach step: %d of the first connections never visited, %d deleted still found",
	       missed, left);
	expect(nfo_flowtable_foreach_step(&ft, &cur, STEP, step_cb, &a),
	       "foreach step: a finished walk stays finished");
	nfo_flowtable_free(&ft);
	free(seen);
}

/* ---- pairing entries into connections -------------------------------------- */

static void tuple4(struct nfo_tuple *t, const char *src, uint16_t sport, const char *dst,
		   uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->family = AF_INET;
	t->l4proto = IPPROTO_TCP;
	inet_pton(AF_INET, src, &t->src);
	inet_pton(AF_INET, dst, &t->dst);
	t->sport = htons(sport);
	t->dport = htons(dport);
}

/*
 * A connection 198.18.0.2:1000 -> 198.19.0.2:80, source-NATed to
 * 198.19.0.1:2000 (port p varies the client port): what conntrack names
 * ORIGINAL and REPLY, and the two entries the daemon writes.
 */
struct built {
	struct nfo_tuple orig, reply;
	union nfo_key key[2];
	struct nfo_flow flow[2];
};

static void build(struct built *b, uint16_t p, uint32_t ct_id)
{
	struct nfo_tuple out[2];

	tuple4(&b->orig, "198.18.0.2", p, "198.19.0.2", 80);
	tuple4(&b->reply, "198.19.0.2", 80, "198.19.0.1", 2000 + p);
	nfo_tuple_invert(&out[0], &b->reply);
	nfo_tuple_invert(&out[1], &b->orig);
	nfo_flow_build(&b->orig, &out[0], 2, ct_id, NFO_DIR_ORIGINAL, &b->key[0], &b->flow[0]);
	nfo_flow_build(&b->reply, &out[1], 3, ct_id, NFO_DIR_REPLY, &b->key[1], &b->flow[1]);
}

static void test_pair_both(void)
{
	struct nfo_fp_conns cs = {0};
	struct built b;
	struct nfo_fp_conn *c;

	build(&b, 1000, 7);
	/* Reply first, as the maps may list them. */
	expect(!nfo_fp_conns_add(&cs, AF_INET, &b.key[1], &b.flow[1]) &&
		   !nfo_fp_conns_add(&cs, AF_INET, &b.key[0], &b.flow[0]) &&
		   !nfo_fp_conns_finish(&cs),
	       "pair both: add");
	expect(cs.n == 1, "pair both: one connection (%zu)", cs.n);
	c = nfo_fp_conns_find(&cs, &b.orig);
	expect(c && c->have[0] && c->have[1] && c->ct_id == 7 &&
		   nfo_tuple_equal(&c->orig, &b.orig) &&
		   !memcmp(&c->key[0], &b.key[0], sizeof(c->key[0])) &&
		   !memcmp(&c->key[1], &b.key[1], sizeof(c->key[1])),
	       "pair both: found by its original tuple, both directions");
	expect(!nfo_fp_conns_find(&cs, &b.reply), "pair both: not found by its reply tuple");
	nfo_fp_conns_free(&cs);
}

static void test_pair_one_missing(void)
{
	struct nfo_fp_conns cs = {0};
	struct built a, b;
	struct nfo_fp_conn *ca, *cb;

	build(&a, 1000, 7);
	build(&b, 1001, 8);
	nfo_fp_conns_add(&cs, AF_INET, &a.key[1], &a.flow[1]); /* reply only */
	nfo_fp_conns_add(&cs, AF_INET, &b.key[0], &b.flow[0]); /* original only */
	nfo_fp_conns_finish(&cs);
	ca = nfo_fp_conns_find(&cs, &a.orig);
	cb = nfo_fp_conns_find(&cs, &b.orig);
	expect(cs.n == 2, "one missing: two connections (%zu)", cs.n);
	expect(ca && !ca->have[0] && ca->have[1] && ca->ct_id == 7,
	       "one missing: a lone reply names its connection through its NAT");
	expect(cb && cb->have[0] && !cb->have[1] && cb->ct_id == 8,
	       "one missing: a lone original names its connection by its key");
	nfo_fp_conns_free(&cs);
}

static void test_pair_ct_id_collision(void)
{
	struct nfo_fp_conns cs = {0};
	struct built a, b, stale;
	struct nfo_fp_conn *c;
	size_t i;
	int halves = 0;

	/* Two connections whose 32-bit ids collide stay two. */
	build(&a, 1000, 42);
	build(&b, 1001, 42);
	nfo_fp_conns_add(&cs, AF_INET, &a.key[0], &a.flow[0]);
	nfo_fp_conns_add(&cs, AF_INET, &b.key[1], &b.flow[1]);
	nfo_fp_conns_add(&cs, AF_INET, &b.key[0], &b.flow[0]);
	nfo_fp_conns_add(&cs, AF_INET, &a.key[1], &a.flow[1]);
	nfo_fp_conns_finish(&cs);
	expect(cs.n == 2, "ct id collision: two connections (%zu)", cs.n);
	for (i = 0; i < cs.n; i++)
		expect(cs.v[i].have[0] && cs.v[i].have[1] &&
			   (nfo_tuple_equal(&cs.v[i].orig, &a.orig) ||
			    nfo_tuple_equal(&cs.v[i].orig, &b.orig)),
		       "ct id collision: connection %zu whole", i);
	nfo_fp_conns_free(&cs);

	/* One tuple, two ids (an entry left by an older connection): not paired. */
	build(&a, 1000, 42);
	build(&stale, 1000, 41);
	nfo_fp_conns_add(&cs, AF_INET, &a.key[0], &a.flow[0]);
	nfo_fp_conns_add(&cs, AF_INET, &stale.key[1], &stale.flow[1]);
	nfo_fp_conns_finish(&cs);
	for (i = 0; i < cs.n; i++)
		halves += cs.v[i].have[0] != cs.v[i].have[1];
	expect(cs.n == 2 && halves == 2, "same tuple, other ct id: two halves (%zu, %d)", cs.n,
	       halves);
	c = nfo_fp_conns_find(&cs, &a.orig);
	expect(c && nfo_tuple_equal(&c->orig, &a.orig), "same tuple: found by the tuple");
	nfo_fp_conns_free(&cs);

	/* The same direction twice (same tuple and id): a second connection. */
	nfo_fp_conns_add(&cs, AF_INET, &a.key[0], &a.flow[0]);
	nfo_fp_conns_add(&cs, AF_INET, &a.key[0], &a.flow[0]);
	nfo_fp_conns_finish(&cs);
	expect(cs.n == 2, "one direction twice: two connections (%zu)", cs.n);
	nfo_fp_conns_free(&cs);

	/* ... and its reply still joins the first, after the index has grown. */
	nfo_fp_conns_add(&cs, AF_INET, &a.key[0], &a.flow[0]);
	nfo_fp_conns_add(&cs, AF_INET, &a.key[0], &a.flow[0]);
	for (i = 0; i < 2000; i++) {
		build(&b, 3000 + i, 1000 + i);
		nfo_fp_conns_add(&cs, AF_INET, &b.key[0], &b.flow[0]);
	}
	nfo_fp_conns_add(&cs, AF_INET, &a.key[1], &a.flow[1]);
	nfo_fp_conns_finish(&cs);
	expect(cs.v[0].have[0] && cs.v[0].have[1] && !cs.v[1].have[1],
	       "one direction twice: the reply joins the first after growth");
	nfo_fp_conns_free(&cs);
}

/* A bridge's original direction keyed after DNAT joins its reply by ct id. */
static void test_pair_after_dnat(void)
{
	struct nfo_fp_conns cs = {0};
	struct built a, lone;
	union nfo_key k;
	struct nfo_flow f;
	struct nfo_tuple arrive, out;
	struct nfo_fp_conn *c;

	build(&a, 1000, 9);
	/* Keyed as it arrives: destination already rewritten (to 198.19.0.9). */
	arrive = a.orig;
	inet_pton(AF_INET, "198.19.0.9", &arrive.dst);
	nfo_tuple_invert(&out, &a.reply);
	nfo_flow_build(&arrive, &out, 2, 9, NFO_DIR_ORIGINAL, &k, &f);
	f.flags |= NFO_FLOW_AFTER_DNAT;
	nfo_fp_conns_add(&cs, AF_INET, &k, &f); /* before its reply */
	nfo_fp_conns_add(&cs, AF_INET, &a.key[1], &a.flow[1]);
	build(&lone, 1001, 10);
	lone.flow[0].flags |= NFO_FLOW_AFTER_DNAT;
	nfo_fp_conns_add(&cs, AF_INET, &lone.key[0], &lone.flow[0]);
	expect(!nfo_fp_conns_finish(&cs), "after dnat: finish");
	expect(cs.n == 2, "after dnat: two connections (%zu)", cs.n);
	c = nfo_fp_conns_find(&cs, &a.orig);
	expect(c && c->have[0] && c->have[1] && !memcmp(&c->key[0], &k, sizeof(k)) &&
		   (c->flow[0].flags & NFO_FLOW_AFTER_DNAT),
	       "after dnat: paired with its reply, named by conntrack's original tuple");
	c = nfo_fp_conns_find(&cs, &lone.orig);
	expect(c && c->have[0] && !c->have[1] && (c->flow[0].flags & NFO_FLOW_AFTER_DNAT),
	       "after dnat: without a reply, listed under its key");
	nfo_fp_conns_free(&cs);
}

/* Many connections, entries in random order, some halves: each once. */
static void test_pair_many(void)
{
	enum { N = 20000 };
	struct nfo_fp_conns cs = {0};
	struct built *b = calloc(N, sizeof(*b));
	int *order = calloc(2 * N, sizeof(*order)), i, bad = 0, whole = 0;
	unsigned int seed = 1;

	if (!b || !order) {
		expect(0, "pair many: setup");
		return;
	}
	for (i = 0; i < N; i++) {
		build(&b[i], i, i % 1000); /* ids collide on purpose */
		order[2 * i] = 2 * i;
		order[2 * i + 1] = 2 * i + 1;
	}
	for (i = 2 * N - 1; i > 0; i--) {
		int j = rand_r(&seed) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < 2 * N; i++) {
		int k = order[i] / 2, dir = order[i] & 1;

		if (k % 7 == 0 && dir) /* every 7th has no reply entry */
			continue;
		nfo_fp_conns_add(&cs, AF_INET, &b[k].key[dir], &b[k].flow[dir]);
	}
	nfo_fp_conns_finish(&cs);
	for (i = 0; i < N; i++) {
		struct nfo_fp_conn *c = nfo_fp_conns_find(&cs, &b[i].orig);
		bool want_reply = i % 7 != 0;

		if (!c || !c->have[0] || c->have[1] != want_reply || c->ct_id != (uint32_t)i % 1000)
			bad++;
		else
			whole += c->have[1];
	}
	expect(cs.n == N && !bad, "pair many: %zu connections of %d, %d wrong", cs.n, N, bad);
	expect(whole == N - (N + 6) / 7, "pair many: %d whole", whole);
	nfo_fp_conns_free(&cs);
	free(b);
	free(order);
}

/* ---- filter ---------------------------------------------------------------- */

static void test_filter(void)
{
	struct nfo_fp_conns cs = {0};
	struct nfo_filter f = {0};
	struct built b;
	struct nfo_fp_conn *c;

	build(&b, 1000, 7);
	nfo_fp_conns_add(&cs, AF_INET, &b.key[0], &b.flow[0]);
	nfo_fp_conns_add(&cs, AF_INET, &b.key[1], &b.flow[1]);
	nfo_fp_conns_finish(&cs);
	c = &cs.v[0];
	expect(nfo_filter_match_conn(&f, c), "filter: empty matches");
	f.port = htons(2000 + 1000); /* the NAT port: only the reply's key has it */
	expect(nfo_filter_match_conn(&f, c), "filter: a port of either direction");
	f.port = 0;
	f.ifindex = 3;
	expect(nfo_filter_match_conn(&f, c), "filter: the reply's ingress device");
	f.ifindex = 4;
	expect(!nfo_filter_match_conn(&f, c), "filter: another device does not match");
	f.ifindex = 0;
	f.addr_family = AF_INET;
	inet_pton(AF_INET, "198.19.0.1", &f.addr);
	expect(nfo_filter_match_conn(&f, c), "filter: the NAT address");
	f.family = AF_INET6;
	expect(!nfo_filter_match_conn(&f, c), "filter: other family");
	nfo_fp_conns_free(&cs);
}

/* ---- lifecycle and the iterator against real flow maps ---------------------- */

struct seen {
	int n, whole;
	struct nfo_tuple orig;
};

static int count_cb(const struct nfo_fp_conn *c, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->whole += c->have[0] && c->have[1];
	s->orig = c->orig;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void test_lifecycle(void)
{
	struct nfo_dp_opts opts = {.flow_capacity = 1024, .max_ifindex = 64};
	struct nfo_flowtable ft;
	struct nfo_conn *c = calloc(1, sizeof(*c)), *c2 = calloc(1, sizeof(*c2));
	struct nfo_dp *dp;
	struct seen s = {0};
	struct built b, b2;
	struct nfo_flow f;
	uint32_t idle, next;
	bool held;
	int dir;
	uint64_t now = mono_ns();
	int err = -ENOMEM;

	if (!c || !c2 || nfo_flowtable_init(&ft) || (err = nfo_dp_load(&opts, &dp))) {
		expect(0, "lifecycle: setup (flow maps: %s)", strerror(-err));
		return;
	}
	build(&b, 1000, 7);
	c->orig = b.orig;
	c->ct_id = 7;
	c->key[0] = b.key[0];
	c->key[1] = b.key[1];
	err = nfo_flow_offload_add(&ft, dp, c, b.flow, now);
	expect(!err && ft.count == 1 && nfo_flowtable_find(&ft, &b.orig, 0) == c,
	       "add: in the table (%d)", err);
	expect(!nfo_dp_flow_get(dp, AF_INET, &b.key[0], &f) && f.created_ns == now &&
		   !nfo_dp_flow_get(dp, AF_INET, &b.key[1], &f) && f.dir == NFO_DIR_REPLY,
	       "add: both directions in the fast path, stamped");
	expect(nfo_flowtable_find_entry(&ft, AF_INET, &b.key[1], &b.flow[1]) == c &&
		   nfo_flowtable_find_entry(&ft, AF_INET, &b.key[0], &b.flow[0]) == c,
	       "find_entry: either direction's entry names the connection");
	f = b.flow[1];
	f.ct_id = 8;
	expect(!nfo_flowtable_find_entry(&ft, AF_INET, &b.key[1], &f),
	       "find_entry: another ct id does not");
	expect(nfo_conn_ifindex(c, 0) == 2 && nfo_conn_ifindex(c, 1) == 3, "ingress devices");

	/* A second connection, then the iterator sees both, whole. */
	build(&b2, 1001, 8);
	c2->orig = b2.orig;
	c2->ct_id = 8;
	c2->key[0] = b2.key[0];
	c2->key[1] = b2.key[1];
	expect(!nfo_flow_offload_add(&ft, dp, c2, b2.flow, now), "add: a second connection");
	expect(!nfo_fp_foreach_conn(dp, count_cb, &s) && s.n == 2 && s.whole == 2,
	       "iterator: two whole connections (%d, %d)", s.n, s.whole);

	/* gc: alive, then teardown, then gone. */
	expect(nfo_flow_offload_gc(dp, c, now, 100, 30, &idle, &next, &held) == NFO_GC_ALIVE &&
		   idle == 0 && next == 130 && !held,
	       "gc: a fresh connection is alive, next check after the idle timeout (%u, %u)", idle,
	       next);
	expect(nfo_flow_offload_gc(dp, c, now + 31000000000ULL, 100, 30, &idle, &next, &held) ==
		       NFO_GC_IDLE &&
		   idle == 31,
	       "gc: idle after the idle timeout (%u)", idle);
	/* The fast path holds conntrack while both entries ask it to. */
	for (dir = 0; dir < 2; dir++) {
		nfo_dp_flow_get(dp, AF_INET, &b.key[dir], &f);
		f.flags |= NFO_FLOW_CT_HOLD;
		nfo_dp_flow_add(dp, AF_INET, &b.key[dir], &f, true);
	}
	expect(nfo_flow_offload_gc(dp, c, now, 100, 30, &idle, &next, &held) == NFO_GC_ALIVE &&
		   held,
	       "gc: both entries flagged, the fast path holds conntrack");
	nfo_dp_flow_get(dp, AF_INET, &b.key[0], &f);
	f.flags &= ~NFO_FLOW_CT_HOLD;
	nfo_dp_flow_add(dp, AF_INET, &b.key[0], &f, true);
	expect(nfo_flow_offload_gc(dp, c, now, 100, 30, &idle, &next, &held) == NFO_GC_ALIVE &&
		   !held,
	       "gc: a direction whose hold failed (flag cleared): the daemon holds");
	nfo_dp_flow_get(dp, AF_INET, &b.key[1], &f);
	f.teardown = NFO_TEARDOWN_FIN;
	nfo_dp_flow_add(dp, AF_INET, &b.key[1], &f, true);
	expect(nfo_flow_offload_gc(dp, c, now, 100, 30, &idle, &next, &held) == NFO_GC_TEARDOWN,
	       "gc: FIN seen by the fast path");
	nfo_dp_flow_del(dp, AF_INET, &b.key[1]);
	expect(nfo_flow_offload_gc(dp, c, now, 100, 30, &idle, &next, &held) == NFO_GC_GONE,
	       "gc: an entry deleted behind the table's back");
	s = (struct seen){0};
	nfo_fp_foreach_conn(dp, count_cb, &s);
	expect(s.n == 2 && s.whole == 1, "iterator: one whole, one half (%d, %d)", s.n, s.whole);

	/* teardown schedules a check soon; del takes everything out. */
	ft.now = 100;
	nfo_flow_offload_teardown(&ft, c, 100);
	expect(c->deadline == 102, "teardown: checked again in 2 s (%u)", c->deadline);
	nfo_flow_offload_del(&ft, dp, c);
	expect(ft.count == 1 && !nfo_flowtable_find(&ft, &b.orig, 0) &&
		   nfo_dp_flow_get(dp, AF_INET, &b.key[0], &f),
	       "del: out of the table and the fast path");
	s = (struct seen){0};
	nfo_fp_foreach_conn(dp, count_cb, &s);
	expect(s.n == 1 && s.whole == 1 && nfo_tuple_equal(&s.orig, &b2.orig),
	       "iterator: the other connection only");

	nfo_flow_offload_del(&ft, dp, c2);
	expect(ft.count == 0 && nfo_dp_flow_count(dp) == 0, "del: empty again");
	nfo_flowtable_free(&ft);
	nfo_dp_close(dp);
}

/*
 * The CLI's evict: the connections a filter selects leave the fast path,
 * both directions, and count once each; the others stay. (Conntrack has no
 * entries here: its hand-back requests are answered ENOENT and ignored.)
 */
static void test_evict(void)
{
	struct nfo_dp_opts opts = { .flow_capacity = 1024, .max_ifindex = 64 };
	struct nfo_filter f = { 0 };
	struct seen s = { 0 };
	struct nfo_dp *dp;
	struct built b[3];
	long n;
	int i, dir, err;

	err = nfo_dp_load(&opts, &dp);
	if (err) {
		expect(0, "evict: flow maps (%s)", strerror(-err));
		return;
	}
	for (i = 0; i < 3; i++) {
		build(&b[i], 1000 + i, 20 + i);
		for (dir = 0; dir < 2; dir++)
			nfo_dp_flow_add(dp, AF_INET, &b[i].key[dir], &b[i].flow[dir], true);
	}
	f.port = htons(2000 + 1001); /* only the reply of connection 1 has it */
	n = nfo_flowtable_evict(dp, &f, 0xc0000000);
	expect(n == 1, "evict: one connection selected by its reply's port (%ld)", n);
	nfo_fp_foreach_conn(dp, count_cb, &s);
	expect(s.n == 2 && s.whole == 2 && nfo_dp_flow_count(dp) == 4,
	       "evict: the two others stay whole (%d, %d)", s.n, s.whole);
	memset(&f, 0, sizeof(f));
	n = nfo_flowtable_evict(dp, &f, 0xc0000000);
	expect(n == 2 && nfo_dp_flow_count(dp) == 0, "flush: the rest (%ld)", n);
	nfo_dp_close(dp);
}

/*
 * An admission batch: connections written together, inserted together; one
 * that no longer fits is neither in the fast path nor in the table.
 */
static void test_add_many(void)
{
	struct nfo_dp_opts opts = { .flow_capacity = 2, .max_ifindex = 64 };
	struct nfo_conn *c[5];
	struct nfo_dp_conn e[5];
	struct nfo_flowtable ft;
	struct built b[5];
	struct nfo_flow f;
	uint64_t now = mono_ns();
	int err[5], i, x, in = 0, missing = 0;
	struct nfo_dp *dp;

	x = nfo_dp_load(&opts, &dp);
	if (x || nfo_flowtable_init(&ft)) {
		expect(0, "add_many: setup (flow maps: %s)", strerror(-x));
		return;
	}
	for (i = 0; i < 5; i++) {
		build(&b[i], 3000 + i, 40 + i);
		c[i] = calloc(1, sizeof(*c[i]));
		c[i]->orig = b[i].orig;
		c[i]->ct_id = 40 + i;
		c[i]->key[0] = b[i].key[0];
		c[i]->key[1] = b[i].key[1];
		e[i].flow[0] = b[i].flow[0];
		e[i].flow[1] = b[i].flow[1];
		err[i] = 1;
	}
	/* Room for 2 connections per family (4 entries): 5 asked for. */
	nfo_flow_offload_add_many(&ft, dp, c, e, 5, now, err);
	for (i = 0; i < 5; i++) {
		bool found = nfo_flowtable_find(&ft, &b[i].orig, 0) == c[i];
		bool entries = !nfo_dp_flow_get(dp, AF_INET, &b[i].key[0], &f) &&
			       f.created_ns == now &&
			       !nfo_dp_flow_get(dp, AF_INET, &b[i].key[1], &f) &&
			       f.dir == NFO_DIR_REPLY;

		if (!err[i] && found && entries)
			in++;
		else if (err[i] < 0 && !found &&
			 nfo_dp_flow_get(dp, AF_INET, &b[i].key[0], &f) == -ENOENT &&
			 nfo_dp_flow_get(dp, AF_INET, &b[i].key[1], &f) == -ENOENT)
			missing++;
	}
	expect(in == 2 && missing == 3 && ft.count == 2 && nfo_dp_flow_count(dp) == 4 && !err[0] &&
		       !err[1],
	       "add_many: the first 2 written and inserted, stamped; 3 refused, nothing of them "
	       "left (%d in, %d refused, %d errors)",
	       in, missing, err[2]);
	for (i = 0; i < 5; i++)
		if (err[i])
			free(c[i]);
		else
			nfo_flow_offload_del(&ft, dp, c[i]);
	expect(ft.count == 0 && nfo_dp_flow_count(dp) == 0, "add_many: taken out again");
	nfo_flowtable_free(&ft);
	nfo_dp_close(dp);
}

int main(void)
{
	nfo_log_libbpf();
	test_gc_ring(0xfffff000);
	test_gc_ring(0x7ffffc00);
	test_gc_ring(0);
	test_gc_remove();
	test_gc_due();
	test_foreach_step();
	test_grow_steps();
	test_pair_both();
	test_pair_one_missing();
	test_pair_ct_id_collision();
	test_pair_after_dnat();
	test_pair_many();
	test_filter();
	test_lifecycle();
	test_add_many();
	test_evict();
	return unit_summary();
}
