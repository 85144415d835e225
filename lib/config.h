/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Configuration: defaults, the config file (key = value lines), and the
 * command line, in that order of precedence (later wins).
 */
#ifndef NFO_CONFIG_H
#define NFO_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "attach.h"

#define NFO_CONFIG_FILE "/etc/nft-offload.conf"
#define NFO_MAX_DEVICES 64
#define NFO_MAX_SELECTORS 32
/*
 * Two ct mark bits: the higher one says the ruleset accepted an established
 * packet of the original direction, the lower one of the reply direction.
 */
#define NFO_DEFAULT_MARK 0xc0000000U
#define NFO_DEFAULT_LOG_GROUP 40960 /* nflog group the mark rules notify */
#define NFO_DEFAULT_IDLE 30
#define NFO_DEFAULT_CT_TIMEOUT 86400 /* conntrack timeout while offloaded */
#define NFO_DEFAULT_EVENT_BUFFER (16 << 20)
#define NFO_DEFAULT_METRICS_INTERVAL 15

struct nfo_config {
	char devices[NFO_MAX_DEVICES][IFNAMSIZ];
	enum nfo_mode dev_mode[NFO_MAX_DEVICES]; /* NFO_MODE_AUTO: use .mode */
	int ndevices;
	enum nfo_mode mode;
	char *selectors[NFO_MAX_SELECTORS];
	int nselectors;
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

void nfo_config_defaults(struct nfo_config *c);
/* Read a config file. Errors print "FILE:LINE: reason" and return -EINVAL. */
int nfo_config_load(struct nfo_config *c, const char *path);
/* One setting, by its config-file key (also used for command-line options). */
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

#endif
