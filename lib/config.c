// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's settings: one table (nfo_settings[]) and the code that reads
 * values into struct nfo_config by it. The command line uses the same rows
 * (and the same engine, nfo_opt_apply, for its own options), so a setting
 * parses, fails and defaults the same way wherever it is written.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "dataplane.h"
#include "flowmem.h"
#include "log.h"

/* ---- value syntax -------------------------------------------------------- */

/* Digits first: strtoull would take blanks, '+' and '-' (negated). */
static int parse_number(const char *s, int base, bool units, uint64_t *v)
{
	unsigned long long n, mult = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, base);
	if (errno)
		return -ERANGE;
	if (units) {
		switch (*end) {
		case 'k':
		case 'K':
			mult = 1024, end++;
			break;
		case 'M':
			mult = 1024 * 1024, end++;
			break;
		case 'G':
			mult = 1024ULL * 1024 * 1024, end++;
			break;
		}
	}
	if (*end)
		return -EINVAL;
	if (n > UINT64_MAX / mult)
		return -ERANGE;
	*v = n * mult;
	return 0;
}

int nfo_parse_u64(const char *s, uint64_t *v)
{
	return parse_number(s, 0, true, v);
}

int nfo_parse_duration(const char *s, uint32_t *seconds)
{
	unsigned long n, mult = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (!strcmp(end, "m"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	/* Checked before multiplying: 1147797409030816545h must not wrap to 16 s. */
	if (n > UINT32_MAX / mult)
		return -ERANGE;
	*seconds = n * mult;
	return 0;
}

static int parse_bool(const char *s, bool *b)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "on"))
		*b = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "off"))
		*b = false;
	else
		return -EINVAL;
	return 0;
}

