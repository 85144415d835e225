// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "xfrm.h"

static int pol_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	const struct xfrm_userpolicy_info *pi;
	struct nfo_xfrm *x = arg;
	struct nfo_xfrm_pol *p;
	const struct nlattr *a;

	if (err || !nlh || nlh->nlmsg_type != XFRM_MSG_NEWPOLICY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*pi))
		return 0;
	pi = mnl_nlmsg_get_payload(nlh);
	if (pi->dir >= XFRM_POLICY_MAX)
		return 0; /* a socket policy: that socket's own packets only */
	x->total++;
	if (pi->dir == XFRM_POLICY_IN)
		return 0; /* packets for this host only */
	if (x->n == x->cap) {
		int cap = x->cap ? x->cap * 2 : 16;
		struct nfo_xfrm_pol *np = realloc(x->p, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		x->p = np;
		x->cap = cap;
	}
	p = &x->p[x->n];
	memset(p, 0, sizeof(*p));
	mnl_attr_for_each(a, nlh, sizeof(*pi))
		if (mnl_attr_get_type(a) == XFRMA_TMPL)
			p->ntmpl = mnl_attr_get_payload_len(a) / sizeof(struct xfrm_user_tmpl);
	/* Allowed without a template: the packet goes out as it came. */
	if (pi->action == XFRM_POLICY_ALLOW && !p->ntmpl)
		return 0;
	p->family = pi->sel.family;
	p->proto = pi->sel.proto;
	p->prefixlen_s = pi->sel.prefixlen_s;
	p->prefixlen_d = pi->sel.prefixlen_d;
	p->sport = pi->sel.sport;
	p->sport_mask = pi->sel.sport_mask;
	p->dport = pi->sel.dport;
	p->dport_mask = pi->sel.dport_mask;
	memcpy(&p->saddr, &pi->sel.saddr, sizeof(p->saddr));
	memcpy(&p->daddr, &pi->sel.daddr, sizeof(p->daddr));
	p->dir = pi->dir;
	p->action = pi->action;
	x->n++;
	return 0;
}

int nfo_xfrm_dump(struct nfo_xfrm *x)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfo_nl nl;
	int err;

	x->n = x->total = 0;
	err = nfo_nl_open(&nl, NETLINK_XFRM, 0);
	if (err)
		return err;
	nlh->nlmsg_type = XFRM_MSG_GETPOLICY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	err = nfo_nl_dump(&nl, nlh, pol_cb, x);
	nfo_nl_close(&nl);
	return err;
}

void nfo_xfrm_free(struct nfo_xfrm *x)
{
	free(x->p);
	memset(x, 0, sizeof(*x));
}

static bool prefix_match(const union nfo_addr *a, const union nfo_addr *pfx, unsigned int len,
			 unsigned int max)
{
	unsigned int bytes, bits;

	if (len > max)
		len = max;
	bytes = len / 8;
	bits = len % 8;
	if (memcmp(a->b, pfx->b, bytes))
		return false;
	if (!bits)
		return true;
	return !((a->b[bytes] ^ pfx->b[bytes]) & (0xff << (8 - bits)));
}

static bool sel_match(const struct nfo_xfrm_pol *p, const struct nfo_tuple *t)
{
	unsigned int max = t->family == AF_INET ? 32 : 128;

	if (p->family && p->family != t->family)
		return false;
	if (p->proto && p->proto != t->l4proto)
		return false;
	if ((t->sport ^ p->sport) & p->sport_mask)
		return false;
	if ((t->dport ^ p->dport) & p->dport_mask)
		return false;
	return prefix_match(&t->src, &p->saddr, p->prefixlen_s, max) &&
	       prefix_match(&t->dst, &p->daddr, p->prefixlen_d, max);
}

/*
 * The forward policy check sees a packet after destination NAT, the output
 * lookup before and again after source NAT: check each direction with the
 * addresses it arrives with and the ones it leaves with, and any mix of them.
 */
const struct nfo_xfrm_pol *nfo_xfrm_match(const struct nfo_xfrm *x, const struct nfo_tuple *orig,
					  const struct nfo_tuple *reply)
{
	struct nfo_tuple in[2] = { *orig, *reply }, out[2], t;
	int i, dir, k;

	if (!x->n)
		return NULL;
	nfo_tuple_invert(&out[0], reply);
	nfo_tuple_invert(&out[1], orig);
	for (i = 0; i < x->n; i++)
		for (dir = 0; dir < 2; dir++)
			for (k = 0; k < 4; k++) {
				t = in[dir];
				if (k & 1) {
					t.src = out[dir].src;
					t.sport = out[dir].sport;
				}
				if (k & 2) {
					t.dst = out[dir].dst;
					t.dport = out[dir].dport;
				}
				if (sel_match(&x->p[i], &t))
					return &x->p[i];
			}
	return NULL;
}

void nfo_xfrm_pol_str(const struct nfo_xfrm_pol *p, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN] = "any", d[INET6_ADDRSTRLEN] = "any";
	int af = p->family ? p->family : AF_INET;

	if (p->prefixlen_s)
		inet_ntop(af, &p->saddr, s, sizeof(s));
	if (p->prefixlen_d)
		inet_ntop(af, &p->daddr, d, sizeof(d));
	snprintf(buf, len, "dir %s src %s/%u dst %s/%u%s%s action %s%s",
		 p->dir == XFRM_POLICY_FWD ? "fwd" : "out", s, p->prefixlen_s, d, p->prefixlen_d,
		 p->proto ? " proto " : "",
		 p->proto == IPPROTO_TCP ? "tcp" : p->proto == IPPROTO_UDP ? "udp" :
		 p->proto ? "other" : "",
		 p->action == XFRM_POLICY_BLOCK ? "block" : "allow",
		 p->ntmpl ? " (encrypts: tmpl)" : "");
}

int nfo_xfrm_events_open(struct nfo_nl *nl)
{
	return nfo_nl_open(nl, NETLINK_XFRM, XFRMGRP_POLICY);
}
