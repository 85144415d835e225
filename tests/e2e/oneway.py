#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Count what gets through a router that drops one direction of a connection.

  server tcp|udp ADDR PORT SECONDS  echo everything received for SECONDS, then
                                    print the bytes received
  client tcp|udp ADDR PORT SECONDS [--sport P] [--gate FILE]
                                    send a 512-byte message every 10 ms for
                                    SECONDS (TCP: if the connection opens),
                                    then print "sent=N echoed=M" in bytes;
                                    with --gate, send one message and wait
                                    (idle) until FILE exists first
"""
import argparse
import os
import selectors
import socket
import time

MSG = b'x' * 512


def family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET


def server(a):
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


def client(a):
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
            sent += s.send(MSG)
            try:
                s.settimeout(0.5)
                echoed += len(s.recv(65535))
            except OSError:
                pass
        if a.gate:
            sent += s.send(MSG)
            echoed += len(s.recv(65535))
            while not os.path.exists(a.gate):
                time.sleep(0.01)
            end = time.monotonic() + a.seconds
        s.setblocking(False)
        while time.monotonic() < end:
            try:
                sent += s.send(MSG)
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument('role', choices=['server', 'client'])
    p.add_argument('proto', choices=['tcp', 'udp'])
    p.add_argument('addr')
    p.add_argument('port', type=int)
    p.add_argument('seconds', type=float)
    p.add_argument('--sport', type=int, default=0)
    p.add_argument('--gate', default='')
    a = p.parse_args()
    (server if a.role == 'server' else client)(a)


if __name__ == '__main__':
    main()
