// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the data plane seam and the edges around it:
 *  - the front (lib/dataplane.c) over a second, in-memory backend: every call
 *    goes through the table of operations, and the checks common to every
 *    backend (ranges, families, AUTO mode) hold before the backend is asked;
 *  - the eBPF backend with private maps (nothing pinned) in this network
 *    namespace: flows, records, the leaving queue, attach/detach on lo with
 *    the in-place check, events, the summary;
 *  - the UAPI constants the conntrack code now takes from kernel headers
 *    (the NAT clash bit, TCP state names, the event groups);
 *  - pr_debug does not evaluate its arguments below the debug level.
 * Needs root (BPF, tc on lo): tests/unit/run.sh runs it in a namespace.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "dataplane_impl.h"
#include "log.h"
#include "unit.h"


/* --- a second backend: flows and records in memory ---------------------------- */

#define MEM_FLOWS 8

struct mem_dp {
	struct {
		bool used;
		uint8_t family;
		union nfo_key key;
		struct nfo_flow flow;
	} f[MEM_FLOWS];
	struct nfo_slot slots[NFO_MAX_SLOTS];
	struct nfo_state st;
	int calls, attached_ifindex;
	uint32_t attached_flags;
};

static struct mem_dp *M(struct nfo_dp *dp)
{
	((struct mem_dp *)dp->priv)->calls++;
	return dp->priv;
}

static int mem_find(struct mem_dp *m, uint8_t family, const union nfo_key *key)
{
	int i;

	for (i = 0; i < MEM_FLOWS; i++)
		if (m->f[i].used && m->f[i].family == family &&
		    !memcmp(&m->f[i].key, key, sizeof(*key)))
			return i;
	return -1;
}

static void mem_close(struct nfo_dp *dp)
{
	free(dp->priv);
}

static int mem_update(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		      const struct nfo_flow *flow, bool replace)
{
	struct mem_dp *m = M(dp);
	int i = mem_find(m, family, key);

	if (i >= 0 && !replace)
		return -EEXIST;
	for (i = i >= 0 ? i : 0; i < MEM_FLOWS && m->f[i].used && mem_find(m, family, key) != i;
	     i++)
		;
	if (i == MEM_FLOWS)
		return -E2BIG;
	m->f[i].used = true;
	m->f[i].family = family;
	m->f[i].key = *key;
	m->f[i].flow = *flow;
	return 0;
}

static int mem_lookup(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		      struct nfo_flow *flow)
{
	struct mem_dp *m = M(dp);
	int i = mem_find(m, family, key);

	if (i < 0)
		return -ENOENT;
	*flow = m->f[i].flow;
	return 0;
}

static int mem_take(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		    struct nfo_flow *flow)
{
	struct mem_dp *m = M(dp);
	int i = mem_find(m, family, key);

	if (i < 0)
		return -ENOENT;
	*flow = m->f[i].flow;
	m->f[i].used = false;
	return 0;
}

static int mem_delete(struct nfo_dp *dp, uint8_t family, const union nfo_key *key)
{
	struct nfo_flow f;

	return mem_take(dp, family, key, &f);
}

static int mem_foreach(struct nfo_dp *dp, uint8_t family, nfo_flow_cb cb, void *arg)
{
	struct mem_dp *m = M(dp);
	int i, err;

	for (i = 0; i < MEM_FLOWS; i++) {
		if (!m->f[i].used || m->f[i].family != family)
			continue;
		err = cb(family, &m->f[i].key, &m->f[i].flow, arg);
		if (err)
			return err > 0 ? 0 : err;
	}
	return 0;
}

static int mem_attach(struct nfo_dp *dp, uint32_t ifindex, enum nfo_mode mode, bool force,
		      uint32_t *flags)
{
	struct mem_dp *m = M(dp);

	m->attached_ifindex = ifindex;
	m->attached_flags = *flags = NFO_DEV_TC;
	return 0;
}

