// SPDX-License-Identifier: GPL-2.0-only
#include <netinet/in.h>
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

bool nfo_bridge_nf_on(uint8_t family)
{
	const char *path = family == AF_INET6 ? "/proc/sys/net/bridge/bridge-nf-call-ip6tables" :
						"/proc/sys/net/bridge/bridge-nf-call-iptables";
	FILE *f = fopen(path, "r");
	int on = 0;

	if (!f)
		return false; /* no br_netfilter in this kernel */
	if (fscanf(f, "%d", &on) != 1)
		on = 0;
	fclose(f);
	return on != 0;
}

bool nfo_tuple_after_dnat(const struct nfo_tuple *in, const struct nfo_tuple *out,
			  struct nfo_tuple *arrive)
{
	*arrive = *in;
	arrive->dst = out->dst;
	arrive->dport = out->dport;
	return !nfo_tuple_equal(arrive, in);
}
