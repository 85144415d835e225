// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload status: what operators otherwise piece together from lsmod,
 * nft list ruleset, ethtool, tc filter show and conntrack -L.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/netlink.h>

#include "attach.h"
#include "cli.h"
#include "conntrackd.h"
#include "flowmem.h"
#include "instance.h"
#include "nft.h"
#include "nft_watch.h"
#include "nl.h"
#include "owner.h"
#include "output.h"
#include "rtnl.h"
#include "xfrm.h"

/* A kernel config option from /proc/config.gz: 'y', 'm', 'n' or '?'. */
static char kconfig(const char *opt)
{
	static char *cfg;
	static bool tried;
	char line[256], want[128];
	size_t len = 0, cap = 0;
	const char *p;

	if (!tried) {
		gzFile f = gzopen("/proc/config.gz", "r");

		tried = true;
		while (f && gzgets(f, line, sizeof(line))) {
			size_t n = strlen(line);

			if (len + n + 1 > cap) {
				cap = cap ? cap * 2 : 65536;
				cfg = realloc(cfg, cap);
				if (!cfg)
					break;
			}
			memcpy(cfg + len, line, n + 1);
			len += n;
		}
		if (f)
			gzclose(f);
	}
	if (!cfg)
		return '?';
	snprintf(want, sizeof(want), "\n%s=", opt);
	p = strstr(cfg, want);
	if (p)
		return p[strlen(want)];
	snprintf(want, sizeof(want), "# %s is not set", opt);
	return strstr(cfg, want) ? 'n' : '?';
}

struct feature {
	const char *key;
	const char *name;
	int ok; /* 1 yes, 0 no, -1 unknown */
	char detail[96];
	bool required;
};

static int kc(const char *opt)
{
	char v = kconfig(opt);

	return v == 'y' || v == 'm' ? 1 : v == 'n' ? 0 : -1;
}

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* Is the BPF JIT on? Load the smallest program and see if it got JITed (the
 * sysctl lives only in the initial network namespace). */
static int jit_enabled(void)
{
	struct bpf_insn prog[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 }, /* r0 = 0 */
		{ .code = 0x95 }, /* exit */
	};
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd, jit = -1;
	FILE *fp;

	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", prog, 2, NULL);
	if (fd >= 0) {
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			jit = info.jited_prog_len > 0;
		close(fd);
		return jit;
	}
	fp = fopen("/proc/sys/net/core/bpf_jit_enable", "r");
	if (fp) {
		if (fscanf(fp, "%d", &jit) != 1)
			jit = -1;
		fclose(fp);
	}
	return jit;
}

static int probe_features(struct feature *f)
{
	int n = 0, jit = jit_enabled(), v;
	v = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL);
	f[n] = (struct feature){ "bpf", "BPF", v > 0, "", true };
	snprintf(f[n++].detail, sizeof(f[0].detail), "JIT %s",
		 jit > 0 ? "on" : jit == 0 ? "off (slow: sysctl net.core.bpf_jit_enable=1)" :
					     "unknown");
	f[n++] = (struct feature){ "btf", "BTF", readable("/sys/kernel/btf/vmlinux"),
				   "/sys/kernel/btf/vmlinux", false };
	v = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL);
	f[n++] = (struct feature){ "xdp", "XDP", v > 0, "", false };
	f[n] = (struct feature){ "tc", "tc clsact + cls_bpf", kc("CONFIG_NET_CLS_BPF"), "", true };
	if (f[n].ok && kc("CONFIG_NET_SCH_INGRESS") == 0)
		f[n].ok = 0;
	snprintf(f[n++].detail, sizeof(f[0].detail), "tcx %s",
		 kc("CONFIG_NET_XGRESS") > 0 ? "also available" : "not available");
	f[n++] = (struct feature){ "conntrack_events", "conntrack events",
				   kc("CONFIG_NF_CONNTRACK_EVENTS"), "", true };
	f[n++] = (struct feature){ "ctnetlink", "ctnetlink", kc("CONFIG_NF_CT_NETLINK"), "",
				   true };
	f[n++] = (struct feature){ "nftables", "nftables", kc("CONFIG_NF_TABLES"), "", true };
	v = nfo_kernel_has_ct_kfuncs();
	f[n] = (struct feature){ "conntrack_bpf", "conntrack BPF kfuncs", v, "", false };
	snprintf(f[n++].detail, sizeof(f[0].detail), "%s",
		 v ? "the fast path holds conntrack entries" :
		     "absent: the daemon holds conntrack entries (netlink)");
	v = kc("CONFIG_NF_FLOW_TABLE");
	if (v != 1 && readable("/sys/module/nf_flow_table"))
		v = 1;
	f[n] = (struct feature){ "kernel_flowtable", "kernel flowtable", v, "", false };
	snprintf(f[n++].detail, sizeof(f[0].detail), "%s",
		 v == 1 ? "present (nft flowtables also work here)" :
		 v == 0 ? "absent: CONFIG_NF_FLOW_TABLE not set (nft-offload replaces it)" :
			  "unknown");
	return n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* IPsec: flows an xfrm policy selects stay on the kernel path. */
