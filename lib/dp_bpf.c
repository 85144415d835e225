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
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "dataplane_impl.h"
#include "dp_bpf.h"
#include "attach.h"
#include "flowmem.h"
#include "log.h"
#include "nfo_fastpath.skel.h"
#include "owner.h"

/*
 * The eBPF backend: the fast path's programs (tc and XDP) and their maps,
 * created fresh or adopted from pins; teardown events from a ring buffer.
 */
/* An XDP program bound to one device (nfo_xdp_vlan), sharing every map. */
struct xdp_bound {
	uint32_t ifindex;
	struct nfo_fastpath *obj;
};

struct bpf_dp {
	struct nfo_fastpath *skel; /* NULL when opened from pins only */
	struct xdp_bound *bound;
	int nbound;
	bool xdp_vlan; /* the kernel binds XDP programs and has the VLAN kfunc */
	int map_fd[NFO_MAP_MAX];
	char pin_dir[256];
	bool pinned;
	int ncpus;
	struct ring_buffer *rb; /* teardown events, once opened */
	nfo_dp_event_cb event_cb;
	void *event_arg;
	int nevents; /* events handled by the current poll */
};

static struct bpf_dp *B(const struct nfo_dp *dp)
{
	return dp->priv;
}

/*
 * Conntrack's BPF functions that ct_hold() in the fast path calls, in the
 * kernel's BTF or, with conntrack a module, in nf_conntrack's (loaded: the
 * daemon's ruleset needs it): without them the program's calls are dead
 * code, and the daemon holds conntrack itself.
 */
bool nfo_kernel_has_ct_kfuncs(void)
{
	static const char *const names[] = { "bpf_skb_ct_lookup", "bpf_xdp_ct_lookup",
					     "bpf_ct_change_timeout", "bpf_ct_release" };
	struct btf *vmlinux = btf__load_vmlinux_btf(), *mod = NULL;
	bool ok = vmlinux != NULL;
	size_t i;

	for (i = 0; ok && i < sizeof(names) / sizeof(names[0]); i++) {
		if (btf__find_by_name_kind(vmlinux, names[i], BTF_KIND_FUNC) > 0)
			continue;
		if (!mod)
			mod = btf__load_module_btf("nf_conntrack", vmlinux);
		ok = mod && btf__find_by_name_kind(mod, names[i], BTF_KIND_FUNC) > 0;
	}
	btf__free(mod);
	btf__free(vmlinux);
	return ok;
}

/*
 * The XDP metadata kfunc that tells a VLAN tag the driver took out of the
 * frame (kernel 6.8+; device-bound programs, 6.3+).
 */
static bool kernel_has_xdp_vlan_kfunc(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool ok = vmlinux &&
		  btf__find_by_name_kind(vmlinux, "bpf_xdp_metadata_rx_vlan_tag", BTF_KIND_FUNC) > 0;

	btf__free(vmlinux);
	return ok;
}

#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#endif

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

static void bpf_close(struct nfo_dp *dp);

/* A data plane that failed to open: the front never saw it. */
static void bpf_free(struct nfo_dp *dp)
{
	if (!dp)
		return;
	bpf_close(dp);
	free(dp);
}

static struct nfo_dp *dp_alloc(void)
{
	struct nfo_dp *dp = calloc(1, sizeof(*dp));
	struct bpf_dp *b = calloc(1, sizeof(*b));
	int i;

	if (!dp || !b) {
		free(dp);
		free(b);
		return NULL;
	}
	dp->ops = &nfo_dp_bpf_ops;
	dp->priv = b;
	for (i = 0; i < NFO_MAP_MAX; i++)
		b->map_fd[i] = -1;
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus < 1)
		b->ncpus = 1;
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
 * The pinned state names the ABI version of the binary that created the pins.
 * Another version may keep every map's size and still lay the entries out
 * differently, so adopting its pins is refused before anything is loaded.
 * A state of our layout that was never written (a start that died before
 * writing it) says 0 and is adopted. Layout differences are check_pin's.
 */
