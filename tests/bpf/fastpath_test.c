// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastpath_test: run the fast path programs on crafted packets with
 * BPF_PROG_TEST_RUN and compare verdict, counters and output bytes with the
 * expectations in a vector file (see gen_vectors.py), then fuzz them.
 *
 * Runs inside the network namespace built by run.sh (bpf_fib_lookup uses the
 * namespace's real routes and neighbours).
 *
 *   fastpath_test VECTORS [--fuzz N] [--seed S] [-v]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "dp_bpf.h"
#include "log.h"

#define MAX_PKT 4096
#define MAX_FLOWS 8

struct tflow {
	struct nfo_tuple in, out;
	uint32_t ifindex;
	int teardown;
	uint32_t snat_oif;
	uint32_t oif; /* egress of the last forwarded packet */
	int has_tcp; /* last segment seen: ACK number and window */
	uint32_t tcp_ack;
	uint16_t tcp_window;
	uint32_t mark; /* policy routing */
	uint32_t route_oif;
	uint32_t nh_oif; /* a next hop already cached (0: none) */
	uint8_t nh_dmac[6];
	uint16_t nh_mtu;
	char nh_state[16]; /* fresh, oldgen, expired, ancient, tos */
	int cthold; /* NFO_FLOW_CT_HOLD */
	/*
	 * Last used in the "same" short period of the holds (2^31 ns), the
	 * "previous" one (in the same long period, 2^33 ns), or the previous
	 * long period ("previous33"); "phase-same" / "phase-next": the clock's
	 * long period and the flow's own (from its phase) differ since the last
	 * use, see cthold_cases() in gen_vectors.py; else never used. created_old: admitted
	 * a minute ago (past the short periods of a young flow), else now.
	 */
	char last_used[16];
	int created_old;
};

struct tcase {
	char name[128];
	int xdp;
	struct tflow flows[MAX_FLOWS];
	int nflows;
	uint32_t iif, oif;
	uint32_t gso_size, gso_segs;
	uint8_t in[MAX_PKT], out[MAX_PKT];
	size_t in_len, out_len;
	char verdict[16], reason[32];
	uint64_t count_pkts, count_bytes;
	int teardown_after; /* -1: not checked */
	int prio; /* tc: the skb priority the program must leave, or -1: not checked */
	int track; /* check the forwarding entry's TCP ACK number and window */
	uint32_t track_ack, track_window;
	int cthold_after; /* entries flagged NFO_FLOW_CT_HOLD after the run; -1: not checked */
	int cthold_events; /* failed holds reported */
	int fuzz;
};

struct tdev {
	char name[IFNAMSIZ];
	uint32_t ifindex, slot, flags;
	uint8_t mac[6];
};

static struct nfo_dp *dp;
static struct ring_buffer *events;
static int nevents, last_event_type, nhold_failed;

static int event_cb(void *ctx, void *data, size_t len)
{
	const struct nfo_event *e = data;

	if (len >= sizeof(*e) && e->type == NFO_EVENT_CT_HOLD_FAILED) {
		nhold_failed++;
		return 0;
	}
	nevents++;
	last_event_type = len >= sizeof(*e) ? (int)e->type : -1;
	return 0;
}
static struct tdev devs[16];
static int ndevs;
static int verbose;
static int failures, tests;
static struct tcase *fuzz_base[64];
static int nfuzz_base;

static void fail(const struct tcase *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(const struct tcase *c, const char *fmt, ...)
{
	va_list ap;

	printf("not ok %d - %s: ", tests, c->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

static struct tdev *dev_by_name(const char *name)
{
	int i;

	for (i = 0; i < ndevs; i++)
		if (!strcmp(devs[i].name, name))
			return &devs[i];
	fprintf(stderr, "unknown device %s in vectors\n", name);
	exit(2);
}

static struct tdev *dev_by_index(uint32_t ifindex)
{
	int i;

	for (i = 0; i < ndevs; i++)
		if (devs[i].ifindex == ifindex)
			return &devs[i];
	return NULL;
}

static void add_dev(const char *name, const char *flags)
{
	struct tdev *d = &devs[ndevs];
	struct nfo_dev nd = {};
	struct nfo_slot ns = {};
	struct ifreq ifr = {};
	int s;

	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ifindex = if_nametoindex(name);
	if (!d->ifindex) {
		fprintf(stderr, "device %s: %s\n", name, strerror(errno));
		exit(2);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr)) {
		perror("SIOCGIFHWADDR");
		exit(2);
	}
	close(s);
	memcpy(d->mac, ifr.ifr_hwaddr.sa_data, 6);
	ndevs++;
	if (!strcmp(flags, "none"))
		return;
	d->slot = ndevs;
	if (strstr(flags, "tc"))
		d->flags |= NFO_DEV_TC;
	if (strstr(flags, "xdp"))
		d->flags |= NFO_DEV_XDP;
	if (strstr(flags, "xdp_tx"))
		d->flags |= NFO_DEV_XDP_TX;
	nd.slot = d->slot;
	nd.flags = d->flags;
	memcpy(nd.mac, d->mac, 6);
	ns.ifindex = d->ifindex;
	ns.flags = d->flags;
	snprintf(ns.name, sizeof(ns.name), "%s", name);
	if (nfo_dp_dev_set(dp, d->ifindex, &nd) || nfo_dp_slot_set(dp, d->slot, &ns)) {
		perror("devices map");
		exit(2);
	}
}

static size_t unhex(const char *s, uint8_t *buf)
{
	size_t n = 0;

	while (s[0] && s[1] && s[0] != '\n' && n < MAX_PKT) {
		unsigned int b;

		sscanf(s, "%2x", &b);
		buf[n++] = b;
		s += 2;
	}
	return n;
}

static void parse_tuple(struct nfo_tuple *t, const char *fam, const char *proto,
			const char *s, int sp, const char *d, int dp_)
{
	memset(t, 0, sizeof(*t));
	t->family = strcmp(fam, "ip") ? AF_INET6 : AF_INET;
	t->l4proto = strcmp(proto, "tcp") ? IPPROTO_UDP : IPPROTO_TCP;
	inet_pton(t->family, s, &t->src);
	inet_pton(t->family, d, &t->dst);
	t->sport = htons(sp);
	t->dport = htons(dp_);
}

static int read_case(FILE *f, struct tcase *c)
{
	char line[16384], a[8][64];
	int n[4];

	memset(c, 0, sizeof(*c));
	c->teardown_after = -1;
	c->prio = -1;
	c->cthold_after = -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		if (sscanf(line, "dev %63s %63s", a[0], a[1]) == 2) {
			add_dev(a[0], a[1]);
		} else if (sscanf(line, "case %127s", c->name) == 1) {
		} else if (sscanf(line, "prog %63s", a[0]) == 1) {
			c->xdp = !strcmp(a[0], "xdp");
		} else if (!strncmp(line, "flow ", 5)) {
			struct tflow *fl = &c->flows[c->nflows++];

			if (sscanf(line, "flow %63s %63s %63s %63s %d %63s %d %63s %d %63s %d", a[0],
				   a[1], a[2], a[3], &n[0], a[4], &n[1], a[5], &n[2], a[6],
				   &n[3]) != 11)
				goto bad;
			parse_tuple(&fl->in, a[0], a[1], a[3], n[0], a[4], n[1]);
			{
				int ns, nd;

				sscanf(line, "flow %*s %*s %*s %*s %*d %*s %*d %63s %d %63s %d",
				       a[5], &ns, a[6], &nd);
				parse_tuple(&fl->out, a[0], a[1], a[5], ns, a[6], nd);
			}
			fl->ifindex = dev_by_name(a[2])->ifindex;
			fl->teardown = strstr(line, " teardown") != NULL;
			fl->cthold = strstr(line, " cthold") != NULL;
			if (strstr(line, " last_used "))
				sscanf(strstr(line, " last_used ") + 11, "%15s", fl->last_used);
			fl->created_old = strstr(line, " created_old") != NULL;
			if (strstr(line, " snat_oif ")) {
				sscanf(strstr(line, " snat_oif ") + 10, "%63s", a[7]);
				fl->snat_oif = dev_by_name(a[7])->ifindex;
			}
			if (strstr(line, " oif ")) {
				sscanf(strstr(line, " oif ") + 5, "%63s", a[7]);
				fl->oif = dev_by_name(a[7])->ifindex;
			}
			if (strstr(line, " mark "))
				sscanf(strstr(line, " mark ") + 6, "%u", &fl->mark);
			if (strstr(line, " route_oif ")) {
				sscanf(strstr(line, " route_oif ") + 11, "%63s", a[7]);
				fl->route_oif = dev_by_name(a[7])->ifindex;
			}
			if (strstr(line, " nh ")) {
				unsigned int m[6], mtu;

				if (sscanf(strstr(line, " nh ") + 4,
					   "%63s %x:%x:%x:%x:%x:%x %u %15s", a[7], &m[0], &m[1],
					   &m[2], &m[3], &m[4], &m[5], &mtu, fl->nh_state) != 9)
					goto bad;
				fl->nh_oif = dev_by_name(a[7])->ifindex;
				for (int i = 0; i < 6; i++)
					fl->nh_dmac[i] = m[i];
				fl->nh_mtu = mtu;
			}
			if (strstr(line, " ackwin ")) {
				unsigned int w;

				fl->has_tcp = sscanf(strstr(line, " ackwin ") + 8, "%u %u",
						     &fl->tcp_ack, &w) == 2;
				fl->tcp_window = w;
			}
		} else if (sscanf(line, "iif %63s", a[0]) == 1) {
			c->iif = dev_by_name(a[0])->ifindex;
		} else if (sscanf(line, "oif %63s", a[0]) == 1) {
			c->oif = dev_by_name(a[0])->ifindex;
		} else if (sscanf(line, "gso %u %u", &c->gso_size, &c->gso_segs) == 2) {
		} else if (!strncmp(line, "in ", 3)) {
			c->in_len = unhex(line + 3, c->in);
		} else if (!strncmp(line, "out ", 4)) {
			c->out_len = unhex(line + 4, c->out);
		} else if (sscanf(line, "expect %15s", c->verdict) == 1) {
		} else if (sscanf(line, "reason %31s", c->reason) == 1) {
		} else if (sscanf(line, "priority %d", &c->prio) == 1) {
			;
		} else if (sscanf(line, "count %lu %lu", &c->count_pkts, &c->count_bytes) == 2) {
		} else if (sscanf(line, "teardown %d", &c->teardown_after) == 1) {
		} else if (sscanf(line, "cthold %d %d", &c->cthold_after, &c->cthold_events) == 2) {
		} else if (sscanf(line, "track %u %u", &c->track_ack, &c->track_window) == 2) {
			c->track = 1;
		} else if (!strcmp(line, "fuzz")) {
			c->fuzz = 1;
		} else if (!strcmp(line, "end")) {
			return 1;
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	fprintf(stderr, "bad vector line: %.80s\n", line);
	exit(2);
}

static int clear_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		    void *arg)
{
	nfo_dp_flow_del(dp, family, key);
	return 0;
}

static void clear_flows(void)
{
	nfo_dp_flow_foreach(dp, AF_INET, clear_cb, NULL);
	nfo_dp_flow_foreach(dp, AF_INET6, clear_cb, NULL);
}

/* The flows of one case are one connection: same id, directions in order. */
static void install(const struct tflow *fl, uint32_t id, uint8_t dir)
{
	union nfo_key key;
	struct nfo_flow flow;

	nfo_flow_build(&fl->in, &fl->out, fl->ifindex, id, dir, &key, &flow);
	flow.teardown = fl->teardown;
	if (fl->cthold)
		flow.flags |= NFO_FLOW_CT_HOLD;
	{
		/*
		 * The fast path reads a coarse clock: keep 50 ms away from the
		 * ends of the periods the case needs. The periods are the
		 * flow's own: they begin at its phase.
		 */
		const uint64_t shortp = 1ULL << NFO_CT_HOLD_YOUNG_SHIFT,
			       longp = 1ULL << NFO_CT_HOLD_SHIFT, margin = 50000000ULL;
		const uint64_t ph = flow.family == AF_INET6 ? nfo_ct_hold_phase6(&key.k6)
							    : nfo_ct_hold_phase4(&key.k4);
		struct timespec ts;
		uint64_t now, pnow;

		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
			pnow = now + ph;
			if (!strcmp(fl->last_used, "phase-same") || !strcmp(fl->last_used, "phase-next")) {
				/*
				 * The clock's long period and the flow's differ
				 * between the last use and now: "phase-same", the
				 * clock's began and the flow's did not (no hold);
				 * "phase-next", the other way round (a hold).
				 */
				bool same = !strcmp(fl->last_used, "phase-same");
				/* How far the flow's start lies before (same) or after the clock's. */
				uint64_t gap = same ? ph : longp - ph;

				if (gap < 4 * margin) {
					fprintf(stderr, "case tuple's phase %llu ns does not fit %s\n",
						(unsigned long long)ph, fl->last_used);
					exit(2);
				}
				if (now % longp > margin && now % longp + margin < longp &&
				    (same ? now % longp + gap + margin < longp : now % longp > gap + margin))
					break;
			} else if (!fl->last_used[0] ||
				   (pnow % shortp > margin && shortp - pnow % shortp > margin &&
				    (strcmp(fl->last_used, "previous") ||
				     (pnow % longp > shortp + margin && longp - pnow % longp > margin)))) {
				break;
			}
			usleep(20000);
		}
		flow.created_ns = fl->created_old ? now - 60000000000ULL : now;
		if (!strcmp(fl->last_used, "same"))
			flow.last_used_ns = now - pnow % shortp + 1;
		else if (!strcmp(fl->last_used, "previous"))
			flow.last_used_ns = now - shortp;
		else if (!strcmp(fl->last_used, "previous33"))
			flow.last_used_ns = now - longp;
		else if (!strcmp(fl->last_used, "phase-same")) /* between the two starts */
			flow.last_used_ns = now - now % longp - ph / 2;
		else if (!strcmp(fl->last_used, "phase-next"))
			flow.last_used_ns = now - now % longp + (longp - ph) / 2;
	}

	flow.snat_oif = fl->snat_oif;
	flow.oif = fl->oif;
	flow.mark = fl->mark;
	flow.route_oif = fl->route_oif;
	if (fl->nh_oif) {
		flow.oif = fl->nh_oif;
		memcpy(flow.nh_dmac, fl->nh_dmac, 6);
		memcpy(flow.nh_smac, dev_by_index(fl->nh_oif)->mac, 6);
		flow.nh_mtu = fl->nh_mtu;
		flow.nh_gen = nfo_dp_route_gen(dp) - !strcmp(fl->nh_state, "oldgen");
		flow.nh_tos = !strcmp(fl->nh_state, "tos") ? 0x10 : 0;
		{
			struct timespec ts;
			uint32_t now;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = (uint64_t)(ts.tv_sec * 1000000000ULL + ts.tv_nsec) >> 20;
			/*
			 * Expired 0.1 s ago (the fast path reads a coarse
			 * clock); ancient: past its age so long ago that the
			 * 32-bit time looks ahead again (2^31 units, 26 days);
			 * otherwise good for 0.9 s, within the fast path's
			 * longest (about a second).
			 */
			if (!strcmp(fl->nh_state, "expired"))
				flow.nh_until = now - 100;
			else if (!strcmp(fl->nh_state, "ancient"))
				flow.nh_until = now + (1U << 31) - 100;
			else
				flow.nh_until = now + 900;
		}
	}
	if (fl->has_tcp) {
		flow.tcp_ack = htonl(fl->tcp_ack);
		flow.tcp_doff_flags = htons(0x5010); /* as a bare ACK carries */
		flow.tcp_window = htons(fl->tcp_window);
	}
	if (nfo_dp_flow_add(dp, fl->in.family, &key, &flow, true)) {
		perror("flow add");
		exit(2);
	}
}

/* The skb priority the tc program left, from the last run. */
static uint32_t last_priority;

static int run_prog(int xdp, uint32_t iif, uint32_t gso_size, uint32_t gso_segs,
		    const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len,
		    uint32_t *retval)
{
	struct __sk_buff skb = {}, skb_out = {};
	struct xdp_md xmd = {};
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in, .data_size_in = in_len,
		    .data_out = out, .data_size_out = MAX_PKT, .repeat = 1);
	int err;

	if (xdp) {
		xmd.ingress_ifindex = iif;
		xmd.data_end = in_len;
		t.ctx_in = &xmd;
		t.ctx_size_in = sizeof(xmd);
	} else {
		skb.ifindex = iif;
		skb.gso_size = gso_size;
		skb.gso_segs = gso_segs;
		t.ctx_in = &skb;
		t.ctx_size_in = sizeof(skb);
		t.ctx_out = &skb_out;
		t.ctx_size_out = sizeof(skb_out);
	}
	err = bpf_prog_test_run_opts(nfo_dp_prog_fd(dp, xdp), &t);
	if (err)
		return -errno;
	last_priority = skb_out.priority;
	*out_len = t.data_size_out;
	*retval = t.retval;
	return 0;
}

static const char *verdict_name(int xdp, uint32_t r)
{
	if (xdp)
		return r == XDP_REDIRECT ? "redirect" : r == XDP_PASS ? "pass" :
		       r == XDP_DROP ? "drop" : "other";
	return r == TC_ACT_REDIRECT ? "redirect" : r == (uint32_t)TC_ACT_UNSPEC ? "pass" :
	       r == TC_ACT_SHOT ? "drop" : "other";
}

static const char *const reason_keys[] = {
#define X(e, key, desc) key,
	NFO_REASONS(X)
#undef X
};

struct hit {
	uint64_t packets, bytes;
	uint32_t oif, tcp_ack, tcp_window;
	int hits, teardowns;
	int tcp_learnt; /* entries holding a TCP segment's ACK, flags or window */
};

static int hit_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		  void *arg)
{
	struct hit *h = arg;

	if (flow->packets) {
		h->hits++;
		h->packets += flow->packets;
		h->bytes += flow->bytes;
		h->oif = flow->oif;
		h->tcp_ack = ntohl(flow->tcp_ack);
		h->tcp_window = ntohs(flow->tcp_window);
		if (!flow->last_used_ns)
			h->hits = 100; /* counted but no timestamp: flag it */
	}
	if (flow->teardown)
		h->teardowns++;
	if (flow->tcp_ack || flow->tcp_doff_flags || flow->tcp_window)
		h->tcp_learnt++;
	return 0;
}

