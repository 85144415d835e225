#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Create the benchmark's UDP flows with a request/reply exchange.

nft-offload (like the kernel flowtable) offloads a UDP connection only after
conntrack has seen a reply, so a one-way trafgen blast would never be
offloaded. Before blasting, every 5-tuple trafgen will send gets one request
from the generator and one reply from the sink.

A flow set is A source ports x B destination ports with gcd(A, B) == 1:
trafgen increments both ports by one per packet (dinc), so packet k carries
(sport0 + k % A, dport0 + k % B), which by the Chinese remainder theorem
visits all A*B pairs. This script sends exactly those pairs.

  flows.py echo DPORT0:B [DPORT0:B ...]   (sink) answer every datagram
  flows.py open SRC DST SPORT0:A DPORT0:B (generator) one request per pair,
                                          retried until every pair had a reply
"""
import selectors
import socket
import struct
import sys
import time

# Requests carry 64 bytes: their IP length is not the 46 bytes the sink's XDP
# program drops, so they reach the echo sockets.
PAYLOAD = b"nfo-bench-flow-setup".ljust(64, b".")


def ranges(specs):
    out = []
    for s in specs:
        first, count = s.split(":")
        out.append((int(first), int(count)))
    return out


def echo(specs):
    sel = selectors.DefaultSelector()
    for first, count in ranges(specs):
        for port in range(first, first + count):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.bind(("0.0.0.0", port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            while True:
                try:
                    data, addr = s.recvfrom(2048)
                except BlockingIOError:
                    break
                try:
                    s.sendto(data, addr)
                except OSError:
                    pass


def open_flows(src, dst, sspec, dspec):
    (s0, a), (d0, b) = ranges([sspec, dspec])
    n = a * b
    want = {}
    for k in range(n):
        want[(s0 + k % a, d0 + k % b)] = True
    if len(want) != n:
        sys.exit("flows.py: port counts %d and %d are not coprime" % (a, b))
    dst_b = socket.inet_aton(dst)
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    rx.setblocking(False)
    ulen = 8 + len(PAYLOAD)

    def drain():
        while True:
            try:
                pkt = rx.recv(2048)
            except BlockingIOError:
                return
            ihl = (pkt[0] & 15) * 4
            if pkt[12:16] != dst_b:
                continue
            sp, dp = struct.unpack_from("!HH", pkt, ihl)
            want.pop((dp, sp), None)

    # Bursts, each drained until the replies stop coming: the echo server is
    # a Python loop and must keep up. What got lost is sent again.
    burst = 512
    for attempt in range(6):
        todo = list(want)
        for i in range(0, len(todo), burst):
            for sp, dp in todo[i:i + burst]:
                # UDP checksum 0: "none" in IPv4, fine for conntrack and sockets.
                hdr = struct.pack("!HHHH", sp, dp, ulen, 0)
                try:
                    tx.sendto(hdr + PAYLOAD, (dst, 0))
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


def main(argv):
    if len(argv) >= 2 and argv[1] == "echo":
        echo(argv[2:])
    elif len(argv) == 6 and argv[1] == "open":
        return open_flows(*argv[2:])
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
