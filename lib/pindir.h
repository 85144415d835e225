/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pin directory, checked before anything is created in it: it must be on
 * a BPF filesystem (nothing else there can be a pin, so nothing else is ever
 * deleted), and owned by root (or us) and writable by nobody else, so that
 * another user cannot plant or swap pins. And on a failed start, only what
 * that start created is removed.
 */
#ifndef NFO_PINDIR_H
#define NFO_PINDIR_H

#include <stdbool.h>

/* 0, or -errno after printing one sentence naming the directory. */
int nfo_pin_dir_check(const char *dir);

/* What a start found before it created anything. */
struct nfo_pins_before {
	bool dir_existed;
	unsigned int present; /* bit i: nfo_map_names[i] was pinned */
};

void nfo_pins_before(const char *dir, struct nfo_pins_before *b);
/* Remove the pins (and the directory) that were not there before. */
int nfo_pins_remove_new(const char *dir, const struct nfo_pins_before *b);

#endif
