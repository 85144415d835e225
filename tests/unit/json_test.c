// SPDX-License-Identifier: GPL-2.0-only
/*
 * JSON strings of lib/output.c, read back by a decoder of our own (RFC 8259
 * string grammar, RFC 3629 UTF-8): control characters, quotes and
 * backslashes escaped; valid UTF-8 kept; every byte outside valid UTF-8
 * replaced by U+FFFD; the document valid whatever bytes a name holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "unit.h"

/* What out_str() printed for key and value, as one JSON document. */
static size_t render(const char *key, const char *val, char *buf, size_t len)
{
	static FILE *f;
	int saved = dup(1);
	size_t n = 0;

	if (!f)
		f = tmpfile();
	if (!f || saved < 0 || ftruncate(fileno(f), 0))
		abort();
	rewind(f);
	fflush(stdout);
	dup2(fileno(f), 1);
	out_init(true);
	out_obj_open(NULL);
	out_str(key, NULL, val);
	out_obj_close();
	out_finish();
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	return n;
}

/* Append code point cp as UTF-8. */
static size_t put_utf8(uint32_t cp, uint8_t *o)
{
	if (cp < 0x80) {
		o[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = 0xc0 | cp >> 6;
		o[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = 0xe0 | cp >> 12;
		o[1] = 0x80 | (cp >> 6 & 0x3f);
		o[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	o[0] = 0xf0 | cp >> 18;
	o[1] = 0x80 | (cp >> 12 & 0x3f);
	o[2] = 0x80 | (cp >> 6 & 0x3f);
	o[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/*
 * Decode one UTF-8 character at p (n bytes left): its code point and
 * length, or length 0 if the bytes are no valid encoding. Decodes first,
 * then re-encodes and compares: an overlong form does not re-encode the same.
 */
static size_t get_utf8(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t again[4];
	size_t len, i;

	if (p[0] < 0x80)
		len = 1, *cp = p[0];
	else if (p[0] >> 5 == 6)
		len = 2, *cp = p[0] & 0x1f;
	else if (p[0] >> 4 == 14)
		len = 3, *cp = p[0] & 0x0f;
	else if (p[0] >> 3 == 30)
		len = 4, *cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if (p[i] >> 6 != 2)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	if (*cp > 0x10ffff || (*cp >= 0xd800 && *cp < 0xe000))
		return 0;
	if (put_utf8(*cp, again) != len || memcmp(again, p, len))
		return 0;
	return len;
}

/* The input with every byte outside valid UTF-8 replaced by U+FFFD. */
static size_t sanitise(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0, l;
	uint32_t cp;

	while (i < n) {
		l = get_utf8(in + i, n - i, &cp);
		if (!l) {
			o += put_utf8(0xfffd, out + o);
			i++;
		} else {
			memcpy(out + o, in + i, l);
			o += l;
			i += l;
		}
	}
	return o;
}

static int hex4(const char *p, uint32_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

/*
 * Decode the JSON string literal at *pp into out; -1 on anything RFC 8259
 * does not allow (raw control characters, bad escapes, invalid UTF-8).
 */
static long decode_string(const char **pp, uint8_t *out)
{
	const char *p = *pp;
	size_t o = 0, l;
	uint32_t cp, lo;

	if (*p++ != '"')
		return -1;
	for (;;) {
		uint8_t c = *p;

		if (c == '"')
			break;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			l = get_utf8((const uint8_t *)p, strlen(p), &cp);
			if (!l)
				return -1;
			memcpy(out + o, p, l);
			o += l;
			p += l;
			continue;
		}
		switch (p[1]) {
		case '"': case '\\': case '/':
			out[o++] = p[1];
			break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			if (hex4(p + 2, &cp))
				return -1;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) || lo < 0xdc00 ||
				    lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				return -1;
			}
			o += put_utf8(cp, out + o);
			p += 4;
			break;
		default:
			return -1;
		}
		p += 2;
	}
	*pp = p + 1;
	return (long)o;
}

/* {"KEY":"VALUE"}\n with both decoded; -1 if it is not that. */
static long decode_doc(const char *doc, uint8_t *key, long *klen, uint8_t *val)
{
	const char *p = doc;
	long vlen;

	if (*p++ != '{')
		return -1;
	*klen = decode_string(&p, key);
	if (*klen < 0 || *p++ != ':')
		return -1;
	vlen = decode_string(&p, val);
	if (vlen < 0 || strcmp(p, "}\n"))
		return -1;
	return vlen;
}

/* One value (n bytes, no NUL inside) through out_str and back. */
static void round_trip(const char *what, const char *val, size_t n)
{
	char doc[8192];
	uint8_t key[64], got[4096], want[4096];
	long klen, glen;
	size_t wlen = sanitise((const uint8_t *)val, n, want);

	render("k\"\\\x01", val, doc, sizeof(doc));
	glen = decode_doc(doc, key, &klen, got);
	expect(glen >= 0, "%s: not a valid JSON document: %s", what, doc);
	if (glen < 0)
		return;
	expect(klen == 4 && !memcmp(key, "k\"\\\x01", 4), "%s: the key did not come back", what);
	expect((size_t)glen == wlen && !memcmp(got, want, wlen),
	       "%s: value came back as %ld bytes, expected %zu", what, glen, wlen);
}

/* Exact output for one value. */
static void exact(const char *val, const char *want_doc)
{
	char doc[1024];

	out_init(true);
	render(NULL, val, doc, sizeof(doc));
	/* render() printed {"VALUE"} without key: not JSON, but the string is. */
	expect(!strcmp(doc, want_doc), "escaping: got %s expected %s", doc, want_doc);
}

int main(void)
{
	char s[256];
	int i, r;

	/* Exact forms. */
	exact("plain", "{\"plain\"}\n");
	exact("a\"b", "{\"a\\\"b\"}\n");
	exact("back\\slash", "{\"back\\\\slash\"}\n");
	exact("nl\ntab\tcr\r", "{\"nl\\ntab\\tcr\\u000d\"}\n");
	exact("\x01\x1f\x7f", "{\"\\u0001\\u001f\x7f\"}\n");
	exact("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "{\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}\n");
	exact("\xff", "{\"\\ufffd\"}\n");
	exact("a\x80z", "{\"a\\ufffdz\"}\n");
	exact("\xc0\xaf", "{\"\\ufffd\\ufffd\"}\n"); /* overlong '/' */
	exact("\xe0\x80\xaf", "{\"\\ufffd\\ufffd\\ufffd\"}\n"); /* overlong, 3 bytes */
	exact("\xed\xa0\x80", "{\"\\ufffd\\ufffd\\ufffd\"}\n"); /* a UTF-16 surrogate */
	exact("\xf4\x90\x80\x80", "{\"\\ufffd\\ufffd\\ufffd\\ufffd\"}\n"); /* > U+10FFFF */
	exact("\xf4\x8f\xbf\xbf", "{\"\xf4\x8f\xbf\xbf\"}\n"); /* U+10FFFF itself */
	exact("\xe2\x82", "{\"\\ufffd\\ufffd\"}\n"); /* cut short by the end */
	exact("\xe2\x82" "A", "{\"\\ufffd\\ufffdA\"}\n");

	/* Every control character and every ASCII byte. */
	for (i = 1; i < 128; i++)
		s[i - 1] = (char)i;
	s[127] = 0;
	round_trip("ASCII 1..127", s, 127);
	/* Every byte value alone, then random byte strings, UTF-8-heavy. */
	for (i = 1; i < 256; i++) {
		char one[2] = { (char)i, 0 }, what[32];

		snprintf(what, sizeof(what), "byte %#04x", i);
		round_trip(what, one, 1);
	}
	srandom(8259);
	for (r = 0; r < 5000; r++) {
		size_t n = 1 + random() % 40, j;
		char what[32];

		for (j = 0; j < n; j++) {
			switch (random() % 4) {
			case 0: s[j] = (char)(1 + random() % 127); break;
			case 1: s[j] = (char)(0x80 | random() % 64); break; /* continuation */
			case 2: s[j] = (char)(0xc0 | random() % 64); break; /* lead byte */
			default: s[j] = (char)(1 + random() % 255); break;
			}
		}
		s[n] = 0;
		snprintf(what, sizeof(what), "random string %d", r);
		round_trip(what, s, n);
	}
	return unit_summary();
}
