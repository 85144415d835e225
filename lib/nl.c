// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/netlink.h>

#include "nl.h"

#define NL_BUFLEN (1 << 20)
/*
 * Event and answer reads take many messages per system call (recvmmsg):
 * the receive buffer is cut into slots, one message (skb) each. Events and
 * answers to single requests are far smaller than a slot; dumps, whose
 * messages are large, read the whole buffer at once instead.
 */
#define NL_SLOT (16 << 10)
#define NL_SLOTS (NL_BUFLEN / NL_SLOT)

int nfo_nl_open(struct nfo_nl *nl, int bus, unsigned int groups)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->sk = mnl_socket_open2(bus, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl->sk)
		return -errno;
	if (mnl_socket_bind(nl->sk, groups, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return err;
	}
	/* Acks without the request echoed back; extended error messages. */
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)time(NULL);
	nl->buflen = NL_BUFLEN;
	nl->buf = malloc(nl->buflen);
	if (!nl->buf) {
		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return -ENOMEM;
	}
	return 0;
}

void nfo_nl_close(struct nfo_nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

int nfo_nl_fd(const struct nfo_nl *nl)
{
	return mnl_socket_get_fd(nl->sk);
}

int nfo_nl_set_rcvbuf(struct nfo_nl *nl, int bytes)
{
	int fd = nfo_nl_fd(nl);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)))
		return -errno;
	return 0;
}

int nfo_nl_ignore_port(struct nfo_nl *nl, uint32_t portid)
{
	/*
	 * Classic BPF on the socket: a message whose nlmsg_pid is portid is
	 * dropped before it is queued. Loads are big-endian, the header is in
	 * host order: compare with the port id as a big-endian load sees it.
	 */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_pid)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(portid), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	if (setsockopt(nfo_nl_fd(nl), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		return -errno;
	return 0;
}

int nfo_nl_join(struct nfo_nl *nl, unsigned int group)
{
	if (mnl_socket_setsockopt(nl->sk, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)))
		return -errno;
	return 0;
}

int nfo_nl_batch_init(struct nfo_nl_batch *b, struct nfo_nl *nl, size_t cap, bool reply_completes)
{
	memset(b, 0, sizeof(*b));
	b->nl = nl;
	b->cap = cap;
	b->reply_completes = reply_completes;
	b->buf = malloc(cap);
	return b->buf ? 0 : -ENOMEM;
}

void nfo_nl_batch_free(struct nfo_nl_batch *b)
{
	free(b->buf);
	b->buf = NULL;
}

/* Account for the message being filled in: its length is final now. */
static void batch_sync(struct nfo_nl_batch *b)
{
	if (b->last) {
		b->len += MNL_ALIGN(b->last->nlmsg_len);
		b->last = NULL;
	}
}

bool nfo_nl_batch_room(const struct nfo_nl_batch *b, size_t room)
{
	size_t len = b->len + (b->last ? MNL_ALIGN(b->last->nlmsg_len) : 0);

	return len + MNL_ALIGN(sizeof(struct nlmsghdr) + room) <= b->cap;
}

struct nlmsghdr *nfo_nl_batch_add(struct nfo_nl_batch *b, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	batch_sync(b);
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	b->count++;
	b->last = nlh; /* the caller adds attributes */
	return nlh;
}

static int wait_readable(int fd)
{
	struct timeval tv = { .tv_sec = 5 };
	fd_set set;
	int n;

	FD_ZERO(&set);
	FD_SET(fd, &set);
	n = select(fd + 1, &set, NULL, NULL, &tv);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n ? 0 : -ETIMEDOUT;
}

/*
 * Receive up to NL_SLOTS messages without waiting; v[i] says where each is.
 * Returns how many, or -errno (-EAGAIN: nothing queued).
 */