/*
 * Entries that hold a cached next hop with the egress device's MTU (every
 * device here has 1280 or more; the lookup answers the MTU, not the length
 * of the packet it checked).
 */
static int cthold_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		     void *arg)
{
	(void)family;
	(void)key;
	*(int *)arg += (flow->flags & NFO_FLOW_CT_HOLD) != 0;
	return 0;
}

static int nh_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow, void *arg)
{
	struct hit *h = arg;

	if (flow->packets && flow->nh_mtu >= 1280 && flow->oif)
		h->hits++;
	return 0;
}

/*
 * A cached next hop (nh_mtu set) is one next hop's: its source MAC is the
 * egress device's own (the entry's oif). Counts the entries where not.
 */
static int nh_mixed_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		       void *arg)
{
	struct tdev *d = flow->nh_mtu ? dev_by_index(flow->oif) : NULL;

	if (flow->nh_mtu && (!d || memcmp(flow->nh_smac, d->mac, 6)))
		++*(int *)arg;
	return 0;
}

static void hexdiff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i, n = alen > blen ? alen : blen;

	for (i = 0; i < n; i++) {
		int x = i < alen ? a[i] : -1, y = i < blen ? b[i] : -1;

		if (x != y)
			printf("#   byte %zu: got %02x want %02x\n", i, x & 0xff, y & 0xff);
	}
}

