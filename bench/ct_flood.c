// SPDX-License-Identifier: GPL-2.0-only
/*
 * ct_flood: create (or delete) many conntrack entries over ctnetlink, fast.
 *
 * The control-plane benchmark needs more offload candidates than real
 * request/reply traffic can create in a few seconds. Each entry is a UDP
 * connection 198.18.x.y:sport -> DST:dport that has seen its reply
 * (SEEN_REPLY | ASSURED | CONFIRMED) and already carries nft-offload's two ct mark bits, i.e.
 * exactly what conntrack holds after the ruleset accepted a flow and
 * nft-offload's chain marked it. The daemon learns of them from the NEW
 * events, as it would in production.
 *
 * Sources count up from SRC (one address per 50,000 ports) so that the
 * daemon's route lookup finds the LAN device; the reply comes from DST
 * (the WAN side). Run it inside the router's network namespace.
 *
 *   ct_flood [--delete] [--src A.B.C.D] [--dst A.B.C.D] [--dport N]
 *            [--mark BITS] [--timeout S] [--fixed-timeout] [--first I] [--rate N] COUNT
 *
 * --fixed-timeout sets IPS_FIXED_TIMEOUT: nothing may change the entries'
 * timeouts (the e2e test of a conntrack hold the fast path cannot make).
 *
 * --first I starts at the I-th connection of the sequence (to add to an
 * earlier run's without colliding); --rate N paces the requests at N per
 * second, sent once a millisecond, for latency measurements at a known load.
 *
 * Prints "COUNT SECONDS ERRORS" on stdout (the creation rate is COUNT /
 * SECONDS); exit status 1 if any request failed.
 *
 * --probe PIN_DIR --ifindex N: the admission wait as a flow sees it. Each
 * entry is created alone (one request, its ack), then the IPv4 flow map
 * pinned in PIN_DIR is polled for the entry's original-direction key
 * (arriving on ifindex N) until the daemon has written it. Prints
 * "PROBES MAX_MS P50_MS P99_MS MISSED" instead: the wait from the ack to
 * the map entry, and the entries not seen within 10 s. Run at a low --rate
 * while the daemon is busy elsewhere (a full dump): the longest wait is how
 * long a new connection waited for its admission.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include "ct.h"
#include "dp_bpf.h"
#include "nl.h"

#define PORTS_PER_ADDR 50000
#define PORT_BASE 10000
/* Requests per send: their acks must fit the socket's receive buffer. */
#define BATCH 256
#define PROBE_GIVE_UP_S 10.0

struct counts {
	unsigned long errors;
	int first_err;
};

static int ack_cb(unsigned int idx, const struct nlmsghdr *msg, int err, void *arg)
{
	struct counts *c = arg;

	if (err) {
		if (!c->errors)
			c->first_err = err;
		c->errors++;
	}
	return 0;
}

static void put_tuple(struct nlmsghdr *nlh, int type, uint32_t src, uint32_t dst,
		      uint16_t sport, uint16_t dport)
{
	struct nlattr *tup, *ip, *proto;

	tup = mnl_attr_nest_start(nlh, type);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, src);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, dst);
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, sport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, dport);
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tup);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: ct_flood [--delete] [--src A.B.C.D] [--dst A.B.C.D] [--dport N] "
			"[--mark BITS] [--timeout S] [--fixed-timeout] [--first I] [--rate N] "
			"[--probe PIN_DIR --ifindex N] COUNT\n");
	exit(2);
}

