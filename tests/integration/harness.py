#!/usr/bin/env python3
"""Boot the real Plinth image under QEMU or Bochs and check its serial log.

Each case builds an ISO with its own GRUB command line, runs one emulator
with a timeout, captures the serial port to a file, and checks:
  * how the run ended (QEMU isa-debug-exit status; Bochs has none, so the
    hypervisor's own "plinth: exit code" line stands in),
  * regular expressions that must / must not appear in the log.
Nothing here sleeps to synchronise: the emulator's exit is the signal, and
the timeout only bounds a hang.

A case with "interact": [(REGEX, TEXT), ...] talks to the serial port over
a TCP socket instead of a file (QEMU connects with -serial tcp:, Bochs with
com1 mode=socket-client): for each step the harness waits until REGEX
appears in the output after the previous step's match, then types TEXT.
A step whose REGEX never shows up fails the case ("interact: ...").
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
ELF = os.environ.get("PLINTH_ELF", os.path.join(BUILD, "plinth.elf"))
GUESTS = os.path.join(BUILD, "guests")
OVMF_CANDIDATES = ["/usr/share/ovmf/OVMF.fd", "/usr/share/OVMF/OVMF_CODE.fd"]
QEMU_EXIT_PASS = (0x10 << 1) | 1
QEMU_EXIT_FAIL = (0x11 << 1) | 1

GRUB_TEMPLATE = """set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
menuentry "plinth-test" {{
    multiboot2 /boot/plinth.elf {args}
{modules}    boot
}}
"""


def build_iso(name, args, workdir, modules=()):
    """modules: (guest, module command line) pairs, where guest names
    build/guests/<guest>.elf, or a dict {"file": path relative to the
    repository, "cmdline": ..., "truncate": bytes} for deliberately broken
    images."""
    tree = os.path.join(workdir, "iso")
    os.makedirs(os.path.join(tree, "boot", "grub"))
    os.makedirs(os.path.join(tree, "boot", "guests"))
    shutil.copy(ELF, os.path.join(tree, "boot", "plinth.elf"))
    lines = ""
    for i, spec in enumerate(modules):
        if isinstance(spec, dict):
            src, cmdline = os.path.join(ROOT, spec["file"]), spec["cmdline"]
        else:
            src, cmdline = os.path.join(GUESTS, spec[0] + ".elf"), spec[1]
        dst_name = "m%02d-%s" % (i, os.path.basename(src))
        dst = os.path.join(tree, "boot", "guests", dst_name)
        shutil.copy(src, dst)
        if isinstance(spec, dict) and "truncate" in spec:
            with open(dst, "r+b") as f:
                f.truncate(spec["truncate"])
        lines += "    module2 /boot/guests/%s %s\n" % (dst_name, cmdline)
    with open(os.path.join(tree, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB_TEMPLATE.format(args=args, modules=lines))
    iso = os.path.join(workdir, name + ".iso")
    r = subprocess.run(["grub-mkrescue", "-o", iso, tree], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("grub-mkrescue failed: " + r.stderr[-2000:])
    return iso


def qemu_command(case, iso, serial_path, serial_port=None):
    serial = "tcp:127.0.0.1:%d" % serial_port if serial_port else "file:" + serial_path
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", case.get("cpu", "max"),
           "-machine", case.get("machine", "q35"), "-m", str(case.get("mem", 512)),
           "-smp", str(case.get("qemu_smp", case.get("cpus", 1))), "-cdrom", iso, "-boot", "d",
           "-display", "none", "-vga", "none", "-monitor", "none", "-no-reboot",
           "-serial", serial,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] + list(case.get("qemu_args", []))
    if case.get("firmware") == "uefi":
        ovmf = next((p for p in OVMF_CANDIDATES if os.path.exists(p)), None)
        if not ovmf:
            raise RuntimeError("OVMF not installed (run tools/setup.sh)")
        cmd += ["-bios", ovmf]
    if "icount" in case:
        cmd += ["-icount", "shift=%d%s" % (case["icount"], case.get("icount_opts", ""))]
    return cmd


BOCHSRC = """megs: {mem}
cpu: model={model}, count={cpus}, ips={ips}, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
clock: sync=none, time0=local
com1: enabled=1, {com1}
display_library: term
log: {log}
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
port_e9_hack: enabled=0
"""


def bochs_command(case, iso, serial_path, workdir, serial_port=None):
    rc = os.path.join(workdir, "bochsrc")
    com1 = ("mode=socket-client, dev=127.0.0.1:%d" % serial_port if serial_port
            else "mode=file, dev=%s" % serial_path)
    with open(rc, "w") as f:
        f.write(BOCHSRC.format(mem=case.get("mem", 512), model=case.get("model", "corei7_skylake_x"),
                               cpus=case.get("cpus", 1), ips=case.get("ips", 4000000), iso=iso,
                               com1=com1, log=os.path.join(workdir, "bochs.log")))
        for line in case.get("bochs_lines", []):
            f.write(line.format(workdir=workdir) + "\n")
    cmds = os.path.join(workdir, "bochs.cmds")
    with open(cmds, "w") as f:
        f.write("c\n")
    # Debian's Bochs has no headless display; the term display needs a pty,
    # which script(1) provides.
    inner = "bochs -q -f %s -rc %s" % (rc, cmds)
    return ["script", "-qefc", inner, "/dev/null"]


class SerialConversation:
    """The emulator's serial port on a TCP socket: collects the output and
    types each step's text once its pattern has appeared."""

    def __init__(self, steps):
        self.steps = list(steps)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.out = bytearray()
        self.done_steps = 0
        self.problem = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.listener.settimeout(120)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            self.problem = "interact: the emulator never connected to the serial socket"
            return
        conn.settimeout(0.2)
        pos = 0
        for pattern, text in self.steps + [(None, None)]:
            rx = re.compile(pattern.encode(), re.M) if pattern else None
            while True:
                m = rx.search(self.out, pos) if rx else None
                if m:
                    pos = m.end()
                    break
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    data = b""
                if not data:
                    if rx:
                        self.problem = "interact: step %d: %r never appeared" % (self.done_steps + 1, pattern)
                    conn.close()
                    return
                self.out += data.replace(b"\r", b"")  # so that $ ends a line in the patterns
            conn.sendall(text.encode())
            self.done_steps += 1

    def finish(self):
        self.thread.join(timeout=5)
        self.listener.close()
        return self.out.decode(errors="replace")


