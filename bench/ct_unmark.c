// SPDX-License-Identifier: GPL-2.0-only
/*
 * ct_unmark: clear nft-offload's ct mark bits on every conntrack entry that has one.
 *
 * The benchmark stops and starts nft-offload many times in one namespace.
 * Each start should find the router as a fresh one would: no connection
 * marked for offload before its packets pass the ruleset again. `stop` is
 * meant to clear the bit itself; whatever it leaves behind is counted (and
 * reported) and cleared here, so that one configuration cannot slow the
 * next one's start down. It uses the library's own clearing, so what it
 * counts is exactly what stop should have found.
 *
 *   ct_unmark [--mark BITS]      (inside the router's namespace)
 *
 * Prints the number of entries that still had the bit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowtable.h"

int main(int argc, char **argv)
{
	uint32_t mark = 0xc0000000;
	long n;

	if (argc == 3 && !strcmp(argv[1], "--mark")) {
		mark = strtoul(argv[2], NULL, 0);
	} else if (argc != 1) {
		fprintf(stderr, "usage: ct_unmark [--mark BITS]\n");
		return 2;
	}
	n = nfo_ct_clear_marks(mark);
	if (n < 0) {
		fprintf(stderr, "ct_unmark: %s\n", strerror((int)-n));
		return 1;
	}
	printf("%ld\n", n);
	return 0;
}
