// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane.h"
#include "flowmem.h"
#include "log.h"
#include "nfo_fastpath.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

const char *const nfo_map_names[NFO_MAP_MAX] = {
	[NFO_MAP_FLOW4] = "nfo_flow4", [NFO_MAP_FLOW6] = "nfo_flow6",
	[NFO_MAP_DEVS] = "nfo_devs",   [NFO_MAP_STATS] = "nfo_stats",
	[NFO_MAP_SLOTS] = "nfo_slots", [NFO_MAP_STATE] = "nfo_state",
	[NFO_MAP_EVENTS] = "nfo_events", [NFO_MAP_METRICS] = "nfo_metrics",
	[NFO_MAP_HOSTS] = "nfo_hosts",   [NFO_MAP_LEAVING] = "nfo_leaving",
};

static struct bpf_map *skel_map(struct nfo_fastpath *skel, enum nfo_map m)
{
	switch (m) {
	case NFO_MAP_FLOW4:
		return skel->maps.nfo_flow4;
	case NFO_MAP_FLOW6:
		return skel->maps.nfo_flow6;
	case NFO_MAP_DEVS:
		return skel->maps.nfo_devs;
	case NFO_MAP_STATS:
		return skel->maps.nfo_stats;
	case NFO_MAP_SLOTS:
		return skel->maps.nfo_slots;
	case NFO_MAP_EVENTS:
		return skel->maps.nfo_events;
	case NFO_MAP_METRICS:
		return skel->maps.nfo_metrics;
	case NFO_MAP_HOSTS:
		return skel->maps.nfo_hosts;
	case NFO_MAP_LEAVING:
		return skel->maps.nfo_leaving;
	default:
		return skel->maps.nfo_state;
	}
}

static struct nfo_dp *dp_alloc(void)
{
	struct nfo_dp *dp = calloc(1, sizeof(*dp));
	int i;

	if (!dp)
		return NULL;
	for (i = 0; i < NFO_MAP_MAX; i++)
		dp->map_fd[i] = -1;
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus < 1)
		dp->ncpus = 1;
	return dp;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The pin directory must live on a BPF filesystem. Under "ip netns exec" the
 * sysfs is fresh and /sys/fs/bpf is not mounted: mount it there, as tc does.
 */
static int ensure_pin_dir(const char *dir)
{
	char parent[PATH_MAX], *slash;
	struct statfs sfs;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = '\0';
	if (statfs(parent, &sfs))
		return -errno;
	if (sfs.f_type != BPF_FS_MAGIC) {
		if (strcmp(parent, "/sys/fs/bpf"))
			return -ENOTSUP;
		if (mount("bpf", parent, "bpf", 0, "mode=0700"))
			return -errno;
		pr_debug("mounted a BPF filesystem on %s", parent);
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

bool nfo_dp_pinned(const char *pin_dir)
{
	char path[PATH_MAX];

	if (pin_path(path, sizeof(path), pin_dir, nfo_map_names[NFO_MAP_STATE]))
		return false;
	return access(path, F_OK) == 0;
}

/*
 * Check a pinned map against what this build expects, so that a pin from an
 * incompatible version gets one clear sentence rather than libbpf's refusal.
 * A different capacity is adopted (resizing needs a stop).
 */
static int check_pin(const char *dir, struct bpf_map *map)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err = 0;

	if (pin_path(path, sizeof(path), dir, bpf_map__name(map)))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		err = -errno; /* e.g. EPERM: bpf() refused by a seccomp filter */
		pr_err("cannot open pinned map %s: %s", path, strerror(-err));
		return err;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		pr_err("cannot read pinned map %s: %s", path, strerror(-err));
		goto out;
	}
	if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.map_flags != bpf_map__map_flags(map)) {
		pr_err("pinned map %s has another layout (left by another version of "
		       "nft-offload?); run 'nft-offload stop' to remove the old state",
		       path);
		err = -EEXIST;
		goto out;
	}
	if (info.max_entries != bpf_map__max_entries(map)) {
		pr_warn("%s: keeping the pinned size %u (was asked for %u); a new size "
			"takes effect after 'nft-offload stop'",
			path, info.max_entries, bpf_map__max_entries(map));
		bpf_map__set_max_entries(map, info.max_entries);
	}
