// SPDX-License-Identifier: GPL-2.0-only
/* nft-offload flows / flush / evict */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>

#include "acct.h"
#include "cli.h"
#include "output.h"

struct conn {
	uint8_t family;
	uint32_t ct_id;
	struct nfo_tuple orig; /* identifies the connection */
	bool have[2];
	union nfo_key key[2];
	struct nfo_flow flow[2];
	bool have_ct; /* conntrack's counters below (accounting on) */
	uint64_t ct_packets[2], ct_bytes[2];
};

struct conns {
	struct conn *v;
	size_t n, cap;
	struct conn *late; /* entries keyed after destination NAT: paired by ct id */
	size_t nlate, caplate;
	/* index: open addressing on (family, ct_id) */
	uint32_t *idx;
	size_t isize;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static size_t slot_of(const struct conns *cs, const struct nfo_tuple *orig)
{
	size_t i = nfo_tuple_hash(orig) & (cs->isize - 1);

	while (cs->idx[i]) {
		const struct conn *c = &cs->v[cs->idx[i] - 1];

		if (nfo_tuple_equal(&c->orig, orig))
			break;
		i = (i + 1) & (cs->isize - 1);
	}
	return i;
}

static int grow_index(struct conns *cs)
{
	size_t n = cs->isize ? cs->isize * 2 : 1024, i;
	uint32_t *old = cs->idx;
	size_t oldsize = cs->isize;

	cs->idx = calloc(n, sizeof(*cs->idx));
	if (!cs->idx) {
		cs->idx = old;
		return -ENOMEM;
	}
	cs->isize = n;
	for (i = 0; i < oldsize; i++)
		if (old[i]) {
			const struct conn *c = &cs->v[old[i] - 1];

			cs->idx[slot_of(cs, &c->orig)] = old[i];
		}
	free(old);
	return 0;
}

/*
 * An original direction keyed as it reaches a bridge after destination NAT
 * (NFO_FLOW_AFTER_DNAT) does not name conntrack's original tuple: it joins
 * its reply by conntrack id once every entry is read.
 */
static int defer_late(struct conns *cs, uint8_t family, const union nfo_key *key,
		      const struct nfo_flow *flow)
{
	struct conn *c;

	if (cs->nlate == cs->caplate) {
		size_t cap = cs->caplate ? cs->caplate * 2 : 16;
		struct conn *nv = realloc(cs->late, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		cs->late = nv;
		cs->caplate = cap;
	}
	c = &cs->late[cs->nlate++];
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->ct_id = flow->ct_id;
	c->have[0] = true;
	c->key[0] = *key;
	c->flow[0] = *flow;
	return 0;
}

static int collect_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		      void *arg);

static int pair_late(struct conns *cs)
{
	size_t i, j;

	for (i = 0; i < cs->nlate; i++) {
		struct conn *l = &cs->late[i];
		struct nfo_flow f = l->flow[0];
		int err;

		for (j = 0; j < cs->n; j++) {
			struct conn *c = &cs->v[j];

			if (c->family == l->family && c->ct_id == l->ct_id && !c->have[0]) {
				c->have[0] = true;
				c->key[0] = l->key[0];
				c->flow[0] = l->flow[0];
				break;
			}
		}
		if (j < cs->n)
			continue;
		/* No reply entry (yet): list it under the tuple it is keyed by. */
		f.flags &= ~NFO_FLOW_AFTER_DNAT;
		err = collect_cb(l->family, &l->key[0], &f, cs);
		if (err)
			return err;
	}
	return 0;
}

static int collect_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		      void *arg)
{
	struct conns *cs = arg;
	struct nfo_tuple orig;
	struct conn *c;
	size_t i;
	int dir = flow->dir & 1;

	if ((cs->n + 1) * 2 > cs->isize && grow_index(cs))
		return -ENOMEM;
	if (flow->dir == NFO_DIR_ORIGINAL && (flow->flags & NFO_FLOW_AFTER_DNAT))
		return defer_late(cs, family, key, flow);
	nfo_entry_orig(family, key, flow, &orig);
	i = slot_of(cs, &orig);
	if (cs->idx[i]) {
		c = &cs->v[cs->idx[i] - 1];
	} else {
		if (cs->n == cs->cap) {
			size_t cap = cs->cap ? cs->cap * 2 : 256;
			struct conn *nv = realloc(cs->v, cap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			cs->v = nv;
			cs->cap = cap;
		}
		c = &cs->v[cs->n++];
		memset(c, 0, sizeof(*c));
		c->family = family;
		c->ct_id = flow->ct_id;
		c->orig = orig;
		cs->idx[i] = cs->n;
	}
	c->have[dir] = true;
	c->key[dir] = *key;
	c->flow[dir] = *flow;
	return 0;
}

static int collect(struct nfo_dp *dp, struct conns *cs)
{
	memset(cs, 0, sizeof(*cs));
	return nfo_dp_flow_foreach(dp, AF_INET, collect_cb, cs) ?:
	       nfo_dp_flow_foreach(dp, AF_INET6, collect_cb, cs) ?: pair_late(cs);
}

static void conns_free(struct conns *cs)
{
	free(cs->v);
	free(cs->idx);
	free(cs->late);
}

static bool conn_match(const struct cli *c, const struct conn *cn)
{
	int dir;

	if (!c->filtered)
		return true;
	for (dir = 0; dir < 2; dir++)
		if (cn->have[dir] &&
		    nfo_filter_match(&c->filter, cn->family, &cn->key[dir], &cn->flow[dir]))
			return true;
	return false;
}

static uint64_t conn_bytes(const struct conn *c)
{
	return c->flow[0].bytes + c->flow[1].bytes;
}

static uint64_t conn_packets(const struct conn *c)
{
	return c->flow[0].packets + c->flow[1].packets;
}

static uint64_t conn_last(const struct conn *c)
{
	uint64_t l = 0;
	int d;

	for (d = 0; d < 2; d++) {
		if (c->flow[d].last_used_ns > l)
			l = c->flow[d].last_used_ns;
		if (c->flow[d].created_ns > l)
			l = c->flow[d].created_ns;
	}
	return l;
}

static uint64_t conn_created(const struct conn *c)
{
	return c->have[0] ? c->flow[0].created_ns : c->flow[1].created_ns;
}

static enum cli_sort sort_key;

static int cmp_conn(const void *a, const void *b)
{
	const struct conn *x = a, *y = b;
	uint64_t vx = 0, vy = 0;

	switch (sort_key) {
	case SORT_BYTES:
		vx = conn_bytes(x), vy = conn_bytes(y);
		break;
	case SORT_PACKETS:
		vx = conn_packets(x), vy = conn_packets(y);
		break;
	case SORT_IDLE: /* longest idle first: oldest last use */
		vx = ~conn_last(x), vy = ~conn_last(y);
		break;
	case SORT_AGE:
		vx = ~conn_created(x), vy = ~conn_created(y);
		break;
	default:
		break;
	}
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return x->ct_id < y->ct_id ? -1 : x->ct_id > y->ct_id;
}

static const char *nat_str(const struct conn *c)
{
	uint32_t f = c->flow[0].flags | c->flow[1].flags;

	/* The ORIGINAL direction's view: its source or its destination changes. */
	if (c->have[0])
		f = c->flow[0].flags;
	if ((f & NFO_FLOW_SNAT) && (f & NFO_FLOW_DNAT))
		return "snat+dnat";
	if (f & NFO_FLOW_SNAT)
		return "snat";
	if (f & NFO_FLOW_DNAT)
		return "dnat";
	return "none";
}

static void print_dir(const struct conn *c, int dir, const char *key)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], in[IF_NAMESIZE], out[IF_NAMESIZE];
	const struct nfo_flow *f = &c->flow[dir];
	struct nfo_tuple t;
	uint32_t ifindex;

	out_obj_open(key);
	if (!c->have[dir]) {
		out_text("[%s missing] ", key);
		out_obj_close();
		return;
	}
	nfo_key_tuple(&c->key[dir], c->family, &t, &ifindex);
	out_str("src", "src=%s ", nfo_addr_str(c->family, &t.src, a, sizeof(a)));
	out_str("dst", "dst=%s ", nfo_addr_str(c->family, &t.dst, b, sizeof(b)));
	out_u64("sport", "sport=%llu ", ntohs(t.sport));
	out_u64("dport", "dport=%llu ", ntohs(t.dport));
	out_str("in", "in=%s ", cli_ifname(ifindex, in));
	if (f->oif)
		out_str("out", "out=%s ", cli_ifname(f->oif, out));
	else
		out_null("out");
	out_u64("packets", "packets=%llu ", f->packets);
	out_u64("bytes", "bytes=%llu ", f->bytes);
	if (c->have_ct) {
		out_u64("total_packets", "total_packets=%llu ", f->packets + c->ct_packets[dir]);
		out_u64("total_bytes", "total_bytes=%llu ", f->bytes + c->ct_bytes[dir]);
	} else {
		out_null("total_packets");
		out_null("total_bytes");
	}
	out_obj_close();
}

