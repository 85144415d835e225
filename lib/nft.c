// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <nftables/libnftables.h>

#include "log.h"
#include "nft.h"

static int appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off)
		return -ENOSPC;
	*off += n;
	return 0;
}

/*
 * One rule per direction: the bit of a direction is set by the first
 * established packet of that direction the ruleset accepted, and the log
 * statement tells the daemon at once (once per direction and connection,
 * thanks to the bit test), whether or not conntrack reports events for the
 * entry.
 */
static int render_dir_rule(const struct nfo_nft_spec *s, const char *selector, const char *dir,
			   uint32_t bit, char *buf, size_t len, size_t *off)
{
	int i, err;

	err = appendf(buf, len, off,
		      "\t\tct direction %s ct state established ct mark & 0x%08x == 0 iifname { ",
		      dir, bit);
	for (i = 0; !err && i < s->ndevices; i++)
		err = appendf(buf, len, off, "%s\"%s\"", i ? ", " : "", s->devices[i]);
	err = err ?: appendf(buf, len, off, " } oifname { ");
	for (i = 0; !err && i < s->ndevices; i++)
		err = appendf(buf, len, off, "%s\"%s\"", i ? ", " : "", s->devices[i]);
	err = err ?: appendf(buf, len, off,
			     " } %s%sct mark set ct mark | 0x%08x log group %u snaplen %u "
			     "queue-threshold 1\n",
			     selector ? selector : "", selector ? " " : "", bit,
			     (unsigned int)s->log_group, NFO_NFT_SNAPLEN);
	return err;
}

static uint32_t orig_bit(uint32_t mark)
{
	return mark ? 1U << (31 - __builtin_clz(mark)) : 0;
}

/*
 * Selectors choose connections by their original direction (as opened): a
 * reply packet does not look like the selector's request ("udp dport 53").
 * The reply rule has none; without the original bit nothing is offloaded.
 */
static int render_rule(const struct nfo_nft_spec *s, const char *selector, char *buf,
		       size_t len, size_t *off)
{
	return render_dir_rule(s, selector, "original", orig_bit(s->mark), buf, len, off);
}

int nfo_nft_render(const struct nfo_nft_spec *s, char *buf, size_t len)
{
	size_t off = 0;
	int i, err;

	err = appendf(buf, len, &off,
		      "table %s %s {\n"
		      "\tcomment \"nft-offload: marks the connections the ruleset accepted; "
		      "managed by nft-offload, do not edit\"\n"
		      "\tchain forward {\n"
		      "\t\ttype filter hook forward priority %d; policy accept;\n"
		      "\t\tmeta l4proto != { tcp, udp } return\n",
		      NFO_NFT_FAMILY, NFO_NFT_TABLE, NFO_NFT_PRIO);
	if (!s->nselectors)
		err = err ?: render_rule(s, NULL, buf, len, &off);
	for (i = 0; !err && i < s->nselectors; i++)
		err = render_rule(s, s->selectors[i], buf, len, &off);
	err = err ?: render_dir_rule(s, NULL, "reply", s->mark & ~orig_bit(s->mark), buf, len,
				     &off);
	return err ?: appendf(buf, len, &off, "\t}\n}\n");
}

static struct nft_ctx *ctx_new(bool dry)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	if (!ctx)
		return NULL;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	nft_ctx_set_dry_run(ctx, dry);
	return ctx;
}

/* nft's error: first line that says "Error", else the first line. */
static void first_error(struct nft_ctx *ctx, char *err, size_t errlen)
{
	const char *e = nft_ctx_get_error_buffer(ctx), *p;
	size_t n;

	if (!err || !errlen)
		return;
	if (!e || !*e) {
		snprintf(err, errlen, "nft refused the table");
		return;
	}
	p = strstr(e, "Error: ");
	p = p ? p + 7 : e;
	n = strcspn(p, "\n");
	snprintf(err, errlen, "%.*s", (int)n, p);
}

static int run(const char *cmd, bool dry, char *err, size_t errlen)
{
	struct nft_ctx *ctx = ctx_new(dry);
	int rc;

	if (!ctx)
		return -ENOMEM;
	rc = nft_run_cmd_from_buffer(ctx, cmd);
	if (rc)
		first_error(ctx, err, errlen);
	nft_ctx_free(ctx);
	return rc ? -EINVAL : 0;
}

