// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload: one binary, table-driven commands. The command and option
 * tables below are the single source of --help and of the man page.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

enum {
	O_JSON = 'j',
	O_VERBOSE = 'v',
	O_CONFIG = 'c',
	O_HELP = 'h',
	O_DEVICE = 'i',
	O_MODE = 'm',
	O_SELECT = 's',
	O_PROTO = 'p',
	O_ADDR = 'a',
	O_DEV = 'd',
	O_LIMIT = 'n',
	O_WATCH = 'w',
	O_V4 = '4',
	O_V6 = '6',
	O_PIN_DIR = 256,
	O_MARK,
	O_LOG_GROUP,
	O_IDLE,
	O_FLOWS,
	O_KEEP,
	O_FORCE,
	O_TRUST_NL,
	O_EVBUF,
	O_ALLOW_NETDEV,
	O_CT_TIMEOUT,
	O_PORT,
	O_ID,
	O_SORT,
	O_COUNT,
	O_ITER,
	O_ALL,
	O_METRICS_LISTEN,
	O_METRICS_FILE,
	O_METRICS_INTERVAL,
	O_CONNTRACK,
};

struct cli_opt {
	const char *name;
	int key;
	const char *arg; /* NULL: a flag */
	const char *help;
};

static const struct cli_opt common_opts[] = {
	{ "json", O_JSON, NULL,
	  "print JSON (stable snake_case keys) instead of text: status, flows, stats, explain" },
	{ "verbose", O_VERBOSE, NULL, "more detail on stderr (twice: also libbpf's messages)" },
	{ "config", O_CONFIG, "FILE", "read settings from FILE (default " NFO_CONFIG_FILE ")" },
	{ "pin-dir", O_PIN_DIR, "DIR", "BPF pin directory (default " NFO_DEFAULT_PIN_DIR ")" },
	{ "help", O_HELP, NULL, "show this help" },
	{ 0 },
};

static const struct cli_opt run_opts[] = {
	{ "device", O_DEVICE, "DEV[:MODE]",
	  "offload between this device and the others (at least two; repeat the option); "
	  "for a bridged LAN the bridge, not its ports" },
	{ "mode", O_MODE, "MODE", "auto (default), tc, xdp or xdp-generic, for every device" },
	{ "select", O_SELECT, "EXPR",
	  "offload only connections matching this nft expression (repeat for several)" },
	{ "mark", O_MARK, "BITS", "ct mark bits: original, reply direction (default 0xc0000000)" },
	{ "log-group", O_LOG_GROUP, "N", "nflog group of the mark rules (default 40960)" },
	{ "idle-timeout", O_IDLE, "TIME", "idle flows leave the fast path after TIME (default 30s)" },
	{ "flows", O_FLOWS, "N", "flow table capacity in connections per family (default 1M)" },
	{ "keep-on-exit", O_KEEP, NULL,
	  "on SIGTERM leave offload running for the next daemon (default: remove it)" },
	{ "force", O_FORCE, NULL, "attach beside (tc) or over (XDP) programs that are not ours" },
	{ "trust-netlink-marks", O_TRUST_NL, NULL,
	  "admit connections whose mark bit came through ctnetlink (conntrackd, conntrack -I/-U); "
	  "default: clear it, so that this router's ruleset decides" },
	{ "event-buffer", O_EVBUF, "BYTES", "conntrack event socket buffer (default 16M)" },
	{ "allow-netdev-chains", O_ALLOW_NETDEV, "DEV",
	  "offload DEV (or all) even though netdev chains hook it: offloaded packets then skip "
	  "them (default: such devices stay on the kernel path)" },
	{ "ct-timeout", O_CT_TIMEOUT, "TIME",
	  "conntrack timeout held while a flow is offloaded (default 24h)" },
	{ "metrics-listen", O_METRICS_LISTEN, "ADDR:PORT",
	  "serve GET /metrics on this address (127.0.0.1:9567, [::1]:9567; default off)" },
	{ "metrics-file", O_METRICS_FILE, "FILE",
	  "write the metrics to FILE (*.prom, for node_exporter's textfile collector)" },
	{ "metrics-interval", O_METRICS_INTERVAL, "TIME",
	  "how often to write --metrics-file (default 15s)" },
	{ 0 },
};

