// SPDX-License-Identifier: GPL-2.0-only
/*
 * Find conntrackd in our network namespace. On an HA pair it syncs conntrack
 * to the peer router; `nft-offload status` reports it. A process counts when
 * its command is conntrackd, its /proc/PID/ns/net is ours, and its command
 * line is the daemon's (no client command such as -c or -s, which exit at
 * once). Its sync mode comes from the Mode line of its configuration file.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conntrackd.h"

#define CONNTRACKD_DEFAULT_CONFIG "/etc/conntrackd/conntrackd.conf"

static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

/* The daemon's command line: only -C FILE and -d; sets the config path. */
static bool daemon_cmdline(pid_t pid, struct nfo_conntrackd *c)
{
	char buf[4096], *a, *end;
	ssize_t n = read_proc(pid, "cmdline", buf, sizeof(buf));
	const char *config = CONNTRACKD_DEFAULT_CONFIG;

	if (n <= 0)
		return false;
	end = buf + n;
	for (a = buf + strlen(buf) + 1; a < end; a += strlen(a) + 1) {
		if (!strcmp(a, "-C") && a + strlen(a) + 1 < end) {
			a += strlen(a) + 1;
			config = a;
		} else if (strcmp(a, "-d")) {
			return false;
		}
	}
	if (config[0] == '/')
		snprintf(c->config, sizeof(c->config), "%s", config);
	else
		snprintf(c->config, sizeof(c->config), "/proc/%d/cwd/%s", (int)pid, config);
	return true;
}

/* "Mode FTFW {" in the Sync section: the first Mode line outside comments. */
static void sync_mode(struct nfo_conntrackd *c)
{
	char line[512], word[16];
	FILE *f = fopen(c->config, "re");
	size_t i;

	c->mode[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		if (strncasecmp(p, "mode", 4) || !isspace((unsigned char)p[4]))
			continue;
		if (sscanf(p + 4, " %15[A-Za-z-]", word) != 1)
			continue;
		for (i = 0; word[i]; i++)
			word[i] = tolower((unsigned char)word[i]);
		snprintf(c->mode, sizeof(c->mode), "%s", word);
		break;
	}
	fclose(f);
}

int nfo_conntrackd_find(struct nfo_conntrackd *c)
{
	struct stat self, st;
	struct dirent *e;
	char path[64], comm[32];
	DIR *dir;

	memset(c, 0, sizeof(*c));
	if (stat("/proc/self/ns/net", &self))
		return -errno;
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		pid_t pid;
		char *endp;

		pid = strtol(e->d_name, &endp, 10);
		if (*endp || pid <= 0)
			continue;
		if (read_proc(pid, "comm", comm, sizeof(comm)) <= 0 ||
		    strcmp(comm, "conntrackd\n"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		if (stat(path, &st) || st.st_ino != self.st_ino || st.st_dev != self.st_dev)
			continue;
		if (!daemon_cmdline(pid, c))
			continue;
		c->running = true;
		c->pid = pid;
		sync_mode(c);
		break;
	}
	closedir(dir);
	return 0;
}
