/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Conntrack intake: events, mark notifications (nflog), GET answers, full
 * resyncs; it decides what is admitted or evicted.
 */
#ifndef NFO_DAEMON_INTAKE_H
#define NFO_DAEMON_INTAKE_H

#include "ctx.h"

void intake_settle(struct daemon *d);
int intake_initial_dump(struct daemon *d);
void intake_dump_slice(struct daemon *d);
void read_ct_events(struct daemon *d);
bool intake_queued(const struct daemon *d);
bool intake_sweeping(const struct daemon *d);
void intake_sweep_step(struct daemon *d);
int64_t intake_bg_wait_ns(const struct daemon *d);
void read_nflog(struct daemon *d);
void intake_tick(struct daemon *d);
void intake_resync_soon(struct daemon *d);
void intake_marks_cleared(struct daemon *d, const struct nfo_tuple *orig, uint16_t zone);
int intake_open(struct daemon *d);
int intake_open_nflog(struct daemon *d);
void intake_started(struct daemon *d);
void intake_stop_events(struct daemon *d);
void intake_close(struct daemon *d);

#endif