int nfo_parse_sockaddr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[64];
	const char *colon;
	unsigned long port;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = rb - s - 1;
		colon = rb + 1;
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		hl = colon - s;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || !port || port > 65535)
		return -EINVAL;
	if (s[0] != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

/* ---- the settings that need more than a type ------------------------------ */

/* "eth0", "eth0:xdp": append to the device list. */
static int add_device(struct nfo_config *c, const char *spec, char *err, size_t errlen)
{
	char name[64], *colon;
	enum nfo_mode m = NFO_MODE_AUTO;
	int i;

	if (strlen(spec) >= sizeof(name)) {
		snprintf(err, errlen, "invalid device name '%s' (at most %d characters)", spec,
			 IFNAMSIZ - 1);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%s", spec);
	colon = strchr(name, ':');
	if (colon) {
		*colon = '\0';
		if (nfo_mode_parse(colon + 1, &m)) {
			snprintf(err, errlen, "unknown mode '%s' for device %s (auto, tc, xdp, "
					      "xdp-generic)", colon + 1, name);
			return -EINVAL;
		}
	}
	if (!*name || strlen(name) >= IFNAMSIZ || strpbrk(name, " \t/\"'")) {
		snprintf(err, errlen, "invalid device name '%s'", name);
		return -EINVAL;
	}
	if (!strcmp(name, "lo")) {
		snprintf(err, errlen, "lo is the loopback device; it cannot be an offload device");
		return -EINVAL;
	}
	for (i = 0; i < c->ndevices; i++)
		if (!strcmp(c->devices[i], name)) {
			snprintf(err, errlen, "device %s is listed twice", name);
			return -EINVAL;
		}
	if (c->ndevices == NFO_MAX_DEVICES) {
		snprintf(err, errlen, "too many devices (at most %d)", NFO_MAX_DEVICES);
		return -EINVAL;
	}
	snprintf(c->devices[c->ndevices], IFNAMSIZ, "%s", name);
	c->dev_mode[c->ndevices++] = m;
	return 0;
}

static int set_devices(void *obj, const struct nfo_opt *o, const char *value, char *err,
		       size_t errlen)
{
	char *buf = strdup(value), *tok, *save;
	int rc = 0;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (tok = strtok_r(buf, " \t,", &save); tok && !rc; tok = strtok_r(NULL, " \t,", &save))
		rc = add_device(obj, tok, err, errlen);
	free(buf);
	return rc ? -EINVAL : 0;
}

static void clear_devices(void *obj)
{
	((struct nfo_config *)obj)->ndevices = 0;
}

static void clear_select(void *obj)
{
	nfo_config_free(obj);
}

static int set_select(void *obj, const struct nfo_opt *o, const char *value, char *err,
		      size_t errlen)
{
	struct nfo_config *c = obj;

	if (!*value || strchr(value, ';') || strchr(value, '{') || strchr(value, '}')) {
		snprintf(err, errlen, o->bad, value);
		return -EINVAL;
	}
	if (c->nselectors == NFO_MAX_SELECTORS) {
		snprintf(err, errlen, "too many selectors (at most %d)", NFO_MAX_SELECTORS);
		return -EINVAL;
	}
	c->selectors[c->nselectors] = strdup(value);
	if (!c->selectors[c->nselectors]) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->nselectors++;
	return 0;
}

static int set_pin_dir(void *obj, const struct nfo_opt *o, const char *value, char *err,
		       size_t errlen)
{
	struct nfo_config *c = obj;

	if (value[0] != '/') {
		snprintf(err, errlen, o->bad, value);
		return -EINVAL;
	}
	/* Room for the names of the pins under it. */
	if (strlen(value) >= sizeof(c->pin_dir) - 32) {
		snprintf(err, errlen, "pin-dir is too long (at most %zu characters)",
			 sizeof(c->pin_dir) - 33);
		return -EINVAL;
	}
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", value);
	return 0;
}

static int set_allow_netdev(void *obj, const struct nfo_opt *o, const char *value, char *err,
			    size_t errlen)
{
	struct nfo_config *c = obj;
	char buf[1024], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", value);
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (strlen(tok) >= IFNAMSIZ || c->nallow_netdev == NFO_MAX_DEVICES) {
			snprintf(err, errlen, o->bad, tok);
			return -EINVAL;
		}
		snprintf(c->allow_netdev[c->nallow_netdev++], IFNAMSIZ, "%s", tok);
	}
	return 0;
}

static int set_metrics_listen(void *obj, const struct nfo_opt *o, const char *value, char *err,
			      size_t errlen)
{
	struct nfo_config *c = obj;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (!strcmp(value, "off") || !*value) {
		c->metrics_listen[0] = '\0';
		return 0;
	}
	if (strlen(value) >= sizeof(c->metrics_listen) || nfo_parse_sockaddr(value, &ss, &sl)) {
		snprintf(err, errlen, o->bad, value);
		return -EINVAL;
	}
	snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", value);
	return 0;
}

static int set_metrics_file(void *obj, const struct nfo_opt *o, const char *value, char *err,
			    size_t errlen)
{
	struct nfo_config *c = obj;
	size_t n = strlen(value);

	if (!strcmp(value, "off") || !*value) {
		c->metrics_file[0] = '\0';
		return 0;
	}
	/* Room for the temporary file's suffix. */
	if (value[0] != '/' || n >= sizeof(c->metrics_file) - 16 || n < 6 ||
	    strcmp(value + n - 5, ".prom")) {
		snprintf(err, errlen, o->bad, value);
		return -EINVAL;
	}
	snprintf(c->metrics_file, sizeof(c->metrics_file), "%s", value);
	return 0;
}

/* ---- the table ------------------------------------------------------------ */

#define CFG(field) .offset = offsetof(struct nfo_config, field), \
		   .size = sizeof(((struct nfo_config *)0)->field)

static const char *const on_exit_names[] = { "stop", "keep" };

const struct nfo_opt nfo_settings[] = {
	{
		.key = "devices", .alias = "device", .lopt = "device", .sopt = 'i',
		.metavar = "DEV[:MODE]", .type = NFO_T_CUSTOM, .parse = set_devices,
		.clear = clear_devices, .cmds = NFO_OPT_DAEMON, CFG(devices),
		.help = "offload between this device and the others (at least two; repeat the "
			"option); for a bridged LAN the bridge, not its ports",
		.man_value = "\\fIDEV\\fR[:\\fIMODE\\fR] ...",
		.man = "Offload devices (at least two), optionally each with its mode, separated "
		       "by spaces or commas.",
	},
	{
		.key = "mode", .sopt = 'm', .metavar = "MODE", .type = NFO_T_ENUM,
		.names = nfo_mode_names, .max = NFO_MODE_XDP_GENERIC, .cmds = NFO_OPT_DAEMON,
		CFG(mode), .def = "auto",
		.bad = "mode must be auto, tc, xdp or xdp-generic, not '%s'",
		.help = "auto, tc, xdp or xdp-generic, for every device",
		.man = "Default mode. auto: XDP where the driver has native XDP and can transmit "
		       "redirected frames (not veth), tc elsewhere. tc keeps the egress qdisc "
		       "(shaping, SQM); XDP bypasses it.",
	},
	{
		.key = "select", .sopt = 's', .metavar = "EXPR", .type = NFO_T_CUSTOM,
		.parse = set_select, .clear = clear_select, .cmds = NFO_OPT_DAEMON,
		CFG(selectors), .bad = "select must be one nft match expression, got '%s'",
		.help = "offload only connections matching this nft expression (repeat for "
			"several)",
		.man = "Offload only connections whose original\\-direction packets (as the "
		       "connection was opened) match this nft expression in the forward hook, "
		       "e.g. \\fBiifname \"lan0\" ip daddr 192.168.1.0/24\\fR. Repeat for several "
		       "(any may match). Default: every accepted TCP/UDP connection between "
		       "offload devices. A selector must only match: one with a statement (ct "
		       "mark set, counter, log, limit, a verdict, ...) is refused at start, "
		       "before anything is attached.",
	},
	{
		.key = "mark", .metavar = "BITS", .type = NFO_T_MARK, .cmds = NFO_OPT_DAEMON,
		CFG(mark), .def = "0xc0000000",
		.bad = "mark must be two bits of the 32-bit ct mark, the higher one for the "
		       "original direction and the lower one for the reply (e.g. 0xc0000000), "
		       "not '%s'",
		.help = "ct mark bits: original, reply direction",
		.man = "The two conntrack mark bits nft\\-offload sets: the higher one when the "
		       "ruleset accepted an established packet of the original direction, the "
		       "lower one for the reply direction; a connection is offloaded once both "
		       "are set. Other bits of ct mark are left alone. Rules of yours may set "
		       "both bits with \\fBct mark set ct mark | BITS\\fR to opt connections in. "
		       "nft\\-offload refuses to start if other rules match or set either bit.",
	},
	{
		.key = "log-group", .metavar = "N", .type = NFO_T_UINT, .max = UINT16_MAX,
		.cmds = NFO_OPT_DAEMON, CFG(log_group), .def = "40960",
		.bad = "log-group must be an nflog group 0 to 65535, not '%s'",
		.help = "nflog group of the mark rules",
		.man = "The nflog group on which the mark rules log the packet that sets a bit, "
		       "once per direction and connection: the daemon offloads the connection "
		       "within milliseconds of its second bit even when conntrack reports no "
		       "events for it (connections created before the daemon started). "
		       "nft\\-offload refuses to start if another program listens on the group.",
	},
	{
		.key = "idle-timeout", .metavar = "TIME", .type = NFO_T_DURATION, .min = 1,
		.max = 86400, .cmds = NFO_OPT_DAEMON, CFG(idle_timeout), .def = "30s",
		/* Also when the number overflows: one sentence, never a wrap. */
		.bad = "idle-timeout must be 1s to 24h, not '%s'",
		.help = "idle flows leave the fast path after TIME",
		.man = "Seconds (or 5m, 1h) without a packet before a flow leaves the fast path, "
		       "1s to 24h.",
	},
	{
		.key = "flows", .metavar = "N", .type = NFO_T_UINT, .min = 16,
		.max = NFO_MAX_FLOWS, .cmds = NFO_OPT_DAEMON, CFG(flows),
		/* tests/unit/config_test.c checks the figure against nfo_bytes_str(). */
		.bad = "flows must be between 16 and 64M (the kernel's limit for its hash maps; "
		       "64M reserves 4 GiB of kernel memory up front), not '%s'",
		.help = "flow table capacity in connections per family (default: conntrack's limit)",
		.man = "Flow table capacity in connections per address family, 16 to 64M (the "
		       "kernel refuses larger hash maps); k/M/G are powers of 1024. By default "
		       "conntrack's limit (net.netfilter.nf_conntrack_max) when the daemon "
		       "creates the table, at least 16k, or 1M if conntrack has no limit: "
		       "conntrack never holds more. Each "
		       "family's map reserves its bucket array when created: 32 bytes per "
		       "connection of capacity rounded up to a power of two, for both families "
		       "together 16 MiB for 256k, 64 MiB for 1M, 4 GiB for 64M (\\fBstatus\\fR "
		       "shows it); the entries themselves, about 350 bytes per offloaded "
		       "connection, are allocated as connections come.",
	},
	{
		.key = "on-exit", .lopt = "keep-on-exit", .flag_value = "keep",
		.type = NFO_T_ENUM, .names = on_exit_names, .max = 1, .cmds = NFO_OPT_DAEMON,
		CFG(keep_on_exit), .def = "stop",
		.bad = "on-exit must be 'stop' or 'keep', not '%s'",
		.help = "on SIGTERM leave offload running for the next daemon (default: remove "
			"it)",
		.man = "What SIGTERM does: remove every trace (stop) or leave the fast path "
		       "running for the next daemon, which adopts it (keep).",
	},
	{
		.key = "force", .flag_value = "yes", .type = NFO_T_BOOL, .cmds = NFO_OPT_DAEMON,
		CFG(force), .def = "no", .bad = "force must be yes or no, not '%s'",
		.help = "attach beside (tc) or over (XDP) programs that are not ours",
		.man = "Attach beside foreign tc filters, or over a foreign XDP program.",
	},
	{
		.key = "trust-netlink-marks", .flag_value = "yes", .type = NFO_T_BOOL,
		.cmds = NFO_OPT_DAEMON, CFG(trust_netlink_marks), .def = "no",
		.bad = "trust-netlink-marks must be yes or no, not '%s'",
		.help = "admit connections whose mark bit came through ctnetlink (conntrackd, "
			"conntrack -I/-U); default: clear it, so that this router's ruleset "
			"decides",
		.man = "A ct mark bit that arrives through ctnetlink (conntrackd committing "
		       "synced entries, \\fBconntrack \\-I/\\-U\\fR) was not set by this router's "
		       "ruleset: no clears it, and the forward chain marks the connection again "
		       "on its next accepted packet; yes admits such entries as they are (for "
		       "benchmarks).",
	},
	{
		.key = "event-buffer", .metavar = "BYTES", .type = NFO_T_UINT, .min = 4096,
		.max = 1U << 30, .cmds = NFO_OPT_DAEMON, CFG(event_buffer), .def = "16M",
		.bad = "event-buffer must be 4k to 1G, not '%s'",
		.help = "conntrack event socket buffer",
		.man = "Receive buffer of the conntrack event socket, 4k to 1G. Lost events cause "
		       "a full resync.",
	},
	{
		.key = "allow-netdev-chains", .metavar = "DEV", .type = NFO_T_CUSTOM,
		.parse = set_allow_netdev, .cmds = NFO_OPT_DAEMON, CFG(allow_netdev),
		.bad = "allow-netdev-chains: invalid device name '%s'",
		.help = "offload DEV (or all) even though netdev chains hook it: offloaded "
			"packets then skip them (default: such devices stay on the kernel path)",
		.man_value = "\\fIDEV\\fR ... | all",
		.man = "Devices offloaded even though netdev chains (table netdev "
		       "ingress/egress, or an inet ingress chain) hook them: offloaded packets "
		       "then skip those chains. By default such a device stays on the kernel "
		       "path.",
	},
	{
		.key = "ct-timeout", .metavar = "TIME", .type = NFO_T_DURATION, .min = 60,
		.max = UINT32_MAX, .cmds = NFO_OPT_DAEMON, CFG(ct_timeout), .def = "24h",
		.bad = "ct-timeout must be at least 60s, not '%s'",
		.help = "conntrack timeout held while a flow is offloaded",
		.man = "Conntrack timeout held while offloaded, at least 60s and longer than "
		       "\\fBidle\\-timeout\\fR. The fast path holds at most 49 days "
		       "(conntrack's BPF functions take milliseconds).",
	},
	{
		.key = "pin-dir", .metavar = "DIR", .type = NFO_T_CUSTOM, .parse = set_pin_dir,
		.cmds = NFO_OPT_EVERY, CFG(pin_dir), .def = NFO_DEFAULT_PIN_DIR,
		.bad = "pin-dir must be an absolute path, not '%s'",
		.help = "BPF pin directory",
		.man = "Where the maps are pinned. It must be on a BPF filesystem and, if it "
		       "exists, owned by root and not writable by group or others; otherwise the "
		       "daemon refuses it before doing anything. A failed start removes only the "
		       "pins it created.",
	},
	{
		.key = "metrics-listen", .metavar = "ADDR:PORT", .type = NFO_T_CUSTOM,
		.parse = set_metrics_listen, .cmds = NFO_OPT_DAEMON, CFG(metrics_listen),
		.bad = "metrics-listen must be ADDRESS:PORT (e.g. 127.0.0.1:9567 or [::1]:9567) "
		       "or off, not '%s'",
		.help = "serve GET /metrics on this address (127.0.0.1:9567, [::1]:9567; default "
			"off)",
		.man_value = "\\fIADDR\\fR:\\fIPORT\\fR | off",
		.man = "Serve the metrics (see \\fBnft\\-offload metrics\\fR) over HTTP/1.0 at "
		       "\\fBGET /metrics\\fR on this address, e.g. 127.0.0.1:9567 or [::1]:9567 "
		       "(default off). One request at a time, 3 s to complete it, from the "
		       "daemon's event loop. Any address may be given, also a non\\-loopback one "
		       "(the daemon then warns that the endpoint has no authentication); a "
		       "wildcard address is never chosen for you. A port in use stops the start "
		       "with one sentence.",
	},
	{
		.key = "metrics-file", .metavar = "FILE", .type = NFO_T_CUSTOM,
		.parse = set_metrics_file, .cmds = NFO_OPT_DAEMON, CFG(metrics_file),
		.bad = "metrics-file must be an absolute path ending in .prom (node_exporter's "
		       "textfile collector reads only those), not '%s'",
		.help = "write the metrics to FILE (*.prom, for node_exporter's textfile "
			"collector)",
		.man_value = "\\fIFILE\\fR.prom | off",
		.man = "Write the metrics to this file for node_exporter's textfile collector "
		       "(e.g. /var/lib/prometheus/node\\-exporter/nft_offload.prom), atomically (a "
		       "temporary file renamed over it) every \\fBmetrics\\-interval\\fR; "
		       "removed when the daemon exits. Default: off.",
	},
	{
		.key = "metrics-interval", .metavar = "TIME", .type = NFO_T_DURATION, .min = 1,
		.max = 3600, .cmds = NFO_OPT_DAEMON, CFG(metrics_interval), .def = "15s",
		.bad = "metrics-interval must be 1s to 1h, not '%s'",
		.help = "how often to write --metrics-file",
		.man = "How often \\fBmetrics\\-file\\fR is written, 1s to 1h.",
	},
	{ 0 },
};

/* ---- the engine ----------------------------------------------------------- */

static void store_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)p = v;
		break;
	case 2:
		*(uint16_t *)p = v;
		break;
	case 4:
		*(uint32_t *)p = v;
		break;
	default:
		*(uint64_t *)p = v;
		break;
	}
}

