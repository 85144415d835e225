// SPDX-License-Identifier: GPL-2.0-only
/*
 * The prose of the man page. The COMMANDS section is generated from the
 * command and option tables in main.c (the same ones --help prints), the keys
 * of CONFIGURATION FILE from the settings table in lib/config.c.
 */
#include <stddef.h>

const char *const nfo_man_sections[] = {
	"DESCRIPTION",
	"nft\\-offload gives established connections a fast path around the nftables "
	"ruleset, like the kernel's flowtable (\\fBflow add @ft\\fR), on any kernel with "
	"eBPF and any network device. The ruleset decides: nft\\-offload's own forward chain "
	"runs after every other forward chain and marks the conntrack entry of every TCP or UDP "
	"packet that got through them in state established, with one bit per direction. The "
	"daemon offloads a connection once both directions are marked (the ruleset accepted "
	"an established packet of each: a drop of one direction keeps the connection on the "
	"kernel path) and it is established (TCP) or has seen a reply (UDP), "
	"has no helper and no sequence adjustment, and both of its directions enter through "
	"offload devices. Later packets of that connection are then forwarded by a tc or XDP "
	"program: NAT rewrite with incremental checksums, TTL/hop limit decrement, route and "
	"neighbour lookup per packet, MAC rewrite, redirect.\n"
	".PP\n"
	"Anything the fast path does not fully understand goes to the normal stack unchanged: "
	"fragments, IP options, IPv6 extension headers, TTL 1, packets over the egress MTU "
	"(the stack sends the ICMP error), TCP FIN and RST (the flow is then torn down), no "
	"route, unresolved neighbour, egress not an offload device. \\fBnft\\-offload stats\\fR "
	"counts each reason per device.\n"
	".PP\n"
	"While a connection is offloaded its conntrack entry does not expire (its timeout is "
	"held at \\fBct\\-timeout\\fR) and TCP window tracking is told to be liberal, as the "
	"kernel flowtable does. A connection idle for \\fBidle\\-timeout\\fR leaves the fast "
	"path and conntrack gets its normal timeout back. When the ruleset changes, every "
	"offloaded connection goes back to it for re\\-validation: the ones still accepted are "
	"marked and offloaded again within milliseconds, the others meet the new rules. A "
	"change of set elements only (a blocklist updated by fail2ban, say) sends back only "
	"the connections whose addresses, ports or protocol fall on the changed elements; "
	"every connection goes back when the set's key is of another type, when a rule looks "
	"the set up through a transformation (a mask, a hash), or for a catch\\-all element.\n"
	".PP\n"
	"When the flow table is full, marked connections that do not fit stay on the kernel "
	"path untouched (normal conntrack timeouts and window tracking) and wait, first come "
	"first served, to be admitted as offloaded connections leave; \\fBstatus\\fR reports "
	"\\fBflow table full\\fR with their number as a problem.",
	"COMMANDS",
	NULL,
	"CONFIGURATION FILE",
	"\\fB/etc/nft\\-offload.conf\\fR holds \\fIkey\\fR = \\fIvalue\\fR lines; # starts a "
	"comment. Command\\-line options override it (a \\-\\-device or \\-\\-select replaces the "
	"file's list); k/M/G after a number are powers of 1024, a TIME is seconds or has a "
	"unit (30s, 5m, 1h). Keys:",
	"ROUTING",
	"The daemon finds the device each direction of a connection arrives on with a route "
	"lookup towards its sender: routing is assumed symmetric. Where it is not, packets of "
	"that direction simply miss the fast path (the flow key includes the ingress device). "
	"Egress is looked up per packet, so route and neighbour changes apply at once.",
	"ACCOUNTING",
	"Offloaded packets never reach conntrack: with net.netfilter.nf_conntrack_acct=1, "
	"conntrack's counters of an offloaded connection stop at the packets it saw (those "
	"before the offload and those the fast path passed to the stack). The kernel "
	"flowtable writes its counts back; no interface lets nft\\-offload do that, so "
	"\\fBconntrack \\-L\\fR, and tools that read conntrack (nlbwmon, LuCI), undercount "
	"offloaded traffic. Per direction, conntrack's counters plus the fast path's are the "
	"true totals: \\fBflows\\fR shows them as total_packets and total_bytes, "
	"\\fBflows \\-\\-conntrack\\fR prints conntrack's lines with them, and when a "
	"connection leaves the fast path its fast\\-path counts are logged (debug) and added "
	"to its host's totals, exported by \\fBmetrics\\fR as "
	"nft_offload_host_bytes_total{address,family,direction}. The host is the ORIGINAL "
	"direction's source (the LAN client); at most 4096 hosts are kept "
	"(nft_offload_host_table_full_total counts connections not added). After a connection "
	"has left the fast path, conntrack's own counters no longer include what the fast path "
	"carried: only the per\\-host totals do. Packets are counted as the stack sees them "
	"except for GSO packets, which the fast path counts as their segments.",
	"JSON OUTPUT",
	"\\fB\\-j\\fR makes status, flows, stats and explain print one JSON document with "
	"snake_case keys. flows: {\"flows\": [{\"ct_id\", \"family\", \"protocol\", \"state\", "
	"\"nat\", \"age_s\", \"idle_s\", \"original\": {\"src\", \"dst\", \"sport\", \"dport\", "
	"\"in\", \"out\", \"packets\", \"bytes\", \"total_packets\", \"total_bytes\"}, "
	"\"reply\": {...}}], \"count\"}: packets and bytes are the fast path's, "
	"total_packets and total_bytes conntrack's plus the fast path's (null when conntrack "
	"accounting is off; see ACCOUNTING). stats: "
	"{\"devices\": [{\"name\", \"ifindex\", \"mode\", \"fwd_packets\", \"fwd_bytes\", "
	"\"slow_path\": {REASON: packets}, \"slow_path_packets\"}], \"total\": {...}}. Reasons: "
	"no_flow, not_ip, other_host, proto, fragment, ip_options, ipv6_ext, malformed, ttl, "
	"tcp_fin_rst, tcp_syn, tcp_rst_blind, tcp_flags, teardown, udp_csum, no_route, no_neigh, "
	"mtu, egress, hairpin, snat_route, policy, error. tcp_rst_blind counts RSTs the fast path "
	"dropped, not passed. tcp_flags counts TCP segments with none of ACK, SYN and RST, which "
	"conntrack calls invalid. "
	"stats \\-\\-watch: one object per line, {\"time\", \"interval_ms\", \"devices\": "
	"[{\"name\", \"fwd_pps\", \"fwd_bits_per_s\", \"slow_path_pps\"}]}. "
	"status: {\"version\", \"kernel\", \"features\": {NAME: {\"available\", \"detail\"}}, "
	"\"daemon\": {\"running\", \"pid\", \"since\", \"uptime_s\", "
	"\"heartbeat_age_ms\"}, \"nft\": {\"table_present\", \"ct_mark\", "
	"\"table_restores\", \"table_restored_unix\"}, \"xfrm\": {\"policies\", "
	"\"forward_policies\"}, \"conntrackd\": {\"running\", \"pid\", \"sync_mode\", "
	"\"config\"}, \"flows\": {\"offloaded\", \"capacity\", \"reserved_bytes\", "
	"\"offloaded_total\", \"evicted_total\", \"admit_errors\", \"waiting\", "
	"\"ct_limit_above_capacity\", \"ct_limit\" (only when above)}, "
	"\"events\": {\"handled\", \"lost\", \"resyncs\", \"revalidations\", "
	"\"ct_events_revived\" (only when nf_conntrack_events was set to 0 while running)}, "
	"\"offload_latency\": {\"p50_us\", \"p99_us\", \"max_us\"}, "
	"\"devices\": [{\"name\", \"ifindex\", \"mode\", \"attached\", \"link\", "
	"\"xdp_redirect_target\", \"xdp_features\", \"kernel_path_only\", \"xdp_vlan_tags\" "
	"(XDP: true when its program sees VLAN tags the driver took out)}], \"healthy\", "
	"\"problems\": [...]}. "
	"explain: {\"protocol\", \"src\", \"sport\", \"dst\", \"dport\", \"checks\": "
	"[{\"check\", \"ok\", \"detail\"}], \"offloaded\", \"verdict\"}.",
	"EXIT STATUS",
	"0: success (status: healthy; explain: offloaded). 1: failure (status: not running or "
	"unhealthy; explain: not offloaded). 2: bad usage or configuration.",
	"FILES",
	"/etc/nft\\-offload.conf, /sys/fs/bpf/nft\\-offload/ (pinned maps), nftables table "
	"\\fBinet nft_offload\\fR, /run/nft\\-offload/ (which daemon serves which pin "
	"directory: \\fBstop\\fR finds the daemon there even when the pins are gone, and "
	"otherwise removes the programs it finds on any device by their names).",
	"EXAMPLES",
	".nf\n"
	"nft\\-offload run \\-\\-device lan0 \\-\\-device wan0\n"
	"nft\\-offload flows \\-\\-sort bytes \\-\\-limit 10\n"
	"nft\\-offload stats \\-\\-watch 1\n"
	"nft\\-offload explain tcp 192.168.1.10:50000 203.0.113.5:443\n"
	"nft\\-offload evict \\-\\-addr 192.168.1.10\n"
	".fi",
	"SEE ALSO",
	"\\fBnft\\fR(8), \\fBconntrack\\fR(8), \\fBtc\\-bpf\\fR(8), \\fBip\\-link\\fR(8)",
	NULL,
	NULL,
};