int nfo_nft_install(const struct nfo_nft_spec *s, char *err, size_t errlen)
{
	size_t len = 4096 + 1024 * (s->nselectors + s->ndevices);
	char *buf = malloc(len), *cmd = malloc(len + 256);
	int i, rc = -ENOMEM;

	if (!buf || !cmd)
		goto out;
	/* Each selector alone first, so that a bad one is named. */
	for (i = 0; i < s->nselectors; i++) {
		struct nfo_nft_spec one = *s;
		char e[256];

		one.selectors = &s->selectors[i];
		one.nselectors = 1;
		rc = nfo_nft_render(&one, buf, len);
		if (!rc && run(buf, true, e, sizeof(e))) {
			snprintf(err, errlen, "invalid selector '%s': %s", s->selectors[i], e);
			rc = -EINVAL;
			goto out;
		}
	}
	rc = nfo_nft_render(s, buf, len);
	if (rc) {
		snprintf(err, errlen, "ruleset too long");
		goto out;
	}
	/* Create-then-delete makes the replace atomic whether or not it exists. */
	snprintf(cmd, len + 256, "add table %s %s\ndelete table %s %s\n%s", NFO_NFT_FAMILY,
		 NFO_NFT_TABLE, NFO_NFT_FAMILY, NFO_NFT_TABLE, buf);
	rc = run(cmd, false, err, errlen);
out:
	free(buf);
	free(cmd);
	return rc;
}

int nfo_nft_remove(void)
{
	if (!nfo_nft_table_exists())
		return -ENOENT;
	return run("delete table " NFO_NFT_FAMILY " " NFO_NFT_TABLE, false, NULL, 0);
}

bool nfo_nft_table_exists(void)
{
	struct nft_ctx *ctx = ctx_new(false);
	bool ok;

	if (!ctx)
		return false;
	ok = nft_run_cmd_from_buffer(ctx, "list table " NFO_NFT_FAMILY " " NFO_NFT_TABLE) == 0;
	nft_ctx_free(ctx);
	return ok;
}

/* ---- inspection with libnftnl ------------------------------------------ */

static const char *family_str(int f)
{
	switch (f) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_NETDEV:
		return "netdev";
	case NFPROTO_ARP:
		return "arp";
	}
	return "?";
}

int nfo_nft_dump(int msg, nfo_nl_cb cb, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nfo_nl nl;
	int err;

	err = nfo_nl_open(&nl, NETLINK_NETFILTER, 0);
	if (err)
		return err;
	nlh = nftnl_nlmsg_build_hdr(buf, msg, NFPROTO_UNSPEC, NLM_F_DUMP, 0);
	err = nfo_nl_dump(&nl, nlh, cb, arg);
	nfo_nl_close(&nl);
	return err;
}

static int chain_cb(unsigned int idx, const struct nlmsghdr *nlh, int e, void *arg)
{
	struct nfo_nft_report *r = arg;
	struct nftnl_chain *c = nftnl_chain_alloc();
	int family, prio;
	const char *table;

	if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0)
		goto out;
	family = nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY);
	table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
	if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
		goto out;
	if (family == NFPROTO_INET && !strcmp(table, NFO_NFT_TABLE)) {
		r->table_present = true;
		goto out;
	}
	if (family != NFPROTO_INET && family != NFPROTO_IPV4 && family != NFPROTO_IPV6)
		goto out;
	if (nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) != NF_INET_FORWARD)
		goto out;
	prio = (int)nftnl_chain_get_u32(c, NFTNL_CHAIN_PRIO);
	if (prio >= NFO_NFT_PRIO) {
		size_t off = strlen(r->later);

		r->later_chains++;
		if (off < sizeof(r->later) - 1)
			snprintf(r->later + off, sizeof(r->later) - off, "%s%s %s %s (priority %d)",
				 off ? ", " : "", family_str(family), table,
				 nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), prio);
	}
out:
	nftnl_chain_free(c);
	return 0;
}

struct rule_scan {
	uint32_t mark;
	int ct_load, ct_store, imm, opt_in;
	uint32_t cmp_bits, imm_bits, mask_bits, xor_bits; /* constants seen */
};

static uint32_t data_u32(struct nftnl_expr *e, uint16_t attr, bool *ok)
{
	uint32_t len = 0;
	const void *d = nftnl_expr_get(e, attr, &len);
	uint32_t v = 0;

	*ok = d && len == sizeof(v);
	if (*ok)
		memcpy(&v, d, sizeof(v));
	return v;
}