static void run_case(struct tcase *c)
{
	struct tdev *in = dev_by_index(c->iif);
	struct nfo_stats before, after;
	uint8_t out[MAX_PKT];
	size_t out_len = 0;
	uint32_t retval;
	struct hit h = {};
	int i, err, ok = 1;

	tests++;
	clear_flows();
	for (i = 0; i < c->nflows; i++)
		install(&c->flows[i], 1, i & 1);
	nfo_dp_stats_get(dp, in->slot, &before);
	err = run_prog(c->xdp, c->iif, c->gso_size, c->gso_segs, c->in, c->in_len, out, &out_len,
		       &retval);
	if (err) {
		fail(c, "BPF_PROG_TEST_RUN: %s", strerror(-err));
		return;
	}
	nfo_dp_stats_get(dp, in->slot, &after);
	nfo_dp_flow_foreach(dp, AF_INET, hit_cb, &h);
	nfo_dp_flow_foreach(dp, AF_INET6, hit_cb, &h);

	if (strcmp(verdict_name(c->xdp, retval), c->verdict)) {
		fail(c, "verdict %s (%u), want %s", verdict_name(c->xdp, retval), retval,
		     c->verdict);
		ok = 0;
	}
	if (ok && !c->xdp && c->prio >= 0 && last_priority != (uint32_t)c->prio) {
		fail(c, "skb priority %u, want %d", last_priority, c->prio);
		ok = 0;
	}
	/* Device counters: exactly the expected one moved. */
	for (i = 0; i < NFO_R_MAX; i++) {
		uint64_t d = after.pass[i] - before.pass[i];
		uint64_t want = !strcmp(c->reason, reason_keys[i]);

		if (d != want && ok) {
			fail(c, "pass[%s] moved by %lu, want %lu", reason_keys[i], d, want);
			ok = 0;
		}
	}
	if (!strcmp(c->reason, "fwd")) {
		if (ok && (after.fwd_packets - before.fwd_packets != c->count_pkts ||
			   after.fwd_bytes - before.fwd_bytes != c->count_bytes)) {
			fail(c, "device counters +%lu pkts +%lu bytes, want +%lu +%lu",
			     (uint64_t)(after.fwd_packets - before.fwd_packets),
			     (uint64_t)(after.fwd_bytes - before.fwd_bytes), c->count_pkts,
			     c->count_bytes);
			ok = 0;
		}
		if (ok && (h.hits != 1 || h.packets != c->count_pkts ||
			   h.bytes != c->count_bytes || h.oif != c->oif)) {
			fail(c, "flow counters: %d hit entries, %lu pkts, %lu bytes, oif %u; want 1, "
				"%lu, %lu, %u",
			     h.hits, h.packets, h.bytes, h.oif, c->count_pkts, c->count_bytes,
			     c->oif);
			ok = 0;
		}
		if (ok && (out_len != c->out_len || memcmp(out, c->out, out_len))) {
			fail(c, "output bytes differ (%zu bytes, want %zu)", out_len, c->out_len);
			hexdiff(out, out_len, c->out, c->out_len);
			ok = 0;
		}
		if (ok && c->track &&
		    (h.tcp_ack != c->track_ack || h.tcp_window != c->track_window)) {
			fail(c, "entry holds TCP ack %u window %u, want %u %u", h.tcp_ack,
			     h.tcp_window, c->track_ack, c->track_window);
			ok = 0;
		}
	} else {
		if (ok && (after.fwd_packets != before.fwd_packets || h.hits)) {
			fail(c, "forward counted on a pass");
			ok = 0;
		}
		/* track 0 0 on a packet not forwarded: no entry learnt from it. */
		if (ok && c->track && !c->track_ack && !c->track_window && h.tcp_learnt) {
			fail(c, "%d entries learnt TCP state from a packet not forwarded",
			     h.tcp_learnt);
			ok = 0;
		}
		/* Passed packets go to the stack byte for byte unchanged. */
		if (ok && (out_len != c->in_len || memcmp(out, c->in, out_len))) {
			fail(c, "packet modified on pass");
			hexdiff(out, out_len, c->in, c->in_len);
			ok = 0;
		}
	}
	/*
	 * A forwarded packet leaves its next hop in the entry's cache (a tc GSO
	 * skb does not: the kernel checks its MTU itself): the same packet
	 * again takes it from there and must leave the same.
	 */
	if (ok && !strcmp(c->reason, "fwd") && !c->gso_size) {
		struct hit h2 = {};
		uint8_t out2[MAX_PKT];
		size_t out2_len = 0;

		nfo_dp_flow_foreach(dp, AF_INET, nh_cb, &h2);
		nfo_dp_flow_foreach(dp, AF_INET6, nh_cb, &h2);
		if (h2.hits != 1) {
			fail(c, "next hop not cached after the packet (%d entries)", h2.hits);
			ok = 0;
		}
		err = run_prog(c->xdp, c->iif, c->gso_size, c->gso_segs, c->in, c->in_len, out2,
			       &out2_len, &retval);
		if (ok && (err || strcmp(verdict_name(c->xdp, retval), c->verdict) ||
			   out2_len != out_len || memcmp(out2, out, out_len))) {
			fail(c, "from the cached next hop: verdict %s, %zu bytes",
			     err ? "error" : verdict_name(c->xdp, retval), out2_len);
			hexdiff(out2, out2_len, out, out_len);
			ok = 0;
		}
	}
	if (ok) {
		int mixed = 0;

		nfo_dp_flow_foreach(dp, AF_INET, nh_mixed_cb, &mixed);
		nfo_dp_flow_foreach(dp, AF_INET6, nh_mixed_cb, &mixed);
		if (mixed) {
			fail(c, "%d entries cache the MACs of a device other than theirs", mixed);
			ok = 0;
		}
	}
	if (ok && c->cthold_after >= 0) {
		int held = 0;

		nfo_dp_flow_foreach(dp, AF_INET, cthold_cb, &held);
		nfo_dp_flow_foreach(dp, AF_INET6, cthold_cb, &held);
		if (held != c->cthold_after) {
			fail(c, "%d entries ask for conntrack holds after, want %d", held,
			     c->cthold_after);
			ok = 0;
		}
	}
	if (ok && c->teardown_after >= 0 && h.teardowns != c->teardown_after) {
		fail(c, "%d flows in teardown, want %d", h.teardowns, c->teardown_after);
		ok = 0;
	}
	/* Each new teardown is reported once on the ring buffer, nothing else is. */
	nevents = nhold_failed = 0;
	ring_buffer__consume(events);
	if (ok && c->cthold_after >= 0 && nhold_failed != c->cthold_events) {
		fail(c, "%d failed-hold events, want %d", nhold_failed, c->cthold_events);
		ok = 0;
	}
	if (ok && nevents != (c->teardown_after > 0 && !c->flows[0].teardown)) {
		fail(c, "%d teardown events, want %d", nevents, c->teardown_after > 0);
		ok = 0;
	}
	if (ok && nevents &&
	    last_event_type != (!strcmp(c->reason, "snat_route") || !strcmp(c->reason, "policy") ?
					 NFO_TEARDOWN_ROUTE :
					 NFO_TEARDOWN_FIN)) {
		fail(c, "teardown event of type %d", last_event_type);
		ok = 0;
	}
	if (ok)
		printf("ok %d - %s\n", tests, c->name);
}