static int check_abi(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0, ver;
	char path[PATH_MAX];
	uint8_t *val = NULL;
	int fd, err = 0;

	if (pin_path(path, sizeof(path), dir, nfo_map_names[NFO_MAP_STATE]))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0; /* missing or unreadable: check_pin says which */
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size != sizeof(zero) ||
	    info.value_size < sizeof(ver))
		goto out;
	val = calloc(1, info.value_size);
	if (!val) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(fd, &zero, val))
		goto out;
	memcpy(&ver, val, sizeof(ver)); /* abi_version leads struct nfo_state */
	if (info.value_size == sizeof(struct nfo_state) && (ver == NFO_ABI_VERSION || !ver))
		goto out;
	if (info.value_size != sizeof(struct nfo_state) && !ver)
		goto out; /* not ours to read: check_pin names the layout */
	pr_err("the pins in %s were made by nft-offload ABI version %u, this binary is version "
	       "%u: stop that fast path with the binary that started it ('nft-offload stop'), "
	       "or remove %s",
	       dir, ver, NFO_ABI_VERSION, dir);
	err = -EPROTO;
out:
	free(val);
	close(fd);
	return err;
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
		pr_err("pinned map %s has another layout (key %u, value %u bytes; this "
		       "nft-offload uses %u, %u: left by another version?); run 'nft-offload "
		       "stop' with the binary that made it, or remove %s",
		       path, info.key_size, info.value_size, bpf_map__key_size(map),
		       bpf_map__value_size(map), dir);
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

int nfo_dp_bpf_load(const struct nfo_dp_opts *opts, struct nfo_dp **dpp)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	uint64_t cap = opts->flow_capacity ? opts->flow_capacity : NFO_DEFAULT_FLOWS;
	uint32_t maxif = opts->max_ifindex ? opts->max_ifindex : NFO_MAX_IFINDEX;
	struct nfo_dp *dp;
	struct bpf_dp *b;
	int err, i;

	if (cap > UINT32_MAX / 2)
		return -E2BIG;
	if (maxif > 1U << NFO_KEY_IFINDEX_BITS)
		return -ERANGE; /* a flow key holds 24 bits of ifindex */
	dp = dp_alloc();
	if (!dp)
		return -ENOMEM;
	b = B(dp);
	if (opts->pin_dir) {
		snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", opts->pin_dir);
		err = ensure_pin_dir(b->pin_dir);
		if (err) {
			if (err == -ENOTSUP)
				pr_err("%s is not on a BPF filesystem (mount -t bpf bpf DIR)",
				       b->pin_dir);
			else
				pr_err("cannot create pin directory %s: %s", b->pin_dir,
				       strerror(-err));
			goto fail;
		}
		b->pinned = true;
		dp->adopted = nfo_dp_pinned(b->pin_dir);
		oopts.pin_root_path = b->pin_dir;
	}

	b->skel = nfo_fastpath__open_opts(&oopts);
	if (!b->skel) {
		err = -errno;
		pr_err("cannot open the fast path object: %s", strerror(-err));
		goto fail;
	}
	bpf_map__set_max_entries(b->skel->maps.nfo_flow4, 2 * cap);
	bpf_map__set_max_entries(b->skel->maps.nfo_flow6, 2 * cap);
	bpf_map__set_max_entries(b->skel->maps.nfo_devs, maxif);
	if (dp->adopted) {
		err = check_abi(b->pin_dir);
		if (err)
			goto fail;
	}
	for (i = 0; i < NFO_MAP_MAX; i++) {
		struct bpf_map *map = skel_map(b->skel, i);

		if (!b->pinned) {
			bpf_map__set_pin_path(map, NULL);
			continue;
		}
		err = check_pin(b->pin_dir, map);
		if (err)
			goto fail;
	}
	if (opts->ct_hold_s && nfo_kernel_has_ct_kfuncs())
		b->skel->rodata->nfo_ct_hold_ms =
			opts->ct_hold_s > UINT32_MAX / 1000 ? UINT32_MAX : opts->ct_hold_s * 1000;
	b->skel->rodata->nfo_fwd_priority = !opts->keep_priority;
	/* Cached next hops of adopted entries belong to another run's count. */
	if (getrandom(&b->skel->bss->nfo_route_gen, sizeof(b->skel->bss->nfo_route_gen), 0) < 0)
		b->skel->bss->nfo_route_gen = (uint32_t)getpid() * 2654435761u;
	/* Only as a device's own copy (xdp_bound_load): the kfunc needs that. */
	bpf_program__set_autoload(b->skel->progs.nfo_xdp_vlan, false);
	b->xdp_vlan = kernel_has_xdp_vlan_kfunc();
	if (opts->log_size) {
		/* Level 4: statistics only (instruction counts), not the full log. */
		bpf_program__set_log_level(b->skel->progs.nfo_xdp, 4);
		bpf_program__set_log_buf(b->skel->progs.nfo_xdp, opts->xdp_log, opts->log_size);
		bpf_program__set_log_level(b->skel->progs.nfo_tc, 4);
		bpf_program__set_log_buf(b->skel->progs.nfo_tc, opts->tc_log, opts->log_size);
	}
	err = nfo_fastpath__load(b->skel);
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
		b->map_fd[i] = bpf_map__fd(skel_map(b->skel, i));
	dp->max_ifindex = bpf_map__max_entries(b->skel->maps.nfo_devs);
	dp->flow_capacity = bpf_map__max_entries(b->skel->maps.nfo_flow4) / 2;
	dp->ct_hold_s = b->skel->rodata->nfo_ct_hold_ms / 1000;
	*dpp = dp;
	return 0;
