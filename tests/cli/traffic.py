#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Known, long-lived connections for the CLI tests.

  traffic.py serve READY PORT...
      UDP and TCP echo on each PORT, IPv4 and IPv6; touches READY when listening.

  traffic.py client DIR SPEC...
      SPEC is PROTO,SRC,SPORT,DST,DPORT (e.g. udp,198.18.1.2,40001,198.19.2.2,7001).
      Opens every connection from the fixed source port and sends one small packet
      on each every 100 ms, so the flows stay offloaded and their tuples are known.
      While DIR/pause exists nothing is sent (counters stand still). DIR/ready is
      written once every connection has had an answer; DIR/received holds the
      number of echoes received so far. Sockets stay open until SIGTERM.
"""
import os
import selectors
import signal
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def touch(path, text=""):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def serve(ready, ports):
    sel = selectors.DefaultSelector()
    for port in ports:
        for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(fam, typ)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((addr, port))
                if typ == socket.SOCK_STREAM:
                    s.listen(16)
                    sel.register(s, selectors.EVENT_READ, "listen")
                else:
                    sel.register(s, selectors.EVENT_READ, "udp")
    touch(ready)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == "listen":
                conn, _ = s.accept()
                sel.register(conn, selectors.EVENT_READ, "tcp")
            elif key.data == "udp":
                data, peer = s.recvfrom(65535)
                s.sendto(data, peer)
            else:
                try:
                    data = s.recv(65535)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(s)
                    s.close()
                else:
                    s.sendall(data)


def client(d, specs):
    conns = []
    for spec in specs:
        proto, src, sport, dst, dport = spec.split(",")
        fam = family(dst)
        typ = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
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
        conns.append({"sock": s, "answered": False, "spec": spec})
    received = 0
    ready = False
    pause = os.path.join(d, "pause")
    while True:
        if not os.path.exists(pause):
            for c in conns:
                try:
                    c["sock"].send(b"nft-offload cli test")
                except (BlockingIOError, ConnectionRefusedError):
                    pass
        time.sleep(0.1)
        for c in conns:
            while True:
                try:
                    data = c["sock"].recv(65535)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if not data:
                    break
                c["answered"] = True
                received += 1
        touch(os.path.join(d, "received"), "%d\n" % received)
        if not ready and all(c["answered"] for c in conns):
            touch(os.path.join(d, "ready"))
            ready = True


def main():
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2], [int(p) for p in sys.argv[3:]])
    elif len(sys.argv) >= 4 and sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
