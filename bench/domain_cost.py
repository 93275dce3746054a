#!/usr/bin/env python3
"""Cost of creating and destroying a domain, by memory size, in
instructions: QEMU TCG with `-icount shift=0,sleep=off` (the guest TSC counts
instructions) running the hypervisor's `selftest=domains`, which creates and
destroys 8 domains of each size and reports the mean. Creation zeroes the
domain's RAM, so the cost should grow about linearly with memory; with
2 MiB frames and large second-level pages the page-table work stays small."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as d:
        iso = harness.build_iso("domcost", "console=com1 testexit=qemu selftest=domains", d)
        serial = os.path.join(d, "serial.log")
        cmd = harness.qemu_command(dict(cpus=1, machine="q35", mem=1024, icount=0), iso, serial)
        cmd[cmd.index("-icount") + 1] = "shift=0,sleep=off"
        subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=900)
        log = open(serial, errors="replace").read()
    rows = [(int(m.group(1)), int(m.group(2))) for m in
            re.finditer(r"domain-cost: mem=(\d+) MiB create\+destroy=(\d+) cycles", log)]
    if not rows or "every frame returned" not in log:
        raise SystemExit("selftest=domains did not report:\n" + log[-3000:])
    print("domain create+destroy, instructions (QEMU TCG -icount shift=0, AMD-V, mean of 8):")
    print("%8s %16s %16s" % ("MiB", "instructions", "per MiB"))
    for mib, insns in rows:
        print("%8d %16d %16d" % (mib, insns, insns // mib))
    (m0, c0), (m1, c1) = rows[0], rows[-1]
    print("growth from %d to %d MiB: x%.2f for x%.0f memory" % (m0, m1, c1 / c0, m1 / m0))


if __name__ == "__main__":
    main()
