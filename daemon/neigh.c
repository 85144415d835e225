// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "neigh.h"

static int dst_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **dst = data;

	if (mnl_attr_get_type(attr) == NDA_DST)
		*dst = attr;
	return MNL_CB_OK;
}

static int ack_cb(unsigned int idx, const struct nlmsghdr *msg, int err, void *arg)
{
	*(int *)arg = err;
	return 0;
}

/* Kernel-side neigh_event_send(): STALE becomes DELAY, then PROBE. */
static int neigh_use(struct nfo_nl *req, const struct ndmsg *ev, const struct nlattr *dst)
{
	struct nfo_nl_batch b;
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	int err, nerr = 0;

	err = nfo_nl_batch_init(&b, req, 512, false);
	if (err)
		return err;
	/* No NLM_F_CREATE: an entry gone meanwhile is not made up again. */
	nlh = nfo_nl_batch_add(&b, RTM_NEWNEIGH, NLM_F_ACK);
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = ev->ndm_family;
	ndm->ndm_ifindex = ev->ndm_ifindex;
	ndm->ndm_state = NUD_STALE;
	ndm->ndm_flags = NTF_USE;
	mnl_attr_put(nlh, NDA_DST, mnl_attr_get_payload_len(dst), mnl_attr_get_payload(dst));
	err = nfo_nl_batch_flush(&b, ack_cb, &nerr);
	nfo_nl_batch_free(&b);
	return err ? err : nerr;
}

int nfo_neigh_event(struct nfo_nl *req, const struct nlmsghdr *nlh,
		    bool (*is_offload)(void *arg, uint32_t ifindex), void *arg)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *dst = NULL;
	int err;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ndm)))
		return 0;
	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return 0;
	if (!(ndm->ndm_state & NUD_STALE) || (ndm->ndm_flags & NTF_PROXY))
		return 0;
	if (!is_offload(arg, ndm->ndm_ifindex))
		return 0;
	mnl_attr_parse(nlh, sizeof(*ndm), dst_cb, &dst);
	if (!dst)
		return 0;
	err = neigh_use(req, ndm, dst);
	return err ? err : 1;
}
