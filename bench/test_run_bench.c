// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_run_bench: the fast path's own cost per packet, measured with
 * BPF_PROG_TEST_RUN repeat, for both entry points, on hits (IPv4 and IPv6, UDP
 * and TCP, with SNAT: lookup, next hop, rewrite, checksums, counters) and on a
 * miss (parse and one failed lookup). Run inside the namespace
 * bench/test_run.sh builds.
 *
 * A hit takes its next hop from the flow's cache; "lookup" figures make every
 * packet look it up again (bpf_fib_lookup), as a route or neighbour change
 * does once per flow. "Many flows" sends single runs round-robin over that
 * many flows, each packet to another entry, against single runs of one flow:
 * the cost of entries that are not in the CPU's caches.
 *
 * A repeated run rewrites the same packet again and again, so the hit case
 * is made idempotent: a second flow entry maps the rewritten tuple onto
 * itself (the same work, a zero checksum difference), the next hop's MAC is
 * the ingress device's own, and the TTL starts at 255 with repeat <= 200.
 *
 * Prints a Markdown table: median ns/packet over many runs, and the
 * programs' sizes and verified instruction counts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
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
#include "flowmem.h"
#include "log.h"

static struct nfo_dp *dp;

static int dev_setup(const char *name, uint32_t slot, uint8_t *mac)
{
	struct nfo_dev nd = { .slot = slot, .flags = NFO_DEV_TC | NFO_DEV_XDP | NFO_DEV_XDP_TX };
	struct ifreq ifr = {};
	uint32_t ifindex = if_nametoindex(name);
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (!ifindex || s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr)) {
		fprintf(stderr, "device %s: %s\n", name, strerror(errno));
		exit(2);
	}
	close(s);
	memcpy(nd.mac, ifr.ifr_hwaddr.sa_data, 6);
	memcpy(mac, nd.mac, 6);
	nfo_dp_dev_set(dp, ifindex, &nd);
	return ifindex;
}

static uint16_t csum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/*
 * A 64-byte frame: Ethernet, IPv4 (TTL 255), then UDP 40000 -> 53 with 18
 * bytes of data, or a TCP ACK 40000 -> 53 with 10; the last `pad` bytes of
 * data are an Ethernet trailer instead (outside the IP length).
 */
