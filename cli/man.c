// SPDX-License-Identifier: GPL-2.0-only
/*
 * The prose of the man page. The COMMANDS section is generated from the
 * command table in main.c, the same one --help prints.
 */
#include <stddef.h>

const char *const nfo_man_sections[] = {
	"DESCRIPTION",
	"nft\\-offload gives established connections a fast path around the nftables "
	"ruleset, like the kernel's flowtable (\\fBflow add @ft\\fR), on any kernel with "
	"eBPF and any network device. The ruleset decides: nft\\-offload's own forward chain "
	"runs after every other forward chain and marks the conntrack entry of every TCP or UDP "
	"packet that got through them in state established. The daemon watches conntrack and "
	"offloads a marked connection once it is established (TCP) or has seen a reply (UDP), "
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
	"marked and offloaded again within milliseconds, the others meet the new rules.",
	"COMMANDS",
	NULL,
	"CONFIGURATION FILE",
	"\\fB/etc/nft\\-offload.conf\\fR holds \\fIkey\\fR = \\fIvalue\\fR lines; # starts a "
	"comment. Command\\-line options override it (a \\-\\-device or \\-\\-select replaces the "
	"file's list). Keys:\n"
	".TP\n.B devices = \\fIDEV\\fR[:\\fIMODE\\fR] ...\n"
	"Offload devices (at least two), optionally each with its mode.\n"
	".TP\n.B mode = auto | tc | xdp | xdp\\-generic\n"
	"Default mode. auto: XDP where the driver has native XDP and can transmit redirected "
	"frames (not veth), tc elsewhere. tc keeps the egress qdisc (shaping, SQM); XDP "
	"bypasses it.\n"
	".TP\n.B select = \\fIEXPR\\fR\n"
	"Offload only connections whose packets match this nft expression in the forward hook, "
	"e.g. \\fBiifname \"lan0\" ip daddr 192.168.1.0/24\\fR. Repeat for several (any may "
	"match). Default: every accepted TCP/UDP connection between offload devices.\n"
	".TP\n.B mark = \\fIBIT\\fR\n"
	"The conntrack mark bit nft\\-offload sets (default 0x80000000); other bits of ct mark "
	"are left alone. Rules of yours may set the same bit with \\fBct mark set ct mark | "
	"BIT\\fR to opt connections in. nft\\-offload refuses to start if other rules match or "
	"set that bit.\n"
	".TP\n.B idle\\-timeout = \\fITIME\\fR\n"
	"Seconds (or 5m, 1h) without a packet before a flow leaves the fast path; default 30s.\n"
	".TP\n.B flows = \\fIN\\fR\n"
	"Flow table capacity in connections per address family (default 1048576). Memory is "
	"used per offloaded connection, not reserved.\n"
	".TP\n.B ct\\-timeout = \\fITIME\\fR\n"
	"Conntrack timeout held while offloaded (default 24h).\n"
	".TP\n.B on\\-exit = stop | keep\n"
	"What SIGTERM does: remove every trace (default) or leave the fast path running for "
	"the next daemon, which adopts it.\n"
	".TP\n.B force = no | yes\n"
	"Attach beside foreign tc filters, or over a foreign XDP program.\n"
	".TP\n.B pin\\-dir = \\fIDIR\\fR\n"
	"Where the maps are pinned (default /sys/fs/bpf/nft\\-offload).\n"
	".TP\n.B event\\-buffer = \\fIBYTES\\fR\n"
	"Receive buffer of the conntrack event socket (default 16M). Lost events cause a "
	"full resync.",
	"ROUTING",
	"The daemon finds the device each direction of a connection arrives on with a route "
	"lookup towards its sender: routing is assumed symmetric. Where it is not, packets of "
	"that direction simply miss the fast path (the flow key includes the ingress device). "
	"Egress is looked up per packet, so route and neighbour changes apply at once.",
	"JSON OUTPUT",
	"\\fB\\-j\\fR makes status, flows, stats and explain print one JSON document with "
	"snake_case keys. flows: {\"flows\": [{\"ct_id\", \"family\", \"protocol\", \"state\", "
	"\"nat\", \"age_s\", \"idle_s\", \"original\": {\"src\", \"dst\", \"sport\", \"dport\", "
	"\"in\", \"out\", \"packets\", \"bytes\"}, \"reply\": {...}}], \"count\"}. stats: "
	"{\"devices\": [{\"name\", \"ifindex\", \"mode\", \"fwd_packets\", \"fwd_bytes\", "
	"\"slow_path\": {REASON: packets}, \"slow_path_packets\"}], \"total\": {...}}. Reasons: "
	"no_flow, not_ip, other_host, proto, fragment, ip_options, ipv6_ext, malformed, ttl, "
	"tcp_fin_rst, teardown, udp_csum, no_route, no_neigh, mtu, egress, hairpin, snat_route, "
	"error. "
	"stats \\-\\-watch: one object per line, {\"time\", \"interval_ms\", \"devices\": "
	"[{\"name\", \"fwd_pps\", \"fwd_bits_per_s\", \"slow_path_pps\"}]}. "
	"status: {\"version\", \"kernel\", \"features\": {NAME: {\"available\", \"detail\"}}, "
	"\"daemon\": {\"running\", \"pid\", \"since\", \"uptime_s\", "
	"\"heartbeat_age_ms\"}, \"nft\": {\"table_present\", \"ct_mark\"}, \"conntrackd\": "
	"{\"running\", \"pid\", \"sync_mode\", \"config\"}, \"flows\": "
	"{\"offloaded\", \"capacity\", \"offloaded_total\", \"evicted_total\", "
	"\"admit_errors\"}, \"events\": {\"handled\", \"lost\", \"resyncs\", "
	"\"revalidations\"}, \"offload_latency\": {\"p50_us\", \"p99_us\", \"max_us\"}, "
	"\"devices\": [{\"name\", \"ifindex\", \"mode\", \"attached\", \"link\", "
	"\"xdp_redirect_target\", \"xdp_features\"}], \"healthy\", \"problems\": [...]}. "
	"explain: {\"protocol\", \"src\", \"sport\", \"dst\", \"dport\", \"checks\": "
	"[{\"check\", \"ok\", \"detail\"}], \"offloaded\", \"verdict\"}.",
	"EXIT STATUS",
	"0: success (status: healthy; explain: offloaded). 1: failure (status: not running or "
	"unhealthy; explain: not offloaded). 2: bad usage or configuration.",
	"FILES",
	"/etc/nft\\-offload.conf, /sys/fs/bpf/nft\\-offload/ (pinned maps), nftables table "
	"\\fBinet nft_offload\\fR.",
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