#define FILTER_OPTS                                                                      \
	{ "proto", O_PROTO, "tcp|udp", "only this protocol" },                           \
	{ "addr", O_ADDR, "ADDR", "only connections with this address in either tuple" }, \
	{ "port", O_PORT, "PORT", "only connections with this port in either tuple" },    \
	{ "dev", O_DEV, "DEV", "only connections entering through DEV" },                 \
	{ "id", O_ID, "ID", "only the connection with this conntrack id" },               \
	{ "ipv4", O_V4, NULL, "only IPv4" }, { "ipv6", O_V6, NULL, "only IPv6" }

static const struct cli_opt flows_opts[] = {
	FILTER_OPTS,
	{ "sort", O_SORT, "KEY", "sort by bytes, packets, idle or age (largest first)" },
	{ "count", O_COUNT, NULL, "print only the number of connections" },
	{ "limit", O_LIMIT, "N", "print at most N connections" },
	{ "conntrack", O_CONNTRACK, NULL,
	  "print conntrack's TCP/UDP entries as conntrack -L -o extended does, with true "
	  "counters" },
	{ 0 },
};

static const struct cli_opt evict_opts[] = { FILTER_OPTS, { 0 } };

static const struct cli_opt stats_opts[] = {
	{ "watch", O_WATCH, "SECONDS", "print rates every SECONDS until interrupted" },
	{ "iterations", O_ITER, "N", "with --watch: stop after N reports" },
	{ "all", O_ALL, NULL, "list every slow-path reason, also those at zero" },
	{ 0 },
};

static const struct cli_opt no_opts[] = { { 0 } };

struct cli_cmd {
	const char *name;
	const char *args;
	const char *summary;
	const char *desc;
	const struct cli_opt *opts;
	int (*run)(struct cli *c, int argc, char **argv);
	bool reads_pins; /* JSON makes sense */
};

static const struct cli_cmd cmds[] = {
	{ "run", "", "run the daemon (foreground)",
	  "Attach the fast path to the devices, install the nft-offload table whose forward "
	  "chain runs after every other forward chain and marks the connections the ruleset "
	  "accepted, and offload marked connections as conntrack reports them established. "
	  "Runs in the foreground (systemd Type=notify). SIGTERM removes every trace unless "
	  "--keep-on-exit (or on-exit = keep) is set; a daemon restarted over the pinned state "
	  "adopts the offloaded flows without interrupting them. SIGUSR1 makes it dump "
	  "conntrack and reconcile at once (it also does so after lost events).",
	  run_opts, cmd_run, false },
	{ "status", "", "kernel features, devices, daemon health",
	  "Probe the kernel (BPF, BTF, XDP, tc, conntrack events, nftables, the kernel's own "
	  "flowtable), list each offload device with its mode and link state, and report the "
	  "daemon (running since, heartbeat), the nft table (and how often it was found edited "
	  "and restored), xfrm policies, flow count and capacity, event losses and resyncs, "
	  "and offload latency. A device that netdev chains keep on the kernel path is a "
	  "warning; a program replaced by another instance is a problem. Exit status 0 means "
	  "healthy.",
	  no_opts, cmd_status, true },
	{ "flows", "", "list offloaded connections",
	  "One line per offloaded connection, like conntrack -L: both tuples as packets arrive, "
	  "ingress and egress devices, packets and bytes per direction, NAT, age, idle time "
	  "and state (active, or teardown after a FIN/RST). packets and bytes are the fast "
	  "path's; with conntrack accounting on (net.netfilter.nf_conntrack_acct=1) "
	  "total_packets and total_bytes add conntrack's own counters (see ACCOUNTING).",
	  flows_opts, cmd_flows, true },
	{ "stats", "", "per-device fast-path and slow-path counters",
	  "Per device: packets and bytes the fast path forwarded, and packets it passed to the "
	  "stack, by reason; totals. With --watch, rates per second.",
	  stats_opts, cmd_stats, true },
	{ "flush", "", "send every offloaded connection back to the ruleset",
	  "Remove all flows from the fast path and clear their mark: the next packet of each "
	  "connection is judged by the ruleset again, and offloaded again if it is accepted.",
	  no_opts, cmd_flush, false },
	{ "evict", "FILTER...", "send selected connections back to the ruleset",
	  "Like flush, for the connections the filter options select (at least one filter).",
	  evict_opts, cmd_evict, false },
	{ "explain", "[tcp|udp] SRC[:PORT] DST[:PORT]",
	  "why a connection is or is not offloaded",
	  "Walk the checks nft-offload makes for the connection with these addresses (IPv6 as "
	  "[ADDR]:PORT): conntrack entry, xfrm policies, mark, state, helper, devices, netdev "
	  "chains, fast-path entry. Exit "
	  "status 0 if the connection is offloaded, 1 if not.",
	  no_opts, cmd_explain, true },
	{ "stop", "", "remove nft-offload: programs, flows, nft table, pins",
	  "Stop the daemon if it runs (SIGTERM, then wait), then remove whatever is left: "
	  "programs are detached, offloaded connections are handed back to conntrack, the "
	  "nft-offload table and the pins are deleted.",
	  no_opts, cmd_stop, false },
	{ "metrics", "", "Prometheus metrics",
	  "Print every figure of status and stats, and the daemon's counters, in the "
	  "Prometheus text exposition format: nft_offload_up, heartbeat_age_seconds, flows, "
	  "flows_capacity{family}, admissions_total, evictions_total{reason}, "
	  "conntrack_events_total, conntrack_events_lost_total, resyncs_total, "
	  "revalidations_total, admission_latency_seconds (histogram), "
	  "fastpath_packets_total and fastpath_bytes_total{device,direction=\"in\"} (counted "
	  "on the device packets enter), slowpath_packets_total{device,reason}, and per LAN "
	  "host host_bytes_total, host_packets_total{address,family,direction} and "
	  "host_flows_total: the fast-path counts of each connection from that address "
	  "(its ORIGINAL source), added when the connection leaves the fast path, for at most "
	  "4096 hosts (host_table_full_total counts connections not added). The daemon "
	  "serves the same text with metrics-listen and writes it with metrics-file.",
	  no_opts, cmd_metrics, false },
	{ 0 },
};

