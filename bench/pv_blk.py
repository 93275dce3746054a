#!/usr/bin/env python3
"""Paravirtual block I/O against dom0's direct disk access, in one run.

Two set-ups, one after the other (PV_BLK_DISK=ata or =mem picks one):

* ata, the physical disk: Bochs 2.7 (VT-x), 2 CPUs, dom0 drives Bochs'
  emulated ATA disk (dom0/drivers/ata.c, PIO) as disk0. Bochs' clock runs
  by instruction count (`clock: sync=none`), so emulated time, the disk's
  timing included, is the same from run to run. This is the comparison the
  target is about: a domU's virtio-blk against dom0 reading the same
  physical disk directly.
* mem, a RAM disk: QEMU TCG with `-icount shift=0,sleep=off` (AMD-V),
  2 CPUs, dom0 serves a 16 MiB file module named ramdisk.img as mem0
  (dom0/drivers/memdisk.c). A RAM disk read is one memcpy, so this shows
  what the paravirtual path itself costs in instructions per request.

In each boot:
  1. dom0 reads the disk directly: `blk DISK bench seq|rand N FIRST
     SECTORS` (4 KiB reads, one at a time, dom0/drivers/devcmd.c), timed
     with dom0's time_ns();
  2. a domU (tests/guests/vblkbench.c) reads the same sectors through
     virtio-blk served by dom0 (disk = [ "phy:DISK@FIRST+SECTORS,xvda,r" ]),
     sequential and random, at queue depth 1 and 32, with EVENT_IDX,
     sleeping for interrupts; it prints its elapsed time, its notifications
     (QueueNotify writes) and interrupts taken, and its own exit counts
     (HC_EXIT_STATS);
  3. dom0 reads directly again (to see whether its figures drifted).
Time is guest TSC time, instruction-based on both emulators, not host
seconds. (PV_BLK_DISK=null or =file measures a virtio-blk-pci disk0 on
QEMU instead, the null-co driver or a raw image; their completions come in
host time and do not repeat, see docs/performance.md.) PV_BLK_PIN=1 pins
dom0 to CPU 0 and the domU to CPU 1, PV_BLK_QEMU_ARGS adds QEMU arguments
(both for tools/prof).

Prints the figures, the domU/dom0 throughput ratios (target >= 0.9) and
VM exits and injected (device) interrupts per request.
"""
import os
import re
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

DISK_MIB = 16
FIRST, SECTORS = 2048, 16384      # an 8 MiB region, the domU's disk
COUNT = int(os.environ.get("PV_BLK_COUNT", "256" if os.environ.get("PV_BLK_DISK") == "ata" else "1024"))
DEPTH = 32
PROMPT = r"dom0> "
# Default ("both"): dom0's ATA disk on Bochs, then its RAM disk mem0 on
# QEMU (see the top). PV_BLK_DISK=null: a virtio-blk-pci disk0 on QEMU's
# null-co driver; =file: on a raw image (host page cache). Those two
# complete in host time (see docs/performance.md).
KIND = os.environ.get("PV_BLK_DISK", "both")
EMU = "bochs" if KIND == "ata" else "qemu"
if KIND == "ata":
    DRIVE = None
elif KIND == "file":
    DRIVE = "file={workdir}/disk.img,if=none,id=vd0,format=raw"
elif KIND == "null":
    DRIVE = "driver=null-co,size=%dM,read-zeroes=on,if=none,id=vd0" % DISK_MIB
elif KIND in ("mem", "both"):
    DRIVE = None
else:
    raise SystemExit("PV_BLK_DISK must be mem, null, file or ata")
DEV = "mem0" if KIND == "mem" else "disk0"
# PV_BLK_PIN=1: dom0 on CPU 0 and the domU on CPU 1 (tools/prof needs each
# domain on a CPU of its own to tell their code apart).
PIN = os.environ.get("PV_BLK_PIN") == "1"

