// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of pure userspace code: the daemon's idle wheel across the
 * wrap-around of its 32-bit clock, RFC 1624 checksum differences against a
 * checksum computed from scratch, JSON string escaping, and when an
 * admission's conntrack hold may wait for the first idle check.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "flow.h"
#include "flowtable.h"
#include "output.h"
#include "unit.h"


/* --- the idle wheel ------------------------------------------------------- */

static int due_count(struct nfo_conn *list, struct nfo_conn *want, int *others)
{
	int n = 0;

	*others = 0;
	for (; list; list = list->wnext) {
		if (list == want)
			n++;
		else
			(*others)++;
	}
	return n;
}

/*
 * Connections scheduled at deadlines that straddle the clock's wrap (and one
 * more than a turn of the wheel away) come out exactly at their deadline,
 * once, whatever the steps the clock takes.
 */
static void test_wheel_wrap(uint32_t start, uint32_t step)
{
	static const uint32_t offs[] = { 1, 5, 15, 16, 17, 40, NFO_WHEEL_SLOTS - 1,
					 NFO_WHEEL_SLOTS, NFO_WHEEL_SLOTS + 3,
					 3 * NFO_WHEEL_SLOTS + 7 };
	enum { N = sizeof(offs) / sizeof(offs[0]) };
	struct nfo_flowtable t;
	struct nfo_conn c[N];
	int seen[N] = { 0 }, late = 0, early = 0, i;
	uint32_t now = start, last = start + offs[N - 1] + step;

	if (nfo_flowtable_init(&t)) {
		expect(0, "flowtable init");
		return;
	}
	t.now = start;
	memset(c, 0, sizeof(c));
	for (i = 0; i < N; i++) {
		c[i].orig.family = AF_INET;
		c[i].orig.l4proto = 17;
		c[i].orig.sport = htons(1000 + i);
		nfo_flowtable_insert(&t, &c[i]);
		nfo_flowtable_schedule(&t, &c[i], start + offs[i]);
	}
	while ((int32_t)(last - now) > 0) {
		struct nfo_conn *due, *d;

		now += step;
		due = nfo_flowtable_gc_step(&t, now);
		for (d = due; d; d = d->wnext) {
			i = d - c;
			seen[i]++;
			if ((int32_t)(now - (start + offs[i])) < 0)
				early++;
			if ((int32_t)(now - (start + offs[i])) >= (int32_t)step)
				late++;
		}
	}
	for (i = 0; i < N; i++)
		expect(seen[i] == 1, "wheel from %#x by %u: deadline +%u seen %d times", start, step,
		       offs[i], seen[i]);
	expect(!early && !late, "wheel from %#x by %u: %d early, %d late", start, step, early,
	       late);
	for (i = 0; i < N; i++)
		nfo_flowtable_remove(&t, &c[i]);
	expect(t.count == 0, "wheel: every connection removed (%lu left)",
	       (unsigned long)t.count);
	nfo_flowtable_free(&t);
}

/* A rescheduled connection comes out at its new deadline only. */
static void test_wheel_reschedule(void)
{
	struct nfo_flowtable t;
	struct nfo_conn c = { 0 };
	int n, others;

	if (nfo_flowtable_init(&t)) {
		expect(0, "flowtable init");
		return;
	}
	t.now = 0xfffffffe;
	c.orig.family = AF_INET;
	nfo_flowtable_insert(&t, &c);
	nfo_flowtable_schedule(&t, &c, 0xffffffff + 10u);
	nfo_flowtable_schedule(&t, &c, 0xffffffff + 30u);
	n = due_count(nfo_flowtable_gc_step(&t, 0xffffffff + 20u), &c, &others);
	expect(n == 0 && others == 0, "rescheduled connection not due at the old deadline");
	n = due_count(nfo_flowtable_gc_step(&t, 0xffffffff + 30u), &c, &others);
	expect(n == 1 && others == 0, "rescheduled connection due at the new deadline");
	/* A deadline in the past is taken as the next second. */
	nfo_flowtable_schedule(&t, &c, t.now - 5);
	n = due_count(nfo_flowtable_gc_step(&t, t.now + 1), &c, &others);
	expect(n == 1, "a deadline in the past is due at the next step");
	nfo_flowtable_remove(&t, &c);
	nfo_flowtable_free(&t);
}

/* --- checksum differences ------------------------------------------------- */

/*
 * RFC 1071 over the bytes as they lie in memory (16-bit words in host order,
 * as the kernel's and the fast path's sums are), an even length.
 */
