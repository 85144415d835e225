// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "attach.h"
#include "nfo_abi.h"
#include "log.h"
#include "nl.h"

const char *const nfo_mode_names[] = {
	[NFO_MODE_AUTO] = "auto",
	[NFO_MODE_TC] = "tc",
	[NFO_MODE_XDP] = "xdp",
	[NFO_MODE_XDP_GENERIC] = "xdp-generic",
};

const char *nfo_mode_of_flags(uint32_t flags)
{
	if (flags & NFO_DEV_XDP_GENERIC)
		return "xdp-generic";
	if (flags & NFO_DEV_XDP)
		return "xdp";
	if (flags & NFO_DEV_TC)
		return "tc";
	return "-";
}

int nfo_mode_parse(const char *s, enum nfo_mode *m)
{
	int i;

	for (i = 0; i <= NFO_MODE_XDP_GENERIC; i++)
		if (!strcmp(s, nfo_mode_names[i])) {
			*m = i;
			return 0;
		}
	return -EINVAL;
}

/* ---- netdev genl: XDP features ------------------------------------------ */

/*
 * The netdev genl family (kernel 6.3) postdates Debian 12's UAPI headers
 * (6.1): no <linux/netdev.h>, so its numbers are written here.
 */
#define NETDEV_CMD_DEV_GET 1
#define NETDEV_A_DEV_IFINDEX 1
#define NETDEV_A_DEV_XDP_FEATURES 3

static int family_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct nlattr *a;

	if (err || !nlh)
		return 0;
	mnl_attr_for_each(a, nlh, GENL_HDRLEN)
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
			*(int *)arg = mnl_attr_get_u16(a);
	return 0;
}

static int feat_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct nlattr *a;

	if (err || !nlh)
		return 0;
	mnl_attr_for_each(a, nlh, GENL_HDRLEN)
		if (mnl_attr_get_type(a) == NETDEV_A_DEV_XDP_FEATURES)
			*(uint64_t *)arg = mnl_attr_get_u64(a);
	return 0;
}

static void genl_hdr(struct nlmsghdr *nlh, uint8_t cmd)
{
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	g->cmd = cmd;
	g->version = 1;
}

int nfo_xdp_features(uint32_t ifindex, uint64_t *features)
{
	struct nfo_nl_batch b;
	struct nlmsghdr *nlh;
	struct nfo_nl nl;
	int family = 0, err;

	*features = UINT64_MAX;
	err = nfo_nl_open(&nl, NETLINK_GENERIC, 0);
	if (err)
		return err;
	err = nfo_nl_batch_init(&b, &nl, 512, false);
	if (err)
		goto out_nl;
	nlh = nfo_nl_batch_add(&b, GENL_ID_CTRL, NLM_F_ACK);
	genl_hdr(nlh, CTRL_CMD_GETFAMILY);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "netdev");
	err = nfo_nl_batch_flush(&b, family_cb, &family);
	if (err || !family) {
		err = -EOPNOTSUPP;
		goto out;
	}
	nlh = nfo_nl_batch_add(&b, family, NLM_F_ACK);
	genl_hdr(nlh, NETDEV_CMD_DEV_GET);
	mnl_attr_put_u32(nlh, NETDEV_A_DEV_IFINDEX, ifindex);
	err = nfo_nl_batch_flush(&b, feat_cb, features);
	if (!err && *features == UINT64_MAX)
		err = -EOPNOTSUPP;
out:
	nfo_nl_batch_free(&b);
out_nl:
	nfo_nl_close(&nl);
	return err;
}

void nfo_xdp_features_str(uint64_t f, char *buf, size_t len)
{
	static const char *const names[] = { "basic",	   "redirect",	  "ndo-xmit", "xsk-zerocopy",
					     "hw-offload", "rx-sg",	  "ndo-xmit-sg" };
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((f & (1ULL << i)) && off < len)
			off += snprintf(buf + off, len - off, "%s%s", off ? " " : "", names[i]);
	if (!off)
		snprintf(buf, len, "none");
}

/* ---- ownership ---------------------------------------------------------- */

