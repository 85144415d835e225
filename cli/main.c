// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload: one binary, table-driven commands. The command table and the
 * option tables (the daemon's settings, nfo_settings[] in lib/config.c, and
 * the command line's own, cli_opts[] below) are the single source of getopt's
 * tables, of option handling, of --help and of the man page.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
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

/* Commands, as bits of nfo_opt.cmds; the daemon's settings use NFO_OPT_DAEMON. */
enum {
	CMD_RUN = NFO_OPT_DAEMON,
	CMD_STATUS = 1 << 1,
	CMD_FLOWS = 1 << 2,
	CMD_STATS = 1 << 3,
	CMD_FLUSH = 1 << 4,
	CMD_EVICT = 1 << 5,
	CMD_EXPLAIN = 1 << 6,
	CMD_STOP = 1 << 7,
	CMD_METRICS = 1 << 8,
};

static int set_json(void *obj, const struct nfo_opt *o, const char *val, char *err, size_t len)
{
	struct cli *c = obj;

	if (!c->json_allowed) {
		snprintf(err, len, "--json applies to status, flows, stats and explain");
		return -EINVAL;
	}
	c->json = true;
	return 0;
}

static int set_addr(void *obj, const struct nfo_opt *o, const char *val, char *err, size_t len)
{
	struct nfo_filter *f = &((struct cli *)obj)->filter;

	f->addr_family = nfo_addr_parse(val, &f->addr);
	if (!f->addr_family) {
		snprintf(err, len, o->bad, val);
		return -EINVAL;
	}
	return 0;
}

static int set_port(void *obj, const struct nfo_opt *o, const char *val, char *err, size_t len)
{
	struct nfo_filter *f = &((struct cli *)obj)->filter;
	char *end;
	unsigned long v;

	/* Digits only: strtoul would take blanks, '+', and '-' negated. */
	errno = 0;
	v = isdigit((unsigned char)val[0]) ? strtoul(val, &end, 10) : 0;
	if (!v || errno || *end || v > 65535) {
		snprintf(err, len, o->bad, val);
		return -EINVAL;
	}
	f->port = htons(v);
	return 0;
}

static int set_dev(void *obj, const struct nfo_opt *o, const char *val, char *err, size_t len)
{
	struct nfo_filter *f = &((struct cli *)obj)->filter;

	f->ifindex = if_nametoindex(val);
	if (!f->ifindex) {
		snprintf(err, len, o->bad, val);
		return -EINVAL;
	}
	return 0;
}

static const char *const sort_names[] = {
	[SORT_BYTES] = "bytes",
	[SORT_PACKETS] = "packets",
	[SORT_IDLE] = "idle",
	[SORT_AGE] = "age",
};
static const char *const proto_names[] = { [IPPROTO_TCP] = "tcp", [IPPROTO_UDP] = "udp" };
static const char *const family_names[] = { [AF_INET] = "ipv4", [AF_INET6] = "ipv6" };

#define CLI(field) .offset = offsetof(struct cli, field), .size = sizeof(((struct cli *)0)->field)
#define FILTER (CMD_FLOWS | CMD_EVICT)

/*
 * The command line's own options (the daemon's settings are nfo_settings[],
 * lib/config.c). A row belongs to the commands in .cmds; NFO_OPT_EVERY makes
 * it a common option.
 */
static const struct nfo_opt cli_opts[] = {
	{ .key = "json", .sopt = 'j', .type = NFO_T_CUSTOM, .parse = set_json,
	  .cmds = NFO_OPT_EVERY, CLI(json),
	  .help = "print JSON (stable snake_case keys) instead of text: status, flows, stats, "
		  "explain" },
	{ .key = "verbose", .sopt = 'v', .type = NFO_T_COUNT, .cmds = NFO_OPT_EVERY, CLI(verbose),
	  .help = "more detail on stderr (twice: also libbpf's messages)" },
	{ .key = "config", .sopt = 'c', .metavar = "FILE", .type = NFO_T_ARG,
	  .flags = NFO_OPT_EARLY, .cmds = NFO_OPT_EVERY, CLI(config_path),
	  .help = "read settings from FILE (default " NFO_CONFIG_FILE ")" },
	{ .key = "help", .sopt = 'h', .type = NFO_T_COUNT, .flags = NFO_OPT_EARLY,
	  .cmds = NFO_OPT_EVERY, CLI(help), .help = "show this help" },
	{ .key = "proto", .sopt = 'p', .metavar = "tcp|udp", .type = NFO_T_ENUM,
	  .names = proto_names, .max = IPPROTO_UDP, .cmds = FILTER, CLI(filter.l4proto),
	  .bad = "protocol must be tcp or udp, not '%s'", .help = "only this protocol" },
	{ .key = "addr", .sopt = 'a', .metavar = "ADDR", .type = NFO_T_CUSTOM, .parse = set_addr,
	  .cmds = FILTER, CLI(filter.addr), .bad = "'%s' is not an IPv4 or IPv6 address",
	  .help = "only connections with this address in either tuple" },
	{ .key = "port", .metavar = "PORT", .type = NFO_T_CUSTOM, .parse = set_port,
	  .cmds = FILTER, CLI(filter.port), .bad = "port must be 1 to 65535, not '%s'",
	  .help = "only connections with this port in either tuple" },
	{ .key = "dev", .sopt = 'd', .metavar = "DEV", .type = NFO_T_CUSTOM, .parse = set_dev,
	  .cmds = FILTER, CLI(filter.ifindex),
	  .bad = "no device '%s' in this network namespace",
	  .help = "only connections entering through DEV" },
	{ .key = "id", .metavar = "ID", .type = NFO_T_UINT, .flags = NFO_OPT_NO_UNITS, .min = 1,
	  .max = UINT32_MAX, .cmds = FILTER, CLI(filter.ct_id),
	  .bad = "'%s' is not a conntrack id", .help = "only the connection with this conntrack id" },
	{ .key = "ipv4", .sopt = '4', .flag_value = "ipv4", .type = NFO_T_ENUM,
	  .names = family_names, .max = AF_INET6, .cmds = FILTER, CLI(filter.family),
	  .help = "only IPv4" },
	{ .key = "ipv6", .sopt = '6', .flag_value = "ipv6", .type = NFO_T_ENUM,
	  .names = family_names, .max = AF_INET6, .cmds = FILTER, CLI(filter.family),
	  .help = "only IPv6" },
	{ .key = "sort", .metavar = "KEY", .type = NFO_T_ENUM, .names = sort_names,
	  .max = SORT_AGE, .cmds = CMD_FLOWS, CLI(sort),
	  .bad = "sort key must be bytes, packets, idle or age, not '%s'",
	  .help = "sort by bytes, packets, idle or age (largest first)" },
	{ .key = "count", .flag_value = "yes", .type = NFO_T_BOOL, .cmds = CMD_FLOWS,
	  CLI(count_only), .help = "print only the number of connections" },
	{ .key = "limit", .sopt = 'n', .metavar = "N", .type = NFO_T_UINT,
	  .flags = NFO_OPT_DECIMAL, .min = 1, .max = LONG_MAX, .cmds = CMD_FLOWS, CLI(limit),
	  .bad = "--limit needs a positive number, not '%s'",
	  .help = "print at most N connections" },
	{ .key = "conntrack", .flag_value = "yes", .type = NFO_T_BOOL, .cmds = CMD_FLOWS,
	  CLI(conntrack),
	  .help = "print conntrack's TCP/UDP entries as conntrack -L -o extended does, with true "
		  "counters" },
	{ .key = "watch", .sopt = 'w', .metavar = "SECONDS", .type = NFO_T_DOUBLE, .fmin = 0.1,
	  .fmax = 3600, .cmds = CMD_STATS, CLI(watch),
	  .bad = "--watch needs seconds between 0.1 and 3600, not '%s'",
	  .help = "print rates every SECONDS until interrupted" },
	{ .key = "iterations", .metavar = "N", .type = NFO_T_UINT, .flags = NFO_OPT_DECIMAL,
	  .min = 1, .max = LONG_MAX, .cmds = CMD_STATS, CLI(iterations),
	  .bad = "--iterations needs a positive number, not '%s'",
	  .help = "with --watch: stop after N reports" },
	{ .key = "all", .flag_value = "yes", .type = NFO_T_BOOL, .cmds = CMD_STATS,
	  CLI(all_reasons), .help = "list every slow-path reason, also those at zero" },
	{ 0 },
};

/* Both tables, in the order --help and the man page list their rows. */
static const struct nfo_opt *const opt_tables[] = { nfo_settings, cli_opts };
#define for_each_opt(o, i) \
	for (i = 0; i < 2; i++) \
		for (o = opt_tables[i]; o->key; o++)

static const char *opt_long(const struct nfo_opt *o)
{
	return o->lopt ? o->lopt : o->key;
}

/* An option of this command (common ones when common), not a config-file-only key. */
static bool opt_listed(const struct nfo_opt *o, unsigned int cmd_bit, bool common)
{
	if (!*opt_long(o) || !(o->cmds & cmd_bit))
		return false;
	return common == (o->cmds == NFO_OPT_EVERY);
}

struct cli_cmd {
	const char *name;
	const char *args;
	const char *summary;
	const char *desc;
	unsigned int bit; /* CMD_*: selects its options */
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
	  CMD_RUN, cmd_run, false },
	{ "status", "", "kernel features, devices, daemon health",
	  "Probe the kernel (BPF, BTF, XDP, tc, conntrack events, nftables, the kernel's own "
	  "flowtable), list each offload device with its mode and link state, and report the "
	  "daemon (running since, heartbeat), the nft table (and how often it was found edited "
	  "and restored), xfrm policies, flow count and capacity, event losses and resyncs, "
	  "and offload latency. A device that netdev chains keep on the kernel path is a "
	  "warning; a program replaced by another instance is a problem. Exit status 0 means "
	  "healthy.",
	  CMD_STATUS, cmd_status, true },
	{ "flows", "", "list offloaded connections",
	  "One line per offloaded connection, like conntrack -L: both tuples as packets arrive, "
	  "ingress and egress devices, packets and bytes per direction, NAT, age, idle time "
	  "and state (active, or teardown after a FIN/RST). packets and bytes are the fast "
	  "path's; with conntrack accounting on (net.netfilter.nf_conntrack_acct=1) "
	  "total_packets and total_bytes add conntrack's own counters (see ACCOUNTING).",
	  CMD_FLOWS, cmd_flows, true },
	{ "stats", "", "per-device fast-path and slow-path counters",
	  "Per device: packets and bytes the fast path forwarded, and packets it passed to the "
	  "stack, by reason; totals. With --watch, rates per second.",
	  CMD_STATS, cmd_stats, true },
	{ "flush", "", "send every offloaded connection back to the ruleset",
	  "Remove all flows from the fast path and clear their mark: the next packet of each "
	  "connection is judged by the ruleset again, and offloaded again if it is accepted.",
	  CMD_FLUSH, cmd_flush, false },
	{ "evict", "FILTER...", "send selected connections back to the ruleset",
	  "Like flush, for the connections the filter options select (at least one filter).",
	  CMD_EVICT, cmd_evict, false },
	{ "explain", "[tcp|udp] SRC[:PORT] DST[:PORT]",
	  "why a connection is or is not offloaded",
	  "Walk the checks nft-offload makes for the connection with these addresses (IPv6 as "
	  "[ADDR]:PORT): conntrack entry, xfrm policies, mark, state, helper, devices, netdev "
	  "chains, fast-path entry. Exit "
	  "status 0 if the connection is offloaded, 1 if not.",
	  CMD_EXPLAIN, cmd_explain, true },
	{ "stop", "", "remove nft-offload: programs, flows, nft table, pins",
	  "Stop the daemon if it runs (SIGTERM, then wait), then remove whatever is left: "
	  "programs are detached, offloaded connections are handed back to conntrack, the "
	  "nft-offload table and the pins are deleted.",
	  CMD_STOP, cmd_stop, false },
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
	  CMD_METRICS, cmd_metrics, false },
	{ 0 },
};