CFG = """name = "vblkbench"
kernel = "vblkbench.elf"
memory = 16
cmdline = "vblkbench count=%d depth=%d"
cpus = "1"
disk = [ "phy:%s@%d+%d,xvda,r" ]
""" % (COUNT, DEPTH, DEV, FIRST, SECTORS)


def dom0_cmd(kind):
    return "blk %s bench %s %d %d %d\r" % (DEV, kind, COUNT, FIRST, SECTORS)


def run(workdir):
    cfg = os.path.join(workdir, "vblkbench.cfg")
    with open(cfg, "w") as f:
        f.write(CFG)
    done = DEV + r": bench %s: requests=\d+[\s\S]*?" + PROMPT
    steps = [(r"dom0: ready", ""),
             (PROMPT, dom0_cmd("seq")),
             (done % "seq", dom0_cmd("rand")),
             (done % "rand", "create vblkbench.cfg\r"),
             (r"dom\d+\(vblkbench\): exited through the exit port", dom0_cmd("seq")),
             (done % "seq", dom0_cmd("rand")),
             (done % "rand", "pvdevs\r"),
             (PROMPT, "shutdown\r")]

    ramdisk = {"file": "/nonexistent/set-by-setup/ramdisk.img", "cmdline": "type=file ramdisk.img"}

    def setup(d):
        with open(os.path.join(d, "disk.img"), "wb") as f:
            f.write(bytes(range(256)) * (DISK_MIB * 4096))
        ramdisk["file"] = os.path.join(d, "disk.img")   # absolute: build_iso takes it as it is

    case = dict(name="bench-pv-blk", emulator=EMU, cpus=2, mem=1024, timeout=1800, machine="pc",
                args="console=com1 loglvl=info testexit=%s dom0_mem=64M" % EMU,
                modules=[{"file": "build/dom0.elf", "cmdline": "dom0 console=direct" + (" cpus=0" if PIN else "")},
                         {"file": "build/guests/vblkbench.elf", "cmdline": "type=file vblkbench.elf"},
                         {"file": cfg, "cmdline": "type=file vblkbench.cfg"}] + ([ramdisk] if KIND == "mem" else []),
                qemu_args=([] if DRIVE is None else ["-drive", DRIVE, "-device", "virtio-blk-pci,drive=vd0"]) +
                os.environ.get("PV_BLK_QEMU_ARGS", "").split(),
                bochs_lines=["ata0-slave: type=disk, path={workdir}/disk.img, mode=flat, cylinders=%d, heads=16, "
                             "spt=32" % (DISK_MIB * 4)],
                setup=setup, interact=steps,
                expect=[r"dom\d+\(vblkbench\): guest vblkbench: [1-9]\d* passed, 0 failed"],
                reject=[r"FAIL", r"PANIC", r"ERROR:"])
    if EMU == "qemu":
        case.update(icount=0, icount_opts=",sleep=off")
    problems, elapsed, log = harness.run_case(case, os.path.join(ROOT, "build", "test-logs"))
    if problems:
        raise SystemExit("benchmark run failed: %s\n%s" % ("; ".join(problems), log[-4000:]))
    return log, elapsed


def parse(log):
    dom0 = {}
    for m in re.finditer(r"^(?:disk0|mem0): bench (seq|rand): requests=(\d+) bytes=(\d+) elapsed_ns=(\d+)", log, re.M):
        dom0.setdefault(m.group(1), []).append((int(m.group(2)), int(m.group(3)), int(m.group(4))))
    domu = {}
    for m in re.finditer(r"vblkbench: (seq|rand) depth=(\d+) (.*)$", log, re.M):
        kv = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(3))}
        domu.setdefault((m.group(1), int(m.group(2))), {}).update(kv)
    return dom0, domu


def mib_s(nbytes, ns):
    return nbytes / (1 << 20) / (ns / 1e9) if ns else 0.0


