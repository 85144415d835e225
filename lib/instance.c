// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flowtable.h"
#include "flowmem.h"
#include "instance.h"
#include "log.h"
#include "nft.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int nfo_teardown(struct nfo_dp *dp, const char *pin_dir)
{
	struct nfo_state st = {};
	uint32_t slot;
	uint64_t t0;
	long n;
	int err, rc = 0;

	nfo_dp_state_get(dp, &st);
	/* Programs first: from here on no packet takes the fast path. */
	for (slot = 1; slot < NFO_MAX_SLOTS; slot++) {
		struct nfo_slot s;
		struct nfo_dev none = {};

		if (nfo_dp_slot_get(dp, slot, &s) || !s.ifindex)
			continue;
		err = nfo_dp_detach(dp, s.ifindex, s.flags);
		if (err && err != -ENODEV) {
			pr_warn("cannot detach %sfrom %s: %s", s.flags & NFO_DEV_TC ? "" : "XDP ",
				s.name, strerror(-err));
			rc = err;
		}
		nfo_dp_dev_set(dp, s.ifindex, &none);
	}
	err = nfo_nft_remove();
	if (err && err != -ENOENT) {
		pr_warn("cannot delete table %s %s", NFO_NFT_FAMILY, NFO_NFT_TABLE);
		rc = err;
	}
	/*
	 * The programs are off and the table gone: nothing bypasses conntrack
	 * or marks any more. Hand the offloaded connections back and clear
	 * every mark; the maps go with their pins, entries and all.
	 */
	t0 = mono_ns();
	n = nfo_flowtable_handback_all(dp, st.ct_mark);
	if (n < 0) {
		pr_warn("cannot hand flows back to conntrack and clear the marks: %s",
			strerror((int)-n));
		rc = (int)n;
	} else if (n) {
		pr_info("handed %ld connections back to conntrack in %llu ms", n,
			(unsigned long long)(mono_ns() - t0) / 1000000);
	}
	if (st.flags & NFO_STATE_EVENTS_SET)
		nfo_ct_events_restore();
	err = nfo_dp_unpin(pin_dir);
	if (err) {
		pr_warn("cannot remove pins in %s: %s", pin_dir, strerror(-err));
		rc = err;
	}
	return rc;
}

#define CT_EVENTS "/proc/sys/net/netfilter/nf_conntrack_events"
#define CT_MAX "/proc/sys/net/netfilter/nf_conntrack_max"

int nfo_sysctl_int(const char *path, int set)
{
	FILE *f = fopen(path, set >= 0 ? "w" : "r");
	int v = -1;

	if (!f)
		return -1;
	if (set >= 0)
		v = fprintf(f, "%d\n", set) > 0 ? set : -1;
	else if (fscanf(f, "%d", &v) != 1 || v < 0)
		v = -1;
	if (fclose(f))
		v = -1;
	return v;
}

static int events_sysctl(int set)
{
	return nfo_sysctl_int(CT_EVENTS, set);
}

bool nfo_ct_events_on(void)
{
	if (events_sysctl(-1) != 2)
		return false;
	return events_sysctl(1) == 1;
}

bool nfo_ct_events_revive(void)
{
	return events_sysctl(-1) == 0 && events_sysctl(1) == 1;
}

long long nfo_ct_limit(void)
{
	return nfo_sysctl_int(CT_MAX, -1);
}

uint64_t nfo_flows_for_ct_limit(long long limit)
{
	if (limit <= 0)
		return NFO_DEFAULT_FLOWS; /* unknown, or 0: conntrack without a limit */
	if ((unsigned long long)limit > NFO_MAX_FLOWS)
		return NFO_MAX_FLOWS;
	return (uint64_t)limit < NFO_MIN_FLOWS ? NFO_MIN_FLOWS : (uint64_t)limit;
}

void nfo_ct_events_restore(void)
{
	if (events_sysctl(-1) == 1)
		events_sysctl(2);
}
