// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>

#include "cli.h"
#include "daemon.h"
#include "log.h"

int cmd_run(struct cli *c, int argc, char **argv)
{
	char err[512];

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[0]);
	if (nfo_config_validate(&c->cfg, err, sizeof(err)))
		return cli_usage_error(c, "%s", err);
	/* -v: per-flow decisions; -vv: also libbpf's messages. */
	nfo_log_set_level(c->verbose ? NFO_LOG_DEBUG : NFO_LOG_INFO);
	nfo_log_set_libbpf_debug(c->verbose >= 2);
	return nfo_daemon_run(&c->cfg);
}