/* ---- fuzzing ------------------------------------------------------------ */

/* RFC 1071 checksum over a buffer, from scratch (not the code under test). */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* Is the L3/L4 checksum of this (eligible, well-formed) packet correct? */
static int csum_ok(const uint8_t *p, int v6, size_t l3len, int proto)
{
	const uint8_t *ip = p + 14;
	size_t hl = v6 ? 40 : 20, l4len = l3len - hl;
	uint32_t s;

	if (!v6 && fold(sum16(ip, 20, 0)) != 0xffff)
		return 0;
	if (proto == IPPROTO_UDP && !v6 && !ip[hl + 6] && !ip[hl + 7])
		return 1; /* no checksum */
	s = v6 ? sum16(ip + 8, 32, 0) : sum16(ip + 12, 8, 0);
	s += proto + l4len;
	s = sum16(ip + hl, l4len, s);
	return fold(s) == 0xffff;
}

static void fix_csums(uint8_t *p, size_t len)
{
	uint8_t *ip = p + 14;
	int v6, proto;
	size_t hl, l3len, l4len, co;
	uint32_t s;

	if (len < 14 + 40)
		return;
	v6 = p[12] == 0x86 && p[13] == 0xdd;
	if (!v6 && !(p[12] == 0x08 && p[13] == 0))
		return;
	if (v6) {
		hl = 40;
		l3len = 40 + ((ip[4] << 8) | ip[5]);
		proto = ip[6];
	} else {
		if ((ip[0] & 0xf) != 5)
			return;
		hl = 20;
		l3len = (ip[2] << 8) | ip[3];
		proto = ip[9];
		ip[10] = ip[11] = 0;
		s = fold(sum16(ip, 20, 0)) ^ 0xffff;
		ip[10] = s >> 8;
		ip[11] = s;
	}
	if (l3len > len - 14 || l3len < hl + 8)
		return;
	l4len = l3len - hl;
	if (proto == IPPROTO_TCP && l4len >= 20)
		co = 16;
	else if (proto == IPPROTO_UDP)
		co = 6;
	else
		return;
	ip[hl + co] = ip[hl + co + 1] = 0;
	s = v6 ? sum16(ip + 8, 32, 0) : sum16(ip + 12, 8, 0);
	s += proto + l4len;
	s = fold(sum16(ip + hl, l4len, s)) ^ 0xffff;
	if (proto == IPPROTO_UDP && !s)
		s = 0xffff;
	ip[hl + co] = s >> 8;
	ip[hl + co + 1] = s;
}

