#!/usr/bin/env python3
"""Boot cost of Plinth, in instructions, and the size of the image.

Boots the real image under QEMU TCG with `-icount shift=0,sleep=off`: the
guest's TSC then advances exactly one tick per executed instruction and
virtual time is independent of the host, so the figures repeat run to run
(each configuration is booted twice and the two runs must agree). The
hypervisor prints the TSC delta of each boot stage from its first
instruction (boot/entry.asm) to "all CPUs online".

Note what the stages contain: 'calibration' and 'smp' include waits the
hardware asks for (PIT calibration 3 x 10 ms, LAPIC timer 10 ms, INIT 10 ms
and SIPI 200 us per AP), spun on the TSC, which under icount are
instructions too; the other stages are pure work.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

STAGES = ["bootinfo", "memory", "acpi", "calibration", "smp", "total"]


def boot_once(cpus, iso):
    with tempfile.TemporaryDirectory() as d:
        serial = os.path.join(d, "serial.log")
        case = dict(cpus=cpus, machine="q35", mem=512, icount=0)
        cmd = harness.qemu_command(case, iso, serial)
        cmd[cmd.index("-icount") + 1] = "shift=0,sleep=off"
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        log = open(serial, errors="replace").read()
    m = re.search(r"boot-cost: (.*) \(TSC", log)
    if r.returncode != harness.QEMU_EXIT_PASS or not m:
        raise SystemExit("boot with %d CPUs failed (exit %d):\n%s" % (cpus, r.returncode, log[-3000:]))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


def main():
    elf = os.path.join(ROOT, "build", "plinth.elf")
    if not os.path.exists(elf):
        raise SystemExit("build first: make")
    size = subprocess.run(["size", "-A", elf], capture_output=True, text=True).stdout
    sections = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\w+)\s+(\d+)", size, re.M)}
    text = sections.get(".boot", 0) + sections.get(".text", 0)
    rodata = sections.get(".rodata", 0) + sections.get(".ksyms", 0)
    print("plinth.elf: text %d B, rodata %d B (of which symbols %d B), data %d B, bss %d B" %
          (text, rodata, sections.get(".ksyms", 0), sections.get(".data", 0), sections.get(".bss", 0)))

    with tempfile.TemporaryDirectory() as d:
        iso = harness.build_iso("bench", "console=com1 loglvl=info testexit=qemu", d)
        print("\nboot cost, instructions (QEMU TCG -icount shift=0,sleep=off, q35, SeaBIOS):")
        print("%-6s" % "cpus" + "".join("%14s" % s for s in STAGES) + "   run-to-run")
        for cpus in (1, 2, 4):
            a, b = boot_once(cpus, iso), boot_once(cpus, iso)
            # With several vCPUs, QEMU's icount round-robin can shift a few
            # thousand instructions between runs; report the spread.
            spread = abs(a["total"] - b["total"]) / a["total"]
            same = "exact" if a == b else "within %.4f %%" % (100 * spread)
            print("%-6d" % cpus + "".join("%14d" % a[s] for s in STAGES) + "   " + same)
            pure = a["bootinfo"] + a["memory"] + a["acpi"]
            print("%-6s  work before calibration: %d instructions; per extra CPU: %s" %
                  ("", pure, "%d" % ((a["smp"]) // (cpus - 1)) if cpus > 1 else "-"))


if __name__ == "__main__":
    main()
