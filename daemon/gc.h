/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connections leaving the fast path: eviction by reason (with the hand-back to
 * conntrack), the idle gc step, the fast path's teardown events.
 */
#ifndef NFO_DAEMON_GC_H
#define NFO_DAEMON_GC_H

#include "ctx.h"

void evict(struct daemon *d, struct nfo_conn *c, enum evict_why why, uint32_t idle_s);
long evict_all(struct daemon *d, enum evict_why why, uint32_t ifindex);
void hold_ct(struct daemon *d, const struct nfo_conn *c);
int fast_path_event(const struct nfo_event *e, void *ctx);
void read_teardowns(struct daemon *d);
uint32_t first_check_s(const struct daemon *d);
void idle_gc(struct daemon *d);
void idle_gc_step(struct daemon *d);
int64_t gc_wait_ns(const struct daemon *d);

#endif
