// SPDX-License-Identifier: GPL-2.0-only
/* nft-offload flows */
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
	struct nfo_fp_conn fp; /* as the fast path holds it */
	bool have_ct; /* conntrack's counters below (accounting on) */
	uint64_t ct_packets[2], ct_bytes[2];
};

struct conns {
	struct nfo_fp_conns fp; /* the fast path's connections, found by tuple */
	struct conn *v; /* the same, in the same order, with conntrack's counters */
	size_t n;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int collect(struct nfo_dp *dp, struct conns *cs)
{
	size_t i;
	int err;

	memset(cs, 0, sizeof(*cs));
	err = nfo_fp_conns_read(dp, &cs->fp);
	if (err || !cs->fp.n)
		return err;
	cs->v = calloc(cs->fp.n, sizeof(*cs->v));
	if (!cs->v)
		return -ENOMEM;
	for (i = 0; i < cs->fp.n; i++)
		cs->v[i].fp = cs->fp.v[i];
	cs->n = cs->fp.n;
	return 0;
}

static void conns_free(struct conns *cs)
{
	nfo_fp_conns_free(&cs->fp);
	free(cs->v);
}

static bool conn_match(const struct cli *c, const struct conn *cn)
{
	return !c->filtered || nfo_filter_match_conn(&c->filter, &cn->fp);
}

static uint64_t conn_bytes(const struct conn *c)
{
	return c->fp.flow[0].bytes + c->fp.flow[1].bytes;
}

static uint64_t conn_packets(const struct conn *c)
{
	return c->fp.flow[0].packets + c->fp.flow[1].packets;
}

static uint64_t conn_last(const struct conn *c)
{
	uint64_t l = 0;
	int d;

	for (d = 0; d < 2; d++) {
		if (c->fp.flow[d].last_used_ns > l)
			l = c->fp.flow[d].last_used_ns;
		if (c->fp.flow[d].created_ns > l)
			l = c->fp.flow[d].created_ns;
	}
	return l;
}

static uint64_t conn_created(const struct conn *c)
{
	return c->fp.have[0] ? c->fp.flow[0].created_ns : c->fp.flow[1].created_ns;
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
	return x->fp.ct_id < y->fp.ct_id ? -1 : x->fp.ct_id > y->fp.ct_id;
}

static const char *nat_str(const struct conn *c)
{
	uint32_t f = c->fp.flow[0].flags | c->fp.flow[1].flags;

	/* The ORIGINAL direction's view: its source or its destination changes. */
	if (c->fp.have[0])
		f = c->fp.flow[0].flags;
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
	const struct nfo_flow *f = &c->fp.flow[dir];
	struct nfo_tuple t;
	uint32_t ifindex;

	out_obj_open(key);
	if (!c->fp.have[dir]) {
		out_text("[%s missing] ", key);
		out_obj_close();
		return;
	}
	nfo_key_tuple(&c->fp.key[dir], c->fp.family, &t, &ifindex);
	out_str("src", "src=%s ", nfo_addr_str(c->fp.family, &t.src, a, sizeof(a)));
	out_str("dst", "dst=%s ", nfo_addr_str(c->fp.family, &t.dst, b, sizeof(b)));
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
	bool teardown = c->fp.flow[0].teardown || c->fp.flow[1].teardown;
	struct nfo_tuple t;
	uint32_t ifindex;

	nfo_key_tuple(c->fp.have[0] ? &c->fp.key[0] : &c->fp.key[1], c->fp.family, &t, &ifindex);
	out_obj_open(NULL);
	out_str("protocol", "%-4s ", nfo_proto_str(t.l4proto));
	out_str("family", NULL, c->fp.family == AF_INET ? "ipv4" : "ipv6");
	out_u64("ct_id", NULL, c->fp.ct_id);
	print_dir(c, NFO_DIR_ORIGINAL, "original");
	print_dir(c, NFO_DIR_REPLY, "reply");
	out_text("[OFFLOAD] ");
	out_str("nat", "nat=%s ", nat_str(c));
	out_u64("age_s", NULL, now > created ? (now - created) / 1000000000ULL : 0);
	out_u64("idle_s", NULL, now > last ? (now - last) / 1000000000ULL : 0);
	out_text("age=%s idle=%s ", out_duration(now > created ? now - created : 0, age, 32),
		 out_duration(now > last ? now - last : 0, idle, 32));
	out_str("state", "state=%s ", teardown ? "teardown" : "active");
	out_text("id=%u\n", c->fp.ct_id);
	out_obj_close();
}

static struct conn *conn_find(struct conns *cs, const struct nfo_tuple *orig)
{
	struct nfo_fp_conn *fc = nfo_fp_conns_find(&cs->fp, orig);

	return fc ? &cs->v[fc - cs->fp.v] : NULL;
}

/* Conntrack's own counters of each offloaded connection (accounting on). */
static int ct_counts_cb(const struct nfo_acct_ct *e, void *arg)
{
	struct conn *cn = conn_find(arg, &e->ct.orig);
	int dir;

	if (!cn || !e->counters || cn->fp.ct_id != e->ct.id)
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
	if (!cn || cn->fp.ct_id != e->ct.id) {
		nfo_acct_ct_line(stdout, e, NULL, NULL);
		return 0;
	}
	for (dir = 0; dir < 2; dir++) {
		p[dir] = cn->fp.have[dir] ? cn->fp.flow[dir].packets : 0;
		b[dir] = cn->fp.have[dir] ? cn->fp.flow[dir].bytes : 0;
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