static void status_xfrm(bool running)
{
	struct nfo_xfrm x = {};
	int err = nfo_xfrm_dump(&x);

	out_obj_open("xfrm");
	if (err) {
		out_null("policies");
		out_text("ipsec:      cannot read xfrm policies: %s\n", strerror(-err));
	} else {
		out_u64("policies", "ipsec:      %llu xfrm polic", x.total);
		out_u64("forward_policies", NULL, x.n);
		out_text(x.total == 1 ? "y" : "ies");
		if (x.n)
			out_text(", %d for forwarded packets: connections they select stay on "
				 "the kernel path", x.n);
		out_text("\n");
	}
	out_obj_close();
	nfo_xfrm_free(&x);
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	const char *dir = cli_pin_dir(c);
	struct feature feat[16];
	struct nfo_state st = {};
	struct nfo_conntrackd ctd;
	struct nfo_dp *dp = NULL;
	struct utsname u;
	struct nfo_nl nl;
	bool running = false, table, healthy = true;
	char buf[64], problems[16][256];
	int nprob = 0;
	int nf, i;
	long flows = -1;
	uint64_t now = mono_ns();

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[0]);
#define PROBLEM(...)                                                                      \
	do {                                                                              \
		healthy = false;                                                          \
		if (nprob < 16)                                                           \
			snprintf(problems[nprob++], sizeof(problems[0]), __VA_ARGS__);    \
	} while (0)

	uname(&u);
	nf = probe_features(feat);
	if (nfo_dp_pinned(dir) && nfo_dp_open_pinned(dir, &dp) == 0) {
		nfo_dp_state_get(dp, &st);
		running = cli_daemon_alive(&st);
		flows = nfo_dp_flow_count(dp);
	}
	table = nfo_nft_table_exists();

	out_init(c->json);
	out_obj_open(NULL);
	out_str("version", "nft-offload %s", NFO_VERSION);
	out_str("kernel", ", kernel %s\n", u.release);
	out_text("\nkernel features:\n");
	out_obj_open("features");
	for (i = 0; i < nf; i++) {
		out_obj_open(feat[i].key);
		out_text("  %-20s ", feat[i].name);
		if (feat[i].ok < 0)
			out_null("available");
		else
			out_bool("available", NULL, feat[i].ok);
		out_text("%s", feat[i].ok > 0 ? "yes" : feat[i].ok == 0 ? "no" : "unknown");
		out_str("detail", feat[i].detail[0] ? "  %s" : NULL, feat[i].detail);
		out_text("\n");
		out_obj_close();
		if (feat[i].required && feat[i].ok == 0)
			PROBLEM("kernel lacks %s", feat[i].name);
	}
	out_obj_close();

	out_text("\n");
	out_obj_open("daemon");
	out_bool("running", "daemon:     %s", running);
	if (running) {
		struct tm tm;
		time_t t = st.started_unix;
		uint64_t hb = now > st.heartbeat_ns ? now - st.heartbeat_ns : 0;
		char up[32], hbs[32];

		localtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
		out_u64("pid", " (pid %llu", st.pid);
		out_str("since", ", since %s", buf);
		out_u64("uptime_s", NULL, (now - st.started_ns) / 1000000000ULL);
		out_text(", up %s", out_duration(now - st.started_ns, up, sizeof(up)));
		out_u64("heartbeat_age_ms", NULL, hb / 1000000);
		out_text(", heartbeat %s ago)", out_duration(hb, hbs, sizeof(hbs)));
		if (hb > 5000000000ULL)
			PROBLEM("daemon heartbeat is %s old (stuck?)", hbs);
	} else if (dp) {
		PROBLEM("the fast path is in place but no daemon runs: flows are not aged, "
			"ruleset changes are not applied (start it, or 'nft-offload stop')");
	}
	out_text("\n");
	out_obj_close();

	out_obj_open("nft");
	out_bool("table_present", NULL, table);
	out_text("nft table:  inet nft_offload %s", table ? "present" : "absent");
	if (dp && st.ct_mark)
		out_u64("ct_mark", ", ct mark bits 0x%08llx", st.ct_mark);
	if (st.flags & NFO_STATE_WARN_PRIO) {
		out_bool("later_forward_chains", NULL, true);
		out_text(" (WARNING: another forward chain runs after it)");
		PROBLEM("a forward chain runs after nft-offload's");
	}
	out_text("\n");
	if (running && !table)
		PROBLEM("table inet nft_offload is missing");
	if (dp) {
		out_u64("table_restores", NULL, st.table_restores);
		out_u64("table_restored_unix", NULL, st.table_restored_unix);
		if (st.table_restores) {
			struct tm tm;
			time_t t = st.table_restored_unix;

			localtime_r(&t, &tm);
			strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
			out_text("            found changed or removed and restored %u time%s, last "
				 "at %s\n",
				 st.table_restores, st.table_restores == 1 ? "" : "s", buf);
		}
	}
	out_obj_close();
	status_xfrm(running);

	/* An HA pair: conntrackd syncs conntrack, marks included, to the peer. */
	out_obj_open("conntrackd");
	if (!nfo_conntrackd_find(&ctd) && ctd.running) {
		out_bool("running", "conntrackd: running", true);
		out_u64("pid", " (pid %llu", ctd.pid);
		out_str("sync_mode", ", %s sync", ctd.mode[0] ? ctd.mode : "no");
		out_str("config", ", %s)\n", ctd.config);
	} else {
		out_bool("running", "conntrackd: not running\n", false);
	}
	out_obj_close();

	if (dp) {
		char p50[32], p99[32], mx[32];
		struct nfo_dp_summary sum;
		uint64_t reserved;
		bool over;

		nfo_dp_summary(dp, &sum);
		reserved = sum.reserved_bytes;

		out_obj_open("flows");
		out_u64("offloaded", "flows:      %llu", flows > 0 ? (uint64_t)flows / 2 : 0);
		out_text(" connection%s offloaded", flows == 2 ? "" : "s");
		out_u64("capacity", " (capacity %llu per family", sum.flow_capacity);
		out_u64("reserved_bytes", NULL, reserved);
		out_text(", %s of kernel memory reserved)", nfo_bytes_str(reserved, buf, sizeof(buf)));
		out_u64("offloaded_total", ", %llu since start", st.offloaded_total);
		out_u64("evicted_total", ", %llu evicted", st.evicted_total);
		out_u64("admit_errors", NULL, st.admit_errors);
		if (st.admit_errors)
			out_text(", %llu could not be written",
				 (unsigned long long)st.admit_errors);
		out_u64("waiting", NULL, running ? st.flows_waiting : 0);
		if (running && st.flows_waiting) {
			out_text("\n            TABLE FULL: %llu marked connection%s wait on the "
				 "kernel path for room",
				 (unsigned long long)st.flows_waiting,
				 st.flows_waiting == 1 ? "" : "s");
			PROBLEM("flow table full: %llu connection%s waiting (raise 'flows')",
				(unsigned long long)st.flows_waiting,
				st.flows_waiting == 1 ? "" : "s");
		}
		/*
		 * The table was sized to conntrack's limit, which has risen
		 * since (the daemon's judgment, as its log says): nothing
		 * waits yet, but connections beyond the capacity would.
		 */
		over = running && (st.flags & NFO_STATE_CT_LIMIT_ABOVE);
		out_bool("ct_limit_above_capacity", NULL, over);
		if (over) {
			long long limit = nfo_ct_limit();

			if (limit >= 0)
				out_u64("ct_limit", NULL, (uint64_t)limit);
			if (limit > 0)
				snprintf(buf, sizeof(buf), "%lld", limit);
			out_text("\n            WARNING: conntrack's limit (net.netfilter."
				 "nf_conntrack_max, %s) is above the capacity: connections beyond it "
				 "would stay on the kernel path (restart nft-offload to size the table "
				 "again, or set 'flows')",
				 limit > 0 ? buf : limit == 0 ? "none" : "unknown");
		}
		out_text("\n");
		out_obj_close();
		out_obj_open("events");
		out_u64("handled", "events:     %llu conntrack events", st.events);
		out_u64("lost", ", %llu lost", st.events_lost);
		out_u64("resyncs", ", %llu resyncs", st.resyncs);
		out_u64("revalidations", ", %llu ruleset re-validations", st.revalidations);
		if (st.flags & NFO_STATE_EVENTS_REVIVED) {
			out_bool("ct_events_revived", NULL, true);
			out_text(" (WARNING: net.netfilter.nf_conntrack_events was set to 0 while "
				 "running; the daemon set it to 1 again)");
		}
		out_text("\n");
		out_obj_close();
		out_obj_open("offload_latency");
		out_u64("p50_us", NULL, st.latency_p50_ns / 1000);
		out_u64("p99_us", NULL, st.latency_p99_ns / 1000);
		out_u64("max_us", NULL, st.latency_max_ns / 1000);
		snprintf(p50, sizeof(p50), "%.0fus", st.latency_p50_ns / 1e3);
		snprintf(p99, sizeof(p99), "%.0fus", st.latency_p99_ns / 1e3);
		snprintf(mx, sizeof(mx), "%.0fus", st.latency_max_ns / 1e3);
		out_text("latency:    event to fast path p50 %s, p99 %s, max %s\n", p50, p99, mx);
		out_obj_close();
	}

	out_text("\ndevices:\n");
	out_arr_open("devices");
	if (dp && !nfo_nl_open(&nl, NETLINK_ROUTE, 0)) {
		uint32_t slot;
		struct nfo_netdev_chains nc = {};

		nfo_netdev_chains_scan(&nc);

		out_text("  %-12s %7s %-12s %-6s %s\n", "NAME", "IFINDEX", "MODE", "LINK",
			 "XDP FEATURES");
		for (slot = 1; slot < NFO_MAX_SLOTS; slot++) {
			struct nfo_slot s;
			struct nfo_link l;
			struct nfo_dp_devcheck dc = {};
			struct nfo_dev dv = {};
			uint64_t xf;
			char xfs[128] = "-", chains[512], who[256];
			bool present, attached;

			if (nfo_dp_slot_get(dp, slot, &s) || !s.name[0])
				continue;
			present = s.ifindex && !nfo_link_get(&nl, s.ifindex, NULL, &l) &&
				  !strcmp(l.name, s.name);
			/* Ours, and not another instance's program by the same name? */
			attached = present && !nfo_dp_dev_check(dp, s.ifindex, s.flags, &dc) &&
				   dc.attached;
			if (present && !nfo_xdp_features(s.ifindex, &xf))
				nfo_xdp_features_str(xf, xfs, sizeof(xfs));
			if (present)
				nfo_dp_dev_get(dp, s.ifindex, &dv);
			out_obj_open(NULL);
			out_str("name", "  %-12s ", s.name);
			out_u64("ifindex", "%7llu ", present ? s.ifindex : 0);
			out_str("mode", "%-12s ", nfo_mode_of_flags(s.flags));
			out_bool("attached", NULL, attached);
			out_str("link", "%-6s ", !present ? "gone" : l.up ? "up" : "down");
			out_bool("xdp_redirect_target", NULL, dv.flags & NFO_DEV_XDP_TX);
			out_str("xdp_features", "%s", xfs);
			out_text("%s\n", !present ? "" : attached ? "" : "  (NOT ATTACHED)");
			if (s.flags & NFO_DEV_NETDEV_CHAIN) {
				nfo_netdev_chains_on(&nc, s.name, chains, sizeof(chains));
				out_str("kernel_path_only", NULL, chains[0] ? chains : "netdev chains");
				out_text("  %-12s WARNING: kernel path only: hooked by netdev "
					 "chain(s) %s, which offloaded packets would skip "
					 "(allow-netdev-chains to offload it anyway)\n",
					 s.name, chains[0] ? chains : "(gone since)");
			} else {
				out_null("kernel_path_only");
			}
			/* XDP: does the program see a VLAN tag the driver took out? */
			if (s.flags & NFO_DEV_XDP) {
				bool asks = s.flags & NFO_DEV_XDP_VLAN;
				bool sees = asks && !(dv.flags & NFO_DEV_XDP_VLAN_UNKNOWN);

				out_bool("xdp_vlan_tags", NULL, sees);
				if (!sees)
					out_text("  %-12s note: %s cannot tell frames whose VLAN "
						 "tag the driver took out (README, Limits)\n",
						 s.name, asks ? "its driver" : "XDP here");
			} else {
				out_null("xdp_vlan_tags");
			}
			out_obj_close();
			if (running && !present)
				PROBLEM("device %s is gone", s.name);
			else if (running && dc.owner.present && !dc.owner.ours) {
				nfo_owner_str(&dc.owner, who, sizeof(who));
				PROBLEM("the program on %s was replaced by %s", s.name, who);
			} else if (running && !attached)
				PROBLEM("program not attached to %s", s.name);
		}
		nfo_nl_close(&nl);
	} else {
		out_text("  none (nothing pinned in %s)\n", dir);
	}
	out_arr_close();

	if (!dp && !running)
		PROBLEM("not running");
	out_bool("healthy", "\nhealth:     %s", healthy);
	out_arr_open("problems");
	for (i = 0; i < nprob; i++)
		out_str(NULL, i ? "; %s" : ": %s", problems[i]);
	out_arr_close();
	out_text("\n");
	out_obj_close();
	out_finish();
	nfo_dp_close(dp);
	return healthy ? 0 : 1;
}
