#!/usr/bin/env python3
"""Drive dom0's shell over the serial port, for trying dom0 by hand or from
a script (not a test case by itself).

Builds an ISO with build/dom0.elf as the first module plus the modules
given, boots it in QEMU with the serial port on a pipe, waits for
`dom0: ready`, then types each --cmd (waiting for output to settle, or for
--wait REGEX, in between) and prints the whole serial transcript.

  python3 tests/integration/dom0_shell.py \\
      --module build/guests/hello64.elf:"hello64.elf type=file" \\
      --module tests/fixtures/hello.cfg:"hello.cfg type=file" \\
      --cmd "list" --cmd "create hello.cfg" --cmd "console hello --no-follow"

--module PATH:CMDLINE  PATH relative to the repository; CMDLINE is the
                       module2 line after the path.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hv-args", default="", help="hypervisor command line")
    ap.add_argument("--dom0", default="dom0", help="dom0's module command line (after the path)")
    ap.add_argument("--module", action="append", default=[], help="PATH:CMDLINE")
    ap.add_argument("--cmd", action="append", default=[], help="a shell line to type")
    ap.add_argument("--settle", type=float, default=1.5, help="seconds of quiet that end a command")
    ap.add_argument("--boot-timeout", type=float, default=60)
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--mem", type=int, default=1024)
    ap.add_argument("--raw", action="store_true", help="send each --cmd without a trailing CR")
    args = ap.parse_args()

    modules = [{"file": "build/dom0.elf", "cmdline": args.dom0}]
    for m in args.module:
        path, _, cmdline = m.partition(":")
        modules.append({"file": path, "cmdline": cmdline})
    work = tempfile.mkdtemp(prefix="plinth-dom0-")
    iso = harness.build_iso("dom0", args.hv_args, work, modules)
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-machine", "q35", "-m", str(args.mem),
           "-smp", str(args.smp), "-cdrom", iso, "-boot", "d", "-display", "none", "-vga", "none",
           "-monitor", "none", "-no-reboot", "-serial", "stdio",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = bytearray()
    last = [time.monotonic()]
    lock = threading.Lock()

    def reader():
        while True:
            b = p.stdout.read1(4096)
            if not b:
                break
            with lock:
                out.extend(b)
                last[0] = time.monotonic()
            sys.stdout.buffer.write(b)
            sys.stdout.flush()

    t = threading.Thread(target=reader, daemon=True)
    t.start()

    def wait_for(regex, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end and p.poll() is None:
            with lock:
                if re.search(regex, out.decode(errors="replace")):
                    return True
            time.sleep(0.05)
        return False

    def settle():
        while p.poll() is None:
            with lock:
                quiet = time.monotonic() - last[0]
            if quiet >= args.settle:
                return
            time.sleep(0.05)

    ok = wait_for(rb"dom0: ready".decode(), args.boot_timeout)
    if not ok:
        print("\n[dom0_shell: no 'dom0: ready' within %ss]" % args.boot_timeout, file=sys.stderr)
    settle()
    for c in args.cmd:
        if p.poll() is not None:
            break
        data = c.encode().decode("unicode_escape").encode("latin-1")
        if not args.raw:
            data += b"\r"
        for i in range(0, len(data), 8):
            p.stdin.write(data[i:i + 8])
            p.stdin.flush()
            time.sleep(0.02)
        time.sleep(0.2)
        settle()
    if p.poll() is None:
        p.kill()
    p.wait()
    t.join(timeout=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
