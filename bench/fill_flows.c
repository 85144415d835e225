// SPDX-License-Identifier: GPL-2.0-only
/*
 * fill_flows: put COUNT dummy entries into nft-offload's pinned IPv4 flow
 * map (or take them out again with --delete).
 *
 * The flow-count benchmark wants to know whether a full table slows the
 * fast path down (hash buckets, cache misses). Creating a million real
 * connections is not possible here (conntrack's table is smaller than that
 * and host-wide), so the map is filled directly: entries built with
 * nfo_flow_build() like the daemon's, tuples inside 198.18.0.0/15, keyed on
 * an ingress ifindex that never carries traffic, so they can never match a
 * packet. The daemon does not know them and leaves them alone.
 *
 *   fill_flows [--delete] [--ifindex N] PIN_DIR COUNT
 *
 * Prints "COUNT SECONDS" on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <netinet/in.h>

#include "dp_bpf.h"
#include "flow.h"

#define BATCH 8192
#define PORTS_PER_ADDR 50000
#define DUMMY_BASE 0xc6128000 /* 198.18.128.0: not used by any benchmark traffic */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void dummy(unsigned long i, uint32_t ifindex, union nfo_key *key, struct nfo_flow *flow)
{
	struct nfo_tuple t = {
		.family = AF_INET,
		.l4proto = IPPROTO_UDP,
		.sport = htons(1024 + i % PORTS_PER_ADDR),
		.dport = htons(53),
		.src.ip = htonl(DUMMY_BASE + i / PORTS_PER_ADDR),
		.dst.ip = htonl(0xc613ff01), /* 198.19.255.1 */
	};

	nfo_flow_build(&t, &t, ifindex, 0, NFO_DIR_ORIGINAL, key, flow);
}

/* Without batch support, or to skip entries already deleted. */
static int one_by_one(struct nfo_dp *dp, const struct nfo_key4 *keys, const struct nfo_flow *vals,
		      __u32 n, bool del)
{
	__u32 k;
	int err;

	for (k = 0; k < n; k++) {
		union nfo_key key = { .k4 = keys[k] };

		err = del ? nfo_dp_flow_del(dp, AF_INET, &key) :
			    nfo_dp_flow_add(dp, AF_INET, &key, &vals[k], true);
		if (err && !(del && err == -ENOENT))
			return err;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct nfo_key4 keys[BATCH];
	static struct nfo_flow vals[BATCH];
	uint32_t ifindex = 0;
	unsigned long count, i = 0;
	struct nfo_dp *dp;
	bool del = false;
	int argi = 1, fd, err;
	double t0;

	while (argi < argc && argv[argi][0] == '-') {
		if (!strcmp(argv[argi], "--delete")) {
			del = true;
			argi++;
		} else if (!strcmp(argv[argi], "--ifindex") && argi + 1 < argc) {
			ifindex = strtoul(argv[argi + 1], NULL, 0);
			argi += 2;
		} else {
			break;
		}
	}
	if (argc - argi != 2) {
		fprintf(stderr, "usage: fill_flows [--delete] [--ifindex N] PIN_DIR COUNT\n");
		return 2;
	}
	count = strtoul(argv[argi + 1], NULL, 0);
	err = nfo_dp_open_pinned(argv[argi], &dp);
	if (err) {
		fprintf(stderr, "fill_flows: cannot open the pinned maps in %s: %s\n", argv[argi],
			strerror(-err));
		return 1;
	}
	/* Default: the last valid ifindex, far above any device the benchmark creates. */
	if (!ifindex)
		ifindex = nfo_dp_max_ifindex(dp) - 1;
	fd = nfo_dp_flow_fd(dp, AF_INET);

	t0 = now_s();
	while (i < count) {
		__u32 n = 0, done;

		for (; n < BATCH && i + n < count; n++) {
			union nfo_key key;

			dummy(i + n, ifindex, &key, &vals[n]);
			keys[n] = key.k4;
		}
		done = n;
		/* One syscall per batch; single updates where batches are missing. */
		if (del)
			err = bpf_map_delete_batch(fd, keys, &done, NULL) ? -errno : 0;
		else
			err = bpf_map_update_batch(fd, keys, vals, &done, NULL) ? -errno : 0;
		if (err == -EINVAL || err == -EOPNOTSUPP || (del && err == -ENOENT))
			err = one_by_one(dp, keys, vals, n, del);
		if (err) {
			fprintf(stderr, "fill_flows: %s entries %lu-%lu: %s\n",
				del ? "deleting" : "adding", i, i + n - 1, strerror(-err));
			nfo_dp_close(dp);
			return 1;
		}
		i += n;
	}
	printf("%lu %.3f\n", count, now_s() - t0);
	nfo_dp_close(dp);
	return 0;
}
