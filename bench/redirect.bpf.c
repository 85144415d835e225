// SPDX-License-Identifier: GPL-2.0-only
/*
 * redirect.bpf.c - the ceiling for any fast path on this topology.
 *
 * Every frame that enters the router's LAN veth is sent out of its WAN veth
 * with the sink's MAC as destination: no parsing, no lookup, no TTL, no NAT,
 * no checksum. Whatever rate this reaches, a real fast path cannot beat it;
 * nft-offload's rate divided by this one is its efficiency.
 *
 * The egress ifindex and the MACs are fixed at compile time (run.sh passes
 * them with -D) so that the program needs no map and no lookup at all.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#ifndef EGRESS_IFINDEX
#error "build with -DEGRESS_IFINDEX=N -DDST_MAC=0x..,.. -DSRC_MAC=0x..,.."
#endif

char LICENSE[] SEC("license") = "GPL";

static const unsigned char dst_mac[ETH_ALEN] = { DST_MAC };
static const unsigned char src_mac[ETH_ALEN] = { SRC_MAC };

static __always_inline int rewrite(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src_mac, ETH_ALEN);
	return 0;
}

SEC("xdp")
int limit_xdp(struct xdp_md *ctx)
{
	if (rewrite((void *)(long)ctx->data, (void *)(long)ctx->data_end))
		return XDP_PASS;
	return bpf_redirect(EGRESS_IFINDEX, 0);
}

SEC("tc")
int limit_tc(struct __sk_buff *skb)
{
	/* Packet-socket skbs may keep the Ethernet header out of the linear part. */
	if ((void *)(long)skb->data + ETH_HLEN > (void *)(long)skb->data_end &&
	    bpf_skb_pull_data(skb, ETH_HLEN))
		return TC_ACT_OK;
	if (rewrite((void *)(long)skb->data, (void *)(long)skb->data_end))
		return TC_ACT_OK;
	return bpf_redirect(EGRESS_IFINDEX, 0);
}
