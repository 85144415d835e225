// SPDX-License-Identifier: GPL-2.0-only
/*
 * prio_count.bpf.c - test helper (tc egress of a router device): counts the
 * UDP datagrams to port 7 that leave, by skb->priority (0-6; 7: any other),
 * the value an egress qdisc (pfifo_fast, prio, mqprio) picks its band by.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u64 by_prio[8];

SEC("tc")
int prio_count(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct udphdr *uh;
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > end || iph->ihl != 5)
			return TC_ACT_OK;
		proto = iph->protocol;
		uh = (void *)(iph + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > end)
			return TC_ACT_OK;
		proto = ip6h->nexthdr;
		uh = (void *)(ip6h + 1);
	} else {
		return TC_ACT_OK;
	}
	if (proto != IPPROTO_UDP || (void *)(uh + 1) > end || uh->dest != bpf_htons(7))
		return TC_ACT_OK;
	__sync_fetch_and_add(&by_prio[skb->priority < 7 ? skb->priority : 7], 1);
	return TC_ACT_OK;
}
