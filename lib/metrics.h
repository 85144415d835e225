/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus metrics: the text exposition format, rendered from the pinned
 * maps (the same figures status and stats show), for the metrics command,
 * the daemon's HTTP listener and node_exporter's textfile collector.
 */
#ifndef NFO_METRICS_H
#define NFO_METRICS_H

#include <stdio.h>

#include "dataplane.h"

/* Write every metric to f. Errors are -errno of reading a map. */
int nfo_metrics_render(struct nfo_dp *dp, FILE *f);

/* Render into a malloc'ed buffer; *len its length. */
int nfo_metrics_render_buf(struct nfo_dp *dp, char **buf, size_t *len);

#endif