static size_t build(uint8_t *pkt, const uint8_t *dmac, const char *src, const char *dst,
		    uint16_t sport, uint8_t proto, int pad)
{
	uint8_t *ip = pkt + 14, *udp = ip + 20;
	int l4len = 30 - pad;
	uint32_t s, d;
	uint16_t c;
	uint32_t ps;

	memset(pkt, 0, 64);
	memcpy(pkt, dmac, 6);
	pkt[6] = 0x02;
	pkt[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 50 - pad; /* tot_len: 64 - 14 - pad */
	ip[8] = 255;
	ip[9] = proto;
	inet_pton(AF_INET, src, &s);
	inet_pton(AF_INET, dst, &d);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	c = csum(ip, 20, 0);
	ip[10] = c >> 8;
	ip[11] = c;
	udp[0] = sport >> 8;
	udp[1] = sport;
	udp[3] = 53;
	ps = ((ip[12] << 8) | ip[13]) + ((ip[14] << 8) | ip[15]) + ((ip[16] << 8) | ip[17]) +
	     ((ip[18] << 8) | ip[19]) + proto + l4len;
	if (proto == IPPROTO_TCP) {
		udp[7] = 1; /* seq */
		udp[11] = 1; /* ack */
		udp[12] = 5 << 4; /* data offset */
		udp[13] = 0x10; /* ACK */
		udp[14] = 2; /* window */
		c = csum(udp, l4len, ps);
		udp[16] = c >> 8;
		udp[17] = c;
		return 64;
	}
	udp[5] = l4len; /* UDP length */
	c = csum(udp, l4len, ps);
	udp[6] = c >> 8;
	udp[7] = c;
	return 64;
}

/*
 * An IPv6 frame of 84 bytes (hop limit 255): UDP 40000 -> 53 with 22 bytes of
 * data, or a TCP ACK with 10.
 */
static size_t build6(uint8_t *pkt, const uint8_t *dmac, const char *src, const char *dst,
		     uint16_t sport, uint8_t proto)
{
	uint8_t *ip = pkt + 14, *l4 = ip + 40;
	uint32_t ps = proto + 30;
	uint16_t c;
	int i;

	memset(pkt, 0, 84);
	memcpy(pkt, dmac, 6);
	pkt[6] = 0x02;
	pkt[12] = 0x86;
	pkt[13] = 0xdd;
	ip[0] = 0x60;
	ip[5] = 30; /* payload length */
	ip[6] = proto;
	ip[7] = 255;
	inet_pton(AF_INET6, src, ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	for (i = 8; i < 40; i += 2)
		ps += (ip[i] << 8) | ip[i + 1];
	l4[0] = sport >> 8;
	l4[1] = sport;
	l4[3] = 53;
	if (proto == IPPROTO_TCP) {
		l4[7] = 1;
		l4[11] = 1;
		l4[12] = 5 << 4;
		l4[13] = 0x10;
		l4[14] = 2;
		c = csum(l4, 30, ps);
		l4[16] = c >> 8;
		l4[17] = c;
		return 84;
	}
	l4[5] = 30;
	c = csum(l4, 30, ps);
	l4[6] = c >> 8;
	l4[7] = c;
	return 84;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* After an unexpected verdict: the reasons counted on lan0 (slot 1). */
static void why(void)
{
	static const char *const keys[] = {
#define X(e, key, desc) key,
		NFO_REASONS(X)
#undef X
	};
	struct nfo_stats st;
	int i;

	if (nfo_dp_stats_get(dp, 1, &st))
		return;
	for (i = 0; i < NFO_R_MAX; i++)
		if (st.pass[i])
			fprintf(stderr, "  passed: %s x%llu\n", keys[i], (unsigned long long)st.pass[i]);
}

/*
 * One BPF_PROG_TEST_RUN of the XDP or tc program with its context; exits,
 * saying why, unless it answers `want`. Returns the run's duration (ns).
 */
static __u32 run_checked(bool xdp, struct bpf_test_run_opts *t, struct xdp_md *xmd,
			 struct __sk_buff *skb, uint32_t want, const char *what)
{
	t->ctx_in = xdp ? (void *)xmd : (void *)skb;
	t->ctx_size_in = xdp ? sizeof(*xmd) : sizeof(*skb);
	if (bpf_prog_test_run_opts(nfo_dp_prog_fd(dp, xdp), t)) {
		perror("BPF_PROG_TEST_RUN");
		exit(1);
	}
	if (t->retval != want) {
		fprintf(stderr, "%sunexpected verdict %u (want %u)\n", what, t->retval, want);
		why();
		exit(1);
	}
	return t->duration;
}

/* Median of `runs` test runs of `repeat` repetitions: ns per packet. */
static double measure(bool xdp, uint32_t ifindex, const uint8_t *pkt, size_t len, int repeat,
		      int runs, uint32_t want)
{
	uint32_t *d = calloc(runs, sizeof(*d));
	uint8_t out[256];
	struct __sk_buff skb = { .ifindex = ifindex };
	struct xdp_md xmd = { .ingress_ifindex = ifindex, .data_end = len };
	double med;
	int i;

	for (i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);

		xmd.data_end = len;
		d[i] = run_checked(xdp, &t, &xmd, &skb, want, "");
	}
	qsort(d, runs, sizeof(*d), cmp_u32);
	med = d[runs / 2];
	free(d);
	return med;
}

static void prog_sizes(bool xdp, const char *log, char *buf, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	const char *p = strstr(log, "processed ");
	unsigned long processed = 0;

	bpf_obj_get_info_by_fd(nfo_dp_prog_fd(dp, xdp), &info, &ilen);
	if (p)
		processed = strtoul(p + 10, NULL, 10);
	snprintf(buf, len, "%u BPF insns, %u bytes JITed, %lu insns processed by the verifier",
		 info.xlated_prog_len / 8, info.jited_prog_len, processed);
}

/*
 * Install a connection's entry `in` -> `out`, and `out` -> `out` (see above).
 * TRB_CT_HOLD=1: the first asks for conntrack holds, as the daemon's entries
 * do where the kernel has conntrack's BPF functions, and was last used now,
 * so that a hit pays the check whether a hold is due (and holds only when
 * the flow's period ends during the run).
 */
static void flow_pair(const struct nfo_tuple *in, const struct nfo_tuple *out, uint32_t lan,
		      uint32_t id)
{
	const char *hold = getenv("TRB_CT_HOLD");
	struct nfo_tuple self = *out;
	union nfo_key key;
	struct nfo_flow flow;

	nfo_flow_build(in, out, lan, id, NFO_DIR_ORIGINAL, &key, &flow);
	if (hold && !strcmp(hold, "1")) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		flow.flags |= NFO_FLOW_CT_HOLD;
		flow.last_used_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	}
	nfo_dp_flow_add(dp, in->family, &key, &flow, true);
	nfo_flow_build(&self, &self, lan, id + 1, NFO_DIR_ORIGINAL, &key, &flow);
	flow.flags |= NFO_FLOW_NAT_ADDR | NFO_FLOW_NAT_PORT;
	nfo_dp_flow_add(dp, in->family, &key, &flow, true);
}

static void tuple(struct nfo_tuple *t, int family, uint8_t proto, const char *src, uint16_t sport,
		  const char *dst)
{
	memset(t, 0, sizeof(*t));
	t->family = family;
	t->l4proto = proto;
	inet_pton(family, src, &t->src);
	inet_pton(family, dst, &t->dst);
	t->sport = htons(sport);
	t->dport = htons(53);
}

/*
 * The IPv4 UDP hit with a conntrack hold in every single run: the entry asks
 * for holds (NFO_FLOW_CT_HOLD) and never carried a packet, as after its
 * admission; the fast path holds on such a packet, then once per 8.6 s
 * (2.1 s in its first 4 s).
 * test_run.sh created the conntrack entry. Median ns; -1 if a hold failed
 * (the fast path cleared the flag: no conntrack entry or no kfuncs).
 */
static double measure_hold(bool xdp, uint32_t lan, const uint8_t *pkt, size_t len, int runs,
			   uint32_t want)
{
	uint32_t *d = calloc(runs, sizeof(*d));
	struct nfo_tuple in, out;
	struct nfo_flow flow;
	union nfo_key key;
	double med = -1;
	int i;

	tuple(&in, AF_INET, IPPROTO_UDP, "198.18.1.2", 40000, "198.18.100.10");
	out = in;
	inet_pton(AF_INET, "198.18.2.1", &out.src);
	out.sport = htons(61000);
	nfo_flow_build(&in, &out, lan, 1, NFO_DIR_ORIGINAL, &key, &flow);
	for (i = 0; i < runs; i++) {
		if (nfo_dp_flow_get(dp, AF_INET, &key, &flow))
			goto out;
		if (i && !(flow.flags & NFO_FLOW_CT_HOLD))
			goto out;
		flow.flags |= NFO_FLOW_CT_HOLD;
		flow.last_used_ns = 0;
		nfo_dp_flow_add(dp, AF_INET, &key, &flow, true);
		d[i] = measure(xdp, lan, pkt, len, 1, 1, want);
	}
	if (nfo_dp_flow_get(dp, AF_INET, &key, &flow) || !(flow.flags & NFO_FLOW_CT_HOLD))
		goto out;
	qsort(d, runs, sizeof(*d), cmp_u32);
	med = d[runs / 2];
out:
	if (!nfo_dp_flow_get(dp, AF_INET, &key, &flow)) {
		flow.flags &= ~NFO_FLOW_CT_HOLD;
		nfo_dp_flow_add(dp, AF_INET, &key, &flow, true);
	}
	free(d);
	return med;
}

/*
 * Many flows: `n` UDP flows (sources 198.18.1.10-11, ports from 10000), single
 * runs round-robin over their packets; median ns of `runs` runs. Not .3: with
 * TRB_RULES=1 a rule routes that source another way (its flows would pass).
 */
static double measure_many(bool xdp, uint32_t lan, const uint8_t *lan_mac, int n, int runs,
			   uint32_t want)
{
	static uint8_t pkts[2][64];
	uint32_t *d = calloc(runs, sizeof(*d));
	struct nfo_tuple in, out;
	uint8_t out_buf[128], *p;
	struct __sk_buff skb = { .ifindex = lan };
	struct xdp_md xmd = { .ingress_ifindex = lan, .data_end = 64 };
	double med;
	__u32 dur;
	int i;

	for (i = 0; i < n; i++) {
		union nfo_key key;
		struct nfo_flow flow;
		char src[32];

		snprintf(src, sizeof(src), "198.18.1.%d", 10 + i / 50000);
		tuple(&in, AF_INET, IPPROTO_UDP, src, 10000 + i % 50000, "198.18.100.10");
		out = in;
		inet_pton(AF_INET, "198.18.2.1", &out.src);
		out.sport = htons(20000 + i % 40000);
		nfo_flow_build(&in, &out, lan, 1000 + i, NFO_DIR_ORIGINAL, &key, &flow);
		if (nfo_dp_flow_add(dp, AF_INET, &key, &flow, true)) {
			fprintf(stderr, "cannot add flow %d\n", i);
			exit(1);
		}
	}
	build(pkts[0], lan_mac, "198.18.1.10", "198.18.100.10", 10000, IPPROTO_UDP, 0);
	build(pkts[1], lan_mac, "198.18.1.11", "198.18.100.10", 10000, IPPROTO_UDP, 0);
	/* A first round over every flow fills the next-hop caches, unrecorded. */
	for (i = -n; i < runs; i++) {
		int f = n > 1 ? (int)(((uint64_t)(i + n) * 7919) % n) : 0; /* stride through the table */
		uint16_t port = 10000 + f % 50000, c;
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_size_in = 64, .data_out = out_buf,
			    .data_size_out = sizeof(out_buf), .repeat = 1);

		p = pkts[f / 50000];
		/* Only the source port differs: adjust the UDP checksum. */
		c = ~((p[40] << 8) | p[41]);
		{
			uint32_t sum = c + (uint16_t)~((p[34] << 8) | p[35]) + port;

			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			c = ~sum;
		}
		p[34] = port >> 8;
		p[35] = port;
		p[40] = c >> 8;
		p[41] = c;
		t.data_in = p;
		dur = run_checked(xdp, &t, &xmd, &skb, want, "many flows: ");
		if (i >= 0)
			d[i] = dur;
	}
	qsort(d, runs, sizeof(*d), cmp_u32);
	med = d[runs / 2];
	free(d);
	return med;
}

