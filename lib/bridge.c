// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "bridge.h"

int nfo_bridge_of(struct nfo_nl *nl, const struct nfo_link *l, char *name, size_t len)
{
	struct nfo_link m;
	int err;

	if (!l->master)
		return 0;
	err = nfo_link_get(nl, l->master, NULL, &m);
	if (err)
		return err;
	if (!nfo_link_is_bridge(&m))
		return 0; /* bond, VRF, ...: not ours to judge here */
	snprintf(name, len, "%s", m.name);
	return 1;
}

bool nfo_link_is_bridge(const struct nfo_link *l)
{
	return !strcmp(l->kind, "bridge");
}
