// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <netinet/in.h>

#include "acct.h"
#include "attach.h"
#include "log.h"
#include "nft.h"
#include "ops.h"

void nfo_ct_handback(struct nfo_nl_batch *b, const struct nfo_tuple *orig, uint16_t zone,
		     uint8_t tcp_state, bool assured, uint32_t idle_s, uint32_t mark_bit,
		     bool clear_mark)
{
	uint32_t t = nfo_ct_timeout(orig->l4proto, tcp_state, assured);
	struct nfo_ct_update u = {
		.set_timeout = true,
		.timeout = t > idle_s ? t - idle_s : 1,
		.set_mark = clear_mark,
		.mark = 0,
		.mark_mask = mark_bit,
		.tcp_liberal = true, /* ACKs seen while offloaded are stale */
	};

	nfo_ct_req_update(b, orig, zone, &u);
}

void nfo_ct_closing(struct nfo_nl_batch *b, const struct nfo_tuple *orig, uint16_t zone,
		    uint32_t mark_bit)
{
	struct nfo_ct_update u = {
		.set_timeout = true,
		.timeout = nfo_ct_timeout(IPPROTO_TCP, TCP_CONNTRACK_FIN_WAIT, true),
		.set_mark = true,
		.mark_mask = mark_bit,
		.tcp_liberal = true,
	};

	nfo_ct_req_update(b, orig, zone, &u);
}

static bool addr_eq(uint8_t fam, const void *a, const union nfo_addr *b)
{
	return !memcmp(a, b, fam == AF_INET ? 4 : 16);
}

bool nfo_filter_match(const struct nfo_filter *f, uint8_t family, const union nfo_key *key,
		      const struct nfo_flow *flow)
{
	struct nfo_tuple in, out;
	uint32_t ifindex;

	nfo_key_tuple(key, family, &in, &ifindex);
	nfo_flow_out_tuple(&in, flow, &out);
	if (f->family && f->family != family)
		return false;
	if (f->l4proto && f->l4proto != in.l4proto)
		return false;
	if (f->ct_id && f->ct_id != flow->ct_id)
		return false;
	if (f->ifindex && f->ifindex != ifindex)
		return false;
	if (f->addr_family) {
		if (f->addr_family != family)
			return false;
		if (!addr_eq(family, &in.src, &f->addr) && !addr_eq(family, &in.dst, &f->addr) &&
		    !addr_eq(family, &out.src, &f->addr) && !addr_eq(family, &out.dst, &f->addr))
			return false;
	}
	if (f->port && f->port != in.sport && f->port != in.dport && f->port != out.sport &&
	    f->port != out.dport)
		return false;
	return true;
}

/* One selected connection: its ORIGINAL tuple identifies it to conntrack. */
struct victim {
	struct nfo_tuple orig;
	bool teardown;
	uint64_t last_used;
};

struct evict_arg {
	const struct nfo_filter *f;
	struct victim *v;
	size_t n, cap;
	uint32_t *idx; /* open addressing on the tuple: index + 1 */
	size_t isize;
	uint8_t pass; /* 1: select, 2: collect both directions' keys */
	bool no_keys; /* no keys wanted: pass 1 gathers teardown and last use */
	union nfo_key *keys;
	uint8_t *key_family;
	size_t nkeys, kcap;
};

static size_t victim_slot(const struct evict_arg *a, const struct nfo_tuple *orig)
{
	size_t i = nfo_tuple_hash(orig) & (a->isize - 1);

	while (a->idx[i] && !nfo_tuple_equal(&a->v[a->idx[i] - 1].orig, orig))
		i = (i + 1) & (a->isize - 1);
	return i;
}

