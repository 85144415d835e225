// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include "ct.h"

const char *const nfo_tcp_state_names[TCP_CONNTRACK_MAX] = {
	"NONE",	     "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",	     "SYN_SENT2",
};

struct attrs {
	const struct nlattr *tb[CTA_MAX + 1];
	int max;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (type <= a->max)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

static void nested(const struct nlattr *nest, struct attrs *a, int max)
{
	memset(a, 0, sizeof(*a));
	a->max = max;
	mnl_attr_parse_nested(nest, attr_cb, a);
}

static int parse_tuple(const struct nlattr *nest, uint8_t family, struct nfo_tuple *t,
		       uint16_t *zone)
{
	struct attrs tup, ip, proto;

	memset(t, 0, sizeof(*t));
	t->family = family;
	nested(nest, &tup, CTA_TUPLE_MAX);
	if (!tup.tb[CTA_TUPLE_IP] || !tup.tb[CTA_TUPLE_PROTO])
		return -EINVAL;
	nested(tup.tb[CTA_TUPLE_IP], &ip, CTA_IP_MAX);
	if (family == AF_INET) {
		if (!ip.tb[CTA_IP_V4_SRC] || !ip.tb[CTA_IP_V4_DST])
			return -EINVAL;
		t->src.ip = mnl_attr_get_u32(ip.tb[CTA_IP_V4_SRC]);
		t->dst.ip = mnl_attr_get_u32(ip.tb[CTA_IP_V4_DST]);
	} else {
		if (!ip.tb[CTA_IP_V6_SRC] || !ip.tb[CTA_IP_V6_DST])
			return -EINVAL;
		memcpy(&t->src, mnl_attr_get_payload(ip.tb[CTA_IP_V6_SRC]), 16);
		memcpy(&t->dst, mnl_attr_get_payload(ip.tb[CTA_IP_V6_DST]), 16);
	}
	nested(tup.tb[CTA_TUPLE_PROTO], &proto, CTA_PROTO_MAX);
	if (!proto.tb[CTA_PROTO_NUM])
		return -EINVAL;
	t->l4proto = mnl_attr_get_u8(proto.tb[CTA_PROTO_NUM]);
	if (proto.tb[CTA_PROTO_SRC_PORT])
		t->sport = mnl_attr_get_u16(proto.tb[CTA_PROTO_SRC_PORT]);
	if (proto.tb[CTA_PROTO_DST_PORT])
		t->dport = mnl_attr_get_u16(proto.tb[CTA_PROTO_DST_PORT]);
	if (zone && tup.tb[CTA_TUPLE_ZONE])
		*zone = ntohs(mnl_attr_get_u16(tup.tb[CTA_TUPLE_ZONE]));
	return 0;
}

static void parse_counters(const struct nlattr *nest, uint64_t *pkts, uint64_t *bytes)
{
	struct attrs c;

	nested(nest, &c, CTA_COUNTERS_MAX);
	if (c.tb[CTA_COUNTERS_PACKETS])
		*pkts = be64toh(mnl_attr_get_u64(c.tb[CTA_COUNTERS_PACKETS]));
	if (c.tb[CTA_COUNTERS_BYTES])
		*bytes = be64toh(mnl_attr_get_u64(c.tb[CTA_COUNTERS_BYTES]));
}

int nfo_ct_parse(const struct nlmsghdr *nlh, struct nfo_ct *ct)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct attrs a = { .max = CTA_MAX };
	int type = NFNL_MSG_TYPE(nlh->nlmsg_type);

