/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy routing: the ip rules, how logged packets were routed, and whether a
 * connection may be offloaded under them.
 */
#ifndef NFO_DAEMON_IPRULES_H
#define NFO_DAEMON_IPRULES_H

#include "ctx.h"

bool policy_ok(struct daemon *d, struct pending *p);
void note_route(struct daemon *d, const struct nlmsghdr *nlh, const struct nfo_tuple *t);
void policy_refresh(struct daemon *d, bool at_start);
void policy_report(struct daemon *d);
void iprules_changed(struct daemon *d);
void iprules_close(struct daemon *d);

#endif
