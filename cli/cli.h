/* SPDX-License-Identifier: GPL-2.0-only */
/* The nft-offload command line: shared state of the commands. */
#ifndef NFO_CLI_H
#define NFO_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dataplane.h"
#include "flowtable.h"
#include "instance.h"
#include "owner.h"

enum cli_sort { SORT_NONE, SORT_BYTES, SORT_PACKETS, SORT_IDLE, SORT_AGE };

struct cli {
	const char *cmd;
	bool json;
	int verbose;
	bool json_allowed; /* the command prints JSON */
	int help; /* -h given */
	const char *config_path; /* -c; NULL: the default file if it exists */
	struct nfo_config cfg; /* defaults + config file + the settings' options */
	/* flows / evict */
	struct nfo_filter filter;
	bool filtered;
	enum cli_sort sort;
	bool count_only;
	long limit;
	bool conntrack; /* flows --conntrack */
	/* stats */
	double watch; /* seconds; 0: once */
	long iterations;
	bool all_reasons;
};

/* Errors for bad usage: one line, exit status 2. */
int cli_usage_error(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the pinned state; prints why not and returns NULL. */
struct nfo_dp *cli_open_pins(struct cli *c);
const char *cli_pin_dir(struct cli *c);

/* Device name of an ifindex ("if7" when unknown). */
const char *cli_ifname(uint32_t ifindex, char *buf);

int cmd_run(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_flows(struct cli *c, int argc, char **argv);
int cmd_flush(struct cli *c, int argc, char **argv);
int cmd_evict(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_explain(struct cli *c, int argc, char **argv);
int cmd_stop(struct cli *c, int argc, char **argv);
int cmd_metrics(struct cli *c, int argc, char **argv);

/* Is a daemon alive for this state (pid present and is nft-offload)? */
bool cli_daemon_alive(const struct nfo_state *st);

#endif
