/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The run record: which daemon serves a pin directory, kept outside it (in
 * /run/nft-offload/, one file per network namespace and pin directory) so that
 * 'stop' finds the daemon even when the pins are gone.
 */
#ifndef NFO_RUNREC_H
#define NFO_RUNREC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define NFO_RUN_DIR "/run/nft-offload"

struct nfo_runrec {
	pid_t pid;
	uint32_t mark;
	bool events_set; /* it set nf_conntrack_events 2 -> 1 */
};

int nfo_runrec_write(const char *pin_dir, const struct nfo_runrec *r);
/* -ENOENT when there is no record for this pin directory here. */
int nfo_runrec_read(const char *pin_dir, struct nfo_runrec *r);
void nfo_runrec_remove(const char *pin_dir);

#endif