static int parse_enum(const struct nfo_opt *o, const char *val, uint64_t *v)
{
	uint64_t i;

	for (i = 0; i <= o->max; i++)
		if (o->names[i] && !strcmp(o->names[i], val)) {
			*v = i;
			return 0;
		}
	return -EINVAL;
}

static int parse_value(void *p, const struct nfo_opt *o, const char *val)
{
	uint32_t secs;
	uint64_t v;
	double d;
	char *end;
	bool b;

	switch (o->type) {
	case NFO_T_BOOL:
		if (parse_bool(val, &b))
			return -EINVAL;
		*(bool *)p = b;
		return 0;
	case NFO_T_UINT:
		if (parse_number(val, o->flags & NFO_OPT_DECIMAL ? 10 : 0,
				 !(o->flags & (NFO_OPT_DECIMAL | NFO_OPT_NO_UNITS)), &v) ||
		    v < o->min || v > o->max)
			return -EINVAL;
		store_uint(p, o->size, v);
		return 0;
	case NFO_T_DURATION:
		if (nfo_parse_duration(val, &secs) || secs < o->min || secs > o->max)
			return -EINVAL;
		store_uint(p, o->size, secs);
		return 0;
	case NFO_T_MARK:
		if (nfo_parse_u64(val, &v) || v > UINT32_MAX || __builtin_popcountll(v) != 2)
			return -EINVAL;
		store_uint(p, o->size, v);
		return 0;
	case NFO_T_ENUM:
		if (parse_enum(o, val, &v))
			return -EINVAL;
		store_uint(p, o->size, v);
		return 0;
	case NFO_T_DOUBLE:
		d = strtod(val, &end);
		/* Written so that NaN fails too (every comparison with it is false). */
		if (*end || !*val || !(d >= o->fmin && d <= o->fmax))
			return -EINVAL;
		*(double *)p = d;
		return 0;
	case NFO_T_COUNT:
		(*(int *)p)++;
		return 0;
	case NFO_T_ARG:
		*(const char **)p = val;
		return 0;
	case NFO_T_CUSTOM:
		break;
	}
	return -EINVAL;
}

