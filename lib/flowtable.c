// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "acct.h"
#include "flowtable.h"
#include "log.h"

#define INITIAL_BUCKETS 4096
/* Requests per netlink batch: the answers must fit the receive buffer. */
#define CLI_BATCH_MAX 128

/* ---- the table ------------------------------------------------------------ */

uint32_t nfo_flowtable_hash(const struct nfo_tuple *orig, uint16_t zone)
{
	uint64_t h = nfo_tuple_hash(orig) ^ ((uint64_t)zone * 0x9e3779b97f4a7c15ULL);

	return (uint32_t)(h ^ (h >> 32));
}

int nfo_flowtable_init(struct nfo_flowtable *ft)
{
	memset(ft, 0, sizeof(*ft));
	ft->hash = calloc(INITIAL_BUCKETS, sizeof(*ft->hash));
	if (!ft->hash)
		return -ENOMEM;
	ft->hmask = INITIAL_BUCKETS - 1;
	return 0;
}

void nfo_flowtable_free(struct nfo_flowtable *ft)
{
	uint32_t i;

	for (i = 0; ft->hash && i <= ft->hmask; i++) {
		struct nfo_conn *c = ft->hash[i], *n;

		for (; c; c = n) {
			n = c->hnext;
			free(c);
		}
	}
	for (i = 0; ft->old && i <= ft->old_mask; i++) {
		struct nfo_conn *c = ft->old[i], *n;

		for (; c; c = n) {
			n = c->hnext;
			free(c);
		}
	}
	free(ft->hash);
	free(ft->old);
	memset(ft, 0, sizeof(*ft));
}

/* The chain of hash h: an old bucket while a grow has not moved it yet. */
static struct nfo_conn **chain(struct nfo_flowtable *ft, uint32_t h)
{
	if (ft->old && (h & ft->old_mask) >= ft->old_next)
		return &ft->old[h & ft->old_mask];
	return &ft->hash[h & ft->hmask];
}

struct nfo_conn *nfo_flowtable_find(struct nfo_flowtable *ft, const struct nfo_tuple *orig,
				    uint16_t zone)
{
	struct nfo_conn *c = *chain(ft, nfo_flowtable_hash(orig, zone));

	for (; c; c = c->hnext)
		if (c->zone == zone && nfo_tuple_equal(&c->orig, orig))
			return c;
	return NULL;
}

struct nfo_conn *nfo_flowtable_find_entry(struct nfo_flowtable *ft, uint8_t family,
					  const union nfo_key *key, const struct nfo_flow *flow)
{
	struct nfo_tuple orig;
	struct nfo_conn *c;

	nfo_entry_orig(family, key, flow, &orig);
	c = nfo_flowtable_find(ft, &orig, 0);
	return c && c->ct_id == flow->ct_id ? c : NULL;
}

/*
 * Growing moves every connection to a bucket of the new array. At once, that
 * held the daemon for 0.8 s at a million connections (a cache miss each),
 * while new connections waited: the old buckets are moved GROW_STEP at a
 * time instead, at each insert (and by a walk in steps), lookups finding a
 * connection in its old bucket until it was moved.
 */
#define GROW_STEP 64

static void grow_step(struct nfo_flowtable *ft, uint32_t buckets)
{
	while (ft->old && buckets--) {
		struct nfo_conn *c = ft->old[ft->old_next], *next;

		ft->old[ft->old_next] = NULL;
		for (; c; c = next) {
			struct nfo_conn **b =
			    &ft->hash[nfo_flowtable_hash(&c->orig, c->zone) & ft->hmask];

			next = c->hnext;
			c->hnext = *b;
			*b = c;
		}
		if (ft->old_next++ == ft->old_mask) {
			free(ft->old);
			ft->old = NULL;
		}
	}
}

