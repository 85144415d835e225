#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Test vectors for the fast path, built with scapy.

Expected output packets are built from scratch by scapy, which computes every
checksum over the whole packet: an implementation independent of the fast
path's incremental updates.

  gen_vectors.py setup     the topology, as "ip -batch" commands
  gen_vectors.py setup6    its IPv6 rules, as "ip -6 -batch" commands
  gen_vectors.py vectors   the cases, one block each (format: fastpath_test.c)
"""
import socket
import sys

from scapy.all import ARP, IP, ICMP, UDP, TCP, Dot1Q, Ether, IPv6, Raw, raw
from scapy.layers.inet6 import (IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting,
                                ICMPv6EchoRequest)

# The router under test: devices, their MACs and addresses. 'flags' is what
# the harness writes into the devices map (tc, xdp, xdp_tx); None = not an
# offload device.
DEVS = {
    'lan0': dict(mac='02:00:00:00:01:01', peer='02:00:00:00:01:02', n=1, flags='tc,xdp,xdp_tx', mtu=1500),
    'wan0': dict(mac='02:00:00:00:02:01', peer='02:00:00:00:02:02', n=2, flags='tc,xdp,xdp_tx', mtu=1500),
    'small0': dict(mac='02:00:00:00:03:01', peer='02:00:00:00:03:02', n=3, flags='tc,xdp,xdp_tx', mtu=1280),
    'other0': dict(mac='02:00:00:00:04:01', peer='02:00:00:00:04:02', n=4, flags=None, mtu=1500),
    'tconly0': dict(mac='02:00:00:00:05:01', peer='02:00:00:00:05:02', n=5, flags='tc', mtu=1500),
}

# Remote networks: prefix index -> (route, expected outcome)
#  100: via wan0 neighbour (reachable)      101: via wan0, neighbour unresolved
#  102: blackhole                           103: via small0 (MTU 1280)
#  104: via other0 (not an offload device)  105: via tconly0 (tc only)


def v4(n, h):
    return '198.18.%d.%d' % (n, h)


def v6(n, h):
    return '2001:db8:%x::%x' % (n, h)


def setup():
    out = []
    for name, d in DEVS.items():
        out.append('link add %s address %s mtu %d type veth peer name %sp address %s mtu %d'
                   % (name, d['mac'], d['mtu'], name, d['peer'], d['mtu']))
        out.append('link set %sp up' % name)
        out.append('link set %s up' % name)
        out.append('addr add %s/24 dev %s' % (v4(d['n'], 1), name))
        out.append('addr add %s/64 dev %s nodad' % (v6(d['n'], 1), name))
        for h in (2, 50):
            out.append('neigh add %s lladdr %s dev %s nud permanent' % (v4(d['n'], h), d['peer'], name))
            out.append('neigh add %s lladdr %s dev %s nud permanent' % (v6(d['n'], h), d['peer'], name))
    routes = [(100, 'via %s dev wan0', 2, 2), (101, 'via %s dev wan0', 2, 9), (103, 'via %s dev small0', 3, 2),
              (104, 'via %s dev other0', 4, 2), (105, 'via %s dev tconly0', 5, 2)]
    for net, how, dn, h in routes:
        out.append('route add 198.18.%d.0/24 %s' % (net, how % v4(dn, h)))
        out.append('route add 2001:db8:%x::/64 %s' % (net, how % v6(dn, h)))
    # Policy routing: marked packets, and those from client host 3 (before
    # source NAT), are routed through small0.
    for sel in ('fwmark 7', 'from %s' % v4(1, 3)):
        out.append('rule add %s lookup 77' % sel)
    out.append('route add 198.18.100.0/24 via %s dev small0 table 77' % v4(3, 2))
    out.append('route add 2001:db8:%x::/64 via %s dev small0 table 77' % (100, v6(3, 2)))
    out.append('route add blackhole 198.18.102.0/24')
    out.append('route add blackhole 2001:db8:102::/64')
    print('\n'.join(out))


def setup6():
    """The IPv6 rules (ip rule takes the family from -6, not from the line)."""
    for sel in ('fwmark 7', 'from %s' % v6(1, 3)):
        print('rule add %s lookup 77' % sel)


# ---------------------------------------------------------------------------
# Cases

CASES = []


class Flow:
    """One direction's flow entry: a packet arriving on iif as `inp`
    (src, sport, dst, dport) leaves as `out`."""

    def __init__(self, fam, proto, iif, inp, out=None, teardown=False, snat_oif=None,
                 oif=None, tcp=None, mark=0, route_oif=None, nh=None, cthold=False,
                 last_used=None, created_old=False):
        """oif: egress of the last forwarded packet; tcp: (ack, window) of
        the last segment seen in this direction."""
        self.fam, self.proto, self.iif = fam, proto, iif
        self.inp, self.out = inp, out or inp
        self.teardown = teardown
        self.snat_oif = snat_oif
        self.oif, self.tcp = oif, tcp
        self.mark, self.route_oif = mark, route_oif
        # cthold: the entry asks the fast path to hold conntrack (NFO_FLOW_CT_HOLD);
        # last_used: 'same' or 'previous' short period of the holds, or
        # 'previous33' long one, or 'phase-same' / 'phase-next' (see
        # cthold_cases; else never used); created_old: admitted a
        # minute ago (else now: new, held every short period)
        self.cthold, self.last_used, self.created_old = cthold, last_used, created_old
        # nh: (device, MTU, state) of a next hop already in the entry's
        # cache; state: 'fresh', 'oldgen' (filled under an older routing
        # generation), 'expired' (past its age), 'tos' (for another TOS).
        self.nh = nh

    def line(self):
        s, sp, d, dp = self.inp
        ns, nsp, nd, ndp = self.out
        return 'flow %s %s %s %s %d %s %d %s %d %s %d%s%s%s%s%s%s%s%s%s%s' % (
            self.fam, self.proto, self.iif, s, sp, d, dp, ns, nsp, nd, ndp,
            ' teardown' if self.teardown else '',
            ' snat_oif ' + self.snat_oif if self.snat_oif else '',
            ' oif ' + self.oif if self.oif else '',
            ' ackwin %d %d' % self.tcp if self.tcp else '',
            ' mark %d' % self.mark if self.mark else '',
            ' route_oif ' + self.route_oif if self.route_oif else '',
            ' nh %s %s %d %s' % (self.nh[0], DEVS[self.nh[0]]['peer'], self.nh[1], self.nh[2])
            if self.nh else '',
            ' cthold' if self.cthold else '',
            ' last_used ' + self.last_used if self.last_used else '',
            ' created_old' if self.created_old else '')


def case(name, prog, pkt, iif, verdict, reason, flows=(), oif=None, out=None,
         gso=None, teardown_after=None, fuzz=False, l3_bytes=None, track=None,
         cthold_after=None, cthold_events=None, prio=None):
    """verdict: redirect / pass / drop; reason: a stats key ('fwd' for
    redirect); track: (ack, window) the forwarding entry must hold after;
    cthold_after: how many entries still ask for conntrack holds after;
    cthold_events: failed holds reported (default: the flags that went)."""
    progs = ['xdp', 'tc'] if prog == 'both' else [prog]
    for p in progs:
        b = ['case %s/%s' % (name, p), 'prog ' + p]
        b += [f.line() for f in flows]
        b.append('iif ' + iif)
        if gso:
            b.append('gso %d %d' % gso)
        b.append('in ' + raw(pkt).hex())
        b.append('expect ' + verdict)
        b.append('reason ' + reason)
        if oif:
            b.append('oif ' + oif)
        if verdict == 'redirect':
            b.append('out ' + raw(out).hex())
            segs = gso[1] if gso else 1
            b.append('count %d %d' % (segs, l3_bytes if l3_bytes is not None else l3len(pkt)))
        if teardown_after is not None:
            b.append('teardown %d' % teardown_after)
        if track:
            b.append('track %d %d' % track)
        if prio is not None and p == 'tc':
            b.append('priority %d' % prio)
        if cthold_after is not None:
            if cthold_events is None:
                cthold_events = sum(1 for f in flows if f.cthold) - cthold_after
            b.append('cthold %d %d' % (cthold_after, cthold_events))
        if fuzz:
            b.append('fuzz')
        b.append('end')
        CASES.append('\n'.join(b))


def l3len(pkt):
    ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
    return len(raw(ip))


def mac(dev):
    return DEVS[dev]['mac']


def peer(dev):
    return DEVS[dev]['peer']


def l4(proto, sport, dport, flags='A', payload=b'x' * 32, **kw):
    if proto == 'tcp':
        return TCP(sport=sport, dport=dport, flags=flags, seq=1000, ack=2000, window=512, **kw) / Raw(payload)
    return UDP(sport=sport, dport=dport, **kw) / Raw(payload)


def l3(fam, src, dst, ttl=64, **kw):
    if fam == 'ip':
        return IP(src=src, dst=dst, ttl=ttl, id=7, **kw)
    return IPv6(src=src, dst=dst, hlim=ttl, **kw)


def pkt(fam, proto, iif, src, sport, dst, dport, ttl=64, dmac=None, payload=b'x' * 32,
        flags='A', l3kw=None, l4kw=None):
    return (Ether(src=peer(iif), dst=dmac or mac(iif)) /
            l3(fam, src, dst, ttl, **(l3kw or {})) /
            l4(proto, sport, dport, flags=flags, payload=payload, **(l4kw or {})))


def expect(fam, proto, oif, nexthop_mac, src, sport, dst, dport, ttl, payload=b'x' * 32,
           flags='A', l3kw=None, l4kw=None):
    """The packet as it must leave: built from scratch, checksums by scapy."""
    return (Ether(src=mac(oif), dst=nexthop_mac) /
            l3(fam, src, dst, ttl, **(l3kw or {})) /
            l4(proto, sport, dport, flags=flags, payload=payload, **(l4kw or {})))


def A(fam, n, h):
    return v4(n, h) if fam == 'ip' else v6(n, h)


def nat_cases():
    """Both families x both protocols x {none, snat, dnat, both}, in the
    ORIGINAL direction (LAN to WAN) and the REPLY direction (WAN to LAN)."""
    for fam in ('ip', 'ip6'):
        for proto in ('tcp', 'udp'):
            client, server = A(fam, 1, 2), A(fam, 100, 10)
            router_wan, server2 = A(fam, 2, 1), A(fam, 100, 20)
            for nat in ('none', 'snat', 'dnat', 'both'):
                src, sport = (router_wan, 61000) if nat in ('snat', 'both') else (client, 40000)
                dst, dport = (server2, 8080) if nat in ('dnat', 'both') else (server, 80)
                orig = Flow(fam, proto, 'lan0', (client, 40000, server, 80), (src, sport, dst, dport))
                # The reply arrives addressed to the post-NAT source, from
                # the post-NAT server; it leaves as the client expects.
                reply = Flow(fam, proto, 'wan0', (dst, dport, src, sport), (server, 80, client, 40000))
                name = '%s-%s-%s' % (fam, proto, nat)
                p = pkt(fam, proto, 'lan0', client, 40000, server, 80)
                o = expect(fam, proto, 'wan0', peer('wan0'), src, sport, dst, dport, 63)
                case(name + '-orig', 'both', p, 'lan0', 'redirect', 'fwd', [orig, reply], 'wan0', o,
                     fuzz=(nat == 'both'))
                p = pkt(fam, proto, 'wan0', dst, dport, src, sport, ttl=50)
                o = expect(fam, proto, 'lan0', peer('lan0'), server, 80, client, 40000, 49)
                case(name + '-reply', 'both', p, 'wan0', 'redirect', 'fwd', [orig, reply], 'lan0', o,
                     fuzz=(nat == 'both'))


def edge_cases():
    for fam in ('ip', 'ip6'):
        c, s, s2, r = A(fam, 1, 2), A(fam, 100, 10), A(fam, 100, 20), A(fam, 2, 1)
        snat = Flow(fam, 'udp', 'lan0', (c, 40000, s, 53), (r, 61000, s, 53))
        tcpf = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080))
        tp = lambda **kw: pkt(fam, 'tcp', 'lan0', c, 40000, s, 80, **kw)
        to = lambda **kw: expect(fam, 'tcp', 'wan0', peer('wan0'), r, 61000, s2, 8080, **kw)
        up = lambda **kw: pkt(fam, 'udp', 'lan0', c, 40000, s, 53, **kw)
        n = fam

        # TTL / hop limit: 2 is forwarded with 1; 1 and 0 go to the stack.
        case(n + '-ttl2', 'both', tp(ttl=2), 'lan0', 'redirect', 'fwd', [tcpf], 'wan0', to(ttl=1))
        case(n + '-ttl1', 'both', tp(ttl=1), 'lan0', 'pass', 'ttl', [tcpf])
        case(n + '-ttl0', 'both', tp(ttl=0), 'lan0', 'pass', 'ttl', [tcpf])
        # FIN and RST mark the flow for teardown and go to the stack; the
        # next packet of that flow then goes to the stack too.
        case(n + '-fin', 'both', tp(flags='FA'), 'lan0', 'pass', 'tcp_fin_rst', [tcpf], teardown_after=1)
        case(n + '-rst', 'both', tp(flags='R'), 'lan0', 'pass', 'tcp_fin_rst', [tcpf], teardown_after=1)
        # A source-NATed flow keeps to the device its NAT was made for: if the
        # route moves elsewhere, the stack decides (masquerade is dropped).
        pinned = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080), snat_oif='wan0')
        case(n + '-snat-same-route', 'both', tp(), 'lan0', 'redirect', 'fwd', [pinned], 'wan0', to(ttl=63))
        moved = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080), snat_oif='small0')
        case(n + '-snat-route-moved', 'both', tp(), 'lan0', 'pass', 'snat_route', [moved], teardown_after=1)
        # Policy routing: the lookup takes the flow's mark (rule fwmark 7 ->
        # small0) and the source before source NAT (rule from host 3); an
        # egress other than the kernel's at admission goes to the stack.
        so = lambda: expect(fam, 'tcp', 'small0', peer('small0'), r, 61000, s2, 8080, 63)
        marked = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080), mark=7)
        case(n + '-fwmark', 'both', tp(), 'lan0', 'redirect', 'fwd', [marked], 'small0', so())
        kept = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080), mark=7,
                    route_oif='small0')
        case(n + '-fwmark-kernel-egress', 'both', tp(), 'lan0', 'redirect', 'fwd', [kept], 'small0', so())
        other = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080), mark=7,
                     route_oif='wan0')
        case(n + '-fwmark-other-egress', 'both', tp(), 'lan0', 'pass', 'policy', [other], teardown_after=1)
        c3 = A(fam, 1, 3)
        from3 = Flow(fam, 'tcp', 'lan0', (c3, 40000, s, 80), (r, 61000, s2, 8080))
        case(n + '-from-before-snat', 'both', pkt(fam, 'tcp', 'lan0', c3, 40000, s, 80), 'lan0',
             'redirect', 'fwd', [from3], 'small0', so())
        # Next-hop cache: a valid one is used as it is (here it names small0
        # where the route says wan0); one from an older routing generation,
        # past its age, for another TOS, or with an MTU the packet exceeds is
        # looked up again (wan0).
        for state, mtu, dev, want in (('fresh', 1280, 'small0', so()),
                                      ('oldgen', 1280, 'wan0', to(ttl=63)),
                                      ('expired', 1280, 'wan0', to(ttl=63)),
                                      ('ancient', 1280, 'wan0', to(ttl=63)),
                                      ('tos', 1280, 'wan0', to(ttl=63)),
                                      ('fresh', 60, 'wan0', to(ttl=63))):
            cached = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080),
                          nh=('small0', mtu, state))
            case('%s-nh-%s-mtu%d' % (n, state, mtu), 'both', tp(), 'lan0', 'redirect', 'fwd',
                 [cached], dev, want)
        # tc: the priority ip_forward() gives an IPv4 packet from its TOS
        # (rt_tos2priority; the egress qdisc may pick its band by it); IPv6
        # forwarding leaves it alone.
        for tosv, want in ((0x00, 0), (0x02, 0), (0x08, 2), (0x0c, 2), (0x10, 6), (0x14, 6),
                           (0x18, 4), (0x1e, 4), (0xb8, 4), (0xe0, 0)):
            tk = {'tos': tosv} if fam == 'ip' else {'tc': tosv}
            case('%s-priority-tos%02x' % (n, tosv), 'tc', tp(l3kw=tk), 'lan0', 'redirect', 'fwd',
                 [tcpf], 'wan0', to(ttl=63, l3kw=tk), prio=want if fam == 'ip' else 0)
        # A tc GSO skb teaches the cache nothing (the kernel checks its MTU):
        # one routed elsewhere (here for another TOS) must empty the cache,
        # or the next packet that fits it leaves by the new device with the
        # old device's MACs.
        gsof = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080),
                    nh=('small0', 1280, 'fresh'))
        tos = {'tos': 0x10} if fam == 'ip' else {'tc': 0x10}
        case(n + '-nh-gso-elsewhere', 'tc', tp(payload=b'g' * 3000, l3kw=tos), 'lan0', 'redirect',
             'fwd', [gsof], 'wan0', to(ttl=63, payload=b'g' * 3000, l3kw=tos), gso=(1000, 3))
        td = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080), teardown=True)
        case(n + '-after-teardown', 'both', tp(), 'lan0', 'pass', 'teardown', [td])
        # PSH does not end anything. A SYN neither: it goes to the stack
        # (conntrack ignores it, the receiver sends a challenge ACK).
        case(n + '-psh', 'both', tp(flags='PA'), 'lan0', 'redirect', 'fwd', [tcpf], 'wan0',
             to(ttl=63, flags='PA'), track=(2000, 512))
        case(n + '-syn', 'both', tp(flags='S'), 'lan0', 'pass', 'tcp_syn', [tcpf], teardown_after=0)
        # Without ACK, SYN or RST conntrack calls a segment invalid, liberal
        # window tracking or not: the ruleset judges it (ct state invalid),
        # and the flow stays offloaded. A FIN without ACK ends nothing.
        for tag, fl in (('null', ''), ('fin-noack', 'F'), ('urg', 'U'), ('psh', 'P'),
                        ('fin-psh-urg', 'FPU')):
            case('%s-flags-%s' % (n, tag), 'both', tp(flags=fl), 'lan0', 'pass', 'tcp_flags', [tcpf],
                 teardown_after=0, track=(0, 0))
        case(n + '-ece-cwr-ack', 'both', tp(flags='AEC'), 'lan0', 'redirect', 'fwd', [tcpf], 'wan0',
             to(ttl=63, flags='AEC'), track=(2000, 512))
        case(n + '-synack', 'both', tp(flags='SA'), 'lan0', 'pass', 'tcp_syn', [tcpf], teardown_after=0)
        # RST (seq 1000) judged against the other direction's last ACK number
        # and (unscaled) window: in the window it ends the flow; outside, it
        # is dropped and the flow lives on.
        def rst(tag, ack_win, verdict, reason, flags='R', oif='wan0'):
            o = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080), oif=oif)
            rp = Flow(fam, 'tcp', 'wan0', (s2, 8080, r, 61000), (s, 80, c, 40000), tcp=ack_win)
            td = 1 if reason == 'tcp_fin_rst' else 0
            case('%s-rst-%s' % (n, tag), 'both', tp(flags=flags), 'lan0', verdict, reason, [o, rp],
                 teardown_after=td)
        rst('exact', (1000, 0), 'pass', 'tcp_fin_rst')
        rst('in-window', (900, 512), 'pass', 'tcp_fin_rst')
        rst('window-edge', (488, 512), 'pass', 'tcp_fin_rst')
        rst('wrapped', (2**32 - 256, 2000), 'pass', 'tcp_fin_rst')
        rst('rst-ack', (1000, 0), 'pass', 'tcp_fin_rst', flags='RA')
        rst('blind-above', (487, 512), 'drop', 'tcp_rst_blind')
        rst('blind-below', (1001, 65535), 'drop', 'tcp_rst_blind')
        rst('blind-far', (2**31 + 1000, 65535), 'drop', 'tcp_rst_blind')
        rst('blind-syn', (487, 512), 'drop', 'tcp_rst_blind', flags='SR')
        # Cannot judge: the receiver not seen yet, or nothing forwarded this
        # way (where the other direction arrives is unknown): as before.
        rst('peer-unseen', None, 'pass', 'tcp_fin_rst')
        rst('no-oif', (487, 512), 'pass', 'tcp_fin_rst', oif=None)
        # From the WAN, in the reply direction (the blind attacker's side).
        o = Flow(fam, 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080), tcp=(5000, 100))
        rp = Flow(fam, 'tcp', 'wan0', (s2, 8080, r, 61000), (s, 80, c, 40000), oif='lan0')
        wp = lambda seq: (Ether(src=peer('wan0'), dst=mac('wan0')) / l3(fam, s2, r) /
                          TCP(sport=8080, dport=61000, flags='R', seq=seq))
        case(n + '-rst-reply-in-window', 'both', wp(5100), 'wan0', 'pass', 'tcp_fin_rst', [o, rp],
             teardown_after=1)
        case(n + '-rst-reply-blind', 'both', wp(5101), 'wan0', 'drop', 'tcp_rst_blind', [o, rp],
             teardown_after=0)
        # Misses: unknown tuple, and a known tuple on another device (spoofing).
        case(n + '-no-flow', 'both', pkt(fam, 'tcp', 'lan0', c, 40001, s, 80), 'lan0', 'pass', 'no_flow', [tcpf])
        case(n + '-spoof', 'both', pkt(fam, 'tcp', 'wan0', c, 40000, s, 80), 'wan0', 'pass', 'no_flow', [tcpf])
        case(n + '-proto-mismatch', 'both', up(), 'lan0', 'pass', 'no_flow', [tcpf])
        # Frames for other hosts: another unicast MAC, broadcast.
        case(n + '-otherhost', 'both', tp(dmac='02:00:00:00:99:99'), 'lan0', 'pass', 'other_host', [tcpf])
        case(n + '-broadcast', 'both', tp(dmac='ff:ff:ff:ff:ff:ff'), 'lan0', 'pass', 'other_host', [tcpf])

        # Routing outcomes, for a flow whose (post-NAT) destination is in net.
        def routed(tag, net, h, verdict, reason, oif=None, prog='both', size=32, gso=None, df=True):
            d = A(fam, net, h)
            f = Flow(fam, 'udp', 'lan0', (c, 40000, s, 53), (r, 61000, d, 53))
            l3kw = {'flags': 'DF'} if (fam == 'ip' and df) else None
            p = pkt(fam, 'udp', 'lan0', c, 40000, s, 53, payload=b'y' * size, l3kw=l3kw)
            o = None
            if verdict == 'redirect':
                nh = DEVS[oif]['peer']
                o = expect(fam, 'udp', oif, nh, r, 61000, d, 53, 63, payload=b'y' * size, l3kw=l3kw)
            case('%s-%s' % (n, tag), prog, p, 'lan0', verdict, reason, [f], oif, o, gso=gso)

        hdr = 20 + 8 if fam == 'ip' else 40 + 8
        routed('route-ok', 100, 30, 'redirect', 'fwd', 'wan0')
        routed('no-neigh', 101, 30, 'pass', 'no_neigh')
        routed('blackhole', 102, 30, 'pass', 'no_route')
        routed('unroutable', 200, 1, 'pass', 'no_route')
        routed('local', 2, 1, 'pass', 'no_route')
        routed('hairpin', 1, 50, 'pass', 'hairpin')
        routed('egress-not-offload', 104, 30, 'pass', 'egress')
        routed('egress-tc-only', 105, 30, 'pass', 'egress', prog='xdp')
        routed('egress-tc-only', 105, 30, 'redirect', 'fwd', 'tconly0', prog='tc')
        # MTU 1280 on small0: exactly the MTU passes, one byte more does not.
        routed('mtu-exact', 103, 30, 'redirect', 'fwd', 'small0', size=1280 - hdr)
        routed('mtu-over', 103, 30, 'pass', 'mtu', size=1281 - hdr)
        if fam == 'ip':
            # Without DF the stack must fragment: still not the fast path's job.
            routed('mtu-over-nodf', 103, 30, 'pass', 'mtu', size=1281 - hdr, df=False)
        # GSO (tc): judged by segment size, not by total length.
        routed('gso-fits', 103, 30, 'redirect', 'fwd', 'small0', prog='tc', size=3000, gso=(1000, 3))
        routed('gso-too-big', 103, 30, 'pass', 'mtu', prog='tc', size=3000, gso=(1270, 3))

        # UDP checksum edge cases.
        if fam == 'ip':
            # No checksum (0) stays 0 across NAT.
            p = pkt(fam, 'udp', 'lan0', c, 40000, s, 53, l4kw={'chksum': 0})
            o = expect(fam, 'udp', 'wan0', peer('wan0'), r, 61000, s, 53, 63, l4kw={'chksum': 0})
            case(n + '-udp-nocsum', 'both', p, 'lan0', 'redirect', 'fwd', [snat], 'wan0', o)
        else:
            p = pkt(fam, 'udp', 'lan0', c, 40000, s, 53, l4kw={'chksum': 0})
            case(n + '-udp-zero-csum', 'both', p, 'lan0', 'pass', 'udp_csum', [snat])
        # A rewrite whose checksum comes out as 0 must be sent as 0xffff.
        for nport in range(1024, 65536):
            o = expect(fam, 'udp', 'wan0', peer('wan0'), r, nport, s, 53, 63)
            u = o.getlayer(UDP)
            if u.__class__(raw(u)).chksum == 0xffff:
                break
        f = Flow(fam, 'udp', 'lan0', (c, 40000, s, 53), (r, nport, s, 53))
        case(n + '-udp-csum-mangled0', 'both', up(), 'lan0', 'redirect', 'fwd', [f], 'wan0', o)


def malformed_cases():
    c, s, r, s2 = A('ip', 1, 2), A('ip', 100, 10), A('ip', 2, 1), A('ip', 100, 20)
    f = Flow('ip', 'tcp', 'lan0', (c, 40000, s, 80), (r, 61000, s2, 8080))
    fu = Flow('ip', 'udp', 'lan0', (c, 40000, s, 53), (r, 61000, s2, 53))
    e = Ether(src=peer('lan0'), dst=mac('lan0'))
    good = e / IP(src=c, dst=s, id=7) / TCP(sport=40000, dport=80, flags='A') / Raw(b'z' * 20)
    goodu = e / IP(src=c, dst=s, id=7) / UDP(sport=40000, dport=53) / Raw(b'z' * 20)

    def mod(p, **kw):
        q = p.copy()
        for k, v in kw.items():
            layer, field = k.split('_', 1)
            setattr(q.getlayer({'ip': IP, 'tcp': TCP, 'udp': UDP}[layer]), field, v)
        return q

    # IPv4 header problems
    case('ip-options', 'both', e / IP(src=c, dst=s, options=[b'\x01\x01\x01\x00']) /
         TCP(sport=40000, dport=80), 'lan0', 'pass', 'ip_options', [f])
    case('ip-ihl4', 'both', mod(good, ip_ihl=4), 'lan0', 'pass', 'malformed', [f])
    case('ip-version5', 'both', mod(good, ip_version=5), 'lan0', 'pass', 'malformed', [f])
    case('ip-bad-csum', 'both', mod(good, ip_chksum=0x1234), 'lan0', 'pass', 'malformed', [f])
    case('ip-frag-mf', 'both', mod(good, ip_flags='MF'), 'lan0', 'pass', 'fragment', [f])
    case('ip-frag-offset', 'both', mod(good, ip_frag=100), 'lan0', 'pass', 'fragment', [f])
    case('ip-totlen-long', 'both', mod(good, ip_len=500), 'lan0', 'pass', 'malformed', [f])
    case('ip-totlen-short', 'both', mod(good, ip_len=19), 'lan0', 'pass', 'malformed', [f])
    case('ip-totlen-below-tcp', 'both', mod(good, ip_len=30), 'lan0', 'pass', 'malformed', [f])
    # (test_run refuses skbs shorter than the IP header: XDP only)
    case('ip-truncated', 'xdp', Ether(raw(good)[:14 + 12]), 'lan0', 'pass', 'malformed', [f])
    case('tcp-truncated', 'both', Ether(raw(good)[:14 + 20 + 10]), 'lan0', 'pass', 'malformed', [f])
    case('tcp-doff4', 'both', mod(good, tcp_dataofs=4), 'lan0', 'pass', 'malformed', [f])
    case('tcp-doff15', 'both', mod(good, tcp_dataofs=15), 'lan0', 'pass', 'malformed', [f])
    case('udp-len7', 'both', mod(goodu, udp_len=7), 'lan0', 'pass', 'malformed', [fu])
    case('udp-len-long', 'both', mod(goodu, udp_len=200), 'lan0', 'pass', 'malformed', [fu])
    # An Ethernet trailer after tot_len: cut, as the stack does on input.
    pad = Ether(raw(good) + b'\x00' * 6)
    out = (Ether(src=mac('wan0'), dst=peer('wan0')) / IP(src=r, dst=s2, id=7, ttl=63) /
           TCP(sport=61000, dport=8080, flags='A') / Raw(b'z' * 20))
    case('ip-eth-padding', 'both', pad, 'lan0', 'redirect', 'fwd', [f], 'wan0', out,
         l3_bytes=len(raw(good)) - 14)
    # A 60-byte minimum frame: a bare TCP ACK (54 bytes) and 6 of padding.
    ack = e / IP(src=c, dst=s, id=7) / TCP(sport=40000, dport=80, flags='A')
    out = (Ether(src=mac('wan0'), dst=peer('wan0')) / IP(src=r, dst=s2, id=7, ttl=63) /
           TCP(sport=61000, dport=8080, flags='A'))
    case('ip-eth-min-frame', 'both', Ether(raw(ack) + b'\xa5' * 6), 'lan0', 'redirect', 'fwd', [f],
         'wan0', out, l3_bytes=40)
    # A trailer on a UDP packet, with NAT checksum updates.
    outu = (Ether(src=mac('wan0'), dst=peer('wan0')) / IP(src=r, dst=s2, id=7, ttl=63) /
            UDP(sport=61000, dport=53) / Raw(b'z' * 20))
    case('ip-udp-eth-padding', 'both', Ether(raw(goodu) + b'\x01\x02\x03'), 'lan0', 'redirect',
         'fwd', [fu], 'wan0', outu, l3_bytes=len(raw(goodu)) - 14)
    # IP length exactly the egress MTU (small0: 1280) plus a trailer: the
    # trailer must not make the frame too big.
    fs = Flow('ip', 'udp', 'lan0', (c, 40000, s, 53), (r, 61000, A('ip', 103, 30), 53))
    big = e / IP(src=c, dst=s, id=7, flags='DF') / UDP(sport=40000, dport=53) / Raw(b'm' * 1252)
    outb = (Ether(src=mac('small0'), dst=peer('small0')) /
            IP(src=r, dst=A('ip', 103, 30), id=7, ttl=63, flags='DF') /
            UDP(sport=61000, dport=53) / Raw(b'm' * 1252))
    case('ip-mtu-exact-padding', 'both', Ether(raw(big) + b'\x00' * 4), 'lan0', 'redirect', 'fwd',
         [fs], 'small0', outb, l3_bytes=1280)
    # A GSO packet (tc) with a trailer: left to the stack.
    case('ip-gso-padding', 'tc', Ether(raw(goodu) + b'\x00' * 4), 'lan0', 'pass', 'malformed', [fu],
         gso=(10, 2))
    # Not TCP/UDP, not IP
    case('ip-icmp', 'both', e / IP(src=c, dst=s) / ICMP(), 'lan0', 'pass', 'proto', [f])
    case('arp', 'both', Ether(src=peer('lan0'), dst='ff:ff:ff:ff:ff:ff') / ARP(pdst=r), 'lan0',
         'pass', 'other_host', [f])
    case('arp-unicast', 'both', e / ARP(pdst=r), 'lan0', 'pass', 'not_ip', [f])
    case('vlan', 'both', e / Dot1Q(vlan=5) / IP(src=c, dst=s) / TCP(sport=40000, dport=80),
         'lan0', 'pass', 'not_ip', [f])

    # IPv6
    c6, s6, r6, s26 = A('ip6', 1, 2), A('ip6', 100, 10), A('ip6', 2, 1), A('ip6', 100, 20)
    f6 = Flow('ip6', 'tcp', 'lan0', (c6, 40000, s6, 80), (r6, 61000, s26, 8080))
    g6 = e / IPv6(src=c6, dst=s6) / TCP(sport=40000, dport=80, flags='A') / Raw(b'z' * 20)
    for nm, ext in (('hbh', IPv6ExtHdrHopByHop()), ('routing', IPv6ExtHdrRouting()),
                    ('frag', IPv6ExtHdrFragment()), ('dstopt', IPv6ExtHdrDestOpt())):
        case('ip6-ext-' + nm, 'both', e / IPv6(src=c6, dst=s6) / ext / TCP(sport=40000, dport=80),
             'lan0', 'pass', 'ipv6_ext', [f6])
    case('ip6-icmp', 'both', e / IPv6(src=c6, dst=s6) / ICMPv6EchoRequest(), 'lan0', 'pass', 'proto', [f6])
    q = g6.copy()
    q[IPv6].plen = 0
    case('ip6-plen0', 'both', q, 'lan0', 'pass', 'malformed', [f6])
    q = g6.copy()
    q[IPv6].plen = 300
    case('ip6-plen-long', 'both', q, 'lan0', 'pass', 'malformed', [f6])
    q = g6.copy()
    q[IPv6].version = 4
    case('ip6-version4', 'both', q, 'lan0', 'pass', 'malformed', [f6])
    case('ip6-truncated', 'xdp', Ether(raw(g6)[:14 + 30]), 'lan0', 'pass', 'malformed', [f6])
    # An Ethernet trailer after the IPv6 payload: cut.
    o6 = (Ether(src=mac('wan0'), dst=peer('wan0')) / IPv6(src=r6, dst=s26, hlim=63) /
          TCP(sport=61000, dport=8080, flags='A') / Raw(b'z' * 20))
    case('ip6-eth-padding', 'both', Ether(raw(g6) + b'\x00' * 8), 'lan0', 'redirect', 'fwd', [f6],
         'wan0', o6, l3_bytes=len(raw(g6)) - 14)


# Conntrack entries run.sh creates before the vectors run (conntrack -I), for
# the holds: (family, original src, sport, dst, dport, reply src, sport, dst,
# dport); run.sh checks afterwards that each has the long timeout.
CT_ENTRIES = []


def hold_phase(fam, src, sport, dst, dport):
    """nfo_ct_hold_phase4/6 (include/nfo_abi.h) of a key: ns, 0 .. 2^33 - 2."""
    def word(a):  # IPv4: the address; IPv6: words 1 and 3; as the host reads them
        if fam == 'ip':
            return int.from_bytes(socket.inet_pton(socket.AF_INET, a), 'little')
        b = socket.inet_pton(socket.AF_INET6, a)
        return int.from_bytes(b[4:8], 'little') ^ int.from_bytes(b[12:16], 'little')
    ports = int.from_bytes(sport.to_bytes(2, 'big') + dport.to_bytes(2, 'big'), 'little')
    return ((word(src) ^ word(dst) ^ ports) * 2654435761 & 0xffffffff) << 1


def phase_port(fam, src, dst, dport, state):
    """A source port whose flow starts its long periods 0.4-1.2 s before the
    clock's ('phase-same') or after them ('phase-next')."""
    for sport in range(40200, 41200):
        ph = hold_phase(fam, src, sport, dst, dport)
        gap = ph if state == 'phase-same' else (1 << 33) - ph
        if 400000000 <= gap <= 1200000000:
            return sport
    raise SystemExit('no port with a fitting phase')


