/* SPDX-License-Identifier: GPL-2.0-only */
/* A tiny logging module: stderr only; stdout carries data and nothing else. */
#ifndef NFO_LOG_H
#define NFO_LOG_H

enum nfo_log_level { NFO_LOG_ERR, NFO_LOG_WARN, NFO_LOG_INFO, NFO_LOG_DEBUG };

void nfo_log_set_level(enum nfo_log_level level);
enum nfo_log_level nfo_log_get_level(void);
/* Prefix each line with a timestamp (for the daemon). */
void nfo_log_set_timestamps(int on);
/* Route libbpf's messages through this module (shown only when enabled). */
void nfo_log_libbpf(void);
void nfo_log_set_libbpf_debug(int on);

void nfo_log(enum nfo_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...) nfo_log(NFO_LOG_ERR, __VA_ARGS__)
#define pr_warn(...) nfo_log(NFO_LOG_WARN, __VA_ARGS__)
#define pr_info(...) nfo_log(NFO_LOG_INFO, __VA_ARGS__)
/*
 * Debug lines are checked here, before their arguments are evaluated: they may
 * format tuples on paths that run per connection.
 */
extern enum nfo_log_level nfo_log_level_now;
#define pr_debug(...)                                          \
	do {                                                   \
		if (nfo_log_level_now >= NFO_LOG_DEBUG)        \
			nfo_log(NFO_LOG_DEBUG, __VA_ARGS__);   \
	} while (0)

#endif
