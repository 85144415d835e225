/* SPDX-License-Identifier: GPL-2.0-only */
/* Is conntrackd (conntrack state sync for HA pairs) running in this network namespace? */
#ifndef NFO_CONNTRACKD_H
#define NFO_CONNTRACKD_H

#include <stdbool.h>
#include <sys/types.h>

struct nfo_conntrackd {
	bool running;
	pid_t pid;
	char config[256]; /* its configuration file */
	char mode[16]; /* sync mode: "ftfw", "notrack", "alarm"; "" if it does not sync */
};

/*
 * Look for a conntrackd daemon (not a conntrackd client command) in the
 * caller's network namespace, through /proc. Returns 0 (c->running says
 * whether one was found) or -errno if /proc cannot be read.
 */
int nfo_conntrackd_find(struct nfo_conntrackd *c);

#endif