static void grow(struct nfo_flowtable *ft)
{
	uint32_t n = (ft->hmask + 1) * 2;
	struct nfo_conn **h = calloc(n, sizeof(*h));

	if (!h)
		return; /* keep the longer chains */
	ft->old = ft->hash;
	ft->old_mask = ft->hmask;
	ft->old_next = 0;
	ft->hash = h;
	ft->hmask = n - 1;
}

void nfo_flowtable_insert(struct nfo_flowtable *ft, struct nfo_conn *c)
{
	struct nfo_conn **b;

	if (ft->old)
		grow_step(ft, GROW_STEP);
	else if (ft->count > ft->hmask)
		grow(ft);
	b = chain(ft, nfo_flowtable_hash(&c->orig, c->zone));
	c->hnext = *b;
	*b = c;
	c->wpprev = NULL;
	ft->count++;
	ft->count_fam[c->orig.family == AF_INET6]++;
}

static void wheel_unlink(struct nfo_conn *c)
{
	if (!c->wpprev)
		return;
	*c->wpprev = c->wnext;
	if (c->wnext)
		c->wnext->wpprev = c->wpprev;
	c->wnext = NULL;
	c->wpprev = NULL;
}

void nfo_flowtable_remove(struct nfo_flowtable *ft, struct nfo_conn *c)
{
	struct nfo_conn **pp = chain(ft, nfo_flowtable_hash(&c->orig, c->zone));

	wheel_unlink(c);
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			ft->count--;
			ft->count_fam[c->orig.family == AF_INET6]--;
			break;
		}
}

void nfo_flowtable_schedule(struct nfo_flowtable *ft, struct nfo_conn *c, uint32_t when)
{
	struct nfo_conn **slot;

	wheel_unlink(c);
	if ((int32_t)(when - ft->now) <= 0)
		when = ft->now + 1;
	c->deadline = when;
	slot = &ft->wheel[when % NFO_WHEEL_SLOTS];
	c->wnext = *slot;
	if (*slot)
		(*slot)->wpprev = &c->wnext;
	*slot = c;
	c->wpprev = slot;
}

void nfo_flowtable_foreach(struct nfo_flowtable *ft, void (*cb)(struct nfo_conn *c, void *arg),
			   void *arg)
{
	uint32_t i;

	grow_step(ft, UINT32_MAX); /* a grow under way: finished first */
	for (i = 0; i <= ft->hmask; i++) {
		struct nfo_conn *c = ft->hash[i], *next;

		for (; c; c = next) {
			next = c->hnext;
			cb(c, arg);
		}
	}
}

bool nfo_flowtable_foreach_step(struct nfo_flowtable *ft, struct nfo_flowtable_cursor *cur,
				uint32_t buckets, void (*cb)(struct nfo_conn *c, void *arg),
				void *arg)
{
	uint32_t end;

	if (ft->old) {
		/* A grow under way would move connections past the cursor: finish it. */
		grow_step(ft, buckets);
		return false;
	}
	if (cur->hmask != ft->hmask) {
		/* Not started, or re-hashed since: buckets no longer mean the same. */
		cur->hmask = ft->hmask;
		cur->next = 0;
	}
	end = ft->hmask + 1 - cur->next < buckets ? ft->hmask + 1 : cur->next + buckets;
	for (; cur->next < end; cur->next++) {
		struct nfo_conn *c = ft->hash[cur->next], *next;

		for (; c; c = next) {
			next = c->hnext;
			cb(c, arg);
		}
	}
	return cur->next > ft->hmask;
}

uint32_t nfo_conn_ifindex(const struct nfo_conn *c, int dir)
{
	return c->orig.family == AF_INET ? c->key[dir].k4.ifindex : c->key[dir].k6.ifindex;
}

/* ---- lifecycle ------------------------------------------------------------ */

int nfo_flow_offload_add(struct nfo_flowtable *ft, struct nfo_dp *dp, struct nfo_conn *c,
			 struct nfo_flow flow[2], uint64_t now_ns)
{
	int err;

