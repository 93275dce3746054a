#!/usr/bin/env python3
"""Per-function instruction profile from tbprof.so output.

usage: report.py TBPROF_OUT PHASE CPU=ELF[,ELF...] [CPU=ELF...] [--top N]

For each vCPU, addresses are looked up in the ELFs given for it (the first
whose symbol covers the address wins), so dom0 and a domU linked at the
same address can be told apart when they run on different CPUs. Counts
are executed guest instructions, the unit of -icount time.
"""
import bisect
import subprocess
import sys
from collections import defaultdict


def symbols(elf):
    out = subprocess.run(["nm", "-n", "-S", "--defined-only", elf], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2].lower() in "tw":
            syms.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
        elif len(parts) == 3 and parts[1].lower() in "tw":
            syms.append((int(parts[0], 16), 0, parts[2]))
    syms.sort()
    return syms


def find(tables, addr):
    for name, syms, starts in tables:
        i = bisect.bisect_right(starts, addr) - 1
        if i >= 0:
            start, size, sym = syms[i]
            if addr < start + max(size, 1) or (size == 0 and addr - start < 0x1000):
                return "%s:%s" % (name, sym)
    return "?:%x" % addr


def main():
    args = sys.argv[1:]
    top = 40
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    path, phase = args[0], int(args[1])
    cpu_elfs = {}
    for a in args[2:]:
        cpu, elfs = a.split("=", 1)
        tables = []
        for e in elfs.split(","):
            syms = symbols(e)
            tables.append((e.rsplit("/", 1)[-1].replace(".elf", ""), syms, [s[0] for s in syms]))
        cpu_elfs[int(cpu)] = tables
    per_fn = defaultdict(int)
    per_cpu = defaultdict(int)
    for line in open(path):
        if line.startswith("#"):
            print(line.strip())
            continue
        p, c, addr, n = line.split()
        if int(p) != phase:
            continue
        c, addr, n = int(c), int(addr, 16), int(n)
        per_cpu[c] += n
        per_fn[(c, find(cpu_elfs.get(c, []), addr))] += n
    total = sum(per_cpu.values())
    print("phase %d: %d instructions (%s)" % (phase, total, ", ".join("cpu%d %d" % kv for kv in sorted(per_cpu.items()))))
    for (c, fn), n in sorted(per_fn.items(), key=lambda kv: -kv[1])[:top]:
        print("  cpu%d %-50s %12d %5.1f%%" % (c, fn, n, 100.0 * n / total if total else 0))


if __name__ == "__main__":
    main()