int nfo_opt_apply(void *obj, const struct nfo_opt *o, const char *val, char *err,
		  size_t errlen)
{
	if (!val)
		val = o->flag_value;
	if (o->type == NFO_T_CUSTOM)
		return o->parse(obj, o, val, err, errlen);
	if (!val && o->type != NFO_T_COUNT) {
		snprintf(err, errlen, "%s needs a value", o->key);
		return -EINVAL;
	}
	if (parse_value(nfo_opt_field(obj, o), o, val)) {
		snprintf(err, errlen, o->bad, val);
		return -EINVAL;
	}
	return 0;
}

const struct nfo_opt *nfo_setting_find(const char *key)
{
	const struct nfo_opt *o;

	for (o = nfo_settings; o->key; o++)
		if (!strcmp(o->key, key) || (o->alias && !strcmp(o->alias, key)))
			return o;
	return NULL;
}

const char *nfo_opt_value_syntax(const struct nfo_opt *o, char *buf, size_t len)
{
	size_t n = 0;
	uint64_t i;

	if (o->man_value)
		return o->man_value;
	if (o->type == NFO_T_BOOL)
		return "no | yes";
	if (o->type != NFO_T_ENUM)
		return o->metavar ? o->metavar : "";
	buf[0] = '\0';
	for (i = 0; i <= o->max; i++)
		if (o->names[i] && n < len)
			n += snprintf(buf + n, len - n, "%s%s", n ? " | " : "", o->names[i]);
	return buf;
}