	flow[NFO_DIR_ORIGINAL].created_ns = flow[NFO_DIR_REPLY].created_ns = now_ns;
	err = nfo_dp_flow_add_conn(dp, c->orig.family, c->key, flow);
	if (err)
		return err;
	nfo_flowtable_insert(ft, c);
	return 0;
}

void nfo_flow_offload_add_many(struct nfo_flowtable *ft, struct nfo_dp *dp, struct nfo_conn **c,
			       struct nfo_dp_conn *e, unsigned int n, uint64_t now_ns, int *err)
{
	unsigned int s = 0, t, i, w;
	uint8_t family;
	int e2;

	while (s < n) {
		/* A run of one family: one data plane call (or more, on errors). */
		family = c[s]->orig.family;
		for (t = s; t < n && c[t]->orig.family == family; t++) {
			memcpy(e[t].key, c[t]->key, sizeof(e[t].key));
			e[t].flow[NFO_DIR_ORIGINAL].created_ns = now_ns;
			e[t].flow[NFO_DIR_REPLY].created_ns = now_ns;
		}
		while (s < t) {
			w = nfo_dp_flow_add_conns(dp, family, &e[s], t - s, &e2);
			for (i = 0; i < w; i++, s++) {
				nfo_flowtable_insert(ft, c[s]);
				err[s] = 0;
			}
			if (s < t)
				err[s++] = e2 ? e2 : -EIO;
		}
	}
}

void nfo_flow_offload_refresh(struct nfo_nl_batch *b, const struct nfo_conn *c, uint32_t timeout)
{
	/*
	 * TCP: a packet the fast path passed to the stack set conntrack's
	 * highest ACK again, soon stale: forget it (see nfo_ct_update).
	 */
	nfo_ct_req_update(b, &c->orig, c->zone,
			  &(struct nfo_ct_update){
			      .set_timeout = true, .timeout = timeout, .tcp_liberal = true });
}

void nfo_flow_offload_teardown(struct nfo_flowtable *ft, struct nfo_conn *c, uint32_t now_s)
{
	nfo_flowtable_schedule(ft, c, now_s + 2);
}

void nfo_flow_offload_del(struct nfo_flowtable *ft, struct nfo_dp *dp, struct nfo_conn *c)
{
	int dir;

	for (dir = 0; dir < 2; dir++)
		nfo_dp_flow_del(dp, c->orig.family, &c->key[dir]);
	nfo_flowtable_remove(ft, c);
	free(c);
}

void nfo_flow_offload_fixup_ct(struct nfo_nl_batch *b, enum nfo_fixup how,
			       const struct nfo_tuple *orig, uint16_t zone, uint8_t tcp_state,
			       bool assured, uint32_t idle_s, uint32_t mark_bit)
{
	struct nfo_ct_update u = {.mark_mask = mark_bit};
	uint32_t t;

	switch (how) {
	case NFO_FIXUP_NONE:
		return;
	case NFO_FIXUP_TIMEOUT:
	case NFO_FIXUP_REJUDGE:
		t = nfo_ct_timeout(orig->l4proto, tcp_state, assured);
		u.set_timeout = true;
		u.timeout = t > idle_s ? t - idle_s : 1;
		u.set_mark = how == NFO_FIXUP_REJUDGE;
		u.tcp_liberal = true; /* ACKs seen while offloaded are stale */
		break;
	case NFO_FIXUP_CLOSING:
		u.set_timeout = true;
		u.timeout = nfo_ct_timeout(IPPROTO_TCP, TCP_CONNTRACK_FIN_WAIT, true);
		u.set_mark = true;
		u.tcp_liberal = true;
		break;
	case NFO_FIXUP_MARK:
		u.set_mark = true;
		break;
	}
	nfo_ct_req_update(b, orig, zone, &u);
}

/* ---- gc step -------------------------------------------------------------- */

struct nfo_conn *nfo_flowtable_gc_step(struct nfo_flowtable *ft, uint32_t now_s)
{
	struct nfo_conn *due = NULL;
	uint32_t steps = 0;

