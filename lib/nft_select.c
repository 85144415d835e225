// SPDX-License-Identifier: GPL-2.0-only
/*
 * Selectors must only match: a statement in one (ct mark set, counter, log,
 * a verdict, ...) would run inside nft-offload's chain for every packet of
 * every connection. nft compiles the selector alone into a rule without
 * committing it (dry run), prints the expressions it would send, and every
 * one of them must be a match.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "nft.h"

/* Expressions that only load or compare. */
static const char *const match_exprs[] = {
	"payload", "meta", "ct", "cmp", "lookup", "bitwise", "range", "byteorder", "exthdr",
	"fib", "rt", "socket", "xfrm", "osf", "hash", "numgen", "inner",
};

/* One line of nft's netlink debug output: "  [ name words... ]". NULL if fine. */
static const char *bad_expr(const char *line, char *name, size_t len)
{
	const char *p = line + strspn(line, " ");
	size_t n, i;

	if (strncmp(p, "[ ", 2))
		return NULL;
	p += 2;
	n = strcspn(p, " ]");
	snprintf(name, len, "%.*s", (int)n, p);
	for (i = 0; i < sizeof(match_exprs) / sizeof(match_exprs[0]); i++)
		if (!strcmp(name, match_exprs[i]))
			break;
	if (i == sizeof(match_exprs) / sizeof(match_exprs[0]))
		return "a statement";
	p += n;
	/* Loads are matches; writes ("ct set", "payload write") are not. */
	if (!strncmp(p, " set ", 5) || !strncmp(p, " write ", 7))
		return "a statement";
	/* A lookup with a destination register is a map (vmap: a verdict). */
	if (!strcmp(name, "lookup") && strstr(p, " dreg "))
		return "a map lookup";
	return NULL;
}

int nfo_nft_check_selector(const char *sel, char *err, size_t errlen)
{
	static const char tbl[] = "nft_offload_select_check";
	struct nft_ctx *ctx;
	const char *out, *why = NULL;
	char *cmd = NULL, name[32] = "";
	int rc, rules = 0;

	/* One rule's worth of expression: no second command, no comment. */
	if (strpbrk(sel, ";\n\r#")) {
		snprintf(err, errlen, "invalid selector '%s': a selector is one match expression "
				      "(no ';', '#' or line break)", sel);
		return -EINVAL;
	}
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx || asprintf(&cmd, "add table inet %s\nadd chain inet %s c\nadd rule inet %s c %s\n",
			     tbl, tbl, tbl, sel) < 0) {
		nft_ctx_free(ctx);
		snprintf(err, errlen, "cannot check selector '%s': out of memory", sel);
		return -ENOMEM;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	nft_ctx_set_dry_run(ctx, true);
	nft_ctx_output_set_debug(ctx, NFT_DEBUG_NETLINK);
	rc = nft_run_cmd_from_buffer(ctx, cmd);
	if (rc) {
		const char *e = nft_ctx_get_error_buffer(ctx), *p = e ? strstr(e, "Error: ") : NULL;

		p = p ? p + 7 : (e && *e ? e : "nft refused it");
		snprintf(err, errlen, "invalid selector '%s': %.*s", sel, (int)strcspn(p, "\n"), p);
		rc = -EINVAL;
		goto out;
	}
	out = nft_ctx_get_output_buffer(ctx);
	while (out && *out && !why) {
		size_t n = strcspn(out, "\n");
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)n, out);
		if (!strncmp(line, "inet ", 5) && strstr(line, tbl))
			rules++;
		else
			why = bad_expr(line, name, sizeof(name));
		out += n + (out[n] == '\n');
	}
	if (!why && rules != 1)
		why = "more than one rule";
	if (why) {
		snprintf(err, errlen, "selector '%s' is not only a match: it contains %s (%s); "
				      "selectors may only match packets, never act on them",
			 sel, why, name[0] ? name : "?");
		rc = -EINVAL;
	}
out:
	free(cmd);
	nft_ctx_free(ctx);
	return rc;
}
