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

/* From linux/netfilter/nf_conntrack_common.h (status bits). */
#define NFO_IPS_SEEN_REPLY (1U << 1)
#define NFO_IPS_ASSURED (1U << 2)
#define NFO_IPS_CONFIRMED (1U << 3)
#define NFO_IPS_SRC_NAT (1U << 4)
#define NFO_IPS_DST_NAT (1U << 5)
#define NFO_IPS_SEQ_ADJUST (1U << 6)
#define NFO_IPS_DYING (1U << 9)
#define NFO_IPS_OFFLOAD (1U << 14)
#define NFO_IPS_HW_OFFLOAD (1U << 15)
#define NFO_IPS_NAT_CLASH (1U << 16) /* UNTRACKED_BIT reused */

/* enum tcp_conntrack */
enum {
	NFO_TCP_NONE,
	NFO_TCP_SYN_SENT,
	NFO_TCP_SYN_RECV,
	NFO_TCP_ESTABLISHED,
	NFO_TCP_FIN_WAIT,
	NFO_TCP_CLOSE_WAIT,
	NFO_TCP_LAST_ACK,
	NFO_TCP_TIME_WAIT,
	NFO_TCP_CLOSE,
	NFO_TCP_SYN_SENT2,
	NFO_TCP_MAX,
};

extern const char *const nfo_tcp_state_names[NFO_TCP_MAX];

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

/* The kernel's timeout (seconds) for an entry of this protocol and state. */
uint32_t nfo_ct_timeout(uint8_t l4proto, uint8_t tcp_state, bool assured);

/*
 * The kernel flowtable's admission rules: why this marked connection may not
 * be offloaded, or NULL if it may. *need_state is set when a TCP event did not
 * carry the TCP state and conntrack must be asked.
 */
const char *nfo_ct_ineligible(const struct nfo_ct *ct, bool *need_state);

/* Bitmask of legacy groups for NEW/UPDATE/DESTROY events. */
#define NFO_CT_EVENT_GROUPS 7

#endif
