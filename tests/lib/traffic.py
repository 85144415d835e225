#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Traffic for the tests, the demo and the benchmark: echo servers and
clients, every exchange checked (replies must carry what was sent, streams
must arrive complete and in order).

PORTS are PORT or FIRST:COUNT (COUNT ports from FIRST). Servers bind the
wildcard address of IPv4 and IPv6 (or only --addr / only --ipv4) and, with
--ready FILE, create FILE once they listen (--ready - prints "ready").

  udp-echo PORTS... [--ipv4] [--addr A] [--log F] [--ready F]
                                         UDP echo server (until killed); --log
                                         appends each datagram's arrival time
  tcp-echo PORTS... [--ipv6] [--ready F] TCP echo server, many connections
                                         (IPv4, or dual-stack with --ipv6)
  serve READY PORTS...                   UDP and TCP echo, IPv4 and IPv6
  udp-rr HOST PORT N [--sport P] [--tries K]
                                         N request/replies, all must match (a
                                         request is sent up to K times)
  udp-stream HOST PORT N [--rate PPS] [--sport P] [--hold S]
                                         one request/reply, then N numbered
                                         datagrams; the echo side counts them
  udp-sink PORT N [--timeout S] [--ack K] receive a udp-stream; exit 0 if all N
                                         arrived intact (replies to the first,
                                         and to every Kth with a short report)
  udp-open SRC DST SPORT0:A DPORT0:B     one request/reply per port pair (see
                                         udp_open); prints the pairs answered
  tcp-send HOST PORT MB --rate MBPS      send MB megabytes of a seeded stream at
                                         a limited rate (tcp-recv checks it)
  tcp-recv PORT MB                       receive and verify a tcp-send stream
  tcp-many HOST PORT N [--rounds R] [--gate FILE]
                                         N connections, R echo rounds each;
                                         waits for FILE to exist between rounds
  client DIR SPEC...                     long-lived connections from fixed
                                         ports (see client)
  gap recv|send ...                      a paced one-way UDP stream: loss and
                                         the longest delivery gap (see gap)
  oneway server|client tcp|udp ...       what a router that drops one direction
                                         lets through (see oneway)
"""
import argparse
import hashlib
import os
import selectors
import signal
import socket
import struct
import sys
import time


def family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET


def anyaddr(fam):
    return '::' if fam == socket.AF_INET6 else '0.0.0.0'


def port_list(specs):
    """PORT or FIRST:COUNT, each; in order, without repeats."""
    out = []
    for spec in specs:
        first, _, count = spec.partition(':')
        for port in range(int(first), int(first) + int(count or 1)):
            if port not in out:
                out.append(port)
    return out


def touch(path, text=''):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def ready(path):
    if path == '-':
        print('ready', flush=True)
    elif path:
        touch(path)


def echo_server(ports, udp, tcp, binds, ready_path='', log_path=''):
    """Echo every UDP datagram and TCP byte on PORTS until killed.

    binds: (family, address, v6only) to listen on; v6only None leaves the
    system's default (dual-stack)."""
    log = open(log_path, 'a', buffering=1) if log_path else None
    sel = selectors.DefaultSelector()
    for port in ports:
        for fam, addr, v6only in binds:
            for typ in ([socket.SOCK_DGRAM] if udp else []) + \
                       ([socket.SOCK_STREAM] if tcp else []):
                s = socket.socket(fam, typ)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6 and v6only is not None:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
                if typ == socket.SOCK_DGRAM:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
                s.bind((addr, port))
                s.setblocking(False)
                if typ == socket.SOCK_STREAM:
                    s.listen(4096)
                    sel.register(s, selectors.EVENT_READ, 'listen')
                else:
                    sel.register(s, selectors.EVENT_READ, 'udp')
    ready(ready_path)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == 'udp':
                # Drain: one wake-up may stand for many datagrams.
                while True:
                    try:
                        data, peer = s.recvfrom(65535)
                    except BlockingIOError:
                        break
                    if log:
                        log.write('%.6f\n' % time.time())
                    try:
                        s.sendto(data, peer)
                    except OSError:
                        pass
            elif key.data == 'listen':
                try:
                    c, _ = s.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, 'tcp')
            else:
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b''
                if not data:
                    sel.unregister(s)
                    s.close()
                    continue
                s.setblocking(True)
                s.sendall(data)
                s.setblocking(False)


def udp_echo(a):
    if a.addr:
        binds = [(family(a.addr), a.addr, None)]
    elif a.ipv4:
        binds = [(socket.AF_INET, '0.0.0.0', None)]
    else:
        binds = [(socket.AF_INET, '0.0.0.0', None), (socket.AF_INET6, '::', 1)]
    echo_server(port_list(a.ports), True, False, binds, a.ready, a.log)