fail:
	bpf_free(dp);
	return err;
}

int nfo_dp_bpf_open_pinned(const char *pin_dir, struct nfo_dp **dpp)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	struct nfo_dp *dp;
	struct bpf_dp *b;
	int err, i;

	dp = dp_alloc();
	if (!dp)
		return -ENOMEM;
	b = B(dp);
	snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", pin_dir);
	b->pinned = dp->adopted = true;
	for (i = 0; i < NFO_MAP_MAX; i++) {
		err = pin_path(path, sizeof(path), pin_dir, nfo_map_names[i]);
		if (err)
			goto fail;
		b->map_fd[i] = bpf_obj_get(path);
		if (b->map_fd[i] < 0) {
			err = -errno;
			/* Some pins but not this one: another version's set. */
			if (err == -ENOENT && i > 0)
				err = -EPROTO;
			goto fail;
		}
	}
	if (bpf_obj_get_info_by_fd(b->map_fd[NFO_MAP_FLOW4], &info, &len) ||
	    info.value_size != sizeof(struct nfo_flow)) {
		err = -EPROTO;
		goto fail;
	}
	dp->flow_capacity = info.max_entries / 2;
	len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(b->map_fd[NFO_MAP_DEVS], &info, &len)) {
		err = -errno;
		goto fail;
	}
	dp->max_ifindex = info.max_entries;
	*dpp = dp;
	return 0;
fail:
	bpf_free(dp);
	return err;
}

static void bpf_close(struct nfo_dp *dp)
{
	struct bpf_dp *b = B(dp);
	int i;

	for (i = 0; i < b->nbound; i++)
		nfo_fastpath__destroy(b->bound[i].obj);
	free(b->bound);
	ring_buffer__free(b->rb);
	if (b->skel) {
		nfo_fastpath__destroy(b->skel);
	} else {
		for (i = 0; i < NFO_MAP_MAX; i++)
			if (b->map_fd[i] >= 0)
				close(b->map_fd[i]);
	}
	free(b);
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
	if (dp->ops != &nfo_dp_bpf_ops || !B(dp)->skel)
		return -ENOENT;
	return bpf_program__fd(xdp ? B(dp)->skel->progs.nfo_xdp : B(dp)->skel->progs.nfo_tc);
}