	memset(ct, 0, sizeof(*ct));
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return -EINVAL;
	if (type == IPCTNL_MSG_CT_DELETE)
		ct->event = NFO_CT_DESTROY;
	else if (type == IPCTNL_MSG_CT_NEW)
		ct->event = (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) ? NFO_CT_NEW :
									      NFO_CT_UPDATE;
	else
		return -EINVAL;
	if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6)
		return -EINVAL;
	mnl_attr_parse(nlh, sizeof(*nfg), attr_cb, &a);
	if (!a.tb[CTA_TUPLE_ORIG] || !a.tb[CTA_TUPLE_REPLY])
		return -EINVAL;
	if (parse_tuple(a.tb[CTA_TUPLE_ORIG], nfg->nfgen_family, &ct->orig, &ct->zone) ||
	    parse_tuple(a.tb[CTA_TUPLE_REPLY], nfg->nfgen_family, &ct->reply, NULL))
		return -EINVAL;
	if (a.tb[CTA_ID])
		ct->id = ntohl(mnl_attr_get_u32(a.tb[CTA_ID]));
	if (a.tb[CTA_STATUS])
		ct->status = ntohl(mnl_attr_get_u32(a.tb[CTA_STATUS]));
	if (a.tb[CTA_MARK]) {
		ct->mark = ntohl(mnl_attr_get_u32(a.tb[CTA_MARK]));
		ct->has_mark = true;
	}
	if (a.tb[CTA_TIMEOUT])
		ct->timeout = ntohl(mnl_attr_get_u32(a.tb[CTA_TIMEOUT]));
	if (a.tb[CTA_ZONE])
		ct->zone = ntohs(mnl_attr_get_u16(a.tb[CTA_ZONE]));
	ct->has_helper = a.tb[CTA_HELP] != NULL;
	if (a.tb[CTA_PROTOINFO]) {
		struct attrs pi, tcp;

		nested(a.tb[CTA_PROTOINFO], &pi, CTA_PROTOINFO_MAX);
		if (pi.tb[CTA_PROTOINFO_TCP]) {
			nested(pi.tb[CTA_PROTOINFO_TCP], &tcp, CTA_PROTOINFO_TCP_MAX);
			if (tcp.tb[CTA_PROTOINFO_TCP_STATE]) {
				ct->tcp_state = mnl_attr_get_u8(tcp.tb[CTA_PROTOINFO_TCP_STATE]);
				ct->has_tcp_state = ct->tcp_state < TCP_CONNTRACK_MAX;
			}
		}
	}
	if (a.tb[CTA_COUNTERS_ORIG])
		parse_counters(a.tb[CTA_COUNTERS_ORIG], &ct->packets[0], &ct->bytes[0]);
	if (a.tb[CTA_COUNTERS_REPLY])
		parse_counters(a.tb[CTA_COUNTERS_REPLY], &ct->packets[1], &ct->bytes[1]);
	return 0;
}

static void put_tuple(struct nlmsghdr *nlh, int type, const struct nfo_tuple *t, uint16_t zone)
{
	struct nlattr *tup, *ip, *proto;

	tup = mnl_attr_nest_start(nlh, type);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (t->family == AF_INET) {
		mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, t->src.ip);
		mnl_attr_put_u32(nlh, CTA_IP_V4_DST, t->dst.ip);
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, &t->src);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, &t->dst);
	}
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->l4proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, t->sport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, t->dport);
	mnl_attr_nest_end(nlh, proto);
	if (zone)
		mnl_attr_put_u16(nlh, CTA_TUPLE_ZONE, htons(zone));
	mnl_attr_nest_end(nlh, tup);
}

static struct nlmsghdr *ct_req(struct nfo_nl_batch *b, int msg, const struct nfo_tuple *orig,
			       uint16_t zone)
{
	struct nlmsghdr *nlh = nfo_nl_batch_add(b, (NFNL_SUBSYS_CTNETLINK << 8) | msg, NLM_F_ACK);
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));

	nfg->nfgen_family = orig->family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	put_tuple(nlh, CTA_TUPLE_ORIG, orig, zone);
	if (zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(zone));
	return nlh;
}

void nfo_ct_req_update(struct nfo_nl_batch *b, const struct nfo_tuple *orig, uint16_t zone,
		       const struct nfo_ct_update *u)
{
	struct nlmsghdr *nlh = ct_req(b, IPCTNL_MSG_CT_NEW, orig, zone);

	if (u->set_timeout)
		mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(u->timeout));
	if (u->set_mark) {
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(u->mark & u->mark_mask));
		mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(u->mark_mask));
	}
	if (u->tcp_liberal && orig->l4proto == IPPROTO_TCP) {
		/*
		 * Window tracking must not judge packets it has not seen: be
		 * liberal. And forget the highest ACK seen, which is stale once
		 * packets bypass conntrack: with it, conntrack would hold back
		 * the final RST as out of window and never see the connection
		 * end (the kernel flowtable clears it too, on teardown).
		 */
		struct nf_ct_tcp_flags f = { IP_CT_TCP_FLAG_BE_LIBERAL,
			IP_CT_TCP_FLAG_BE_LIBERAL | IP_CT_TCP_FLAG_MAXACK_SET };
		struct nlattr *pi, *tcp;

		pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
		tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
		mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, sizeof(f), &f);
		mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_REPLY, sizeof(f), &f);
		mnl_attr_nest_end(nlh, tcp);
		mnl_attr_nest_end(nlh, pi);
	}
}

void nfo_ct_req_get(struct nfo_nl_batch *b, const struct nfo_tuple *orig, uint16_t zone)
{
	ct_req(b, IPCTNL_MSG_CT_GET, orig, zone);
}

struct nlmsghdr *nfo_ct_dump_msg(void *buf, uint32_t mark, uint32_t mask)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	if (mask) {
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
		mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(mask));
	}
	return nlh;
}