def tcp_echo(a):
    binds = [(socket.AF_INET6, '::', None)] if a.ipv6 else [(socket.AF_INET, '0.0.0.0', None)]
    echo_server(port_list(a.ports), False, True, binds, a.ready)


def serve(a):
    binds = [(socket.AF_INET, '0.0.0.0', None), (socket.AF_INET6, '::', 1)]
    echo_server(port_list(a.ports), True, True, binds, a.ready)


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
        for _ in range(a.tries):
            s.send(msg)
            try:
                got = s.recv(65535)
            except socket.timeout:
                continue
            if got == msg:
                ok += 1
                lost = 0
            break
        else:
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


def client(a):
    """Known, long-lived connections (the CLI tests' golden tuples).

    SPEC is PROTO,SRC,SPORT,DST,DPORT (e.g. udp,198.18.1.2,40001,198.19.2.2,7001).
    Opens every connection from the fixed source port and sends one small
    packet on each every 100 ms, so the flows stay offloaded and their tuples
    are known. While DIR/pause exists nothing is sent (counters stand still).
    DIR/ready is written once every connection has had an answer;
    DIR/received holds the number of echoes received so far. Sockets stay
    open until SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    conns = []
    for spec in a.specs:
        proto, src, sport, dst, dport = spec.split(',')
        fam = family(dst)
        typ = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
        s = socket.socket(fam, typ)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, int(sport)))
        s.settimeout(5)
        for _ in range(50):
            try:
                s.connect((dst, int(dport)))
                break
            except (ConnectionRefusedError, OSError):
                time.sleep(0.1)
        s.setblocking(False)
        conns.append({'sock': s, 'answered': False, 'spec': spec})
    received = 0
    is_ready = False
    pause = os.path.join(a.dir, 'pause')
    while True:
        if not os.path.exists(pause):
            for c in conns:
                try:
                    c['sock'].send(b'nft-offload cli test')
                except (BlockingIOError, ConnectionRefusedError):
                    pass
        time.sleep(0.1)
        for c in conns:
            while True:
                try:
                    data = c['sock'].recv(65535)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if not data:
                    break
                c['answered'] = True
                received += 1
        touch(os.path.join(a.dir, 'received'), '%d\n' % received)
        if not is_ready and all(c['answered'] for c in conns):
            touch(os.path.join(a.dir, 'ready'))
            is_ready = True


# Requests of udp-open carry 64 bytes: their IP length is not the 46 bytes
# the benchmark's sink drops, so they reach the echo sockets.
OPEN_PAYLOAD = b'nfo-bench-flow-setup'.ljust(64, b'.')


def udp_open(a):
    """One request and one reply for each of A x B port pairs.

    nft-offload (like the kernel flowtable) offloads a UDP connection only
    after conntrack has seen a reply, so a one-way blast would never be
    offloaded. A flow set is A source ports x B destination ports with
    gcd(A, B) == 1: trafgen increments both ports by one per packet (dinc),
    so packet k carries (sport0 + k % A, dport0 + k % B), which by the
    Chinese remainder theorem visits all A*B pairs. Exactly those pairs get a
    request here (from a raw socket: no socket per source port), retried
    until every pair had a reply from a udp-echo on the DPORT range."""
    s0, _, na = a.sports.partition(':')
    d0, _, nb = a.dports.partition(':')
    s0, na, d0, nb = int(s0), int(na or 1), int(d0), int(nb or 1)
    n = na * nb
    want = {}
    for k in range(n):
        want[(s0 + k % na, d0 + k % nb)] = True
    if len(want) != n:
        sys.exit('traffic.py: port counts %d and %d are not coprime' % (na, nb))
    dst_b = socket.inet_aton(a.dst)
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    rx.setblocking(False)
    ulen = 8 + len(OPEN_PAYLOAD)

    def drain():
        while True:
            try:
                pkt = rx.recv(2048)
            except BlockingIOError:
                return
            ihl = (pkt[0] & 15) * 4
            if pkt[12:16] != dst_b:
                continue
            sp, dp = struct.unpack_from('!HH', pkt, ihl)
            want.pop((dp, sp), None)

    # Bursts, each drained until the replies stop coming: the echo server is
    # a Python loop and must keep up. What got lost is sent again.
    burst = 512
    for _ in range(6):
        todo = list(want)
        for i in range(0, len(todo), burst):
            for sp, dp in todo[i:i + burst]:
                # UDP checksum 0: "none" in IPv4, fine for conntrack and sockets.
                hdr = struct.pack('!HHHH', sp, dp, ulen, 0)
                try:
                    tx.sendto(hdr + OPEN_PAYLOAD, (a.dst, 0))
                except OSError:
                    time.sleep(0.01)
            left, quiet = len(want), time.monotonic() + 0.005
            end = time.monotonic() + 0.2
            while time.monotonic() < min(quiet, end):
                drain()
                if len(want) < left:
                    left, quiet = len(want), time.monotonic() + 0.005
                time.sleep(0.0005)
        end = time.monotonic() + 0.5
        while want and time.monotonic() < end:
            drain()
            time.sleep(0.01)
        if not want:
            break
    print(n - len(want))
    return 0 if not want else 1


def udp_load(a):
    """COUNT UDP connections (source ports SPORT0...), one datagram each every
    0.1 s for SECONDS, replies read and dropped: many live connections that
    go idle together when it ends."""
    socks = []
    for i in range(a.count):
        s = socket.socket(family(a.host), socket.SOCK_DGRAM)
        s.bind((anyaddr(family(a.host)), a.sport0 + i))
        s.setblocking(False)
        socks.append(s)
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        for s in socks:
            s.sendto(b'y' * 32, (a.host, a.port))
        time.sleep(0.1)
        for s in socks:
            try:
                s.recv(64)
            except BlockingIOError:
                pass
    return 0


# --- gap: loss and the longest delivery gap of a paced UDP stream --------------
#
#   gap recv PORT SECS [--ipv6]       answer the first datagram only, then
#                                     record arrivals until 'end' (or SECS
#                                     after the first); print
#                                     "received N lost L gap SECONDS"
#   gap send HOST PORT SECONDS RATE   one request/reply (so that conntrack
#                                     sees a reply), then numbered datagrams
# The receiver answers only once, so the stream stays one-way: nothing from the
# receiver refreshes the router's neighbour entry behind the test's back.

def gap_recv(port, secs, v6):
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(('::' if v6 else '0.0.0.0', port))
    s.settimeout(secs + 3)
    answered = False
    seen, last, gap, top = set(), None, 0.0, -1
    deadline = None
    while True:
        if deadline is not None:
            s.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            data = b'end'
        if data == b'hello':
            if not answered:
                s.sendto(data, peer)
                answered = True
                deadline = time.monotonic() + secs
            continue
        if data == b'end':
            # A stream that never came back: the gap lasts until the end.
            if last is not None:
                gap = max(gap, time.monotonic() - last - 0.1)
            break
        now = time.monotonic()
        if last is not None:
            gap = max(gap, now - last)
        last = now
        i = struct.unpack('!I', data[:4])[0]
        seen.add(i)
        top = max(top, i)
    print('received %d lost %d gap %.3f' % (len(seen), top + 1 - len(seen), gap))


def gap_send(host, port, secs, rate):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((host, port))
    s.settimeout(0.5)
    for _ in range(20):
        s.send(b'hello')
        try:
            if s.recv(64) == b'hello':
                break
        except (socket.timeout, ConnectionRefusedError):
            pass
    else:
        sys.exit('traffic.py gap: no answer from %s:%d' % (host, port))
    t0 = time.monotonic()
    n = int(secs * rate)
    for i in range(n):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            s.send(struct.pack('!I', i) + b'x' * 60)
        except OSError:
            pass  # ICMP errors of a lost path: keep the pace
    for _ in range(5):
        time.sleep(0.1)
        try:
            s.send(b'end')
        except OSError:
            break  # the receiver is gone: it had the first one


def gap(a):
    r = a.args
    if a.role == 'recv':
        gap_recv(int(r[0]), float(r[1]), '--ipv6' in r)
    else:
        gap_send(r[0], int(r[1]), float(r[2]), float(r[3]))
    return 0


# --- oneway: what gets through a router that drops one direction -------------
#
#   oneway server tcp|udp ADDR PORT SECONDS  echo everything received for
#                                     SECONDS, then print the bytes received
#   oneway client tcp|udp ADDR PORT SECONDS [--sport P] [--gate FILE]
#                                     send a 512-byte message every 10 ms for
#                                     SECONDS (TCP: if the connection opens),
#                                     then print "sent=N echoed=M" in bytes;
#                                     with --gate, send one message and wait
#                                     (idle) until FILE exists first

ONEWAY_MSG = b'x' * 512


def oneway_server(a):
    fam = family(a.addr)
    end = time.monotonic() + a.seconds
    got = 0
    sel = selectors.DefaultSelector()
    if a.proto == 'udp':
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((a.addr, a.port))
    else:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a.addr, a.port))
        s.listen(8)
    sel.register(s, selectors.EVENT_READ)
    while time.monotonic() < end:
        for key, _ in sel.select(max(0.0, end - time.monotonic())):
            sk = key.fileobj
            try:
                if a.proto == 'udp':
                    data, peer = sk.recvfrom(65535)
                    got += len(data)
                    sk.sendto(data, peer)
                elif sk is s:
                    c, _ = s.accept()
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ)
                else:
                    data = sk.recv(65535)
                    if not data:
                        sel.unregister(sk)
                        sk.close()
                        continue
                    got += len(data)
                    sk.setblocking(True)
                    sk.settimeout(0.05)
                    try:
                        sk.sendall(data)
                    except OSError:
                        pass
                    sk.setblocking(False)
            except OSError:
                pass
    print(got, flush=True)


def oneway_client(a):
    fam = family(a.addr)
    kind = socket.SOCK_DGRAM if a.proto == 'udp' else socket.SOCK_STREAM
    s = socket.socket(fam, kind)
    if a.sport:
        s.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', a.sport))
    end = time.monotonic() + a.seconds
    sent = echoed = 0
    try:
        s.settimeout(a.seconds)
        s.connect((a.addr, a.port))
        if a.proto == 'udp' and not a.gate:
            # Request, then wait for the reply (if it comes): datagrams sent
            # before it would still be NEW to conntrack, not established.
            sent += s.send(ONEWAY_MSG)
            try:
                s.settimeout(0.5)
                echoed += len(s.recv(65535))
            except OSError:
                pass
        if a.gate:
            sent += s.send(ONEWAY_MSG)
            echoed += len(s.recv(65535))
            while not os.path.exists(a.gate):
                time.sleep(0.01)
            end = time.monotonic() + a.seconds
        s.setblocking(False)
        while time.monotonic() < end:
            try:
                sent += s.send(ONEWAY_MSG)
            except BlockingIOError:
                pass
            stop = time.monotonic() + 0.01
            while time.monotonic() < stop:
                try:
                    data = s.recv(65535)
                    echoed += len(data)
                except (BlockingIOError, ConnectionRefusedError):
                    time.sleep(0.002)
    except OSError:
        pass
    print('sent=%d echoed=%d' % (sent, echoed), flush=True)


def oneway(a):
    (oneway_server if a.role == 'server' else oneway_client)(a)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    x = sub.add_parser('udp-echo')
    x.add_argument('ports', nargs='+')
    x.add_argument('--log', default='')
    x.add_argument('--ready', default='')
    x.add_argument('--addr', default='')
    x.add_argument('--ipv4', action='store_true')
    x = sub.add_parser('serve')
    x.add_argument('ready')
    x.add_argument('ports', nargs='+')
    x = sub.add_parser('client')
    x.add_argument('dir')
    x.add_argument('specs', nargs='+')
    x = sub.add_parser('udp-open')
    x.add_argument('src')
    x.add_argument('dst')
    x.add_argument('sports')
    x.add_argument('dports')
    x = sub.add_parser('udp-load')
    x.add_argument('host')
    x.add_argument('port', type=int)
    x.add_argument('sport0', type=int)
    x.add_argument('count', type=int)
    x.add_argument('seconds', type=float)
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
        x.add_argument('--tries', type=int, default=1,
                       help='send each request up to this many times until answered')
    x = sub.add_parser('udp-sink')
    x.add_argument('port', type=int)
    x.add_argument('n', type=int)
    x.add_argument('--timeout', type=float, default=20)
    x.add_argument('--ipv6', action='store_true')
    x.add_argument('--ack', type=int, default=0)
    x = sub.add_parser('tcp-echo')
    x.add_argument('ports', nargs='+')
    x.add_argument('--ipv6', action='store_true')
    x.add_argument('--ready', default='')
    x = sub.add_parser('tcp-many')
    x.add_argument('host')
    x.add_argument('port', type=int)
    x.add_argument('n', type=int)
    x.add_argument('--rounds', type=int, default=2)
    x.add_argument('--gate', default='')
    x = sub.add_parser('gap')
    x.add_argument('role', choices=['recv', 'send'])
    x.add_argument('args', nargs=argparse.REMAINDER)
    x = sub.add_parser('oneway')
    x.add_argument('role', choices=['server', 'client'])
    x.add_argument('proto', choices=['tcp', 'udp'])
    x.add_argument('addr')
    x.add_argument('port', type=int)
    x.add_argument('seconds', type=float)
    x.add_argument('--sport', type=int, default=0)
    x.add_argument('--gate', default='')
    a = p.parse_args()
    return {'udp-echo': udp_echo, 'udp-rr': udp_rr, 'udp-stream': udp_stream,
            'udp-sink': udp_sink, 'tcp-echo': tcp_echo, 'tcp-many': tcp_many,
            'tcp-send': tcp_send, 'tcp-recv': tcp_recv, 'serve': serve,
            'client': client, 'udp-open': udp_open, 'udp-load': udp_load, 'gap': gap,
            'oneway': oneway}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
