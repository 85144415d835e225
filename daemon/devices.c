// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft-offload run, offload devices: attach and detach, link events (up/down,
 * MAC, bridge ports), neighbours, who owns each device.
 */
#include <errno.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include "bridge.h"
#include "log.h"
#include "neigh.h"
#include "owner.h"

#include "ctx.h"
#include "gc.h"
#include "iprules.h"
#include "devices.h"

static int check_owner(struct daemon *d, struct dev *dv, uint32_t ifindex);

struct dev *dev_by_ifindex(struct daemon *d, uint32_t ifindex)
{
	int i;

	for (i = 0; i < d->dv.ndevs; i++)
		if (d->dv.devs[i].ifindex == ifindex && ifindex)
			return &d->dv.devs[i];
	return NULL;
}

static struct dev *dev_by_name(struct daemon *d, const char *name)
{
	int i;

	for (i = 0; i < d->dv.ndevs; i++)
		if (!strcmp(d->dv.devs[i].name, name))
			return &d->dv.devs[i];
	return NULL;
}

/* Slot for a device: the one it had in the pinned state, else a free one. */
static uint32_t pick_slot(struct daemon *d, const char *name)
{
	uint32_t slot, free_slot = 0;
	int i;

	for (slot = 1; slot < NFO_MAX_SLOTS; slot++) {
		struct nfo_slot s;
		bool taken = false;

		if (nfo_dp_slot_get(d->dp, slot, &s))
			continue;
		if (s.name[0] && !strcmp(s.name, name))
			return slot;
		for (i = 0; i < d->dv.ndevs; i++)
			if (d->dv.devs[i].slot == slot)
				taken = true;
		if (!s.name[0] && !taken && !free_slot)
			free_slot = slot;
	}
	return free_slot;
}

static enum nfo_mode resolve_auto(const struct nfo_link *l, uint64_t features, bool have_feat)
{
	/*
	 * XDP where the driver does it natively and can also transmit
	 * redirected frames; veth copies every skb for XDP, so tc is faster
	 * there. Everything else: tc.
	 */
	if (!have_feat || strcmp(l->kind, "") || !(features & NFO_XDP_ACT_BASIC) ||
	    !(features & NFO_XDP_ACT_REDIRECT) || !(features & NFO_XDP_ACT_NDO_XMIT))
		return NFO_MODE_TC;
	return NFO_MODE_XDP;
}

/* Every device configured for xdp-generic: every redirect is a generic one. */
static bool all_generic(const struct daemon *d)
{
	int i;

	for (i = 0; i < d->dv.ndevs; i++)
		if (d->dv.devs[i].want != NFO_MODE_XDP_GENERIC)
			return false;
	return true;
}

static uint32_t xdp_tx_flag(const struct daemon *d, const struct dev *dv)
{
	uint64_t f;

	if (dv->mode != NFO_MODE_XDP && dv->mode != NFO_MODE_XDP_GENERIC)
		return 0;
	/*
	 * A redirect from generic XDP leaves through the device's normal
	 * transmit (a bridge's too), not through its XDP transmit.
	 */
	if (dv->mode == NFO_MODE_XDP_GENERIC && all_generic(d))
		return NFO_DEV_XDP_TX;
	/* Unknown features (old kernel): trust the mode. */
	if (nfo_xdp_features(dv->ifindex, &f) || (f & NFO_XDP_ACT_NDO_XMIT))
		return NFO_DEV_XDP_TX;
	return 0;
}

int publish_dev(struct daemon *d, struct dev *dv)
{
	uint32_t keptoff = dv->netdev_chain ? NFO_DEV_NETDEV_CHAIN : 0;
	struct nfo_dev nd = { .slot = dv->slot, .flags = dv->flags | xdp_tx_flag(d, dv) | keptoff };
	struct nfo_slot s = { .ifindex = dv->ifindex, .flags = dv->flags | keptoff };

	memcpy(nd.mac, dv->mac, 6);
	snprintf(s.name, sizeof(s.name), "%s", dv->name);
	s.attached_ns = mono_now_ns();
	return nfo_dp_dev_set(d->dp, dv->ifindex, &nd) ?: nfo_dp_slot_set(d->dp, dv->slot, &s);
}

/*
 * Routed packets of a bridged LAN arrive on the bridge device, never on its
 * ports: a port as an offload device would offload nothing. Say which device
 * to give instead.
 */
