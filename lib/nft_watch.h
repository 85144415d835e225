/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the daemon watches in the ruleset besides the forward chains: the
 * netdev chains on offload devices (which the fast path would bypass), the
 * content of its own table, and the ruleset generation (to know after a
 * restart whether the ruleset changed while no daemon ran).
 */
#ifndef NFO_NFT_WATCH_H
#define NFO_NFT_WATCH_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#define NFO_NETDEV_CHAINS_MAX 64

/* One device hooked by a netdev (or inet ingress) base chain. */
struct nfo_netdev_chain {
	char dev[IFNAMSIZ];
	char chain[160]; /* "netdev filter in0 (ingress)" */
};

struct nfo_netdev_chains {
	int n;
	struct nfo_netdev_chain c[NFO_NETDEV_CHAINS_MAX];
};

/* Every base chain hooked to a device: netdev ingress/egress, inet ingress. */
int nfo_netdev_chains_scan(struct nfo_netdev_chains *nc);
/*
 * The chains on dev, as "netdev filter in0 (ingress), ..." in buf; returns
 * how many there are (0: none, buf empty).
 */
int nfo_netdev_chains_on(const struct nfo_netdev_chains *nc, const char *dev, char *buf,
			 size_t len);

/* The current ruleset generation (NFT_MSG_GETGEN). */
int nfo_nft_get_gen(uint32_t *gen);

/*
 * Our table as nft lists it (no handles, no counters): compared with the
 * listing taken right after install to notice any edit. -ENOENT if absent.
 */
int nfo_nft_table_text(char *buf, size_t len);

#endif
