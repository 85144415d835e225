// SPDX-License-Identifier: GPL-2.0-only
/* nft-offload flush / evict: connections back to the ruleset, through the flow table core. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int do_evict(struct cli *c, const struct nfo_filter *f)
{
	struct nfo_state st = {};
	struct nfo_dp *dp;
	long n;

	dp = cli_open_pins(c);
	if (!dp)
		return 1;
	nfo_dp_state_get(dp, &st);
	n = nfo_flowtable_evict(dp, f, st.ct_mark);
	nfo_dp_close(dp);
	if (n < 0) {
		fprintf(stderr, "nft-offload: %s failed: %s\n", c->cmd, strerror((int)-n));
		return 1;
	}
	printf("%ld connection%s sent back to the ruleset\n", n, n == 1 ? "" : "s");
	return 0;
}

int cmd_flush(struct cli *c, int argc, char **argv)
{
	struct nfo_filter all = {};

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[0]);
	return do_evict(c, &all);
}

int cmd_evict(struct cli *c, int argc, char **argv)
{
	if (argc)
		return cli_usage_error(c,
				       "unexpected argument '%s' (filters are options: "
				       "--addr, --port, --proto, --dev, --id)",
				       argv[0]);
	if (!c->filtered)
		return cli_usage_error(c, "needs at least one filter (use flush for all)");
	return do_evict(c, &c->filter);
}