static void print_conn(const struct conn *c, uint64_t now)
{
	char age[32], idle[32];
	uint64_t created = conn_created(c), last = conn_last(c);
	bool teardown = c->flow[0].teardown || c->flow[1].teardown;
	const struct nfo_flow *any = c->have[0] ? &c->flow[0] : &c->flow[1];
	struct nfo_tuple t;
	uint32_t ifindex;

	nfo_key_tuple(c->have[0] ? &c->key[0] : &c->key[1], c->family, &t, &ifindex);
	out_obj_open(NULL);
	out_str("protocol", "%-4s ", nfo_proto_str(t.l4proto));
	out_str("family", NULL, c->family == AF_INET ? "ipv4" : "ipv6");
	out_u64("ct_id", NULL, c->ct_id);
	print_dir(c, NFO_DIR_ORIGINAL, "original");
	print_dir(c, NFO_DIR_REPLY, "reply");
	out_text("[OFFLOAD] ");
	out_str("nat", "nat=%s ", nat_str(c));
	out_u64("age_s", NULL, now > created ? (now - created) / 1000000000ULL : 0);
	out_u64("idle_s", NULL, now > last ? (now - last) / 1000000000ULL : 0);
	out_text("age=%s idle=%s ", out_duration(now > created ? now - created : 0, age, 32),
		 out_duration(now > last ? now - last : 0, idle, 32));
	out_str("state", "state=%s ", teardown ? "teardown" : "active");
	out_text("id=%u\n", c->ct_id);
	(void)any;
	out_obj_close();
}

