/* SPDX-License-Identifier: GPL-2.0-only */
/* Routes and links over rtnetlink (libmnl). */
#ifndef NFO_RTNL_H
#define NFO_RTNL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "nl.h"

struct nfo_link {
	uint32_t ifindex;
	char name[IFNAMSIZ];
	char kind[16]; /* "veth", "bridge", ... or "" for a plain device */
	uint8_t mac[6];
	uint32_t mtu;
	uint32_t flags; /* IFF_* */
	bool up; /* IFF_UP */
	bool running; /* carrier: IFF_RUNNING / IFF_LOWER_UP */
	uint32_t xdp_prog_id; /* attached XDP program (any mode), 0 if none */
	uint8_t xdp_mode; /* XDP_ATTACHED_* */
	int32_t netnsid; /* for a veth: where the peer is (-1 unknown) */
	uint32_t master; /* bridge (or other master) of a port, 0 if none */
	uint8_t family; /* AF_UNSPEC; AF_BRIDGE: a bridge port notification */
};

/* Fetch one link by index (name NULL) or by name (ifindex 0). */
int nfo_link_get(struct nfo_nl *nl, uint32_t ifindex, const char *name, struct nfo_link *l);
/* Parse RTM_NEWLINK / RTM_DELLINK. */
int nfo_link_parse(const struct nlmsghdr *nlh, struct nfo_link *l);

/*
 * Route lookups ("ip route get ADDR"), batched. nfo_route_req() appends a
 * request; the flush callback gets the reply of request idx, from which
 * nfo_route_oif() reads the output device (0 when there is none).
 */
void nfo_route_req(struct nfo_nl_batch *b, uint8_t family, const union nfo_addr *dst);
uint32_t nfo_route_oif(const struct nlmsghdr *nlh);

/* Legacy groups the daemon listens to: links (up/down, MAC, removal), neighbours. */
unsigned int nfo_rtnl_event_groups(void);

#endif
