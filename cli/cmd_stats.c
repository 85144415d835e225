// SPDX-License-Identifier: GPL-2.0-only
/* nft-offload stats */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "output.h"

static const char *const reason_keys[] = {
#define X(e, key, desc) key,
	NFO_REASONS(X)
#undef X
};


static uint64_t slow_total(const struct nfo_stats *s)
{
	uint64_t t = 0;
	int i;

	for (i = 0; i < NFO_R_MAX; i++)
		t += s->pass[i];
	return t;
}

static void print_once(struct cli *c, struct nfo_devstat *d, int n)
{
	struct nfo_stats tot = {};
	int i, r;

	out_obj_open(NULL);
	out_arr_open("devices");
	out_text("%-12s %-11s %14s %16s %12s  %s\n", "DEVICE", "MODE", "FWD-PACKETS",
		 "FWD-BYTES", "SLOW-PATH", "SLOW-PATH REASONS");
	for (i = 0; i < n; i++) {
		const struct nfo_stats *s = &d[i].st;
		bool any = false;

		out_obj_open(NULL);
		out_str("name", "%-12s ", d[i].s.name);
		out_u64("ifindex", NULL, d[i].s.ifindex);
		out_str("mode", "%-11s ", nfo_mode_of_flags(d[i].s.flags));
		out_u64("fwd_packets", "%14llu ", s->fwd_packets);
		out_u64("fwd_bytes", "%16llu ", s->fwd_bytes);
		out_u64("slow_path_packets", "%12llu  ", slow_total(s));
		out_obj_open("slow_path");
		for (r = 0; r < NFO_R_MAX; r++) {
			if (!s->pass[r] && !c->all_reasons && !c->json)
				continue;
			out_u64(reason_keys[r], NULL, s->pass[r]);
			out_text("%s%s=%llu", any ? " " : "", reason_keys[r],
				 (unsigned long long)s->pass[r]);
			any = true;
		}
		out_obj_close();
		out_text("%s\n", any ? "" : "-");
		out_obj_close();
		tot.fwd_packets += s->fwd_packets;
		tot.fwd_bytes += s->fwd_bytes;
		for (r = 0; r < NFO_R_MAX; r++)
			tot.pass[r] += s->pass[r];
	}
	out_arr_close();
	out_obj_open("total");
	out_text("%-12s %-11s ", "total", "");
	out_u64("fwd_packets", "%14llu ", tot.fwd_packets);
	out_u64("fwd_bytes", "%16llu ", tot.fwd_bytes);
	out_u64("slow_path_packets", "%12llu\n", slow_total(&tot));
	out_obj_open("slow_path");
	for (r = 0; r < NFO_R_MAX; r++)
		out_u64(reason_keys[r], NULL, tot.pass[r]);
	out_obj_close();
	out_obj_close();
	out_obj_close();
	out_finish();
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Rates between two snapshots: one line per device (one JSON object per report). */
static void print_rates(struct nfo_devstat *a, struct nfo_devstat *b, int n, double dt)
{
	char pps[16], bps[16], slow[16], tbuf[16];
	time_t t = time(NULL);
	int i, r;

	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&t));
	out_init(out_json()); /* one JSON document per line */
	out_obj_open(NULL);
	out_str("time", NULL, tbuf);
	out_u64("interval_ms", NULL, (uint64_t)(dt * 1000));
	out_arr_open("devices");
	for (i = 0; i < n; i++) {
		const struct nfo_stats *x = &a[i].st, *y = &b[i].st;
		uint64_t dp = y->fwd_packets - x->fwd_packets, db = y->fwd_bytes - x->fwd_bytes;
		uint64_t ds = slow_total(y) - slow_total(x);
		int top = -1;
		uint64_t topv = 0;

		for (r = 0; r < NFO_R_MAX; r++)
			if (y->pass[r] - x->pass[r] > topv)
				topv = y->pass[r] - x->pass[r], top = r;
		out_obj_open(NULL);
		out_text("%s  ", tbuf);
		out_str("name", "%-12s ", a[i].s.name);
		out_u64("fwd_pps", NULL, (uint64_t)(dp / dt));
		out_u64("fwd_bits_per_s", NULL, (uint64_t)(db * 8 / dt));
		out_u64("slow_path_pps", NULL, (uint64_t)(ds / dt));
		out_text("fwd %8s pps %8sbit/s   slow path %8s pps%s%s\n",
			 out_human(dp / dt, pps, 16), out_human(db * 8 / dt, bps, 16),
			 out_human(ds / dt, slow, 16), top >= 0 ? "  mostly " : "",
			 top >= 0 ? reason_keys[top] : "");
		out_obj_close();
	}
	out_arr_close();
	out_obj_close();
	out_finish();
}

int cmd_stats(struct cli *c, int argc, char **argv)
{
	struct nfo_devstat a[NFO_MAX_SLOTS], b[NFO_MAX_SLOTS];
	struct nfo_dp *dp;
	long it = 0;
	double t0;
	int n, m;

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[0]);
	if (c->iterations && !c->watch)
		return cli_usage_error(c, "--iterations needs --watch");
	if (c->all_reasons && c->watch)
		return cli_usage_error(c, "--all lists counters, --watch shows rates: use one");
	dp = cli_open_pins(c);
	if (!dp)
		return 1;
	out_init(c->json);
	n = nfo_dp_devstats(dp, a, NFO_MAX_SLOTS);
	if (!c->watch) {
		print_once(c, a, n);
		nfo_dp_close(dp);
		return 0;
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	t0 = now_s();
	while (!interrupted && (!c->iterations || it < c->iterations)) {
		double t1;

		usleep((useconds_t)(c->watch * 1e6));
		if (interrupted)
			break;
		m = nfo_dp_devstats(dp, b, NFO_MAX_SLOTS);
		t1 = now_s();
		if (m != n) { /* devices came or went: start over */
			memcpy(a, b, sizeof(a));
			n = m;
			t0 = t1;
			continue;
		}
		print_rates(a, b, n, t1 - t0);
		memcpy(a, b, sizeof(a));
		t0 = t1;
		it++;
		fflush(stdout);
	}
	nfo_dp_close(dp);
	return 0;
}
