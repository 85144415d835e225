// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, the loop: start (load, adopt, attach, install), the event
 * loop, signals and timers (tick), stop and rollback.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include "flowmem.h"
#include "log.h"
#include "nft.h"
#include "instance.h"
#include "rtnl.h"
#include "runrec.h"
#include "nft_watch.h"
#include "owner.h"

#include "ctx.h"
#include "daemon.h"
#include "ctreq.h"
#include "gc.h"
#include "iprules.h"
#include "devices.h"
#include "ruleset.h"
#include "admit.h"
#include "intake.h"

static void tick(struct daemon *d)
{
	static unsigned int ticks;
	uint64_t exp;

	if (read(d->timerfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	intake_tick(d);
	/* With nf_conntrack_events = 0 conntrack reports nothing, not even ends. */
	if (nfo_ct_events_revive()) {
		pr_warn("net.netfilter.nf_conntrack_events was set to 0, which silences every "
			"conntrack event nft-offload relies on; set it to 1 again");
		d->st.flags |= NFO_STATE_EVENTS_REVIVED;
	}
	idle_gc(d);
	nfo_exporter_tick(&d->mx);
	expire_waiters(d, false);
	release_waiters(d);
	intake_settle(d);
	if (++ticks % 10 == 0)
		refresh_xdp_tx(d);
	if (ticks % 5 == 0)
		watch_owners(d);
	admit_watch_ct_limit(d);
	admit_report(d);
	policy_report(d);
	publish_state(d);
}

/* systemd Type=notify without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

/* One daemon per pin directory: an abstract socket named after it. */
static int take_lock(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, n;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "nft-offload:%s", d->cfg->pin_dir);
	if (bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + n)) {
		close(fd);
		return -EADDRINUSE;
	}
	d->lockfd = fd;
	return 0;
}

struct adopt_arg {
	struct daemon *d;
	uint32_t when; /* first idle check */
};

/*
 * Rebuild the table from the pinned flow map (restart without a gap): each
 * whole connection joins it; a lone direction goes (its connection is back
 * on the kernel path). A connection keyed after a bridge's destination NAT
 * has no key that names it: back to the stack too; the start's conntrack
 * dump offloads it again.
 */
static int adopt_cb(const struct nfo_fp_conn *fc, void *arg)
{
	struct adopt_arg *a = arg;
	struct nfo_conn *c = NULL;
	int dir;

	if (fc->have[0] && fc->have[1] && !(fc->flow[0].flags & NFO_FLOW_AFTER_DNAT) &&
	    !nfo_flowtable_find(&a->d->tab, &fc->orig, 0))
		c = calloc(1, sizeof(*c));
	if (!c) {
		for (dir = 0; dir < 2; dir++)
			if (fc->have[dir])
				nfo_dp_flow_del(a->d->dp, fc->family, &fc->key[dir]);
		return 0;
	}
	c->orig = fc->orig;
	c->key[0] = fc->key[0];
	c->key[1] = fc->key[1];
	c->ct_id = fc->ct_id;
	c->tcp_state = TCP_CONNTRACK_ESTABLISHED;
	c->assured = 1;
	c->fp_holds = nfo_dp_ct_holds(a->d->dp) && (fc->flow[0].flags & NFO_FLOW_CT_HOLD) &&
		      (fc->flow[1].flags & NFO_FLOW_CT_HOLD);
	c->gen = a->d->in.gen;
	nfo_flowtable_insert(&a->d->tab, c);
	nfo_flowtable_schedule(&a->d->tab, c, a->when);
	return 0;
}

static void adopt(struct daemon *d)
{
	struct adopt_arg a = { .d = d, .when = mono_now_s() + d->cfg->idle_timeout };
	int err = nfo_fp_foreach_conn(d->dp, adopt_cb, &a);

	if (err)
		pr_warn("cannot read the pinned flow table: %s", strerror(-err));
	if (d->tab.count)
		pr_info("adopted %llu offloaded connections from the pinned flow table",
			(unsigned long long)d->tab.count);
}

