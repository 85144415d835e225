/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's context: what links its parts (see the files named after each
 * job), the types they share, and small helpers. Included by every part.
 */
#ifndef NFO_DAEMON_CTX_H
#define NFO_DAEMON_CTX_H

#include "addrset.h"
#include "ctdump.h"
#include "ctqueue.h"
#include "exporter.h"
#include "nftset.h"
#include "pindir.h"
#include "policy.h"
#include "routenote.h"
#include "waitq.h"
#include "xfrm.h"

#define PENDING_MAX 512
#define PENDING_INDEX (2 * PENDING_MAX) /* slots of the queue's index: a power of 2 */
/*
 * Requests per netlink batch: the answers must fit in the socket's receive
 * buffer (each costs about a kilobyte of it), or they are lost (ENOBUFS).
 */
#define BATCH_MAX 128
#define LAT_BUCKETS 512

struct dev {
	char name[IFNAMSIZ];
	enum nfo_mode want; /* as configured (auto resolved at attach) */
	enum nfo_mode mode; /* as attached */
	uint32_t ifindex; /* 0 while the device does not exist */
	uint32_t slot;
	uint32_t flags; /* NFO_DEV_* */
	bool attached;
	bool up;
	bool netdev_chain; /* a netdev chain hooks it: kernel path only */
	bool owner_lost; /* our program was found replaced or gone */
	uint8_t mac[6];
	uint32_t master; /* bridge it is a port of, when it became one while running */
	bool bridge; /* a bridge device */
};

struct ct_answer {
	struct nfo_ct ct;
	uint64_t rx_ns; /* the mark notification that asked, or the flush */
};

struct pending {
	struct nfo_ct ct;
	uint64_t rx_ns; /* when the event was read */
	uint32_t oif[2]; /* route lookups: ingress of each direction */
	int rt[2]; /* which lookup of the batch answers each direction */
	bool ok; /* still to be admitted */
	bool gone; /* conntrack reported its end while it was queued */
	struct nfo_conn *conn; /* its flow entries, written: conntrack's answer awaited */
	struct nfo_nflog_route route[2]; /* policy routing: as the kernel routed each direction */
};

/*
 * Each part owns the state below that is named after it: only its own file
 * writes it (others may read). The context links them.
 */

/* ctreq.c: conntrack requests and the answers queued for the intake. */
struct ctreq_state {
	struct nfo_nl ct_req; /* conntrack requests */
	struct nfo_nl_batch ct_batch;
	/*
	 * Updates that never touch a mark (the admission's hold and liberal
	 * tracking, the holds of offloaded connections) go out on a socket of
	 * their own, whose events the intake filters out: they would only say
	 * what the daemon already knows. Everything that clears a mark goes on
	 * ct_req, whose events the intake reads, in order with the events it
	 * read ahead: a "marked" event queued before a mark was cleared is
	 * followed by the "unmarked" one.
	 */
	struct nfo_nl ct_quiet;
	struct nfo_nl_batch hold_batch;
	struct ct_answer *answers; /* answers to GET requests, for intake_settle */
	size_t nanswers, answers_cap;
	uint64_t get_since; /* when the oldest GET in the batch was asked for by nflog */
};

/* intake.c: conntrack events, mark notifications, dumps. */
struct intake_state {
	struct nfo_nl ct_ev; /* conntrack events */
	struct nfo_nl ct_dump; /* conntrack dumps: never shared with requests */
	struct nfo_nl nflog; /* packets that set a mark bit (nflog group) */
	uint32_t gen; /* resync generation */
	bool resync_due;
	uint32_t settle_at; /* a follow-up resync after a loss (wheel seconds) */
	/*
	 * Catch-up dumps: conntrack entries created while no event listener
	 * existed (before the daemon started, with nf_conntrack_events = 2)
	 * never report their mark. Dump the marked ones 2, 10 and 30 s after
	 * the start and after each ruleset re-validation (which clears marks
	 * such entries will not report again), then every 10 minutes.
	 */
	uint32_t catchup_at;
	unsigned int catchups;
	uint64_t dumped; /* entries of the dump in progress */
	/* The dump in progress, read in slices between events (resync). */
	struct nfo_ctdump dump;
	const char *dump_why;
	uint64_t dump_admitted; /* offloaded_total when it started */
	uint64_t dump_handbacks; /* the others' full hand-backs when it started */
	/*
	 * Conntrack event losses (each voids a running dump: the touches of
	 * the lost events are missing, so it may deliver a connection older
	 * than a change it no longer hears of), and their count when the
	 * dump in progress started.
	 */
	uint64_t ev_losses, dump_ev_losses;
	/*
	 * After the dump: the walk of the table for what it no longer
	 * reported (gone), in steps between events like the dump itself.
	 */
	bool sweeping;
	struct nfo_flowtable_cursor sweep;
	long swept_gone;
	uint64_t bg_next_ns; /* the dump's next slice or the walk's next step, not before */
	struct nfo_ctq ctq; /* conntrack events read, not yet acted on */
	bool ctq_lost; /* one did not fit */
	int nflog_buf; /* receive buffer of the nflog socket, bytes */
	int ct_ev_buf; /* receive buffer of the conntrack event socket, bytes */
	uint64_t netlink_marks_cleared; /* marks not set by our ruleset */
	/* What the other parts asked for, as far as the intake followed. */
	uint64_t update_failures_seen, catchups_asked_seen;
};

