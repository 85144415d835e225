// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload explain: walk, for one connection, the checks that decide
 * whether it is offloaded, and say which one stops it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/netlink.h>

#include "admission.h"
#include "cli.h"
#include "config.h"
#include "ct.h"
#include "nft.h"
#include "output.h"
#include "policy.h"
#include "rtnl.h"
#include "xfrm.h"

struct query {
	uint8_t family;
	uint8_t l4proto; /* 0: either */
	union nfo_addr a, b;
	uint16_t aport, bport; /* network order, 0: any */
};

/* "1.2.3.4", "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]:80" */
static int parse_endpoint(const char *s, union nfo_addr *addr, uint16_t *port)
{
	char buf[128], *p;
	const char *host = buf;
	unsigned long v;
	int fam;

	if (strlen(s) >= sizeof(buf))
		return 0; /* never parse a cut-off copy */
	snprintf(buf, sizeof(buf), "%s", s);
	*port = 0;
	if (buf[0] == '[') {
		p = strchr(buf, ']');
		if (!p)
			return 0;
		*p = '\0';
		host = buf + 1;
		if (p[1] == ':') {
			v = strtoul(p + 2, &p, 10);
			if (*p || !v || v > 65535)
				return 0;
			*port = htons(v);
		} else if (p[1]) {
			return 0;
		}
	} else if ((p = strchr(buf, ':')) && !strchr(p + 1, ':')) {
		*p = '\0';
		v = strtoul(p + 1, &p, 10);
		if (*p || !v || v > 65535)
			return 0;
		*port = htons(v);
	}
	fam = nfo_addr_parse(host, addr);
	return fam;
}

/* Does it look like an endpoint (so not a protocol name)? */
static bool fa_probe(const char *s)
{
	union nfo_addr a;
	uint16_t p;

	return parse_endpoint(s, &a, &p) != 0;
}

static bool addr_eq(uint8_t fam, const union nfo_addr *x, const union nfo_addr *y)
{
	return !memcmp(x, y, fam == AF_INET ? 4 : 16);
}

/* Does a tuple carry the query's endpoints, in either orientation? */
static bool tuple_match(const struct query *q, const struct nfo_tuple *t)
{
	if (t->family != q->family || (q->l4proto && t->l4proto != q->l4proto))
		return false;
	if (addr_eq(q->family, &t->src, &q->a) && addr_eq(q->family, &t->dst, &q->b) &&
	    (!q->aport || t->sport == q->aport) && (!q->bport || t->dport == q->bport))
		return true;
	return addr_eq(q->family, &t->src, &q->b) && addr_eq(q->family, &t->dst, &q->a) &&
	       (!q->bport || t->sport == q->bport) && (!q->aport || t->dport == q->aport);
}

struct found_flow {
	uint64_t entries; /* of the family's map, both directions */
	struct query *q;
	int n;
	union nfo_key key;
	struct nfo_flow flow;
	uint8_t family;
};

static int flow_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		   void *arg)
{
	struct found_flow *ff = arg;
	struct nfo_tuple t;
	uint32_t ifindex;

	ff->entries++;
	nfo_key_tuple(key, family, &t, &ifindex);
	if (!tuple_match(ff->q, &t))
		return 0;
	if (!ff->n++ || flow->dir == NFO_DIR_ORIGINAL) {
		ff->key = *key;
		ff->flow = *flow;
		ff->family = family;
	}
	return 0;
}

struct found_ct {
	struct query *q;
	int n;
	struct nfo_ct ct;
};

static int ct_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct found_ct *fc = arg;
	struct nfo_ct ct;

	if (nfo_ct_parse(nlh, &ct))
		return 0;
	if (!tuple_match(fc->q, &ct.orig) && !tuple_match(fc->q, &ct.reply))
		return 0;
	/* Prefer an entry our chain marked, then the most recent. */
	if (!fc->n++ || (ct.mark && !fc->ct.mark))
		fc->ct = ct;
	return 0;
}

