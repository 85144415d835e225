// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_run_bench: the fast path's own cost per packet, measured with
 * BPF_PROG_TEST_RUN repeat, for both entry points, on a hit (IPv4 UDP with
 * SNAT: lookup, route, rewrite, checksums, counters) and on a miss (parse and
 * one failed lookup). Run inside the namespace bench/test_run.sh builds.
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
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "dp_bpf.h"
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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Median of `runs` test runs of `repeat` repetitions: ns per packet. */
static double measure(bool xdp, uint32_t ifindex, const uint8_t *pkt, size_t len, int repeat,
		      int runs, uint32_t want)
{
	uint32_t *d = calloc(runs, sizeof(*d));
	uint8_t out[128];
	struct __sk_buff skb = { .ifindex = ifindex };
	struct xdp_md xmd = { .ingress_ifindex = ifindex, .data_end = len };
	double med;
	int i;

	for (i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);

		t.ctx_in = xdp ? (void *)&xmd : (void *)&skb;
		t.ctx_size_in = xdp ? sizeof(xmd) : sizeof(skb);
		if (bpf_prog_test_run_opts(nfo_dp_prog_fd(dp, xdp), &t)) {
			perror("BPF_PROG_TEST_RUN");
			exit(1);
		}
		if (t.retval != want) {
			fprintf(stderr, "unexpected verdict %u (want %u)\n", t.retval, want);
			exit(1);
		}
		d[i] = t.duration;
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

int main(int argc, char **argv)
{
	static char xlog[1 << 16], tlog[1 << 16];
	struct nfo_dp_opts opts = { .flow_capacity = 1024, .max_ifindex = 4096, .xdp_log = xlog,
				    .tc_log = tlog, .log_size = sizeof(xlog) };
	struct nfo_tuple in = {}, out = {}, self = {};
	union nfo_key key;
	struct nfo_flow flow;
	uint8_t lan_mac[6], wan_mac[6], hit[64], thit[64], tpad[64], miss[64];
	uint32_t lan, wan;
	int runs = argc > 1 ? atoi(argv[1]) : 2000;
	double h[2], th[2], m[2], t1[2], tp1[2];
	char sz[2][160];
	int x;

	nfo_log_libbpf();
	if (nfo_dp_load(&opts, &dp))
		return 2;
	lan = dev_setup("lan0", 1, lan_mac);
	wan = dev_setup("wan0", 2, wan_mac);

	in.family = out.family = AF_INET;
	in.l4proto = out.l4proto = IPPROTO_UDP;
	inet_pton(AF_INET, "198.18.1.2", &in.src);
	inet_pton(AF_INET, "198.18.100.10", &in.dst);
	in.sport = htons(40000);
	in.dport = htons(53);
	out = in;
	inet_pton(AF_INET, "198.18.2.1", &out.src);
	out.sport = htons(61000);
	nfo_flow_build(&in, &out, lan, 1, NFO_DIR_ORIGINAL, &key, &flow);
	nfo_dp_flow_add(dp, AF_INET, &key, &flow, true);
	/* The rewritten tuple maps onto itself: same work on every repetition. */
	self = out;
	nfo_flow_build(&self, &self, lan, 2, NFO_DIR_ORIGINAL, &key, &flow);
	flow.flags |= NFO_FLOW_NAT_ADDR | NFO_FLOW_NAT_PORT;
	nfo_dp_flow_add(dp, AF_INET, &key, &flow, true);
	/* The same two entries for TCP. */
	in.l4proto = out.l4proto = self.l4proto = IPPROTO_TCP;
	nfo_flow_build(&in, &out, lan, 3, NFO_DIR_ORIGINAL, &key, &flow);
	nfo_dp_flow_add(dp, AF_INET, &key, &flow, true);
	nfo_flow_build(&self, &self, lan, 4, NFO_DIR_ORIGINAL, &key, &flow);
	flow.flags |= NFO_FLOW_NAT_ADDR | NFO_FLOW_NAT_PORT;
	nfo_dp_flow_add(dp, AF_INET, &key, &flow, true);

	build(hit, lan_mac, "198.18.1.2", "198.18.100.10", 40000, IPPROTO_UDP, 0);
	build(thit, lan_mac, "198.18.1.2", "198.18.100.10", 40000, IPPROTO_TCP, 0);
	build(tpad, lan_mac, "198.18.1.2", "198.18.100.10", 40000, IPPROTO_TCP, 10);
	build(miss, lan_mac, "198.18.1.2", "198.18.100.10", 40001, IPPROTO_UDP, 0);
	for (x = 0; x < 2; x++) {
		bool xdp = x == 0;

		h[x] = measure(xdp, lan, hit, sizeof(hit), 200, runs,
			       xdp ? XDP_REDIRECT : 7 /* TC_ACT_REDIRECT */);
		th[x] = measure(xdp, lan, thit, sizeof(thit), 200, runs,
				xdp ? XDP_REDIRECT : 7 /* TC_ACT_REDIRECT */);
		/*
		 * A trailer is cut once, and a repetition would see the cut
		 * frame: single runs, against single runs of the same TCP
		 * packet without one.
		 */
		t1[x] = measure(xdp, lan, thit, sizeof(thit), 1, runs,
				xdp ? XDP_REDIRECT : 7 /* TC_ACT_REDIRECT */);
		tp1[x] = measure(xdp, lan, tpad, sizeof(tpad), 1, runs,
				 xdp ? XDP_REDIRECT : 7 /* TC_ACT_REDIRECT */);
		m[x] = measure(xdp, lan, miss, sizeof(miss), 1000, runs / 4 + 1,
			       xdp ? XDP_PASS : (uint32_t)-1 /* TC_ACT_UNSPEC */);
		prog_sizes(xdp, xdp ? xlog : tlog, sz[x], sizeof(sz[x]));
	}
	printf("| entry point | hit: IPv4 UDP + SNAT (ns/packet) | hit: IPv4 TCP ACK + SNAT "
	       "| miss (ns/packet) | program |\n");
	printf("|---|---|---|---|---|\n");
	printf("| XDP | %.0f | %.0f | %.0f | %s |\n", h[0], th[0], m[0], sz[0]);
	printf("| tc | %.0f | %.0f | %.0f | %s |\n", h[1], th[1], m[1], sz[1]);
	{
		struct bpf_prog_info info = {};
		__u32 ilen = sizeof(info);

		bpf_obj_get_info_by_fd(nfo_dp_prog_fd(dp, true), &info, &ilen);
		printf("\nMedian of %d BPF_PROG_TEST_RUN calls (hits: 200 repetitions each; miss: "
		       "1000), programs %s.\n",
		       runs, info.jited_prog_len ? "JIT-compiled" : "interpreted (no JIT)");
		printf("Ethernet trailer, single runs (timer overhead included): TCP ACK hit "
		       "XDP %.0f ns, with a 10-byte trailer %.0f ns; tc %.0f ns, with the trailer "
		       "%.0f ns.\n",
		       t1[0], tp1[0], t1[1], tp1[1]);
	}
	(void)wan;
	(void)wan_mac;
	nfo_dp_close(dp);
	return 0;
}