	while ((int32_t)(now_s - ft->now) > 0 && steps++ < NFO_WHEEL_SLOTS) {
		struct nfo_conn **slot, *c, *next;

		ft->now++;
		slot = &ft->wheel[ft->now % NFO_WHEEL_SLOTS];
		for (c = *slot; c; c = next) {
			next = c->wnext;
			/* Deadlines beyond one turn of the wheel wait for their turn. */
			if ((int32_t)(c->deadline - now_s) > 0)
				continue;
			wheel_unlink(c);
			c->wnext = due;
			due = c;
		}
	}
	ft->now = now_s;
	return due;
}

void nfo_flowtable_gc_due(struct nfo_flowtable *ft, uint32_t now_s)
{
	struct nfo_conn *c = nfo_flowtable_gc_step(ft, now_s), *next;

	for (; c; c = next) {
		next = c->wnext;
		c->wnext = ft->due;
		if (ft->due)
			ft->due->wpprev = &c->wnext;
		ft->due = c;
		c->wpprev = &ft->due;
	}
}

struct nfo_conn *nfo_flowtable_gc_next(struct nfo_flowtable *ft)
{
	struct nfo_conn *c = ft->due;

	if (c)
		wheel_unlink(c);
	return c;
}

enum nfo_gc_verdict nfo_flow_offload_gc(struct nfo_dp *dp, const struct nfo_conn *c,
					uint64_t now_ns, uint32_t now_s, uint32_t idle_timeout,
					uint32_t *idle_s, uint32_t *next, bool *ct_held)
{
	uint64_t last = 0;
	bool teardown = false;
	int dir, present = 0;

	*ct_held = true;

	for (dir = 0; dir < 2; dir++) {
		struct nfo_flow f;

		if (nfo_dp_flow_get(dp, c->orig.family, &c->key[dir], &f))
			continue;
		present++;
		if (f.last_used_ns > last)
			last = f.last_used_ns;
		if (!f.last_used_ns && f.created_ns > last)
			last = f.created_ns;
		teardown |= f.teardown != 0;
		*ct_held &= (f.flags & NFO_FLOW_CT_HOLD) != 0;
	}
	/* last is 0 when both entries were deleted (evict/flush): not idle. */
	*idle_s = last && now_ns > last ? (now_ns - last) / 1000000000ULL : 0;
	*next = now_s + (*idle_s < idle_timeout ? idle_timeout - *idle_s : 1);
	if (present < 2)
		return NFO_GC_GONE;
	if (teardown)
		return NFO_GC_TEARDOWN;
	if (*idle_s >= idle_timeout)
		return NFO_GC_IDLE;
	return NFO_GC_ALIVE;
}

/* ---- whole connections from the fast path's entries ---------------------- */

static bool same_conn(const struct nfo_fp_conn *c, const struct nfo_tuple *orig, uint32_t ct_id)
{
	return c->ct_id == ct_id && nfo_tuple_equal(&c->orig, orig);
}

/* The slot of (orig, ct_id), or the empty one where it would go. */
static size_t slot_of(const struct nfo_fp_conns *cs, const struct nfo_tuple *orig, uint32_t ct_id)
{
	size_t i = nfo_tuple_hash(orig) & (cs->isize - 1);

	while (cs->idx[i] && !same_conn(&cs->v[cs->idx[i] - 1], orig, ct_id))
		i = (i + 1) & (cs->isize - 1);
	return i;
}

static int grow_index(struct nfo_fp_conns *cs)
{
	size_t n = cs->isize ? cs->isize * 2 : 1024, i;
	uint32_t *idx = calloc(n, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	free(cs->idx);
	cs->idx = idx;
	cs->isize = n;
	for (i = 0; i < cs->n; i++) {
		size_t j = slot_of(cs, &cs->v[i].orig, cs->v[i].ct_id);

		/* A second connection of one tuple and id stays behind the first. */
		if (!cs->idx[j])
			cs->idx[j] = i + 1;
	}
	return 0;
}

static int push(struct nfo_fp_conn **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		struct nfo_fp_conn *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*n)++;
	return 0;
}

