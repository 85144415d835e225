// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "log.h"
#include "nft.h"

int cmd_run(struct cli *c, int argc, char **argv)
{
	char err[512];

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[0]);
	if (c->pin_dir_opt)
		snprintf(c->cfg.pin_dir, sizeof(c->cfg.pin_dir), "%s", c->pin_dir_opt);
	if (nfo_config_validate(&c->cfg, err, sizeof(err)))
		return cli_usage_error(c, "%s", err);
	/* -v: per-flow decisions; -vv: also libbpf's messages. */
	nfo_log_set_level(c->verbose ? NFO_LOG_DEBUG : NFO_LOG_INFO);
	nfo_log_set_libbpf_debug(c->verbose >= 2);
	return nfo_daemon_run(&c->cfg);
}

#define STOP_WAIT_S 120 /* as the systemd unit's TimeoutStopSec */

static bool alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

int cmd_stop(struct cli *c, int argc, char **argv)
{
	const char *dir = cli_pin_dir(c);
	struct nfo_state st = {};
	struct nfo_dp *dp = NULL;
	int rc = 0, i;

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[0]);
	if (nfo_dp_pinned(dir) && nfo_dp_open_pinned(dir, &dp) == 0)
		nfo_dp_state_get(dp, &st);
	if (dp && cli_daemon_alive(&st)) {
		fprintf(stderr, "nft-offload: stopping the daemon (pid %u)\n", st.pid);
		kill(st.pid, SIGTERM);
		/*
		 * It hands every connection back to conntrack first: about 10 s
		 * for a million here. Say why it takes long, and give up late.
		 */
		for (i = 1; i <= STOP_WAIT_S * 20 && alive(st.pid); i++) {
			usleep(50000);
			if (i % 100 == 0 && alive(st.pid))
				fprintf(stderr, "nft-offload: still stopping after %ds (handing "
						"connections back to conntrack)\n", i / 20);
		}
		if (alive(st.pid)) {
			fprintf(stderr, "nft-offload: the daemon (pid %u) did not stop within %ds\n",
				st.pid, STOP_WAIT_S);
			nfo_dp_close(dp);
			return 1;
		}
	}
	/* Whatever is left (daemon killed, or on-exit = keep): remove it here. */
	if (dp && nfo_dp_pinned(dir)) {
		rc = nfo_teardown(dp, dir) ? 1 : 0;
	} else if (!dp) {
		if (nfo_nft_remove() == 0) {
			fprintf(stderr, "nft-offload: removed a leftover table %s %s\n",
				NFO_NFT_FAMILY, NFO_NFT_TABLE);
		} else {
			fprintf(stderr, "nft-offload: not running (nothing pinned in %s); "
					"nothing to stop\n", dir);
			return 0;
		}
	}
	nfo_dp_close(dp);
	if (!rc)
		fprintf(stderr, "nft-offload: stopped; nothing left behind\n");
	return rc;
}
