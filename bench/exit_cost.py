#!/usr/bin/env python3
"""Round-trip cost of guest exits: CPUID, a null hypercall, a port write
and an MMIO read, measured from inside the `bench` guest.

AMD-V path: QEMU TCG with `-icount shift=0,sleep=off`, where the guest TSC
advances one tick per executed instruction, so "cycles" are instruction
counts: the guest's loop plus the whole exit path (world switch, dispatch,
handler, re-entry); QEMU counts VMRUN/#VMEXIT themselves as one instruction.
VT-x path: Bochs with `clock: sync=none`, where the TSC also advances once
per emulated instruction.
The baseline row is the same loop around an operation that does not exit,
so `op - baseline` is the hypervisor's path length per exit.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

OPS = ["baseline", "cpuid", "hypercall", "portio", "mmio"]


def parse(log):
    ops = {m.group(1): int(m.group(2)) for m in re.finditer(r"bench: (\w+) cycles_per_op=(\d+)", log)}
    exits = re.search(r"dom\d+\(bench\): exits: total (\d+)", log)
    virt = re.search(r"virt: guests will run with (.*)", log)
    if not ops or "cpuid" not in ops:
        raise SystemExit("bench guest produced no figures:\n" + log[-3000:])
    return ops, int(exits.group(1)) if exits else None, virt.group(1) if virt else "?"


def run_qemu(iso):
    with tempfile.TemporaryDirectory() as d:
        serial = os.path.join(d, "serial.log")
        cmd = harness.qemu_command(dict(cpus=1, machine="q35", mem=512, icount=0), iso, serial)
        cmd[cmd.index("-icount") + 1] = "shift=0,sleep=off"
        subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
        return open(serial, errors="replace").read()


def run_bochs():
    case = dict(name="bench-bochs", emulator="bochs", cpus=1, timeout=900, args="console=com1 testexit=bochs",
                modules=[("bench", "bench")], expect=[], reject=[])
    problems, _, log = harness.run_case(case, os.path.join(ROOT, "build", "test-logs"))
    return log


def main():
    results = {}
    with tempfile.TemporaryDirectory() as d:
        iso = harness.build_iso("bench", "console=com1 testexit=qemu", d, [("bench", "bench")])
        results["QEMU TCG, AMD-V"] = parse(run_qemu(iso))
    if "--no-bochs" not in sys.argv:
        log = run_bochs()
        if "VT-x" in log and "dom1(bench)" in log:
            results["Bochs, VT-x"] = parse(log)
        else:
            print("Bochs: no VT-x guest run (%s)" % (re.search(r"virt: .*", log) or ["no virt line"])[0])

    cols = list(results)
    print("exit round trip, instructions per operation (guest loop included):")
    print("%-10s" % "op" + "".join("%24s" % c for c in cols))
    for op in OPS:
        if any(op in results[c][0] for c in cols):
            print("%-10s" % op + "".join("%24s" % results[c][0].get(op, "-") for c in cols))
    print("\nhypervisor path per exit (op - baseline):")
    for op in OPS[1:]:
        row = []
        for c in cols:
            ops = results[c][0]
            row.append("%24s" % (ops[op] - ops["baseline"] if "baseline" in ops and op in ops else "-"))
        print("%-10s" % op + "".join(row))
    for c in cols:
        print("%s: backend %s, %s exits in the bench guest" % (c, results[c][2], results[c][1]))


if __name__ == "__main__":
    main()
