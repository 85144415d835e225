// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fast path's route lookup (bpf_fib_lookup) goes through the same rules
 * as the kernel's forwarding lookup, with the source and destination, the
 * ingress device, TOS/traffic class, L4 protocol and ports, and the packet
 * mark (given by nft-offload, see README "Policy routing"); like the
 * kernel's, it uses the namespace's root uid and no output device. Two
 * selectors are never given to it: a tunnel id (FRA_TUN_ID) and the L3
 * master device's table (FRA_L3MDEV, VRF). And for IPv6 its lookup
 * (fib6_lookup) ignores suppress_prefixlength and suppress_ifgroup: the
 * kernel's IPv6 suppress check reads a route cache entry that lookup does not
 * fill. Rules with those, or with a selector newer than this code, keep the
 * family's marked connections on the kernel path.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "policy.h"

/*
 * Selectors newer than older uapi headers (kernel 6.12-6.15), numbered as the
 * kernel's enum has them (ABI): DSCP and IPv6 flow label (the lookup gets
 * the packet's TOS / flow label), and masks on ports and DSCP.
 */
#define NFO_FRA_DSCP 25
#define NFO_FRA_FLOWLABEL 26
#define NFO_FRA_FLOWLABEL_MASK 27
#define NFO_FRA_SPORT_MASK 28
#define NFO_FRA_DPORT_MASK 29
#define NFO_FRA_DSCP_MASK 30

static bool default_table(uint32_t t)
{
	return t == RT_TABLE_LOCAL || t == RT_TABLE_MAIN || t == RT_TABLE_DEFAULT;
}

struct rule {
	uint32_t table;
	bool selector; /* anything that makes it more than "lookup TABLE" */
	bool fwmark;
	const char *unsupported;
	bool suppress; /* suppress_prefixlength or suppress_ifgroup */
	int unknown; /* attribute type nobody here knows, or 0 */
};

static int rule_attr_cb(const struct nlattr *a, void *data)
{
	struct rule *r = data;
	int type = mnl_attr_get_type(a);

	switch (type) {
	case FRA_TABLE:
		r->table = mnl_attr_get_u32(a);
		break;
	case FRA_PRIORITY:
	case FRA_PROTOCOL:
	case FRA_PAD:
		break;
	case FRA_SUPPRESS_IFGROUP:
	case FRA_SUPPRESS_PREFIXLEN:
		/* Always reported; -1 is "not set". */
		if (mnl_attr_get_u32(a) != UINT32_MAX)
			r->selector = r->suppress = true;
		break;
	case FRA_FWMARK:
	case FRA_FWMASK:
		r->fwmark = true;
		r->selector = true;
		break;
	case FRA_DST:
	case FRA_SRC:
	case FRA_IIFNAME:
	case FRA_OIFNAME:
	case FRA_GOTO:
	case FRA_FLOW:
	case FRA_UID_RANGE:
	case FRA_IP_PROTO:
	case FRA_SPORT_RANGE:
	case FRA_DPORT_RANGE:
	case NFO_FRA_DSCP:
	case NFO_FRA_FLOWLABEL:
	case NFO_FRA_FLOWLABEL_MASK:
	case NFO_FRA_SPORT_MASK:
	case NFO_FRA_DPORT_MASK:
	case NFO_FRA_DSCP_MASK:
		r->selector = true;
		break;
	case FRA_TUN_ID:
		r->unsupported = "tunnel id";
		break;
	case FRA_L3MDEV:
		r->unsupported = "l3mdev (VRF)";
		break;
	default:
		r->unknown = type;
		break;
	}
	return MNL_CB_OK;
}

static int rule_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct nfo_policy *p = arg;
	const struct fib_rule_hdr *frh;
	struct rule r = {};
	char *why;

	if (err || !nlh || nlh->nlmsg_type != RTM_NEWRULE)
		return 0;
	frh = mnl_nlmsg_get_payload(nlh);
	if (frh->family != AF_INET && frh->family != AF_INET6)
		return 0; /* multicast routing rules */
	r.table = frh->table;
	mnl_attr_parse(nlh, sizeof(*frh), rule_attr_cb, &r);
	if (frh->dst_len || frh->src_len || frh->tos || frh->action != FR_ACT_TO_TBL ||
	    (frh->flags & FIB_RULE_INVERT))
		r.selector = true;
	if (!r.selector && !r.unsupported && !r.unknown && default_table(r.table))
		return 0;
	p->rules++;
	p->fwmark |= r.fwmark;
	why = p->unsupported[frh->family == AF_INET6];
	if (why[0])
		return 0;
	if (r.unsupported)
		snprintf(why, sizeof(p->unsupported[0]),
			 "an %s rule selects by %s, which the fast path's route lookup cannot "
			 "reproduce",
			 frh->family == AF_INET6 ? "IPv6" : "IPv4", r.unsupported);
	else if (r.suppress && frh->family == AF_INET6)
		snprintf(why, sizeof(p->unsupported[0]),
			 "an IPv6 rule has suppress_prefixlength or suppress_ifgroup, which the "
			 "kernel's route lookup for BPF ignores for IPv6");
	else if (r.unknown)
		snprintf(why, sizeof(p->unsupported[0]),
			 "an %s rule has a selector unknown to nft-offload (attribute %d)",
			 frh->family == AF_INET6 ? "IPv6" : "IPv4", r.unknown);
	return 0;
}

int nfo_policy_read(struct nfo_nl *nl, struct nfo_policy *p)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	memset(p, 0, sizeof(*p));
	nlh->nlmsg_type = RTM_GETRULE;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = AF_UNSPEC;
	return nfo_nl_dump(nl, nlh, rule_cb, p);
}

const char *nfo_policy_unsupported(const struct nfo_policy *p, int family)
{
	const char *why = p->unsupported[family == AF_INET6];

	return why[0] ? why : NULL;
}
