/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Building flow map keys and entries from tuples, and printing tuples.
 * Pure functions: no I/O, usable from the daemon, the CLI and the tests.
 */
#ifndef NFO_FLOW_H
#define NFO_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfo_abi.h"

union nfo_addr {
	uint32_t ip;
	uint32_t ip6[4];
	uint8_t b[16];
};

/* One direction of a connection, addresses and ports in network order. */
struct nfo_tuple {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t l4proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t sport;
	uint16_t dport;
	union nfo_addr src;
	union nfo_addr dst;
};

/* The map key of either family. */
union nfo_key {
	struct nfo_key4 k4;
	struct nfo_key6 k6;
};

/* Swap source and destination: the tuple a reply packet carries. */
void nfo_tuple_invert(struct nfo_tuple *out, const struct nfo_tuple *in);
bool nfo_tuple_equal(const struct nfo_tuple *a, const struct nfo_tuple *b);

/*
 * Key and entry of one direction: a packet arrives on ifindex looking like
 * `in` and must leave looking like `out` (same family and protocol).
 */
void nfo_flow_build(const struct nfo_tuple *in, const struct nfo_tuple *out,
		    uint32_t ifindex, uint32_t ct_id, uint8_t dir, union nfo_key *key,
		    struct nfo_flow *flow);

/* The key as a tuple plus ingress ifindex (for listing map contents). */
void nfo_key_tuple(const union nfo_key *key, uint8_t family, struct nfo_tuple *t,
		   uint32_t *ifindex);
/* The tuple a packet leaves with, from the key and entry. */
void nfo_flow_out_tuple(const struct nfo_tuple *in, const struct nfo_flow *flow,
			struct nfo_tuple *out);

/*
 * The connection an entry belongs to, named by its ORIGINAL tuple: the key
 * itself for the original direction, the inverse of what a reply leaves as
 * for the reply direction. Conntrack ids are 32-bit hashes and do collide
 * (about once per 100,000 connections): pair directions by this, not by id.
 */
void nfo_entry_orig(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		    struct nfo_tuple *orig);
/* A hash of a tuple, for indexes. */
uint64_t nfo_tuple_hash(const struct nfo_tuple *t);

/* Ones'-complement difference of replacing old with new (n 16-bit words). */
uint32_t nfo_csum_diff(const void *old, const void *new, size_t bytes);

/* "198.18.0.1" / "2001:db8::1"; buf at least 46 bytes. */
const char *nfo_addr_str(uint8_t family, const union nfo_addr *a, char *buf, size_t len);
/* Parse an address of either family; returns the family or 0. */
int nfo_addr_parse(const char *s, union nfo_addr *a);
const char *nfo_proto_str(uint8_t l4proto);

#endif
