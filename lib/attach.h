/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Attaching the fast path to devices: tc ingress (clsact + cls_bpf, direct
 * action) or XDP (native or generic), detecting and sparing programs that are
 * not ours, and probing what a device can do (netdev genl XDP features).
 */
#ifndef NFO_ATTACH_H
#define NFO_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

enum nfo_mode { NFO_MODE_AUTO, NFO_MODE_TC, NFO_MODE_XDP, NFO_MODE_XDP_GENERIC };

extern const char *const nfo_mode_names[];
int nfo_mode_parse(const char *s, enum nfo_mode *m);
/* "tc", "xdp", "xdp-generic" from NFO_DEV_* flags ("-" for none). */
const char *nfo_mode_of_flags(uint32_t flags);

/* Our tc filter: ingress, this handle and priority. */
#define NFO_TC_HANDLE 0x6e666f /* "nfo" */
#define NFO_TC_PRIO 1

/* netdev genl XDP feature bits (enum netdev_xdp_act: not in Debian 12's headers). */
#define NFO_XDP_ACT_BASIC (1ULL << 0)
#define NFO_XDP_ACT_REDIRECT (1ULL << 1)
#define NFO_XDP_ACT_NDO_XMIT (1ULL << 2)
#define NFO_XDP_ACT_XSK_ZEROCOPY (1ULL << 3)
#define NFO_XDP_ACT_HW_OFFLOAD (1ULL << 4)
#define NFO_XDP_ACT_RX_SG (1ULL << 5)
#define NFO_XDP_ACT_NDO_XMIT_SG (1ULL << 6)

/* XDP features of a device; -EOPNOTSUPP when the kernel cannot tell (< 6.3). */
int nfo_xdp_features(uint32_t ifindex, uint64_t *features);
/* "basic redirect ndo-xmit ..." */
void nfo_xdp_features_str(uint64_t f, char *buf, size_t len);

/* Program attached to a hook, and whether it is one of ours. */
struct nfo_hook_info {
	uint32_t xdp_prog_id; /* 0 if none */
	bool xdp_ours;
	bool xdp_generic;
	int tc_filters; /* filters on the ingress hook, ours included */
	bool tc_ours; /* our filter is there */
	uint32_t tc_prog_id; /* the program of our filter */
	bool clsact; /* a clsact (or ingress) qdisc exists */
};

int nfo_hook_query(uint32_t ifindex, struct nfo_hook_info *h);

/*
 * Attach. Foreign programs make these fail with -EBUSY unless force; an
 * earlier instance of ours is replaced atomically (no gap in forwarding).
 * *created reports that tc attach had to create the clsact qdisc.
 */
int nfo_attach_tc(uint32_t ifindex, int prog_fd, bool force, bool *created);
int nfo_attach_xdp(uint32_t ifindex, int prog_fd, bool generic, bool force);
/*
 * Detach ours only; destroy_qdisc removes clsact if it is then empty. ours_fd
 * is the XDP program the caller attached (negative: find ours by name).
 */
int nfo_detach_tc(uint32_t ifindex, bool destroy_qdisc);
int nfo_detach_xdp(uint32_t ifindex, int ours_fd);

#endif
