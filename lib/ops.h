/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Operations shared by the daemon and the stateless CLI: handing flows back
 * to the stack, and removing every trace of nft-offload.
 */
#ifndef NFO_OPS_H
#define NFO_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"
#include "dataplane.h"

/*
 * Append the conntrack update that hands a flow back to the stack: the
 * timeout conntrack would have had (its protocol/state timeout minus the time
 * the flow has been idle already), and optionally our mark bit cleared so the
 * ruleset judges the next packet again.
 */
void nfo_ct_handback(struct nfo_nl_batch *b, const struct nfo_tuple *orig, uint16_t zone,
		     uint8_t tcp_state, bool assured, uint32_t idle_s, uint32_t mark_bit,
		     bool clear_mark);

/*
 * Append the update for a TCP flow whose FIN/RST the fast path saw while
 * conntrack still has it ESTABLISHED (it can hold an RST back as out of
 * window: its record of ACKs went stale while packets bypassed it): the
 * closing (FIN_WAIT) timeout instead of the long offload one, window
 * tracking liberal, our mark bit cleared. If the connection lives on, its
 * next packet through conntrack refreshes it.
 */
void nfo_ct_closing(struct nfo_nl_batch *b, const struct nfo_tuple *orig, uint16_t zone,
		    uint32_t mark_bit);

/* Which flows an eviction selects; any field zero/empty matches all. */
struct nfo_filter {
	uint8_t family; /* AF_INET / AF_INET6 */
	uint8_t l4proto;
	union nfo_addr addr; /* either address of either tuple */
	uint8_t addr_family;
	uint16_t port; /* either port of either tuple, network order */
	uint32_t ifindex; /* ingress device of either direction */
	uint32_t ct_id;
};

/* Does this entry (and the tuple it leaves with) match the filter? */
bool nfo_filter_match(const struct nfo_filter *f, uint8_t family, const union nfo_key *key,
		      const struct nfo_flow *flow);

/*
 * Evict flows from the pinned maps (both directions) and hand them back to
 * conntrack: the CLI's flush and evict. Returns the number of connections
 * evicted, or -errno.
 */
long nfo_evict(struct nfo_dp *dp, const struct nfo_filter *f, uint32_t mark_bit);

/*
 * Clear our mark bit on every conntrack entry that carries it. A mark no
 * daemon vouches for must not offload a flow later without the ruleset
 * judging it again. Returns the number of entries cleared, or -errno.
 */
long nfo_ct_clear_marks(uint32_t mark_bit);
/* The same for the entries `which` selects (all if NULL). */
long nfo_ct_clear_marks_if(uint32_t mark_bit, bool (*which)(const struct nfo_ct *ct, void *arg),
			   void *arg);

/*
 * Stop: every marked conntrack entry loses the mark; those in the fast path
 * also get their timeout back (from their state, minus the time they were
 * idle). Returns how many offloaded connections were handed back.
 */
long nfo_handback_all(struct nfo_dp *dp, uint32_t mark_bit);

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

/* Is pid an nft-offload daemon (not us)? */
bool nfo_pid_is_daemon(uint32_t pid);

/*
 * Remove every trace: programs from the devices in the slots map, flows
 * (handed back), the nft table, the pins. Safe to run twice.
 */
int nfo_teardown(struct nfo_dp *dp, const char *pin_dir);

#endif
