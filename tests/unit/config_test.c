// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the settings table and the config parser (lib/config.c):
 * the table's own consistency, every type's bounds and overflow, NaN and
 * infinities, empty values, units, marks, device lists, duplicates, unknown
 * keys, comments and blank space, long lines and NUL bytes in a file, and
 * packaging/nft-offload.conf against the table's defaults.
 *
 * Run from the top of the repository (tests/unit/run.sh does).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dataplane.h"
#include "flowmem.h"
#include "instance.h"
#include "unit.h"


static char err[1024];

/* Set key = val on c; 0 or -errno, the sentence in err. */
static int set(struct nfo_config *c, const char *key, const char *val)
{
	err[0] = '\0';
	return nfo_config_set(c, key, val, err, sizeof(err));
}

/* The value is refused with exactly the row's own sentence. */
static void expect_bad(const char *key, const char *val)
{
	const struct nfo_opt *o = nfo_setting_find(key);
	struct nfo_config c;
	char want[1024];

	nfo_config_defaults(&c);
	snprintf(want, sizeof(want), o->bad, val);
	expect(set(&c, key, val) == -EINVAL && !strcmp(err, want),
	       "%s = '%s' refused with its sentence (got '%s')", key, val, err);
	nfo_config_free(&c);
}

static void expect_u64(const char *key, const char *val, uint64_t want)
{
	const struct nfo_opt *o = nfo_setting_find(key);
	struct nfo_config c;
	uint64_t got = 0;

	nfo_config_defaults(&c);
	expect(!set(&c, key, val), "%s = '%s' accepted (%s)", key, val, err);
	memcpy(&got, nfo_opt_field(&c, o), o->size); /* little endian */
	expect(got == want, "%s = '%s' is %llu, not %llu", key, val, (unsigned long long)got,
	       (unsigned long long)want);
	nfo_config_free(&c);
}

/* ---- the table --------------------------------------------------------- */

static void test_table(void)
{
	struct nfo_config c;
	char buf[64];
	const struct nfo_opt *o;
	int rows = 0;

	expect(!nfo_opt_table_check(nfo_settings, &c, sizeof(c), err, sizeof(err)),
	       "the settings table is consistent: %s", err);
	for (o = nfo_settings; o->key; o++, rows++) {
		expect(o->help && *o->help, "%s has help text", o->key);
		expect(nfo_setting_find(o->key) == o, "%s is found by its key", o->key);
		expect(*nfo_opt_value_syntax(o, buf, sizeof(buf)), "%s has a value syntax",
		       o->key);
	}
	expect(rows >= 17, "every setting is in the table (%d rows)", rows);
	expect(nfo_setting_find("device") == nfo_setting_find("devices"),
	       "'device' is another spelling of 'devices'");
	expect(!strcmp(nfo_opt_value_syntax(nfo_setting_find("mode"), buf, sizeof(buf)),
		       "auto | tc | xdp | xdp-generic"),
	       "mode's values come from the mode names: %s", buf);
}