static int add_entry(struct nfo_fp_conns *cs, uint8_t family, const union nfo_key *key,
		     const struct nfo_flow *flow)
{
	int dir = flow->dir & 1, err;
	struct nfo_tuple orig;
	struct nfo_fp_conn *c;
	size_t i;

	if ((cs->n + 1) * 2 > cs->isize && (err = grow_index(cs)))
		return err;
	nfo_entry_orig(family, key, flow, &orig);
	i = slot_of(cs, &orig, flow->ct_id);
	if (cs->idx[i]) {
		c = &cs->v[cs->idx[i] - 1];
		if (c->have[dir]) {
			/* Two entries of one direction: a second connection. */
			if ((err = push(&cs->v, &cs->n, &cs->cap)))
				return err;
			c = &cs->v[cs->n - 1];
			goto fill;
		}
	} else {
		if ((err = push(&cs->v, &cs->n, &cs->cap)))
			return err;
		c = &cs->v[cs->n - 1];
		cs->idx[i] = cs->n;
	fill:
		c->family = family;
		c->ct_id = flow->ct_id;
		c->orig = orig;
	}
	c->have[dir] = true;
	c->key[dir] = *key;
	c->flow[dir] = *flow;
	return 0;
}

int nfo_fp_conns_add(struct nfo_fp_conns *cs, uint8_t family, const union nfo_key *key,
		     const struct nfo_flow *flow)
{
	struct nfo_fp_conn *c;
	int err;

	if (flow->dir != NFO_DIR_ORIGINAL || !(flow->flags & NFO_FLOW_AFTER_DNAT))
		return add_entry(cs, family, key, flow);
	if ((err = push(&cs->late, &cs->nlate, &cs->caplate)))
		return err;
	c = &cs->late[cs->nlate - 1];
	c->family = family;
	c->ct_id = flow->ct_id;
	c->have[NFO_DIR_ORIGINAL] = true;
	c->key[NFO_DIR_ORIGINAL] = *key;
	c->flow[NFO_DIR_ORIGINAL] = *flow;
	return 0;
}

int nfo_fp_conns_finish(struct nfo_fp_conns *cs)
{
	size_t i, j;
	int err;

	for (i = 0; i < cs->nlate; i++) {
		struct nfo_fp_conn *l = &cs->late[i];
		struct nfo_flow f = l->flow[NFO_DIR_ORIGINAL];

		for (j = 0; j < cs->n; j++) {
			struct nfo_fp_conn *c = &cs->v[j];

			if (c->family == l->family && c->ct_id == l->ct_id &&
			    !c->have[NFO_DIR_ORIGINAL] && c->have[NFO_DIR_REPLY]) {
				c->have[NFO_DIR_ORIGINAL] = true;
				c->key[NFO_DIR_ORIGINAL] = l->key[NFO_DIR_ORIGINAL];
				c->flow[NFO_DIR_ORIGINAL] = f;
				break;
			}
		}
		if (j < cs->n)
			continue;
		/* No reply entry (yet): a connection named by the tuple it is keyed by. */
		err = add_entry(cs, l->family, &l->key[NFO_DIR_ORIGINAL], &f);
		if (err)
			return err;
	}
	cs->nlate = 0;
	return 0;
}

static int read_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow, void *arg)
{
	return nfo_fp_conns_add(arg, family, key, flow);
}

int nfo_fp_conns_read(struct nfo_dp *dp, struct nfo_fp_conns *cs)
{
	memset(cs, 0, sizeof(*cs));
	return nfo_dp_flow_foreach(dp, AF_INET, read_cb, cs) ?:
	       nfo_dp_flow_foreach(dp, AF_INET6, read_cb, cs) ?: nfo_fp_conns_finish(cs);
}

