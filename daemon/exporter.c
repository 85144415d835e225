// SPDX-License-Identifier: GPL-2.0-only
/* Metrics in the daemon: counters, GET /metrics, the textfile. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>


#include "acct.h"
#include "log.h"
#include "exporter.h"
#include "metrics.h"

#define CLIENT_TIMEOUT_NS (3 * 1000000000ULL) /* checked once a second */

static const uint64_t lat_bounds[] = NFO_LAT_BOUNDS_NS;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int nfo_exporter_open(struct nfo_exporter *x, const struct nfo_config *cfg)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, err;

	memset(x, 0, sizeof(*x));
	x->lfd = x->cfd = x->epfd = -1;
	x->cfg = cfg;
	if (!cfg->metrics_listen[0])
		return 0;
	if (nfo_parse_sockaddr(cfg->metrics_listen, &ss, &sl))
		return -EINVAL; /* checked when the setting was read */
	x->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->lfd < 0 ||
	    setsockopt(x->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(x->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(x->lfd, (struct sockaddr *)&ss, sl) || listen(x->lfd, 8)) {
		err = -errno;
		pr_err("cannot listen for metrics on %s: %s", cfg->metrics_listen, strerror(-err));
		if (x->lfd >= 0)
			close(x->lfd);
		x->lfd = -1;
		return err;
	}
	if (!is_loopback(&ss))
		pr_warn("metrics on %s are reachable from other hosts: the endpoint has no "
			"authentication", cfg->metrics_listen);
	return 0;
}

void nfo_exporter_start(struct nfo_exporter *x, struct nfo_dp *dp)
{
	x->dp = dp;
	/* A restart over the pins: counters go on where they were. */
	if (nfo_dp_metrics_get(dp, &x->m))
		memset(&x->m, 0, sizeof(x->m));
}

int nfo_exporter_watch(struct nfo_exporter *x, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = x->lfd };

	x->epfd = epfd;
	if (x->lfd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, x->lfd, &ev))
		return -errno;
	return 0;
}

bool nfo_exporter_owns(const struct nfo_exporter *x, int fd)
{
	return fd >= 0 && (fd == x->lfd || fd == x->cfd);
}

static void publish(struct nfo_exporter *x)
{
	if (x->dp)
		nfo_dp_metrics_set(x->dp, &x->m);
}

/* Done with the client: listen again. */
static void client_close(struct nfo_exporter *x)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = x->lfd };

	if (x->cfd < 0)
		return;
	close(x->cfd); /* also leaves the epoll set */
	x->cfd = -1;
	free(x->out);
	x->out = NULL;
	x->out_len = x->out_off = x->req_len = 0;
	epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->lfd, &ev);
}

static void client_accept(struct nfo_exporter *x)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = accept4(x->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* One request at a time: stop accepting until this one is done. */
	epoll_ctl(x->epfd, EPOLL_CTL_DEL, x->lfd, NULL);
	x->cfd = fd;
	x->cstart_ns = now_ns();
	ev.data.fd = fd;
	if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &ev))
		client_close(x);
}

static void respond(struct nfo_exporter *x, const char *status, const char *body, size_t blen)
{
	FILE *f = open_memstream(&x->out, &x->out_len);
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = x->cfd };

	if (!f) {
		client_close(x);
		return;
	}
	fprintf(f, "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		   "Connection: close\r\n\r\n",
		status,
		strncmp(status, "200", 3) ? "text/plain; charset=utf-8" :
					    "text/plain; version=0.0.4; charset=utf-8",
		blen);
	fwrite(body, 1, blen, f);
	if (fclose(f) || epoll_ctl(x->epfd, EPOLL_CTL_MOD, x->cfd, &ev))
		client_close(x);
}

static void client_request(struct nfo_exporter *x)
{
	char method[8], path[64], *body = NULL;
	size_t blen = 0;
	int err;

	if (sscanf(x->req, "%7s %63s", method, path) != 2) {
		respond(x, "400 Bad Request", "bad request\n", 12);
		return;
	}
	if (strcmp(method, "GET")) {
		respond(x, "405 Method Not Allowed", "only GET\n", 9);
		return;
	}
	if (strcmp(path, "/metrics") && strncmp(path, "/metrics?", 9)) {
		respond(x, "404 Not Found", "metrics are at /metrics\n", 24);
		return;
	}
	publish(x);
	err = nfo_metrics_render_buf(x->dp, &body, &blen);
	if (err) {
		pr_warn("cannot render metrics: %s", strerror(-err));
		respond(x, "500 Internal Server Error", "cannot read the pinned state\n", 29);
		return;
	}
	respond(x, "200 OK", body, blen);
	free(body);
}

static void client_read(struct nfo_exporter *x)
{
	ssize_t n = recv(x->cfd, x->req + x->req_len, sizeof(x->req) - 1 - x->req_len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(x);
		return;
	}
	x->req_len += n;
	x->req[x->req_len] = '\0';
	if (strstr(x->req, "\r\n\r\n") || strstr(x->req, "\n\n"))
		client_request(x);
	else if (x->req_len == sizeof(x->req) - 1)
		respond(x, "431 Request Header Fields Too Large", "request too large\n", 18);
}

