#!/usr/bin/env python3
"""Run every Plinth test: host unit tests (cmocka) then integration tests
that boot the real image in QEMU and Bochs. Ends with one summary line
'N passed, N failed' counting individual tests."""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def run_unit():
    passed = failed = 0
    for binary in sorted(glob.glob(os.path.join(ROOT, "build", "unit", "test_*"))):
        r = subprocess.run([binary], capture_output=True, text=True, timeout=600)
        out = r.stdout + r.stderr
        ran = re.search(r"\[=+\] (\d+) test\(s\) run\.", out)
        ok = re.search(r"\[  PASSED  \] (\d+) test\(s\)\.", out)
        name = os.path.basename(binary)
        if not ran:
            # Crashed before cmocka's summary (e.g. a sanitizer abort).
            failed += 1
            print("[  FAILED  ] %s crashed (exit %d):\n%s" % (name, r.returncode, out[-3000:]))
            continue
        n_ran, n_ok = int(ran.group(1)), int(ok.group(1)) if ok else 0
        passed += n_ok
        failed += n_ran - n_ok
        if n_ran != n_ok or r.returncode != 0:
            print(out)
            if n_ran == n_ok:  # cmocka said all passed but the process failed
                failed += 1
        print("unit %-22s %d of %d passed" % (name, n_ok, n_ran))
    return passed, failed


def run_fuzz():
    """libFuzzer smoke runs (tests/fuzz/smoke.py), one test per target built
    in build/fuzz (`make test` builds them)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "fuzz"))
    import smoke
    return smoke.run()


def main(argv):
    import harness
    from cases import CASES

    only_unit = "--unit" in argv
    up, uf = run_unit()
    fp, ff = run_fuzz()
    up, uf = up + fp, uf + ff
    ip = ifail = 0
    if not only_unit:
        logs = os.path.join(ROOT, "build", "test-logs")
        for case in CASES:
            problems, elapsed, log = harness.run_case(case, logs)
            if problems:
                ifail += 1
                print("[  FAILED  ] %s (%.1fs)" % (case["name"], elapsed))
                for p in problems:
                    print("             - " + p)
                for line in log.strip().splitlines()[-15:]:
                    print("               | " + line)
            else:
                ip += 1
                print("[       OK ] %s (%.1fs)" % (case["name"], elapsed))
            sys.stdout.flush()
    print("unit tests (with %d fuzz smoke runs): %d passed, %d failed; integration tests: %d passed, %d failed"
          % (fp + ff, up, uf, ip, ifail))
    print("%d passed, %d failed" % (up + ip, uf + ifail))
    return 0 if uf + ifail == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
