/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef NFO_DAEMON_H
#define NFO_DAEMON_H

#include "config.h"

/* nft-offload run: the daemon, in the foreground. Returns the exit status. */
int nfo_daemon_run(struct nfo_config *cfg);

#endif
