#!/usr/bin/env python3
"""Seed corpus of the virtio-net fuzz target (tests/fuzz/fuzz_net.c),
checked in under tests/fuzz/corpus/net: well-formed receive buffers and
transmit chains (one buffer, split header, indirect), broadcasts and
unicasts, and frames from the uplink appended after the RAM image. Run
from anywhere; overwrites seed-*.bin there."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
# Layout of tests/unit/test_virtio_drv.h (queue 0) and fuzz_net.c (queue 1)
RX_DESC, RX_AVAIL, RX_USED = 0x0000, 0x1000, 0x2000
TX_DESC, TX_AVAIL, TX_USED = 0x3000, 0x4000, 0x5000
IND = 0x6000
RXBUF, TXBUF = 0x8000, 0xE000
F_NEXT, F_WRITE, F_IND = 1, 2, 4
RAM = 0x10000   # image size (the target's RAM is 256 KiB)
MAC = bytes([0x00, 0x16, 0x3e, 0, 0, 1])
OTHER = bytes([0x00, 0x16, 0x3e, 0, 0, 2])
BCAST = b"\xff" * 6
EXT = bytes([0x52, 0x55, 0x0a, 0, 2, 2])


def put(ram, off, fmt, *v):
    b = struct.pack("<" + fmt, *v)
    ram[off:off + len(b)] = b


def desc(ram, table, i, addr, ln, flags, nxt):
    put(ram, table + 16 * i, "QIHH", addr, ln, flags, nxt)


def frame(dst, src, n, seed, ethertype=0x88B5):
    body = bytes((seed + i) & 0xFF for i in range(n - 14))
    return dst + src + struct.pack(">H", ethertype) + body


def image(tx_frames, rx_bufs, qsize, split=False, indirect=False):
    ram = bytearray(RAM)
    # receive buffers, one descriptor each
    for i, ln in enumerate(rx_bufs):
        desc(ram, RX_DESC, i, RXBUF + 0x800 * i, ln, F_WRITE, 0)
        put(ram, RX_AVAIL + 4 + 2 * i, "H", i)
    put(ram, RX_AVAIL + 2, "H", len(rx_bufs))
    d = 0
    for slot, fr in enumerate(tx_frames):
        at = TXBUF + 0x800 * slot
        ram[at + 12:at + 12 + len(fr)] = fr
        if indirect:
            tbl = IND + 0x100 * slot
            desc(ram, tbl, 0, at, 12, F_NEXT, 1)
            desc(ram, tbl, 1, at + 12, len(fr), 0, 0)
            desc(ram, TX_DESC, d % qsize, tbl, 32, F_IND, 0)
            head, d = d % qsize, d + 1
        elif split:
            head = d % qsize
            desc(ram, TX_DESC, head, at, 12, F_NEXT, (d + 1) % qsize)
            desc(ram, TX_DESC, (d + 1) % qsize, at + 12, len(fr), 0, 0)
            d += 2
        else:
            head = d % qsize
            desc(ram, TX_DESC, head, at, 12 + len(fr), 0, 0)
            d += 1
        put(ram, TX_AVAIL + 4 + 2 * (slot % qsize), "H", head)
    put(ram, TX_AVAIL + 2, "H", len(tx_frames))
    return bytes(ram)


def uplink(frames):
    out = b""
    for fr in frames:
        out += struct.pack(">H", len(fr)) + fr
    return out


def tagged(fr, vid):
    return fr[:12] + struct.pack(">HH", 0x8100, vid) + fr[12:]


def write(name, data):
    d = os.path.join(HERE, "corpus", "net")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name + ".bin"), "wb") as f:
        f.write(data)


def main():
    txs = [frame(BCAST, MAC, 60, 1), frame(OTHER, MAC, 200, 2), frame(EXT, MAC, 1514, 3),
           frame(BCAST, OTHER, 60, 4)]  # the last one spoofed
    rxs = [1526] * 8 + [100, 8]
    ins = [frame(MAC, EXT, 100, 5), frame(BCAST, EXT, 60, 6), frame(MAC, OTHER, 1514, 7)]
    # header: flags (0x40 event idx, 0x20 indirect, 0x10 VLAN 7), rx qsize exp, tx qsize exp,
    # frames, image length / 64 (le16)
    def hdr(flags, rx, tx, n):
        return bytes([flags, rx, tx, n]) + struct.pack("<H", RAM // 64)
    write("plain", hdr(0x00, 4, 4, len(ins)) + image(txs, rxs, 16) + uplink(ins))
    write("split-evt", hdr(0x40, 4, 5, len(ins)) + image(txs, rxs, 32, split=True) + uplink(ins))
    vins = [tagged(f, 7) for f in ins] + [tagged(frame(BCAST, EXT, 60, 8), 9)]
    write("indirect-vlan", hdr(0x70, 4, 4, len(vins)) + image(txs, rxs, 16, indirect=True) + uplink(vins))


if __name__ == "__main__":
    main()
