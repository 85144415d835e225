/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Conntrack over ctnetlink (libmnl): parse entries and events, build the
 * requests nft-offload needs (get, dump by mark, update timeout/mark/TCP
 * flags), and the kernel's own timeouts to hand a flow back with.
 */
#ifndef NFO_CT_H
#define NFO_CT_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "nl.h"

/* Status bits (IPS_*), TCP conntrack states, legacy event groups. */
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink_compat.h>

/*
 * The kernel reuses the obsolete IPS_UNTRACKED bit to tag an entry that lost
 * a NAT clash on insert (IPS_NAT_CLASH); the UAPI header keeps that name
 * inside #ifdef __KERNEL__, so the bit is named here.
 */
#define NFO_IPS_NAT_CLASH IPS_UNTRACKED

extern const char *const nfo_tcp_state_names[TCP_CONNTRACK_MAX];

enum nfo_ct_event { NFO_CT_NEW, NFO_CT_UPDATE, NFO_CT_DESTROY };

struct nfo_ct {
	struct nfo_tuple orig, reply;
	uint32_t id;
	uint32_t status;
	uint32_t mark;
	uint32_t timeout; /* seconds left */
	uint16_t zone;
	uint8_t tcp_state;
	bool has_tcp_state;
	bool has_mark;
	bool has_helper;
	enum nfo_ct_event event;
	uint64_t packets[2], bytes[2]; /* when accounting is on */
};

/* Parse an IPCTNL_MSG_CT_NEW/DELETE message. Returns 0 or -EINVAL. */
int nfo_ct_parse(const struct nlmsghdr *nlh, struct nfo_ct *ct);

/* Request builders, appended to a batch on a NETLINK_NETFILTER socket. */
struct nfo_ct_update {
	bool set_timeout;
	uint32_t timeout;
	bool set_mark;
	uint32_t mark, mark_mask; /* new = (old & ~mask) | (mark & mask) */
	bool tcp_liberal; /* TCP both ways: be liberal, forget the stale max ACK */
};

void nfo_ct_req_update(struct nfo_nl_batch *b, const struct nfo_tuple *orig, uint16_t zone,
		       const struct nfo_ct_update *u);
void nfo_ct_req_get(struct nfo_nl_batch *b, const struct nfo_tuple *orig, uint16_t zone);
/* Size to reserve in a batch for one request. */
#define NFO_CT_REQ_MAX 256

/* Dump every conntrack entry with (mark & mask) == mark; cb gets raw messages. */
int nfo_ct_dump(struct nfo_nl *nl, uint32_t mark, uint32_t mask, nfo_nl_cb cb, void *arg);
/*
 * The request of such a dump (entries whose mark & mask == mark; all if mask
 * is 0), built in buf (NFO_CT_DUMP_MSG_MAX bytes), for a caller that sends
 * and reads it itself. Flags and sequence number are the caller's.
 */
#define NFO_CT_DUMP_MSG_MAX 256
struct nlmsghdr *nfo_ct_dump_msg(void *buf, uint32_t mark, uint32_t mask);

/* The kernel's timeout (seconds) for an entry of this protocol and state. */
uint32_t nfo_ct_timeout(uint8_t l4proto, uint8_t tcp_state, bool assured);

/*
 * The kernel flowtable's admission rules: why this marked connection may not
 * be offloaded, or NULL if it may. *need_state is set when a TCP event did not
 * carry the TCP state and conntrack must be asked.
 */
const char *nfo_ct_ineligible(const struct nfo_ct *ct, bool *need_state);

/* Legacy group bitmask (bind-time) for NEW/UPDATE/DESTROY events. */
#define NFO_CT_EVENT_GROUPS \
	(NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE | NF_NETLINK_CONNTRACK_DESTROY)

#endif
