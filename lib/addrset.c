// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <sys/socket.h>

#include "addrset.h"

int nfo_addrset_add(struct nfo_addrset *s, uint8_t family, const union nfo_addr *addr,
		    bool *added)
{
	size_t len = family == AF_INET6 ? 16 : 4;
	unsigned int i;

	*added = false;
	/* Linear: a batch has at most a few dozen distinct addresses. */
	for (i = 0; i < s->n; i++)
		if (s->family[i] == family && !memcmp(&s->addr[i], addr, len))
			return (int)i;
	if (s->n == NFO_ADDRSET_MAX)
		return -1;
	s->family[s->n] = family;
	memset(&s->addr[s->n], 0, sizeof(s->addr[s->n]));
	memcpy(&s->addr[s->n], addr, len);
	*added = true;
	return (int)s->n++;
}
