// SPDX-License-Identifier: GPL-2.0-only
/*
 * sink_drop.bpf.c - the benchmark's packet sink.
 *
 * Attached (XDP, native) to the sink namespace's veth. It drops the
 * benchmark's 64-byte IPv4/UDP frames (IP total length 46) before they cost
 * an skb, a socket lookup or an ICMP error, so the sink adds as little as
 * possible to the CPU the whole pipeline shares; the veth's rx counters still
 * count every frame that arrived. Everything else (ARP, the request/reply
 * exchange that creates the flows, iperf3) passes to the stack.
 * A native XDP program also keeps the veth's NAPI on, which XDP redirects
 * into this veth need.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define BENCH_IP_LEN 46 /* 20 IPv4 + 8 UDP + 18 payload: a 64-byte frame with FCS */

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int sink_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->protocol == IPPROTO_UDP && ip->tot_len == bpf_htons(BENCH_IP_LEN))
		return XDP_DROP;
	return XDP_PASS;
}