/* The check itself finds what it is meant to find. */
static void test_table_check_fails(void)
{
	struct obj {
		uint32_t a, b;
	} scratch;
	static const struct nfo_opt base[] = {
		{ .key = "a", .sopt = 'a', .metavar = "N", .type = NFO_T_UINT, .max = 10,
		  .cmds = NFO_OPT_EVERY, .offset = offsetof(struct obj, a), .size = 4, .def = "5",
		  .bad = "a must be 0 to 10, not '%s'", .help = "a" },
		{ .key = "b", .sopt = 'b', .metavar = "N", .type = NFO_T_UINT, .max = 10,
		  .cmds = NFO_OPT_EVERY, .offset = offsetof(struct obj, b), .size = 4, .def = "5",
		  .bad = "b must be 0 to 10, not '%s'", .help = "b" },
		{ 0 },
	};
	struct nfo_opt t[3];

	memcpy(t, base, sizeof(t));
	expect(!nfo_opt_table_check(t, &scratch, sizeof(scratch), err, sizeof(err)),
	       "a sound table passes: %s", err);
	memcpy(t, base, sizeof(t));
	t[1].sopt = 'a';
	expect(nfo_opt_table_check(t, &scratch, sizeof(scratch), err, sizeof(err)) == -EINVAL,
	       "a letter used twice is found");
	memcpy(t, base, sizeof(t));
	t[1].key = "a";
	expect(nfo_opt_table_check(t, &scratch, sizeof(scratch), err, sizeof(err)) == -EINVAL,
	       "a key used twice is found");
	memcpy(t, base, sizeof(t));
	t[1].def = "11";
	expect(nfo_opt_table_check(t, &scratch, sizeof(scratch), err, sizeof(err)) == -EINVAL,
	       "a default outside its bounds is found");
	memcpy(t, base, sizeof(t));
	t[0].help = "";
	expect(nfo_opt_table_check(t, &scratch, sizeof(scratch), err, sizeof(err)) == -EINVAL,
	       "a row without help is found");
	memcpy(t, base, sizeof(t));
	t[0].bad = "a must be %d, not '%s'";
	expect(nfo_opt_table_check(t, &scratch, sizeof(scratch), err, sizeof(err)) == -EINVAL,
	       "an error sentence with another conversion is found");
	memcpy(t, base, sizeof(t));
	t[0].max = 1ULL << 32;
	expect(nfo_opt_table_check(t, &scratch, sizeof(scratch), err, sizeof(err)) == -EINVAL,
	       "a bound wider than the field is found");
	memcpy(t, base, sizeof(t));
	t[1].offset = sizeof(scratch);
	expect(nfo_opt_table_check(t, &scratch, sizeof(scratch), err, sizeof(err)) == -EINVAL,
	       "a field outside the object is found");
}

static void test_defaults(void)
{
	struct nfo_config c;
	char mem[32];

	nfo_config_defaults(&c);
	expect(c.mode == NFO_MODE_AUTO, "mode defaults to auto");
	expect(c.mark == 0xc0000000U, "mark defaults to 0xc0000000");
	expect(nfo_mark_orig(c.mark) == 0x80000000U && nfo_mark_reply(c.mark) == 0x40000000U,
	       "the default mark's bits per direction");
	expect(c.log_group == 40960, "log-group defaults to 40960");
	expect(c.idle_timeout == 30 && c.ct_timeout == 86400, "timeouts default to 30s, 24h");
	expect(c.flows == 0, "flows is not set by default: the daemon sizes the table at start");
	expect(nfo_flows_for_ct_limit(262144) == 262144 &&
		       nfo_flows_for_ct_limit(1200000) == 1200000,
	       "by default the table holds what conntrack's limit lets conntrack hold");
	expect(nfo_flows_for_ct_limit(1000) == NFO_MIN_FLOWS, "at least %llu connections",
	       NFO_MIN_FLOWS);
	expect(nfo_flows_for_ct_limit(0) == NFO_DEFAULT_FLOWS &&
		       nfo_flows_for_ct_limit(-1) == NFO_DEFAULT_FLOWS,
	       "conntrack without a limit, or no limit to read: %u", NFO_DEFAULT_FLOWS);
	expect(nfo_flows_for_ct_limit(1LL << 40) == NFO_MAX_FLOWS, "at most the kernel's 64M");
	{
		FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_max", "r");
		long long v = -1;

		if (f && fscanf(f, "%lld", &v) != 1)
			v = -1;
		if (f)
			fclose(f);
		expect(nfo_ct_limit() == v, "conntrack's limit is read: %lld, the file says %lld",
		       nfo_ct_limit(), v);
	}
	expect(c.event_buffer == 16 << 20, "event-buffer defaults to 16M");
	expect(c.metrics_interval == 15, "metrics-interval defaults to 15s");
	expect(!strcmp(c.pin_dir, NFO_DEFAULT_PIN_DIR), "pin-dir defaults to %s",
	       NFO_DEFAULT_PIN_DIR);
	expect(!c.keep_on_exit && !c.force && !c.trust_netlink_marks, "flags default off");
	expect(!c.ndevices && !c.nselectors && !c.nallow_netdev && !c.metrics_listen[0] &&
		       !c.metrics_file[0],
	       "lists and metrics outputs default empty");
	/* The flows sentence carries this figure as text. */
	nfo_bytes_str(nfo_flows_reserved_bytes(NFO_MAX_FLOWS), mem, sizeof(mem));
	expect(strstr(nfo_setting_find("flows")->bad, mem) != NULL,
	       "the flows sentence names %s, the memory 64M reserves", mem);
}