static void opt_synopsis(const struct nfo_opt *o, char *buf, size_t len)
{
	const char *arg = o->metavar ? o->metavar : "";

	if (o->sopt)
		snprintf(buf, len, "-%c, --%s%s%s", o->sopt, opt_long(o), *arg ? " " : "", arg);
	else
		snprintf(buf, len, "    --%s%s%s", opt_long(o), *arg ? " " : "", arg);
}

static void print_opts(FILE *f, unsigned int cmd_bit, bool common)
{
	const struct nfo_opt *o;
	char syn[64];
	int i;

	for_each_opt(o, i) {
		if (!opt_listed(o, cmd_bit, common))
			continue;
		opt_synopsis(o, syn, sizeof(syn));
		fprintf(f, "  %-28s %s", syn, o->help);
		/* A flag's default is the flag not given: nothing to show. */
		if (o->def && o->metavar)
			fprintf(f, " (default %s)", o->def);
		fputc('\n', f);
	}
}

static bool has_opts(unsigned int cmd_bit)
{
	const struct nfo_opt *o;
	int i;

	for_each_opt(o, i)
		if (opt_listed(o, cmd_bit, false))
			return true;
	return false;
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
	if (has_opts(cmd->bit)) {
		fprintf(f, "options:\n");
		print_opts(f, cmd->bit, false);
		fprintf(f, "\n");
	}
	fprintf(f, "common options:\n");
	print_opts(f, cmd->bit, true);
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

static void man_opts(unsigned int cmd_bit, bool common)
{
	const struct nfo_opt *o;
	char syn[64];
	int i;

	for_each_opt(o, i) {
		if (!opt_listed(o, cmd_bit, common))
			continue;
		opt_synopsis(o, syn, sizeof(syn));
		fputs(".TP\n.B ", stdout);
		man_escape(syn[0] == ' ' ? syn + 4 : syn);
		fputs("\n", stdout);
		man_escape(o->help);
		if (o->def && o->metavar) {
			fputs(" (default ", stdout);
			man_escape(o->def);
			fputs(")", stdout);
		}
		fputs("\n", stdout);
	}
}

/* The keys of the configuration file, from the settings table. */
static void man_settings(void)
{
	const struct nfo_opt *o;
	char buf[128];

	for (o = nfo_settings; o->key; o++) {
		fputs(".TP\n.B ", stdout);
		man_escape(o->key);
		fputs(" = ", stdout);
		if (o->man_value)
			fputs(o->man_value, stdout);
		else if (o->type == NFO_T_ENUM || o->type == NFO_T_BOOL)
			man_escape(nfo_opt_value_syntax(o, buf, sizeof(buf)));
		else
			printf("\\fI%s\\fR", o->metavar);
		fputs("\n", stdout);
		if (o->man)
			fputs(o->man, stdout);
		else
			man_escape(o->help);
		if (o->def) {
			fputs(" Default: \\fB", stdout);
			man_escape(o->def);
			fputs("\\fR.", stdout);
		}
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
				man_opts(cmd->bit, false);
			}
			printf(".SS \"Common options\"\n");
			man_opts(cmds[0].bit, true);
			continue;
		}
		printf(".SH %s\n%s\n", sec[0], sec[1]);
		if (!strcmp(sec[0], "CONFIGURATION FILE"))
			man_settings();
	}
	return 0;
}

