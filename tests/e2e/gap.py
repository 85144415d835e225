#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Loss and the longest delivery gap of a paced UDP stream (bridge tests).

  gap.py recv PORT SECS [--ipv6]       answer the first datagram only, then
                                       record arrivals until 'end' (or SECS
                                       after the first); print
                                       "received N lost L gap SECONDS"
  gap.py send HOST PORT SECONDS RATE   one request/reply (so that conntrack
                                       sees a reply), then numbered datagrams
The receiver answers only once, so the stream stays one-way: nothing from the
receiver refreshes the router's neighbour entry behind the test's back.
"""
import socket
import struct
import sys
import time


def recv(port, secs, v6):
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


def send(host, port, secs, rate):
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
        sys.exit('gap.py: no answer from %s:%d' % (host, port))
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


if __name__ == '__main__':
    if sys.argv[1] == 'recv':
        recv(int(sys.argv[2]), float(sys.argv[3]), '--ipv6' in sys.argv)
    else:
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