/* ---- types, bounds, overflow ------------------------------------------- */

/* Every number and duration row: its bounds accepted, one past them refused. */
static void test_bounds(void)
{
	const struct nfo_opt *o;
	char v[64];

	for (o = nfo_settings; o->key; o++) {
		if (o->type != NFO_T_UINT && o->type != NFO_T_DURATION)
			continue;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)o->min);
		expect_u64(o->key, v, o->min);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)o->max);
		expect_u64(o->key, v, o->max);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)o->max + 1);
		expect_bad(o->key, v);
		if (o->min) {
			snprintf(v, sizeof(v), "%llu", (unsigned long long)o->min - 1);
			expect_bad(o->key, v);
		}
		/* Not numbers, or numbers strtoull would bend. */
		expect_bad(o->key, "");
		expect_bad(o->key, "nan");
		expect_bad(o->key, "inf");
		expect_bad(o->key, "-1");
		expect_bad(o->key, "+5");
		expect_bad(o->key, " 5");
		expect_bad(o->key, "5 5");
		expect_bad(o->key, "1.5");
		expect_bad(o->key, "18446744073709551616");
		expect_bad(o->key, "99999999999999999999999");
	}
}

static void test_numbers_and_units(void)
{
	/* Sizes: powers of 1024, k or K, M, G; hex; overflow in the multiply. */
	expect_u64("event-buffer", "4k", 4096);
	expect_u64("event-buffer", "4K", 4096);
	expect_u64("event-buffer", "16M", 16 << 20);
	expect_u64("event-buffer", "1G", 1 << 30);
	expect_u64("event-buffer", "0x1000", 4096);
	expect_bad("event-buffer", "1g");
	expect_bad("event-buffer", "1T");
	expect_bad("event-buffer", "1.5M");
	expect_bad("event-buffer", "4kk");
	expect_bad("event-buffer", "17179869184G"); /* 2^64: wraps to 0 if unchecked */
	expect_bad("event-buffer", "4 k");
	expect_u64("flows", "64M", 64ULL << 20);
	expect_u64("flows", "1M", 1 << 20);
	expect_bad("flows", "128M");
	expect_bad("flows", "64M1");
	expect_u64("log-group", "0xffff", 65535);
	expect_u64("log-group", "1k", 1024);
	expect_bad("log-group", "64k"); /* 65536 */
	expect_bad("log-group", "0x");

	/* Durations: seconds, s, m, h; nothing else; overflow before the multiply. */
	expect_u64("idle-timeout", "30", 30);
	expect_u64("idle-timeout", "30s", 30);
	expect_u64("idle-timeout", "5m", 300);
	expect_u64("idle-timeout", "1h", 3600);
	expect_u64("idle-timeout", "24h", 86400);
	expect_u64("idle-timeout", "1440m", 86400);
	expect_bad("idle-timeout", "1441m");
	expect_bad("idle-timeout", "0s");
	expect_bad("idle-timeout", "1ms"); /* not milliseconds, and not minutes */
	expect_bad("idle-timeout", "1d");
	expect_bad("idle-timeout", "5M");
	expect_bad("idle-timeout", "1hh");
	expect_bad("idle-timeout", "0x10");
	expect_bad("idle-timeout", "1147797409030816545h"); /* wraps to 16 s if unchecked */
	expect_u64("ct-timeout", "1193046h", 1193046ULL * 3600);
	expect_bad("ct-timeout", "1193047h"); /* above 2^32 s */
	expect_bad("ct-timeout", "71582789m");
	expect_u64("ct-timeout", "4294967295", UINT32_MAX);
	expect_bad("ct-timeout", "4294967296");
	expect_bad("ct-timeout", "59s");
	expect_bad("ct-timeout", "1m0");
	expect_u64("metrics-interval", "1h", 3600);
	expect_bad("metrics-interval", "61m");
}

