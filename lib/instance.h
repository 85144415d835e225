/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One nft-offload instance on this host, seen from outside its daemon: is a
 * daemon alive, the conntrack event setting it needs, and removing every
 * trace of it (the daemon at exit, the CLI's stop).
 */
#ifndef NFO_INSTANCE_H
#define NFO_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane.h"

/* A non-negative integer sysctl at PATH: read it (set < 0) or write set; -1 on error. */
int nfo_sysctl_int(const char *path, int set);

/*
 * Conntrack reports events only for entries created while an event listener
 * existed, if net.netfilter.nf_conntrack_events is 2 (the default). Make it
 * 1 while nft-offload is in place, so that connections created while the
 * daemon restarts still report. Returns true if it was changed (the caller
 * records that, and restores it at stop).
 */
bool nfo_ct_events_on(void);
void nfo_ct_events_restore(void);
/* nf_conntrack_events was set to 0 (no events at all): set it to 1. True if so. */
bool nfo_ct_events_revive(void);

/*
 * The flow table's default capacity follows conntrack's limit
 * (net.netfilter.nf_conntrack_max, host-wide, read-only in other namespaces):
 * conntrack never holds more connections than that, so no offload ever waits
 * for room, and a router whose conntrack holds 16k connections does not
 * reserve the buckets of a million (64 MiB). nfo_ct_limit: the limit, or -1
 * if it cannot be read.
 * nfo_flows_for_ct_limit: the capacity for a limit (< 0: unknown; 0: no
 * limit), at least NFO_MIN_FLOWS, at most NFO_MAX_FLOWS; NFO_DEFAULT_FLOWS
 * when the limit is unknown or absent.
 */
long long nfo_ct_limit(void);
uint64_t nfo_flows_for_ct_limit(long long limit);

/*
 * Remove every trace: programs from the devices in the slots map, flows
 * (handed back), the nft table, the pins. Safe to run twice.
 */
int nfo_teardown(struct nfo_dp *dp, const char *pin_dir);

#endif