def main():
    with tempfile.TemporaryDirectory() as d:
        log, host_s = run(d)
    dom0, domu = parse(log)
    if set(dom0) != {"seq", "rand"} or len(domu) != 4:
        raise SystemExit("missing figures:\n" + log[-4000:])

    where = ("Bochs 2.7, VT-x, clock by instruction count (ips 4000000)" if EMU == "bochs"
             else "QEMU TCG -icount shift=0,sleep=off, AMD-V")
    print("paravirtual block I/O (%s, 2 CPUs; %d reads of 4 KiB per run over sectors %d+%d of %s; host time %.0f s)"
          % (where, COUNT, FIRST, SECTORS, DEV, host_s))
    print("\ndom0, direct (%s, one request at a time), before and after the domU:" %
          {"mem": "RAM disk module", "ata": "Bochs ATA disk, PIO"}.get(KIND, "virtio-blk-pci, " + KIND))
    base = {}
    for kind in ("seq", "rand"):
        runs = dom0[kind]
        for i, (n, b, ns) in enumerate(runs):
            print("  %-4s %-6s %6d requests %10d ns  %8.1f us/request  %7.2f MiB/s" %
                  (kind, "before" if i == 0 else "after", n, ns, ns / n / 1000, mib_s(b, ns)))
        base[kind] = sum(mib_s(b, ns) for n, b, ns in runs) / len(runs)
    print("\ndomU through virtio-blk (EVENT_IDX, interrupts):")
    print("  %-4s %5s %10s %9s %9s %9s %9s %9s %9s %9s" %
          ("", "depth", "us/req", "MiB/s", "vs dom0", "exits/rq", "irqs/rq", "kicks/rq", "mmio/rq", "hcall/rq"))
    for kind in ("seq", "rand"):
        for depth in (1, DEPTH):
            r = domu[(kind, depth)]
            n = r["requests"]
            tput = mib_s(r["bytes"], r["elapsed_ns"])
            print("  %-4s %5d %10.1f %9.2f %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f" %
                  (kind, depth, r["elapsed_ns"] / n / 1000, tput, tput / base[kind], r["exits"] / n,
                   r["irqs"] / n, r["notifies"] / n, r["memory"] / n, r["hypercall"] / n))
    print("\nper request at depth %d (seq, rand): exits %s, injected device interrupts %s, notifications %s" %
          (DEPTH, ", ".join("%.3f" % (domu[(k, DEPTH)]["exits"] / COUNT) for k in ("seq", "rand")),
           ", ".join("%.3f" % (domu[(k, DEPTH)]["irqs"] / COUNT) for k in ("seq", "rand")),
           ", ".join("%.3f" % (domu[(k, DEPTH)]["notifies"] / COUNT) for k in ("seq", "rand"))))
    print("exit reasons per run (domU): " + "; ".join(
        "%s/%d: hlt %d, extint %d, intr_window %d, io %d" % (k, dep, domu[(k, dep)]["hlt"], domu[(k, dep)]["extint"],
                                                            domu[(k, dep)]["intr_window"], domu[(k, dep)]["io"])
        for k in ("seq", "rand") for dep in (1, DEPTH)))
    print("throughput ratio domU/dom0: " + "; ".join(
        "%s depth %d %.3f" % (k, dep, mib_s(domu[(k, dep)]["bytes"], domu[(k, dep)]["elapsed_ns"]) / base[k])
        for k in ("seq", "rand") for dep in (1, DEPTH)))
    print("target: domU/dom0 throughput >= 0.9, exits and interrupts per request well below 1 at depth %d" % DEPTH)


def both():
    """The default: the physical disk (Bochs ATA), the comparison the target
    is about, then the RAM disk (QEMU), which shows the PV path's CPU cost."""
    import subprocess
    for kind, what in (("ata", "physical disk: dom0's ATA disk on Bochs"),
                       ("mem", "RAM disk: the CPU cost of the paravirtual path (QEMU)")):
        print("=== %s ===" % what, flush=True)
        env = dict(os.environ, PV_BLK_DISK=kind)
        rc = subprocess.run([sys.executable, os.path.abspath(__file__)], env=env).returncode
        if rc:
            raise SystemExit("pv_blk (%s) failed: exit %d" % (kind, rc))
        print(flush=True)


if __name__ == "__main__":
    both() if KIND == "both" else main()