static void test_marks(void)
{
	struct nfo_config c;

	expect_u64("mark", "0xc0000000", 0xc0000000U);
	expect_u64("mark", "0x3", 3);
	expect_u64("mark", "3", 3);
	expect_u64("mark", "0x80000001", 0x80000001U);
	expect_bad("mark", "0");
	expect_bad("mark", "7"); /* three bits */
	expect_bad("mark", "0x80000000"); /* one bit */
	expect_bad("mark", "0x180000000"); /* above 32 bits */
	expect_bad("mark", "-0x80000000");
	expect_bad("mark", "0xc0000000/0xc0000000"); /* a mask is not a mark */
	expect_bad("mark", "");
	nfo_config_defaults(&c);
	expect(!set(&c, "mark", "0x80000001") && nfo_mark_orig(c.mark) == 0x80000000U &&
		       nfo_mark_reply(c.mark) == 1,
	       "the higher bit is the original direction's, the lower the reply's");
	expect(!set(&c, "mark", "0x6") && nfo_mark_orig(c.mark) == 4 && nfo_mark_reply(c.mark) == 2,
	       "adjacent bits split by direction");
}

static void test_enums_and_bools(void)
{
	struct nfo_config c;

	nfo_config_defaults(&c);
	expect(!set(&c, "mode", "xdp-generic") && c.mode == NFO_MODE_XDP_GENERIC, "mode xdp-generic");
	expect(!set(&c, "mode", "tc") && c.mode == NFO_MODE_TC, "mode tc");
	expect_bad("mode", "fast");
	expect_bad("mode", "");
	expect_bad("mode", "TC");
	expect_bad("mode", "tc ");
	expect(!set(&c, "on-exit", "keep") && c.keep_on_exit, "on-exit keep");
	expect(!set(&c, "on-exit", "stop") && !c.keep_on_exit, "on-exit stop");
	expect_bad("on-exit", "yes");
	expect_bad("on-exit", "");
	expect(!set(&c, "force", "on") && c.force, "force on");
	expect(!set(&c, "force", "0") && !c.force, "force 0");
	expect(!set(&c, "trust-netlink-marks", "true") && c.trust_netlink_marks,
	       "trust-netlink-marks true");
	expect_bad("force", "maybe");
	expect_bad("force", "");
	expect_bad("force", "YES");
	expect_bad("trust-netlink-marks", "2");
}