static int mem_detach(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags)
{
	M(dp)->attached_ifindex = 0;
	return 0;
}

static int mem_dev_check(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags,
			 struct nfo_dp_devcheck *c)
{
	memset(c, 0, sizeof(*c));
	c->attached = M(dp)->attached_ifindex == (int)ifindex;
	return 0;
}

static int mem_dev_owner(struct nfo_dp *dp, uint32_t ifindex, struct nfo_owner *o)
{
	memset(o, 0, sizeof(*o));
	o->present = o->ours = M(dp)->attached_ifindex == (int)ifindex;
	return 0;
}

static int mem_stats_get(struct nfo_dp *dp, uint32_t slot, struct nfo_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	sum->fwd_packets = slot * 10;
	M(dp);
	return 0;
}

static int mem_rec_get(struct nfo_dp *dp, enum nfo_rec r, const void *key, void *val)
{
	struct mem_dp *m = M(dp);

	if (r == NFO_REC_SLOT)
		memcpy(val, &m->slots[*(const uint32_t *)key], sizeof(struct nfo_slot));
	else if (r == NFO_REC_STATE)
		memcpy(val, &m->st, sizeof(m->st));
	else
		return -EOPNOTSUPP;
	return 0;
}

static int mem_rec_set(struct nfo_dp *dp, enum nfo_rec r, const void *key, const void *val)
{
	struct mem_dp *m = M(dp);

	if (r == NFO_REC_SLOT)
		memcpy(&m->slots[*(const uint32_t *)key], val, sizeof(struct nfo_slot));
	else if (r == NFO_REC_STATE)
		memcpy(&m->st, val, sizeof(m->st));
	else
		return -EOPNOTSUPP;
	return 0;
}

static int mem_rec_next(struct nfo_dp *dp, enum nfo_rec r, const void *prev, void *next)
{
	return -ENOENT;
}

static int mem_rec_pop(struct nfo_dp *dp, enum nfo_rec r, void *val)
{
	return -ENOENT;
}

static int mem_events_open(struct nfo_dp *dp, nfo_dp_event_cb cb, void *arg)
{
	return -EOPNOTSUPP;
}

static int mem_events_fd(const struct nfo_dp *dp)
{
	return -ENOENT;
}

static int mem_events_poll(struct nfo_dp *dp)
{
	return 0;
}

static void mem_summary(const struct nfo_dp *dp, struct nfo_dp_summary *s)
{
	s->reserved_bytes = sizeof(struct mem_dp);
}

static const struct nfo_dp_ops mem_ops = {
	.name = "memory",
	.close = mem_close,
	.flow_update = mem_update,
	.flow_delete = mem_delete,
	.flow_lookup = mem_lookup,
	.flow_take = mem_take,
	.flow_foreach = mem_foreach,
	.attach = mem_attach,
	.detach = mem_detach,
	.dev_check = mem_dev_check,
	.dev_owner = mem_dev_owner,
	.stats_get = mem_stats_get,
	.rec_get = mem_rec_get,
	.rec_set = mem_rec_set,
	.rec_next = mem_rec_next,
	.rec_pop = mem_rec_pop,
	.events_open = mem_events_open,
	.events_fd = mem_events_fd,
	.events_poll = mem_events_poll,
	.summary = mem_summary,
};

static union nfo_key key4(uint16_t sport)
{
	union nfo_key k;

	memset(&k, 0, sizeof(k));
	k.k4.saddr = htonl(0xc6120102); /* 198.18.1.2 */
	k.k4.daddr = htonl(0xc6130202);
	k.k4.sport = htons(sport);
	k.k4.dport = htons(7001);
	k.k4.ifindex = 2;
	k.k4.l4proto = IPPROTO_UDP;
	return k;
}

/*
 * Both directions of a connection in one call: written, replaced, and all or
 * nothing when the table has room for one entry only (the reply's, written
 * first, is taken back).
 */
