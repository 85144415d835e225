/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Netlink plumbing on libmnl: sockets, batches of requests answered in order,
 * dumps, and event reads that report loss (ENOBUFS) instead of hiding it.
 */
#ifndef NFO_NL_H
#define NFO_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

struct nfo_nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	char *buf; /* receive buffer */
	size_t buflen;
};

/* groups: the legacy bitmask of multicast groups to join (0 for none). */
int nfo_nl_open(struct nfo_nl *nl, int bus, unsigned int groups);
void nfo_nl_close(struct nfo_nl *nl);
int nfo_nl_fd(const struct nfo_nl *nl);
/* Receive buffer for event sockets (SO_RCVBUFFORCE, falls back to SO_RCVBUF). */
int nfo_nl_set_rcvbuf(struct nfo_nl *nl, int bytes);
/*
 * Drop, in the kernel, every message sent on behalf of port id portid (an
 * event socket: the events our own requests cause, already known).
 */
int nfo_nl_ignore_port(struct nfo_nl *nl, uint32_t portid);
int nfo_nl_join(struct nfo_nl *nl, unsigned int group);

/*
 * Called for each data message answering request number idx of a batch (or
 * for each message of a dump, idx 0), and once with msg == NULL and err set
 * when a request failed.
 */
typedef int (*nfo_nl_cb)(unsigned int idx, const struct nlmsghdr *msg, int err, void *arg);

struct nfo_nl_batch {
	struct nfo_nl *nl;
	char *buf;
	struct nlmsghdr *last; /* message being filled in, not yet in len */
	size_t len, cap;
	uint32_t first_seq;
	unsigned int count;
	bool reply_completes; /* the data reply ends a request (no NLM_F_ACK) */
};

int nfo_nl_batch_init(struct nfo_nl_batch *b, struct nfo_nl *nl, size_t cap, bool reply_completes);
void nfo_nl_batch_free(struct nfo_nl_batch *b);
/* Room for one more request of up to `room` bytes of payload? */
bool nfo_nl_batch_room(const struct nfo_nl_batch *b, size_t room);
/* Append a request header (type, flags); numbered when the batch is flushed. */
struct nlmsghdr *nfo_nl_batch_add(struct nfo_nl_batch *b, uint16_t type, uint16_t flags);
/*
 * Send everything, collect every answer in order. Without reply_completes,
 * only the last request is acknowledged (the others answer only with data
 * or an error). Returns 0 or -errno (I/O).
 */
int nfo_nl_batch_flush(struct nfo_nl_batch *b, nfo_nl_cb cb, void *arg);

/* Send one dump request and feed every answer to cb. */
int nfo_nl_dump(struct nfo_nl *nl, struct nlmsghdr *req, nfo_nl_cb cb, void *arg);

/*
 * Read what is queued on an event socket, without blocking and at most about
 * max messages (so that the caller acts on the first ones soon), and feed
 * each to cb (many messages per system call). Returns the number of
 * messages, -ENOBUFS when the kernel dropped events or one was too large to
 * read whole (the caller must resync), or another -errno.
 */
int nfo_nl_read_events(struct nfo_nl *nl, nfo_nl_cb cb, void *arg, int max);

#endif