out:
	close(fd);
	return err;
}

int nfo_dp_load(const struct nfo_dp_opts *opts, struct nfo_dp **dpp)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	uint64_t cap = opts->flow_capacity ? opts->flow_capacity : NFO_DEFAULT_FLOWS;
	uint32_t maxif = opts->max_ifindex ? opts->max_ifindex : NFO_MAX_IFINDEX;
	struct nfo_dp *dp;
	int err, i;

	if (cap > UINT32_MAX / 2)
		return -E2BIG;
	dp = dp_alloc();
	if (!dp)
		return -ENOMEM;
	if (opts->pin_dir) {
		snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", opts->pin_dir);
		err = ensure_pin_dir(dp->pin_dir);
		if (err) {
			if (err == -ENOTSUP)
				pr_err("%s is not on a BPF filesystem (mount -t bpf bpf DIR)",
				       dp->pin_dir);
			else
				pr_err("cannot create pin directory %s: %s", dp->pin_dir,
				       strerror(-err));
			goto fail;
		}
		dp->pinned = true;
		dp->adopted = nfo_dp_pinned(dp->pin_dir);
		oopts.pin_root_path = dp->pin_dir;
	}

	dp->skel = nfo_fastpath__open_opts(&oopts);
	if (!dp->skel) {
		err = -errno;
		pr_err("cannot open the fast path object: %s", strerror(-err));
		goto fail;
	}
	bpf_map__set_max_entries(dp->skel->maps.nfo_flow4, 2 * cap);
	bpf_map__set_max_entries(dp->skel->maps.nfo_flow6, 2 * cap);
	bpf_map__set_max_entries(dp->skel->maps.nfo_devs, maxif);
	for (i = 0; i < NFO_MAP_MAX; i++) {
		struct bpf_map *map = skel_map(dp->skel, i);

		if (!dp->pinned) {
			bpf_map__set_pin_path(map, NULL);
			continue;
		}
		err = check_pin(dp->pin_dir, map);
		if (err)
			goto fail;
	}
	/* Cached next hops of adopted entries belong to another run's count. */
	if (getrandom(&dp->skel->bss->nfo_route_gen, sizeof(dp->skel->bss->nfo_route_gen), 0) < 0)
		dp->skel->bss->nfo_route_gen = (uint32_t)getpid() * 2654435761u;
	if (opts->log_size) {
		/* Level 4: statistics only (instruction counts), not the full log. */
		bpf_program__set_log_level(dp->skel->progs.nfo_xdp, 4);
		bpf_program__set_log_buf(dp->skel->progs.nfo_xdp, opts->xdp_log, opts->log_size);
		bpf_program__set_log_level(dp->skel->progs.nfo_tc, 4);
		bpf_program__set_log_buf(dp->skel->progs.nfo_tc, opts->tc_log, opts->log_size);
	}
	err = nfo_fastpath__load(dp->skel);
	if (err == -ENOMEM || err == -E2BIG) {
		char mem[32];

		pr_err("cannot create the flow maps for %llu connections per family (%s of kernel "
		       "memory up front): %s",
		       (unsigned long long)cap,
		       nfo_bytes_str(nfo_flows_reserved_bytes(cap), mem, sizeof(mem)),
		       strerror(-err));
		goto fail;
	}
	if (err) {
		pr_err("the kernel refused the fast path programs: %s%s", strerror(-err),
		       " (run with -vv for the verifier's log)");
		goto fail;
	}
	for (i = 0; i < NFO_MAP_MAX; i++)
		dp->map_fd[i] = bpf_map__fd(skel_map(dp->skel, i));
	dp->max_ifindex = bpf_map__max_entries(dp->skel->maps.nfo_devs);
	dp->flow_capacity = bpf_map__max_entries(dp->skel->maps.nfo_flow4) / 2;
	*dpp = dp;
	return 0;
fail:
	nfo_dp_close(dp);
	return err;
}