/*
 * The RST rule, written out again: an RST on a flow whose other direction
 * (keyed by the reversed output tuple on the device this flow last left
 * through) has seen a segment is dropped when its sequence number is not in
 * [ACK, ACK + window] of that segment.
 */
static int blind_rst(const uint8_t *ip, const uint8_t *l4, int v6, const struct nfo_flow *f)
{
	size_t alen = v6 ? 16 : 4;
	uint8_t src[16], dst[16], ports[4];
	union nfo_key rk;
	struct nfo_flow r;
	uint32_t seq, ack;

	if (!(l4[13] & 0x04) || !f->oif)
		return 0;
	memcpy(src, f->flags & NFO_FLOW_NAT_ADDR ? (const void *)f->nat_saddr : ip + (v6 ? 8 : 12),
	       alen);
	memcpy(dst, f->flags & NFO_FLOW_NAT_ADDR ? (const void *)f->nat_daddr :
						   ip + (v6 ? 24 : 16), alen);
	memcpy(ports, f->flags & NFO_FLOW_NAT_PORT ? (const void *)&f->nat_sport : l4, 4);
	memset(&rk, 0, sizeof(rk));
	if (!v6) {
		memcpy(&rk.k4.saddr, dst, 4);
		memcpy(&rk.k4.daddr, src, 4);
		memcpy(&rk.k4.sport, ports + 2, 2);
		memcpy(&rk.k4.dport, ports, 2);
		rk.k4.ifindex = f->oif;
		rk.k4.l4proto = IPPROTO_TCP;
	} else {
		memcpy(rk.k6.saddr, dst, 16);
		memcpy(rk.k6.daddr, src, 16);
		memcpy(&rk.k6.sport, ports + 2, 2);
		memcpy(&rk.k6.dport, ports, 2);
		rk.k6.ifindex = f->oif;
		rk.k6.l4proto = IPPROTO_TCP;
	}
	if (nfo_dp_flow_get(dp, v6 ? AF_INET6 : AF_INET, &rk, &r) || r.ct_id != f->ct_id ||
	    r.dir == f->dir || !r.tcp_doff_flags)
		return 0;
	seq = (uint32_t)l4[4] << 24 | l4[5] << 16 | l4[6] << 8 | l4[7];
	ack = ntohl(r.tcp_ack);
	return seq - ack > ntohs(r.tcp_window);
}