static struct conn *conn_find(struct conns *cs, const struct nfo_tuple *orig)
{
	size_t i;

	if (!cs->isize)
		return NULL;
	i = slot_of(cs, orig);
	return cs->idx[i] ? &cs->v[cs->idx[i] - 1] : NULL;
}

/* Conntrack's own counters of each offloaded connection (accounting on). */
static int ct_counts_cb(const struct nfo_acct_ct *e, void *arg)
{
	struct conn *cn = conn_find(arg, &e->ct.orig);
	int dir;

	if (!cn || !e->counters || cn->ct_id != e->ct.id)
		return 0;
	cn->have_ct = true;
	for (dir = 0; dir < 2; dir++) {
		cn->ct_packets[dir] = e->ct.packets[dir];
		cn->ct_bytes[dir] = e->ct.bytes[dir];
	}
	return 0;
}

struct ct_lines {
	struct conns *cs;
	size_t n, offloaded;
};

static int ct_line_cb(const struct nfo_acct_ct *e, void *arg)
{
	struct ct_lines *l = arg;
	struct conn *cn = conn_find(l->cs, &e->ct.orig);
	uint64_t p[2], b[2];
	int dir;

	l->n++;
	if (!cn || cn->ct_id != e->ct.id) {
		nfo_acct_ct_line(stdout, e, NULL, NULL);
		return 0;
	}
	for (dir = 0; dir < 2; dir++) {
		p[dir] = cn->have[dir] ? cn->flow[dir].packets : 0;
		b[dir] = cn->have[dir] ? cn->flow[dir].bytes : 0;
	}
	nfo_acct_ct_line(stdout, e, p, b);
	l->offloaded++;
	return 0;
}

