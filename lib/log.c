// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "log.h"

enum nfo_log_level nfo_log_level_now = NFO_LOG_INFO;
static int log_timestamps;
static int libbpf_debug;

void nfo_log_set_libbpf_debug(int on)
{
	libbpf_debug = on;
}

void nfo_log_set_level(enum nfo_log_level level)
{
	nfo_log_level_now = level;
}

enum nfo_log_level nfo_log_get_level(void)
{
	return nfo_log_level_now;
}

void nfo_log_set_timestamps(int on)
{
	log_timestamps = on;
}

static void vlog(enum nfo_log_level level, const char *fmt, va_list ap)
{
	static const char *const prefix[] = {
		[NFO_LOG_ERR] = "error: ",
		[NFO_LOG_WARN] = "warning: ",
		[NFO_LOG_INFO] = "",
		[NFO_LOG_DEBUG] = "debug: ",
	};
	char buf[1024];
	size_t n;

	if (level > nfo_log_level_now)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (log_timestamps) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s%s\n", tbuf, ts.tv_nsec / 1000000, prefix[level], buf);
	} else {
		fprintf(stderr, "nft-offload: %s%s\n", prefix[level], buf);
	}
}

void nfo_log(enum nfo_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is verbose; everything it says is detail for -vv. */
	(void)level;
	if (!libbpf_debug)
		return 0;
	vlog(NFO_LOG_DEBUG, fmt, ap);
	return 0;
}

void nfo_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
