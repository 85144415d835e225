// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "attach.h"
#include "nfo_abi.h"
#include "owner.h"

uint32_t nfo_map_id(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (map_fd < 0 || bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return 0;
	return info.id;
}

static bool map_info(uint32_t id, struct bpf_map_info *info, int *fdp)
{
	__u32 len = sizeof(*info);
	int fd = bpf_map_get_fd_by_id(id);

	memset(info, 0, sizeof(*info));
	if (fd < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, info, &len)) {
		close(fd);
		return false;
	}
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return true;
}

/* The devices map a program uses (0 if none). */
static uint32_t prog_devs_map(uint32_t prog_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[64], n, i, found = 0;
	int fd = bpf_prog_get_fd_by_id(prog_id);

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		goto out;
	n = info.nr_map_ids < 64 ? info.nr_map_ids : 64;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		goto out;
	for (i = 0; i < n && !found; i++) {
		struct bpf_map_info mi;

		if (map_info(ids[i], &mi, NULL) && !strcmp(mi.name, "nfo_devs"))
			found = ids[i];
	}
out:
	close(fd);
	return found;
}

/* The state map that records devs_id: the owning instance. */
static void find_state(uint32_t devs_id, struct nfo_owner *o)
{
	__u32 id = 0;

	while (!bpf_map_get_next_id(id, &id)) {
		struct bpf_map_info mi;
		struct nfo_state st;
		__u32 key = 0;
		int fd;

		if (!map_info(id, &mi, &fd))
			continue;
		if (!strcmp(mi.name, "nfo_state") && mi.value_size == sizeof(st) &&
		    !bpf_map_lookup_elem(fd, &key, &st) && st.devs_map_id == devs_id) {
			o->pid = nfo_pid_is_daemon(st.pid) ? st.pid : 0;
			snprintf(o->pin_dir, sizeof(o->pin_dir), "%.*s", (int)sizeof(st.pin_dir),
				 st.pin_dir);
			close(fd);
			return;
		}
		close(fd);
	}
}

int nfo_owner_query(uint32_t ifindex, uint32_t our_devs_map_id, struct nfo_owner *o)
{
	struct nfo_hook_info h;
	uint32_t ids[2], devs;
	int err, i;

	memset(o, 0, sizeof(*o));
	err = nfo_hook_query(ifindex, &h);
	if (err)
		return err;
	ids[0] = h.tc_prog_id;
	ids[1] = h.xdp_ours ? h.xdp_prog_id : 0;
	for (i = 0; i < 2; i++) {
		if (!ids[i])
			continue;
		devs = prog_devs_map(ids[i]);
		o->present = true;
		o->xdp = i == 1;
		o->ours = devs && devs == our_devs_map_id;
		if (!o->ours) {
			if (devs)
				find_state(devs, o);
			return 0;
		}
	}
	return 0;
}

void nfo_owner_str(const struct nfo_owner *o, char *buf, size_t len)
{
	char pid[32] = "no daemon running";

	if (o->pid)
		snprintf(pid, sizeof(pid), "pid %u", o->pid);
	snprintf(buf, len, "another nft-offload instance (%s, pin dir %s)", pid,
		 o->pin_dir[0] ? o->pin_dir : "unknown");
}

bool nfo_pid_is_daemon(uint32_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (!pid || (pid_t)pid == getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strncmp(comm, "nft-offload", 11);
}