/* The engine's types the command line uses: reals, sparse enums, counts, bases. */
static void test_cli_types(void)
{
	static const char *const names[] = { [2] = "two", [5] = "five" };
	struct obj {
		double d;
		int e, n;
		uint32_t dec, hex;
	} x;
	const struct nfo_opt rows[] = {
		{ .key = "d", .metavar = "S", .type = NFO_T_DOUBLE, .fmin = 0.1, .fmax = 3600,
		  .offset = offsetof(struct obj, d), .size = 8, .bad = "d: '%s'", .help = "d" },
		{ .key = "e", .metavar = "E", .type = NFO_T_ENUM, .names = names, .max = 5,
		  .offset = offsetof(struct obj, e), .size = 4, .bad = "e: '%s'", .help = "e" },
		{ .key = "n", .type = NFO_T_COUNT, .offset = offsetof(struct obj, n), .size = 4,
		  .help = "n" },
		{ .key = "dec", .metavar = "N", .type = NFO_T_UINT, .flags = NFO_OPT_DECIMAL,
		  .min = 1, .max = UINT32_MAX, .offset = offsetof(struct obj, dec), .size = 4,
		  .bad = "dec: '%s'", .help = "dec" },
		{ .key = "hex", .metavar = "N", .type = NFO_T_UINT, .flags = NFO_OPT_NO_UNITS,
		  .max = UINT32_MAX, .offset = offsetof(struct obj, hex), .size = 4,
		  .bad = "hex: '%s'", .help = "hex" },
		{ 0 },
	};
	static const char *const bad_reals[] = { "nan", "NaN", "inf", "-inf", "infinity", "",
						 "0.05", "3600.5", "1e9", "1s", "-1", "0x" };
	unsigned int i;

	expect(!nfo_opt_table_check(rows, &x, sizeof(x), err, sizeof(err)), "test rows: %s", err);
	memset(&x, 0, sizeof(x));
	for (i = 0; i < sizeof(bad_reals) / sizeof(bad_reals[0]); i++)
		expect(nfo_opt_apply(&x, &rows[0], bad_reals[i], err, sizeof(err)) == -EINVAL &&
			       x.d == 0,
		       "real '%s' refused", bad_reals[i]);
	expect(!nfo_opt_apply(&x, &rows[0], "0.1", err, sizeof(err)) && x.d == 0.1, "0.1 taken");
	expect(!nfo_opt_apply(&x, &rows[0], "3.6e3", err, sizeof(err)) && x.d == 3600,
	       "3.6e3 taken");
	expect(!nfo_opt_apply(&x, &rows[1], "five", err, sizeof(err)) && x.e == 5,
	       "a sparse enum stores the name's index");
	expect(nfo_opt_apply(&x, &rows[1], "", err, sizeof(err)) == -EINVAL,
	       "an empty name matches no hole");
	expect(!nfo_opt_apply(&x, &rows[2], NULL, err, sizeof(err)) &&
		       !nfo_opt_apply(&x, &rows[2], NULL, err, sizeof(err)) && x.n == 2,
	       "a count counts");
	expect(!nfo_opt_apply(&x, &rows[3], "010", err, sizeof(err)) && x.dec == 10,
	       "decimal: 010 is ten");
	expect(nfo_opt_apply(&x, &rows[3], "0x10", err, sizeof(err)) == -EINVAL,
	       "decimal: no hex");
	expect(nfo_opt_apply(&x, &rows[3], "1k", err, sizeof(err)) == -EINVAL,
	       "decimal: no units");
	expect(nfo_opt_apply(&x, &rows[3], "0", err, sizeof(err)) == -EINVAL &&
		       !strcmp(err, "dec: '0'"),
	       "below the minimum, with the row's sentence: %s", err);
	expect(nfo_opt_apply(&x, &rows[3], "4294967296", err, sizeof(err)) == -EINVAL,
	       "decimal: above 32 bits");
	expect(!nfo_opt_apply(&x, &rows[4], "0x10", err, sizeof(err)) && x.hex == 16,
	       "no units: hex taken");
	expect(nfo_opt_apply(&x, &rows[4], "1k", err, sizeof(err)) == -EINVAL,
	       "no units: 1k refused");
}

/* ---- lists, strings ---------------------------------------------------- */