static int checks, failed;
static char verdict[512];

static bool step(const char *key, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool step(const char *key, bool ok, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out_obj_open(NULL);
	out_str("check", NULL, key);
	out_bool("ok", NULL, ok);
	out_str("detail", NULL, msg);
	out_text("  [%s] %-18s %s\n", ok ? " ok " : "FAIL", key, msg);
	out_obj_close();
	checks++;
	if (!ok && !failed++)
		snprintf(verdict, sizeof(verdict), "%s", msg);
	return ok;
}

/* What the two mark bits say: both set, or which direction is missing. */
static const char *mark_detail(const struct nfo_ct *ct, uint32_t mark, char *buf, size_t len)
{
	static const char *const why = "(dropped by your rules, or not matching the device list "
				       "or selectors: nft list table inet nft_offload)";
	uint32_t o = nfo_mark_orig(mark), r = nfo_mark_reply(mark);

	if ((ct->mark & mark) == mark)
		snprintf(buf, len, "ct mark 0x%08x has nft-offload's bits 0x%08x: the ruleset "
				   "accepted an established packet of each direction",
			 ct->mark, mark);
	else if (!(ct->status & IPS_SEEN_REPLY))
		snprintf(buf, len, "ct mark 0x%08x lacks bits 0x%08x: no reply seen yet, and only "
				   "established connections are marked",
			 ct->mark, mark);
	else if (ct->mark & o)
		snprintf(buf, len, "ct mark 0x%08x lacks reply bit 0x%08x: reply direction not "
				   "yet accepted by the ruleset %s",
			 ct->mark, r, why);
	else if (ct->mark & r)
		snprintf(buf, len, "ct mark 0x%08x lacks original bit 0x%08x: original direction "
				   "not yet accepted by the ruleset %s",
			 ct->mark, o, why);
	else
		snprintf(buf, len, "ct mark 0x%08x lacks bits 0x%08x: no established packet of "
				   "either direction reached nft-offload's chain %s",
			 ct->mark, mark, why);
	return buf;
}

/* Both directions of the connection found: its entries share the ct id. */
struct found_dirs {
	uint32_t ct_id;
	uint8_t family;
	bool have[2];
	struct nfo_flow flow[2];
};

static int dirs_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		   void *arg)
{
	struct found_dirs *fd = arg;

	if (family == fd->family && flow->ct_id == fd->ct_id) {
		fd->have[flow->dir & 1] = true;
		fd->flow[flow->dir & 1] = *flow;
	}
	return 0;
}

/*
 * Both directions of an offloaded connection: one that has carried nothing
 * for a while (its packets do not reach the fast path as the entry expects:
 * say so instead of calling it offloaded without a word), and who keeps its
 * conntrack entry from expiring.
 */
static void explain_dirs(struct nfo_dp *dp, const struct found_flow *ff)
{
	struct found_dirs fd = { .ct_id = ff->flow.ct_id, .family = ff->family };
	struct timespec ts;
	uint64_t now;
	int dir;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	nfo_dp_flow_foreach(dp, ff->family, dirs_cb, &fd);
	for (dir = 0; dir < 2; dir++) {
		uint64_t age = now > fd.flow[dir].created_ns ? now - fd.flow[dir].created_ns : 0;

		if (!fd.have[dir] || fd.flow[dir].packets || age < 2000000000ULL)
			continue;
		step(dir ? "reply_traffic" : "original_traffic", false,
		     "the %s direction has carried 0 packets in the fast path since it was "
		     "offloaded %llu s ago: its packets do not arrive as its entry expects "
		     "(another ingress device, e.g. a bridge port instead of the bridge, or "
		     "translated before the hook), or it sends nothing",
		     dir ? "reply" : "original", (unsigned long long)(age / 1000000000ULL));
	}
	if (!fd.have[0] || !fd.have[1])
		return;
	if (fd.flow[0].flags & fd.flow[1].flags & NFO_FLOW_CT_HOLD)
		step("conntrack_hold", true,
		     "the fast path holds its conntrack entry (ct-timeout) while packets flow");
	else
		step("conntrack_hold", true,
		     "the daemon holds its conntrack entry, at its idle checks: the fast path "
		     "does not (a kernel without conntrack's BPF functions, keys after a "
		     "bridge's destination NAT, or its lookup of the entry failed)");
}