static int refuse_bridge_port(struct daemon *d, const struct dev *dv, const struct nfo_link *l)
{
	char br[IFNAMSIZ];
	int r = nfo_bridge_of(&d->rt_req, l, br, sizeof(br));

	if (r < 0) {
		pr_err("%s: cannot read its master device: %s", dv->name, strerror(-r));
		return r;
	}
	if (r) {
		pr_err("%s is a port of bridge %s: routed packets arrive on %s, not on its "
		       "ports; give %s as the device instead of %s",
		       dv->name, br, br, br, dv->name);
		return -EINVAL;
	}
	return 0;
}

/* The first configured device that is a bridge, or NULL. */
static const char *bridge_among(struct daemon *d)
{
	int i;

	for (i = 0; i < d->dv.ndevs; i++) {
		struct nfo_link l;

		if (!nfo_link_get(&d->rt_req, 0, d->dv.devs[i].name, &l) && nfo_link_is_bridge(&l))
			return d->dv.devs[i].name;
	}
	return NULL;
}

/*
 * An XDP redirect cannot enter a bridge (a bridge has no XDP transmit), and a
 * bridge has no native XDP: with a bridge among the devices, auto means tc,
 * and the devices use tc, or all xdp-generic (whose redirects go through the
 * normal transmit) - anything else would offload one direction only.
 */
#define BRIDGE_MODES_HINT "use tc on every device, or xdp-generic on every device"

static int bridge_modes(struct daemon *d, struct dev *dv)
{
	const char *br = bridge_among(d);
	int i;

	if (!br)
		return 0;
	if (dv->want == NFO_MODE_AUTO)
		dv->mode = NFO_MODE_TC;
	for (i = 0; i < d->dv.ndevs; i++) {
		const struct dev *o = &d->dv.devs[i];
		enum nfo_mode m = o->want == NFO_MODE_AUTO ? NFO_MODE_TC : o->want;

		if (dv->mode != NFO_MODE_XDP && (o == dv || m == dv->mode))
			continue;
		if (o == dv)
			pr_err("%s: mode xdp cannot offload both directions: %s is a bridge, "
			       "and a bridge has no native XDP; %s",
			       dv->name, br, BRIDGE_MODES_HINT);
		else
			pr_err("%s in mode %s and %s in mode %s cannot offload both directions: "
			       "%s is a bridge, and an XDP redirect cannot enter a bridge; %s",
			       dv->name, nfo_mode_names[dv->mode], o->name, nfo_mode_names[m], br,
			       BRIDGE_MODES_HINT);
		return -EINVAL;
	}
	return 0;
}

/* Attach to one device. Errors are printed here, once, naming the device. */
int attach_dev(struct daemon *d, struct dev *dv, const struct nfo_link *l)
{
	uint64_t feat = 0;
	bool have_feat = !nfo_xdp_features(l->ifindex, &feat);
	uint32_t how;
	int err;

	err = refuse_bridge_port(d, dv, l);
	if (err)
		return err;
	if (l->ifindex >= nfo_dp_max_ifindex(d->dp)) {
		pr_err("%s: ifindex %u is beyond the devices map (%u entries)", dv->name,
		       l->ifindex, nfo_dp_max_ifindex(d->dp));
		return -ERANGE;
	}
	if (!dv->slot)
		dv->slot = pick_slot(d, dv->name);
	if (!dv->slot) {
		pr_err("%s: no free device slot (at most %d devices)", dv->name, NFO_MAX_SLOTS - 1);
		return -ENOSPC;
	}
	dv->ifindex = l->ifindex;
	dv->bridge = nfo_link_is_bridge(l);
	memcpy(dv->mac, l->mac, 6);
	dv->up = l->up;
	dv->mode = dv->want == NFO_MODE_AUTO ? resolve_auto(l, feat, have_feat) : dv->want;
	err = bridge_modes(d, dv);
	if (err)
		return err;
	dv->flags = d->cfg->force ? NFO_DEV_FORCED : 0;
	err = check_owner(d, dv, l->ifindex);
	if (err)
		return err;

	err = nfo_dp_attach(d->dp, dv->ifindex, dv->mode, d->cfg->force, &how);
	if (dv->mode == NFO_MODE_TC) {
		if (err == -EBUSY)
			pr_err("%s already has tc ingress filters that are not ours; "
			       "use --force to add ours beside them",
			       dv->name);
		else if (err)
			pr_err("cannot attach to %s (tc ingress): %s", dv->name, strerror(-err));
		if (err)
			return err;
		dv->flags |= how;
		/* Keep what an earlier run knew: it may have created the qdisc. */
		{
			struct nfo_slot old;

			if (!nfo_dp_slot_get(d->dp, dv->slot, &old) && old.ifindex == dv->ifindex)
				dv->flags |= old.flags & NFO_DEV_CLSACT_OURS;
		}
	} else {
		bool generic = dv->mode == NFO_MODE_XDP_GENERIC;

		if (err == -EBUSY)
			pr_err("%s already has an XDP program that is not ours; use --force to "
			       "replace it",
			       dv->name);
		else if (err == -EOPNOTSUPP && !generic)
			pr_err("cannot attach to %s: its driver has no native XDP (use mode tc, "
			       "or xdp-generic)",
			       dv->name);
		else if (err)
			pr_err("cannot attach XDP to %s: %s", dv->name, strerror(-err));
		if (err)
			return err;
		dv->flags |= how;
	}
	dv->attached = true;
	err = publish_dev(d, dv);
	if (err) {
		pr_err("%s: cannot update the devices map: %s", dv->name, strerror(-err));
		return err;
	}
	pr_info("%s: attached (%s%s)%s", dv->name, nfo_mode_names[dv->mode],
		dv->want == NFO_MODE_AUTO ? ", auto" : "",
		!(dv->flags & NFO_DEV_XDP)	  ? "" :
		(dv->flags & NFO_DEV_XDP_VLAN) ? "; frames whose VLAN tag the driver took out go to "
						  "the stack" :
						  "; frames whose VLAN tag the driver took out look "
						  "untagged to XDP (see README, Limits)");
	return 0;
}