static int expr_cb(struct nftnl_expr *e, void *arg)
{
	struct rule_scan *s = arg;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	bool ok, ok2;
	uint32_t v, x;

	if (!strcmp(name, "ct")) {
		if (nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY) != NFT_CT_MARK)
			return 0;
		if (nftnl_expr_is_set(e, NFTNL_EXPR_CT_SREG))
			s->ct_store++;
		else
			s->ct_load++;
	} else if (!strcmp(name, "cmp")) {
		v = data_u32(e, NFTNL_EXPR_CMP_DATA, &ok);
		if (ok)
			s->cmp_bits |= v;
	} else if (!strcmp(name, "immediate")) {
		v = data_u32(e, NFTNL_EXPR_IMM_DATA, &ok);
		if (ok) {
			s->imm++;
			s->imm_bits |= v;
		}
	} else if (!strcmp(name, "bitwise")) {
		v = data_u32(e, NFTNL_EXPR_BITWISE_MASK, &ok);
		x = data_u32(e, NFTNL_EXPR_BITWISE_XOR, &ok2);
		if (!ok || !ok2)
			return 0;
		if (v == ~s->mark && x == s->mark) {
			s->opt_in++; /* ct mark set ct mark | BIT: the user opts flows in */
			return 0;
		}
		s->mask_bits |= v;
		s->xor_bits |= x;
	}
	return 0;
}

/*
 * Does a rule use our bit? A rule that sets ct mark uses the bits it sets (an
 * immediate value, or the xor of a masked update); a rule that only matches
 * uses the bits it compares or masks out. Matching the whole mark against a
 * value without our bit ("ct mark 0x1") does not count.
 */
static bool uses_bit(const struct rule_scan *s)
{
	if (s->ct_store)
		return (s->imm_bits | s->xor_bits) & s->mark;
	return (s->cmp_bits | (s->mask_bits != 0xffffffff ? s->mask_bits : 0)) & s->mark;
}

struct rules_arg {
	struct nfo_nft_report *r;
	uint32_t mark;
};

static void note(char *buf, size_t len, const char *family, const char *table, const char *chain,
		 uint64_t handle)
{
	size_t off = strlen(buf);

	if (off < len - 1)
		snprintf(buf + off, len - off, "%s%s %s %s handle %llu", off ? ", " : "", family,
			 table, chain, (unsigned long long)handle);
}

static int rule_cb(unsigned int idx, const struct nlmsghdr *nlh, int e, void *arg)
{
	struct rules_arg *ra = arg;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct rule_scan s = { .mark = ra->mark };
	const char *table, *chain, *fam;

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto out;
	table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	fam = family_str(nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY));
	if (nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) == NFPROTO_INET &&
	    !strcmp(table, NFO_NFT_TABLE))
		goto out;
	nftnl_expr_foreach(r, expr_cb, &s);
	if (!s.ct_load && !s.ct_store)
		goto out;
	if (s.opt_in)
		goto out;
	if (uses_bit(&s)) {
		ra->r->mark_conflicts++;
		note(ra->r->conflict, sizeof(ra->r->conflict), fam, table, chain,
		     nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE));
	} else if (s.ct_store && s.imm && !s.ct_load) {
		ra->r->mark_clobbers++;
		note(ra->r->clobber, sizeof(ra->r->clobber), fam, table, chain,
		     nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE));
	}
out:
	nftnl_rule_free(r);
	return 0;
}

int nfo_nft_inspect(uint32_t mark, struct nfo_nft_report *r)
{
	struct rules_arg ra = { .r = r, .mark = mark };
	int err;

	memset(r, 0, sizeof(*r));
	err = nfo_nft_dump(NFT_MSG_GETCHAIN, chain_cb, r);
	if (!err)
		err = nfo_nft_dump(NFT_MSG_GETRULE, rule_cb, &ra);
	return err;
}

struct gen_attrs {
	const struct nlattr *tb[NFTA_GEN_MAX + 1];
};

static int gen_attr_cb(const struct nlattr *attr, void *data)
{
	struct gen_attrs *g = data;
	int type = mnl_attr_get_type(attr);

	if (type <= NFTA_GEN_MAX)
		g->tb[type] = attr;
	return MNL_CB_OK;
}

int nfo_nft_parse_gen(const struct nlmsghdr *nlh, uint32_t *gen, uint32_t *pid)
{
	struct gen_attrs g = {};

	if (nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN))
		return -EINVAL;
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), gen_attr_cb, &g);
	*gen = g.tb[NFTA_GEN_ID] ? ntohl(mnl_attr_get_u32(g.tb[NFTA_GEN_ID])) : 0;
	*pid = g.tb[NFTA_GEN_PROC_PID] ? ntohl(mnl_attr_get_u32(g.tb[NFTA_GEN_PROC_PID])) : 0;
	return 0;
}
