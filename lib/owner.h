/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One owner per device: which nft-offload instance a device's fast-path
 * program belongs to. Every instance's programs use its own devices map, and
 * its state map records that map's id and the instance's pin directory, so a
 * program on a hook leads to the instance that attached it.
 */
#ifndef NFO_OWNER_H
#define NFO_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nfo_owner {
	bool present; /* a program of nft-offload on the device's tc ingress or XDP hook */
	bool ours; /* it uses the devices map we asked about */
	bool xdp; /* found on the XDP hook (else tc ingress) */
	uint32_t pid; /* the owner's daemon, 0 if none runs */
	char pin_dir[128]; /* the owner's pin directory, "" if unknown */
};

/* The id of a BPF map (0 on error). */
uint32_t nfo_map_id(int map_fd);
/*
 * Who owns the nft-offload program on ifindex (both hooks looked at; a
 * program that is not ours is reported first). 0 or -errno.
 */
int nfo_owner_query(uint32_t ifindex, uint32_t our_devs_map_id, struct nfo_owner *o);
/* "another nft-offload instance (pid 123, pin dir /x)" */
void nfo_owner_str(const struct nfo_owner *o, char *buf, size_t len);

/* Is pid an nft-offload daemon (not us)? */
bool nfo_pid_is_daemon(uint32_t pid);

#endif
