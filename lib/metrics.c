// SPDX-License-Identifier: GPL-2.0-only
/* Prometheus text exposition of the pinned state. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "metrics.h"
#include "owner.h"

static const char *const reason_labels[] = {
#define X(e, key, desc) key,
	NFO_REASONS(X)
#undef X
};

static const char *const evict_labels[] = {
#define X(e, label) label,
	NFO_EVICTS(X)
#undef X
};

_Static_assert(sizeof(evict_labels) / sizeof(evict_labels[0]) <= NFO_EVICT_SLOTS,
	       "more eviction reasons than nfo_metrics has slots");

static const uint64_t lat_bounds[] = NFO_LAT_BOUNDS_NS;

_Static_assert(sizeof(lat_bounds) / sizeof(lat_bounds[0]) == NFO_LAT_BUCKETS - 1,
	       "latency bounds and buckets disagree");

static const char *const dir_labels[] = { "original", "reply" };

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP nft_offload_%s %s\n# TYPE nft_offload_%s %s\n", name, help, name, type);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	head(f, name, "gauge", help);
	fprintf(f, "nft_offload_%s %.17g\n", name, v);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	head(f, name, "counter", help);
	fprintf(f, "nft_offload_%s %llu\n", name, (unsigned long long)v);
}

/* A label value: backslash, double quote and newline escaped. */
static const char *label(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"')
			buf[o++] = '\\', buf[o++] = *s;
		else if (*s == '\n')
			buf[o++] = '\\', buf[o++] = 'n';
		else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void devices(FILE *f, struct nfo_dp *dp)
{
	static struct nfo_devstat d[NFO_MAX_SLOTS];
	char name[NFO_MAX_SLOTS][40];
	int n = nfo_dp_devstats(dp, d, NFO_MAX_SLOTS), i, r;

	for (i = 0; i < n; i++)
		label(d[i].s.name, name[i], sizeof(name[i]));

	head(f, "fastpath_packets_total", "counter",
	     "Packets the fast path forwarded, by the device they entered (direction in).");
	for (i = 0; i < n; i++)
		fprintf(f, "nft_offload_fastpath_packets_total{device=\"%s\",direction=\"in\"} %llu\n",
			name[i], (unsigned long long)d[i].st.fwd_packets);
	head(f, "fastpath_bytes_total", "counter",
	     "Layer 3 bytes the fast path forwarded, by the device they entered (direction in).");
	for (i = 0; i < n; i++)
		fprintf(f, "nft_offload_fastpath_bytes_total{device=\"%s\",direction=\"in\"} %llu\n",
			name[i], (unsigned long long)d[i].st.fwd_bytes);
	head(f, "slowpath_packets_total", "counter",
	     "Packets the fast path passed to the kernel stack, by device and reason.");
	for (i = 0; i < n; i++)
		for (r = 0; r < NFO_R_MAX; r++)
			fprintf(f, "nft_offload_slowpath_packets_total{device=\"%s\",reason=\"%s\"} "
				   "%llu\n",
				name[i], reason_labels[r], (unsigned long long)d[i].st.pass[r]);
}

static void latency(FILE *f, const struct nfo_metrics *m)
{
	uint64_t acc = 0;
	int i;

	head(f, "admission_latency_seconds", "histogram",
	     "Time from reading a marked connection's conntrack event to its flow map entry.");
	for (i = 0; i < NFO_LAT_BUCKETS; i++) {
		acc += m->lat_bucket[i];
		if (i < NFO_LAT_BUCKETS - 1)
			fprintf(f, "nft_offload_admission_latency_seconds_bucket{le=\"%g\"} %llu\n",
				lat_bounds[i] / 1e9, (unsigned long long)acc);
		else
			fprintf(f, "nft_offload_admission_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
				(unsigned long long)acc);
	}
	fprintf(f, "nft_offload_admission_latency_seconds_sum %.9f\n", m->lat_sum_ns / 1e9);
	fprintf(f, "nft_offload_admission_latency_seconds_count %llu\n",
		(unsigned long long)m->lat_count);
}

static void hosts(FILE *f, struct nfo_dp *dp)
{
	struct nfo_host_key k, next, *prev = NULL;
	const char *const what[] = { "bytes", "packets" };
	size_t n = 0, cap = 0, i;
	struct entry {
		char addr[INET6_ADDRSTRLEN];
		const char *family;
		struct nfo_host h;
	} *v = NULL, *nv;
	int w, dir;

	while (!nfo_dp_host_next(dp, prev, &next)) {
		k = next;
		prev = &k;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		if (nfo_dp_host_get(dp, &k, &v[n].h))
			continue;
		inet_ntop(k.family, k.addr, v[n].addr, sizeof(v[n].addr));
		v[n].family = k.family == AF_INET ? "ipv4" : "ipv6";
		n++;
	}
	for (w = 0; w < 2; w++) {
		char name[32], help[200];

		snprintf(name, sizeof(name), "host_%s_total", what[w]);
		snprintf(help, sizeof(help),
			 "Fast-path %s of connections from this LAN address (the ORIGINAL "
			 "direction's source), added when each leaves the fast path; direction "
			 "original is what the host sent, reply what it received.",
			 w ? "packets" : "layer 3 bytes");
		head(f, name, "counter", help);
		for (i = 0; i < n; i++)
			for (dir = 0; dir < 2; dir++)
				fprintf(f, "nft_offload_%s{address=\"%s\",family=\"%s\","
					   "direction=\"%s\"} %llu\n",
					name, v[i].addr, v[i].family, dir_labels[dir],
					(unsigned long long)(w ? v[i].h.packets[dir] :
								 v[i].h.bytes[dir]));
	}
	head(f, "host_flows_total", "counter",
	     "Connections from this LAN address that left the fast path.");
	for (i = 0; i < n; i++)
		fprintf(f, "nft_offload_host_flows_total{address=\"%s\",family=\"%s\"} %llu\n",
			v[i].addr, v[i].family, (unsigned long long)v[i].h.flows);
	gauge(f, "hosts", "LAN addresses in the per-host table.", n);
	gauge(f, "hosts_capacity", "Size of the per-host table.", NFO_MAX_HOSTS);
	free(v);
}

int nfo_metrics_render(struct nfo_dp *dp, FILE *f)
{
	struct nfo_metrics m = {};
	struct nfo_state st = {};
	double now = mono_s();
	bool up;
	int i, err;

	err = nfo_dp_state_get(dp, &st);
	if (err)
		return err;
	err = nfo_dp_metrics_get(dp, &m);
	if (err)
		return err;
	/* Rendered by the daemon itself (metrics-listen, metrics-file): it runs. */
	up = (pid_t)st.pid == getpid() || nfo_pid_is_daemon(st.pid);
	gauge(f, "up", "1 if the nft-offload daemon runs, 0 if not (the fast path may still run).",
	      up);
	gauge(f, "start_time_seconds", "When the daemon started, seconds since the epoch.",
	      st.started_unix);
	gauge(f, "heartbeat_age_seconds", "Seconds since the daemon's last heartbeat (once a second).",
	      st.heartbeat_ns && now > st.heartbeat_ns / 1e9 ? now - st.heartbeat_ns / 1e9 : 0);
	gauge(f, "flows", "Connections offloaded now (each has two flow entries).", st.flows);
	head(f, "flows_capacity", "gauge", "Flow table capacity in connections, per family.");
	fprintf(f, "nft_offload_flows_capacity{family=\"ipv4\"} %llu\n",
		(unsigned long long)st.flow_capacity);
	fprintf(f, "nft_offload_flows_capacity{family=\"ipv6\"} %llu\n",
		(unsigned long long)st.flow_capacity);
	counter(f, "admissions_total", "Connections admitted into the fast path.",
		st.offloaded_total);
	counter(f, "admission_errors_total", "Connections that could not be written to the flow map.",
		st.admit_errors);
	head(f, "evictions_total", "counter", "Connections taken out of the fast path, by reason.");
	for (i = 0; i < (int)(sizeof(evict_labels) / sizeof(evict_labels[0])); i++)
		fprintf(f, "nft_offload_evictions_total{reason=\"%s\"} %llu\n", evict_labels[i],
			(unsigned long long)m.evicted[i]);
	counter(f, "conntrack_events_total", "Conntrack events the daemon handled.", st.events);
	counter(f, "conntrack_events_lost_total",
		"Times conntrack events were lost (event socket buffer full).", st.events_lost);
	counter(f, "resyncs_total", "Full conntrack dumps to catch up after lost events.",
		st.resyncs);
	counter(f, "revalidations_total", "Ruleset changes that sent every flow back to the ruleset.",
		st.revalidations);
	latency(f, &m);
	devices(f, dp);
	hosts(f, dp);
	counter(f, "host_table_full_total",
		"Connections whose final counts were not added: the per-host table was full.",
		m.hosts_full);
	return ferror(f) ? -EIO : 0;
}

int nfo_metrics_render_buf(struct nfo_dp *dp, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int err;

	if (!f)
		return -errno;
	err = nfo_metrics_render(dp, f);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}