static void test_add_conn(struct nfo_dp *dp, const char *name)
{
	union nfo_key k[2] = { key4(41001), key4(41002) }, fill;
	struct nfo_flow f[2] = { { .dir = NFO_DIR_ORIGINAL, .family = AF_INET, .ct_id = 9 },
				 { .dir = NFO_DIR_REPLY, .family = AF_INET, .ct_id = 9 } };
	struct nfo_flow g, h;
	uint16_t port, last;
	long n;

	expect(!nfo_dp_flow_add_conn(dp, AF_INET, k, f) &&
		       !nfo_dp_flow_get(dp, AF_INET, &k[0], &g) &&
		       !nfo_dp_flow_get(dp, AF_INET, &k[1], &h) && g.dir == NFO_DIR_ORIGINAL &&
		       h.dir == NFO_DIR_REPLY && nfo_dp_flow_count(dp) == 2,
	       "%s: a connection's two entries in one call", name);
	f[0].ct_id = f[1].ct_id = 10;
	expect(!nfo_dp_flow_add_conn(dp, AF_INET, k, f) &&
		       !nfo_dp_flow_get(dp, AF_INET, &k[0], &g) &&
		       !nfo_dp_flow_get(dp, AF_INET, &k[1], &h) && g.ct_id == 10 &&
		       h.ct_id == 10 && nfo_dp_flow_count(dp) == 2,
	       "%s: written again, replaced", name);
	expect(nfo_dp_flow_add_conn(dp, 99, k, f) == -EAFNOSUPPORT,
	       "%s: another family refused", name);
	nfo_dp_flow_del(dp, AF_INET, &k[0]);
	nfo_dp_flow_del(dp, AF_INET, &k[1]);

	/* Fill the table, then free one place: the reply fits, the original not. */
	for (port = 1; port < 5000; port++) {
		fill = key4(port);
		if (nfo_dp_flow_add(dp, AF_INET, &fill, &f[0], false))
			break;
	}
	expect(port > 1 && port < 5000, "%s: the table fills (%u entries)", name, port - 1);
	last = port - 1;
	fill = key4(last);
	nfo_dp_flow_del(dp, AF_INET, &fill);
	n = nfo_dp_flow_count(dp);
	expect(nfo_dp_flow_add_conn(dp, AF_INET, k, f) < 0 && nfo_dp_flow_count(dp) == n &&
		       nfo_dp_flow_get(dp, AF_INET, &k[0], &g) == -ENOENT &&
		       nfo_dp_flow_get(dp, AF_INET, &k[1], &g) == -ENOENT,
	       "%s: no room for both: neither written (%ld entries before and after)", name,
	       n);
	for (port = 1; port < last; port++) {
		fill = key4(port);
		nfo_dp_flow_del(dp, AF_INET, &fill);
	}
	expect(nfo_dp_flow_count(dp) == 0, "%s: emptied again", name);
}

/*
 * Many connections in one call: in order, whole, stopping at the first that
 * does not fit (none of its entries left, the ones after it not tried). With
 * one place taken beforehand the failing connection's reply fits and its
 * original does not: the reply's entry must be taken back.
 */
#define MANY 70