static void client_write(struct nfo_exporter *x)
{
	ssize_t n = send(x->cfd, x->out + x->out_off, x->out_len - x->out_off, MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		x->out_off += n;
	if (n <= 0 || x->out_off == x->out_len)
		client_close(x);
}

void nfo_exporter_handle(struct nfo_exporter *x, int fd, uint32_t events)
{
	if (fd == x->lfd) {
		if (x->cfd < 0)
			client_accept(x);
		return;
	}
	if (x->out)
		client_write(x);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(x);
}

static void write_file(struct nfo_exporter *x)
{
	const char *path = x->cfg->metrics_file;
	char tmp[sizeof(x->cfg->metrics_file) + 8];
	char *body = NULL;
	size_t blen = 0, off = 0;
	int fd, err;

	publish(x);
	err = nfo_metrics_render_buf(x->dp, &body, &blen);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!err) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		/* node_exporter runs as another user: readable whatever the umask. */
		if (fd < 0 || fchmod(fd, 0644))
			err = -errno;
		while (!err && off < blen) {
			ssize_t n = write(fd, body + off, blen - off);

			if (n < 0 && errno != EINTR)
				err = -errno;
			else if (n > 0)
				off += n;
		}
		if (fd >= 0 && close(fd) && !err)
			err = -errno;
		/* Readers see the old file or the new one, never half of one. */
		if (!err && rename(tmp, path))
			err = -errno;
		if (err)
			unlink(tmp);
	}
	free(body);
	if (err && err != x->file_err)
		pr_warn("cannot write metrics to %s: %s", path, strerror(-err));
	else if (!err && x->file_err)
		pr_info("metrics written to %s again", path);
	x->file_err = err;
}

void nfo_exporter_tick(struct nfo_exporter *x)
{
	struct nfo_leaving l;
	uint64_t now = now_ns();
	int n;

	/* Final counts the CLI queued (evict, flush). */
	for (n = 0; n < NFO_MAX_LEAVING && !nfo_acct_leaving_pop(x->dp, &l); n++) {
		if (nfo_acct_host_add(x->dp, &l))
			x->m.hosts_full++;
		if (nfo_log_get_level() >= NFO_LOG_DEBUG) {
			char a[INET6_ADDRSTRLEN];

			pr_debug("left the fast path (evicted by the CLI): a flow entry of host %s: "
				 "original %llu packets %llu bytes, reply %llu packets %llu bytes",
				 inet_ntop(l.host.family, l.host.addr, a, sizeof(a)),
				 (unsigned long long)l.packets[0], (unsigned long long)l.bytes[0],
				 (unsigned long long)l.packets[1], (unsigned long long)l.bytes[1]);
		}
	}
	publish(x);
	if (x->cfd >= 0 && now - x->cstart_ns > CLIENT_TIMEOUT_NS)
		client_close(x);
	if (x->cfg->metrics_file[0] && now >= x->next_write_ns) {
		x->next_write_ns = now + x->cfg->metrics_interval * 1000000000ULL;
		write_file(x);
	}
}

void nfo_exporter_close(struct nfo_exporter *x)
{
	if (x->cfd >= 0) {
		close(x->cfd);
		x->cfd = -1;
	}
	free(x->out);
	x->out = NULL;
	if (x->lfd >= 0)
		close(x->lfd);
	x->lfd = -1;
	/* No daemon, no figures: a stale file would say it still runs. */
	if (x->dp && x->cfg && x->cfg->metrics_file[0])
		unlink(x->cfg->metrics_file);
}

void nfo_exporter_latency(struct nfo_exporter *x, uint64_t ns)
{
	unsigned int i;

	for (i = 0; i < NFO_LAT_BUCKETS - 1 && ns > lat_bounds[i]; i++)
		;
	x->m.lat_bucket[i]++;
	x->m.lat_count++;
	x->m.lat_sum_ns += ns;
}

void nfo_exporter_leaving(struct nfo_exporter *x, const struct nfo_conn *c, unsigned int why,
			  const char *why_name)
{
	struct nfo_leaving l = { .flows = 1 };
	bool any = false;
	int dir;

	if (why < NFO_EVICT_SLOTS)
		x->m.evicted[why]++;
	for (dir = 0; dir < 2; dir++) {
		struct nfo_flow f;

		if (nfo_acct_take(x->dp, c->orig.family, &c->key[dir], &f))
			continue; /* taken by the CLI: it queued the counts */
		l.packets[dir] = f.packets;
		l.bytes[dir] = f.bytes;
		any = true;
	}
	if (!any)
		return;
	nfo_acct_host_key(&c->orig, &l.host);
	if (nfo_acct_host_add(x->dp, &l))
		x->m.hosts_full++;
	if (nfo_log_get_level() >= NFO_LOG_DEBUG) {
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

		pr_debug("left the fast path (%s): %s %s:%u -> %s:%u: original %llu packets "
			 "%llu bytes, reply %llu packets %llu bytes",
			 why_name, nfo_proto_str(c->orig.l4proto),
			 nfo_addr_str(c->orig.family, &c->orig.src, s, sizeof(s)),
			 ntohs(c->orig.sport),
			 nfo_addr_str(c->orig.family, &c->orig.dst, d, sizeof(d)),
			 ntohs(c->orig.dport), (unsigned long long)l.packets[0],
			 (unsigned long long)l.bytes[0], (unsigned long long)l.packets[1],
			 (unsigned long long)l.bytes[1]);
	}
}