static int open_sockets(struct daemon *d)
{
	int err;

	/* Each part opens its own; the route sockets are shared (ours). */
	err = ctreq_open(d);
	err = err ?: intake_open(d); /* after ctreq: it ignores the events of its requests */
	err = err ?: ruleset_open(d);
	err = err ?: nfo_nl_open(&d->rt_ev, NETLINK_ROUTE, nfo_rtnl_event_groups());
	err = err ?: nfo_nl_join(&d->rt_ev, RTNLGRP_IPV4_RULE);
	err = err ?: nfo_nl_join(&d->rt_ev, RTNLGRP_IPV6_RULE);
	err = err ?: nfo_nl_open(&d->rt_req, NETLINK_ROUTE, 0);
	if (!err) {
		nfo_nl_set_rcvbuf(&d->rt_req, 4 << 20);
		nfo_nl_set_rcvbuf(&d->rt_ev, 1 << 20); /* bursts of link changes */
	}
	err = err ?: admit_open(d);
	if (err)
		pr_err("cannot open netlink sockets (conntrack events need "
		       "CONFIG_NF_CONNTRACK_EVENTS): %s",
		       strerror(-err));
	return err;
}

static void close_sockets(struct daemon *d)
{
	admit_close(d);
	ctreq_close(d);
	intake_close(d);
	ruleset_close(d);
	iprules_close(d);
	nfo_nl_close(&d->rt_ev);
	nfo_nl_close(&d->rt_req);
}

static int setup_loop(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[] = { nfo_nl_fd(&d->in.ct_ev), nfo_nl_fd(&d->rs.nft_ev), nfo_nl_fd(&d->rt_ev),
		      0, 0, 0 };
	sigset_t set;
	unsigned int i;
	int err;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->epfd < 0)
		return -errno;
	timerfd_settime(d->timerfd, 0, &its, NULL);
	fds[3] = d->sigfd;
	fds[4] = d->timerfd;
	err = nfo_dp_events_open(d->dp, fast_path_event, d);
	if (err) {
		errno = -err;
		return err;
	}
	fds[5] = nfo_dp_events_fd(d->dp);
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		ev.data.fd = fds[i];
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fds[i], &ev))
			return -errno;
	}
	ev.data.fd = nfo_nl_fd(&d->in.nflog);
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	/* Dumps are read in slices, each armed again when due (intake_bg_wait_ns). */
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.fd = nfo_nl_fd(&d->in.ct_dump);
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	d->dump_armed = true;
	ev.events = EPOLLIN;
	if (d->rs.xfrm_ev_open) {
		ev.data.fd = nfo_nl_fd(&d->rs.xfrm_ev);
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
			return -errno;
	}
	return nfo_exporter_watch(&d->mx, d->epfd);
}

static void handle_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			pr_info("SIGHUP: configuration is read at start; restart to apply changes");
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			/* At the next tick, like a resync after lost events. */
			pr_info("SIGUSR1: full conntrack resync requested");
			intake_resync_soon(d);
			continue;
		}
		pr_info("%s received, %s", strsignal(si.ssi_signo),
			d->cfg->keep_on_exit ? "leaving offload in place (on-exit = keep)"
					     : "removing nft-offload");
		d->stop = true;
	}
}

static void shutdown_all(struct daemon *d)
{
	int i;

	/* Programs off first, so no packet is fast-forwarded meanwhile. */
	for (i = 0; i < d->dv.ndevs; i++)
		detach_dev(d, &d->dv.devs[i], true);
	/*
	 * Nobody reads the conntrack events any more: with our socket gone the
	 * kernel need not build one for each connection handed back below
	 * (the updates for a million took 9.2 s instead of 11.5 s).
	 */
	intake_stop_events(d);
	/*
	 * Then what stop does without a daemon too: every entry of the maps
	 * handed back to conntrack, the table and the marks and the pins gone,
	 * nf_conntrack_events restored (the state map says whether we set it).
	 */
	publish_state(d);
	nfo_teardown(d->dp, d->cfg->pin_dir);
}

/* Start-up failed: put back exactly what was there before. */
static void rollback(struct daemon *d, bool had_pins)
{
	int i;

	if (had_pins) {
		/* A restart: leave the running fast path as it was. */
		if (d->dp) {
			d->st.pid = 0;
			nfo_dp_state_set(d->dp, &d->st);
		}
		return;
	}
	for (i = 0; i < d->dv.ndevs; i++)
		detach_dev(d, &d->dv.devs[i], true);
	if (d->rs.table_created)
		nfo_nft_remove();
	if (d->st.flags & NFO_STATE_EVENTS_SET)
		nfo_ct_events_restore();
	nfo_dp_close(d->dp);
	d->dp = NULL;
	nfo_pins_remove_new(d->cfg->pin_dir, &d->pins_before);
}

