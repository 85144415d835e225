// SPDX-License-Identifier: GPL-2.0-only
/*
 * vlan_push.bpf.c - test helper (tc egress of a sender): every IP packet
 * leaves with VLAN tag 10, held beside the frame as a driver holds a tag it
 * took out (skb metadata), not in it. A veth carries it across like that, so
 * the router's XDP program sees the frame untagged unless it asks its driver.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tc")
int vlan_push(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IP) || skb->protocol == bpf_htons(ETH_P_IPV6))
		bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 10);
	return TC_ACT_OK;
}