static int grow_victims(struct evict_arg *a)
{
	size_t cap = a->cap ? a->cap * 2 : 256, i;
	struct victim *nv = realloc(a->v, cap * sizeof(*nv));
	uint32_t *idx;

	if (!nv)
		return -ENOMEM;
	a->v = nv;
	a->cap = cap;
	idx = calloc(cap * 2, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	free(a->idx);
	a->idx = idx;
	a->isize = cap * 2;
	for (i = 0; i < a->n; i++)
		a->idx[victim_slot(a, &a->v[i].orig)] = i + 1;
	return 0;
}

/* What either entry says: FIN/RST seen, last packet. */
static void victim_merge(struct victim *v, const struct nfo_flow *flow)
{
	v->teardown |= flow->teardown == NFO_TEARDOWN_FIN;
	if (flow->last_used_ns > v->last_used)
		v->last_used = flow->last_used_ns;
}

static int select_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		     void *arg)
{
	struct evict_arg *a = arg;
	struct nfo_tuple orig;
	struct victim *v;
	size_t i;

	nfo_entry_orig(family, key, flow, &orig);
	if (a->pass == 1) {
		if (!nfo_filter_match(a->f, family, key, flow))
			return 0;
		if (a->n == a->cap && grow_victims(a))
			return -ENOMEM;
		i = victim_slot(a, &orig);
		if (!a->idx[i]) {
			memset(&a->v[a->n], 0, sizeof(a->v[0]));
			a->v[a->n].orig = orig;
			a->idx[i] = ++a->n;
		}
		if (!a->no_keys)
			return 0;
		/* Both entries of a connection pass the filter: one walk will do. */
		victim_merge(&a->v[a->idx[i] - 1], flow);
		return 0;
	}
	/* Pass 2: every entry of a selected connection, either direction. */
	if (!a->isize || !a->idx[i = victim_slot(a, &orig)])
		return 0;
	v = &a->v[a->idx[i] - 1];
	victim_merge(v, flow);
	if (a->nkeys == a->kcap) {
		size_t cap = a->kcap ? a->kcap * 2 : 512;
		union nfo_key *nk = realloc(a->keys, cap * sizeof(*nk));
		uint8_t *nf;

		if (!nk)
			return -ENOMEM;
		a->keys = nk;
		nf = realloc(a->key_family, cap);
		if (!nf)
			return -ENOMEM;
		a->key_family = nf;
		a->kcap = cap;
	}
	a->keys[a->nkeys] = *key;
	a->key_family[a->nkeys++] = family;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void flush_if_full(struct nfo_nl_batch *b)
{
	if (!nfo_nl_batch_room(b, NFO_CT_REQ_MAX) || b->count >= 128)
		nfo_nl_batch_flush(b, NULL, NULL);
}

/* Both families' flow maps through select_cb. */
static int select_walk(struct nfo_dp *dp, struct evict_arg *a)
{
	int err = nfo_dp_flow_foreach(dp, AF_INET, select_cb, a);

	return err ?: nfo_dp_flow_foreach(dp, AF_INET6, select_cb, a);
}

/* Seconds since the connection's last packet (0 if it never had one). */
static uint32_t victim_idle_s(const struct victim *v, uint64_t now)
{
	return v->last_used && now > v->last_used ? (now - v->last_used) / 1000000000ULL : 0;
}

long nfo_evict(struct nfo_dp *dp, const struct nfo_filter *f, uint32_t mark_bit)
{
	struct evict_arg a = { .f = f, .pass = 1 };
	struct nfo_nl_batch b;
	struct nfo_nl nl;
	uint64_t now = mono_ns();
	size_t i, lost = 0;
	long err;

	err = select_walk(dp, &a);
	a.pass = 2;
	err = err ?: select_walk(dp, &a);
	if (err)
		goto out;
	/* Out of the fast path first, then back to conntrack's judgement. */
	for (i = 0; i < a.nkeys; i++)
		if (nfo_acct_evict_entry(dp, a.key_family[i], &a.keys[i]) == -E2BIG)
			lost++;
	if (lost)
		pr_warn("final counts of %zu flow entries not recorded for the per-host totals: "
			"the queue to the daemon is full (is it running?)", lost);
	err = nfo_nl_open(&nl, NETLINK_NETFILTER, 0);
	if (err)
		goto out;
	err = nfo_nl_batch_init(&b, &nl, 64 * 1024, false);
	if (err) {
		nfo_nl_close(&nl);
		goto out;
	}
	for (i = 0; i < a.n; i++) {
		struct victim *v = &a.v[i];

		flush_if_full(&b);
		/*
		 * A flow in teardown: conntrack normally saw the FIN/RST and
		 * set its state's timeout, but it may have held an RST back;
		 * without a dump to tell, do not leave it on the offload one.
		 */
		if (v->teardown) {
			nfo_ct_closing(&b, &v->orig, 0, mark_bit);
		} else {
			nfo_ct_handback(&b, &v->orig, 0, TCP_CONNTRACK_ESTABLISHED, true,
					victim_idle_s(v, now), mark_bit, true);
		}
	}
	nfo_nl_batch_flush(&b, NULL, NULL); /* ENOENT: conntrack forgot it already */
	nfo_nl_batch_free(&b);
	nfo_nl_close(&nl);
	err = a.n;
out:
	free(a.v);
	free(a.idx);
	free(a.keys);
	free(a.key_family);
	return err;
}

struct marked {
	struct nfo_ct *ct;
	size_t n, cap;
	uint32_t bits; /* entries with any of these bits */
};

static int marked_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct marked *m = arg;
	struct nfo_ct ct;

	if (nfo_ct_parse(nlh, &ct) || !(ct.mark & m->bits))
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct nfo_ct *c = realloc(m->ct, cap * sizeof(*c));

		if (!c)
			return -ENOMEM;
		m->ct = c;
		m->cap = cap;
	}
	m->ct[m->n++] = ct;
	return 0;
}

