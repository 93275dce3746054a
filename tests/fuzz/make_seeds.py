#!/usr/bin/env python3
"""Regenerate the seed corpus in tests/fuzz/corpus (checked in): well-formed
inputs for each target, so the smoke run starts from the interesting paths
(valid chains, indirect tables, blk read/write/flush/get-id, a full driver
bring-up over MMIO). Run from anywhere; overwrites seed-*.bin."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
# Layout of tests/unit/test_virtio_drv.h
T_DESC, T_AVAIL, T_USED, T_HDR, T_STATUS, T_IND, T_DATA = 0, 0x1000, 0x2000, 0x4000, 0x6000, 0x8000, 0x10000
F_NEXT, F_WRITE, F_IND = 1, 2, 4


def put(ram, off, fmt, *v):
    b = struct.pack("<" + fmt, *v)
    ram[off:off + len(b)] = b


def desc(ram, table, i, addr, ln, flags, nxt):
    put(ram, table + 16 * i, "QIHH", addr, ln, flags, nxt)


def blk_ram(reqs, qsize, indirect=False):
    """Guest RAM with requests (type, sector, nbytes, data_is_write) posted."""
    ram = bytearray(0x12000)
    d = 0
    for slot, (typ, sector, n, w) in enumerate(reqs):
        put(ram, T_HDR + 16 * slot, "IIQ", typ, 0, sector)
        bufs = [(T_HDR + 16 * slot, 16, 0)]
        if n:
            bufs.append((T_DATA + 0x200 * slot, n, F_WRITE if w else 0))
        bufs.append((T_STATUS + slot, 1, F_WRITE))
        if indirect:
            tbl = T_IND + 0x100 * slot
            for i, (a, ln, fl) in enumerate(bufs):
                desc(ram, tbl, i, a, ln, fl | (F_NEXT if i + 1 < len(bufs) else 0), i + 1)
            desc(ram, T_DESC, d % qsize, tbl, 16 * len(bufs), F_IND, 0)
            head, d = d % qsize, d + 1
        else:
            head = d % qsize
            for i, (a, ln, fl) in enumerate(bufs):
                desc(ram, T_DESC, (d + i) % qsize, a, ln, fl | (F_NEXT if i + 1 < len(bufs) else 0), (d + i + 1) % qsize)
            d += len(bufs)
        put(ram, T_AVAIL + 4 + 2 * (slot % qsize), "H", head)
    put(ram, T_AVAIL + 2, "H", len(reqs))
    return ram


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name + ".bin"), "wb") as f:
        f.write(bytes(data))


def main():
    # virtq: header (qsize exp, flags, desc>>10, avail>>8, used>>8, cap, last_avail) + RAM
    for name, exp, flags, ind in (("direct", 4, 1, False), ("indirect", 4, 3, True), ("noevt", 3, 0, False)):
        ram = blk_ram([(0, 0, 512, True), (1, 1, 512, False), (4, 0, 0, False)], 1 << exp, ind)
        hdr = bytes([exp, flags, T_DESC >> 10, T_AVAIL >> 8, T_USED >> 8, 63, 0, 0])
        write("virtq", name, hdr + bytes(ram[:0x9000]))
    # blk: flags byte, qsize exponent, RAM
    reqs = [(0, 0, 512, True), (1, 3, 1024, False), (4, 0, 0, False), (8, 0, 20, True), (99, 0, 0, False),
            (0, 31, 512, True), (0, 32, 512, True)]
    write("blk", "rw", bytes([0x40, 4]) + blk_ram(reqs, 16))
    write("blk", "ro-noevt", bytes([0x80, 5]) + blk_ram(reqs, 32))
    write("blk", "indirect", bytes([0x40, 4]) + blk_ram(reqs, 16, True))
    # mmio: records (op, off16, size, val64): a driver bring-up, rings, notify
    recs = []

    def rd(off):
        recs.append(struct.pack("<BHBQ", 0, off, 2, 0))

    def wr(off, v):
        recs.append(struct.pack("<BHBQ", 1, off, 2, v))

    def mem(addr, v):
        recs.append(struct.pack("<BHBQ", 2, addr >> 3, 3, v))

    for off in (0, 4, 8, 0x10, 0x34, 0x100, 0x70):
        rd(off)
    wr(0x70, 0); wr(0x70, 1); wr(0x70, 3)
    wr(0x14, 1); rd(0x10); wr(0x24, 1); wr(0x20, 1); wr(0x24, 0); wr(0x20, (1 << 9) | (1 << 29))
    wr(0x70, 11); rd(0x70)
    wr(0x30, 0); wr(0x38, 8); wr(0x80, 0x1000); wr(0x84, 0); wr(0x90, 0x2000); wr(0x94, 0)
    wr(0xa0, 0x3000); wr(0xa4, 0); wr(0x44, 1); wr(0x70, 15)
    # one read request: header at 0x4000, data 0x5000, status 0x6000
    mem(0x4000, 0); mem(0x4008, 1)
    mem(0x1000, 0x4000); mem(0x1008, (1 << 16) | (1 << 32) | (16 << 0) * 0 | 16)
    mem(0x1008, 16 | (1 << 32) | (1 << 48))
    mem(0x1010, 0x5000); mem(0x1018, 512 | (3 << 32) | (2 << 48))
    mem(0x1020, 0x6000); mem(0x1028, 1 | (2 << 32))
    mem(0x2000, 1 << 16)          # avail flags 0, idx 1, ring[0] = 0
    wr(0x50, 0); rd(0x60); wr(0x64, 1); rd(0x2000 - 0x2000 + 0xfc); wr(0x70, 0)
    write("mmio", "bringup", b"".join(recs))


if __name__ == "__main__":
    main()