int nfo_dp_map_fd(const struct nfo_dp *dp, enum nfo_map m)
{
	if (dp->ops != &nfo_dp_bpf_ops || m >= NFO_MAP_MAX)
		return -ENOENT;
	return B(dp)->map_fd[m];
}

static int ret_errno(int ret)
{
	return ret ? -errno : 0;
}

static int flow_fd(struct nfo_dp *dp, uint8_t family)
{
	return B(dp)->map_fd[family == AF_INET ? NFO_MAP_FLOW4 : NFO_MAP_FLOW6];
}

static int bpf_flow_update(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
			   const struct nfo_flow *flow, bool replace)
{
	return ret_errno(bpf_map_update_elem(flow_fd(dp, family), key, flow,
					     replace ? BPF_ANY : BPF_NOEXIST));
}

/*
 * Many connections per system call (BPF_MAP_UPDATE_BATCH), the reply's entry
 * of each before the original's: the admission writes two entries per
 * connection, and a call of its own for each cost about as much as the hash
 * map's work. The kernel stops at the first entry it refuses and says how many
 * it wrote: whole connections, and maybe the reply's entry of the failing one,
 * taken back here. Hash maps take no BPF_NOEXIST in a batch: entries are
 * replaced, as bpf_flow_update(replace) does.
 */
#define CONNS_PER_CALL 32

static unsigned int bpf_flow_update_conns(struct nfo_dp *dp, uint8_t family,
					  const struct nfo_dp_conn *c, unsigned int n, int *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	size_t ksz = family == AF_INET ? sizeof(struct nfo_key4) : sizeof(struct nfo_key6);
	uint8_t keys[2 * CONNS_PER_CALL * sizeof(union nfo_key)];
	struct nfo_flow vals[2 * CONNS_PER_CALL];
	int fd = flow_fd(dp, family);
	unsigned int done = 0, m, i;
	__u32 cnt;

	while (done < n) {
		m = n - done < CONNS_PER_CALL ? n - done : CONNS_PER_CALL;
		for (i = 0; i < m; i++) {
			memcpy(keys + 2 * i * ksz, &c[done + i].key[NFO_DIR_REPLY], ksz);
			memcpy(keys + (2 * i + 1) * ksz, &c[done + i].key[NFO_DIR_ORIGINAL], ksz);
			vals[2 * i] = c[done + i].flow[NFO_DIR_REPLY];
			vals[2 * i + 1] = c[done + i].flow[NFO_DIR_ORIGINAL];
		}
		cnt = 2 * m;
		if (bpf_map_update_batch(fd, keys, vals, &cnt, &opts)) {
			*err = -errno;
			if (cnt > 2 * m)
				cnt = 0;
			if (cnt & 1)
				bpf_map_delete_elem(fd, keys + (cnt - 1) * ksz);
			return done + cnt / 2;
		}
		done += m;
	}
	*err = 0;
	return n;
}

static int bpf_flow_delete(struct nfo_dp *dp, uint8_t family, const union nfo_key *key)
{
	return ret_errno(bpf_map_delete_elem(flow_fd(dp, family), key));
}

static int bpf_flow_lookup(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
			   struct nfo_flow *flow)
{
	return ret_errno(bpf_map_lookup_elem(flow_fd(dp, family), key, flow));
}

static int bpf_flow_take(struct nfo_dp *dp, uint8_t family, const union nfo_key *key,
			 struct nfo_flow *flow)
{
	return ret_errno(bpf_map_lookup_and_delete_elem(flow_fd(dp, family), key, flow));
}

#define BATCH 4096