/* Every conntrack entry that carries one of our bits (collected: no requests
 * may mix with the dump on the socket). The kernel filters by (mark & mask) ==
 * value only, so with two bits the filter is ours. */
static long dump_marked(struct nfo_nl *nl, uint32_t mark_bit, struct marked *m)
{
	long err = nfo_nl_open(nl, NETLINK_NETFILTER, 0);

	if (err)
		return err;
	nfo_nl_set_rcvbuf(nl, 4 << 20);
	m->bits = mark_bit;
	if (mark_bit & (mark_bit - 1))
		err = nfo_ct_dump(nl, 0, 0, marked_cb, m);
	else
		err = nfo_ct_dump(nl, mark_bit, mark_bit, marked_cb, m);
	if (err)
		nfo_nl_close(nl);
	return err;
}

long nfo_ct_clear_marks(uint32_t mark_bit)
{
	return nfo_ct_clear_marks_if(mark_bit, NULL, NULL);
}

long nfo_ct_clear_marks_if(uint32_t mark_bit, bool (*which)(const struct nfo_ct *ct, void *arg),
			   void *arg)
{
	struct marked m = {};
	struct nfo_nl_batch b;
	struct nfo_nl nl;
	size_t i, n = 0;
	long err;

	if (!mark_bit)
		return 0;
	err = dump_marked(&nl, mark_bit, &m);
	if (err)
		goto out;
	err = nfo_nl_batch_init(&b, &nl, 64 * 1024, false);
	if (!err) {
		for (i = 0; i < m.n; i++) {
			struct nfo_ct_update u = { .set_mark = true, .mark_mask = mark_bit };

			if (which && !which(&m.ct[i], arg))
				continue;
			flush_if_full(&b);
			nfo_ct_req_update(&b, &m.ct[i].orig, m.ct[i].zone, &u);
			n++;
		}
		nfo_nl_batch_flush(&b, NULL, NULL); /* ENOENT: gone meanwhile */
		nfo_nl_batch_free(&b);
		err = n;
	}
	nfo_nl_close(&nl);
out:
	free(m.ct);
	return err;
}

long nfo_handback_all(struct nfo_dp *dp, uint32_t mark_bit)
{
	struct nfo_filter all = {};
	struct evict_arg a = { .f = &all, .pass = 1, .no_keys = true };
	struct marked m = {};
	struct nfo_nl_batch b;
	struct nfo_nl nl;
	uint64_t now = mono_ns();
	long err, n = 0;
	size_t i;

	if (!mark_bit)
		return 0;
	/* What is in the fast path: its connections, their FIN/RST and last use. */
	err = select_walk(dp, &a);
	if (err)
		goto out;
	/* What conntrack holds marked: only those are worth a request. */
	err = dump_marked(&nl, mark_bit, &m);
	if (err)
		goto out;
	err = nfo_nl_batch_init(&b, &nl, 64 * 1024, false);
	if (err) {
		nfo_nl_close(&nl);
		goto out;
	}
	for (i = 0; i < m.n; i++) {
		const struct nfo_ct *ct = &m.ct[i];
		struct victim *v = NULL;
		size_t j;

		if (a.isize && a.idx[j = victim_slot(&a, &ct->orig)])
			v = &a.v[a.idx[j] - 1];
		flush_if_full(&b);
		if (v && !v->teardown) {
			/* Offloaded: its timeout back, as its state has it. */
			nfo_ct_handback(&b, &ct->orig, ct->zone,
					ct->has_tcp_state ? ct->tcp_state : TCP_CONNTRACK_ESTABLISHED,
					ct->status & (IPS_ASSURED | IPS_SEEN_REPLY),
					victim_idle_s(v, now), mark_bit, true);
			n++;
		} else if (v && ct->orig.l4proto == IPPROTO_TCP && ct->has_tcp_state &&
			   ct->tcp_state == TCP_CONNTRACK_ESTABLISHED) {
			/* FIN/RST seen by the fast path, not by conntrack. */
			nfo_ct_closing(&b, &ct->orig, ct->zone, mark_bit);
			n++;
		} else {
			/* Marked only, or closed (conntrack set its timeout): the mark. */
			struct nfo_ct_update u = { .set_mark = true, .mark_mask = mark_bit };

			nfo_ct_req_update(&b, &ct->orig, ct->zone, &u);
		}
	}
	nfo_nl_batch_flush(&b, NULL, NULL);
	nfo_nl_batch_free(&b);
	nfo_nl_close(&nl);
	err = n;
out:
	free(a.v);
	free(a.idx);
	free(m.ct);
	return err;
}