struct nfo_fp_conn *nfo_fp_conns_find(const struct nfo_fp_conns *cs, const struct nfo_tuple *orig)
{
	size_t i;

	if (!cs->isize)
		return NULL;
	/* Probe past the ct ids: the first connection with this tuple. */
	for (i = nfo_tuple_hash(orig) & (cs->isize - 1); cs->idx[i]; i = (i + 1) & (cs->isize - 1))
		if (nfo_tuple_equal(&cs->v[cs->idx[i] - 1].orig, orig))
			return &cs->v[cs->idx[i] - 1];
	return NULL;
}

void nfo_fp_conns_free(struct nfo_fp_conns *cs)
{
	free(cs->v);
	free(cs->idx);
	free(cs->late);
	memset(cs, 0, sizeof(*cs));
}

int nfo_fp_foreach_conn(struct nfo_dp *dp, nfo_fp_conn_cb cb, void *arg)
{
	struct nfo_fp_conns cs;
	size_t i;
	int err = nfo_fp_conns_read(dp, &cs);

	for (i = 0; !err && i < cs.n; i++)
		err = cb(&cs.v[i], arg);
	nfo_fp_conns_free(&cs);
	return err;
}

void nfo_fp_conn_usage(const struct nfo_fp_conn *c, uint64_t *last_used, bool *fin)
{
	int dir;

	*last_used = 0;
	*fin = false;
	for (dir = 0; dir < 2; dir++) {
		if (!c->have[dir])
			continue;
		*fin |= c->flow[dir].teardown == NFO_TEARDOWN_FIN;
		if (c->flow[dir].last_used_ns > *last_used)
			*last_used = c->flow[dir].last_used_ns;
	}
}

/* ---- selecting and handing back connections (the CLI, stop) -------------- */

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