static void test_devices(void)
{
	struct nfo_config c;
	char many[64 * 8 + 16];
	int i, n = 0;

	nfo_config_defaults(&c);
	expect(!set(&c, "devices", "eth0:xdp, eth1:tc\teth2,,  br-lan"), "a device list: %s", err);
	expect(c.ndevices == 4 && !strcmp(c.devices[0], "eth0") && c.dev_mode[0] == NFO_MODE_XDP &&
		       c.dev_mode[1] == NFO_MODE_TC && c.dev_mode[2] == NFO_MODE_AUTO &&
		       !strcmp(c.devices[3], "br-lan"),
	       "names and modes, separated by commas and blank space");
	expect(!set(&c, "device", "eth3") && c.ndevices == 5, "'device' appends");
	expect(set(&c, "devices", "eth4 eth1") == -EINVAL &&
		       !strcmp(err, "device eth1 is listed twice"),
	       "a device twice: %s", err);
	expect(!set(&c, "devices", ""), "an empty list adds nothing");
	expect(set(&c, "devices", "lo") == -EINVAL &&
		       !strcmp(err, "lo is the loopback device; it cannot be an offload device"),
	       "lo refused: %s", err);
	expect(set(&c, "devices", "eth0:fast") == -EINVAL &&
		       !strcmp(err, "unknown mode 'fast' for device eth0 (auto, tc, xdp, xdp-generic)"),
	       "unknown mode: %s", err);
	expect(set(&c, "devices", "abcdefghijklmnop") == -EINVAL &&
		       !strcmp(err, "invalid device name 'abcdefghijklmnop'"),
	       "16 characters refused: %s", err);
	expect(!set(&c, "devices", "abcdefghijklmno"), "15 characters taken");
	expect(set(&c, "devices", "a/b") == -EINVAL, "a slash refused");
	expect(set(&c, "devices", ":xdp") == -EINVAL, "a mode without a name refused");
	expect(set(&c, "devices",
		   "x12345678901234567890123456789012345678901234567890123456789012345") ==
			       -EINVAL &&
		       strstr(err, "(at most 15 characters)"),
	       "a very long name: %s", err);
	nfo_config_free(&c);

	nfo_config_defaults(&c);
	for (i = 0; i < NFO_MAX_DEVICES; i++)
		n += snprintf(many + n, sizeof(many) - n, "d%d ", i);
	expect(!set(&c, "devices", many) && c.ndevices == NFO_MAX_DEVICES, "64 devices taken");
	expect(set(&c, "devices", "one-more") == -EINVAL &&
		       !strcmp(err, "too many devices (at most 64)"),
	       "the 65th refused: %s", err);

	nfo_config_defaults(&c);
	expect(!set(&c, "allow-netdev-chains", "wan0, wan1") && c.nallow_netdev == 2 &&
		       nfo_config_netdev_allowed(&c, "wan1") && !nfo_config_netdev_allowed(&c, "lan0"),
	       "allow-netdev-chains names devices");
	expect(!set(&c, "allow-netdev-chains", "all") && nfo_config_netdev_allowed(&c, "lan0"),
	       "allow-netdev-chains all");
	expect_bad("allow-netdev-chains", "abcdefghijklmnop");
}

static void test_strings(void)
{
	struct nfo_config c;
	char path[256];

	nfo_config_defaults(&c);
	expect(!set(&c, "select", "tcp dport 443") && !set(&c, "select", "udp dport 53") &&
		       c.nselectors == 2 && !strcmp(c.selectors[1], "udp dport 53"),
	       "select appends");
	expect_bad("select", "tcp dport 80; drop");
	expect_bad("select", "tcp dport { 80, 443 }");
	expect_bad("select", "");
	nfo_config_free(&c);

	nfo_config_defaults(&c);
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[223] = '\0';
	expect(!set(&c, "pin-dir", path), "a pin-dir of 223 characters");
	path[223] = 'p';
	path[224] = '\0';
	expect(set(&c, "pin-dir", path) == -EINVAL &&
		       !strcmp(err, "pin-dir is too long (at most 223 characters)"),
	       "224 characters: %s", err);
	expect_bad("pin-dir", "relative/dir");
	expect_bad("pin-dir", "");

	expect(!set(&c, "metrics-listen", "127.0.0.1:9567") &&
		       !strcmp(c.metrics_listen, "127.0.0.1:9567"),
	       "metrics-listen IPv4");
	expect(!set(&c, "metrics-listen", "[::1]:9567"), "metrics-listen IPv6");
	expect(!set(&c, "metrics-listen", "off") && !c.metrics_listen[0], "metrics-listen off");
	expect(!set(&c, "metrics-listen", "") && !c.metrics_listen[0], "metrics-listen empty: off");
	expect_bad("metrics-listen", "::1:9567");
	expect_bad("metrics-listen", "127.0.0.1:0");
	expect_bad("metrics-listen", "127.0.0.1:65536");
	expect_bad("metrics-listen", "127.0.0.1:");
	expect_bad("metrics-listen", "localhost:9567");
	expect_bad("metrics-listen", "[::1]9567");
	expect(!set(&c, "metrics-file", "/var/lib/x.prom"), "metrics-file");
	expect(!set(&c, "metrics-file", "off") && !c.metrics_file[0], "metrics-file off");
	expect_bad("metrics-file", "x.prom");
	expect_bad("metrics-file", "/x.txt");
	expect_bad("metrics-file", "/prom");
	expect_bad("metrics-file", "/x.prom.txt");
}

