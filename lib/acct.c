// SPDX-License-Identifier: GPL-2.0-only
/* Accounting: true per-connection totals, per-host totals, conntrack lines. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include "acct.h"

bool nfo_acct_ct_enabled(void)
{
	char c = '0';
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_acct", "r");

	if (!f)
		return false;
	if (fread(&c, 1, 1, f) != 1)
		c = '0';
	fclose(f);
	return c == '1';
}

int nfo_acct_take(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		  struct nfo_flow *flow)
{
	return nfo_dp_flow_take(dp, family, key, flow);
}

void nfo_acct_host_key(const struct nfo_tuple *orig, struct nfo_host_key *hk)
{
	memset(hk, 0, sizeof(*hk));
	hk->family = orig->family;
	if (orig->family == AF_INET)
		hk->addr[0] = orig->src.ip;
	else
		memcpy(hk->addr, orig->src.ip6, sizeof(hk->addr));
}

int nfo_acct_host_add(struct nfo_dp *dp, const struct nfo_leaving *l)
{
	struct nfo_host h = {};
	int dir, err;

	err = nfo_dp_host_get(dp, &l->host, &h);
	if (err && err != -ENOENT)
		return err;
	for (dir = 0; dir < 2; dir++) {
		h.packets[dir] += l->packets[dir];
		h.bytes[dir] += l->bytes[dir];
	}
	h.flows += l->flows;
	return nfo_dp_host_set(dp, &l->host, &h);
}

int nfo_acct_leaving_push(struct nfo_dp *dp, const struct nfo_leaving *l)
{
	return nfo_dp_leaving_push(dp, l);
}

int nfo_acct_evict_entry(struct nfo_dp *dp, uint8_t family, const union nfo_key *key)
{
	struct nfo_leaving l = {};
	struct nfo_tuple orig;
	struct nfo_flow f;
	int err;

	err = nfo_acct_take(dp, family, key, &f);
	if (err)
		return err;
	nfo_entry_orig(family, key, &f, &orig);
	nfo_acct_host_key(&orig, &l.host);
	/* The connection counts once, with its ORIGINAL entry. */
	l.flows = f.dir == NFO_DIR_ORIGINAL;
	l.packets[f.dir & 1] = f.packets;
	l.bytes[f.dir & 1] = f.bytes;
	return nfo_acct_leaving_push(dp, &l) ? -E2BIG : 0;
}

int nfo_acct_leaving_pop(struct nfo_dp *dp, struct nfo_leaving *l)
{
	return nfo_dp_leaving_pop(dp, l);
}

struct dump_arg {
	nfo_acct_ct_cb cb;
	void *arg;
};

static int top_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= CTA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int dump_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	const struct nlattr *tb[CTA_MAX + 1] = {};
	struct dump_arg *a = arg;
	struct nfo_acct_ct e = {};

	(void)idx;
	if (err || nfo_ct_parse(nlh, &e.ct))
		return 0;
	if (e.ct.orig.l4proto != IPPROTO_TCP && e.ct.orig.l4proto != IPPROTO_UDP)
		return 0;
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), top_attr_cb, tb);
	if (tb[CTA_USE])
		e.use = ntohl(mnl_attr_get_u32(tb[CTA_USE]));
	e.counters = tb[CTA_COUNTERS_ORIG] && tb[CTA_COUNTERS_REPLY];
	return a->cb(&e, a->arg);
}

int nfo_acct_ct_dump(uint32_t mark, uint32_t mask, nfo_acct_ct_cb cb, void *arg)
{
	struct dump_arg a = { cb, arg };
	struct nfo_nl nl;
	int err;

	err = nfo_nl_open(&nl, NETLINK_NETFILTER, 0);
	if (err)
		return err;
	nfo_nl_set_rcvbuf(&nl, 4 << 20);
	err = nfo_ct_dump(&nl, mark, mask, dump_cb, &a);
	nfo_nl_close(&nl);
	return err;
}

static void tuple_part(FILE *f, const struct nfo_tuple *t, bool counters, uint64_t packets,
		       uint64_t bytes)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	fprintf(f, "src=%s dst=%s sport=%u dport=%u ", nfo_addr_str(t->family, &t->src, s, sizeof(s)),
		nfo_addr_str(t->family, &t->dst, d, sizeof(d)), ntohs(t->sport), ntohs(t->dport));
	if (counters)
		fprintf(f, "packets=%llu bytes=%llu ", (unsigned long long)packets,
			(unsigned long long)bytes);
}

void nfo_acct_ct_line(FILE *f, const struct nfo_acct_ct *e, const uint64_t *fp_packets,
		      const uint64_t *fp_bytes)
{
	const struct nfo_ct *ct = &e->ct;
	bool tcp = ct->orig.l4proto == IPPROTO_TCP;
	uint64_t p[2], b[2];
	int dir;

	for (dir = 0; dir < 2; dir++) {
		p[dir] = ct->packets[dir] + (fp_packets ? fp_packets[dir] : 0);
		b[dir] = ct->bytes[dir] + (fp_bytes ? fp_bytes[dir] : 0);
	}
	fprintf(f, "%-8s %u %-8s %u %u ", ct->orig.family == AF_INET ? "ipv4" : "ipv6",
		ct->orig.family, tcp ? "tcp" : "udp", ct->orig.l4proto, ct->timeout);
	if (tcp && ct->has_tcp_state)
		fprintf(f, "%s ", nfo_tcp_state_names[ct->tcp_state]);
	tuple_part(f, &ct->orig, e->counters, p[0], b[0]);
	if (!(ct->status & IPS_SEEN_REPLY))
		fprintf(f, "[UNREPLIED] ");
	tuple_part(f, &ct->reply, e->counters, p[1], b[1]);
	if (fp_packets || (ct->status & IPS_OFFLOAD))
		fprintf(f, "[OFFLOAD] ");
	else if (ct->status & IPS_HW_OFFLOAD)
		fprintf(f, "[HW_OFFLOAD] ");
	else if (ct->status & IPS_ASSURED)
		fprintf(f, "[ASSURED] ");
	if (ct->has_mark)
		fprintf(f, "mark=%u ", ct->mark);
	if (ct->zone)
		fprintf(f, "zone=%u ", ct->zone);
	fprintf(f, "use=%u\n", e->use);
}
