/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Conntrack requests: one batch any part appends to; a flush sends it and
 * queues the answers to GET requests for the intake (never acts on them).
 */
#ifndef NFO_DAEMON_CTREQ_H
#define NFO_DAEMON_CTREQ_H

#include "ctx.h"

void ct_flush_if_full(struct daemon *d);
void ct_flush(struct daemon *d);
struct ct_answer *ctreq_take_answers(struct daemon *d, size_t *n);
void ctreq_asked_at(struct daemon *d, uint64_t ns);
int ctreq_open(struct daemon *d);
void ctreq_close(struct daemon *d);

#endif