static void test_add_conns(struct nfo_dp *dp, const char *name)
{
	struct nfo_dp_conn *c = calloc(MANY, sizeof(*c));
	union nfo_key fill = key4(39999);
	unsigned int i, w, pre;
	struct nfo_flow g;
	int err, bad;
	long n;

	for (i = 0; i < MANY; i++) {
		c[i].key[NFO_DIR_ORIGINAL] = key4(42000 + 2 * i);
		c[i].key[NFO_DIR_REPLY] = key4(42001 + 2 * i);
		c[i].flow[0] = (struct nfo_flow){ .dir = NFO_DIR_ORIGINAL, .family = AF_INET,
						  .ct_id = 100 + i };
		c[i].flow[1] = (struct nfo_flow){ .dir = NFO_DIR_REPLY, .family = AF_INET,
						  .ct_id = 100 + i };
	}
	for (pre = 0; pre < 2; pre++) {
		if (pre)
			nfo_dp_flow_add(dp, AF_INET, &fill, &c[0].flow[0], false);
		w = nfo_dp_flow_add_conns(dp, AF_INET, c, MANY, &err);
		n = nfo_dp_flow_count(dp);
		for (i = 0, bad = 0; i < w; i++)
			bad += nfo_dp_flow_get(dp, AF_INET, &c[i].key[0], &g) || g.ct_id != 100 + i ||
			       g.dir != NFO_DIR_ORIGINAL ||
			       nfo_dp_flow_get(dp, AF_INET, &c[i].key[1], &g) || g.ct_id != 100 + i ||
			       g.dir != NFO_DIR_REPLY;
		expect(w > 0 && w < MANY && err < 0 && n == (long)(pre + 2 * w) && !bad,
		       "%s: %u connections in one call, %s: %u written whole, then %s (%ld entries)",
		       name, MANY, pre ? "one place taken" : "table empty", w, strerror(-err), n);
		expect(w < MANY && nfo_dp_flow_get(dp, AF_INET, &c[w].key[0], &g) == -ENOENT &&
			       nfo_dp_flow_get(dp, AF_INET, &c[w].key[1], &g) == -ENOENT &&
			       (w + 1 == MANY ||
				nfo_dp_flow_get(dp, AF_INET, &c[w + 1].key[1], &g) == -ENOENT),
		       "%s: nothing of the failing connection left, the next not tried", name);
		for (i = 0; i < w; i++) {
			nfo_dp_flow_del(dp, AF_INET, &c[i].key[0]);
			nfo_dp_flow_del(dp, AF_INET, &c[i].key[1]);
		}
		nfo_dp_flow_del(dp, AF_INET, &fill);
		w = w > 1 ? w - 1 : 1;
		expect(nfo_dp_flow_add_conns(dp, AF_INET, c, w, &err) == w && !err &&
			       nfo_dp_flow_count(dp) == 2 * (long)w,
		       "%s: %u that fit: all written, no error", name, w);
		for (i = 0; i < w; i++) {
			nfo_dp_flow_del(dp, AF_INET, &c[i].key[0]);
			nfo_dp_flow_del(dp, AF_INET, &c[i].key[1]);
		}
	}
	expect(nfo_dp_flow_add_conns(dp, 99, c, 1, &err) == 0 && err == -EAFNOSUPPORT &&
		       nfo_dp_flow_add_conns(dp, AF_INET, c, 0, &err) == 0 && !err,
	       "%s: another family refused, none is nothing", name);
	expect(nfo_dp_flow_count(dp) == 0, "%s: emptied again", name);
	free(c);
}