/* One "%s" and no other conversion: the sentence takes the value. */
static bool one_string_conversion(const char *fmt)
{
	int n = 0;

	for (; *fmt; fmt++) {
		if (*fmt != '%')
			continue;
		if (fmt[1] == '%') {
			fmt++;
			continue;
		}
		if (fmt[1] != 's')
			return false;
		n++;
	}
	return n == 1;
}

static const char *opt_long(const struct nfo_opt *o)
{
	return o->lopt ? o->lopt : o->key;
}

int nfo_opt_table_check(const struct nfo_opt *tab, void *scratch, size_t scratch_size,
			char *err, size_t errlen)
{
	const struct nfo_opt *o, *p;
	char why[512];

	for (o = tab; o->key; o++) {
		if (!o->help || !*o->help) {
			snprintf(err, errlen, "%s: no help text", o->key);
			return -EINVAL;
		}
		if (o->offset + o->size > scratch_size) {
			snprintf(err, errlen, "%s: field outside the object", o->key);
			return -EINVAL;
		}
		/* Custom parsers may write their own sentences. */
		if (((o->metavar || o->def) && o->type != NFO_T_ARG && o->type != NFO_T_CUSTOM &&
		     !o->bad) ||
		    (o->bad && !one_string_conversion(o->bad))) {
			snprintf(err, errlen, "%s: the error sentence must take the value (one %%s)",
				 o->key);
			return -EINVAL;
		}
		if (!o->metavar && !o->flag_value && o->type != NFO_T_COUNT &&
		    o->type != NFO_T_CUSTOM && *opt_long(o)) {
			snprintf(err, errlen, "%s: a flag without the value it sets", o->key);
			return -EINVAL;
		}
		if (o->type == NFO_T_ENUM && (!o->names || o->max > 64)) {
			snprintf(err, errlen, "%s: an enum without names", o->key);
			return -EINVAL;
		}
		if (o->type == NFO_T_CUSTOM && !o->parse) {
			snprintf(err, errlen, "%s: no parser", o->key);
			return -EINVAL;
		}
		if ((o->type == NFO_T_UINT || o->type == NFO_T_DURATION) && o->min > o->max) {
			snprintf(err, errlen, "%s: bounds %llu > %llu", o->key,
				 (unsigned long long)o->min, (unsigned long long)o->max);
			return -EINVAL;
		}
		if (o->type == NFO_T_UINT && o->size < 8 && o->max >> (8 * o->size)) {
			snprintf(err, errlen, "%s: the bound %llu does not fit the field", o->key,
				 (unsigned long long)o->max);
			return -EINVAL;
		}
		if (o->def) {
			memset(scratch, 0, scratch_size);
			if (nfo_opt_apply(scratch, o, o->def, why, sizeof(why))) {
				snprintf(err, errlen, "%s: default '%s' refused: %s", o->key, o->def,
					 why);
				return -EINVAL;
			}
		}
		if (o->flag_value) {
			memset(scratch, 0, scratch_size);
			if (nfo_opt_apply(scratch, o, NULL, why, sizeof(why))) {
				snprintf(err, errlen, "%s: flag value '%s' refused: %s", o->key,
					 o->flag_value, why);
				return -EINVAL;
			}
		}
		for (p = tab; p < o; p++) {
			if (!strcmp(p->key, o->key) || (p->alias && !strcmp(p->alias, o->key)) ||
			    (o->alias && !strcmp(p->key, o->alias))) {
				snprintf(err, errlen, "key %s twice", o->key);
				return -EINVAL;
			}
			if ((p->cmds & o->cmds) && *opt_long(o) && !strcmp(opt_long(p), opt_long(o))) {
				snprintf(err, errlen, "option --%s twice", opt_long(o));
				return -EINVAL;
			}
			if ((p->cmds & o->cmds) && o->sopt && p->sopt == o->sopt) {
				snprintf(err, errlen, "option -%c for both %s and %s", o->sopt,
					 p->key, o->key);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* ---- the configuration ---------------------------------------------------- */

void nfo_config_defaults(struct nfo_config *c)
{
	const struct nfo_opt *o;
	char err[256];

	memset(c, 0, sizeof(*c));
	/* Every default parses: nfo_opt_table_check() proves it in the unit tests. */
	for (o = nfo_settings; o->key; o++)
		if (o->def && nfo_opt_apply(c, o, o->def, err, sizeof(err)))
			pr_err("default of %s: %s", o->key, err);
}

void nfo_config_free(struct nfo_config *c)
{
	int i;

	for (i = 0; i < c->nselectors; i++)
		free(c->selectors[i]);
	c->nselectors = 0;
}

bool nfo_config_netdev_allowed(const struct nfo_config *c, const char *dev)
{
	int i;

	for (i = 0; i < c->nallow_netdev; i++)
		if (!strcmp(c->allow_netdev[i], dev) || !strcmp(c->allow_netdev[i], "all"))
			return true;
	return false;
}

int nfo_config_set(struct nfo_config *c, const char *key, const char *value, char *err,
		   size_t errlen)
{
	const struct nfo_opt *o = nfo_setting_find(key);

	if (!o) {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -ENOENT;
	}
	return nfo_opt_apply(c, o, value, err, errlen);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int nfo_config_load(struct nfo_config *c, const char *path)
{
	char *line = NULL, err[512];
	int lineno = 0, rc = 0;
	size_t cap = 0;
	struct stat st;
	ssize_t len;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		pr_err("cannot read config file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		pr_err("config file %s is not a regular file", path);
		fclose(f);
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(c->source)) {
		pr_err("config file name %s is too long (at most %zu characters)", path,
		       sizeof(c->source) - 1);
		fclose(f);
		return -EINVAL;
	}
	snprintf(c->source, sizeof(c->source), "%s", path);
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *p, *eq, *key, *val, *hash;

		lineno++;
		if ((size_t)len != strlen(line)) {
			pr_err("%s:%d: contains a NUL byte", path, lineno);
			rc = -EINVAL;
			break;
		}
		/* Comments: '#' at the start or after blank space. */
		for (hash = line; (hash = strchr(hash, '#')); hash++)
			if (hash == line || isspace((unsigned char)hash[-1])) {
				*hash = '\0';
				break;
			}
		p = trim(line);
		if (!*p)
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			pr_err("%s:%d: expected 'key = value', got '%s'", path, lineno, p);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		if (nfo_config_set(c, key, val, err, sizeof(err))) {
			pr_err("%s:%d: %s", path, lineno, err);
			rc = -EINVAL;
			break;
		}
	}
	if (!rc && ferror(f)) {
		pr_err("cannot read config file %s: %s", path, strerror(errno));
		rc = -EIO;
	}
	free(line);
	fclose(f);
	return rc;
}

int nfo_config_validate(const struct nfo_config *c, char *err, size_t errlen)
{
	if (c->ndevices < 2) {
		snprintf(err, errlen, "need at least two devices to offload between (--device, "
				      "or 'devices =' in %s)",
			 c->source[0] ? c->source : NFO_CONFIG_FILE);
		return -EINVAL;
	}
	if (c->ct_timeout <= c->idle_timeout) {
		snprintf(err, errlen, "ct-timeout (%us) must be longer than idle-timeout (%us)",
			 c->ct_timeout, c->idle_timeout);
		return -EINVAL;
	}
	return 0;
}
