#!/usr/bin/env python3
"""Smoke run of the libFuzzer targets in build/fuzz: each runs a bounded
number of inputs (FUZZ_RUNS, default 20000; at most FUZZ_TIME seconds,
default 20) starting from its seed corpus tests/fuzz/corpus/<target>. New
inputs go to build/fuzz/corpus-<target>, never into the checked-in seeds.
A crash, sanitizer report, timeout or leak fails the target. Used by `make
fuzz-smoke` and by tests/run_all.py (one test per target)."""
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(verbose=True):
    runs = os.environ.get("FUZZ_RUNS", "20000")
    secs = os.environ.get("FUZZ_TIME", "20")
    passed = failed = 0
    bins = sorted(glob.glob(os.path.join(ROOT, "build", "fuzz", "fuzz_*")))
    # Every target in the tree must have been built: a missing one fails
    # rather than being skipped without a word.
    for src in sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz", "fuzz_*.c"))):
        want = os.path.join(ROOT, "build", "fuzz", os.path.basename(src)[:-2])
        if want not in bins:
            failed += 1
            print("[  FAILED  ] fuzz %s: not built (make fuzz-build)" % os.path.basename(src)[5:-2])
    for binary in bins:
        if not os.access(binary, os.X_OK) or os.path.isdir(binary):
            continue
        name = os.path.basename(binary)[len("fuzz_"):]
        seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", name)
        scratch = os.path.join(ROOT, "build", "fuzz", "corpus-" + name)
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        cmd = [binary, "-runs=" + runs, "-max_total_time=" + secs, "-timeout=10", "-rss_limit_mb=2048",
               "-print_final_stats=1", "-artifact_prefix=" + scratch + "/", scratch]
        if os.path.isdir(seeds):
            cmd.append(seeds)
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=int(secs) + 120)
            out, rc = r.stdout + r.stderr, r.returncode
        except subprocess.TimeoutExpired as e:
            out, rc = str(e), -1
        done = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
        cov = re.findall(r"cov: (\d+)", out)
        if rc == 0:
            passed += 1
            if verbose:
                print("fuzz %-8s ok: %s inputs, coverage %s" % (name, done.group(1) if done else "?",
                                                               cov[-1] if cov else "?"))
        else:
            failed += 1
            print("[  FAILED  ] fuzz %s (exit %d); reproducer in %s:\n%s" % (name, rc, scratch, out[-3000:]))
        sys.stdout.flush()
    return passed, failed


if __name__ == "__main__":
    p, f = run()
    print("fuzz smoke: %d passed, %d failed" % (p, f))
    sys.exit(0 if f == 0 and p > 0 else 1)
