// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flowtab.h"

#define INITIAL_BUCKETS 4096

static uint32_t hash_tuple(const struct nfo_tuple *t, uint16_t zone)
{
	uint64_t h = nfo_tuple_hash(t) ^ ((uint64_t)zone * 0x9e3779b97f4a7c15ULL);

	return (uint32_t)(h ^ (h >> 32));
}

uint32_t nfo_flowtab_hash(const struct nfo_tuple *orig, uint16_t zone)
{
	return hash_tuple(orig, zone);
}

int nfo_flowtab_init(struct nfo_flowtab *t)
{
	memset(t, 0, sizeof(*t));
	t->hash = calloc(INITIAL_BUCKETS, sizeof(*t->hash));
	if (!t->hash)
		return -ENOMEM;
	t->hmask = INITIAL_BUCKETS - 1;
	return 0;
}

void nfo_flowtab_free(struct nfo_flowtab *t)
{
	uint32_t i;

	for (i = 0; t->hash && i <= t->hmask; i++) {
		struct nfo_conn *c = t->hash[i], *n;

		for (; c; c = n) {
			n = c->hnext;
			free(c);
		}
	}
	free(t->hash);
	memset(t, 0, sizeof(*t));
}

struct nfo_conn *nfo_flowtab_find(struct nfo_flowtab *t, const struct nfo_tuple *orig,
				  uint16_t zone)
{
	struct nfo_conn *c = t->hash[hash_tuple(orig, zone) & t->hmask];

	for (; c; c = c->hnext)
		if (c->zone == zone && nfo_tuple_equal(&c->orig, orig))
			return c;
	return NULL;
}

static void grow(struct nfo_flowtab *t)
{
	uint32_t n = (t->hmask + 1) * 2, i;
	struct nfo_conn **h = calloc(n, sizeof(*h));

	if (!h)
		return; /* keep the longer chains */
	for (i = 0; i <= t->hmask; i++) {
		struct nfo_conn *c = t->hash[i], *next;

		for (; c; c = next) {
			uint32_t b = hash_tuple(&c->orig, c->zone) & (n - 1);

			next = c->hnext;
			c->hnext = h[b];
			h[b] = c;
		}
	}
	free(t->hash);
	t->hash = h;
	t->hmask = n - 1;
}

void nfo_flowtab_insert(struct nfo_flowtab *t, struct nfo_conn *c)
{
	uint32_t b;

	if (t->count > t->hmask)
		grow(t);
	b = hash_tuple(&c->orig, c->zone) & t->hmask;
	c->hnext = t->hash[b];
	t->hash[b] = c;
	c->wpprev = NULL;
	t->count++;
	t->count_fam[c->orig.family == AF_INET6]++;
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

void nfo_flowtab_remove(struct nfo_flowtab *t, struct nfo_conn *c)
{
	struct nfo_conn **pp = &t->hash[hash_tuple(&c->orig, c->zone) & t->hmask];

	wheel_unlink(c);
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			t->count--;
			t->count_fam[c->orig.family == AF_INET6]--;
			break;
		}
}

void nfo_flowtab_schedule(struct nfo_flowtab *t, struct nfo_conn *c, uint32_t when)
{
	struct nfo_conn **slot;

	wheel_unlink(c);
	if ((int32_t)(when - t->now) <= 0)
		when = t->now + 1;
	c->deadline = when;
	slot = &t->wheel[when % NFO_WHEEL_SLOTS];
	c->wnext = *slot;
	if (*slot)
		(*slot)->wpprev = &c->wnext;
	*slot = c;
	c->wpprev = slot;
}

struct nfo_conn *nfo_flowtab_expire(struct nfo_flowtab *t, uint32_t now)
{
	struct nfo_conn *due = NULL;
	uint32_t steps = 0;

	while ((int32_t)(now - t->now) > 0 && steps++ < NFO_WHEEL_SLOTS) {
		struct nfo_conn **slot, *c, *next;

		t->now++;
		slot = &t->wheel[t->now % NFO_WHEEL_SLOTS];
		for (c = *slot; c; c = next) {
			next = c->wnext;
			/* Deadlines beyond one turn of the wheel wait for their turn. */
			if ((int32_t)(c->deadline - now) > 0)
				continue;
			wheel_unlink(c);
			c->wnext = due;
			due = c;
		}
	}
	t->now = now;
	return due;
}

void nfo_flowtab_foreach(struct nfo_flowtab *t, void (*cb)(struct nfo_conn *c, void *arg),
			 void *arg)
{
	uint32_t i;

	for (i = 0; i <= t->hmask; i++) {
		struct nfo_conn *c = t->hash[i], *next;

		for (; c; c = next) {
			next = c->hnext;
			cb(c, arg);
		}
	}
}