static int bpf_flow_foreach(struct nfo_dp *dp, uint8_t family, nfo_flow_cb cb, void *arg)
{
	size_t ksz = family == AF_INET ? sizeof(struct nfo_key4) : sizeof(struct nfo_key6);
	int fd = flow_fd(dp, family);
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

/* ---- devices -------------------------------------------------------------- */

static struct xdp_bound *xdp_bound_find(struct bpf_dp *b, uint32_t ifindex)
{
	int i;

	for (i = 0; i < b->nbound; i++)
		if (b->bound[i].ifindex == ifindex)
			return &b->bound[i];
	return NULL;
}

static void xdp_bound_free(struct bpf_dp *b, uint32_t ifindex)
{
	struct xdp_bound *x = xdp_bound_find(b, ifindex);

	if (!x)
		return;
	nfo_fastpath__destroy(x->obj);
	*x = b->bound[--b->nbound];
}

/*
 * The XDP program of one device: nfo_xdp_vlan bound to it, so that it may
 * ask the driver for a VLAN tag taken out of the frame. A second copy of
 * the object whose maps (pinned or not, .bss and .rodata included) are the
 * main object's, so that both see one flow table and one routing generation.
 */
static int xdp_bound_load(struct bpf_dp *b, uint32_t ifindex, int *fd)
{
	struct xdp_bound *grown;
	struct nfo_fastpath *o;
	struct bpf_map *m;
	int err;

	grown = realloc(b->bound, (b->nbound + 1) * sizeof(*b->bound));
	if (!grown)
		return -ENOMEM;
	b->bound = grown;
	o = nfo_fastpath__open();
	if (!o)
		return -errno;
	bpf_object__for_each_map(m, o->obj) {
		struct bpf_map *mine = bpf_object__find_map_by_name(b->skel->obj, bpf_map__name(m));

		bpf_map__set_pin_path(m, NULL);
		err = mine ? bpf_map__reuse_fd(m, bpf_map__fd(mine)) : -ENOENT;
		if (err)
			goto fail;
	}
	bpf_program__set_autoload(o->progs.nfo_xdp, false);
	bpf_program__set_autoload(o->progs.nfo_tc, false);
	bpf_program__set_ifindex(o->progs.nfo_xdp_vlan, ifindex);
	bpf_program__set_flags(o->progs.nfo_xdp_vlan, BPF_F_XDP_DEV_BOUND_ONLY);
	err = nfo_fastpath__load(o);
	if (err)
		goto fail;
	b->bound[b->nbound++] = (struct xdp_bound){ .ifindex = ifindex, .obj = o };
	*fd = bpf_program__fd(o->progs.nfo_xdp_vlan);
	return 0;
fail:
	nfo_fastpath__destroy(o);
	return err;
}

static int bpf_attach(struct nfo_dp *dp, uint32_t ifindex, enum nfo_mode mode, bool force,
		      uint32_t *flags)
{
	bool generic = mode == NFO_MODE_XDP_GENERIC, created = false;
	struct bpf_dp *b = B(dp);
	int err, fd = -1;

	*flags = 0;
	if (mode == NFO_MODE_TC) {
		err = nfo_attach_tc(ifindex, nfo_dp_prog_fd(dp, false), force, &created);
		if (!err)
			*flags = NFO_DEV_TC | (created ? NFO_DEV_CLSACT_OURS : 0);
		return err;
	}
	if (mode != NFO_MODE_XDP && !generic)
		return -EINVAL;
	/* Generic XDP cannot run device-bound programs. */
	if (!generic && b->xdp_vlan && b->skel) {
		/*
		 * A fresh copy each time: one loaded earlier may be bound to a
		 * device gone since, whose ifindex a new one took.
		 */
		xdp_bound_free(b, ifindex);
		err = xdp_bound_load(b, ifindex, &fd);
		if (err) /* the shared program then (the caller says what it misses) */
			pr_debug("device %u: no XDP program bound to it: %s", ifindex,
				 strerror(-err));
	}
	err = nfo_attach_xdp(ifindex, fd >= 0 ? fd : nfo_dp_prog_fd(dp, true), generic, force);
	if (err) {
		xdp_bound_free(b, ifindex);
		return err;
	}
	*flags = generic ? NFO_DEV_XDP | NFO_DEV_XDP_GENERIC : NFO_DEV_XDP;
	if (fd >= 0)
		*flags |= NFO_DEV_XDP_VLAN;
	return 0;
}

static int bpf_detach(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags)
{
	struct xdp_bound *x = xdp_bound_find(B(dp), ifindex);
	int err = 0;

	if (flags & NFO_DEV_TC)
		err = nfo_detach_tc(ifindex, flags & NFO_DEV_CLSACT_OURS);
	if (flags & NFO_DEV_XDP) {
		err = nfo_detach_xdp(ifindex, x ? bpf_program__fd(x->obj->progs.nfo_xdp_vlan) :
						  nfo_dp_prog_fd(dp, true));
		xdp_bound_free(B(dp), ifindex);
	}
	return err;
}

static uint32_t owner_id(const struct nfo_dp *dp)
{
	return nfo_map_id(B(dp)->map_fd[NFO_MAP_DEVS]);
}

/* Our program by name on the hook, and (by its devices map) this instance's. */
static int bpf_dev_check(struct nfo_dp *dp, uint32_t ifindex, uint32_t flags,
			 struct nfo_dp_devcheck *c)
{
	struct nfo_hook_info h;
	int err;

	memset(c, 0, sizeof(*c));
	err = nfo_hook_query(ifindex, &h);
	if (err)
		return err;
	c->attached = (flags & NFO_DEV_TC) ? h.tc_ours : h.xdp_ours;
	if (c->attached && !nfo_owner_query(ifindex, owner_id(dp), &c->owner) &&
	    !c->owner.ours)
		c->attached = false;
	return 0;
}

static int bpf_dev_owner(struct nfo_dp *dp, uint32_t ifindex, struct nfo_owner *o)
{
	return nfo_owner_query(ifindex, owner_id(dp), o);
}

static int bpf_stats_get(struct nfo_dp *dp, uint32_t slot, struct nfo_stats *sum)
{
	struct nfo_stats *v = calloc(B(dp)->ncpus, sizeof(*v));
	int i, j, err;

	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	err = ret_errno(bpf_map_lookup_elem(B(dp)->map_fd[NFO_MAP_STATS], &slot, v));
	for (i = 0; !err && i < B(dp)->ncpus; i++) {
		sum->fwd_packets += v[i].fwd_packets;
		sum->fwd_bytes += v[i].fwd_bytes;
		for (j = 0; j < NFO_R_MAX; j++)
			sum->pass[j] += v[i].pass[j];
	}
	free(v);
	return err;
}

/* ---- records -------------------------------------------------------------- */

static int rec_fd(struct nfo_dp *dp, enum nfo_rec r)
{
	static const enum nfo_map m[] = {
		[NFO_REC_DEV] = NFO_MAP_DEVS,	      [NFO_REC_SLOT] = NFO_MAP_SLOTS,
		[NFO_REC_STATE] = NFO_MAP_STATE,     [NFO_REC_METRICS] = NFO_MAP_METRICS,
		[NFO_REC_HOST] = NFO_MAP_HOSTS,	      [NFO_REC_LEAVING] = NFO_MAP_LEAVING,
	};

	return B(dp)->map_fd[m[r]];
}

static int bpf_rec_get(struct nfo_dp *dp, enum nfo_rec r, const void *key, void *val)
{
	return ret_errno(bpf_map_lookup_elem(rec_fd(dp, r), key, val));
}

static int bpf_rec_set(struct nfo_dp *dp, enum nfo_rec r, const void *key, const void *val)
{
	return ret_errno(bpf_map_update_elem(rec_fd(dp, r), key, val, BPF_ANY));
}

static int bpf_rec_next(struct nfo_dp *dp, enum nfo_rec r, const void *prev, void *next)
{
	return ret_errno(bpf_map_get_next_key(rec_fd(dp, r), prev, next));
}

static int bpf_rec_pop(struct nfo_dp *dp, enum nfo_rec r, void *val)
{
	return ret_errno(bpf_map_lookup_and_delete_elem(rec_fd(dp, r), NULL, val));
}

/* ---- teardown events -------------------------------------------------------- */

static int rb_event(void *ctx, void *data, size_t len)
{
	struct bpf_dp *b = ctx;
	int err;

	if (len < sizeof(struct nfo_event))
		return 0;
	err = b->event_cb(data, b->event_arg);
	b->nevents += !err;
	return err;
}

static int bpf_events_open(struct nfo_dp *dp, nfo_dp_event_cb cb, void *arg)
{
	struct bpf_dp *b = B(dp);

	if (b->rb)
		return -EBUSY;
	b->event_cb = cb;
	b->event_arg = arg;
	b->rb = ring_buffer__new(b->map_fd[NFO_MAP_EVENTS], rb_event, b, NULL);
	return b->rb ? 0 : -errno;
}

static int bpf_events_fd(const struct nfo_dp *dp)
{
	return B(dp)->rb ? ring_buffer__epoll_fd(B(dp)->rb) : -ENOENT;
}

static int bpf_events_poll(struct nfo_dp *dp)
{
	struct bpf_dp *b = B(dp);
	int err;

	if (!b->rb)
		return -ENOENT;
	b->nevents = 0;
	err = ring_buffer__consume(b->rb);
	return err < 0 ? err : b->nevents;
}

/* Only the loader maps the programs' data; a CLI's change ages out (1 s). */
static void bpf_route_gen_bump(struct nfo_dp *dp)
{
	if (B(dp)->skel && B(dp)->skel->bss)
		__atomic_fetch_add(&B(dp)->skel->bss->nfo_route_gen, 1, __ATOMIC_SEQ_CST);
}

static uint32_t bpf_route_gen(const struct nfo_dp *dp)
{
	return B(dp)->skel && B(dp)->skel->bss ?
		       __atomic_load_n(&B(dp)->skel->bss->nfo_route_gen, __ATOMIC_SEQ_CST) : 0;
}

static void bpf_summary(const struct nfo_dp *dp, struct nfo_dp_summary *s)
{
	s->reserved_bytes = nfo_map_memlock(B(dp)->map_fd[NFO_MAP_FLOW4]) +
			    nfo_map_memlock(B(dp)->map_fd[NFO_MAP_FLOW6]);
	s->owner_id = owner_id(dp);
}

const struct nfo_dp_ops nfo_dp_bpf_ops = {
	.name = "bpf",
	.close = bpf_close,
	.flow_update = bpf_flow_update,
	.flow_update_conns = bpf_flow_update_conns,
	.flow_delete = bpf_flow_delete,
	.flow_lookup = bpf_flow_lookup,
	.flow_take = bpf_flow_take,
	.flow_foreach = bpf_flow_foreach,
	.attach = bpf_attach,
	.detach = bpf_detach,
	.dev_check = bpf_dev_check,
	.dev_owner = bpf_dev_owner,
	.stats_get = bpf_stats_get,
	.rec_get = bpf_rec_get,
	.rec_set = bpf_rec_set,
	.rec_next = bpf_rec_next,
	.rec_pop = bpf_rec_pop,
	.events_open = bpf_events_open,
	.events_fd = bpf_events_fd,
	.events_poll = bpf_events_poll,
	.summary = bpf_summary,
	.route_gen_bump = bpf_route_gen_bump,
	.route_gen = bpf_route_gen,
};
