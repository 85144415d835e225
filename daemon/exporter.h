/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's side of metrics: counters only it knows (admission latency,
 * evictions by reason, per-host final counts) published to a pinned map, a
 * minimal HTTP/1.0 responder for GET /metrics in the event loop, and the
 * textfile for node_exporter.
 */
#ifndef NFO_EXPORTER_H
#define NFO_EXPORTER_H

#include <stdint.h>

#include "config.h"
#include "dataplane.h"
#include "flowtable.h"

struct nfo_exporter {
	struct nfo_dp *dp;
	const struct nfo_config *cfg;
	struct nfo_metrics m;
	int lfd, cfd, epfd; /* listener, the one client, the loop's epoll */
	uint64_t cstart_ns; /* when the client connected */
	char req[2048];
	size_t req_len;
	char *out; /* the response being sent */
	size_t out_len, out_off;
	uint64_t next_write_ns; /* of the textfile */
	int file_err; /* last error writing it, logged once */
};

/* Bind the listener if configured (before anything changes): 0 or -errno. */
int nfo_exporter_open(struct nfo_exporter *x, const struct nfo_config *cfg);
/* With the maps loaded: take over the counters a previous daemon left. */
void nfo_exporter_start(struct nfo_exporter *x, struct nfo_dp *dp);
/* Add the listener to the event loop. */
int nfo_exporter_watch(struct nfo_exporter *x, int epfd);
/* Is this fd ours? Then handle its events. */
bool nfo_exporter_owns(const struct nfo_exporter *x, int fd);
void nfo_exporter_handle(struct nfo_exporter *x, int fd, uint32_t events);
/* Once a second: queued final counts, publish, client timeout, textfile. */
void nfo_exporter_tick(struct nfo_exporter *x);
void nfo_exporter_close(struct nfo_exporter *x);

void nfo_exporter_latency(struct nfo_exporter *x, uint64_t ns);
/*
 * A connection leaves the fast path: take its entries out of the map with
 * their final counts, log them (debug) and add them to its host's totals.
 */
void nfo_exporter_leaving(struct nfo_exporter *x, const struct nfo_conn *c, unsigned int why,
			  const char *why_name);

#endif