/*
 * The reference for "may this packet be fast-forwarded": every rule written
 * out again from the design, independently of the BPF code. Returns the flow
 * entry it would use, or 0; *drop says whether it must be dropped instead.
 */
static int eligible(const uint8_t *p, size_t len, const struct tdev *d, struct nfo_flow *flow,
		    int *v6p, size_t *l3lenp, int *protop, int *drop)
{
	const uint8_t *ip = p + 14, *l4;
	union nfo_key key;
	size_t l3len, avail = len - 14, l4len;
	int v6, proto, flags = 0;

	memset(&key, 0, sizeof(key));
	*drop = 0;
	if (len < 14 || memcmp(p, d->mac, 6))
		return 0;
	if (p[12] == 0x08 && p[13] == 0x00)
		v6 = 0;
	else if (p[12] == 0x86 && p[13] == 0xdd)
		v6 = 1;
	else
		return 0;
	if (!v6) {
		if (avail < 20 || ip[0] != 0x45)
			return 0;
		l3len = (ip[2] << 8) | ip[3];
		if (l3len < 20 || l3len > avail)
			return 0;
		if (((ip[6] << 8) | ip[7]) & 0x3fff)
			return 0;
		if (fold(sum16(ip, 20, 0)) != 0xffff)
			return 0;
		if (ip[8] <= 1)
			return 0;
		proto = ip[9];
		l4 = ip + 20;
		l4len = l3len - 20;
	} else {
		if (avail < 40 || (ip[0] >> 4) != 6)
			return 0;
		l3len = 40 + ((ip[4] << 8) | ip[5]);
		if (l3len == 40 || l3len > avail)
			return 0;
		if (ip[7] <= 1)
			return 0;
		proto = ip[6];
		l4 = ip + 40;
		l4len = l3len - 40;
	}
	if (proto == IPPROTO_TCP) {
		if ((size_t)(l4 - p) + 20 > len)
			return 0;
		if ((l4[12] >> 4) < 5 || (size_t)(l4[12] >> 4) * 4 > l4len)
			return 0;
		flags = l4[13];
	} else if (proto == IPPROTO_UDP) {
		size_t ulen;

		if ((size_t)(l4 - p) + 8 > len)
			return 0;
		ulen = (l4[4] << 8) | l4[5];
		if (ulen < 8 || ulen > l4len)
			return 0;
		if (v6 && !l4[6] && !l4[7])
			return 0;
	} else {
		return 0;
	}
	if (!v6) {
		memcpy(&key.k4.saddr, ip + 12, 4);
		memcpy(&key.k4.daddr, ip + 16, 4);
		memcpy(&key.k4.sport, l4, 4);
		key.k4.ifindex = d->ifindex;
		key.k4.l4proto = proto;
	} else {
		memcpy(key.k6.saddr, ip + 8, 16);
		memcpy(key.k6.daddr, ip + 24, 16);
		memcpy(&key.k6.sport, l4, 4);
		key.k6.ifindex = d->ifindex;
		key.k6.l4proto = proto;
	}
	if (nfo_dp_flow_get(dp, v6 ? AF_INET6 : AF_INET, &key, flow))
		return 0;
	if (flow->teardown)
		return 0;
	if (proto == IPPROTO_TCP && !(flags & 0x16)) /* none of ACK, SYN, RST: invalid */
		return 0;
	if (proto == IPPROTO_TCP && (flags & 0x07)) { /* FIN, SYN, RST */
		*drop = blind_rst(ip, l4, v6, flow);
		return 0;
	}
	*v6p = v6;
	*l3lenp = l3len;
	*protop = proto;
	return 1;
}

