// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "flowmem.h"

#define HTAB_BUCKET_BYTES 16 /* struct bucket: hlist_nulls_head + lock */

uint64_t nfo_flows_reserved_bytes(uint64_t flows)
{
	uint64_t buckets = 1;

	while (buckets < 2 * flows)
		buckets <<= 1;
	return 2 * HTAB_BUCKET_BYTES * buckets;
}

uint64_t nfo_map_memlock(int map_fd)
{
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", map_fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

const char *nfo_bytes_str(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double v = bytes;
	unsigned int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	/* One decimal only where it says something (1.5 GiB, not 64.0 MiB). */
	snprintf(buf, len, "%.*f %s", i && v < 10 && v != (int)v ? 1 : 0, v, unit[i]);
	return buf;
}