static void opt_synopsis(const struct cli_opt *o, char *buf, size_t len)
{
	if (o->key < 256)
		snprintf(buf, len, "-%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	else
		snprintf(buf, len, "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

static void print_opts(FILE *f, const struct cli_opt *o)
{
	char syn[64];

	for (; o->name; o++) {
		opt_synopsis(o, syn, sizeof(syn));
		fprintf(f, "  %-28s %s\n", syn, o->help);
	}
}

static void usage(FILE *f)
{
	const struct cli_cmd *cmd;

	fprintf(f, "usage: nft-offload COMMAND [OPTIONS]\n\n"
		   "Flow offload for nftables with an eBPF fast path.\n\ncommands:\n");
	for (cmd = cmds; cmd->name; cmd++)
		fprintf(f, "  %-9s %s\n", cmd->name, cmd->summary);
	fprintf(f, "\nnft-offload COMMAND --help for a command's options; --version; man "
		   "nft-offload.\n");
}

static void cmd_usage(FILE *f, const struct cli_cmd *cmd)
{
	fprintf(f, "usage: nft-offload %s [OPTIONS]%s%s\n\n%s.\n\n", cmd->name,
		cmd->args[0] ? " " : "", cmd->args, cmd->summary);
	if (cmd->opts[0].name) {
		fprintf(f, "options:\n");
		print_opts(f, cmd->opts);
		fprintf(f, "\n");
	}
	fprintf(f, "common options:\n");
	print_opts(f, common_opts);
}

int cli_usage_error(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nft-offload: %s%s", c->cmd ? c->cmd : "", c->cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c->cmd)
		fprintf(stderr, " (see nft-offload %s --help)\n", c->cmd);
	else
		fprintf(stderr, " (see nft-offload --help)\n");
	return 2;
}

/* ---- the man page, from the same tables -------------------------------- */

static void man_escape(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static void man_opts(const struct cli_opt *o)
{
	char syn[64];

	for (; o->name; o++) {
		opt_synopsis(o, syn, sizeof(syn));
		fputs(".TP\n.B ", stdout);
		man_escape(syn[0] == ' ' ? syn + 4 : syn);
		fputs("\n", stdout);
		man_escape(o->help);
		fputs("\n", stdout);
	}
}

extern const char *const nfo_man_sections[];

static int print_man(void)
{
	const struct cli_cmd *cmd;
	const char *const *sec;

	printf(".TH NFT-OFFLOAD 8 \"\" \"nft-offload %s\" \"System Administration\"\n", NFO_VERSION);
	printf(".SH NAME\nnft\\-offload \\- flow offload for nftables with an eBPF fast path\n");
	printf(".SH SYNOPSIS\n.B nft\\-offload\n.I COMMAND\n[\\fIOPTIONS\\fR]\n");
	for (sec = nfo_man_sections; *sec; sec += 2) {
		if (!strcmp(sec[0], "COMMANDS")) {
			printf(".SH COMMANDS\n");
			for (cmd = cmds; cmd->name; cmd++) {
				printf(".SS \"nft\\-offload %s", cmd->name);
				if (cmd->args[0]) {
					putchar(' ');
					man_escape(cmd->args);
				}
				printf("\"\n");
				man_escape(cmd->desc);
				printf("\n");
				if (cmd->opts[0].name)
					man_opts(cmd->opts);
			}
			printf(".SS \"Common options\"\n");
			man_opts(common_opts);
			continue;
		}
		printf(".SH %s\n%s\n", sec[0], sec[1]);
	}
	return 0;
}

/* ---- option parsing ---------------------------------------------------- */

static int set_run(struct cli *c, const char *key, const char *val)
{
	char err[512];

	if (nfo_config_set(&c->cfg, key, val, err, sizeof(err)))
		return cli_usage_error(c, "%s", err);
	c->run_sets++;
	return 0;
}

/*
 * A whole number from digits only (strtoul would take blanks, '+', and '-'
 * negated), no overflow, at most max. -EINVAL otherwise.
 */
static int parse_uint(const char *arg, int base, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!isdigit((unsigned char)arg[0]))
		return -EINVAL;
	errno = 0;
	*v = strtoull(arg, &end, base);
	if (errno || *end || *v > max)
		return -EINVAL;
	return 0;
}

static int parse_filter(struct cli *c, int key, const char *arg)
{
	struct nfo_filter *f = &c->filter;
	unsigned long long v;

	c->filtered = true;
	switch (key) {
	case O_PROTO:
		if (!strcmp(arg, "tcp"))
			f->l4proto = IPPROTO_TCP;
		else if (!strcmp(arg, "udp"))
			f->l4proto = IPPROTO_UDP;
		else
			return cli_usage_error(c, "protocol must be tcp or udp, not '%s'", arg);
		return 0;
	case O_ADDR:
		f->addr_family = nfo_addr_parse(arg, &f->addr);
		if (!f->addr_family)
			return cli_usage_error(c, "'%s' is not an IPv4 or IPv6 address", arg);
		return 0;
	case O_PORT:
		if (parse_uint(arg, 10, 65535, &v) || !v)
			return cli_usage_error(c, "port must be 1 to 65535, not '%s'", arg);
		f->port = htons(v);
		return 0;
	case O_DEV:
		f->ifindex = if_nametoindex(arg);
		if (!f->ifindex)
			return cli_usage_error(c, "no device '%s' in this network namespace", arg);
		return 0;
	case O_ID:
		if (parse_uint(arg, 0, UINT32_MAX, &v) || !v)
			return cli_usage_error(c, "'%s' is not a conntrack id", arg);
		f->ct_id = v;
		return 0;
	case O_V4:
		f->family = AF_INET;
		return 0;
	case O_V6:
		f->family = AF_INET6;
		return 0;
	}
	return -1;
}

static int handle_opt(struct cli *c, const struct cli_cmd *cmd, int key, const char *arg)
{
	unsigned long long v;
	char *end;
	int r;

	switch (key) {
	case O_JSON:
		if (!cmd->reads_pins)
			return cli_usage_error(c, "--json applies to status, flows, stats and "
						  "explain");
		c->json = true;
		return 0;
	case O_VERBOSE:
		c->verbose++;
		return 0;
	case O_CONFIG:
		c->config_path = arg;
		return 0;
	case O_PIN_DIR:
		if (arg[0] != '/')
			return cli_usage_error(c, "--pin-dir must be an absolute path");
		if (strlen(arg) >= sizeof(c->cfg.pin_dir) - 32)
			return cli_usage_error(c, "--pin-dir is too long (at most %zu characters)",
					       sizeof(c->cfg.pin_dir) - 33);
		c->pin_dir_opt = arg;
		return 0;
	case O_DEVICE:
		return set_run(c, "devices", arg);
	case O_MODE:
		return set_run(c, "mode", arg);
	case O_SELECT:
		return set_run(c, "select", arg);
	case O_MARK:
		return set_run(c, "mark", arg);
	case O_LOG_GROUP:
		return set_run(c, "log-group", arg);
	case O_IDLE:
		return set_run(c, "idle-timeout", arg);
	case O_FLOWS:
		return set_run(c, "flows", arg);
	case O_KEEP:
		return set_run(c, "on-exit", "keep");
	case O_FORCE:
		return set_run(c, "force", "yes");
	case O_TRUST_NL:
		return set_run(c, "trust-netlink-marks", "yes");
	case O_EVBUF:
		return set_run(c, "event-buffer", arg);
	case O_ALLOW_NETDEV:
		return set_run(c, "allow-netdev-chains", arg);
	case O_CT_TIMEOUT:
		return set_run(c, "ct-timeout", arg);
	case O_METRICS_LISTEN:
		return set_run(c, "metrics-listen", arg);
	case O_METRICS_FILE:
		return set_run(c, "metrics-file", arg);
	case O_METRICS_INTERVAL:
		return set_run(c, "metrics-interval", arg);
	case O_CONNTRACK:
		c->conntrack = true;
		return 0;
	case O_SORT:
		if (!strcmp(arg, "bytes"))
			c->sort = SORT_BYTES;
		else if (!strcmp(arg, "packets"))
			c->sort = SORT_PACKETS;
		else if (!strcmp(arg, "idle"))
			c->sort = SORT_IDLE;
		else if (!strcmp(arg, "age"))
			c->sort = SORT_AGE;
		else
			return cli_usage_error(c, "sort key must be bytes, packets, idle or age, "
						  "not '%s'", arg);
		return 0;
	case O_COUNT:
		c->count_only = true;
		return 0;
	case O_LIMIT:
		if (parse_uint(arg, 10, LONG_MAX, &v) || !v)
			return cli_usage_error(c, "--limit needs a positive number, not '%s'", arg);
		c->limit = v;
		return 0;
	case O_WATCH:
		c->watch = strtod(arg, &end);
		/* Written so that NaN fails too (every comparison with it is false). */
		if (*end || !*arg || !(c->watch >= 0.1 && c->watch <= 3600))
			return cli_usage_error(c, "--watch needs seconds between 0.1 and 3600, not "
						  "'%s'", arg);
		return 0;
	case O_ITER:
		if (parse_uint(arg, 10, LONG_MAX, &v) || !v)
			return cli_usage_error(c, "--iterations needs a positive number, not '%s'",
					       arg);
		c->iterations = v;
		return 0;
	case O_ALL:
		c->all_reasons = true;
		return 0;
	}
	r = parse_filter(c, key, arg);
	return r < 0 ? cli_usage_error(c, "unhandled option") : r;
}

static int build_longopts(const struct cli_cmd *cmd, struct option *lo, char *so)
{
	const struct cli_opt *lists[] = { cmd->opts, common_opts };
	int n = 0;
	unsigned int i;

	*so++ = ':';
	for (i = 0; i < 2; i++) {
		const struct cli_opt *o;

		for (o = lists[i]; o->name; o++) {
			lo[n].name = o->name;
			lo[n].has_arg = o->arg ? required_argument : no_argument;
			lo[n].flag = NULL;
			lo[n].val = o->key;
			n++;
			if (o->key < 256) {
				*so++ = o->key;
				if (o->arg)
					*so++ = ':';
			}
		}
	}
	memset(&lo[n], 0, sizeof(lo[n]));
	*so = '\0';
	return n;
}

static int load_config(struct cli *c, bool required_for_run)
{
	const char *path = c->config_path;

	if (!path) {
		if (access(NFO_CONFIG_FILE, F_OK))
			return 0;
		path = NFO_CONFIG_FILE;
	}
	if (nfo_config_load(&c->cfg, path))
		return 2;
	(void)required_for_run;
	return 0;
}

const char *cli_pin_dir(struct cli *c)
{
	return c->pin_dir_opt ? c->pin_dir_opt : c->cfg.pin_dir;
}

static int run_command(const struct cli_cmd *cmd, struct cli *c, int argc, char **argv)
{
	struct option lo[64];
	char so[128];
	int key, rc;

	c->cmd = cmd->name;
	build_longopts(cmd, lo, so);
	/*
	 * The config file goes first so that the command line wins: find -c
	 * before anything else is applied.
	 */
	optind = 1;
	opterr = 0;
	while ((key = getopt_long(argc, argv, so, lo, NULL)) != -1)
		if (key == O_CONFIG)
			c->config_path = optarg;
		else if (key == O_HELP) {
			cmd_usage(stdout, cmd);
			return 0;
		}
	rc = load_config(c, !strcmp(cmd->name, "run"));
	if (rc)
		return rc;
	/* Devices or selectors on the command line replace the file's. */
	for (optind = 1; (key = getopt_long(argc, argv, so, lo, NULL)) != -1;) {
		if (key == O_DEVICE)
			c->cfg.ndevices = 0;
		if (key == O_SELECT)
			nfo_config_free(&c->cfg);
	}
	optind = 1;
	while ((key = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (key == '?')
			return cli_usage_error(c, "unknown option '%s'", argv[optind - 1]);
		if (key == ':')
			return cli_usage_error(c, "option '%s' needs a value", argv[optind - 1]);
		if (key == O_CONFIG)
			continue;
		rc = handle_opt(c, cmd, key, optarg);
		if (rc)
			return rc;
	}
	if (c->verbose)
		nfo_log_set_level(NFO_LOG_DEBUG);
	nfo_log_set_libbpf_debug(c->verbose >= 2);
	if (geteuid() != 0) {
		fprintf(stderr, "nft-offload: %s needs root (CAP_BPF, CAP_NET_ADMIN and "
				"CAP_SYS_ADMIN for the BPF pins)\n",
			cmd->name);
		return 1;
	}
	return cmd->run(c, argc - optind, argv + optind);
}

/*
 * Common options may come before the command too ("nft-offload -j flows",
 * "nft-offload --pin-dir D stats"): move the command to argv[1].
 */
static int hoist_command(int argc, char **argv)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		const struct cli_opt *o;
		bool known = false, takes_arg = false;

		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V"))
			return 1;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 2;
		for (o = common_opts; o->name; o++) {
			size_t n = strlen(o->name);

			if ((argv[i][1] == '-' && !strcmp(argv[i] + 2, o->name)) ||
			    (argv[i][1] == o->key && !argv[i][2] && o->key < 256)) {
				known = true;
				takes_arg = o->arg != NULL;
			} else if (o->arg && argv[i][1] == '-' && !strncmp(argv[i] + 2, o->name, n) &&
				   argv[i][2 + n] == '=') {
				known = true; /* --pin-dir=DIR: the value comes with it */
			}
		}
		if (!known) {
			/* Report this option, not a missing command. */
			char *bad = argv[i];

			memmove(&argv[2], &argv[1], (i - 1) * sizeof(*argv));
			argv[1] = bad;
			return -1;
		}
		i += takes_arg ? 2 : 1;
	}
	if (i > 1 && i < argc) {
		char *cmd = argv[i];

		memmove(&argv[2], &argv[1], (i - 1) * sizeof(*argv));
		argv[1] = cmd;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct cli_cmd *cmd;
	struct cli c = { .limit = 0 };
	int rc;

	nfo_config_defaults(&c.cfg);
	nfo_log_libbpf();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("nft-offload %s (ABI %d)\n", NFO_VERSION, NFO_ABI_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--man"))
		return print_man();
	rc = hoist_command(argc, argv);
	if (rc == 1) {
		printf("nft-offload %s (ABI %d)\n", NFO_VERSION, NFO_ABI_VERSION);
		return 0;
	}
	if (rc == 2) {
		usage(stdout);
		return 0;
	}
	for (cmd = cmds; cmd->name; cmd++)
		if (!strcmp(argv[1], cmd->name))
			break;
	if (!cmd->name) {
		if (rc < 0)
			return cli_usage_error(&c, "unknown option '%s'", argv[1]);
		if (argv[1][0] == '-')
			return cli_usage_error(&c, "missing command (status, flows, stats, ...)");
		return cli_usage_error(&c, "unknown command '%s'", argv[1]);
	}
	rc = run_command(cmd, &c, argc - 1, argv + 1);
	nfo_config_free(&c.cfg);
	return rc;
}

/* ---- helpers shared by the commands ------------------------------------ */

struct nfo_dp *cli_open_pins(struct cli *c)
{
	const char *dir = cli_pin_dir(c);
	struct nfo_dp *dp;
	int err;

	err = nfo_dp_open_pinned(dir, &dp);
	if (!err)
		return dp;
	if (err == -ENOENT)
		fprintf(stderr, "nft-offload: not running here: nothing pinned in %s\n", dir);
	else if (err == -EPROTO)
		fprintf(stderr, "nft-offload: the state in %s was left by another version; run "
				"'nft-offload stop'\n", dir);
	else
		fprintf(stderr, "nft-offload: cannot open the pinned state in %s: %s\n", dir,
			strerror(-err));
	return NULL;
}

const char *cli_ifname(uint32_t ifindex, char *buf)
{
	if (!ifindex) {
		strcpy(buf, "-");
		return buf;
	}
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "if%u", ifindex);
	return buf;
}

bool cli_daemon_alive(const struct nfo_state *st)
{
	return nfo_pid_is_daemon(st->pid);
}