static uint32_t rnd(void)
{
	return (uint32_t)random();
}

static size_t mutate(uint8_t *p, size_t len)
{
	int v6 = p[12] == 0x86;
	size_t l4 = 14 + (v6 ? 40 : 20);
	int i, n;

	switch (rnd() % 12) {
	case 0: /* flip random bytes in the headers */
		n = 1 + rnd() % 3;
		for (i = 0; i < n; i++)
			p[rnd() % (len < 80 ? len : 80)] ^= 1 << (rnd() % 8);
		break;
	case 1: /* truncate */
		len = 14 + rnd() % (len - 13);
		break;
	case 2: /* version / IHL byte */
		p[14] = rnd();
		break;
	case 3: /* length field */
		if (v6) {
			p[18] = rnd() % 3 ? 0 : rnd();
			p[19] = rnd();
		} else {
			p[16] = rnd() % 3 ? 0 : rnd();
			p[17] = rnd();
		}
		break;
	case 4: /* fragment bits / hop limit */
		if (v6)
			p[21] = rnd() % 4;
		else
			p[20] = rnd(), p[21] = rnd() % 2 ? 0 : rnd();
		break;
	case 5: /* TTL */
		p[v6 ? 21 : 22] = rnd() % 4;
		break;
	case 6: /* protocol / next header */
		p[v6 ? 20 : 23] = rnd() % 2 ? rnd() : (rnd() % 2 ? 6 : 17);
		break;
	case 7: /* TCP data offset and flags, or UDP length */
		if (len > l4 + 14) {
			p[l4 + 12] = rnd();
			p[l4 + 13] = rnd();
		}
		if (len > l4 + 6) {
			p[l4 + 4] = rnd() % 2 ? 0 : rnd();
			p[l4 + 5] = rnd();
		}
		break;
	case 8: /* ethertype and destination */
		p[12] = rnd() % 2 ? 0x08 : rnd();
		p[13] = rnd() % 2 ? 0x00 : rnd();
		if (rnd() % 4 == 0)
			p[rnd() % 6] ^= 1;
		break;
	case 9: /* grow with garbage */
		n = rnd() % 64;
		for (i = 0; i < n && len < 1500; i++)
			p[len++] = rnd();
		break;
	case 10: /* random bytes after the MAC header */
		for (i = 14; i < (int)len; i++)
			p[i] = rnd();
		break;
	default: /* a zero UDP checksum / odd ports */
		if (len > l4 + 8) {
			p[l4 + 6] = 0;
			p[l4 + 7] = 0;
		}
		break;
	}
	return len;
}