/* Refuse to start when another daemon owns the pins, or they disagree. */
static int check_pins(struct daemon *d)
{
	struct nfo_state st;
	struct nfo_dp *old;
	int rc = 0;

	if (nfo_dp_open_pinned(d->cfg->pin_dir, &old))
		return 0;
	if (!nfo_dp_state_get(old, &st)) {
		if (nfo_pid_is_daemon(st.pid)) {
			pr_err("nft-offload is already running (pid %u)", st.pid);
			rc = -EEXIST;
		} else if (st.ct_mark && st.ct_mark != d->cfg->mark) {
			pr_err("the pinned state uses ct mark bit 0x%08x, not 0x%08x; run "
			       "'nft-offload stop' first to change it",
			       st.ct_mark, d->cfg->mark);
			rc = -EINVAL;
		}
	}
	nfo_dp_close(old);
	return rc;
}

/* A slice of the dump: the socket left the epoll set (one shot) until arm_dump(). */
static void read_dump(struct daemon *d)
{
	d->dump_armed = false;
	intake_dump_slice(d);
}

/* The dump socket back in the epoll set: its next slice is due, or no dump runs. */
static void arm_dump(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };

	if (d->dump_armed || intake_bg_wait_ns(d) > 0)
		return;
	ev.data.fd = nfo_nl_fd(&d->in.ct_dump);
	d->dump_armed = !epoll_ctl(d->epfd, EPOLL_CTL_MOD, ev.data.fd, &ev);
}

