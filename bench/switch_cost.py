#!/usr/bin/env python3
"""Cost of a vCPU context switch, in instructions: two `yield` guests share
one CPU under QEMU TCG with `-icount shift=0,sleep=off` (AMD-V) and hand it
to each other with HC_YIELD 20,000 times each. One yield round trip of a
guest is two switches (to the other guest and back), each including that
guest's yield hypercall, the scheduler's pick and the world switch."""
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
        iso = harness.build_iso("switch", "console=com1 testexit=qemu", d,
                                [("yield", "ya cpus=0"), ("yield", "yb cpus=0")])
        serial = os.path.join(d, "serial.log")
        cmd = harness.qemu_command(dict(cpus=1, machine="q35", mem=512, icount=0), iso, serial)
        cmd[cmd.index("-icount") + 1] = "shift=0,sleep=off"
        subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=900)
        log = open(serial, errors="replace").read()
    rows = re.findall(r"dom\d+\((\w+)\): yield: (\d+) yields, cycles_per_yield=(\d+)", log)
    if len(rows) != 2:
        raise SystemExit("the yield guests did not report:\n" + log[-3000:])
    per_yield = sum(int(r[2]) for r in rows) / 2
    print("vCPU context switch (QEMU TCG -icount shift=0, AMD-V, 2 domains on 1 CPU):")
    for name, n, c in rows:
        print("  %s: %s yields, %s instructions per yield round trip" % (name, n, c))
    print("  per context switch (half a round trip, yield hypercall included): %d instructions" % (per_yield / 2))


if __name__ == "__main__":
    main()