static uint16_t csum_scratch(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	uint16_t w;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		memcpy(&w, p + i, 2);
		sum += w;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* What the fast path does with a difference: ~fold(~check + diff). */
static uint16_t csum_apply(uint16_t check_host, uint32_t diff)
{
	uint32_t s = (uint16_t)~check_host;

	s += (diff & 0xffff) + (diff >> 16);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * A pseudo-header + UDP header + payload: rewrite addresses and ports with
 * nfo_flow_build's differences, compare with a checksum from scratch.
 */
static void test_csum(unsigned int seed, int family)
{
	size_t alen = family == AF_INET ? 4 : 16;
	uint8_t pkt[2 * 16 + 4 + 8 + 64];
	struct nfo_tuple in = { 0 }, out = { 0 };
	union nfo_key key;
	struct nfo_flow flow;
	size_t len = 2 * alen + 4 + 8 + 64, i;
	uint16_t before, after, incr;

	srandom(seed);
	in.family = out.family = family;
	in.l4proto = out.l4proto = 17;
	for (i = 0; i < alen; i++) {
		((uint8_t *)&in.src)[i] = random();
		((uint8_t *)&in.dst)[i] = random();
		((uint8_t *)&out.src)[i] = random();
		((uint8_t *)&out.dst)[i] = random();
	}
	in.sport = random();
	in.dport = random();
	out.sport = random();
	out.dport = random();
	if (seed % 3 == 0)
		out.src = in.src; /* DNAT only */
	if (seed % 5 == 0)
		out.sport = in.sport;
	nfo_flow_build(&in, &out, 7, 1, NFO_DIR_ORIGINAL, &key, &flow);

	for (i = 0; i < len; i++)
		pkt[i] = random();
	/* src, dst, then (zero, proto), then sport, dport, length, checksum. */
	memcpy(pkt, &in.src, alen);
	memcpy(pkt + alen, &in.dst, alen);
	pkt[2 * alen] = 0;
	pkt[2 * alen + 1] = 17;
	memcpy(pkt + 2 * alen + 4, &in.sport, 2);
	memcpy(pkt + 2 * alen + 6, &in.dport, 2);
	pkt[2 * alen + 10] = pkt[2 * alen + 11] = 0;
	before = csum_scratch(pkt, len);

	memcpy(pkt, &out.src, alen);
	memcpy(pkt + alen, &out.dst, alen);
	memcpy(pkt + 2 * alen + 4, &out.sport, 2);
	memcpy(pkt + 2 * alen + 6, &out.dport, 2);
	after = csum_scratch(pkt, len);

	incr = before;
	if (flow.flags & NFO_FLOW_NAT_ADDR)
		incr = csum_apply(incr, flow.csum_addr);
	if (flow.flags & NFO_FLOW_NAT_PORT)
		incr = csum_apply(incr, flow.csum_port);
	/* 0x0000 and 0xffff are the same sum in ones' complement. */
	expect(incr == after || (incr == 0xffff && after == 0) || (incr == 0 && after == 0xffff),
	       "checksum difference, family %d seed %u: incremental %#06x, from scratch %#06x",
	       family, seed, incr, after);
}

/* --- JSON escaping ---------------------------------------------------------- */

static void test_json_escape(void)
{
	char buf[256] = { 0 };
	FILE *f = tmpfile();
	int saved = dup(1);
	const char *want = "{\"k\\\"ey\":\"a\\\"b\\\\c\\nd\\te\\u0001f\\u001f\xc3\xa9\"}\n";

	if (!f || saved < 0) {
		expect(0, "tmpfile");
		return;
	}
	fflush(stdout);
	dup2(fileno(f), 1);
	out_init(true);
	out_obj_open(NULL);
	out_str("k\"ey", NULL, "a\"b\\c\nd\te\x01" "f\x1f\xc3\xa9");
	out_obj_close();
	out_finish();
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(f);
	if (!fgets(buf, sizeof(buf) - 1, f))
		buf[0] = 0;
	fclose(f);
	expect(!strcmp(buf, want), "JSON escaping: got %s", buf);
}

/* --- when an admission's conntrack hold can wait for the first idle check --- */

static void test_hold_later(void)
{
	static const struct {
		uint8_t proto;
		uint32_t left, udp, stream, first;
		bool later;
		const char *what;
	} c[] = {
		{ IPPROTO_UDP, 30, 30, 120, 10, true, "UDP, conntrack's defaults, first check in 10 s" },
		{ IPPROTO_UDP, 3600, 30, 120, 10, true, "UDP created long-lived over ctnetlink" },
		{ IPPROTO_UDP, 25, 30, 120, 10, true, "exactly the margin left" },
		{ IPPROTO_UDP, 24, 30, 120, 10, false, "a second short of the margin" },
		{ IPPROTO_UDP, 0, 30, 120, 10, false, "timeout unknown (no attribute)" },
		{ IPPROTO_UDP, 3600, 5, 120, 10, false, "a short unreplied timeout a packet may set" },
		{ IPPROTO_UDP, 3600, 30, 5, 10, false, "a short stream timeout a packet may set" },
		{ IPPROTO_UDP, 30, 30, 120, 3, true, "idle timeout 3 s: first check in 3 s" },
		{ IPPROTO_UDP, 20, 30, 120, 3, true, "... so 18 s are enough" },
		{ IPPROTO_TCP, 432000, 30, 120, 10, false, "TCP: liberal tracking needs the update" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		expect(nfo_admit_hold_later(c[i].proto, c[i].left, c[i].udp, c[i].stream,
					    c[i].first) == c[i].later,
		       "hold later: %s (%u s left, %u/%u s, check in %u s): %s", c[i].what, c[i].left,
		       c[i].udp, c[i].stream, c[i].first, c[i].later ? "yes" : "no");
}

int main(void)
{
	unsigned int s;

	test_wheel_wrap(0, 1);
	test_wheel_wrap(0xffffff00u, 1);
	test_wheel_wrap(0xffffffffu - 20, 3);
	test_wheel_wrap(0xffffffffu - 500, 97); /* steps over many slots at once */
	test_wheel_wrap(0xfffffff0u, NFO_WHEEL_SLOTS + 5); /* more than a turn at once */
	test_wheel_reschedule();
	for (s = 1; s <= 500; s++) {
		test_csum(s, AF_INET);
		test_csum(s, AF_INET6);
	}
	test_json_escape();
	test_hold_later();
	return unit_summary();
}