static bool prog_named(uint32_t id, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	bool ours = false;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		ours = !strcmp(info.name, name);
	close(fd);
	return ours;
}

/* ---- tc ----------------------------------------------------------------- */

struct tc_scan {
	int filters;
	bool ours;
	uint32_t prog_id;
	bool clsact;
	uint32_t ifindex;
};

static int tca_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int t = mnl_attr_get_type(a);

	if (t <= TCA_MAX)
		tb[t] = a;
	return MNL_CB_OK;
}

static int filter_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1] = {};
	struct tc_scan *s = arg;

	if (nlh->nlmsg_type != RTM_NEWTFILTER || !tcm->tcm_handle)
		return 0;
	s->filters++;
	mnl_attr_parse(nlh, sizeof(*tcm), tca_cb, tb);
	if (tcm->tcm_handle == NFO_TC_HANDLE && TC_H_MAJ(tcm->tcm_info) >> 16 == NFO_TC_PRIO &&
	    tb[TCA_OPTIONS]) {
		const struct nlattr *o[TCA_BPF_MAX + 1] = {};

		mnl_attr_parse_nested(tb[TCA_OPTIONS], tca_cb, o);
		if (o[TCA_BPF_ID])
			s->prog_id = mnl_attr_get_u32(o[TCA_BPF_ID]);
		/* libbpf names the filter "PROG:[ID]": no privilege needed to read. */
		if (o[TCA_BPF_NAME] && !strncmp(mnl_attr_get_str(o[TCA_BPF_NAME]), "nfo_tc:", 7))
			s->ours = true;
		else if (o[TCA_BPF_ID] && prog_named(mnl_attr_get_u32(o[TCA_BPF_ID]), "nfo_tc"))
			s->ours = true;
	}
	return 0;
}

/* Dump tc objects (RTM_GETTFILTER of one hook, or every RTM_GETQDISC). */
static int tc_dump(uint16_t type, uint32_t ifindex, uint32_t parent, nfo_nl_cb cb, void *arg)
{
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;
	struct nfo_nl nl;
	int err;

	err = nfo_nl_open(&nl, NETLINK_ROUTE, 0);
	if (err)
		return err;
	nlh->nlmsg_type = type;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	err = nfo_nl_dump(&nl, nlh, cb, arg);
	nfo_nl_close(&nl);
	return err;
}

static int count_filters(uint32_t ifindex, uint32_t parent, struct tc_scan *s)
{
	int err = tc_dump(RTM_GETTFILTER, ifindex, parent, filter_cb, s);

	/* No qdisc at all: nothing attached. */
	return err == -EINVAL || err == -ENOENT ? 0 : err;
}

static int qdisc_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1] = {};
	struct tc_scan *s = arg;

	if (nlh->nlmsg_type != RTM_NEWQDISC || (uint32_t)tcm->tcm_ifindex != s->ifindex)
		return 0;
	mnl_attr_parse(nlh, sizeof(*tcm), tca_cb, tb);
	if (tb[TCA_KIND] && (!strcmp(mnl_attr_get_str(tb[TCA_KIND]), "clsact") ||
			     !strcmp(mnl_attr_get_str(tb[TCA_KIND]), "ingress")))
		s->clsact = true;
	return 0;
}

static int find_clsact(struct tc_scan *s)
{
	return tc_dump(RTM_GETQDISC, 0, 0, qdisc_cb, s);
}

int nfo_hook_query(uint32_t ifindex, struct nfo_hook_info *h)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct tc_scan s = { .ifindex = ifindex };
	int err;

	memset(h, 0, sizeof(*h));
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	h->xdp_prog_id = q.prog_id ? q.prog_id : (q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id);
	h->xdp_generic = q.attach_mode == XDP_ATTACHED_SKB;
	h->xdp_ours = h->xdp_prog_id && (prog_named(h->xdp_prog_id, "nfo_xdp") ||
					 prog_named(h->xdp_prog_id, "nfo_xdp_vlan"));
	err = find_clsact(&s);
	if (err)
		return err;
	h->clsact = s.clsact;
	if (s.clsact) {
		err = count_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), &s);
		if (err)
			return err;
	}
	h->tc_filters = s.filters;
	h->tc_ours = s.ours;
	h->tc_prog_id = s.ours ? s.prog_id : 0;
	return 0;
}