bool nfo_filter_match_conn(const struct nfo_filter *f, const struct nfo_fp_conn *c)
{
	int dir;

	for (dir = 0; dir < 2; dir++)
		if (c->have[dir] && nfo_filter_match(f, c->family, &c->key[dir], &c->flow[dir]))
			return true;
	return false;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void flush_if_full(struct nfo_nl_batch *b)
{
	if (!nfo_nl_batch_room(b, NFO_CT_REQ_MAX) || b->count >= CLI_BATCH_MAX)
		nfo_nl_batch_flush(b, NULL, NULL);
}

/* Seconds since the connection's last packet (0 if it never had one). */
static uint32_t idle_since(uint64_t last_used, uint64_t now)
{
	return last_used && now > last_used ? (now - last_used) / 1000000000ULL : 0;
}

/* A socket and a batch for conntrack requests. */
static int ct_batch_open(struct nfo_nl *nl, struct nfo_nl_batch *b)
{
	int err = nfo_nl_open(nl, NETLINK_NETFILTER, 0);

	if (err)
		return err;
	err = nfo_nl_batch_init(b, nl, 64 * 1024, false);
	if (err)
		nfo_nl_close(nl);
	return err;
}

static void ct_batch_close(struct nfo_nl *nl, struct nfo_nl_batch *b)
{
	nfo_nl_batch_flush(b, NULL, NULL); /* ENOENT: conntrack forgot it already */
	nfo_nl_batch_free(b);
	nfo_nl_close(nl);
}

long nfo_flowtable_evict(struct nfo_dp *dp, const struct nfo_filter *f, uint32_t mark_bit)
{
	struct nfo_fp_conns cs;
	struct nfo_nl_batch b;
	struct nfo_nl nl;
	uint64_t now = mono_ns();
	size_t i, lost = 0, n = 0;
	long err;
	int dir;

	err = nfo_fp_conns_read(dp, &cs);
	if (err)
		goto out;
	/* Out of the fast path first, then back to conntrack's judgement. */
	for (i = 0; i < cs.n; i++) {
		struct nfo_fp_conn *c = &cs.v[i];

		if (!nfo_filter_match_conn(f, c)) {
			c->have[0] = c->have[1] = false; /* not selected */
			continue;
		}
		for (dir = 0; dir < 2; dir++)
			if (c->have[dir] &&
			    nfo_acct_evict_entry(dp, c->family, &c->key[dir]) == -E2BIG)
				lost++;
	}
	if (lost)
		pr_warn("final counts of %zu flow entries not recorded for the per-host totals: "
			"the queue to the daemon is full (is it running?)",
			lost);
	err = ct_batch_open(&nl, &b);
	if (err)
		goto out;
	for (i = 0; i < cs.n; i++) {
		const struct nfo_fp_conn *c = &cs.v[i];
		uint64_t last;
		bool fin;

		if (!c->have[0] && !c->have[1])
			continue;
		nfo_fp_conn_usage(c, &last, &fin);
		flush_if_full(&b);
		/*
		 * A flow in teardown: conntrack normally saw the FIN/RST and
		 * set its state's timeout, but it may have held an RST back;
		 * without a dump to tell, do not leave it on the offload one.
		 */
		nfo_flow_offload_fixup_ct(&b, fin ? NFO_FIXUP_CLOSING : NFO_FIXUP_REJUDGE, &c->orig,
					  0, TCP_CONNTRACK_ESTABLISHED, true, idle_since(last, now),
					  mark_bit);
		n++;
	}
	ct_batch_close(&nl, &b);
	err = n;
out:
	nfo_fp_conns_free(&cs);
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

/*
 * Every conntrack entry that carries one of our bits (collected: no requests
 * may mix with the dump on the socket). The kernel filters by (mark & mask) ==
 * value only, so with two bits the filter is ours.
 */
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
			if (which && !which(&m.ct[i], arg))
				continue;
			flush_if_full(&b);
			nfo_flow_offload_fixup_ct(&b, NFO_FIXUP_MARK, &m.ct[i].orig, m.ct[i].zone,
						  0, false, 0, mark_bit);
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

long nfo_flowtable_handback_all(struct nfo_dp *dp, uint32_t mark_bit)
{
	struct nfo_fp_conns cs;
	struct marked m = {};
	struct nfo_nl_batch b;
	struct nfo_nl nl;
	uint64_t now = mono_ns();
	long err, n = 0;
	size_t i;

	if (!mark_bit)
		return 0;
	/* What is in the fast path: its connections, their FIN/RST and last use. */
	err = nfo_fp_conns_read(dp, &cs);
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
		const struct nfo_fp_conn *c = nfo_fp_conns_find(&cs, &ct->orig);
		enum nfo_fixup how = NFO_FIXUP_MARK;
		uint64_t last = 0;
		bool fin = false;

		if (c)
			nfo_fp_conn_usage(c, &last, &fin);
		if (c && !fin)
			how = NFO_FIXUP_REJUDGE; /* offloaded: its timeout back, as its state has it
						  */
		else if (c && ct->orig.l4proto == IPPROTO_TCP && ct->has_tcp_state &&
			 ct->tcp_state == TCP_CONNTRACK_ESTABLISHED)
			how =
			    NFO_FIXUP_CLOSING; /* FIN/RST seen by the fast path, not by conntrack */
		/* Otherwise marked only, or closed (conntrack set its timeout): the mark. */
		flush_if_full(&b);
		nfo_flow_offload_fixup_ct(&b, how, &ct->orig, ct->zone,
					  ct->has_tcp_state ? ct->tcp_state : TCP_CONNTRACK_ESTABLISHED,
					  ct->status & (IPS_ASSURED | IPS_SEEN_REPLY),
					  idle_since(last, now), mark_bit);
		n += how != NFO_FIXUP_MARK;
	}
	nfo_nl_batch_flush(&b, NULL, NULL);
	nfo_nl_batch_free(&b);
	nfo_nl_close(&nl);
	err = n;
out:
	nfo_fp_conns_free(&cs);
	free(m.ct);
	return err;
}
