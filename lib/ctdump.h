/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A conntrack dump read in slices, between event reads, so that a dump of a
 * million entries never holds up new offloads; and the rule that keeps a
 * dump entry from overriding a newer event.
 *
 * A dump entry is a snapshot taken when the kernel walked that part of the
 * table. An event about the same connection read while the dump runs is at
 * least as new as anything the dump can still deliver about it, and the
 * events of one connection arrive in order. So once an event about a
 * connection has been read during a dump, the rest of that dump says nothing
 * about it: the event stream does (nfo_ctdump_touch / nfo_ctdump_stale).
 */
#ifndef NFO_CTDUMP_H
#define NFO_CTDUMP_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "nl.h"

struct nfo_ctdump {
	struct nfo_nl *nl; /* a socket of its own: nothing else is read from it */
	bool running;
	uint32_t seq; /* of the dump request */
	uint64_t entries; /* fed to the callback so far */
	uint64_t start_ns; /* when it was asked for */
	uint64_t slice_max_ns; /* longest slice: what events waited for at most */
	uint64_t slice_cpu_max_ns; /* the most CPU time one slice took (the rest: others ran) */
	/* Connections an event was read about since the dump started. */
	uint64_t *seen; /* open addressing; 0 = empty slot */
	uint32_t seen_mask, seen_count;
};

/* Ask for every entry with (mark & mask) == mark. 0 or -errno. */
int nfo_ctdump_start(struct nfo_ctdump *cd, struct nfo_nl *nl, uint32_t mark, uint32_t mask);
/*
 * Read what is queued without waiting: one receive (one batch of entries, as
 * the kernel fills them in), each entry fed to cb. Returns the number of
 * entries fed, -EAGAIN when nothing is queued yet, or another -errno (the
 * dump is over, incomplete). cd->running turns false when the dump ends.
 */
int nfo_ctdump_read(struct nfo_ctdump *cd, nfo_nl_cb cb, void *arg);
/* Wait up to timeout_ms for the dump's socket to have something queued. */
int nfo_ctdump_wait(struct nfo_ctdump *cd, int timeout_ms);
void nfo_ctdump_free(struct nfo_ctdump *cd);
/* Account one slice of reading: wall-clock and CPU time (thread) it took. */
void nfo_ctdump_slice(struct nfo_ctdump *cd, uint64_t ns, uint64_t cpu_ns);
/* This thread's CPU time, ns. */
uint64_t nfo_ctdump_cpu_ns(void);

/* An event about this connection was read: it is newer than the dump. */
void nfo_ctdump_touch(struct nfo_ctdump *cd, const struct nfo_tuple *orig, uint16_t zone);
/* Is a dump entry about this connection older than an event already read? */
bool nfo_ctdump_stale(const struct nfo_ctdump *cd, const struct nfo_tuple *orig, uint16_t zone);

#endif
