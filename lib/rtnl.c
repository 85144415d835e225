// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "rtnl.h"

/*
 * <linux/if.h> has it, but cannot be included beside glibc's <net/if.h>
 * (rtnl.h, for IFNAMSIZ), whose list of flags stops before it.
 */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP (1 << 16)
#endif

struct tb {
	const struct nlattr *a[IFLA_MAX + 1 > RTA_MAX + 1 ? IFLA_MAX + 1 : RTA_MAX + 1];
	int max;
};

static int tb_cb(const struct nlattr *attr, void *data)
{
	struct tb *t = data;
	int type = mnl_attr_get_type(attr);

	if (type <= t->max)
		t->a[type] = attr;
	return MNL_CB_OK;
}

int nfo_link_parse(const struct nlmsghdr *nlh, struct nfo_link *l)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct tb t = { .max = IFLA_MAX };

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->netnsid = -1;
	l->ifindex = ifi->ifi_index;
	l->family = ifi->ifi_family;
	l->flags = ifi->ifi_flags;
	l->up = ifi->ifi_flags & IFF_UP;
	l->running = ifi->ifi_flags & IFF_LOWER_UP;
	mnl_attr_parse(nlh, sizeof(*ifi), tb_cb, &t);
	if (t.a[IFLA_IFNAME])
		snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(t.a[IFLA_IFNAME]));
	if (t.a[IFLA_ADDRESS] && mnl_attr_get_payload_len(t.a[IFLA_ADDRESS]) == 6)
		memcpy(l->mac, mnl_attr_get_payload(t.a[IFLA_ADDRESS]), 6);
	if (t.a[IFLA_MTU])
		l->mtu = mnl_attr_get_u32(t.a[IFLA_MTU]);
	if (t.a[IFLA_MASTER])
		l->master = mnl_attr_get_u32(t.a[IFLA_MASTER]);
	if (t.a[IFLA_LINK_NETNSID])
		l->netnsid = (int32_t)mnl_attr_get_u32(t.a[IFLA_LINK_NETNSID]);
	if (t.a[IFLA_LINKINFO]) {
		struct tb li = { .max = IFLA_INFO_MAX };

		mnl_attr_parse_nested(t.a[IFLA_LINKINFO], tb_cb, &li);
		if (li.a[IFLA_INFO_KIND])
			snprintf(l->kind, sizeof(l->kind), "%s",
				 mnl_attr_get_str(li.a[IFLA_INFO_KIND]));
	}
	if (t.a[IFLA_XDP]) {
		struct tb x = { .max = IFLA_XDP_MAX };

		mnl_attr_parse_nested(t.a[IFLA_XDP], tb_cb, &x);
		if (x.a[IFLA_XDP_ATTACHED])
			l->xdp_mode = mnl_attr_get_u8(x.a[IFLA_XDP_ATTACHED]);
		if (x.a[IFLA_XDP_PROG_ID])
			l->xdp_prog_id = mnl_attr_get_u32(x.a[IFLA_XDP_PROG_ID]);
	}
	return 0;
}

struct link_arg {
	struct nfo_link *l;
	int found;
};

static int link_cb(unsigned int idx, const struct nlmsghdr *msg, int err, void *arg)
{
	struct link_arg *la = arg;

	if (err) {
		la->found = err;
		return 0;
	}
	if (!nfo_link_parse(msg, la->l))
		la->found = 1;
	return 0;
}

int nfo_link_get(struct nfo_nl *nl, uint32_t ifindex, const char *name, struct nfo_link *l)
{
	struct link_arg la = { .l = l };
	struct nfo_nl_batch b;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int err;

	err = nfo_nl_batch_init(&b, nl, 1024, true);
	if (err)
		return err;
	nlh = nfo_nl_batch_add(&b, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (!ifindex)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	err = nfo_nl_batch_flush(&b, link_cb, &la);
	nfo_nl_batch_free(&b);
	if (err)
		return err;
	if (la.found < 0)
		return la.found;
	return la.found ? 0 : -ENODEV;
}

void nfo_route_req(struct nfo_nl_batch *b, uint8_t family, const union nfo_addr *dst)
{
	struct nlmsghdr *nlh = nfo_nl_batch_add(b, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = family;
	rtm->rtm_dst_len = family == AF_INET ? 32 : 128;
	mnl_attr_put(nlh, RTA_DST, family == AF_INET ? 4 : 16, dst);
}

uint32_t nfo_route_oif(const struct nlmsghdr *nlh)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct tb t = { .max = RTA_MAX };

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	if (rtm->rtm_type != RTN_UNICAST)
		return 0; /* local, blackhole, unreachable, ... */
	mnl_attr_parse(nlh, sizeof(*rtm), tb_cb, &t);
	return t.a[RTA_OIF] ? mnl_attr_get_u32(t.a[RTA_OIF]) : 0;
}

unsigned int nfo_rtnl_event_groups(void)
{
	/*
	 * Routes and neighbours: the fast path caches each flow's next hop
	 * until the daemon reports a change (nfo_dp_route_gen_bump()), and its
	 * lookup never starts the kernel's reachability probe (daemon/neigh.c).
	 */
	return RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
}