static void sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t, .tv_nsec = (long)((t - (time_t)t) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Poll the flow map until the key is there: seconds from now, or -1. */
static double wait_for_key(int fd, const struct nfo_key4 *key)
{
	struct nfo_flow flow;
	double t0 = now_s(), t;

	for (;;) {
		if (!bpf_map_lookup_elem(fd, key, &flow))
			return now_s() - t0;
		t = now_s() - t0;
		if (t > PROBE_GIVE_UP_S)
			return -1;
		sleep_until(now_s() + 50e-6);
	}
}

/* The wait of connection I (as the loop numbers them) for its map entry. */
static void probe(int fd, unsigned long i, uint32_t src, uint32_t dst, uint16_t dport,
		  uint32_t ifindex, double *waits, unsigned long *probes, unsigned long *missed)
{
	struct nfo_key4 key = {
		.saddr = htonl(ntohl(src) + i / PORTS_PER_ADDR),
		.daddr = dst,
		.sport = htons(PORT_BASE + i % PORTS_PER_ADDR),
		.dport = htons(dport),
		.ifindex = ifindex,
		.l4proto = IPPROTO_UDP,
	};
	double w = wait_for_key(fd, &key);

	if (w < 0)
		(*missed)++;
	else
		waits[(*probes)++] = w;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "delete", no_argument, NULL, 'D' }, { "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' }, { "dport", required_argument, NULL, 'p' },
		{ "mark", required_argument, NULL, 'm' }, { "timeout", required_argument, NULL, 't' },
		{ "first", required_argument, NULL, 'f' }, { "rate", required_argument, NULL, 'r' },
		{ "probe", required_argument, NULL, 'P' }, { "ifindex", required_argument, NULL, 'i' },
		{ "fixed-timeout", no_argument, NULL, 'F' }, { NULL, 0, NULL, 0 },
	};
	struct in_addr src = { htonl(0xc612010a) }; /* 198.18.1.10 */
	struct in_addr dst = { htonl(0xc6130202) }; /* 198.19.2.2 */
	uint32_t mark = 0xc0000000, timeout = 3600, status = IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED;
	uint16_t dport = 9;
	bool del = false;
	struct counts cnt = {};
	struct nfo_nl_batch b;
	struct nfo_nl nl;
	unsigned long i, count, first = 0, rate = 0, per_send = BATCH, probes = 0, missed = 0;
	const char *probe_dir = NULL;
	uint32_t ifindex = 0;
	struct nfo_dp *dp = NULL;
	double t0, next, *waits = NULL;
	int map_fd = -1;
	int c, err;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			del = true;
			break;
		case 'F':
			status |= IPS_FIXED_TIMEOUT;
			break;
		case 's':
			if (!inet_aton(optarg, &src))
				usage();
			break;
		case 'd':
			if (!inet_aton(optarg, &dst))
				usage();
			break;
		case 'p':
			dport = atoi(optarg);
			break;
		case 'm':
			mark = strtoul(optarg, NULL, 0);
			break;
		case 't':
			timeout = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			first = strtoul(optarg, NULL, 0);
			break;
		case 'P':
			probe_dir = optarg;
			break;
		case 'i':
			ifindex = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			rate = strtoul(optarg, NULL, 0);
			if (!rate)
				usage();
			/* One send a millisecond, at least one request each. */
			per_send = rate / 1000 ? rate / 1000 : 1;
			if (per_send > BATCH)
				per_send = BATCH;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	count = strtoul(argv[optind], NULL, 0);
	if (probe_dir) {
		if (!ifindex || del)
			usage();
		err = nfo_dp_open_pinned(probe_dir, &dp);
		if (err) {
			fprintf(stderr, "ct_flood: cannot open the pinned maps in %s: %s\n", probe_dir,
				strerror(-err));
			return 1;
		}
		map_fd = nfo_dp_flow_fd(dp, AF_INET);
		waits = calloc(count ? count : 1, sizeof(*waits));
		if (!waits)
			return 1;
		per_send = 1; /* one entry, its ack, then the wait */
	}

	err = nfo_nl_open(&nl, NETLINK_NETFILTER, 0);
	if (err) {
		fprintf(stderr, "ct_flood: cannot open a netlink socket: %s\n", strerror(-err));
		return 1;
	}
	/* Acks of a whole batch arrive at once; do not let them overflow. */
	nfo_nl_set_rcvbuf(&nl, 8 << 20);
	err = nfo_nl_batch_init(&b, &nl, BATCH * NFO_CT_REQ_MAX, false);
	if (err) {
		fprintf(stderr, "ct_flood: %s\n", strerror(-err));
		return 1;
	}

	t0 = next = now_s();
	for (i = first; i < first + count; i++) {
		uint32_t s = htonl(ntohl(src.s_addr) + i / PORTS_PER_ADDR);
		uint16_t sport = htons(PORT_BASE + i % PORTS_PER_ADDR);
		int type = del ? IPCTNL_MSG_CT_DELETE : IPCTNL_MSG_CT_NEW;
		uint16_t flags = NLM_F_ACK | (del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
		struct nlmsghdr *nlh;
		struct nfgenmsg *nfg;

		if (b.count == per_send) {
			err = nfo_nl_batch_flush(&b, ack_cb, &cnt);
			if (err) {
				fprintf(stderr, "ct_flood: netlink: %s\n", strerror(-err));
				return 1;
			}
			if (map_fd >= 0)
				probe(map_fd, i - 1, src.s_addr, dst.s_addr, dport, ifindex, waits,
				      &probes, &missed);
			if (rate) {
				next += (double)per_send / rate;
				sleep_until(next);
			}
		}
		nlh = nfo_nl_batch_add(&b, (NFNL_SUBSYS_CTNETLINK << 8) | type, flags);
		nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
		nfg->nfgen_family = AF_INET;
		nfg->version = NFNETLINK_V0;
		put_tuple(nlh, CTA_TUPLE_ORIG, s, dst.s_addr, sport, htons(dport));
		if (del)
			continue;
		put_tuple(nlh, CTA_TUPLE_REPLY, dst.s_addr, s, htons(dport), sport);
		/* CONFIRMED too: the kernel refuses a status that clears it (EBUSY). */
		mnl_attr_put_u32(nlh, CTA_STATUS, htonl(status));
		mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(timeout));
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
	}
	err = nfo_nl_batch_flush(&b, ack_cb, &cnt);
	if (err) {
		fprintf(stderr, "ct_flood: netlink: %s\n", strerror(-err));
		return 1;
	}
	if (map_fd >= 0) {
		probe(map_fd, i - 1, src.s_addr, dst.s_addr, dport, ifindex, waits, &probes, &missed);
		qsort(waits, probes, sizeof(*waits), cmp_double);
		printf("%lu %.3f %.3f %.3f %lu\n", probes + missed,
		       probes ? waits[probes - 1] * 1e3 : 0, probes ? waits[probes / 2] * 1e3 : 0,
		       probes ? waits[(probes * 99) / 100] * 1e3 : 0, missed);
		free(waits);
		nfo_dp_close(dp);
	} else {
		printf("%lu %.3f %lu\n", count, now_s() - t0, cnt.errors);
	}
	if (cnt.errors)
		fprintf(stderr, "ct_flood: %lu of %lu requests failed (first: %s)\n", cnt.errors,
			count, strerror(-cnt.first_err));
	nfo_nl_batch_free(&b);
	nfo_nl_close(&nl);
	return cnt.errors ? 1 : 0;
}