/* ---- option parsing ---------------------------------------------------- */

/* The options of one command, and getopt_long's tables for them. */
struct cmd_opts {
	const struct nfo_opt *row[64];
	int n;
	struct option lo[65];
	char so[128];
};

/* getopt_long's value for row i: its letter, or 256 + i. */
static int opt_val(const struct cmd_opts *t, int i)
{
	return t->row[i]->sopt ? t->row[i]->sopt : 256 + i;
}

/* The row index getopt_long's value stands for, or -1. */
static int opt_index(const struct cmd_opts *t, int val)
{
	int i;

	if (val >= 256)
		return val - 256 < t->n ? val - 256 : -1;
	for (i = 0; i < t->n; i++)
		if (t->row[i]->sopt == val)
			return i;
	return -1;
}

static int build_longopts(const struct cli_cmd *cmd, struct cmd_opts *t)
{
	const struct nfo_opt *o;
	char *so = t->so;
	int i, j;

	t->n = 0;
	*so++ = ':';
	for_each_opt(o, i) {
		if (!*opt_long(o) || !(o->cmds & cmd->bit))
			continue;
		if (t->n == (int)(sizeof(t->row) / sizeof(t->row[0])))
			return -E2BIG;
		for (j = 0; j < t->n; j++)
			if (!strcmp(opt_long(t->row[j]), opt_long(o)) ||
			    (o->sopt && t->row[j]->sopt == o->sopt))
				return -EEXIST;
		t->row[t->n] = o;
		t->lo[t->n] = (struct option){ opt_long(o), o->metavar ? required_argument
								       : no_argument,
					       NULL, opt_val(t, t->n) };
		if (o->sopt) {
			*so++ = o->sopt;
			if (o->metavar)
				*so++ = ':';
		}
		t->n++;
	}
	memset(&t->lo[t->n], 0, sizeof(t->lo[0]));
	*so = '\0';
	return 0;
}