void detach_dev(struct daemon *d, struct dev *dv, bool unpublish)
{
	struct nfo_dev none = {};
	int err = 0;

	if (!dv->ifindex)
		return;
	if (dv->attached)
		err = nfo_dp_detach(d->dp, dv->ifindex, dv->flags);
	if (err && err != -ENODEV)
		pr_warn("cannot detach from %s: %s", dv->name, strerror(-err));
	if (unpublish)
		nfo_dp_dev_set(d->dp, dv->ifindex, &none);
	dv->attached = false;
}

static void link_removed(struct daemon *d, struct dev *dv)
{
	long n = evict_all(d, EVICT_DEVICE, dv->ifindex);

	pr_warn("%s: device removed; %ld connections back to the stack", dv->name, n);
	dv->attached = false;
	dv->ifindex = 0;
	dv->up = false;
}

/*
 * An offload device that joins a bridge while running: its routed packets now
 * arrive on the bridge, so its flows can never match again.
 */
static void master_update(struct daemon *d, struct dev *dv, const struct nfo_link *l)
{
	char br[IFNAMSIZ];
	long n;

	if (dv->master == l->master)
		return;
	dv->master = l->master;
	if (nfo_bridge_of(&d->rt_req, l, br, sizeof(br)) == 1) {
		n = evict_all(d, EVICT_DEVICE, dv->ifindex);
		pr_warn("%s joined bridge %s: routed packets arrive on %s now, not on %s; "
			"%ld connections back to the stack (offload %s instead)",
			dv->name, br, br, dv->name, n, br);
	} else if (!l->master) {
		pr_info("%s: no longer a port of a bridge", dv->name);
	}
}

/* A link as it is now (event or query): attach, follow up/down and MAC. */
static void link_update(struct daemon *d, const struct nfo_link *l)
{
	struct dev *dv = dev_by_ifindex(d, l->ifindex);
	long n;

	if (!dv) {
		/* A configured device (re)appeared: attach to it. */
		dv = dev_by_name(d, l->name);
		if (dv && !dv->ifindex && attach_dev(d, dv, l) == 0)
			pr_info("%s: device is back", dv->name);
		return;
	}
	if (dv->up && !l->up) {
		n = evict_all(d, EVICT_DEVICE, dv->ifindex);
		pr_warn("%s: device down; %ld connections back to the stack", dv->name, n);
	} else if (!dv->up && l->up) {
		pr_info("%s: device up", dv->name);
	}
	dv->up = l->up;
	master_update(d, dv, l);
	if (memcmp(dv->mac, l->mac, 6)) {
		memcpy(dv->mac, l->mac, 6);
		publish_dev(d, dv);
	}
}

static bool neigh_dev_cb(void *arg, uint32_t ifindex)
{
	struct daemon *d = arg;
	struct dev *dv = dev_by_ifindex(d, ifindex);

	/* Only while the fast path may be the neighbour's only user. */
	return dv && dv->attached && d->tab.count;
}

static void neigh_event(struct daemon *d, const struct nlmsghdr *nlh)
{
	int r = nfo_neigh_event(&d->rt_req, nlh, neigh_dev_cb, d);

	if (r < 0 && r != -ENOENT)
		pr_warn("cannot ask for a neighbour to be resolved again: %s", strerror(-r));
}