static int flows_clear_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
			  void *arg)
{
	nfo_dp_flow_del(dp, family, key);
	return 0;
}

#define SIZE_FLOWS 1000

/*
 * The flow table's size: every packet reads a bucket, and the bucket array
 * (16 bytes per entry, rounded up to a power of two) of a larger table
 * spreads the same flows over more memory. The same SIZE_FLOWS flows, single
 * runs round-robin, in a table loaded again with each capacity, against one
 * flow in that table; the sizes interleaved, three rounds, the median kept.
 */
static void size_figure(struct nfo_dp_opts *opts, const char *list, int runs, uint8_t *lan_mac,
			uint8_t *wan_mac)
{
	enum { ROUNDS = 3, MAXS = 8 };
	double one[MAXS][2][ROUNDS], many[MAXS][2][ROUNDS];
	unsigned long long cap[MAXS];
	char *copy = strdup(list), *tok, *save = NULL;
	int n = 0, r, i, x;

	for (tok = strtok_r(copy, ", ", &save); tok && n < MAXS; tok = strtok_r(NULL, ", ", &save))
		cap[n++] = strtoull(tok, NULL, 0);
	free(copy);
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < n; i++) {
			uint32_t lan;

			nfo_dp_close(dp);
			opts->flow_capacity = cap[i];
			if (nfo_dp_load(opts, &dp)) {
				fprintf(stderr, "cannot load a table for %llu connections\n",
					cap[i]);
				exit(2);
			}
			lan = dev_setup("lan0", 1, lan_mac);
			dev_setup("wan0", 2, wan_mac);
			for (x = 0; x < 2; x++) {
				uint32_t want = x == 0 ? XDP_REDIRECT : 7;
				int k = runs * 5;

				nfo_dp_flow_foreach(dp, AF_INET, flows_clear_cb, NULL);
				one[i][x][r] = measure_many(x == 0, lan, lan_mac, 1, k, want);
				nfo_dp_flow_foreach(dp, AF_INET, flows_clear_cb, NULL);
				many[i][x][r] = measure_many(x == 0, lan, lan_mac, SIZE_FLOWS, k, want);
			}
		}
	}
	printf("\nTable size: single runs round-robin over %d flows (median of %d, the median "
	       "of %d rounds, sizes interleaved) against one flow in the same table, ns:\n\n",
	       SIZE_FLOWS, runs * 5, ROUNDS);
	printf("| capacity (connections per family) | bucket array per family | XDP: 1 flow | XDP: "
	       "%d flows | tc: 1 flow | tc: %d flows |\n|---|---|---|---|---|---|\n",
	       SIZE_FLOWS, SIZE_FLOWS);
	for (i = 0; i < n; i++) {
		char mem[32];
		double v[2][2];

		for (x = 0; x < 2; x++) {
			qsort(one[i][x], ROUNDS, sizeof(double), cmp_double);
			qsort(many[i][x], ROUNDS, sizeof(double), cmp_double);
			v[x][0] = one[i][x][ROUNDS / 2];
			v[x][1] = many[i][x][ROUNDS / 2];
		}
		printf("| %llu | %s | %.0f | %.0f | %.0f | %.0f |\n", cap[i],
		       nfo_bytes_str(nfo_flows_reserved_bytes(cap[i]) / 2, mem, sizeof(mem)),
		       v[0][0], v[0][1], v[1][0], v[1][1]);
	}
}

