/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The flow table core: the offloaded connection (both directions, as the
 * kernel's flow_offload with its tuplehash[dir]) and its whole lifecycle, in
 * the kernel flow table's words:
 *
 *   add        both directions into the fast path (reply first) and the table
 *   refresh    hold conntrack's timeout while packets bypass it
 *   teardown   the fast path saw FIN/RST: check the connection soon
 *   del        both entries out of the fast path and the table
 *   fixup_ct   THE hand-back to conntrack: its timeout back, our mark
 *              cleared so the ruleset judges again, or the closing timeout
 *   gc step    the idle wheel: which connections are due, and what they are
 *
 * plus one iterator over the fast path's entries that yields whole
 * connections (for the CLI, adoption after a restart, flush and stop).
 * The fast path is reached only through dataplane.h.
 */
#ifndef NFO_FLOWTABLE_H
#define NFO_FLOWTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"
#include "dataplane.h"
#include "flow.h"
#include "nl.h"

/* ---- the connection and the daemon's table of them ---------------------- */

struct nfo_conn {
	/*
	 * What a lookup compares comes first: a hash chain's walk touches one
	 * cache line of each connection (it costs a miss each).
	 */
	struct nfo_conn *hnext; /* hash chain */
	struct nfo_tuple orig;
	uint16_t zone;
	uint8_t tcp_state;
	uint8_t assured : 1;
	/*
	 * Admitted by this run, its first idle check still to come: that check
	 * holds conntrack again and needs no read of the entries when the idle
	 * timeout is longer than the wait for it (see idle_gc_step).
	 */
	uint8_t first_check : 1;
	/*
	 * Its entries carry NFO_FLOW_CT_HOLD: the fast path holds conntrack
	 * while packets flow, so the daemon does not, as long as the entries
	 * still have the flag (the fast path clears it when it cannot hold).
	 */
	uint8_t fp_holds : 1;
	uint32_t ct_id;
	uint32_t deadline; /* next idle check, wheel seconds */
	uint32_t gen; /* last resync that saw this connection */
	struct nfo_conn *wnext, **wpprev; /* wheel slot list */
	union nfo_key key[2]; /* NFO_DIR_ORIGINAL, NFO_DIR_REPLY (tuplehash[dir]) */
};

#define NFO_WHEEL_SLOTS 1024

/*
 * A hash by original tuple and zone (what conntrack events name) and a timing
 * wheel of idle checks, so that gc costs per connection per idle period,
 * never a sweep of the table. Wheel time is seconds on a 32-bit clock that
 * may wrap.
 */
struct nfo_flowtable {
	struct nfo_conn **hash;
	uint32_t hmask;
	/*
	 * A grow moves the connections to the new buckets a few old buckets
	 * at a time: the old ones from old_next on still hold theirs. NULL:
	 * no grow under way.
	 */
	struct nfo_conn **old;
	uint32_t old_mask, old_next;
	uint64_t count;
	uint64_t count_fam[2]; /* per family: [0] IPv4, [1] IPv6 (each has its own map) */
	struct nfo_conn *wheel[NFO_WHEEL_SLOTS];
	/* Due, not yet checked (nfo_flowtable_gc_due): linked like a wheel slot. */
	struct nfo_conn *due;
	uint32_t now; /* wheel time, seconds */
};

int nfo_flowtable_init(struct nfo_flowtable *ft);
/* Frees every connection still in the table (the fast path is not touched). */
void nfo_flowtable_free(struct nfo_flowtable *ft);
/* The hash of a connection's original tuple and zone (for other indexes too). */
uint32_t nfo_flowtable_hash(const struct nfo_tuple *orig, uint16_t zone);
struct nfo_conn *nfo_flowtable_find(struct nfo_flowtable *ft, const struct nfo_tuple *orig,
				    uint16_t zone);
/*
 * The connection a fast-path entry (as a teardown event names it) belongs
 * to, zone 0, if its conntrack id matches.
 */
struct nfo_conn *nfo_flowtable_find_entry(struct nfo_flowtable *ft, uint8_t family,
					  const union nfo_key *key, const struct nfo_flow *flow);
/* Insert a connection the caller allocated (calloc) without the fast path. */
void nfo_flowtable_insert(struct nfo_flowtable *ft, struct nfo_conn *c);
/* Unlink (hash and wheel); the caller frees. */
void nfo_flowtable_remove(struct nfo_flowtable *ft, struct nfo_conn *c);
/* (Re)schedule the idle check at wheel time `when` (the past: the next second). */
void nfo_flowtable_schedule(struct nfo_flowtable *ft, struct nfo_conn *c, uint32_t when);
/* Visit every connection; cb may delete the one it is given. */
void nfo_flowtable_foreach(struct nfo_flowtable *ft, void (*cb)(struct nfo_conn *c, void *arg),
			   void *arg);
/*
 * The same walk in steps, for a table too large to walk between two events:
 * each call visits up to `buckets` hash buckets from where the last one
 * stopped and returns true once the whole table was walked. Start with a
 * zeroed cursor. Connections inserted or deleted between steps are fine;
 * a table that grew meanwhile (re-hashed) is walked again from the start,
 * so cb may see a connection twice and must not mind. While a grow is under
 * way, a step moves `buckets` old buckets instead (visiting nothing).
 */
struct nfo_flowtable_cursor {
	uint32_t next; /* the next bucket */
	uint32_t hmask; /* the table's mask when the walk started (0: not started) */
};

bool nfo_flowtable_foreach_step(struct nfo_flowtable *ft, struct nfo_flowtable_cursor *cur,
				uint32_t buckets, void (*cb)(struct nfo_conn *c, void *arg),
				void *arg);
/* The ingress device of one direction. */
uint32_t nfo_conn_ifindex(const struct nfo_conn *c, int dir);

/* ---- lifecycle ---------------------------------------------------------- */

/*
 * Write both directions into the fast path, reply first (once the original
 * direction bypasses conntrack, replies must too), each stamped created at
 * now_ns, and insert c into the table. On failure nothing of it is left in
 * the fast path, c is not inserted and the error (-errno) is returned.
 */
int nfo_flow_offload_add(struct nfo_flowtable *ft, struct nfo_dp *dp, struct nfo_conn *c,
			 struct nfo_flow flow[2], uint64_t now_ns);
/*
 * Many at once (an admission batch): c[i] with the flows e[i].flow, each as
 * nfo_flow_offload_add, in as few calls to the data plane as the order of
 * their families allows. e[i].key is filled in from c[i]. err[i] is 0 (c[i]
 * inserted) or -errno (nothing of it left, not inserted).
 */
void nfo_flow_offload_add_many(struct nfo_flowtable *ft, struct nfo_dp *dp, struct nfo_conn **c,
			       struct nfo_dp_conn *e, unsigned int n, uint64_t now_ns, int *err);

/*
 * Conntrack's timeout held at `timeout` seconds while the fast path carries it;
 * TCP's highest ACK forgotten again.
 */
void nfo_flow_offload_refresh(struct nfo_nl_batch *b, const struct nfo_conn *c, uint32_t timeout);

/* The fast path saw FIN/RST: conntrack normally reports the close within
 * milliseconds; check the connection again in 2 s in case it does not. */
void nfo_flow_offload_teardown(struct nfo_flowtable *ft, struct nfo_conn *c, uint32_t now_s);

/* Both entries out of the fast path, c out of the table, freed. */
void nfo_flow_offload_del(struct nfo_flowtable *ft, struct nfo_dp *dp, struct nfo_conn *c);

/* How a connection leaving the fast path goes back to conntrack. */
enum nfo_fixup {
	NFO_FIXUP_NONE, /* conntrack set its own timeout, or forgot the entry */
	NFO_FIXUP_TIMEOUT, /* the timeout its state has, minus the idle time */
	NFO_FIXUP_REJUDGE, /* the same, and our mark cleared: the ruleset judges again */
	NFO_FIXUP_CLOSING, /* FIN/RST seen by the fast path only: the closing timeout */
	NFO_FIXUP_MARK, /* not offloaded: only our mark cleared */
};

/*
 * THE hand-back to conntrack: append the update `how` asks for.
 * TIMEOUT/REJUDGE: the timeout conntrack would have had (its protocol/state
 * timeout minus the time the flow has been idle already), TCP window
 * tracking liberal (ACKs seen while offloaded are stale).
 * CLOSING: for a TCP flow whose FIN/RST the fast path saw while conntrack
 * still has it ESTABLISHED (it can hold an RST back as out of window: its
 * record of ACKs went stale while packets bypassed it): the FIN_WAIT
 * timeout, window tracking liberal, our mark cleared. If the connection
 * lives on, its next packet through conntrack refreshes it.
 */
void nfo_flow_offload_fixup_ct(struct nfo_nl_batch *b, enum nfo_fixup how,
			       const struct nfo_tuple *orig, uint16_t zone, uint8_t tcp_state,
			       bool assured, uint32_t idle_s, uint32_t mark_bit);

/* ---- gc step -------------------------------------------------------------- */

/*
 * Advance the wheel to `now_s` and detach every connection due; they come
 * back as a list linked through wnext (unscheduled, still in the table).
 */
struct nfo_conn *nfo_flowtable_gc_step(struct nfo_flowtable *ft, uint32_t now_s);
/*
 * The same, for checks taken a few at a time: advance the wheel to `now_s`
 * and keep what is due on the table's due list; nfo_flowtable_gc_next takes
 * them off one by one (NULL: none left). A connection removed or
 * rescheduled meanwhile leaves the due list.
 */
void nfo_flowtable_gc_due(struct nfo_flowtable *ft, uint32_t now_s);
struct nfo_conn *nfo_flowtable_gc_next(struct nfo_flowtable *ft);

enum nfo_gc_verdict {
	NFO_GC_ALIVE, /* in use: refresh, check again at `next` */
	NFO_GC_GONE, /* an entry was deleted behind our back (CLI evict/flush) */
	NFO_GC_TEARDOWN, /* FIN/RST seen by the fast path, conntrack said nothing */
	NFO_GC_IDLE, /* no packet for idle_timeout seconds */
};

/*
 * What a due connection is, from its two fast-path entries: *idle_s is the
 * time since its last packet, *next the wheel time of its next check,
 * *ct_held whether both entries still ask the fast path to hold conntrack
 * (NFO_FLOW_CT_HOLD).
 */
enum nfo_gc_verdict nfo_flow_offload_gc(struct nfo_dp *dp, const struct nfo_conn *c,
					uint64_t now_ns, uint32_t now_s, uint32_t idle_timeout,
					uint32_t *idle_s, uint32_t *next, bool *ct_held);

/* ---- whole connections from the fast path's entries ---------------------- */

/* One connection as the fast path holds it: either direction may be missing. */
struct nfo_fp_conn {
	uint8_t family;
	uint32_t ct_id;
	struct nfo_tuple orig; /* identifies the connection to conntrack */
	bool have[2];
	union nfo_key key[2];
	struct nfo_flow flow[2];
};

/*
 * Entries paired into connections: by original tuple (nfo_entry_orig) and
 * conntrack id together, since ct ids are 32-bit hashes that collide and a
 * tuple may be reused by a newer connection. An original direction keyed
 * after a bridge's destination NAT does not name the connection: it joins
 * its reply by conntrack id once every entry is in (nfo_fp_conns_finish).
 */
struct nfo_fp_conns {
	struct nfo_fp_conn *v;
	size_t n, cap;
	uint32_t *idx; /* open addressing on the tuple: index + 1 */
	size_t isize;
	struct nfo_fp_conn *late; /* after-DNAT originals, paired by ct id */
	size_t nlate, caplate;
};

/* Add one entry (pure: tests feed it directly). -ENOMEM. */
int nfo_fp_conns_add(struct nfo_fp_conns *cs, uint8_t family, const union nfo_key *key,
		     const struct nfo_flow *flow);
/* Pair what waited for every entry. -ENOMEM. */
int nfo_fp_conns_finish(struct nfo_fp_conns *cs);
/* Read every entry of both families into cs (zeroed first) and pair them. */
int nfo_fp_conns_read(struct nfo_dp *dp, struct nfo_fp_conns *cs);
/* The connection with this original tuple (any ct id), or NULL. */
struct nfo_fp_conn *nfo_fp_conns_find(const struct nfo_fp_conns *cs, const struct nfo_tuple *orig);
void nfo_fp_conns_free(struct nfo_fp_conns *cs);

/*
 * THE iterator: every connection in the fast path, whole, once. cb returns
 * non-zero to stop (that value is returned). It may delete entries.
 */
typedef int (*nfo_fp_conn_cb)(const struct nfo_fp_conn *c, void *arg);
int nfo_fp_foreach_conn(struct nfo_dp *dp, nfo_fp_conn_cb cb, void *arg);

/* Its last packet (ns, 0 if none) and whether the fast path saw a FIN/RST. */
void nfo_fp_conn_usage(const struct nfo_fp_conn *c, uint64_t *last_used, bool *fin);

/* ---- selecting and handing back connections (the CLI, stop) -------------- */

/* Which connections an eviction selects; any field zero/empty matches all. */
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
/* Does either direction of the connection match? */
bool nfo_filter_match_conn(const struct nfo_filter *f, const struct nfo_fp_conn *c);

/*
 * Evict the connections the filter selects from the fast path (both
 * directions, final counts queued for the daemon's per-host totals) and hand
 * them back to conntrack: the CLI's flush and evict. Returns the number of
 * connections evicted, or -errno.
 */
long nfo_flowtable_evict(struct nfo_dp *dp, const struct nfo_filter *f, uint32_t mark_bit);

/*
 * Stop: every marked conntrack entry loses the mark; those in the fast path
 * also get their timeout back (from their state, minus the time they were
 * idle). Returns how many offloaded connections were handed back.
 */
long nfo_flowtable_handback_all(struct nfo_dp *dp, uint32_t mark_bit);

/*
 * Clear our mark bit on every conntrack entry that carries it. A mark no
 * daemon vouches for must not offload a flow later without the ruleset
 * judging it again. Returns the number of entries cleared, or -errno.
 */
long nfo_ct_clear_marks(uint32_t mark_bit);
/* The same for the entries `which` selects (all if NULL). */
long nfo_ct_clear_marks_if(uint32_t mark_bit, bool (*which)(const struct nfo_ct *ct, void *arg),
			   void *arg);

#endif