static int oif_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	if (!err && nlh)
		*(uint32_t *)arg = nfo_route_oif(nlh);
	return 0;
}

static uint32_t route_dev(struct nfo_nl *nl, uint8_t family, const union nfo_addr *a)
{
	struct nfo_nl_batch b;
	uint32_t oif = 0;

	if (nfo_nl_batch_init(&b, nl, 1024, true))
		return 0;
	nfo_route_req(&b, family, a);
	nfo_nl_batch_flush(&b, oif_cb, &oif);
	nfo_nl_batch_free(&b);
	return oif;
}

/* Why a device does not count for admission, or "". */
static const char *dev_note(const struct nfo_admit_dev *ad)
{
	if (!ad->offload)
		return " (not an offload device)";
	return ad->up ? "" : " (an offload device, but down)";
}

int cmd_explain(struct cli *c, int argc, char **argv)
{
	struct query q = {};
	struct found_flow ff = { .q = &q };
	struct found_ct fc = { .q = &q };
	struct nfo_state st = {};
	struct nfo_dp *dp = NULL;
	struct nfo_nl nl;
	char sa[INET6_ADDRSTRLEN], sb[INET6_ADDRSTRLEN], n0[IF_NAMESIZE], n1[IF_NAMESIZE];
	int fa, fb, err, i = 0;
	bool need_state, running;
	const char *why;
	char msg[384];
	uint32_t mark;

	if (argc && (!strcmp(argv[0], "tcp") || !strcmp(argv[0], "udp"))) {
		q.l4proto = !strcmp(argv[0], "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
		i = 1;
	}
	if (argc - i == 3 && !i && !fa_probe(argv[0]))
		return cli_usage_error(c, "protocol must be tcp or udp, not '%s'", argv[0]);
	if (argc - i > 2)
		return cli_usage_error(c, "unexpected argument '%s'", argv[i + 2]);
	if (argc - i != 2)
		return cli_usage_error(c, "needs [tcp|udp] SRC[:PORT] DST[:PORT]");
	fa = parse_endpoint(argv[i], &q.a, &q.aport);
	fb = parse_endpoint(argv[i + 1], &q.b, &q.bport);
	if (!fa || !fb)
		return cli_usage_error(c, "'%s' is not ADDR, ADDR:PORT or [IPV6]:PORT",
				       fa ? argv[i + 1] : argv[i]);
	if (fa != fb)
		return cli_usage_error(c, "both addresses must be of the same family");
	q.family = fa;

	if (nfo_dp_pinned(cli_pin_dir(c)))
		nfo_dp_open_pinned(cli_pin_dir(c), &dp);
	if (dp)
		nfo_dp_state_get(dp, &st);
	running = cli_daemon_alive(&st);
	mark = st.ct_mark ? st.ct_mark : c->cfg.mark;

	out_init(c->json);
	out_obj_open(NULL);
	out_text("%s %s -> %s\n", q.l4proto ? nfo_proto_str(q.l4proto) : "tcp/udp", argv[i],
		 argv[i + 1]);
	out_str("protocol", NULL, q.l4proto ? nfo_proto_str(q.l4proto) : NULL);
	out_str("src", NULL, nfo_addr_str(q.family, &q.a, sa, sizeof(sa)));
	if (q.aport)
		out_u64("sport", NULL, ntohs(q.aport));
	else
		out_null("sport");
	out_str("dst", NULL, nfo_addr_str(q.family, &q.b, sb, sizeof(sb)));
	if (q.bport)
		out_u64("dport", NULL, ntohs(q.bport));
	else
		out_null("dport");
	out_arr_open("checks");

	/* 1. Is it in the fast path already? */
	if (dp)
		nfo_dp_flow_foreach(dp, q.family, flow_cb, &ff);
	if (ff.n) {
		struct nfo_tuple t;
		uint32_t ifindex;

		nfo_key_tuple(&ff.key, ff.family, &t, &ifindex);
		step("fast_path", true, "offloaded (conntrack id %u), %llu packets so far, enters "
					"through %s",
		     ff.flow.ct_id, (unsigned long long)ff.flow.packets, cli_ifname(ifindex, n0));
		if (ff.flow.teardown)
			step("teardown", false, "a FIN or RST was seen: leaving the fast path");
		explain_dirs(dp, &ff);
		if (ff.flow.route_oif)
			step("policy_routing", true, "routed with mark 0x%x, leaves through %s as the "
						     "kernel chose at admission",
			     ff.flow.mark, cli_ifname(ff.flow.route_oif, n1));
		goto done;
	}
	/* 2. Conntrack. */
	err = nfo_nl_open(&nl, NETLINK_NETFILTER, 0);
	if (!err) {
		err = nfo_ct_dump(&nl, 0, 0, ct_cb, &fc);
		nfo_nl_close(&nl);
	}
	if (err) {
		step("conntrack", false, "cannot read conntrack: %s", strerror(-err));
		goto done;
	}
	if (!step("conntrack", fc.n > 0,
		  fc.n ? "entry id %u, %s%s" : "no conntrack entry: this router has not seen "
					     "the connection, or it has ended",
		  fc.ct.id,
		  fc.ct.orig.l4proto == IPPROTO_TCP && fc.ct.has_tcp_state ?
			  nfo_tcp_state_names[fc.ct.tcp_state] :
			  (fc.ct.status & IPS_SEEN_REPLY ? "replied" : "unreplied"),
		  fc.ct.status & IPS_ASSURED ? " [ASSURED]" : ""))
		goto done;

	/* 2b. An xfrm (IPsec) policy: the fast path would bypass it. */
	{
		struct nfo_xfrm x = {};
		const struct nfo_xfrm_pol *pol = NULL;
		char ps[192] = "";

		if (!nfo_xfrm_dump(&x))
			pol = nfo_xfrm_match(&x, &fc.ct.orig, &fc.ct.reply);
		if (pol)
			nfo_xfrm_pol_str(pol, ps, sizeof(ps));
		step("xfrm", !pol,
		     pol ? "an xfrm (IPsec) policy matches (%s): the fast path would bypass it, "
			   "so the connection stays on the kernel path" :
			   "no xfrm (IPsec) policy selects it%s",
		     ps);
		nfo_xfrm_free(&x);
		if (pol)
			goto done;
	}

	/* 3. Marked by our chain in both directions, i.e. accepted while established? */
	if (!step("marked", (fc.ct.mark & mark) == mark, "%s", mark_detail(&fc.ct, mark, msg,
									  sizeof(msg)))) {
		if (!nfo_nft_table_exists())
			step("nft_table", false, "table inet nft_offload does not exist");
		goto done;
	}

	/* 4. The kernel flowtable's admission rules. */
	why = nfo_ct_ineligible(&fc.ct, &need_state);
	if (!step("eligible", !why, why ? "%s" : "%s", why ? why : "TCP established / UDP "
								   "replied, no helper, no "
								   "sequence adjustment"))
		goto done;

	/* 5. Both directions enter through offload devices, no netdev chain on them? */
	if (!nfo_nl_open(&nl, NETLINK_ROUTE, 0)) {
		uint32_t in[2] = { route_dev(&nl, q.family, &fc.ct.orig.src),
				   route_dev(&nl, q.family, &fc.ct.reply.src) };
		struct nfo_admit_dev ad[2] = {};
		enum nfo_admit_dev_why dwhy;
		int dir;

		/* As the daemon sees them: its devices map, and the link state. */
		for (dir = 0; dir < 2; dir++) {
			struct nfo_dev dv = {};
			struct nfo_link l;

			if (dp)
				nfo_dp_dev_get(dp, in[dir], &dv);
			ad[dir].offload = dv.slot != 0;
			ad[dir].up = in[dir] && !nfo_link_get(&nl, in[dir], NULL, &l) && l.up;
			ad[dir].netdev_chain = dv.flags & NFO_DEV_NETDEV_CHAIN;
		}
		nfo_nl_close(&nl);
		dwhy = nfo_admit_devices(ad, &dir);
		step("devices", dwhy != NFO_ADMIT_DEV_NOT_OFFLOAD,
		     "original direction enters through %s%s, reply through %s%s",
		     cli_ifname(in[0], n0), dev_note(&ad[0]), cli_ifname(in[1], n1),
		     dev_note(&ad[1]));
		if (dwhy == NFO_ADMIT_DEV_NOT_OFFLOAD)
			goto done;
		/* 6. Nothing the fast path would skip: netdev chains. */
		if (!step("netdev_chains", dwhy != NFO_ADMIT_DEV_NETDEV_CHAIN,
			  dwhy == NFO_ADMIT_DEV_NETDEV_CHAIN ?
				  "netdev chains hook %s, and offloaded packets would skip them: "
				  "its connections stay on the kernel path (nft-offload status "
				  "names them; allow-netdev-chains offloads it anyway)" :
				  "no netdev chain hooks %s or the other device",
			  cli_ifname(in[dwhy == NFO_ADMIT_DEV_NETDEV_CHAIN ? dir : 1], n0)))
			goto done;
	}
	/* 6. ip rules the fast path follows? */
	if (!nfo_nl_open(&nl, NETLINK_ROUTE, 0)) {
		struct nfo_policy pol;

		err = nfo_policy_read(&nl, &pol);
		nfo_nl_close(&nl);
		why = err ? NULL : nfo_policy_unsupported(&pol, q.family);
		if (why) {
			step("policy_routing", false, "%s: marked connections stay on the kernel path",
			     why);
			goto done;
		}
		if (!err && pol.rules)
			step("policy_routing", true,
			     "%u ip rule%s beyond the defaults: offloaded with the mark and devices "
			     "the kernel routed each direction with, as logged by nft-offload's chain "
			     "(a connection marked without that log stays on the kernel path)",
			     pol.rules, pol.rules == 1 ? "" : "s");
	}
	/* The family's map holds both directions of flow_capacity connections. */
	if (!running)
		step("fast_path", false, "eligible, but no daemon runs to offload it");
	else if (dp && ff.entries >= 2 * nfo_dp_flow_capacity(dp))
		step("fast_path", false,
		     "flow table full (%llu %s connections): it waits on the kernel path for "
		     "room (raise 'flows')",
		     (unsigned long long)nfo_dp_flow_capacity(dp), q.family == AF_INET ? "IPv4" : "IPv6");
	else
		step("fast_path", false,
		     "eligible but not in the fast path yet: the daemon offloads a connection "
		     "within milliseconds of the packet that sets its second mark bit; bits set "
		     "without passing nft-offload's chain (by a rule of yours) wait for the next "
		     "conntrack dump (at most 10 minutes; kill -USR1 the daemon for one now)");
done:
	out_arr_close();
	out_bool("offloaded", NULL, ff.n > 0 && !ff.flow.teardown);
	out_str("verdict", NULL, ff.n ? "offloaded" : verdict);
	out_text("\n%s\n", ff.n ? "offloaded" : verdict);
	out_obj_close();
	out_finish();
	nfo_dp_close(dp);
	/* Usable in scripts: 0 if offloaded, 1 if not. */
	return ff.n > 0 && !ff.flow.teardown ? 0 : 1;
}