/* The object a row writes to: the configuration, or the command line's own state. */
static void *opt_obj(struct cli *c, const struct nfo_opt *o)
{
	const struct nfo_opt *s;

	for (s = nfo_settings; s->key; s++)
		if (s == o)
			return &c->cfg;
	return c;
}

static bool filter_given(const struct nfo_filter *f)
{
	return f->family || f->l4proto || f->addr_family || f->port || f->ifindex || f->ct_id;
}

static int load_config(struct cli *c)
{
	const char *path = c->config_path;

	if (!path) {
		if (access(NFO_CONFIG_FILE, F_OK))
			return 0;
		path = NFO_CONFIG_FILE;
	}
	if (nfo_config_load(&c->cfg, path))
		return 2;
	return 0;
}

const char *cli_pin_dir(struct cli *c)
{
	return c->cfg.pin_dir;
}

static int run_command(const struct cli_cmd *cmd, struct cli *c, int argc, char **argv)
{
	struct cmd_opts t;
	uint64_t cleared = 0; /* rows whose list the command line emptied */
	char err[512];
	int key, rc;

	c->cmd = cmd->name;
	c->json_allowed = cmd->reads_pins;
	rc = build_longopts(cmd, &t);
	if (rc) {
		fprintf(stderr, "nft-offload: %s: broken option table: %s\n", cmd->name,
			rc == -EEXIST ? "two options share a name or letter" : "too many options");
		return 2;
	}
	/*
	 * The config file goes first so that the command line wins: apply -c
	 * (and --help) before anything else.
	 */
	optind = 1;
	opterr = 0;
	while ((key = getopt_long(argc, argv, t.so, t.lo, NULL)) != -1) {
		int i = opt_index(&t, key);
		const struct nfo_opt *o = i < 0 ? NULL : t.row[i];

		if (o && (o->flags & NFO_OPT_EARLY))
			nfo_opt_apply(c, o, optarg, err, sizeof(err));
		if (c->help) {
			cmd_usage(stdout, cmd);
			return 0;
		}
	}
	rc = load_config(c);
	if (rc)
		return rc;
	optind = 1;
	while ((key = getopt_long(argc, argv, t.so, t.lo, NULL)) != -1) {
		int i = opt_index(&t, key);
		const struct nfo_opt *o = i < 0 ? NULL : t.row[i];
		void *obj;

		if (key == '?')
			return cli_usage_error(c, "unknown option '%s'", argv[optind - 1]);
		if (key == ':')
			return cli_usage_error(c, "option '%s' needs a value", argv[optind - 1]);
		if (!o || (o->flags & NFO_OPT_EARLY))
			continue;
		obj = opt_obj(c, o);
		/* A list on the command line replaces the config file's. */
		if (o->clear && !(cleared & (1ULL << i))) {
			o->clear(obj);
			cleared |= 1ULL << i;
		}
		if (nfo_opt_apply(obj, o, optarg, err, sizeof(err)))
			return cli_usage_error(c, "%s", err);
	}
	c->filtered = filter_given(&c->filter);
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
		const struct nfo_opt *o;
		bool known = false, takes_arg = false;
		int t;

		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V"))
			return 1;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 2;
		for_each_opt(o, t) {
			const char *name = opt_long(o);
			size_t n = strlen(name);

			if (!opt_listed(o, NFO_OPT_EVERY, true))
				continue;
			if ((argv[i][1] == '-' && !strcmp(argv[i] + 2, name)) ||
			    (o->sopt && argv[i][1] == o->sopt && !argv[i][2])) {
				known = true;
				takes_arg = o->metavar != NULL;
			} else if (o->metavar && argv[i][1] == '-' && !strncmp(argv[i] + 2, name, n) &&
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