static int rt_event_cb(unsigned int idx, const struct nlmsghdr *nlh, int err, void *arg)
{
	struct daemon *d = arg;
	struct nfo_link l;
	struct dev *dv;

	/* Any route, rule, neighbour or link change: cached next hops are stale. */
	nfo_dp_route_gen_bump(d->dp);
	if (nlh->nlmsg_type == RTM_NEWNEIGH) {
		neigh_event(d, nlh);
		return 0;
	}
	if (nlh->nlmsg_type == RTM_NEWRULE || nlh->nlmsg_type == RTM_DELRULE) {
		iprules_changed(d);
		return 0;
	}
	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return 0;
	if (nfo_link_parse(nlh, &l))
		return 0;
	/*
	 * AF_BRIDGE messages are the bridge's notifications about a port
	 * (joined, changed, left: RTM_DELLINK): never the device going away.
	 * The device's own AF_UNSPEC message follows with its new master.
	 */
	if (l.family == AF_BRIDGE)
		return 0;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		dv = dev_by_ifindex(d, l.ifindex);
		if (dv)
			link_removed(d, dv);
		return 0;
	}
	link_update(d, &l);
	return 0;
}

/* Link events were lost: ask for each configured device as it is now. */
static void links_resync(struct daemon *d)
{
	int i;

	for (i = 0; i < d->dv.ndevs; i++) {
		struct dev *dv = &d->dv.devs[i];
		struct nfo_link l;
		int err = nfo_link_get(&d->rt_req, 0, dv->name, &l);

		/* Gone, or removed and created again under the same name. */
		if (dv->ifindex && (err || l.ifindex != dv->ifindex))
			link_removed(d, dv);
		if (!err)
			link_update(d, &l);
	}
}

void read_rt_events(struct daemon *d)
{
	int n = nfo_nl_read_events(&d->rt_ev, rt_event_cb, d, 4096);

	if (n == -ENOBUFS) {
		nfo_dp_route_gen_bump(d->dp); /* whatever the lost events said */
		pr_warn("link events lost (receive buffer full); checking the devices again");
		links_resync(d);
	} else if (n < 0) {
		pr_warn("reading link events: %s", strerror(-n));
	}
	if (d->rules.policy_due || n == -ENOBUFS)
		policy_refresh(d, false);
}

void refresh_xdp_tx(struct daemon *d)
{
	int i;

	for (i = 0; i < d->dv.ndevs; i++)
		if (d->dv.devs[i].attached && (d->dv.devs[i].flags & NFO_DEV_XDP))
			publish_dev(d, &d->dv.devs[i]);
}

/* One owner per device: refuse a device another instance's program is on. */
static int check_owner(struct daemon *d, struct dev *dv, uint32_t ifindex)
{
	struct nfo_owner o;
	char who[256];

	if (nfo_dp_dev_owner(d->dp, ifindex, &o) || !o.present || o.ours)
		return 0;
	nfo_owner_str(&o, who, sizeof(who));
	if (d->cfg->force && !o.pid) {
		/* Left behind by an instance whose pins are gone: nobody to ask. */
		pr_warn("%s: replacing the program of %s (--force)", dv->name, who);
		return 0;
	}
	pr_err("%s is already offloaded by %s: refusing to take it over (stop that instance "
	       "with 'nft-offload stop --pin-dir %s', or leave %s out)",
	       dv->name, who, o.pin_dir[0] ? o.pin_dir : "DIR", dv->name);
	return -EBUSY;
}

/* Our programs still where we put them? (status reports it too) */
void watch_owners(struct daemon *d)
{
	char who[256];
	int i;

	for (i = 0; i < d->dv.ndevs; i++) {
		struct dev *dv = &d->dv.devs[i];
		struct nfo_owner o;
		bool lost;

		if (!dv->attached || !dv->ifindex ||
		    nfo_dp_dev_owner(d->dp, dv->ifindex, &o))
			continue;
		lost = !o.present || !o.ours;
		if (lost && !dv->owner_lost) {
			nfo_owner_str(&o, who, sizeof(who));
			pr_warn(
			    "%s: nft-offload's program is no longer on the device (%s): "
			    "nothing is offloaded through it; restart the daemon to attach again",
			    dv->name, o.present ? who : "removed by someone else");
		} else if (!lost && dv->owner_lost) {
			pr_info("%s: nft-offload's program is on the device again", dv->name);
		}
		dv->owner_lost = lost;
	}
}

/* A configured device (it may not exist yet). */
void devices_add(struct daemon *d, const char *name, enum nfo_mode want)
{
	struct dev *dv = &d->dv.devs[d->dv.ndevs++];

	snprintf(dv->name, IFNAMSIZ, "%s", name);
	dv->want = want;
}