/* The front over any backend: the same calls, the same answers. */
static void test_front(struct nfo_dp *dp, const char *name)
{
	union nfo_key a = key4(40001), b = key4(40002);
	struct nfo_flow f = { .dir = NFO_DIR_ORIGINAL, .family = AF_INET, .ct_id = 7 }, g;
	struct nfo_slot s = { .ifindex = 1 }, s2;
	struct nfo_state st = { .abi_version = NFO_ABI_VERSION, .pid = 42 }, st2;
	struct nfo_dp_summary sum;
	uint32_t flags = 99;

	expect(nfo_dp_flow_add(dp, AF_INET, &a, &f, false) == 0, "%s: add", name);
	expect(nfo_dp_flow_add(dp, AF_INET, &a, &f, false) == -EEXIST, "%s: add again refused",
	       name);
	f.ct_id = 8;
	expect(nfo_dp_flow_add(dp, AF_INET, &b, &f, false) == 0, "%s: add a second", name);
	expect(nfo_dp_flow_count(dp) == 2, "%s: count 2, not %ld", name, nfo_dp_flow_count(dp));
	expect(nfo_dp_flow_get(dp, AF_INET, &b, &g) == 0 && g.ct_id == 8, "%s: get", name);
	expect(nfo_dp_flow_take(dp, AF_INET, &a, &g) == 0 && g.ct_id == 7, "%s: take", name);
	expect(nfo_dp_flow_get(dp, AF_INET, &a, &g) == -ENOENT, "%s: taken is gone", name);
	expect(nfo_dp_flow_del(dp, AF_INET, &b) == 0 && nfo_dp_flow_count(dp) == 0,
	       "%s: delete", name);
	expect(nfo_dp_flow_add(dp, 99, &a, &f, true) == -EAFNOSUPPORT,
	       "%s: another family refused before the backend", name);

	snprintf(s.name, sizeof(s.name), "lo");
	expect(nfo_dp_slot_set(dp, 3, &s) == 0 && nfo_dp_slot_get(dp, 3, &s2) == 0 &&
		       s2.ifindex == 1 && !strcmp(s2.name, "lo"),
	       "%s: slot set and get", name);
	expect(nfo_dp_slot_get(dp, NFO_MAX_SLOTS, &s2) == -ERANGE, "%s: slot out of range", name);
	expect(nfo_dp_dev_set(dp, nfo_dp_max_ifindex(dp), &(struct nfo_dev){}) == -ERANGE,
	       "%s: ifindex beyond the devices refused", name);
	expect(nfo_dp_state_set(dp, &st) == 0 && nfo_dp_state_get(dp, &st2) == 0 &&
		       st2.pid == 42 && st2.abi_version == NFO_ABI_VERSION,
	       "%s: state set and get", name);
	expect(nfo_dp_attach(dp, 1, NFO_MODE_AUTO, false, &flags) == -EINVAL && flags == 0,
	       "%s: attach in mode auto refused (the caller resolves it)", name);
	expect(nfo_dp_attach(dp, nfo_dp_max_ifindex(dp), NFO_MODE_TC, false, &flags) == -ERANGE,
	       "%s: attach beyond the devices refused", name);
	nfo_dp_summary(dp, &sum);
	expect(sum.flow_capacity == nfo_dp_flow_capacity(dp) && sum.reserved_bytes > 0 &&
		       sum.max_ifindex == nfo_dp_max_ifindex(dp) && !sum.adopted,
	       "%s: summary (capacity %llu, %llu bytes reserved)", name,
	       (unsigned long long)sum.flow_capacity, (unsigned long long)sum.reserved_bytes);
}

static void test_mem_backend(void)
{
	struct nfo_dp *dp = calloc(1, sizeof(*dp));
	struct mem_dp *m = calloc(1, sizeof(*m));
	struct nfo_devstat ds[4];
	struct nfo_dp_devcheck c;
	struct nfo_dp_summary sum;
	uint32_t flags;
	int calls;

	dp->ops = &mem_ops;
	dp->priv = m;
	dp->max_ifindex = 64;
	dp->flow_capacity = MEM_FLOWS / 2;
	test_front(dp, "memory backend");
	test_add_conn(dp, "memory backend");
	test_add_conns(dp, "memory backend");
	nfo_dp_summary(dp, &sum);
	expect(!strcmp(sum.backend, "memory"), "memory backend: named %s", sum.backend);
	expect(nfo_dp_devstats(dp, ds, 4) == 1 && ds[0].slot == 3 && ds[0].st.fwd_packets == 30,
	       "memory backend: devstats through the backend's slots and counters");
	expect(nfo_dp_attach(dp, 5, NFO_MODE_TC, false, &flags) == 0 && flags == NFO_DEV_TC &&
		       !nfo_dp_dev_check(dp, 5, flags, &c) && c.attached,
	       "memory backend: attach, and the check sees it");
	expect(!nfo_dp_detach(dp, 5, flags) && !nfo_dp_dev_check(dp, 5, flags, &c) && !c.attached,
	       "memory backend: detach");
	calls = m->calls;
	nfo_dp_flow_add(dp, 7, NULL, NULL, false);
	nfo_dp_slot_get(dp, NFO_MAX_SLOTS, NULL);
	expect(m->calls == calls, "memory backend: refused calls never reach it");
	nfo_dp_close(dp);
}

