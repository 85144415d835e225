/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ruleset watch: our table, generations and re-validation, set element
 * changes, netdev chains and xfrm policies that keep flows on the kernel path.
 */
#ifndef NFO_DAEMON_RULESET_H
#define NFO_DAEMON_RULESET_H

#include "ctx.h"

void check_ruleset(struct daemon *d, bool at_start);
int install_table(struct daemon *d);
void revalidate_again(struct daemon *d);
void read_nft_events(struct daemon *d);
void check_netdev_chains(struct daemon *d, bool at_start);
void xfrm_start(struct daemon *d);
void read_xfrm_events(struct daemon *d);
bool kept_off(struct daemon *d, const struct pending *p);
void revalidate_adopted(struct daemon *d, uint32_t gen_before);
int ruleset_open(struct daemon *d);
void ruleset_close(struct daemon *d);

#endif