/*
 *   test_run_bench [RUNS [MANY [SIZES]]]
 * RUNS: test runs per figure (2000); MANY: flows of the many-flows figure
 * (100000; 0 leaves it out); SIZES: flow table capacities, in connections per
 * family, for the table-size figure (round-robin over SIZE_FLOWS flows in a
 * table loaded with each capacity; "16384,262144,1048576"; "" leaves it out).
 */
int main(int argc, char **argv)
{
	static char xlog[1 << 16], tlog[1 << 16];
	struct nfo_dp_opts opts = { .flow_capacity = 131072, .max_ifindex = 4096, .xdp_log = xlog,
				    .tc_log = tlog, .log_size = sizeof(xlog), .ct_hold_s = 86400 };
	struct nfo_tuple in, out;
	uint8_t lan_mac[6], wan_mac[6], hit[64], thit[64], tpad[64], miss[64], hit6[84], thit6[84];
	uint32_t lan;
	int runs = argc > 1 ? atoi(argv[1]) : 2000;
	int many = argc > 2 ? atoi(argv[2]) : 100000;
	const char *sizes = argc > 3 ? argv[3] : "16384,262144,1048576";
	double h[2], th[2], h6[2], th6[2], h1[2], hl[2], m[2], t1[2], tp1[2], one[2] = {}, mn[2] = {};
	double hold[2];
	char sz[2][160];
	int x;

	nfo_log_libbpf();
	if (nfo_dp_load(&opts, &dp))
		return 2;
	lan = dev_setup("lan0", 1, lan_mac);
	dev_setup("wan0", 2, wan_mac);

	/* IPv4 and IPv6, UDP and TCP: each a connection and its rewritten self. */
	tuple(&in, AF_INET, IPPROTO_UDP, "198.18.1.2", 40000, "198.18.100.10");
	out = in;
	inet_pton(AF_INET, "198.18.2.1", &out.src);
	out.sport = htons(61000);
	flow_pair(&in, &out, lan, 1);
	in.l4proto = out.l4proto = IPPROTO_TCP;
	flow_pair(&in, &out, lan, 3);
	tuple(&in, AF_INET6, IPPROTO_UDP, "2001:db8:1::2", 40000, "2001:db8:64::10");
	out = in;
	inet_pton(AF_INET6, "2001:db8:2::1", &out.src);
	out.sport = htons(61000);
	flow_pair(&in, &out, lan, 5);
	in.l4proto = out.l4proto = IPPROTO_TCP;
	flow_pair(&in, &out, lan, 7);

	build(hit, lan_mac, "198.18.1.2", "198.18.100.10", 40000, IPPROTO_UDP, 0);
	build(thit, lan_mac, "198.18.1.2", "198.18.100.10", 40000, IPPROTO_TCP, 0);
	build(tpad, lan_mac, "198.18.1.2", "198.18.100.10", 40000, IPPROTO_TCP, 10);
	build(miss, lan_mac, "198.18.1.2", "198.18.100.10", 40001, IPPROTO_UDP, 0);
	build6(hit6, lan_mac, "2001:db8:1::2", "2001:db8:64::10", 40000, IPPROTO_UDP);
	build6(thit6, lan_mac, "2001:db8:1::2", "2001:db8:64::10", 40000, IPPROTO_TCP);
	for (x = 0; x < 2; x++) {
		bool xdp = x == 0;
		uint32_t redirect = xdp ? XDP_REDIRECT : 7 /* TC_ACT_REDIRECT */;

		h[x] = measure(xdp, lan, hit, sizeof(hit), 200, runs, redirect);
		th[x] = measure(xdp, lan, thit, sizeof(thit), 200, runs, redirect);
		h6[x] = measure(xdp, lan, hit6, sizeof(hit6), 200, runs, redirect);
		th6[x] = measure(xdp, lan, thit6, sizeof(thit6), 200, runs, redirect);
		/*
		 * A trailer is cut once, and a repetition would see the cut
		 * frame: single runs, against single runs of the same TCP
		 * packet without one.
		 */
		t1[x] = measure(xdp, lan, thit, sizeof(thit), 1, runs, redirect);
		h1[x] = measure(xdp, lan, hit, sizeof(hit), 1, runs, redirect);
		tp1[x] = measure(xdp, lan, tpad, sizeof(tpad), 1, runs, redirect);
		m[x] = measure(xdp, lan, miss, sizeof(miss), 1000, runs / 4 + 1,
			       xdp ? XDP_PASS : (uint32_t)-1 /* TC_ACT_UNSPEC */);
		prog_sizes(xdp, xdp ? xlog : tlog, sz[x], sizeof(sz[x]));
	}
	/* The same IPv4 UDP hit with the next hop looked up on every packet. */
	for (x = 0; x < 2; x++) {
		bool xdp = x == 0;
		uint32_t redirect = xdp ? XDP_REDIRECT : 7;
		uint32_t *d = calloc(runs, sizeof(*d));
		int i;

		for (i = 0; i < runs; i++) {
			/* A bump before each single run: it looks the next hop up. */
			nfo_dp_route_gen_bump(dp);
			d[i] = measure(xdp, lan, hit, sizeof(hit), 1, 1, redirect);
		}
		qsort(d, runs, sizeof(*d), cmp_u32);
		hl[x] = d[runs / 2];
		free(d);
	}
	for (x = 0; x < 2; x++)
		hold[x] = measure_hold(x == 0, lan, hit, sizeof(hit), runs, x == 0 ? XDP_REDIRECT : 7);
	if (many > 0) {
		for (x = 0; x < 2; x++) {
			bool xdp = x == 0;
			uint32_t redirect = xdp ? XDP_REDIRECT : 7;

			nfo_dp_flow_foreach(dp, AF_INET, flows_clear_cb, NULL);
			one[x] = measure_many(xdp, lan, lan_mac, 1, runs * 10, redirect);
			nfo_dp_flow_foreach(dp, AF_INET, flows_clear_cb, NULL);
			mn[x] = measure_many(xdp, lan, lan_mac, many, runs * 10, redirect);
		}
	}
	printf("| entry point | hit: IPv4 UDP + SNAT (ns/packet) | IPv4 TCP ACK + SNAT "
	       "| IPv6 UDP + SNAT | IPv6 TCP ACK + SNAT | miss (ns/packet) | program |\n");
	printf("|---|---|---|---|---|---|---|\n");
	printf("| XDP | %.0f | %.0f | %.0f | %.0f | %.0f | %s |\n", h[0], th[0], h6[0], th6[0], m[0],
	       sz[0]);
	printf("| tc | %.0f | %.0f | %.0f | %.0f | %.0f | %s |\n", h[1], th[1], h6[1], th6[1], m[1],
	       sz[1]);
	{
		struct bpf_prog_info info = {};
		__u32 ilen = sizeof(info);

		bpf_obj_get_info_by_fd(nfo_dp_prog_fd(dp, true), &info, &ilen);
		printf("\nMedian of %d BPF_PROG_TEST_RUN calls (hits: 200 repetitions each; miss: "
		       "1000), programs %s.\n",
		       runs, info.jited_prog_len ? "JIT-compiled" : "interpreted (no JIT)");
		printf("Single runs (timer overhead included): IPv4 UDP hit XDP %.0f ns, tc %.0f "
		       "ns; with the next hop looked up XDP %.0f ns, tc %.0f ns. TCP ACK hit XDP "
		       "%.0f ns, with a 10-byte trailer %.0f ns; tc %.0f ns, with the trailer "
		       "%.0f ns.\n",
		       h1[0], h1[1], hl[0], hl[1], t1[0], tp1[0], t1[1], tp1[1]);
		if (hold[0] >= 0 && hold[1] >= 0)
			printf("Conntrack hold (a flow's first packet, then one every 8.6 s), single "
			       "runs: IPv4 UDP hit XDP %.0f ns, tc %.0f ns (without: the single runs "
			       "above).\n",
			       hold[0], hold[1]);
		else
			printf("Conntrack hold: not measured (no conntrack entry for the test flow, "
			       "or the kernel lacks conntrack's BPF functions).\n");
		if (many > 0)
			printf("Many flows, single runs (median of %d): IPv4 UDP, one flow XDP "
			       "%.0f ns, tc %.0f ns; round-robin over %d flows XDP %.0f ns, tc "
			       "%.0f ns.\n",
			       runs * 10, one[0], one[1], many, mn[0], mn[1]);
	}
	if (sizes && *sizes)
		size_figure(&opts, sizes, runs, lan_mac, wan_mac);
	nfo_dp_close(dp);
	return 0;
}
