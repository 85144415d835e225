/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the flow table costs in kernel memory. Each family's flow map is a
 * BPF hash of 2 x flows entries (both directions) whose entries are allocated
 * as connections come (BPF_F_NO_PREALLOC), but whose bucket array, a power
 * of two of 16-byte heads, is reserved up front when the map is created.
 * The kernel refuses a bucket array over 4 GiB (E2BIG): at most 64M
 * connections per family.
 */
#ifndef NFO_FLOWMEM_H
#define NFO_FLOWMEM_H

#include <stddef.h>
#include <stdint.h>

#define NFO_MAX_FLOWS (64ULL << 20)
/* The smallest default (conntrack's limit below it): 1 MiB of buckets. */
#define NFO_MIN_FLOWS 16384ULL

/* Kernel memory both flow maps reserve up front for this capacity. */
uint64_t nfo_flows_reserved_bytes(uint64_t flows);
/* The kernel's own figure for a map: "memlock" in its fdinfo, or 0. */
uint64_t nfo_map_memlock(int map_fd);
/* "64 MiB", "4 GiB", "7 KiB". */
const char *nfo_bytes_str(uint64_t bytes, char *buf, size_t len);

#endif
