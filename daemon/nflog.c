// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <netinet/in.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "nflog.h"

static void config_req(struct nfo_nl_batch *b, uint16_t group, uint8_t cmd, uint32_t copy)
{
	struct nlmsghdr *nlh = nfo_nl_batch_add(b, (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG,
						 NLM_F_ACK);
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));

	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(group);
	if (cmd) {
		struct nfulnl_msg_config_cmd c = { .command = cmd };

		mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(c), &c);
		return;
	}
	struct nfulnl_msg_config_mode m = { .copy_range = htonl(copy),
					    .copy_mode = NFULNL_COPY_PACKET };

	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(m), &m);
	/* One packet per message, sent at once: latency, not throughput. */
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(1));
}

static int config_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	int *first = arg;

	if (err && !*first)
		*first = err;
	return 0;
}

int nfo_nflog_open(struct nfo_nl *nl, uint16_t group, uint32_t copy)
{
	struct nfo_nl_batch b;
	int err, res = 0;

	err = nfo_nl_open(nl, NETLINK_NETFILTER, 0);
	if (err)
		return err;
	err = nfo_nl_batch_init(&b, nl, 4096, false);
	if (!err) {
		config_req(&b, group, NFULNL_CFG_CMD_BIND, 0);
		err = nfo_nl_batch_flush(&b, config_cb, &res);
		if (!err && !res) {
			config_req(&b, group, 0, copy);
			err = nfo_nl_batch_flush(&b, config_cb, &res);
		}
		nfo_nl_batch_free(&b);
	}
	err = err ?: res;
	if (err)
		nfo_nl_close(nl);
	return err;
}

struct pkt_attrs {
	const struct nlattr *payload;
};

static int pkt_attr_cb(const struct nlattr *attr, void *data)
{
	struct pkt_attrs *p = data;

	if (mnl_attr_get_type(attr) == NFULA_PAYLOAD)
		p->payload = attr;
	return MNL_CB_OK;
}

static int ports(struct nfo_tuple *t, const uint8_t *l4, size_t len)
{
	if (len < 4)
		return -EINVAL;
	memcpy(&t->sport, l4, 2);
	memcpy(&t->dport, l4 + 2, 2);
	return 0;
}

int nfo_nflog_tuple(const struct nlmsghdr *nlh, struct nfo_tuple *t)
{
	struct pkt_attrs p = {};
	const uint8_t *pkt;
	size_t len;

	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
		return -EINVAL;
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), pkt_attr_cb, &p);
	if (!p.payload)
		return -EINVAL;
	pkt = mnl_attr_get_payload(p.payload);
	len = mnl_attr_get_payload_len(p.payload);
	memset(t, 0, sizeof(*t));
	if (len >= sizeof(struct iphdr) && pkt[0] >> 4 == 4) {
		struct iphdr ip;
		size_t hl;

		memcpy(&ip, pkt, sizeof(ip));
		hl = ip.ihl * 4u;
		if (hl < sizeof(ip) || hl > len || (ntohs(ip.frag_off) & 0x1fff))
			return -EINVAL;
		t->family = AF_INET;
		t->l4proto = ip.protocol;
		memcpy(&t->src, &ip.saddr, 4);
		memcpy(&t->dst, &ip.daddr, 4);
		pkt += hl;
		len -= hl;
	} else if (len >= sizeof(struct ipv6hdr) && pkt[0] >> 4 == 6) {
		struct ipv6hdr ip6;

		/* Extension headers: left to conntrack events and dumps. */
		memcpy(&ip6, pkt, sizeof(ip6));
		t->family = AF_INET6;
		t->l4proto = ip6.nexthdr;
		memcpy(&t->src, &ip6.saddr, 16);
		memcpy(&t->dst, &ip6.daddr, 16);
		pkt += sizeof(ip6);
		len -= sizeof(ip6);
	} else {
		return -EINVAL;
	}
	if (t->l4proto != IPPROTO_TCP && t->l4proto != IPPROTO_UDP)
		return -EINVAL;
	return ports(t, pkt, len);
}

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	struct nfo_nflog_route *r = data;

	if (mnl_attr_get_payload_len(attr) < 4)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(attr)) {
	case NFULA_MARK:
		r->mark = ntohl(mnl_attr_get_u32(attr));
		break;
	case NFULA_IFINDEX_INDEV:
		r->indev = ntohl(mnl_attr_get_u32(attr));
		break;
	case NFULA_IFINDEX_OUTDEV:
		r->outdev = ntohl(mnl_attr_get_u32(attr));
		break;
	}
	return MNL_CB_OK;
}

void nfo_nflog_route(const struct nlmsghdr *nlh, struct nfo_nflog_route *r)
{
	memset(r, 0, sizeof(*r));
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), route_attr_cb, r);
}