static void event_loop(struct daemon *d)
{
	while (!d->stop) {
		struct epoll_event evs[8];
		struct timespec ts, *tsp = NULL;
		int64_t timeout = -1, bg;
		int i, n;

		if (d->rs.revalidate_again_ns) {
			uint64_t now = mono_now_ns();

			timeout = d->rs.revalidate_again_ns > now
				      ? (int64_t)(d->rs.revalidate_again_ns - now)
				      : 0;
		}
		/*
		 * The walk's next step, or when to arm the dump socket again for
		 * its next slice (armed, it wakes us); the idle checks' next step.
		 */
		bg = intake_bg_wait_ns(d);
		if (bg >= 0 && (intake_sweeping(d) || !d->dump_armed) &&
		    (timeout < 0 || bg < timeout))
			timeout = bg;
		bg = gc_wait_ns(d);
		if (bg >= 0 && (timeout < 0 || bg < timeout))
			timeout = bg;
		if (intake_queued(d))
			timeout = 0; /* events read ahead: act on them first */
		if (timeout >= 0) {
			ts.tv_sec = timeout / 1000000000;
			ts.tv_nsec = timeout % 1000000000;
			tsp = &ts;
		}
		n = epoll_pwait2(d->epfd, evs, 8, tsp, NULL);
		if (d->rs.revalidate_again_ns && mono_now_ns() >= d->rs.revalidate_again_ns)
			revalidate_again(d);

		if (n < 0 && errno != EINTR) {
			pr_err("epoll: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == nfo_nl_fd(&d->in.ct_ev))
				read_ct_events(d);
			else if (fd == nfo_nl_fd(&d->in.ct_dump))
				read_dump(d);
			else if (fd == nfo_nl_fd(&d->rs.nft_ev))
				read_nft_events(d);
			else if (fd == nfo_nl_fd(&d->rt_ev))
				read_rt_events(d);
			else if (fd == nfo_nl_fd(&d->in.nflog))
				read_nflog(d);
			else if (d->rs.xfrm_ev_open && fd == nfo_nl_fd(&d->rs.xfrm_ev))
				read_xfrm_events(d);
			else if (fd == d->timerfd)
				tick(d);
			else if (fd == d->sigfd)
				handle_signal(d);
			else if (fd == nfo_dp_events_fd(d->dp))
				read_teardowns(d);
			else if (nfo_exporter_owns(&d->mx, fd))
				nfo_exporter_handle(&d->mx, fd, evs[i].events);
		}
		/* Answers any job's requests brought back: to the intake. */
		intake_settle(d);
		if (intake_queued(d))
			read_ct_events(d);
		if (intake_sweeping(d) && !intake_bg_wait_ns(d))
			intake_sweep_step(d);
		if (!gc_wait_ns(d))
			idle_gc_step(d);
		arm_dump(d);
	}
}

static int start(struct daemon *d, bool had_pins)
{
	struct nfo_dp_opts dopts = { .pin_dir = d->cfg->pin_dir,
				     .flow_capacity = d->cfg->flows,
				     .ct_hold_s = d->cfg->ct_timeout,
				     /* 1 by default; unreadable (-1): as the default */
				     .keep_priority = nfo_sysctl_int(
					     "/proc/sys/net/ipv4/ip_forward_update_priority", -1) == 0 };
	struct nfo_dp_summary dps;
	int i, err;

	if (!dopts.flow_capacity) {
		d->adm.ct_limit = nfo_ct_limit();
		dopts.flow_capacity = nfo_flows_for_ct_limit(d->adm.ct_limit);
	}

	if (nfo_dp_load(&dopts, &d->dp))
		return -1;
	if (open_sockets(d) || nfo_flowtable_init(&d->tab) || nfo_waitq_init(&d->waitq))
		return -1;
	d->tab.now = mono_now_s();

	nfo_dp_state_get(d->dp, &d->st);
	d->st.abi_version = NFO_ABI_VERSION;
	d->st.pid = getpid();
	d->st.started_ns = mono_now_ns();
	d->st.started_unix = time(NULL);
	d->st.ct_mark = d->cfg->mark;
	d->st.idle_timeout_s = d->cfg->idle_timeout;
	d->st.flow_capacity = nfo_dp_flow_capacity(d->dp);
	d->st.flows = 0;
	nfo_dp_summary(d->dp, &dps);
	d->st.devs_map_id = dps.owner_id;
	snprintf(d->st.pin_dir, sizeof(d->st.pin_dir), "%s", d->cfg->pin_dir);
	nfo_dp_state_set(d->dp, &d->st);
	nfo_exporter_start(&d->mx, d->dp);

	policy_refresh(d, true);
	if (nfo_dp_adopted(d->dp))
		adopt(d);
	for (i = 0; i < d->dv.ndevs; i++) {
		struct nfo_link l;

		err = nfo_link_get(&d->rt_req, 0, d->dv.devs[i].name, &l);
		if (err) {
			pr_err("device %s: %s", d->dv.devs[i].name, strerror(-err));
			return -1;
		}
		if (attach_dev(d, &d->dv.devs[i], &l))
			return -1;
	}
	if (nfo_ct_events_on()) {
		d->st.flags |= NFO_STATE_EVENTS_SET;
		if (d->runrec_written)
			nfo_runrec_write(d->cfg->pin_dir,
					 &(struct nfo_runrec){ .pid = getpid(),
							       .mark = d->cfg->mark,
							       .events_set = true });
		pr_info("net.netfilter.nf_conntrack_events 2 -> 1: connections report to "
			"nft-offload even when created while it restarts (restored at stop)");
	}
	if (!had_pins) {
		/*
		 * A fresh start: marks left in conntrack (by an earlier run that
		 * died, say) are vouched for by nobody. Clear them before our
		 * chain marks again, so that every flow is judged by today's
		 * ruleset first.
		 */
		long n = nfo_ct_clear_marks(d->cfg->mark);

		if (n > 0)
			pr_info("cleared stale ct mark 0x%08x from %ld conntrack entries",
				d->cfg->mark, n);
	}
	if (install_table(d))
		return -EINVAL; /* a selector nft refuses: configuration */
	check_ruleset(d, true);
	check_netdev_chains(d, true);
	xfrm_start(d);
	if (setup_loop(d)) {
		pr_err("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int nfo_daemon_run(struct nfo_config *cfg)
{
	struct nfo_nft_report r;
	struct nfo_dp_summary dps;
	struct daemon *d;
	char mem[32];
	uint32_t gen_before;
	bool had_pins;
	int i, err, rc = 1;

	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	d->cfg = cfg;
	d->lockfd = d->epfd = d->sigfd = d->timerfd = -1;
	d->mx.lfd = d->mx.cfd = -1;

	/* Checks that change nothing yet. */
	if (take_lock(d)) {
		pr_err("another nft-offload daemon is running for %s", cfg->pin_dir);
		goto out;
	}
	if (nfo_pin_dir_check(cfg->pin_dir)) {
		rc = 2;
		goto out;
	}
	err = nfo_nft_inspect(cfg->mark, &r);
	if (err) {
		pr_err("cannot read the nftables ruleset: %s", strerror(-err));
		goto out;
	}
	if (r.mark_conflicts) {
		pr_err("ct mark bits 0x%08x are already used by the ruleset (%s); choose others "
		       "with --mark",
		       cfg->mark, r.conflict);
		rc = 2;
		goto out;
	}
	for (i = 0; i < cfg->ndevices; i++) {
		if (if_nametoindex(cfg->devices[i]) == 0) {
			pr_err("device %s does not exist in this network namespace",
			       cfg->devices[i]);
			rc = 2;
			goto out;
		}
		devices_add(d, cfg->devices[i],
			    cfg->dev_mode[i] != NFO_MODE_AUTO ? cfg->dev_mode[i] : cfg->mode);
	}
	if (nfo_exporter_open(&d->mx, cfg))
		goto out;
	had_pins = nfo_dp_pinned(cfg->pin_dir);
	if (had_pins && check_pins(d))
		goto out;
	for (i = 0; i < cfg->nselectors; i++) {
		char e[512];

		if (nfo_nft_check_selector(cfg->selectors[i], e, sizeof(e))) {
			pr_err("%s", e);
			rc = 2;
			goto out;
		}
	}
	err = intake_open_nflog(d);
	if (err) {
		/* A group bound by another socket: EPERM to us, EBUSY to a second bind. */
		if (err == -EBUSY || err == -EPERM)
			pr_err("nflog group %u is taken by another listener; choose another with "
			       "--log-group (log-group = N)",
			       (unsigned int)cfg->log_group);
		else
			pr_err("cannot listen to nflog group %u (needs "
			       "CONFIG_NETFILTER_NETLINK_LOG): %s",
			       (unsigned int)cfg->log_group, strerror(-err));
		rc = err == -EBUSY || err == -EPERM ? 2 : 1;
		goto out;
	}
	nfo_pins_before(cfg->pin_dir, &d->pins_before);
	/* Outside the pin directory: 'stop' finds us even if the pins go. */
	err = nfo_runrec_write(cfg->pin_dir,
			       &(struct nfo_runrec){ .pid = getpid(), .mark = cfg->mark });
	if (err)
		pr_warn("cannot write the run record in %s: %s; 'nft-offload stop' will need the "
			"pins to find this daemon",
			NFO_RUN_DIR, strerror(-err));
	d->runrec_written = !err;
	/* Before our own table bumps it: did the ruleset change while no daemon ran? */
	if (nfo_nft_get_gen(&gen_before))
		gen_before = 0;

	err = start(d, had_pins);
	if (err) {
		rollback(d, had_pins);
		rc = err == -EINVAL ? 2 : 1;
		goto out_close;
	}
	nfo_log_set_timestamps(1); /* from here on, a long-running log */
	nfo_dp_summary(d->dp, &dps);
	revalidate_adopted(d, gen_before);
	if (intake_initial_dump(d))
		pr_warn("initial conntrack dump incomplete; retrying in the background");
	intake_started(d);
	publish_state(d);
	pr_info("running: %d devices, ct mark 0x%08x, idle timeout %us, capacity %llu "
		"connections per family%s (%s of kernel memory reserved)",
		d->dv.ndevs, cfg->mark, cfg->idle_timeout, (unsigned long long)nfo_dp_flow_capacity(d->dp),
		cfg->flows ? "" : admit_capacity_origin(d),
		nfo_bytes_str(dps.reserved_bytes, mem, sizeof(mem)));
	sd_notify_ready();

	event_loop(d);
	rc = 0;
	if (!cfg->keep_on_exit) {
		shutdown_all(d);
	} else {
		d->st.pid = 0;
		publish_state(d);
	}
out_close:
	nfo_exporter_close(&d->mx);
	if (d->tab.hash)
		nfo_flowtable_free(&d->tab);
	if (d->waitq.hash)
		nfo_waitq_free(&d->waitq);
	close_sockets(d);
	nfo_dp_close(d->dp);
out:
	nfo_exporter_close(&d->mx);
	intake_close(d);
	if (d->runrec_written)
		nfo_runrec_remove(cfg->pin_dir);
	if (d->lockfd >= 0)
		close(d->lockfd);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	free(d);
	return rc;
}
