/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few lines every unit test program shares: a check that counts and
 * names what failed, and the summary that decides the exit status.
 */
#ifndef NFO_UNIT_H
#define NFO_UNIT_H

#include <stdio.h>

static int unit_passed, unit_failed;

#define expect(cond, ...)                                         \
	do {                                                      \
		if (cond) {                                       \
			unit_passed++;                            \
		} else {                                          \
			unit_failed++;                            \
			printf("not ok - " __VA_ARGS__);          \
			printf(" (%s:%d)\n", __FILE__, __LINE__); \
		}                                                 \
	} while (0)

static inline int unit_summary(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