int nfo_teardown(struct nfo_dp *dp, const char *pin_dir)
{
	struct nfo_state st = {};
	uint32_t slot;
	uint64_t t0;
	long n;
	int err, rc = 0;

	nfo_dp_state_get(dp, &st);
	/* Programs first: from here on no packet takes the fast path. */
	for (slot = 1; slot < NFO_MAX_SLOTS; slot++) {
		struct nfo_slot s;
		struct nfo_dev none = {};

		if (nfo_dp_slot_get(dp, slot, &s) || !s.ifindex)
			continue;
		err = nfo_dp_detach(dp, s.ifindex, s.flags);
		if (err && err != -ENODEV) {
			pr_warn("cannot detach %sfrom %s: %s", s.flags & NFO_DEV_TC ? "" : "XDP ",
				s.name, strerror(-err));
			rc = err;
		}
		nfo_dp_dev_set(dp, s.ifindex, &none);
	}
	err = nfo_nft_remove();
	if (err && err != -ENOENT) {
		pr_warn("cannot delete table %s %s", NFO_NFT_FAMILY, NFO_NFT_TABLE);
		rc = err;
	}
	/*
	 * The programs are off and the table gone: nothing bypasses conntrack
	 * or marks any more. Hand the offloaded connections back and clear
	 * every mark; the maps go with their pins, entries and all.
	 */
	t0 = mono_ns();
	n = nfo_handback_all(dp, st.ct_mark);
	if (n < 0) {
		pr_warn("cannot hand flows back to conntrack and clear the marks: %s",
			strerror((int)-n));
		rc = (int)n;
	} else if (n) {
		pr_info("handed %ld connections back to conntrack in %llu ms", n,
			(unsigned long long)(mono_ns() - t0) / 1000000);
	}
	if (st.flags & NFO_STATE_EVENTS_SET)
		nfo_ct_events_restore();
	err = nfo_dp_unpin(pin_dir);
	if (err) {
		pr_warn("cannot remove pins in %s: %s", pin_dir, strerror(-err));
		rc = err;
	}
	return rc;
}

bool nfo_pid_is_daemon(uint32_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (!pid || (pid_t)pid == getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strncmp(comm, "nft-offload", 11);
}

#define CT_EVENTS "/proc/sys/net/netfilter/nf_conntrack_events"

static int events_sysctl(int set)
{
	FILE *f = fopen(CT_EVENTS, set >= 0 ? "w" : "r");
	int v = -1;

	if (!f)
		return -1;
	if (set >= 0)
		v = fprintf(f, "%d\n", set) > 0 ? set : -1;
	else if (fscanf(f, "%d", &v) != 1)
		v = -1;
	if (fclose(f))
		v = -1;
	return v;
}

bool nfo_ct_events_on(void)
{
	if (events_sysctl(-1) != 2)
		return false;
	return events_sysctl(1) == 1;
}

bool nfo_ct_events_revive(void)
{
	return events_sysctl(-1) == 0 && events_sysctl(1) == 1;
}

void nfo_ct_events_restore(void)
{
	if (events_sysctl(-1) == 1)
		events_sysctl(2);
}
