// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload stop: the daemon stops (it hands every connection back), and
 * whatever is left behind (a daemon killed, on-exit = keep, no pins at all)
 * is removed here.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "nft.h"
#include "runrec.h"

#define STOP_WAIT_S 120 /* as the systemd unit's TimeoutStopSec */

static bool alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

static int events_setting(void)
{
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_events", "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* SIGTERM and wait: it hands every connection back to conntrack first. */
static int stop_daemon(pid_t pid)
{
	int i;

	kill(pid, SIGTERM);
	/* About 10 s for a million connections here: say why it takes long. */
	for (i = 1; i <= STOP_WAIT_S * 20 && alive(pid); i++) {
		usleep(50000);
		if (i % 100 == 0 && alive(pid))
			fprintf(stderr, "nft-offload: still stopping after %ds (handing "
					"connections back to conntrack)\n",
				i / 20);
	}
	if (alive(pid)) {
		fprintf(stderr, "nft-offload: the daemon (pid %d) did not stop within %ds\n",
			(int)pid, STOP_WAIT_S);
		return 1;
	}
	return 0;
}

static int say_detach(int err, const char *what, const char *dev)
{
	if (err)
		fprintf(stderr, "nft-offload: cannot detach the %s program from %s: %s\n", what,
			dev, strerror(-err));
	else
		fprintf(stderr, "nft-offload: detached a leftover %s program from %s\n", what, dev);
	return err;
}

/*
 * No pins: find our programs on every device of this namespace (by their
 * names), our table and our marks, and remove them, saying each. Returns the
 * number of things removed, or -1 on a failure.
 */
static int remove_orphans(uint32_t mark, bool known_ours)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int n = 0, failed = 0;
	long m;

	for (i = ifs; i && i->if_index; i++) {
		struct nfo_hook_info h;

		if (nfo_hook_query(i->if_index, &h))
			continue;
		if (h.tc_ours)
			say_detach(nfo_detach_tc(i->if_index, false), "tc", i->if_name) ? failed++ :
											   n++;
		if (h.xdp_ours)
			say_detach(nfo_detach_xdp(i->if_index, -1), "XDP", i->if_name) ? failed++ :
											   n++;
	}
	if (ifs)
		if_freenameindex(ifs);
	if (nfo_nft_remove() == 0) {
		fprintf(stderr, "nft-offload: removed a leftover table %s %s\n", NFO_NFT_FAMILY,
			NFO_NFT_TABLE);
		n++;
	}
	/* The mark bit is ours only if something of ours was there. */
	if (n || known_ours) {
		m = nfo_ct_clear_marks(mark);
		if (m > 0)
			fprintf(stderr, "nft-offload: cleared ct mark 0x%08x from %ld conntrack "
					"entries\n",
				mark, m);
		n += m > 0;
	}
	return failed ? -1 : n;
}

int cmd_stop(struct cli *c, int argc, char **argv)
{
	const char *dir = cli_pin_dir(c);
	struct nfo_state st = {};
	struct nfo_dp *dp = NULL;
	struct nfo_runrec rr = {};
	bool have_rr;
	pid_t pid = 0;
	int rc = 0, n;

	if (argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[0]);
	if (nfo_dp_pinned(dir) && nfo_dp_open_pinned(dir, &dp) == 0)
		nfo_dp_state_get(dp, &st);
	/* The run record lives outside the pin directory: it survives the pins. */
	have_rr = !nfo_runrec_read(dir, &rr);
	if (dp && cli_daemon_alive(&st))
		pid = st.pid;
	else if (have_rr && nfo_pid_is_daemon(rr.pid))
		pid = rr.pid;
	if (pid) {
		if (dp)
			fprintf(stderr, "nft-offload: stopping the daemon (pid %d)\n", (int)pid);
		else
			fprintf(stderr, "nft-offload: the pins in %s are gone; stopping the daemon "
					"found by its run record (pid %d)\n",
				dir, (int)pid);
		if (stop_daemon(pid)) {
			nfo_dp_close(dp);
			return 1;
		}
	}
	/* Whatever is left (daemon killed, or on-exit = keep): remove it here. */
	if (dp && nfo_dp_pinned(dir)) {
		rc = nfo_teardown(dp, dir) ? 1 : 0;
		if (have_rr)
			nfo_runrec_remove(dir); /* left by a daemon that was killed */
		nfo_dp_close(dp);
		if (!rc)
			fprintf(stderr, "nft-offload: stopped; nothing left behind\n");
		return rc;
	}
	nfo_dp_close(dp);
	n = remove_orphans(have_rr && rr.mark ? rr.mark : c->cfg.mark, have_rr || pid);
	if (have_rr && !pid) {
		/* Its daemon died without cleaning up. */
		if (rr.events_set && events_setting() == 1) {
			nfo_ct_events_restore();
			fprintf(stderr, "nft-offload: restored net.netfilter.nf_conntrack_events "
					"to 2\n");
			n += n >= 0;
		}
		nfo_runrec_remove(dir);
	}
	if (n < 0)
		return 1;
	if (pid && !dp && !n)
		fprintf(stderr, "nft-offload: stopped; the daemon removed its programs, table and "
				"marks, nothing is left behind\n");
	else if (n || pid)
		fprintf(stderr, "nft-offload: stopped; nothing left behind\n");
	else
		fprintf(stderr, "nft-offload: not running (nothing pinned in %s); nothing to stop\n",
			dir);
	return 0;
}
