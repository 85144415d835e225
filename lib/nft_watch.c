// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/chain.h>
#include <nftables/libnftables.h>

#include "nft.h"
#include "nft_watch.h"
#include "nl.h"

static const char *hook_name(int family, uint32_t hook)
{
	if (family == NFPROTO_NETDEV)
		return hook == NF_NETDEV_INGRESS ? "ingress" : "egress";
	return "ingress";
}

static void add_dev(struct nfo_netdev_chains *nc, const char *dev, const char *chain)
{
	int i;

	if (nc->n == NFO_NETDEV_CHAINS_MAX || !dev || !*dev)
		return;
	for (i = 0; i < nc->n; i++)
		if (!strcmp(nc->c[i].dev, dev) && !strcmp(nc->c[i].chain, chain))
			return;
	snprintf(nc->c[nc->n].dev, sizeof(nc->c[0].dev), "%s", dev);
	snprintf(nc->c[nc->n].chain, sizeof(nc->c[0].chain), "%s", chain);
	nc->n++;
}

static int chain_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct nfo_netdev_chains *nc = arg;
	struct nftnl_chain *c;
	uint32_t family, hook;
	char what[160];

	if (err || !nlh)
		return 0;
	c = nftnl_chain_alloc();
	if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0 ||
	    !nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
		goto out;
	family = nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY);
	hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
	if (!(family == NFPROTO_NETDEV &&
	      (hook == NF_NETDEV_INGRESS || hook == NF_NETDEV_EGRESS)) &&
	    !(family == NFPROTO_INET && hook == NF_INET_INGRESS))
		goto out;
	snprintf(what, sizeof(what), "%s %s %s (%s)", family == NFPROTO_NETDEV ? "netdev" : "inet",
		 nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
		 hook_name(family, hook));
	/* libnftnl may report a single device both ways: the list wins. */
	if (nftnl_chain_is_set(c, NFTNL_CHAIN_DEV) && !nftnl_chain_is_set(c, NFTNL_CHAIN_DEVICES))
		add_dev(nc, nftnl_chain_get_str(c, NFTNL_CHAIN_DEV), what);
	if (nftnl_chain_is_set(c, NFTNL_CHAIN_DEVICES)) {
		const char *const *devs = nftnl_chain_get_array(c, NFTNL_CHAIN_DEVICES);
		int i;

		for (i = 0; devs && devs[i]; i++)
			add_dev(nc, devs[i], what);
	}
out:
	nftnl_chain_free(c);
	return 0;
}

int nfo_netdev_chains_scan(struct nfo_netdev_chains *nc)
{
	nc->n = 0;
	return nfo_nft_dump(NFT_MSG_GETCHAIN, chain_cb, nc);
}

int nfo_netdev_chains_on(const struct nfo_netdev_chains *nc, const char *dev, char *buf,
			 size_t len)
{
	size_t off = 0;
	int i, n = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < nc->n; i++) {
		if (strcmp(nc->c[i].dev, dev))
			continue;
		n++;
		if (off < len)
			off += snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
					nc->c[i].chain);
	}
	return n;
}

static int gen_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	uint32_t pid;

	if (!err && nlh)
		nfo_nft_parse_gen(nlh, arg, &pid);
	return 0;
}

int nfo_nft_get_gen(uint32_t *gen)
{
	struct nfo_nl_batch b;
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;
	struct nfo_nl nl;
	int err;

	*gen = 0;
	err = nfo_nl_open(&nl, NETLINK_NETFILTER, 0);
	if (err)
		return err;
	err = nfo_nl_batch_init(&b, &nl, 512, false);
	if (!err) {
		nlh = nfo_nl_batch_add(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, NLM_F_ACK);
		g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
		g->nfgen_family = AF_UNSPEC;
		g->version = NFNETLINK_V0;
		err = nfo_nl_batch_flush(&b, gen_cb, gen);
		nfo_nl_batch_free(&b);
	}
	nfo_nl_close(&nl);
	return err ?: (*gen ? 0 : -ENODATA);
}

int nfo_nft_table_text(char *buf, size_t len)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int rc;

	if (!ctx)
		return -ENOMEM;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	/* Counters or limits, if the table ever has some, change by themselves. */
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_STATELESS);
	rc = nft_run_cmd_from_buffer(ctx, "list table " NFO_NFT_FAMILY " " NFO_NFT_TABLE);
	if (!rc)
		snprintf(buf, len, "%s", nft_ctx_get_output_buffer(ctx));
	nft_ctx_free(ctx);
	return rc ? -ENOENT : 0;
}