static void test_unknown_keys(void)
{
	struct nfo_config c;

	nfo_config_defaults(&c);
	expect(set(&c, "bogus", "1") == -ENOENT && !strcmp(err, "unknown setting 'bogus'"),
	       "unknown key: %s", err);
	expect(set(&c, "metrics-bogus", "1") == -ENOENT &&
		       !strcmp(err, "unknown setting 'metrics-bogus'"),
	       "unknown metrics key: %s", err);
	expect(set(&c, "Mode", "tc") == -ENOENT, "keys are case-sensitive");
	expect(set(&c, "", "tc") == -ENOENT, "an empty key is unknown");
	expect(set(&c, "keep-on-exit", "yes") == -ENOENT,
	       "an option's spelling is not a config key");
}

/* ---- the config file --------------------------------------------------- */

static char tmpdir[] = "/tmp/nfo-config-test.XXXXXX";

/* Load text (len bytes) as a config file; the message printed goes to msg. */
static int load_text(struct nfo_config *c, const char *text, size_t len, char *msg, size_t msglen)
{
	char path[128], logp[128];
	int fd, saved, rc;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/test.conf", tmpdir);
	snprintf(logp, sizeof(logp), "%s/stderr", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	fflush(stderr);
	saved = dup(2);
	fd = open(logp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	rc = nfo_config_load(c, path);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, msg, msglen - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static int load_str(struct nfo_config *c, const char *text, char *msg, size_t msglen)
{
	return load_text(c, text, strlen(text), msg, msglen);
}

static void test_file(void)
{
	struct nfo_config c;
	char msg[2048], *big;
	size_t n;

	nfo_config_defaults(&c);
	expect(!load_str(&c,
			 "# a comment\n"
			 "\n"
			 "   \t\n"
			 "  idle-timeout\t=   10s   # trailing comment\n"
			 "\tmode=tc\r\n"
			 "select = meta mark 0x1#not a comment\n"
			 "devices = a, b\n"
			 "devices = c\n"
			 "idle-timeout = 20\n"
			 "log-group = 7",
			 msg, sizeof(msg)),
	       "a file with comments, blank space, CRLF and no final newline: %s", msg);
	expect(c.idle_timeout == 20, "the later line wins");
	expect(c.mode == NFO_MODE_TC, "blank space around '=' is not part of key or value");
	expect(c.nselectors == 1 && !strcmp(c.selectors[0], "meta mark 0x1#not a comment"),
	       "'#' inside a word is not a comment");
	expect(c.ndevices == 3, "device lines add up");
	expect(c.log_group == 7, "the last line without a newline is read");
	nfo_config_free(&c);

	nfo_config_defaults(&c);
	expect(load_str(&c, "mode = tc\nidle-timeout\n", msg, sizeof(msg)) == -EINVAL &&
		       strstr(msg, "test.conf:2: expected 'key = value', got 'idle-timeout'"),
	       "a line without '=': %s", msg);
	expect(load_str(&c, "\n\nbogus = 1\n", msg, sizeof(msg)) == -EINVAL &&
		       strstr(msg, "test.conf:3: unknown setting 'bogus'"),
	       "an unknown key with its line: %s", msg);
	expect(load_str(&c, "mark = 7\n", msg, sizeof(msg)) == -EINVAL &&
		       strstr(msg, "test.conf:1: mark must be two bits"),
	       "a bad value with its line: %s", msg);
	expect(load_str(&c, "mode =\n", msg, sizeof(msg)) == -EINVAL &&
		       strstr(msg, "test.conf:1: mode must be auto, tc, xdp or xdp-generic, not ''"),
	       "an empty value: %s", msg);
	expect(load_str(&c, "= tc\n", msg, sizeof(msg)) == -EINVAL &&
		       strstr(msg, "test.conf:1: unknown setting ''"),
	       "an empty key: %s", msg);
	expect(load_text(&c, "mode = tc\nmode = x\0dp\n", 22, msg, sizeof(msg)) == -EINVAL &&
		       strstr(msg, "test.conf:2: contains a NUL byte"),
	       "a NUL byte: %s", msg);
	nfo_config_free(&c);

	/* A line far longer than any buffer: read whole, refused by its value. */
	n = 200000;
	big = malloc(n + 32);
	memcpy(big, "select = ", 9);
	memset(big + 9, 'x', n);
	strcpy(big + 9 + n, "\n");
	nfo_config_defaults(&c);
	expect(!load_str(&c, big, msg, sizeof(msg)) && c.nselectors == 1 &&
		       strlen(c.selectors[0]) == n,
	       "a 200 kB line is read whole: %s", msg);
	nfo_config_free(&c);
	memcpy(big, "devices = ", 10);
	expect(load_str(&c, big, msg, sizeof(msg)) == -EINVAL &&
		       strstr(msg, "test.conf:1: invalid device name 'xxxx"),
	       "a 200 kB device name is refused in one line: %.80s", msg);
	memset(big, 'k', n);
	strcpy(big + n, " = 1\n");
	expect(load_str(&c, big, msg, sizeof(msg)) == -EINVAL && strstr(msg, "unknown setting"),
	       "a 200 kB key is unknown");
	free(big);
	nfo_config_free(&c);
}

static void test_validate(void)
{
	struct nfo_config c;

	nfo_config_defaults(&c);
	expect(nfo_config_validate(&c, err, sizeof(err)) == -EINVAL &&
		       strstr(err, "need at least two devices"),
	       "no devices: %s", err);
	set(&c, "devices", "a b");
	expect(!nfo_config_validate(&c, err, sizeof(err)), "two devices: %s", err);
	set(&c, "idle-timeout", "2h");
	set(&c, "ct-timeout", "1h");
	expect(nfo_config_validate(&c, err, sizeof(err)) == -EINVAL &&
		       !strcmp(err, "ct-timeout (3600s) must be longer than idle-timeout (7200s)"),
	       "ct-timeout under idle-timeout: %s", err);
}

/* ---- packaging/nft-offload.conf ---------------------------------------- */

/* A line "key = value" (active) or "#key = ..." / "# key = ..." (commented). */
static bool file_has(const char *text, const char *key, const char *value, bool commented)
{
	const char *line;

	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *p = line;
		size_t kl = strlen(key);

		if (commented) {
			if (*p++ != '#')
				continue;
			while (*p == ' ')
				p++;
		}
		if (strncmp(p, key, kl) || strncmp(p + kl, " = ", 3))
			continue;
		p += kl + 3;
		if (!value)
			return true;
		if (!strncmp(p, value, strlen(value)) && p[strlen(value)] == '\n')
			return true;
	}
	return false;
}

static void test_packaging_conf(void)
{
	const char *path = "packaging/nft-offload.conf";
	struct nfo_config def, file;
	const struct nfo_opt *o;
	char *text;
	long len;
	FILE *f;

	f = fopen(path, "r");
	expect(f != NULL, "%s opens (run from the top of the repository)", path);
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, len + 1);
	if (fread(text, 1, len, f) != (size_t)len)
		abort();
	fclose(f);

	for (o = nfo_settings; o->key; o++) {
		if (o->def)
			expect(file_has(text, o->key, o->def, false),
			       "%s has the line '%s = %s' (the table's default)", path, o->key,
			       o->def);
		else
			expect(file_has(text, o->key, NULL, true),
			       "%s shows %s (no default) as a commented example", path, o->key);
	}
	nfo_config_defaults(&def);
	nfo_config_defaults(&file);
	expect(!nfo_config_load(&file, path), "%s loads", path);
	memset(file.source, 0, sizeof(file.source));
	expect(!memcmp(&def, &file, sizeof(def)),
	       "%s sets every setting to its default, as shipped", path);
	nfo_config_free(&file);
	free(text);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_table();
	test_table_check_fails();
	test_defaults();
	test_bounds();
	test_numbers_and_units();
	test_marks();
	test_enums_and_bools();
	test_cli_types();
	test_devices();
	test_strings();
	test_unknown_keys();
	test_file();
	test_validate();
	test_packaging_conf();
	snprintf(cmd, sizeof(cmd), "%s/test.conf", tmpdir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/stderr", tmpdir);
	unlink(cmd);
	rmdir(tmpdir);
	return unit_summary();
}
