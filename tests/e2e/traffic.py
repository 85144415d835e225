#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Traffic endpoints for the end-to-end tests. Every exchange is checked:
replies must carry what was sent, streams must arrive complete and in order.

  udp-echo PORT                          echo server (until killed)
  udp-rr HOST PORT N [--sport P]         N request/replies, all must match
  udp-stream HOST PORT N [--rate PPS] [--sport P] [--hold S]
                                         one request/reply, then N numbered
                                         datagrams; the echo side counts them
  udp-sink PORT N [--timeout S] [--ack K] receive a udp-stream; exit 0 if all N
                                         arrived intact (replies to the first,
                                         and to every Kth with a short report)
  tcp-send HOST PORT MB --rate MBPS      send MB megabytes of a seeded stream at
                                         a limited rate (tcp-recv checks it)
  tcp-recv PORT MB                       receive and verify a tcp-send stream
  tcp-echo PORT                          echo server, many connections
  tcp-many HOST PORT N [--rounds R] [--gate FILE]
                                         N connections, R echo rounds each;
                                         waits for FILE to exist between rounds
"""
import argparse
import hashlib
import os
import selectors
import socket
import struct
import sys
import time


def family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET


def anyaddr(fam):
    return '::' if fam == socket.AF_INET6 else '0.0.0.0'


def udp_echo(a):
    log = open(a.log, 'a', buffering=1) if a.log else None
    socks = []
    for fam in (socket.AF_INET, socket.AF_INET6):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind((anyaddr(fam), a.port))
        socks.append(s)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            data, peer = key.fileobj.recvfrom(65535)
            if log:
                log.write('%.6f\n' % time.time())
            key.fileobj.sendto(data, peer)


def udp_socket(a):
    fam = family(a.host)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.sport:
        s.bind((anyaddr(fam), a.sport))
    s.connect((a.host, a.port))
    s.settimeout(2)
    return s


def udp_rr(a):
    s = udp_socket(a)
    s.settimeout(a.timeout)
    ok = lost = 0
    for i in range(a.n):
        msg = struct.pack('!I', i) + os.urandom(60)
        s.send(msg)
        try:
            if s.recv(65535) == msg:
                ok += 1
                lost = 0
        except socket.timeout:
            lost += 1
            if a.give_up and lost >= a.give_up:
                break
        if a.gap:
            time.sleep(a.gap)
    print('udp-rr: %d/%d replies intact' % (ok, a.n))
    return 0 if ok == a.n else 1


def udp_stream(a):
    s = udp_socket(a)
    hello = b'hello' + os.urandom(16)
    for _ in range(5):
        s.send(hello)
        try:
            if s.recv(65535) == hello:
                break
        except socket.timeout:
            pass
    else:
        print('udp-stream: no reply to the handshake')
        return 1
    if a.hold:
        time.sleep(a.hold)  # let the flow be offloaded before the stream
    gap = 1.0 / a.rate if a.rate else 0
    t0 = time.monotonic()
    for i in range(a.n):
        body = hashlib.sha256(struct.pack('!I', i)).digest() * 4
        s.send(struct.pack('!I', i) + body)
        if gap:
            delay = t0 + (i + 1) * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    s.send(b'end')
    print('udp-stream: sent %d datagrams' % a.n)
    return 0


def udp_sink(a):
    fam = socket.AF_INET6 if a.ipv6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.bind((anyaddr(fam), a.port))
    s.settimeout(a.timeout)
    seen = set()
    bad = 0
    try:
        while True:
            data, peer = s.recvfrom(65535)
            if data.startswith(b'hello'):
                s.sendto(data, peer)
                continue
            if data == b'end':
                break
            i = struct.unpack('!I', data[:4])[0]
            if data[4:] != hashlib.sha256(data[:4]).digest() * 4:
                bad += 1
            seen.add(i)
            if a.ack and i % a.ack == 0:
                s.sendto(b'ack', peer)  # a receiver report, as RTCP or QUIC send
    except socket.timeout:
        pass
    # The end marker can overtake the last datagrams: drain briefly.
    s.settimeout(0.5)
    try:
        while len(seen) < a.n:
            data, _ = s.recvfrom(65535)
            if len(data) > 4 and not data.startswith(b'hello'):
                seen.add(struct.unpack('!I', data[:4])[0])
    except socket.timeout:
        pass
    print('udp-sink: %d/%d datagrams, %d corrupt' % (len(seen), a.n, bad))
    return 0 if len(seen) == a.n and not bad else 1


def pattern(i):
    """Block i of the checked stream: 64 KiB derived from its index."""
    seed = hashlib.sha256(struct.pack('!Q', i)).digest()
    return seed * 2048


def tcp_send(a):
    fam = family(a.host)
    c = socket.create_connection((a.host, a.port), timeout=30)
    blocks = a.mb * 16
    t0 = time.monotonic()
    for i in range(blocks):
        c.sendall(pattern(i))
        if a.rate:
            delay = t0 + (i + 1) / (a.rate * 16) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()
    print('tcp-send: %d MB in %.1fs' % (a.mb, time.monotonic() - t0))
    del fam
    return 0


def tcp_recv(a):
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(('::', a.port))
    srv.listen(1)
    c, _ = srv.accept()
    want = a.mb * 16 * 65536
    buf = bytearray()
    got = bad = 0
    i = 0
    while True:
        chunk = c.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 65536:
            if bytes(buf[:65536]) != pattern(i):
                bad += 1
            del buf[:65536]
            i += 1
        got += len(chunk)
    c.close()
    print('tcp-recv: %d/%d bytes, %d corrupt blocks' % (got, want, bad))
    return 0 if got == want and not bad and not buf else 1


def tcp_echo(a):
    fam = socket.AF_INET6 if a.ipv6 else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((anyaddr(fam), a.port))
    srv.listen(4096)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is srv:
                try:
                    c, _ = srv.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            c = key.fileobj
            try:
                data = c.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b''
            if not data:
                sel.unregister(c)
                c.close()
                continue
            c.setblocking(True)
            c.sendall(data)
            c.setblocking(False)


def tcp_many(a):
    conns = []
    for i in range(a.n):
        c = socket.create_connection((a.host, a.port), timeout=10)
        conns.append(c)
    bad = 0
    for r in range(a.rounds):
        if r and a.gate:
            t0 = time.monotonic()
            while not os.path.exists(a.gate) and time.monotonic() - t0 < 60:
                time.sleep(0.1)
            os.unlink(a.gate)
        for i, c in enumerate(conns):
            msg = struct.pack('!II', r, i) + os.urandom(100)
            c.sendall(msg)
            got = b''
            while len(got) < len(msg):
                chunk = c.recv(len(msg) - len(got))
                if not chunk:
                    break
                got += chunk
            bad += got != msg
        if a.gate:
            open(a.gate + '.done%d' % r, 'w').close()
    for c in conns:
        c.close()
    print('tcp-many: %d connections x %d rounds, %d bad echoes' % (a.n, a.rounds, bad))
    return 0 if not bad else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    x = sub.add_parser('udp-echo')
    x.add_argument('port', type=int)
    x.add_argument('--log', default='')
    x = sub.add_parser('tcp-send')
    x.add_argument('host')
    x.add_argument('port', type=int)
    x.add_argument('mb', type=int)
    x.add_argument('--rate', type=float, default=0)
    x = sub.add_parser('tcp-recv')
    x.add_argument('port', type=int)
    x.add_argument('mb', type=int)
    for name in ('udp-rr', 'udp-stream'):
        x = sub.add_parser(name)
        x.add_argument('host')
        x.add_argument('port', type=int)
        x.add_argument('n', type=int)
        x.add_argument('--sport', type=int, default=0)
        x.add_argument('--rate', type=float, default=0)
        x.add_argument('--hold', type=float, default=0)
        x.add_argument('--gap', type=float, default=0)
        x.add_argument('--timeout', type=float, default=2)
        x.add_argument('--give-up', type=int, default=0,
                       help='stop after this many requests in a row went unanswered')
    x = sub.add_parser('udp-sink')
    x.add_argument('port', type=int)
    x.add_argument('n', type=int)
    x.add_argument('--timeout', type=float, default=20)
    x.add_argument('--ipv6', action='store_true')
    x.add_argument('--ack', type=int, default=0)
    x = sub.add_parser('tcp-echo')
    x.add_argument('port', type=int)
    x.add_argument('--ipv6', action='store_true')
    x = sub.add_parser('tcp-many')
    x.add_argument('host')
    x.add_argument('port', type=int)
    x.add_argument('n', type=int)
    x.add_argument('--rounds', type=int, default=2)
    x.add_argument('--gate', default='')
    a = p.parse_args()
    return {'udp-echo': udp_echo, 'udp-rr': udp_rr, 'udp-stream': udp_stream,
            'udp-sink': udp_sink, 'tcp-echo': tcp_echo, 'tcp-many': tcp_many,
            'tcp-send': tcp_send, 'tcp-recv': tcp_recv}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
