#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Malformed and random variations of one UDP flow's packets, for the
end-to-end fuzz test.

  fuzz_packets.py gen OUT.pcap N SEED DSTMAC SRC SPORT DST DPORT
        write N frames: the flow's packet mutated in its IPv4 and UDP headers
        (lengths, IHL, flags and fragment offset, TTL, protocol, ports, TOS,
        header checksum), truncated, padded, or followed by garbage. The UDP
        checksum is recomputed over what follows the IP header, so that the
        kernel's conntrack, which verifies it, and the fast path, which (like
        the kernel flowtable) does not, see the same packets as valid. First
        come explicit Ethernet trailers: a minimum-size frame's zero padding,
        random bytes, and a 1500-byte IP packet with 8 more (over a 1500 MTU
        unless cut: the sender's link needs a larger MTU to send it).
  fuzz_packets.py send IN.pcap IFACE
  fuzz_packets.py compare A.pcap B.pcap
        the IPv4 frames received in two runs, whole as they arrived (a
        trailer included), must be the same multiset.
  fuzz_packets.py trailers A.pcap
        the three frames sent with a trailer arrived, cut to their IP length.
"""
import collections
import random
import struct
import sys

from scapy.all import Ether, IP, UDP, Raw, raw, rdpcap, sendp, wrpcap


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def fix_udp(ip):
    """Recompute the UDP checksum over the IP payload (as conntrack does)."""
    if len(ip) < 20:
        return ip
    ihl = (ip[0] & 0xf) * 4
    tot = struct.unpack('!H', ip[2:4])[0]
    if ip[9] != 17 or ihl < 20 or tot > len(ip) or tot < ihl + 8:
        return ip
    seg = bytearray(ip[ihl:tot])
    seg[6:8] = b'\0\0'
    pseudo = ip[12:20] + struct.pack('!BBH', 0, 17, len(seg))
    c = csum(pseudo + bytes(seg)) or 0xffff
    seg[6:8] = struct.pack('!H', c)
    return ip[:ihl] + bytes(seg) + ip[tot:]


def fix_ip(ip):
    if len(ip) < 20:
        return ip
    ihl = (ip[0] & 0xf) * 4
    if ihl < 20 or ihl > len(ip):
        return ip
    h = bytearray(ip[:ihl])
    h[10:12] = b'\0\0'
    h[10:12] = struct.pack('!H', csum(bytes(h)))
    return bytes(h) + ip[ihl:]


def gen(out, n, seed, dmac, src, sport, dst, dport):
    rnd = random.Random(seed)
    frames = []
    base = raw(IP(src=src, dst=dst, ttl=64, id=1) / UDP(sport=sport, dport=dport) /
               Raw(b'fuzz' * 8))
    big = raw(IP(src=src, dst=dst, ttl=64, id=1) / UDP(sport=sport, dport=dport) /
              Raw(b'F' * (1500 - 28)))
    small = raw(IP(src=src, dst=dst, ttl=64, id=1) / UDP(sport=sport, dport=dport) / Raw(b'fz'))
    for i, (ip, trailer) in enumerate(((small, bytes(60 - 14 - len(small))),
                                       (base, b'\xa5\x5a\x01'), (big, bytes(range(8))))):
        ip = bytearray(ip)
        ip[4:6] = struct.pack('!H', 60000 + i)
        frames.append(Ether(dst=dmac, type=0x0800) / Raw(fix_ip(bytes(ip)) + trailer))
    for i in range(n):
        ip = bytearray(base)
        ip[4:6] = struct.pack('!H', i)  # IP id: tells packets apart
        kind = rnd.randrange(14)
        bad_ip_csum = False
        if kind == 0:
            pass  # unchanged: must be forwarded
        elif kind == 1:
            ip[8] = rnd.choice([0, 1, 2, 3, 255])  # TTL
        elif kind == 2:
            ip[6:8] = struct.pack('!H', rnd.choice([0x2000, 0x0001, 0x2010, 0x4000, 0x8000]))
        elif kind == 3:
            ip[0] = rnd.choice([0x44, 0x46, 0x4f, 0x55, 0x65, 0x35])
            if ip[0] == 0x46:
                ip[20:20] = b'\x01\x01\x01\x00'  # a real option (NOPs, EOL)
                ip[2:4] = struct.pack('!H', len(ip))
        elif kind == 4:
            ip[2:4] = struct.pack('!H', rnd.choice([0, 19, 20, 27, 28, len(ip) - 1,
                                                   len(ip) + 1, 1500]))
        elif kind == 5:
            ip[24:26] = struct.pack('!H', rnd.choice([0, 7, 8, 9, len(ip) - 20 - 1,
                                                     len(ip) - 20 + 1, 65535]))
        elif kind == 6:
            ip[9] = rnd.choice([0, 1, 6, 47, 50, 58, 132, 255])
        elif kind == 7:
            ip[1] = rnd.randrange(256)  # TOS/DSCP/ECN
        elif kind == 8:
            bad_ip_csum = True
        elif kind == 9:
            ip = ip[:rnd.randrange(1, len(ip))]  # truncated
        elif kind == 10:
            ip += bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 20)))  # padding
        elif kind == 11:
            ip[20:24] = struct.pack('!HH', rnd.choice([sport, sport + 1, 53]),
                                    rnd.choice([dport, dport + 1]))
        elif kind == 12:
            for _ in range(rnd.randrange(1, 4)):
                ip[rnd.randrange(len(ip))] ^= 1 << rnd.randrange(8)
        else:
            ip[12:16] = bytes(rnd.randrange(256) for _ in range(4))  # spoofed source
        ip = fix_udp(bytes(ip))
        ip = bytes(ip) if bad_ip_csum else fix_ip(bytes(ip))
        if bad_ip_csum and len(ip) >= 12:
            ip = ip[:10] + bytes([ip[10] ^ 0x5a, ip[11]]) + ip[12:]
        frames.append(Ether(dst=dmac, type=0x0800) / Raw(ip))
    wrpcap(out, frames)


def send(inp, iface):
    sendp(rdpcap(inp), iface=iface, verbose=False, inter=0.0005)


def received(path):
    pkts = collections.Counter()
    for p in rdpcap(path):
        b = raw(p)
        if len(b) < 14 + 20 or b[14] >> 4 != 4:
            continue
        pkts[b] += 1
    return pkts


def compare(a, b):
    x, y = received(a), received(b)
    only_a, only_b = x - y, y - x
    print('fuzz: %d packets arrived with offload, %d without; %d only with, %d only without'
          % (sum(x.values()), sum(y.values()), sum(only_a.values()), sum(only_b.values())))
    for name, d in (('only with offload', only_a), ('only without', only_b)):
        for pkt in list(d)[:5]:
            print('  %s: %s' % (name, pkt.hex()))
    return 0 if not only_a and not only_b and sum(x.values()) > 0 else 1


def trailers(path):
    got = {}
    for p in rdpcap(path):
        b = raw(p)
        if len(b) >= 14 + 20 and b[14] >> 4 == 4:
            ipid = struct.unpack('!H', b[18:20])[0]
            if 60000 <= ipid < 60003:
                got[ipid] = (len(b), 14 + struct.unpack('!H', b[16:18])[0])
    print('trailers: %s' % ', '.join('IP id %d: %d-byte frame, IP length + 14 = %d' % (i, *got[i])
                                     for i in sorted(got)))
    return 0 if len(got) == 3 and all(a == b for a, b in got.values()) else 1


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'gen':
        o, n, seed, dmac, src, sport, dst, dport = sys.argv[2:10]
        gen(o, int(n), int(seed), dmac, src, int(sport), dst, int(dport))
    elif cmd == 'send':
        send(sys.argv[2], sys.argv[3])
    elif cmd == 'trailers':
        sys.exit(trailers(sys.argv[2]))
    else:
        sys.exit(compare(sys.argv[2], sys.argv[3]))
