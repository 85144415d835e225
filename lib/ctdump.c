// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct.h"
#include "ctdump.h"

#define SEEN_MIN 1024 /* slots */
/*
 * Bytes per receive. The kernel fills a dump message batch as large as the
 * largest read the socket has seen (up to 32 KiB): reading 16 KiB at a time
 * keeps each batch at about 50 entries, so a slice stays short even when
 * every entry is a new offload.
 */
#define DUMP_READ (16 << 10)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int nfo_ctdump_start(struct nfo_ctdump *cd, struct nfo_nl *nl, uint32_t mark, uint32_t mask)
{
	char buf[NFO_CT_DUMP_MSG_MAX];
	struct nlmsghdr *nlh = nfo_ct_dump_msg(buf, mark, mask);

	cd->nl = nl;
	cd->running = false;
	cd->entries = 0;
	cd->slice_max_ns = 0;
	cd->slice_cpu_max_ns = 0;
	cd->seen_count = 0;
	if (cd->seen)
		memset(cd->seen, 0, ((size_t)cd->seen_mask + 1) * sizeof(*cd->seen));
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = cd->seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	cd->start_ns = now_ns();
	cd->running = true;
	return 0;
}

int nfo_ctdump_read(struct nfo_ctdump *cd, nfo_nl_cb cb, void *arg)
{
	struct nlmsghdr *nlh;
	int rem, fed = 0;
	ssize_t n;

	if (!cd->running) {
		/* Nothing expected: drop what is there (nothing should be). */
		while (cd->nl && mnl_socket_recvfrom(cd->nl->sk, cd->nl->buf, DUMP_READ) > 0)
			;
		return -EAGAIN;
	}
	do
		n = mnl_socket_recvfrom(cd->nl->sk, cd->nl->buf, DUMP_READ);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return -EAGAIN;
		cd->running = false;
		return -errno;
	}
	rem = (int)n;
	for (nlh = (struct nlmsghdr *)cd->nl->buf; mnl_nlmsg_ok(nlh, rem);
	     nlh = mnl_nlmsg_next(nlh, &rem)) {
		if (nlh->nlmsg_seq != cd->seq)
			continue; /* an earlier dump's leftovers */
		if (nlh->nlmsg_type == NLMSG_DONE) {
			cd->running = false;
			break;
		}
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			cd->running = false;
			return e->error ? e->error : -EPROTO;
		}
		cb(0, nlh, 0, arg);
		fed++;
		cd->entries++;
	}
	return fed;
}

int nfo_ctdump_wait(struct nfo_ctdump *cd, int timeout_ms)
{
	struct pollfd p = { .fd = nfo_nl_fd(cd->nl), .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n ? 0 : -ETIMEDOUT;
}

void nfo_ctdump_slice(struct nfo_ctdump *cd, uint64_t ns, uint64_t cpu_ns)
{
	if (ns > cd->slice_max_ns)
		cd->slice_max_ns = ns;
	if (cpu_ns > cd->slice_cpu_max_ns)
		cd->slice_cpu_max_ns = cpu_ns;
}

uint64_t nfo_ctdump_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void nfo_ctdump_free(struct nfo_ctdump *cd)
{
	free(cd->seen);
	memset(cd, 0, sizeof(*cd));
}

/*
 * The seen set holds a 64-bit hash of each connection (0 marks an empty
 * slot). Two connections with the same hash among the few hundred thousand
 * events of one dump are unlikely (about 1 in 10^9); when it happens, the
 * dump only leaves one connection to its events and the next dump.
 */
static uint64_t seen_key(const struct nfo_tuple *orig, uint16_t zone)
{
	uint64_t h = nfo_tuple_hash(orig) ^ zone;

	/* The slot comes from the low bits: mix the high ones into them. */
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 32;
	return h ? h : 1;
}

static void seen_put(uint64_t *slots, uint32_t mask, uint64_t k)
{
	uint32_t i = (uint32_t)k & mask;

	while (slots[i] && slots[i] != k)
		i = (i + 1) & mask;
	slots[i] = k;
}

static int seen_grow(struct nfo_ctdump *cd)
{
	uint32_t nmask = cd->seen ? cd->seen_mask * 2 + 1 : SEEN_MIN - 1;
	uint64_t *n = calloc((size_t)nmask + 1, sizeof(*n));
	uint32_t i;

	if (!n)
		return -ENOMEM;
	for (i = 0; cd->seen && i <= cd->seen_mask; i++)
		if (cd->seen[i])
			seen_put(n, nmask, cd->seen[i]);
	free(cd->seen);
	cd->seen = n;
	cd->seen_mask = nmask;
	return 0;
}

void nfo_ctdump_touch(struct nfo_ctdump *cd, const struct nfo_tuple *orig, uint16_t zone)
{
	uint64_t k;
	uint32_t i;

	if (!cd->running)
		return;
	if ((!cd->seen || (cd->seen_count + 1) * 2 > cd->seen_mask + 1) && seen_grow(cd)) {
		/*
		 * No memory to remember it: the dump's word on any connection
		 * is as good as before this rule existed; nothing better.
		 */
		if (!cd->seen)
			return;
		if (cd->seen_count >= cd->seen_mask)
			return; /* full: never loop forever */
	}
	k = seen_key(orig, zone);
	for (i = (uint32_t)k & cd->seen_mask; cd->seen[i]; i = (i + 1) & cd->seen_mask)
		if (cd->seen[i] == k)
			return;
	cd->seen[i] = k;
	cd->seen_count++;
}

bool nfo_ctdump_stale(const struct nfo_ctdump *cd, const struct nfo_tuple *orig, uint16_t zone)
{
	uint64_t k;
	uint32_t i;

	if (!cd->seen || !cd->seen_count)
		return false;
	k = seen_key(orig, zone);
	for (i = (uint32_t)k & cd->seen_mask; cd->seen[i]; i = (i + 1) & cd->seen_mask)
		if (cd->seen[i] == k)
			return true;
	return false;
}
