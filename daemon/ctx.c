// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, helpers every part uses: clocks, tuple text, the state
 * published for status (with admission's latency percentiles).
 */
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "ctx.h"

uint64_t mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint32_t mono_now_s(void)
{
	return mono_now_ns() / 1000000000ULL;
}

const char *tuple_str(const struct nfo_tuple *t, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s %s:%u -> %s:%u", nfo_proto_str(t->l4proto),
		 nfo_addr_str(t->family, &t->src, s, sizeof(s)), ntohs(t->sport),
		 nfo_addr_str(t->family, &t->dst, d, sizeof(d)), ntohs(t->dport));
	return buf;
}

static uint64_t latency_upper(unsigned int b)
{
	unsigned int msb = b / 8 + 2, sub = b % 8;

	if (b < 8)
		return b;
	return ((8ULL + sub + 1) << (msb - 3)) - 1;
}

static uint64_t latency_percentile(struct daemon *d, double p)
{
	uint64_t total = 0, acc = 0;
	unsigned int i;

	for (i = 0; i < LAT_BUCKETS; i++)
		total += d->adm.lat[i];
	if (!total)
		return 0;
	for (i = 0; i < LAT_BUCKETS; i++) {
		acc += d->adm.lat[i];
		if (acc >= total * p)
			return latency_upper(i) < d->adm.lat_max ? latency_upper(i)
								 : d->adm.lat_max;
	}
	return d->adm.lat_max;
}

void publish_state(struct daemon *d)
{
	d->st.heartbeat_ns = mono_now_ns();
	d->st.flows = d->tab.count;
	d->st.flows_waiting = d->waitq.count;
	d->st.latency_p50_ns = latency_percentile(d, 0.50);
	d->st.latency_p99_ns = latency_percentile(d, 0.99);
	d->st.latency_max_ns = d->adm.lat_max;
	nfo_dp_state_set(d->dp, &d->st);
}