static void fuzz(long iterations)
{
	struct tcase fc = { .name = "fuzz" };
	long it, redirects = 0, csum_checked = 0, refused = 0, drops = 0;
	int i, j, k, err;

	if (!nfuzz_base)
		return;
	tests++;
	clear_flows();
	for (it = 0; it < iterations; it++) {
		struct tcase *b = fuzz_base[rnd() % nfuzz_base];
		uint8_t pkt[MAX_PKT], out[MAX_PKT];
		size_t len = b->in_len, out_len, l3len = 0;
		struct nfo_flow flow;
		uint32_t retval;
		int xdp = rnd() % 2, v6 = 0, proto = 0, elig, in_ok = 0, redir, drop, want_drop;
		struct tdev *d = dev_by_index(b->iif);

		/*
		 * Fresh flows each time: FIN/RST mutations mark teardown. Half
		 * the time each direction has forwarded and seen segments (ACK
		 * numbers near the packets' sequence numbers), so that RSTs are
		 * judged.
		 */
		for (j = 0; j < nfuzz_base; j++) {
			struct tcase *fb = fuzz_base[j];

			for (k = 0; k < fb->nflows; k++) {
				struct tflow fl = fb->flows[k];

				if (fb->nflows == 2 && rnd() % 2) {
					fl.oif = fb->flows[!k].ifindex;
					fl.has_tcp = rnd() % 4 != 0;
					fl.tcp_ack = 1000 - 512 + rnd() % 1024;
					fl.tcp_window = rnd() % 1024;
				}
				install(&fl, 1000 + j, k & 1);
			}
		}
		memcpy(pkt, b->in, len);
		for (k = 1 + rnd() % 3; k > 0; k--)
			len = mutate(pkt, len);
		if (rnd() % 2)
			fix_csums(pkt, len);
		ring_buffer__consume(events);
		elig = eligible(pkt, len, d, &flow, &v6, &l3len, &proto, &want_drop);
		if (elig)
			in_ok = csum_ok(pkt, v6, l3len, proto);
		err = run_prog(xdp, b->iif, 0, 0, pkt, len, out, &out_len, &retval);
		if (err == -EINVAL && !xdp && len < 14 + 40) {
			refused++; /* test_run wants an skb's network header whole */
			continue;
		}
		if (err) {
			fail(&fc, "test run failed at iteration %ld: %s", it, strerror(-err));
			return;
		}
		redir = !strcmp(verdict_name(xdp, retval), "redirect");
		drop = !strcmp(verdict_name(xdp, retval), "drop");
		if (!strcmp(verdict_name(xdp, retval), "other") || drop != want_drop) {
			fail(&fc, "iteration %ld (%s): verdict %s, the reference says %s", it,
			     xdp ? "xdp" : "tc", verdict_name(xdp, retval),
			     want_drop ? "drop" : "no drop");
			printf("#   packet:");
			for (i = 0; i < (int)len; i++)
				printf("%02x", pkt[i]);
			printf("\n");
			return;
		}
		drops += drop;
		if (redir != elig) {
			fail(&fc, "iteration %ld (%s): %s but the reference says %s", it,
			     xdp ? "xdp" : "tc", redir ? "redirected" : "passed",
			     elig ? "eligible" : "not eligible");
			printf("#   packet:");
			for (i = 0; i < (int)len; i++)
				printf("%02x", pkt[i]);
			printf("\n");
			return;
		}
		if (!redir && (out_len != len || memcmp(out, pkt, len))) {
			fail(&fc, "iteration %ld: passed packet was modified", it);
			return;
		}
		redirects += redir;
		if (redir && in_ok) {
			csum_checked++;
			if (!csum_ok(out, v6, l3len, proto)) {
				fail(&fc, "iteration %ld: valid checksums in, invalid out", it);
				return;
			}
			if (out[14 + (v6 ? 7 : 8)] != pkt[14 + (v6 ? 7 : 8)] - 1) {
				fail(&fc, "iteration %ld: TTL not decremented", it);
				return;
			}
		}
	}
	printf("ok %d - fuzz: %ld packets (%ld too short for a tc test run), %ld eligible and "
	       "redirected, %ld output checksums verified, %ld blind RSTs dropped\n",
	       tests, iterations, refused, redirects, csum_checked, drops);
}

int main(int argc, char **argv)
{
	/* Holds of conntrack: an hour (run.sh checks the entries it created). */
	struct nfo_dp_opts opts = { .flow_capacity = 1024, .max_ifindex = 4096, .ct_hold_s = 3600 };
	long fuzz_n = 0;
	unsigned int seed = time(NULL);
	struct tcase *c;
	FILE *f;
	int i;

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--fuzz") && i + 1 < argc)
			fuzz_n = atol(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
	}
	if (argc < 2 || !(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: fastpath_test VECTORS [--fuzz N] [--seed S] [-v]\n");
		return 2;
	}
	nfo_log_libbpf();
	if (verbose)
		nfo_log_set_level(NFO_LOG_DEBUG);
	if (nfo_dp_load(&opts, &dp))
		return 2;
	events = ring_buffer__new(nfo_dp_map_fd(dp, NFO_MAP_EVENTS), event_cb, NULL, NULL);
	if (!events) {
		perror("ring buffer");
		return 2;
	}
	for (;;) {
		c = malloc(sizeof(*c));
		if (!read_case(f, c)) {
			free(c);
			break;
		}
		run_case(c);
		if (c->fuzz && nfuzz_base < 64)
			fuzz_base[nfuzz_base++] = c;
		else
			free(c);
	}
	fclose(f);
	srandom(seed);
	if (fuzz_n) {
		printf("# fuzz seed %u\n", seed);
		fuzz(fuzz_n);
	}
	printf("1..%d\n# %d of %d failed\n", tests, failures, tests);
	ring_buffer__free(events);
	nfo_dp_close(dp);
	return failures ? 1 : 0;
}