static int print_conntrack(struct conns *cs)
{
	struct ct_lines l = { .cs = cs };
	int err = nfo_acct_ct_dump(0, 0, ct_line_cb, &l);

	if (err) {
		fprintf(stderr, "nft-offload: cannot dump conntrack: %s\n", strerror(-err));
		return 1;
	}
	fprintf(stderr, "nft-offload: %zu conntrack entr%s shown, %zu offloaded%s\n", l.n,
		l.n == 1 ? "y" : "ies", l.offloaded,
		nfo_acct_ct_enabled() ? "" :
					" (net.netfilter.nf_conntrack_acct is off: no counters)");
	return 0;
}

int cmd_flows(struct cli *c, int argc, char **argv)
{
	struct nfo_dp *dp;
	struct conns cs;
	uint64_t now = mono_ns();
	size_t i, shown = 0, matched = 0;
	int err;

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s' (filters are options: "
					  "--addr, --port, --proto, --dev)",
				       argv[0]);
	if (c->conntrack && (c->json || c->filtered || c->sort || c->count_only || c->limit))
		return cli_usage_error(c, "--conntrack prints every conntrack entry in conntrack's "
					  "own format: no --json, filters, --sort, --count or "
					  "--limit with it");
	dp = cli_open_pins(c);
	if (!dp)
		return 1;
	err = collect(dp, &cs);
	nfo_dp_close(dp);
	if (err) {
		fprintf(stderr, "nft-offload: cannot read the flow table: %s\n", strerror(-err));
		conns_free(&cs);
		return 1;
	}
	if (c->conntrack) {
		err = print_conntrack(&cs);
		conns_free(&cs);
		return err;
	}
	/* Best effort: without conntrack's counters the totals are null. */
	if (cs.n && nfo_acct_ct_enabled())
		nfo_acct_ct_dump(0, 0, ct_counts_cb, &cs);
	sort_key = c->sort;
	qsort(cs.v, cs.n, sizeof(*cs.v), cmp_conn);
	for (i = 0; i < cs.n; i++)
		matched += conn_match(c, &cs.v[i]);
	out_init(c->json);
	if (c->count_only) {
		out_obj_open(NULL);
		out_u64("count", "%llu\n", matched);
		out_obj_close();
		conns_free(&cs);
		return 0;
	}
	out_obj_open(NULL);
	out_arr_open("flows");
	for (i = 0; i < cs.n && (!c->limit || shown < (size_t)c->limit); i++) {
		if (!conn_match(c, &cs.v[i]))
			continue;
		print_conn(&cs.v[i], now);
		shown++;
	}
	out_arr_close();
	out_u64("count", NULL, matched);
	out_obj_close();
	out_finish();
	if (!c->json)
		fprintf(stderr, "nft-offload: %zu connection%s offloaded%s\n", matched,
			matched == 1 ? "" : "s", c->filtered ? " (matching the filter)" : "");
	conns_free(&cs);
	return 0;
}

static int do_evict(struct cli *c, const struct nfo_filter *f)
{
	struct nfo_state st = {};
	struct nfo_dp *dp;
	long n;

	dp = cli_open_pins(c);
	if (!dp)
		return 1;
	nfo_dp_state_get(dp, &st);
	n = nfo_evict(dp, f, st.ct_mark);
	nfo_dp_close(dp);
	if (n < 0) {
		fprintf(stderr, "nft-offload: %s failed: %s\n", c->cmd, strerror((int)-n));
		return 1;
	}
	printf("%ld connection%s sent back to the ruleset\n", n, n == 1 ? "" : "s");
	return 0;
}

int cmd_flush(struct cli *c, int argc, char **argv)
{
	struct nfo_filter all = {};

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[0]);
	return do_evict(c, &all);
}

int cmd_evict(struct cli *c, int argc, char **argv)
{
	if (argc)
		return cli_usage_error(c, "unexpected argument '%s' (filters are options: "
					  "--addr, --port, --proto, --dev, --id)",
				       argv[0]);
	if (!c->filtered)
		return cli_usage_error(c, "needs at least one filter (use flush for all)");
	return do_evict(c, &c->filter);
}
