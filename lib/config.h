/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Configuration: defaults, the config file (key = value lines), and the
 * command line, in that order of precedence (later wins).
 *
 * Every setting is one row of nfo_settings[] (config.c): its key, its
 * command-line option, its type and bounds, its default, its help and man
 * text, and where it lives in struct nfo_config. The defaults, the config
 * file parser, the command line (cli/main.c), --help and the man page are all
 * read from that table; packaging/nft-offload.conf is checked against it by
 * tests/unit/config_test.c.
 */
#ifndef NFO_CONFIG_H
#define NFO_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "attach.h"

#define NFO_CONFIG_FILE "/etc/nft-offload.conf"
#define NFO_MAX_DEVICES 64
#define NFO_MAX_SELECTORS 32

struct nfo_config {
	char devices[NFO_MAX_DEVICES][IFNAMSIZ];
	enum nfo_mode dev_mode[NFO_MAX_DEVICES]; /* NFO_MODE_AUTO: use .mode */
	int ndevices;
	enum nfo_mode mode;
	char *selectors[NFO_MAX_SELECTORS];
	int nselectors;
	/*
	 * Two ct mark bits: the higher one says the ruleset accepted an
	 * established packet of the original direction, the lower one of the
	 * reply direction.
	 */
	uint32_t mark;
	uint16_t log_group; /* nflog group of the mark rules */
	uint32_t idle_timeout; /* seconds */
	uint32_t ct_timeout; /* seconds */
	uint64_t flows; /* capacity, connections per family */
	char pin_dir[256];
	bool keep_on_exit;
	bool force;
	bool trust_netlink_marks; /* admit marks set through ctnetlink (benchmarks) */
	int event_buffer; /* bytes */
	/* Devices offloaded despite netdev chains on them ("all": every one). */
	char allow_netdev[NFO_MAX_DEVICES][IFNAMSIZ];
	int nallow_netdev;
	char source[300]; /* config file used, "" if none */
	char metrics_listen[64]; /* "" : off */
	char metrics_file[256]; /* "" : off */
	uint32_t metrics_interval; /* seconds between writes of metrics_file */
};

/* ---- the table of settings and options ---------------------------------- */

enum nfo_opt_type {
	NFO_T_BOOL, /* yes/no, true/false, 1/0, on/off */
	NFO_T_UINT, /* whole number, k/M/G suffixes (powers of 1024), min..max */
	NFO_T_DURATION, /* seconds: 30, 30s, 5m, 1h; min..max */
	NFO_T_MARK, /* two bits of the 32-bit ct mark */
	NFO_T_ENUM, /* one of names[0..max]; stored as its index */
	NFO_T_DOUBLE, /* a real number, fmin..fmax (NaN and inf refused) */
	NFO_T_COUNT, /* a flag counted each time it is given */
	NFO_T_ARG, /* the argument itself (a const char *) */
	NFO_T_CUSTOM, /* parse() does it all */
};

/* flags of a row */
#define NFO_OPT_DECIMAL (1U << 0) /* NFO_T_UINT: base 10 only, no k/M/G */
#define NFO_OPT_NO_UNITS (1U << 1) /* NFO_T_UINT: no k/M/G (0x.. still taken) */
#define NFO_OPT_EARLY (1U << 2) /* applied before the config file is read */

/* commands: bit masks the command line gives meaning to */
#define NFO_OPT_DAEMON 1U /* the command that runs the daemon */
#define NFO_OPT_EVERY (~0U) /* every command */

struct nfo_opt;
typedef int (*nfo_opt_parse_fn)(void *obj, const struct nfo_opt *o, const char *val, char *err,
				size_t errlen);

struct nfo_opt {
	const char *key; /* config-file key; also the long option unless lopt */
	const char *alias; /* another config-file key for it, or NULL */
	const char *lopt; /* long option, NULL: key; "" none (config file only) */
	char sopt; /* short option letter, 0: none */
	const char *metavar; /* the option's value, NULL: a flag ... */
	const char *flag_value; /* ... that sets this value */
	enum nfo_opt_type type;
	unsigned int flags;
	unsigned int cmds; /* commands that accept the option */
	size_t offset, size; /* of the field in the object */
	uint64_t min, max; /* NFO_T_UINT, NFO_T_DURATION; max: last index of names */
	double fmin, fmax; /* NFO_T_DOUBLE */
	const char *const *names; /* NFO_T_ENUM (NULL holes allowed) */
	nfo_opt_parse_fn parse; /* NFO_T_CUSTOM */
	/* A list the command line replaces (not extends): empties it. */
	void (*clear)(void *obj);
	const char *def; /* default as the config file writes it; NULL: empty */
	/* The error for a value out of type or bounds: one %s, the value. */
	const char *bad;
	const char *help; /* one line of --help */
	const char *man; /* man page paragraph of the config key (roff), NULL: help */
	const char *man_value; /* the value in the man page, NULL: from type / metavar */
};

#define nfo_opt_field(obj, o) ((void *)((char *)(obj) + (o)->offset))

/* The daemon's settings, ended by a row without key. */
extern const struct nfo_opt nfo_settings[];

/*
 * Apply one row to obj (struct nfo_config for nfo_settings). val is NULL for
 * a flag given on the command line. Errors: one sentence in err, -EINVAL (or
 * -ENOMEM).
 */
int nfo_opt_apply(void *obj, const struct nfo_opt *o, const char *val, char *err,
		  size_t errlen);
/* The row of a config-file key (or alias), or NULL. */
const struct nfo_opt *nfo_setting_find(const char *key);
/* "auto | tc | xdp | xdp-generic" for an enum, "no | yes" for a bool, else metavar. */
const char *nfo_opt_value_syntax(const struct nfo_opt *o, char *buf, size_t len);
/*
 * The table's own consistency: every row has help text, an error sentence
 * with one %s, a default that parses and lies inside its bounds, and no two
 * rows share a key, long option or short option letter. 0, or -EINVAL with
 * the first problem in err.
 */
int nfo_opt_table_check(const struct nfo_opt *tab, void *scratch, size_t scratch_size,
			char *err, size_t errlen);

/* ---- the configuration --------------------------------------------------- */

void nfo_config_defaults(struct nfo_config *c);
/* Read a config file. Errors print "FILE:LINE: reason" and return -EINVAL. */
int nfo_config_load(struct nfo_config *c, const char *path);
/* One setting, by its config-file key. -ENOENT for an unknown key. */
int nfo_config_set(struct nfo_config *c, const char *key, const char *value, char *err,
		   size_t errlen);
/* Final checks (device list, timeouts). Returns -EINVAL with the reason in err. */
int nfo_config_validate(const struct nfo_config *c, char *err, size_t errlen);
void nfo_config_free(struct nfo_config *c);
/* allow-netdev-chains names dev (or all)? */
bool nfo_config_netdev_allowed(const struct nfo_config *c, const char *dev);

/* The bit of `mark` for the original direction, and for the reply direction. */
static inline uint32_t nfo_mark_orig(uint32_t mark)
{
	return mark ? 1U << (31 - __builtin_clz(mark)) : 0;
}

static inline uint32_t nfo_mark_reply(uint32_t mark)
{
	return mark & ~nfo_mark_orig(mark);
}

int nfo_parse_u64(const char *s, uint64_t *v); /* accepts k/M/G suffixes */
int nfo_parse_duration(const char *s, uint32_t *seconds); /* 30, 30s, 5m, 1h */
/* "127.0.0.1:9567", "[::1]:9567": 0, or -EINVAL. */
int nfo_parse_sockaddr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