def cthold_cases():
    """The fast path holds conntrack for entries flagged so: found, the entry
    gets the long timeout (run.sh checks it) and the flag stays; not found,
    the flag goes and the daemon is told (it holds instead); the packet is
    forwarded either way. A hold comes on a direction's first packet and on
    the first of each period: 2^31 ns in the first 4 s after the admission,
    2^33 ns after. An entry last used in this period does not look conntrack
    up, one last used in the period before does."""
    for fam in ('ip', 'ip6'):
        c, s, r = A(fam, 1, 2), A(fam, 100, 10), A(fam, 2, 1)
        n = fam
        for prog, sport in (('xdp', 40100), ('tc', 40101)):
            f = Flow(fam, 'udp', 'lan0', (c, sport, s, 53), (r, sport, s, 53), cthold=True)
            p = pkt(fam, 'udp', 'lan0', c, sport, s, 53)
            o = expect(fam, 'udp', 'wan0', peer('wan0'), r, sport, s, 53, 63)
            CT_ENTRIES.append((fam, c, sport, s, 53, s, 53, c, sport))
            case(n + '-cthold-found', prog, p, 'lan0', 'redirect', 'fwd', [f], 'wan0', o,
                 cthold_after=1)
        # The reply direction of a masqueraded connection: its key is
        # conntrack's reply tuple, which the lookup finds as well.
        for prog, sport in (('xdp', 40110), ('tc', 40111)):
            f = Flow(fam, 'udp', 'wan0', (s, 53, r, sport), (s, 53, c, sport), cthold=True)
            p = pkt(fam, 'udp', 'wan0', s, 53, r, sport)
            o = expect(fam, 'udp', 'lan0', peer('lan0'), s, 53, c, sport, 63)
            CT_ENTRIES.append((fam, c, sport, s, 53, s, 53, r, sport))
            case(n + '-cthold-reply-nat', prog, p, 'wan0', 'redirect', 'fwd', [f], 'lan0', o,
                 cthold_after=1)
        miss = lambda **kw: Flow(fam, 'udp', 'lan0', (c, 40102, s, 53), (r, 40102, s, 53),
                                 cthold=True, **kw)
        p = pkt(fam, 'udp', 'lan0', c, 40102, s, 53)
        o = expect(fam, 'udp', 'wan0', peer('wan0'), r, 40102, s, 53, 63)
        case(n + '-cthold-no-entry', 'both', p, 'lan0', 'redirect', 'fwd', [miss()], 'wan0', o,
             cthold_after=0)
        case(n + '-cthold-same-period', 'both', p, 'lan0', 'redirect', 'fwd',
             [miss(last_used='same')], 'wan0', o, cthold_after=1)
        case(n + '-cthold-next-period', 'both', p, 'lan0', 'redirect', 'fwd',
             [miss(last_used='previous')], 'wan0', o, cthold_after=0)
        case(n + '-cthold-old-next-short-period', 'both', p, 'lan0', 'redirect', 'fwd',
             [miss(last_used='previous', created_old=True)], 'wan0', o, cthold_after=1)
        case(n + '-cthold-old-next-long-period', 'both', p, 'lan0', 'redirect', 'fwd',
             [miss(last_used='previous33', created_old=True)], 'wan0', o, cthold_after=0)
        # The periods are the flow's own, from its phase: with the clock's
        # period begun since the last use and the flow's not, no hold
        # ('phase-same'); the other way round, a hold ('phase-next'). Each
        # takes a source port whose phase lets the harness wait < 1.2 s.
        for state, held in (('phase-same', 1), ('phase-next', 0)):
            sport = phase_port(fam, c, s, 53, state)
            f = Flow(fam, 'udp', 'lan0', (c, sport, s, 53), (r, sport, s, 53), cthold=True,
                     last_used=state, created_old=True)
            case('%s-cthold-%s' % (n, state), 'both', pkt(fam, 'udp', 'lan0', c, sport, s, 53),
                 'lan0', 'redirect', 'fwd', [f], 'wan0',
                 expect(fam, 'udp', 'wan0', peer('wan0'), r, sport, s, 53, 63),
                 cthold_after=held)
        # A FIN: conntrack closes the entry; the other direction, forwarded
        # until the daemon takes the connection out, must not hold it again.
        t_orig = Flow(fam, 'tcp', 'lan0', (c, 40103, s, 80), (r, 40103, s, 80), oif='wan0',
                      cthold=True)
        t_reply = Flow(fam, 'tcp', 'wan0', (s, 80, r, 40103), (s, 80, c, 40103), oif='lan0',
                       cthold=True)
        case(n + '-cthold-fin', 'both', pkt(fam, 'tcp', 'lan0', c, 40103, s, 80, flags='FA'),
             'lan0', 'pass', 'tcp_fin_rst', [t_orig, t_reply], teardown_after=1,
             cthold_after=1, cthold_events=0)


def ctentries():
    cthold_cases()
    for e in CT_ENTRIES:
        print('%s %s %d %s %d %s %d %s %d' % ((('ipv4' if e[0] == 'ip' else 'ipv6'),) + e[1:]))


def vectors():
    nat_cases()
    edge_cases()
    cthold_cases()
    malformed_cases()
    print('# generated by gen_vectors.py; one block per case')
    for name, d in DEVS.items():
        print('dev %s %s' % (name, d['flags'] or 'none'))
    print('\n'.join(CASES))


if __name__ == '__main__':
    {'setup': setup, 'setup6': setup6, 'vectors': vectors, 'ctentries': ctentries}[sys.argv[1]]()
