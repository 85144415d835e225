/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's index of offloaded connections: a hash by original tuple (what
 * conntrack events name) and a timing wheel of idle checks, so that the cost of
 * gc is paid per connection per idle period, never as a sweep of the table.
 */
#ifndef NFO_FLOWTAB_H
#define NFO_FLOWTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"

struct nfo_conn {
	struct nfo_conn *hnext; /* hash chain */
	struct nfo_conn *wnext, **wpprev; /* wheel slot list */
	union nfo_key key[2]; /* NFO_DIR_ORIGINAL, NFO_DIR_REPLY */
	struct nfo_tuple orig;
	uint32_t ct_id;
	uint32_t deadline; /* next idle check, wheel seconds */
	uint32_t gen; /* last resync that saw this connection */
	uint16_t zone;
	uint8_t tcp_state;
	uint8_t assured;
	uint8_t paired; /* adoption: both directions found */
};

#define NFO_WHEEL_SLOTS 1024

struct nfo_flowtab {
	struct nfo_conn **hash;
	uint32_t hmask;
	uint64_t count;
	uint64_t count_fam[2]; /* per family: [0] IPv4, [1] IPv6 (each has its own map) */
	struct nfo_conn *wheel[NFO_WHEEL_SLOTS];
	uint32_t now; /* wheel time, seconds */
};

int nfo_flowtab_init(struct nfo_flowtab *t);
/* The hash of a connection's original tuple and zone (for other indexes too). */
uint32_t nfo_flowtab_hash(const struct nfo_tuple *orig, uint16_t zone);
void nfo_flowtab_free(struct nfo_flowtab *t);
struct nfo_conn *nfo_flowtab_find(struct nfo_flowtab *t, const struct nfo_tuple *orig,
				  uint16_t zone);
/* Insert a new connection (allocated by the caller with calloc). */
void nfo_flowtab_insert(struct nfo_flowtab *t, struct nfo_conn *c);
/* Unlink (hash and wheel); the caller frees. */
void nfo_flowtab_remove(struct nfo_flowtab *t, struct nfo_conn *c);
/* (Re)schedule the idle check at wheel time `when`. */
void nfo_flowtab_schedule(struct nfo_flowtab *t, struct nfo_conn *c, uint32_t when);
/*
 * Advance the wheel to `now` and detach every connection due; they come back
 * as a list linked through wnext (unscheduled, still in the hash).
 */
struct nfo_conn *nfo_flowtab_expire(struct nfo_flowtab *t, uint32_t now);

/* Visit every connection; cb may remove the one it is given. */
void nfo_flowtab_foreach(struct nfo_flowtab *t, void (*cb)(struct nfo_conn *c, void *arg),
			 void *arg);

#endif
