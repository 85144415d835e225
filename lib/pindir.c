// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "dp_bpf.h"
#include "log.h"
#include "pindir.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* Mounted on demand by the loader when missing (ip netns exec). */
#define BPFFS_DEFAULT "/sys/fs/bpf"

static void not_bpffs(const char *dir)
{
	pr_err("pin directory %s is not on a BPF filesystem; nft-offload pins only there "
	       "(mount -t bpf bpf DIR, or choose another --pin-dir)",
	       dir);
}

int nfo_pin_dir_check(const char *dir)
{
	char parent[PATH_MAX], *slash;
	struct statfs sfs;
	struct stat st;

	if (dir[0] != '/' || strlen(dir) >= sizeof(parent)) {
		pr_err("pin directory %s must be an absolute path", dir);
		return -EINVAL;
	}
	if (!lstat(dir, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			pr_err("pin directory %s is not a directory", dir);
			return -ENOTDIR;
		}
		if (statfs(dir, &sfs)) {
			pr_err("cannot check pin directory %s: %s", dir, strerror(errno));
			return -errno;
		}
		if (sfs.f_type != BPF_FS_MAGIC) {
			not_bpffs(dir);
			return -ENOTSUP;
		}
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			pr_err("pin directory %s belongs to uid %u, not root; refusing it (remove "
			       "it, or choose another --pin-dir)",
			       dir, st.st_uid);
			return -EPERM;
		}
		if (st.st_mode & (S_IWGRP | S_IWOTH)) {
			pr_err("pin directory %s is writable by group or others (mode %04o); "
			       "refusing it (chmod go-w, or choose another --pin-dir)",
			       dir, st.st_mode & 07777);
			return -EPERM;
		}
		return 0;
	}
	if (errno != ENOENT) {
		pr_err("cannot check pin directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (statfs(parent, &sfs)) {
		pr_err("cannot create pin directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (sfs.f_type != BPF_FS_MAGIC && strcmp(parent, BPFFS_DEFAULT)) {
		not_bpffs(dir);
		return -ENOTSUP;
	}
	return 0;
}

static int pin_file(char *buf, size_t len, const char *dir, int i)
{
	return (size_t)snprintf(buf, len, "%s/%s", dir, nfo_map_names[i]) >= len ? -ENAMETOOLONG :
										     0;
}

void nfo_pins_before(const char *dir, struct nfo_pins_before *b)
{
	char path[PATH_MAX];
	int i;

	b->dir_existed = access(dir, F_OK) == 0;
	b->present = 0;
	for (i = 0; i < NFO_MAP_MAX; i++)
		if (!pin_file(path, sizeof(path), dir, i) && !access(path, F_OK))
			b->present |= 1U << i;
}

int nfo_pins_remove_new(const char *dir, const struct nfo_pins_before *b)
{
	char path[PATH_MAX];
	int i, err = 0;

	for (i = 0; i < NFO_MAP_MAX; i++) {
		if (b->present & (1U << i))
			continue;
		if (pin_file(path, sizeof(path), dir, i))
			return -ENAMETOOLONG;
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	if (!b->dir_existed && rmdir(dir) && errno != ENOENT && !err)
		err = -errno;
	return err;
}
