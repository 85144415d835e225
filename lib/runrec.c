// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runrec.h"

/* The file name: the network namespace and a hash of the pin directory. */
static int runrec_path(const char *pin_dir, char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	struct stat ns;
	const char *p;

	if (stat("/proc/self/ns/net", &ns))
		return -errno;
	for (p = pin_dir; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	if ((size_t)snprintf(buf, len, NFO_RUN_DIR "/%llu-%016llx", (unsigned long long)ns.st_ino,
			     (unsigned long long)h) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int nfo_runrec_write(const char *pin_dir, const struct nfo_runrec *r)
{
	char path[128], tmp[160];
	FILE *f;
	int err;

	err = runrec_path(pin_dir, path, sizeof(path));
	if (err)
		return err;
	if (mkdir(NFO_RUN_DIR, 0700) && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "pid %d\nmark 0x%08x\nevents_set %d\npin_dir %s\n", (int)r->pid, r->mark,
		r->events_set, pin_dir);
	if (fclose(f) || rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

int nfo_runrec_read(const char *pin_dir, struct nfo_runrec *r)
{
	char path[128], line[512], dir[512] = "";
	unsigned int mark = 0;
	int pid = 0, events = 0, err;
	FILE *f;

	err = runrec_path(pin_dir, path, sizeof(path));
	if (err)
		return err;
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "pin_dir ", 8))
			snprintf(dir, sizeof(dir), "%s", line + 8);
		else if (sscanf(line, "pid %d", &pid) != 1 && sscanf(line, "mark %x", &mark) != 1)
			sscanf(line, "events_set %d", &events);
	}
	fclose(f);
	/* Another directory with the same hash: not ours. */
	if (strcmp(dir, pin_dir) || pid <= 0)
		return -ENOENT;
	r->pid = pid;
	r->mark = mark;
	r->events_set = events == 1;
	return 0;
}

void nfo_runrec_remove(const char *pin_dir)
{
	char path[128];

	if (!runrec_path(pin_dir, path, sizeof(path)))
		unlink(path);
}