int nfo_ct_dump(struct nfo_nl *nl, uint32_t mark, uint32_t mask, nfo_nl_cb cb, void *arg)
{
	char buf[NFO_CT_DUMP_MSG_MAX];

	return nfo_nl_dump(nl, nfo_ct_dump_msg(buf, mark, mask), cb, arg);
}

static uint32_t read_sysctl(const char *name, uint32_t dflt)
{
	char path[128];
	unsigned int v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/netfilter/%s", name);
	f = fopen(path, "r");
	if (!f)
		return dflt;
	if (fscanf(f, "%u", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

/* Conntrack's timeouts: TCP by state, then UDP unreplied and UDP stream. */
#define CT_TIMEOUT_UDP TCP_CONNTRACK_MAX
#define CT_TIMEOUT_UDP_STREAM (TCP_CONNTRACK_MAX + 1)

static const struct {
	const char *name;
	uint32_t dflt;
} ct_timeouts[TCP_CONNTRACK_MAX + 2] = {
	[TCP_CONNTRACK_NONE] = { NULL, 120 },
	[TCP_CONNTRACK_SYN_SENT] = { "nf_conntrack_tcp_timeout_syn_sent", 120 },
	[TCP_CONNTRACK_SYN_RECV] = { "nf_conntrack_tcp_timeout_syn_recv", 60 },
	[TCP_CONNTRACK_ESTABLISHED] = { "nf_conntrack_tcp_timeout_established", 432000 },
	[TCP_CONNTRACK_FIN_WAIT] = { "nf_conntrack_tcp_timeout_fin_wait", 120 },
	[TCP_CONNTRACK_CLOSE_WAIT] = { "nf_conntrack_tcp_timeout_close_wait", 60 },
	[TCP_CONNTRACK_LAST_ACK] = { "nf_conntrack_tcp_timeout_last_ack", 30 },
	[TCP_CONNTRACK_TIME_WAIT] = { "nf_conntrack_tcp_timeout_time_wait", 120 },
	[TCP_CONNTRACK_CLOSE] = { "nf_conntrack_tcp_timeout_close", 10 },
	[TCP_CONNTRACK_SYN_SENT2] = { "nf_conntrack_tcp_timeout_syn_sent", 120 },
	[CT_TIMEOUT_UDP] = { "nf_conntrack_udp_timeout", 30 },
	[CT_TIMEOUT_UDP_STREAM] = { "nf_conntrack_udp_timeout_stream", 120 },
};

uint32_t nfo_ct_timeout(uint8_t l4proto, uint8_t tcp_state, bool assured)
{
	/*
	 * Read once a second at most: stop and idle eviction ask for every
	 * connection they hand back, and a million file reads took seconds.
	 */
	static uint32_t cache[TCP_CONNTRACK_MAX + 2];
	static time_t read_at;
	time_t now = time(NULL);
	unsigned int i;

	if (now != read_at) {
		for (i = 0; i < TCP_CONNTRACK_MAX + 2; i++)
			cache[i] = ct_timeouts[i].name ?
					   read_sysctl(ct_timeouts[i].name, ct_timeouts[i].dflt) :
					   ct_timeouts[i].dflt;
		read_at = now;
	}
	if (l4proto == IPPROTO_UDP)
		return cache[assured ? CT_TIMEOUT_UDP_STREAM : CT_TIMEOUT_UDP];
	return tcp_state < TCP_CONNTRACK_MAX ? cache[tcp_state] : 120;
}

const char *nfo_ct_ineligible(const struct nfo_ct *ct, bool *need_state)
{
	*need_state = false;
	if (ct->orig.l4proto != IPPROTO_TCP && ct->orig.l4proto != IPPROTO_UDP)
		return "not TCP or UDP";
	if (!(ct->status & IPS_CONFIRMED) || (ct->status & IPS_DYING))
		return "not confirmed, or dying";
	if (ct->has_helper)
		return "has a conntrack helper (the helper must see every packet)";
	if (ct->status & IPS_SEQ_ADJUST)
		return "needs TCP sequence adjustment";
	if (ct->status & NFO_IPS_NAT_CLASH)
		return "NAT clash entry";
	if (ct->zone)
		return "in a conntrack zone (not supported)";
	if (ct->orig.l4proto == IPPROTO_UDP)
		return (ct->status & IPS_SEEN_REPLY) ? NULL : "UDP without a reply yet";
	if (!ct->has_tcp_state) {
		*need_state = true;
		return "TCP state unknown";
	}
	if (ct->tcp_state != TCP_CONNTRACK_ESTABLISHED)
		return "TCP not in ESTABLISHED";
	if (!(ct->status & IPS_ASSURED))
		return "TCP not assured yet";
	return NULL;
}
