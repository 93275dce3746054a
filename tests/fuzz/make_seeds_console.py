#!/usr/bin/env python3
"""Seed corpus for tests/fuzz/fuzz_console.c (checked in as
tests/fuzz/corpus/console/seed-*.bin): header (flags, queue size exponents
rx | tx << 4, input amount) then guest RAM with receive buffers posted on
queue 0 (rings at 0, 0x1000, 0x2000) and transmit chains on queue 1 (rings
at 0xA000, 0xB000, 0xC000). Run from anywhere; overwrites those seeds."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
RX = (0x0000, 0x1000, 0x2000)
TX = (0xA000, 0xB000, 0xC000)
F_NEXT, F_WRITE, F_IND = 1, 2, 4
TEXT, RXBUF, IND = 0xD000, 0xE000, 0x8000


def put(ram, off, fmt, *v):
    b = struct.pack("<" + fmt, *v)
    ram[off:off + len(b)] = b


def desc(ram, table, i, addr, ln, flags, nxt):
    put(ram, table + 16 * i, "QIHH", addr, ln, flags, nxt)


def build(rx_exp, tx_exp, indirect=False, lines=(b"hello\n", b"split ", b"chain\n")):
    ram = bytearray(0xE400)
    rq, tq = 1 << rx_exp, 1 << tx_exp
    # receive: up to 4 one-buffer chains of 64 bytes
    n_rx = min(4, rq)
    for i in range(n_rx):
        desc(ram, RX[0], i, RXBUF + 0x100 * i, 64, F_WRITE, 0)
        put(ram, RX[1] + 4 + 2 * i, "H", i)
    put(ram, RX[1] + 2, "H", n_rx)
    # transmit: one chain per line, a two-buffer chain for the second, or indirect tables
    off, d, heads = TEXT, 0, []
    for k, line in enumerate(lines):
        ram[off:off + len(line)] = line
        if indirect:
            tbl = IND + 0x100 * k
            half = len(line) // 2
            desc(ram, tbl, 0, off, half, F_NEXT, 1)
            desc(ram, tbl, 1, off + half, len(line) - half, 0, 0)
            desc(ram, TX[0], d % tq, tbl, 32, F_IND, 0)
            heads.append(d % tq)
            d += 1
        else:
            desc(ram, TX[0], d % tq, off, len(line), 0, 0)
            heads.append(d % tq)
            d += 1
        off += len(line)
        if len(heads) == tq:
            break
    for i, h in enumerate(heads):
        put(ram, TX[1] + 4 + 2 * i, "H", h)
    put(ram, TX[1] + 2, "H", len(heads))
    return ram


def write(name, data):
    d = os.path.join(HERE, "corpus", "console")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name + ".bin"), "wb") as f:
        f.write(bytes(data))


def main():
    write("basic", bytes([0x04 | 0x10, 3 | (4 << 4), 1]) + build(3, 4))
    write("evtidx-indirect", bytes([0x01 | 0x02 | 0x04, 4 | (4 << 4), 2]) + build(4, 4, indirect=True))
    write("overflow-reset", bytes([0x04 | 0x08 | 0x20, 2 | (6 << 4), 3]) + build(2, 6))


if __name__ == "__main__":
    main()