/* --- the eBPF backend, private maps ------------------------------------------- */

static int ev_seen;

static int on_event(const struct nfo_event *e, void *arg)
{
	ev_seen++;
	return 0;
}

static void test_bpf_backend(void)
{
	struct nfo_dp_opts opts = { .flow_capacity = 16, .max_ifindex = 64 };
	struct nfo_host_key hk = { .family = AF_INET, .addr = { htonl(0xc6120102) } }, hk2;
	struct nfo_host h = { .flows = 3 }, h2;
	struct nfo_leaving l = { .flows = 1, .packets = { 5, 6 } }, l2;
	struct nfo_metrics mt = { .lat_count = 11 }, mt2;
	struct nfo_dp_summary sum;
	struct nfo_dp_devcheck c;
	struct nfo_owner o;
	struct nfo_dp *dp;
	uint32_t flags;
	int err;

	/* A flow key holds 24 bits of ifindex: a larger devices map could alias devices. */
	struct nfo_dp_opts wide = { .flow_capacity = 16,
				    .max_ifindex = (1U << NFO_KEY_IFINDEX_BITS) + 1 };

	err = nfo_dp_load(&wide, &dp);
	expect(err == -ERANGE, "bpf backend: a devices map beyond a key's ifindex refused (%s)",
	       strerror(-err));
	if (!err)
		nfo_dp_close(dp);
	err = nfo_dp_load(&opts, &dp);
	expect(!err, "bpf backend: load with private maps (%s)", strerror(-err));
	if (err)
		return;
	test_front(dp, "bpf backend");
	test_add_conn(dp, "bpf backend");
	nfo_dp_summary(dp, &sum);
	expect(!strcmp(sum.backend, "bpf") && sum.owner_id && sum.flow_capacity == 16 &&
		       sum.max_ifindex == 64,
	       "bpf backend: summary names it, its owner id and limits");
	expect(!nfo_dp_metrics_set(dp, &mt) && !nfo_dp_metrics_get(dp, &mt2) &&
		       mt2.lat_count == 11,
	       "bpf backend: metrics record");
	expect(nfo_dp_host_get(dp, &hk, &h2) == -ENOENT, "bpf backend: no host yet");
	expect(!nfo_dp_host_set(dp, &hk, &h) && !nfo_dp_host_get(dp, &hk, &h2) && h2.flows == 3,
	       "bpf backend: host record");
	expect(!nfo_dp_host_next(dp, NULL, &hk2) && !memcmp(&hk, &hk2, sizeof(hk)) &&
		       nfo_dp_host_next(dp, &hk2, &hk2) == -ENOENT,
	       "bpf backend: host keys walked");
	expect(!nfo_dp_leaving_push(dp, &l) && !nfo_dp_leaving_pop(dp, &l2) &&
		       l2.packets[1] == 6 && nfo_dp_leaving_pop(dp, &l2) == -ENOENT,
	       "bpf backend: leaving queue push, pop, then empty");

	expect(nfo_dp_events_fd(dp) < 0 && nfo_dp_events_poll(dp) == -ENOENT,
	       "bpf backend: no events before they are opened");
	expect(!nfo_dp_events_open(dp, on_event, NULL) && nfo_dp_events_fd(dp) >= 0 &&
		       nfo_dp_events_poll(dp) == 0 && !ev_seen,
	       "bpf backend: events opened, none pending");
	expect(nfo_dp_events_open(dp, on_event, NULL) == -EBUSY,
	       "bpf backend: events open once only");

	/* lo in this namespace: tc ingress, ours, then gone. */
	err = nfo_dp_attach(dp, 1, NFO_MODE_TC, false, &flags);
	expect(!err && (flags & NFO_DEV_TC) && (flags & NFO_DEV_CLSACT_OURS),
	       "bpf backend: attach tc to lo (%s), the qdisc ours", strerror(-err));
	expect(!nfo_dp_dev_check(dp, 1, flags, &c) && c.attached && c.owner.ours,
	       "bpf backend: the check finds our program");
	expect(!nfo_dp_dev_owner(dp, 1, &o) && o.present && o.ours && !o.xdp,
	       "bpf backend: the owner of lo's program is this instance");
	expect(!nfo_dp_detach(dp, 1, flags) && !nfo_dp_dev_check(dp, 1, flags, &c) && !c.attached,
	       "bpf backend: detached");
	expect(!nfo_dp_dev_owner(dp, 1, &o) && !o.present, "bpf backend: no owner once detached");
	nfo_dp_close(dp);
}

