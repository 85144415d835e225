// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "output.h"

#define MAX_DEPTH 16

static bool json;
static int depth;
static bool first[MAX_DEPTH]; /* no comma needed yet at this level */

void out_init(bool j)
{
	json = j;
	depth = 0;
	first[0] = true;
}

bool out_json(void)
{
	return json;
}

/*
 * Length of the UTF-8 sequence s starts with, 0 if it starts none (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF).
 */
static int utf8_len(const unsigned char *s)
{
	uint32_t cp;
	int n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A JSON string: quotes, backslashes and control characters escaped, valid
 * UTF-8 as it is, and each byte that is not part of valid UTF-8 (interface
 * names and file names may hold any byte) as U+FFFD, so that the document
 * stays valid JSON.
 */
static void json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	int n;

	putchar('"');
	while (*s) {
		unsigned char c = *s;

		n = utf8_len(s);
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else if (!n)
			fputs("\\ufffd", stdout);
		else
			fwrite(s, 1, n, stdout);
		s += n ? n : 1;
	}
	putchar('"');
}

/* Comma and key for the next value in JSON. */
static void json_key(const char *key)
{
	if (!first[depth])
		putchar(',');
	first[depth] = false;
	if (key) {
		json_string(key);
		putchar(':');
	}
}

static void open_(const char *key, char c)
{
	if (!json)
		return;
	json_key(key);
	putchar(c);
	if (depth < MAX_DEPTH - 1)
		depth++;
	first[depth] = true;
}

static void close_(char c)
{
	if (!json)
		return;
	putchar(c);
	if (depth > 0)
		depth--;
	if (!depth)
		putchar('\n');
}

void out_obj_open(const char *key)
{
	open_(key, '{');
}

void out_obj_close(void)
{
	close_('}');
}

void out_arr_open(const char *key)
{
	open_(key, '[');
}

void out_arr_close(void)
{
	close_(']');
}

void out_finish(void)
{
	fflush(stdout);
}

void out_str(const char *key, const char *fmt, const char *v)
{
	if (json) {
		json_key(key);
		if (v)
			json_string(v);
		else
			fputs("null", stdout);
	} else if (fmt) {
		printf(fmt, v ? v : "-");
	}
}

void out_u64(const char *key, const char *fmt, uint64_t v)
{
	if (json) {
		json_key(key);
		printf("%" PRIu64, v);
	} else if (fmt) {
		printf(fmt, (unsigned long long)v); /* text formats use %llu */
	}
}

void out_i64(const char *key, const char *fmt, int64_t v)
{
	if (json) {
		json_key(key);
		printf("%" PRId64, v);
	} else if (fmt) {
		printf(fmt, (long long)v); /* text formats use %lld */
	}
}

void out_bool(const char *key, const char *fmt, bool v)
{
	if (json) {
		json_key(key);
		fputs(v ? "true" : "false", stdout);
	} else if (fmt) {
		printf(fmt, v ? "yes" : "no");
	}
}

void out_null(const char *key)
{
	if (json) {
		json_key(key);
		fputs("null", stdout);
	}
}

void out_text(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

const char *out_human(uint64_t v, char *buf, int len)
{
	static const char units[] = "kMGTPE";
	double d = v;
	int u = -1;

	if (v < 10000) {
		snprintf(buf, len, "%" PRIu64, v);
		return buf;
	}
	while (d >= 1000 && u < 5) {
		d /= 1000;
		u++;
	}
	snprintf(buf, len, d < 10 ? "%.2f%c" : d < 100 ? "%.1f%c" : "%.0f%c", d, units[u]);
	return buf;
}

const char *out_duration(uint64_t ns, char *buf, int len)
{
	uint64_t s = ns / 1000000000ULL;

	if (s < 10 && ns % 1000000000ULL && s < 1)
		snprintf(buf, len, "%.1fs", ns / 1e9);
	else if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%" PRIu64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%" PRIu64 "h", s / 86400, s % 86400 / 3600);
	return buf;
}