int nfo_dp_open_pinned(const char *pin_dir, struct nfo_dp **dpp)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	struct nfo_dp *dp;
	int err, i;

	dp = dp_alloc();
	if (!dp)
		return -ENOMEM;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", pin_dir);
	dp->pinned = dp->adopted = true;
	for (i = 0; i < NFO_MAP_MAX; i++) {
		err = pin_path(path, sizeof(path), pin_dir, nfo_map_names[i]);
		if (err)
			goto fail;
		dp->map_fd[i] = bpf_obj_get(path);
		if (dp->map_fd[i] < 0) {
			err = -errno;
			/* Some pins but not this one: another version's set. */
			if (err == -ENOENT && i > 0)
				err = -EPROTO;
			goto fail;
		}
	}
	if (bpf_obj_get_info_by_fd(dp->map_fd[NFO_MAP_FLOW4], &info, &len) ||
	    info.value_size != sizeof(struct nfo_flow)) {
		err = -EPROTO;
		goto fail;
	}
	dp->flow_capacity = info.max_entries / 2;
	len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(dp->map_fd[NFO_MAP_DEVS], &info, &len)) {
		err = -errno;
		goto fail;
	}
	dp->max_ifindex = info.max_entries;
	*dpp = dp;
	return 0;
fail:
	nfo_dp_close(dp);
	return err;
}

void nfo_dp_close(struct nfo_dp *dp)
{
	int i;

	if (!dp)
		return;
	if (dp->skel) {
		nfo_fastpath__destroy(dp->skel);
	} else {
		for (i = 0; i < NFO_MAP_MAX; i++)
			if (dp->map_fd[i] >= 0)
				close(dp->map_fd[i]);
	}
	free(dp);
}