static int recv_many(struct nfo_nl *nl, struct mmsghdr *v, struct iovec *iov)
{
	struct sockaddr_nl from[NL_SLOTS];
	int i, n;

	for (i = 0; i < NL_SLOTS; i++) {
		iov[i].iov_base = nl->buf + (size_t)i * NL_SLOT;
		iov[i].iov_len = NL_SLOT;
		memset(&v[i].msg_hdr, 0, sizeof(v[i].msg_hdr));
		v[i].msg_hdr.msg_iov = &iov[i];
		v[i].msg_hdr.msg_iovlen = 1;
		v[i].msg_hdr.msg_name = &from[i];
		v[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	do
		n = recvmmsg(nfo_nl_fd(nl), v, NL_SLOTS, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* Only the kernel speaks to these sockets: drop anything else (as libmnl does). */
	for (i = 0; i < n; i++)
		if (from[i].nl_pid)
			v[i].msg_len = 0;
	return n;
}

static ssize_t recv_wait(struct nfo_nl *nl)
{
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, nl->buf, nl->buflen);
		int err;

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		err = wait_readable(nfo_nl_fd(nl));
		if (err)
			return err;
	}
}

int nfo_nl_batch_flush(struct nfo_nl_batch *b, nfo_nl_cb cb, void *arg)
{
	bool done = false;
	struct nlmsghdr *req;
	int err = 0, left;

	batch_sync(b);
	if (!b->count)
		return 0;
	/*
	 * Numbered now, not when added: batches that share a socket (and its
	 * counter) fill in turns, and the answers are matched to requests by
	 * their distance from the first number.
	 */
	/*
	 * Only the last request asks for an acknowledgement: the kernel
	 * answers requests in order, and a failing one reports its error
	 * with or without the flag. One ack per batch instead of one per
	 * request (each a message to receive).
	 */
	b->first_seq = b->nl->seq + 1;
	left = (int)b->len;
	for (req = (struct nlmsghdr *)b->buf; mnl_nlmsg_ok(req, left);
	     req = mnl_nlmsg_next(req, &left)) {
		req->nlmsg_seq = ++b->nl->seq;
		if (!b->reply_completes) {
			req->nlmsg_flags &= ~NLM_F_ACK;
			if (req->nlmsg_seq == b->first_seq + b->count - 1)
				req->nlmsg_flags |= NLM_F_ACK;
		}
	}
	if (mnl_socket_sendto(b->nl->sk, b->buf, b->len) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		struct mmsghdr v[NL_SLOTS];
		struct iovec iov[NL_SLOTS];
		int m = recv_many(b->nl, v, iov), i;

		if (m == -EAGAIN)
			m = wait_readable(nfo_nl_fd(b->nl));
		if (m < 0) {
			err = m;
			goto out;
		}
		for (i = 0; i < m; i++) {
			struct nlmsghdr *nlh = v[i].msg_hdr.msg_iov->iov_base;
			int rem = (int)v[i].msg_len;

			for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
				unsigned int idx = nlh->nlmsg_seq - b->first_seq;
				bool last = idx == b->count - 1;

				if (nlh->nlmsg_pid != b->nl->portid || idx >= b->count)
					continue; /* stale answer from an earlier batch */
				if (nlh->nlmsg_type == NLMSG_ERROR) {
					struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

					if (e->error && cb)
						cb(idx, NULL, e->error, arg);
					done |= last;
				} else if (nlh->nlmsg_type == NLMSG_DONE) {
					done |= last;
				} else {
					if (cb)
						cb(idx, nlh, 0, arg);
					done |= last && b->reply_completes;
				}
			}
		}
	}
out:
	b->len = 0;
	b->count = 0;
	return err;
}

int nfo_nl_dump(struct nfo_nl *nl, struct nlmsghdr *req, nfo_nl_cb cb, void *arg)
{
	req->nlmsg_seq = ++nl->seq;
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
	if (mnl_socket_sendto(nl->sk, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv_wait(nl);
		struct nlmsghdr *nlh;
		int rem, ret;

		if (n < 0)
			return n;
		rem = n;
		for (nlh = (struct nlmsghdr *)nl->buf; mnl_nlmsg_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_seq != nl->seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				return e->error;
			}
			ret = cb(0, nlh, 0, arg);
			if (ret < 0)
				return ret;
		}
	}
}

int nfo_nl_read_events(struct nfo_nl *nl, nfo_nl_cb cb, void *arg, int max)
{
	struct mmsghdr v[NL_SLOTS];
	struct iovec iov[NL_SLOTS];
	bool trunc = false;
	int count = 0;

	for (;;) {
		int m = recv_many(nl, v, iov), i;

		if (m == -EAGAIN)
			return trunc ? -ENOBUFS : count;
		if (m < 0)
			return m;
		for (i = 0; i < m; i++) {
			struct nlmsghdr *nlh = v[i].msg_hdr.msg_iov->iov_base;
			int rem = (int)v[i].msg_len;

			if (v[i].msg_hdr.msg_flags & MSG_TRUNC) {
				/* Larger than a slot (no kernel notification is): lost. */
				trunc = true;
				continue;
			}
			for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
				if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE)
					continue;
				count++;
				cb(0, nlh, 0, arg);
			}
		}
		if (count >= max)
			return trunc ? -ENOBUFS : count; /* more is queued: epoll wakes us again */
	}
}