int nfo_attach_tc(uint32_t ifindex, int prog_fd, bool force, bool *created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NFO_TC_HANDLE, .priority = NFO_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	struct nfo_hook_info h;
	int err;

	*created = false;
	err = nfo_hook_query(ifindex, &h);
	if (err)
		return err;
	if (h.tc_filters - (h.tc_ours ? 1 : 0) > 0 && !force)
		return -EBUSY;
	err = bpf_tc_hook_create(&hook);
	if (!err)
		*created = true;
	else if (err != -EEXIST)
		return err;
	err = bpf_tc_attach(&hook, &opts);
	if (err && *created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
		*created = false;
	}
	return err;
}

int nfo_detach_tc(uint32_t ifindex, bool destroy_qdisc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NFO_TC_HANDLE, .priority = NFO_TC_PRIO);
	struct tc_scan in = { .ifindex = ifindex }, eg = { .ifindex = ifindex };
	struct nfo_hook_info h;
	int err;

	err = nfo_hook_query(ifindex, &h);
	if (err)
		return err;
	if (h.tc_ours) {
		err = bpf_tc_detach(&hook, &opts);
		if (err && err != -ENOENT)
			return err;
	}
	if (!destroy_qdisc || !h.clsact)
		return 0;
	/* Remove the qdisc we created only if nobody else put filters on it. */
	err = count_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), &in);
	if (!err)
		err = count_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), &eg);
	if (err || in.filters || eg.filters)
		return err;
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	err = bpf_tc_hook_destroy(&hook);
	return err == -ENOENT ? 0 : err;
}

/* ---- XDP ---------------------------------------------------------------- */

int nfo_attach_xdp(uint32_t ifindex, int prog_fd, bool generic, bool force)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	__u32 flags = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	struct nfo_hook_info h;
	int err, old_fd = -1;

	err = nfo_hook_query(ifindex, &h);
	if (err)
		return err;
	if (h.xdp_prog_id && !h.xdp_ours && !force)
		return -EBUSY;
	if (h.xdp_prog_id && h.xdp_generic != generic) {
		/* Another mode: must go before ours can come (brief gap). */
		err = bpf_xdp_detach(ifindex, h.xdp_generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE,
				     NULL);
		if (err)
			return err;
		h.xdp_prog_id = 0;
	}
	if (h.xdp_prog_id) {
		old_fd = bpf_prog_get_fd_by_id(h.xdp_prog_id);
		if (old_fd >= 0) {
			opts.old_prog_fd = old_fd;
			flags |= XDP_FLAGS_REPLACE;
		}
	} else {
		flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
	}
	err = bpf_xdp_attach(ifindex, prog_fd, flags, &opts);
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

int nfo_detach_xdp(uint32_t ifindex, int ours_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	struct nfo_hook_info h;
	int err;

	if (ours_fd >= 0) {
		/* The kernel detaches only if this very program is attached. */
		LIBBPF_OPTS(bpf_xdp_query_opts, q);

		opts.old_prog_fd = ours_fd;
		if (bpf_xdp_query(ifindex, 0, &q))
			return 0;
		err = bpf_xdp_detach(ifindex,
				     (q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
									  XDP_FLAGS_DRV_MODE) |
					     XDP_FLAGS_REPLACE,
				     &opts);
		return err == -EEXIST ? 0 : err; /* someone else's program by now */
	}
	err = nfo_hook_query(ifindex, &h);
	if (err || !h.xdp_ours)
		return err;
	opts.old_prog_fd = bpf_prog_get_fd_by_id(h.xdp_prog_id);
	if (opts.old_prog_fd < 0)
		return 0;
	err = bpf_xdp_detach(ifindex,
			     (h.xdp_generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE) |
				     XDP_FLAGS_REPLACE,
			     &opts);
	close(opts.old_prog_fd);
	return err;
}