/* gc.c: connections leaving the fast path. */
struct gc_state {
	/* Full hand-backs (evict_all): marks cleared, a running dump is older. */
	uint64_t evict_alls;
	uint64_t next_ns; /* the next step of idle checks (idle_gc_step), not before */
	uint64_t ct_hold_failures; /* conntrack holds the fast path could not make */
};

/* admit.c: the admission queue and its batches. */
struct admit_state {
	struct pending pend[PENDING_MAX];
	int npend;
	uint16_t pend_index[PENDING_INDEX]; /* by tuple hash: 1 + pend index, 0 empty */
	int prep[PENDING_MAX]; /* admission batch request -> pend index */
	int nprep;
	uint32_t rt_oif[NFO_ADDRSET_MAX]; /* answers of the route batch, by lookup */
	struct nfo_nl_batch rt_batch, adm_batch;
	uint64_t lat[LAT_BUCKETS]; /* latency from notification to map write */
	uint64_t lat_max;
	uint64_t skip_devices, skip_conntrack, skip_logged; /* admissions dropped */
	uint64_t skip_keptoff; /* admissions refused: netdev chain or xfrm policy */
	uint64_t last_full_warn;
	/* flows by default: conntrack's limit when the table was sized, then as last seen */
	long long ct_limit;
	uint64_t update_failures; /* batches of conntrack updates that failed */
};

/* ruleset.c: the ruleset watch and what keeps flows on the kernel path. */
struct ruleset_state {
	struct nfo_nl nft_ev; /* ruleset generations */
	uint64_t revalidate_again_ns; /* second pass of a re-validation, or 0 */
	bool revalidate_due;
	/*
	 * Set element changes: those of the transactions read so far
	 * (committed: up to the last NEWGEN of the user's), and those the
	 * second pass of a targeted re-validation must look at again.
	 */
	struct nfo_setchg setchg, again_chg;
	size_t setchg_committed;
	bool setchg_due, again_targeted;
	bool table_created;
	char table_text[8192]; /* our table as listed right after install */
	struct nfo_xfrm xfrm; /* xfrm policies that apply to forwarded packets */
	struct nfo_nl xfrm_ev; /* their events */
	bool xfrm_ev_open;
	/* Re-validations that cleared marks: the intake dumps again (catch-up). */
	uint64_t catchups_asked;
	/* Second passes of a re-validation (marks cleared): a running dump is older. */
	uint64_t second_passes;
	bool catchup_targeted; /* only the entries one set change concerned */
};

/* iprules.c: policy routing. */
struct iprules_state {
	struct nfo_policy pol; /* ip rules beyond the defaults */
	struct nfo_routenotes notes; /* how logged packets were routed (with pol.rules) */
	bool policy_due; /* rules changed: read them again */
	bool notes_nomem; /* said once */
	uint64_t skip_policy, skip_policy_logged;
};

/* devices.c: the offload devices. */
struct devices_state {
	struct dev devs[NFO_MAX_DEVICES];
	int ndevs;
};

struct daemon {
	struct nfo_config *cfg;
	struct nfo_dp *dp;
	/* The flow table core: admit.c adds, gc.c takes out, everyone finds. */
	struct nfo_flowtable tab;
	struct nfo_waitq waitq; /* marked connections waiting for room (admit.c) */
	struct nfo_state st; /* published for status (counters: each its own) */
	struct nfo_exporter mx; /* metrics */

	struct ctreq_state ctreq;
	struct intake_state in;
	struct gc_state gc;
	struct admit_state adm;
	struct ruleset_state rs;
	struct iprules_state rules;
	struct devices_state dv;

	/* loop.c */
	struct nfo_nl rt_ev; /* links and routes (read by devices.c) */
	struct nfo_nl rt_req; /* route lookups, link and rule queries */
	int epfd, sigfd, timerfd, lockfd;
	bool dump_armed; /* the dump socket in the epoll set (one shot at a time) */
	bool stop;
	bool runrec_written;
	struct nfo_pins_before pins_before; /* what a failed start must not remove */
};

/*
 * NFO_EVICTS (nfo_abi.h): idle; closing (TCP left ESTABLISHED: conntrack saw
 * FIN/RST); destroyed (conntrack entry gone); unmarked (someone cleared our
 * mark bit); ruleset (re-validation after a ruleset change); device (a device
 * went away or down); gone (missing from a resync dump); route moved (the
 * route of a source-NATed flow moved: the stack decides); teardown (FIN/RST
 * seen by the fast path, conntrack said nothing); kept off (a netdev chain or
 * an xfrm policy now applies to it: the fast path would skip it).
 */
enum evict_why {
#define X(e, label) EVICT_##e,
	NFO_EVICTS(X)
#undef X
};

uint64_t mono_now_ns(void);
uint32_t mono_now_s(void);
const char *tuple_str(const struct nfo_tuple *t, char *buf, size_t len);
void publish_state(struct daemon *d);

#endif
