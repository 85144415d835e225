// SPDX-License-Identifier: GPL-2.0-only
/* nft-offload metrics */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "metrics.h"

int cmd_metrics(struct cli *c, int argc, char **argv)
{
	struct nfo_dp *dp;
	int err;

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[0]);
	dp = cli_open_pins(c);
	if (!dp)
		return 1;
	err = nfo_metrics_render(dp, stdout);
	nfo_dp_close(dp);
	if (err) {
		fprintf(stderr, "nft-offload: cannot read the metrics: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