/* More room: connections in more than one batch of the backend (32 each). */
static void test_bpf_add_conns(void)
{
	struct nfo_dp_opts opts = { .flow_capacity = 64, .max_ifindex = 64 };
	struct nfo_dp *dp;
	int err;

	err = nfo_dp_load(&opts, &dp);
	expect(!err, "bpf backend: load with room for 128 entries (%s)", strerror(-err));
	if (err)
		return;
	test_add_conns(dp, "bpf backend");
	nfo_dp_close(dp);
}

/* --- UAPI constants and logging --------------------------------------------- */

static void test_uapi(void)
{
	struct nfo_ct ct = { .status = IPS_CONFIRMED | IPS_SEEN_REPLY };
	bool need = false;

	ct.orig.l4proto = IPPROTO_UDP;
	expect(nfo_ct_ineligible(&ct, &need) == NULL, "a replied UDP entry is eligible");
	ct.status |= 1U << 16; /* never set by the kernel: the old, wrong clash bit */
	expect(nfo_ct_ineligible(&ct, &need) == NULL, "bit 16 means nothing");
	ct.status |= IPS_UNTRACKED; /* the kernel's IPS_NAT_CLASH */
	expect(nfo_ct_ineligible(&ct, &need) && !strcmp(nfo_ct_ineligible(&ct, &need),
							 "NAT clash entry"),
	       "an entry that lost a NAT clash is not offloaded");
	expect(!strcmp(nfo_tcp_state_names[TCP_CONNTRACK_ESTABLISHED], "ESTABLISHED") &&
		       !strcmp(nfo_tcp_state_names[TCP_CONNTRACK_SYN_SENT2], "SYN_SENT2") &&
		       !strcmp(nfo_tcp_state_names[TCP_CONNTRACK_MAX - 1], "SYN_SENT2"),
	       "TCP state names line up with the kernel's enum");
	expect(NFO_CT_EVENT_GROUPS == 7, "NEW, UPDATE and DESTROY are the legacy groups 1, 2, 4");
}

static int evaluated;

static const char *count_eval(void)
{
	evaluated++;
	return "x";
}

static void test_pr_debug(void)
{
	enum nfo_log_level old = nfo_log_get_level();

	nfo_log_set_level(NFO_LOG_INFO);
	pr_debug("not shown %s", count_eval());
	expect(evaluated == 0, "pr_debug below the debug level evaluates nothing");
	nfo_log_set_level(NFO_LOG_DEBUG);
	pr_debug("seam_test: shown %s", count_eval());
	expect(evaluated == 1, "pr_debug at the debug level formats its arguments");
	nfo_log_set_level(old);
}

int main(void)
{
	test_mem_backend();
	test_bpf_backend();
	test_bpf_add_conns();
	test_uapi();
	test_pr_debug();
	printf("%s - seam_test: ", unit_failed ? "not ok" : "ok");
	return unit_summary();
}
