#!/usr/bin/env python3
"""domU-to-domU networking through dom0's switch: throughput and latency.

QEMU TCG with `-icount shift=0,sleep=off` (AMD-V), 2 CPUs, dom0 and two
vnet domUs (tests/guests/vnet.c) on an internal bridge "bench" of dom0's
learning switch (dom0/kernel/pvnet.c, docs/vswitch.md), each with a
virtio-net device served by dom0 (EVENT_IDX, interrupts). In one boot:
  1. latency: "pong" answers pings; "rtt" sends RTT_COUNT pings of 64-byte
     frames one at a time (each waits for its pong) and prints the mean
     round-trip time;
  2. throughput: "sink" counts data frames; "stream" sends STREAM_COUNT
     frames of 1514 bytes back to back (one transmit in flight at a time:
     the frontend waits for each completion), at most WINDOW frames ahead
     of the sink's credits (one every WINDOW/2 frames), then an end frame
     the sink answers with its count.
Time is guest TSC time; under icount it is instruction-based, and every
step (the guests, the hypervisor's exits and injections, dom0's backend and
switch) is instruction work, so the figures repeat. Each guest reads its own
VM exit counts with HC_EXIT_STATS and counts its device interrupts and
notifications; the script prints them per round trip / per frame.
"""
import os
import re
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

RTT_COUNT = int(os.environ.get("PV_NET_RTT_COUNT", "500"))
STREAM_COUNT = int(os.environ.get("PV_NET_STREAM_COUNT", "2000"))
FRAME = 1514
# Flow control: at most WINDOW frames beyond the sink's last credit (one per
# WINDOW/2 frames), below its 32 receive buffers; 0 sends blindly and the
# switch drops what the sink has no buffer for.
WINDOW = int(os.environ.get("PV_NET_WINDOW", "16"))
# One CPU each for dom0 and the two domUs by default (PV_NET_CPUS=2: they share).
CPUS = int(os.environ.get("PV_NET_CPUS", "3"))
PROMPT = r"dom0> "

CFGS = {
    "pong": ("pong", "vnet pong count=%d" % RTT_COUNT, "00:16:3e:00:00:a2"),
    "rtt": ("rtt", "vnet rtt count=%d size=64" % RTT_COUNT, "00:16:3e:00:00:a1"),
    "sink": ("sink", "vnet sink window=%d" % WINDOW, "00:16:3e:00:00:b2"),
    "stream": ("stream", "vnet stream count=%d size=%d window=%d" % (STREAM_COUNT, FRAME, WINDOW),
               "00:16:3e:00:00:b1"),
}


def both_exited(a, b):
    return (r"\((%s|%s)\): exited through the exit port[\s\S]*?\((?!\1\))(?:%s|%s)\): exited through the exit port"
            % (a, b, a, b))


def run(workdir):
    modules = [{"file": "build/dom0.elf", "cmdline": "dom0 console=direct"},
               {"file": "build/guests/vnet.elf", "cmdline": "type=file vnet.elf"}]
    for key, (name, cmdline, mac) in CFGS.items():
        path = os.path.join(workdir, "%s.cfg" % key)
        with open(path, "w") as f:
            f.write('name = "%s"\nkernel = "vnet.elf"\nmemory = 16\ncmdline = "%s"\n'
                    'vif = [ "mac=%s,bridge=bench" ]\n' % (name, cmdline, mac))
        modules.append({"file": path, "cmdline": "type=file %s.cfg" % key})
    steps = [(r"dom0: ready", ""),
             (PROMPT, "create pong.cfg\r"),
             (r"\(pong\): vnet: pong: ready", "create rtt.cfg\r"),
             (both_exited("rtt", "pong"), "create sink.cfg\r"),
             (r"\(sink\): vnet: sink: ready", "create stream.cfg\r"),
             (both_exited("stream", "sink"), "pvdevs\r"),
             (PROMPT, "shutdown\r")]
    case = dict(name="bench-pv-net", emulator="qemu", cpus=CPUS, mem=1024, timeout=1800, machine="pc",
                icount=0, icount_opts=",sleep=off",
                args="console=com1 loglvl=info testexit=qemu dom0_mem=64M",
                modules=modules, interact=steps,
                expect=[r"dom\d+\(%s\): guest vnet: [1-9]\d* passed, 0 failed" % n for n in CFGS],
                reject=[r"FAIL", r"PANIC", r"ERROR:", r"NEEDS RESET"])
    problems, elapsed, log = harness.run_case(case, os.path.join(ROOT, "build", "test-logs"))
    if problems:
        raise SystemExit("benchmark run failed: %s\n%s" % ("; ".join(problems), log[-4000:]))
    return log, elapsed


def parse(log):
    out = {}
    for m in re.finditer(r"\((rtt|stream|sink)\): vnet: (?:rtt|stream|sink): (.*)$", log, re.M):
        kv = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
        out.setdefault(m.group(1), {}).update(kv)
    return out


def main():
    with tempfile.TemporaryDirectory() as d:
        log, host_s = run(d)
    r = parse(log)
    if set(r) != {"rtt", "stream", "sink"} or "exits" not in r["rtt"] or "exits" not in r["sink"]:
        raise SystemExit("missing figures:\n" + log[-4000:])
    rtt, st, sk = r["rtt"], r["stream"], r["sink"]
    print("paravirtual networking, domU to domU through dom0's switch (QEMU TCG -icount shift=0,sleep=off, "
          "AMD-V, %d CPUs; host time %.0f s)" % (CPUS, host_s))
    n = rtt["round_trips"]
    print("\nlatency: %d round trips of %d-byte frames, one at a time" % (n, rtt["frame_bytes"]))
    print("  mean RTT %.1f us  (%d round trips/s)" % (rtt["mean_rtt_ns"] / 1000, 1e9 / rtt["mean_rtt_ns"]))
    print("  pinger per round trip (1 frame sent, 1 received): exits %.3f (mmio %.3f, hypercall %.3f, hlt %.3f), "
          "interrupts %.3f, notifications %.3f"
          % (rtt["exits"] / n, rtt["memory"] / n, rtt["hypercall"] / n, rtt["hlt"] / n, rtt["irqs"] / n,
             rtt["notifies"] / n))
    sent, got = st["sent"], sk["received"]
    print("\nthroughput: %d frames of %d bytes, window %s, %d received (%d dropped, %d stalls of 200 ms)"
          % (sent, st["frame_bytes"], st["window"] or "none", got, sent - got, st["stalls"]))
    print("  sender:   %8d frames/s  %7.2f MiB/s  (%.2f us/frame)"
          % (st["frames_per_s"], st["bytes_per_s"] / (1 << 20), st["elapsed_ns"] / sent / 1000))
    print("  receiver: %8d frames/s  %7.2f MiB/s  (%.2f us/frame)"
          % (sk["frames_per_s"], sk["bytes_per_s"] / (1 << 20), sk["elapsed_ns"] / max(got - 1, 1) / 1000))
    print("  sender per frame:   exits %.3f (mmio %.3f, hypercall %.3f, hlt %.3f), interrupts %.3f, notifications %.3f"
          % (st["exits"] / sent, st["memory"] / sent, st["hypercall"] / sent, st["hlt"] / sent, st["irqs"] / sent,
             st["notifies"] / sent))
    print("  receiver per frame: exits %.3f (mmio %.3f, hypercall %.3f, hlt %.3f), interrupts %.3f, notifications %.3f"
          % (sk["exits"] / got, sk["memory"] / got, sk["hypercall"] / got, sk["hlt"] / got, sk["irqs"] / got,
             sk["notifies"] / got))


if __name__ == "__main__":
    main()
