/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Admission: the queue of eligible connections, room in the flow table
 * (waiters), route lookups, the device/policy/xfrm checks, conntrack updates,
 * the map writes.
 */
#ifndef NFO_DAEMON_ADMIT_H
#define NFO_DAEMON_ADMIT_H

#include "ctx.h"

void forget_waiter(struct daemon *d, const struct nfo_ct *ct);
bool may_admit(struct daemon *d, const struct nfo_ct *ct);
void release_waiters(struct daemon *d);
void expire_waiters(struct daemon *d, bool after_dump);
void queue_admission(struct daemon *d, const struct nfo_ct *ct, uint64_t rx_ns);
void forget_pending(struct daemon *d, const struct nfo_ct *ct);
void process_pending(struct daemon *d);
void admit_report(struct daemon *d);
const char *admit_capacity_origin(struct daemon *d);
void admit_watch_ct_limit(struct daemon *d);
int admit_open(struct daemon *d);
void admit_close(struct daemon *d);

#endif
