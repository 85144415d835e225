/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nftables: nft-offload's own table (libnftables), inspection of the rest of
 * the ruleset (libnftnl), and ruleset generation events.
 */
#ifndef NFO_NFT_H
#define NFO_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netfilter/nfnetlink.h>

#include "nl.h"

#define NFO_NFT_TABLE "nft_offload"
#define NFO_NFT_FAMILY "inet"
/* Our forward chain runs last: the highest priority a base chain can have. */
#define NFO_NFT_PRIO 2147483647
/* Bytes of each packet the mark rules log: network and transport headers. */
#define NFO_NFT_SNAPLEN 128

struct nfo_nft_spec {
	uint32_t mark; /* the two conntrack mark bits: original, reply direction */
	uint16_t log_group; /* nflog group notified when a rule sets a bit */
	const char *const *devices; /* offload device names */
	int ndevices;
	const char *const *selectors; /* nft expressions; none = every flow */
	int nselectors;
};

/* Build the table's ruleset text (for install and for --dry-run output). */
int nfo_nft_render(const struct nfo_nft_spec *s, char *buf, size_t len);
/*
 * Install (or atomically replace) our table. On failure err holds nft's
 * message; a bad selector is named.
 */
int nfo_nft_install(const struct nfo_nft_spec *s, char *err, size_t errlen);
/* Delete our table. 0 if deleted, -ENOENT if it was not there. */
int nfo_nft_remove(void);
bool nfo_nft_table_exists(void);
/*
 * A selector must be one nft match expression, with no statement (no ct mark
 * set, counter, log, verdict, ...). 0, or -EINVAL with one sentence in err.
 */
int nfo_nft_check_selector(const char *sel, char *err, size_t errlen);

/* What the rest of the ruleset does that matters to us. */
struct nfo_nft_report {
	int later_chains; /* forward base chains at or after our priority */
	char later[512]; /* "inet filter fwd (priority 2147483647)" ... */
	int mark_conflicts; /* rules that use our mark bit */
	char conflict[512];
	int mark_clobbers; /* rules that assign the whole ct mark */
	char clobber[512];
	bool table_present; /* our table */
};

int nfo_nft_inspect(uint32_t mark, struct nfo_nft_report *r);
/* Dump every object of one kind (NFT_MSG_GETSET, GETRULE, ...) of every family. */
int nfo_nft_dump(int msg, nfo_nl_cb cb, void *arg);

/* Parse an NFT_MSG_NEWGEN event. Returns 0 if nlh is one. */
int nfo_nft_parse_gen(const struct nlmsghdr *nlh, uint32_t *gen, uint32_t *pid);
/* Multicast group of nftables events. */
#define NFO_NFT_GROUP NFNLGRP_NFTABLES

#endif