def run_case(case, keep_logs_dir):
    name = case["name"]
    workdir = tempfile.mkdtemp(prefix="plinth-" + name + "-")
    serial = os.path.join(workdir, "serial.log")
    open(serial, "w").close()
    conversation = None
    try:
        if "setup" in case:
            case["setup"](workdir)
        if "iso" in case:
            iso = os.path.join(ROOT, case["iso"])  # a prebuilt image, booted as it is
        else:
            iso = build_iso(name, case["args"], workdir, case.get("modules", ()))
        if "interact" in case:
            conversation = SerialConversation(case["interact"])
        port = conversation.port if conversation else None
        if case["emulator"] == "qemu":
            cmd = qemu_command(case, iso, serial, port)
            cmd = [a.format(workdir=workdir) for a in cmd]
        else:
            cmd = bochs_command(case, iso, serial, workdir, port)
        start = time.monotonic()
        if case.get("expect_exit") == "none":
            # An image without testexit= never leaves the emulator: the
            # conversation's last step is the end.
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = start + case.get("timeout", 120)
            while (conversation.thread.is_alive() and conversation.done_steps < len(case["interact"])
                   and time.monotonic() < deadline):
                conversation.thread.join(timeout=0.2)
            timed_out = conversation.thread.is_alive() and conversation.done_steps < len(case["interact"])
            p.kill()
            p.wait()
            status, emu_out = None, ""
        else:
            try:
                r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=case.get("timeout", 120))
                status, emu_out = r.returncode, (r.stdout + r.stderr).decode(errors="replace")
                timed_out = False
            except subprocess.TimeoutExpired as e:
                status, emu_out = None, ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
                timed_out = True
        elapsed = time.monotonic() - start
        if conversation:
            log = conversation.finish()
        else:
            with open(serial, errors="replace") as f:
                log = f.read()
        os.makedirs(keep_logs_dir, exist_ok=True)
        with open(os.path.join(keep_logs_dir, name + ".log"), "w") as f:
            f.write(log)
            f.write("\n--- emulator output ---\n" + emu_out[-4000:])
        problems = check(case, log, status, timed_out)
        if conversation and conversation.problem:
            problems.insert(0, conversation.problem)
        elif conversation and conversation.done_steps < len(case["interact"]):
            problems.insert(0, "interact: only %d of %d steps done" % (conversation.done_steps,
                                                                        len(case["interact"])))
        return problems, elapsed, log
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def check(case, log, status, timed_out):
    problems = []
    if timed_out:
        problems.append("timed out after %ss" % case.get("timeout", 120))
    if case.get("expect_exit") == "none":
        expect_pass = None
    elif case.get("expect_exit") == "reset":
        # QEMU -no-reboot turns a machine reset into a clean exit (status 0).
        if not timed_out and status != 0:
            problems.append("QEMU exit status %s, expected 0 (machine reset)" % status)
        expect_pass = None
    else:
        expect_pass = case.get("expect_exit", "pass") == "pass"
    exit_line = re.search(r"plinth: exit code (0x[0-9a-f]+)", log)
    if case.get("expect_exit") == "none":
        pass  # the conversation's steps are the whole check
    elif expect_pass is None:
        if exit_line:
            problems.append("hypervisor exited through the exit port instead of resetting")
    elif case["emulator"] == "qemu" and not timed_out:
        want = QEMU_EXIT_PASS if expect_pass else QEMU_EXIT_FAIL
        if status != want:
            problems.append("QEMU exit status %s, expected %s" % (status, want))
    if not timed_out and expect_pass is not None:
        want_code = "0x10" if expect_pass else "0x11"
        if not exit_line:
            problems.append("no 'plinth: exit code' line in the log")
        elif exit_line.group(1) != want_code:
            problems.append("hypervisor exit code %s, expected %s" % (exit_line.group(1), want_code))
    for pat in case.get("expect", []):
        if not re.search(pat, log, re.M):
            problems.append("missing in log: %r" % pat)
    if "check" in case and not timed_out:
        problems += case["check"](log)
    for pat in case.get("reject", []):
        m = re.search(pat, log, re.M)
        if m:
            problems.append("unexpected in log: %r (%s)" % (pat, m.group(0)[:120]))
    return problems


def main(argv):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from cases import CASES, KNOWN_BROKEN
    # Known-broken cases run only when named explicitly.
    selected = [c for c in CASES if not argv or any(a in c["name"] for a in argv)]
    selected += [c for c in KNOWN_BROKEN if any(a == c["name"] for a in argv)]
    logs = os.path.join(BUILD, "test-logs")
    passed = failed = 0
    for case in selected:
        problems, elapsed, log = run_case(case, logs)
        if problems:
            failed += 1
            print("[  FAILED  ] %s (%.1fs)" % (case["name"], elapsed))
            for p in problems:
                print("             - " + p)
            tail = log.strip().splitlines()[-15:]
            print("             last log lines (full log: build/test-logs/%s.log):" % case["name"])
            for line in tail:
                print("               | " + line)
        else:
            passed += 1
            print("[       OK ] %s (%.1fs)" % (case["name"], elapsed))
        sys.stdout.flush()
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
