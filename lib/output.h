/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One print path for text and JSON (after iproute2's json_print): each field
 * is printed once, with its JSON key and its text format. In JSON mode the
 * text formats are ignored; in text mode the keys are.
 */
#ifndef NFO_OUTPUT_H
#define NFO_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

void out_init(bool json);
bool out_json(void);
/* Close everything still open and end the document. */
void out_finish(void);

void out_obj_open(const char *key); /* key NULL inside arrays / at top */
void out_obj_close(void);
void out_arr_open(const char *key);
void out_arr_close(void);

void out_str(const char *key, const char *fmt, const char *v);
void out_u64(const char *key, const char *fmt, uint64_t v);
void out_i64(const char *key, const char *fmt, int64_t v);
void out_bool(const char *key, const char *fmt, bool v);
void out_null(const char *key);
/* Text only. */
void out_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "1.2k", "34.5M": for human text columns (JSON always gets exact numbers). */
const char *out_human(uint64_t v, char *buf, int len);
/* "1h2m", "35s", "0.4s" */
const char *out_duration(uint64_t ns, char *buf, int len);

#endif