int nfo_dp_unpin(const char *pin_dir)
{
	char path[PATH_MAX];
	int i, err = 0;

	for (i = 0; i < NFO_MAP_MAX; i++) {
		if (pin_path(path, sizeof(path), pin_dir, nfo_map_names[i]))
			return -ENAMETOOLONG;
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	if (rmdir(pin_dir) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int nfo_dp_prog_fd(const struct nfo_dp *dp, bool xdp)
{
	if (!dp->skel)
		return -ENOENT;
	return bpf_program__fd(xdp ? dp->skel->progs.nfo_xdp : dp->skel->progs.nfo_tc);
}

static int ret_errno(int ret)
{
	return ret ? -errno : 0;
}

int nfo_dp_flow_add(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		    const struct nfo_flow *flow, bool replace)
{
	return ret_errno(bpf_map_update_elem(nfo_dp_flow_fd(dp, family), key, flow,
					     replace ? BPF_ANY : BPF_NOEXIST));
}

int nfo_dp_flow_del(struct nfo_dp *dp, uint8_t family, const union nfo_key *key)
{
	return ret_errno(bpf_map_delete_elem(nfo_dp_flow_fd(dp, family), key));
}

int nfo_dp_flow_get(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
		    struct nfo_flow *flow)
{
	return ret_errno(bpf_map_lookup_elem(nfo_dp_flow_fd(dp, family), key, flow));
}

#define BATCH 4096

int nfo_dp_flow_foreach(struct nfo_dp *dp, uint8_t family, nfo_flow_cb cb, void *arg)
{
	size_t ksz = family == AF_INET ? sizeof(struct nfo_key4) : sizeof(struct nfo_key6);
	int fd = nfo_dp_flow_fd(dp, family);
	struct nfo_flow *vals = NULL;
	uint8_t *keys = NULL;
	union nfo_key in, out;
	bool first = true;
	int err = 0;

	keys = malloc(BATCH * ksz);
	vals = malloc(BATCH * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		__u32 n = BATCH, i;
		int ret;

		ret = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, &bo);
		if (ret && errno != ENOENT) {
			err = -errno;
			break;
		}
		for (i = 0; i < n; i++) {
			union nfo_key k;

			memset(&k, 0, sizeof(k));
			memcpy(&k, keys + i * ksz, ksz);
			err = cb(family, &k, &vals[i], arg);
			if (err)
				goto out;
		}
		if (ret) /* ENOENT: that was the last batch */
			break;
		in = out;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err > 0 ? 0 : err;
}

static int count_cb(uint8_t family, const union nfo_key *key, const struct nfo_flow *flow,
		    void *arg)
{
	(void)family;
	(void)key;
	(void)flow;
	(*(long *)arg)++;
	return 0;
}

long nfo_dp_flow_count(struct nfo_dp *dp)
{
	long n = 0;
	int err;

	err = nfo_dp_flow_foreach(dp, AF_INET, count_cb, &n);
	if (!err)
		err = nfo_dp_flow_foreach(dp, AF_INET6, count_cb, &n);
	return err ? err : n;
}

int nfo_dp_dev_get(struct nfo_dp *dp, uint32_t ifindex, struct nfo_dev *dev)
{
	if (ifindex >= dp->max_ifindex)
		return -ERANGE;
	return ret_errno(bpf_map_lookup_elem(dp->map_fd[NFO_MAP_DEVS], &ifindex, dev));
}

int nfo_dp_dev_set(struct nfo_dp *dp, uint32_t ifindex, const struct nfo_dev *dev)
{
	int err;

	if (ifindex >= dp->max_ifindex)
		return -ERANGE;
	err = ret_errno(bpf_map_update_elem(dp->map_fd[NFO_MAP_DEVS], &ifindex, dev, 0));
	/* The next hops cached through this device were checked against its flags. */
	nfo_dp_route_gen_bump(dp);
	return err;
}

void nfo_dp_route_gen_bump(struct nfo_dp *dp)
{
	/* Only the loader maps the programs' data; a CLI's change ages out. */
	if (dp->skel && dp->skel->bss)
		__atomic_fetch_add(&dp->skel->bss->nfo_route_gen, 1, __ATOMIC_SEQ_CST);
}

uint32_t nfo_dp_route_gen(struct nfo_dp *dp)
{
	return dp->skel && dp->skel->bss ? __atomic_load_n(&dp->skel->bss->nfo_route_gen,
							   __ATOMIC_SEQ_CST) : 0;
}

int nfo_dp_slot_get(struct nfo_dp *dp, uint32_t slot, struct nfo_slot *s)
{
	return ret_errno(bpf_map_lookup_elem(dp->map_fd[NFO_MAP_SLOTS], &slot, s));
}

int nfo_dp_slot_set(struct nfo_dp *dp, uint32_t slot, const struct nfo_slot *s)
{
	return ret_errno(bpf_map_update_elem(dp->map_fd[NFO_MAP_SLOTS], &slot, s, 0));
}

int nfo_dp_stats_get(struct nfo_dp *dp, uint32_t slot, struct nfo_stats *sum)
{
	struct nfo_stats *v = calloc(dp->ncpus, sizeof(*v));
	int i, j, err;

	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	err = ret_errno(bpf_map_lookup_elem(dp->map_fd[NFO_MAP_STATS], &slot, v));
	for (i = 0; !err && i < dp->ncpus; i++) {
		sum->fwd_packets += v[i].fwd_packets;
		sum->fwd_bytes += v[i].fwd_bytes;
		for (j = 0; j < NFO_R_MAX; j++)
			sum->pass[j] += v[i].pass[j];
	}
	free(v);
	return err;
}

int nfo_dp_stats_clear(struct nfo_dp *dp, uint32_t slot)
{
	struct nfo_stats *v = calloc(dp->ncpus, sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	err = ret_errno(bpf_map_update_elem(dp->map_fd[NFO_MAP_STATS], &slot, v, 0));
	free(v);
	return err;
}

int nfo_dp_state_get(struct nfo_dp *dp, struct nfo_state *st)
{
	uint32_t zero = 0;

	return ret_errno(bpf_map_lookup_elem(dp->map_fd[NFO_MAP_STATE], &zero, st));
}

int nfo_dp_state_set(struct nfo_dp *dp, const struct nfo_state *st)
{
	uint32_t zero = 0;

	return ret_errno(bpf_map_update_elem(dp->map_fd[NFO_MAP_STATE], &zero, st, 0));
}

int nfo_dp_devstats(struct nfo_dp *dp, struct nfo_devstat *d, int max)
{
	uint32_t slot;
	int n = 0;

	for (slot = 1; slot < NFO_MAX_SLOTS && n < max; slot++) {
		if (nfo_dp_slot_get(dp, slot, &d[n].s) || !d[n].s.name[0])
			continue;
		if (nfo_dp_stats_get(dp, slot, &d[n].st))
			continue;
		d[n].slot = slot;
		n++;
	}
	return n;
}
