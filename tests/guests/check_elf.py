#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a test guest ELF against the loader contract (README.md):
check_elf.py 64|32 FILE. 64: ELF64 x86-64 executable. 32: ELF32 i386 executable
with a valid multiboot v1 header (flags 0) 4-byte aligned in the first 8 KiB.
Both: entry inside a loadable segment, segments at or above 1 MiB with
physical = virtual address."""
import struct
import sys

MB_MAGIC = 0x1BADB002


def fail(path, msg):
    sys.exit("%s: %s" % (path, msg))


def main(bits, path):
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF":
        fail(path, "not an ELF file")
    want_class, want_machine = (2, 62) if bits == "64" else (1, 3)
    if data[4] != want_class:
        fail(path, "ELF class %d, expected ELF%s" % (data[4], bits))
    if bits == "64":
        e_type, e_machine, _, e_entry, e_phoff = struct.unpack_from("<HHIQQ", data, 16)
        e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
        phdr, fields = "<IIQQQQQQ", (0, 3, 4, 5, 6)  # type vaddr paddr filesz memsz
    else:
        e_type, e_machine, _, e_entry, e_phoff = struct.unpack_from("<HHIII", data, 16)
        e_phentsize, e_phnum = struct.unpack_from("<HH", data, 42)
        phdr, fields = "<IIIIIIII", (0, 2, 3, 4, 5)
    if e_type != 2 or e_machine != want_machine:
        fail(path, "type %d machine %d: not an executable for this architecture" % (e_type, e_machine))
    loads = []
    for i in range(e_phnum):
        p = struct.unpack_from(phdr, data, e_phoff + i * e_phentsize)
        p_type, p_vaddr, p_paddr, p_filesz, p_memsz = (p[f] for f in fields)
        if p_type == 1:
            if p_vaddr != p_paddr or p_vaddr < 0x100000 or p_filesz > p_memsz:
                fail(path, "bad PT_LOAD vaddr 0x%x paddr 0x%x" % (p_vaddr, p_paddr))
            loads.append((p_vaddr, p_memsz))
    if not any(v <= e_entry < v + m for v, m in loads):
        fail(path, "entry 0x%x outside the loadable segments" % e_entry)
    if bits == "32":
        for off in range(0, min(8192, len(data)) - 11, 4):
            magic, flags, checksum = struct.unpack_from("<III", data, off)
            if magic == MB_MAGIC:
                if (magic + flags + checksum) & 0xFFFFFFFF or flags != 0:
                    fail(path, "multiboot header at 0x%x: bad flags/checksum" % off)
                break
        else:
            fail(path, "no multiboot header in the first 8 KiB")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("32", "64"):
        sys.exit("usage: check_elf.py 64|32 FILE")
    main(sys.argv[1], sys.argv[2])
