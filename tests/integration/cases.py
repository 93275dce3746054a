"""Integration test cases: each boots the real hypervisor image."""

BOOT_OK = [
    r"Plinth \S+ \(ABI \d+\.\d+\) starting",
    r"paging: direct map \d+ MiB",
    r"tsc: \d+",
    r"plinth: boot complete",
]
NO_ERRORS = [r"ERROR:", r"PANIC", r"WARNING: cmdline"]


def boot_case(name, emulator, cpus, firmware="bios", extra_args="", timeout=120, **kw):
    testexit = "qemu" if emulator == "qemu" else "bochs"
    expect = BOOT_OK + [
        r"smp: all %d CPUs online" % cpus,
        r"timer: %d of %d CPUs ticking" % (cpus, cpus),
        r"smp: IPI ping-pong: %d of %d other CPUs answered" % (cpus - 1, cpus - 1),
        r"boot: loader \"GRUB[^\"]*\", %s firmware" % ("UEFI" if firmware == "uefi" else "BIOS"),
    ]
    # Cases that provoke warnings on purpose cannot reject all of them.
    reject = [r"ERROR:", r"PANIC"] if kw.pop("reject_override", False) else NO_ERRORS
    case = dict(name=name, emulator=emulator, cpus=cpus, firmware=firmware, timeout=timeout,
                args="console=com1 loglvl=debug testexit=%s %s" % (testexit, extra_args),
                expect=expect + kw.pop("expect", []), reject=reject + kw.pop("reject", []))
    case.update(kw)
    return case


CASES = [
    boot_case("qemu-bios-1cpu", "qemu", 1, machine="pc"),
    boot_case("qemu-bios-2cpu", "qemu", 2, machine="pc"),
    boot_case("qemu-bios-4cpu", "qemu", 4),
    boot_case("qemu-uefi-1cpu", "qemu", 1, firmware="uefi"),
    boot_case("qemu-uefi-2cpu", "qemu", 2, firmware="uefi"),
    boot_case("qemu-uefi-4cpu", "qemu", 4, firmware="uefi"),
]

CASES += [
    boot_case("bochs-vtx-1cpu", "bochs", 1, timeout=180,
              expect=[r"cpu: VT-x \(VMX\) yes, EPT yes", r"apic: local APIC in x2APIC mode"]),
]
CASES += [
    boot_case("bochs-vtx-2cpu", "bochs", 2, timeout=90,
              expect=[r"cpu: VT-x \(VMX\) yes, EPT yes", r"apic: local APIC in x2APIC mode"]),
]


def panic_case(name, emulator, cpus, selftest, expect, timeout=120, **kw):
    testexit = "qemu" if emulator == "qemu" else "bochs"
    return dict(name=name, emulator=emulator, cpus=cpus, timeout=timeout, expect_exit="fail",
                args="console=com1 testexit=%s selftest=%s" % (testexit, selftest),
                expect=[r"smp: all %d CPUs online" % cpus,
                        r"\*\*\* PLINTH PANIC on cpu0 \(APIC id \d+\)",
                        r"Backtrace:",
                        r"at 0x[0-9a-f]+ hv_main\+0x[0-9a-f]+",
                        r"Stopped %d of %d other CPUs\." % (cpus - 1, cpus - 1),
                        r"System halted\."] + expect,
                reject=[r"plinth: boot complete", r"nested fault"], **kw)


REGS = r"rax 0x[0-9a-f]{16} rbx 0x[0-9a-f]{16} rcx 0x[0-9a-f]{16} rdx 0x[0-9a-f]{16}"

CASES += [
    # Text is read-only: a write to it is a page fault (error code 3 = present + write).
    panic_case("qemu-panic-wp", "qemu", 2, "wp",
               [r"exception 14 #PF page fault, error code 0x3", r"rip 0x[0-9a-f]+ run_selftest\+0x", REGS,
                r"cr0 0x[0-9a-f]+ cr2 0xffffffff80201000"]),
    # The stack is not executable: an instruction fetch from it faults (0x11 = present + fetch).
    panic_case("qemu-panic-nx", "qemu", 1, "nx", [r"exception 14 #PF page fault, error code 0x11", REGS]),
    panic_case("qemu-panic-call", "qemu", 4, "panic",
               [r"PANIC on cpu0 \(APIC id 0\): selftest: deliberate panic", r"at 0x[0-9a-f]+ run_selftest\+0x"]),
    panic_case("bochs-panic-wp", "bochs", 2, "wp",
               [r"exception 14 #PF page fault, error code 0x3", r"rip 0x[0-9a-f]+ run_selftest\+0x", REGS],
               timeout=180),
    # Bad options are named and ignored; the machine still boots.
    boot_case("qemu-bad-cmdline", "qemu", 2,
              extra_args='console=com9 loglvl=loud maxcpus=0 x2apic=maybe frobnicate',
              reject_override=True,
              expect=[r"WARNING: cmdline: option 'console=com9': expected com1\.\.com4",
                      r"WARNING: cmdline: option 'loglvl=loud': expected error, warn, info or debug",
                      r"WARNING: cmdline: option 'maxcpus=0': expected a number of CPUs from 1 to 64",
                      r"WARNING: cmdline: option 'x2apic=maybe': expected on or off",
                      r"WARNING: cmdline: option 'frobnicate': unknown option, ignored",]),
    # maxcpus= limits the CPUs started, with a warning naming the rest.
    boot_case("qemu-maxcpus", "qemu", 1, machine="pc", extra_args="maxcpus=1", qemu_smp=4,
              expect=[r"WARNING: smp: not starting APIC id 3: limit of 1 CPUs"], reject_override=True),
    # The same image in xAPIC mode on the VT-x path (QEMU TCG has no x2APIC).
    boot_case("bochs-vtx-2cpu-xapic", "bochs", 2, extra_args="x2apic=off", timeout=180,
              expect=[r"apic: local APIC in xAPIC mode"]),
]

CASES += [
    # The FADT reset register (q35 has one) resets the machine.
    dict(name="qemu-reboot-acpi", emulator="qemu", cpus=2, machine="q35", expect_exit="reset", timeout=60,
         args="console=com1 testexit=qemu selftest=reboot",
         expect=[r"smp: all 2 CPUs online", r"reboot: writing 0x[0-9a-f]+ to the ACPI reset register \(I/O port 0xcf9\)"],
         reject=[r"reboot: trying the PCI reset", r"ERROR:", r"PANIC"]),
    # i440fx's FADT has no reset register: the fallback (port 0xcf9) is used.
    dict(name="qemu-reboot-fallback", emulator="qemu", cpus=1, machine="pc", expect_exit="reset", timeout=60,
         args="console=com1 testexit=qemu selftest=reboot",
         expect=[r"reboot: trying the PCI reset control register"],
         reject=[r"ACPI reset register", r"ERROR:", r"PANIC"]),
]

CASES += [
    # TSC calibration against the HPET (the path for platforms without a PIT).
    boot_case("qemu-tsc-hpet", "qemu", 2, extra_args="tsc_calib=hpet",
              expect=[r"tsc: \d+\.\d+ MHz \(calibrated against the HPET\)"]),
    boot_case("bochs-tsc-hpet", "bochs", 1, extra_args="tsc_calib=hpet", timeout=180,
              expect=[r"tsc: \d+\.\d+ MHz \(calibrated against the HPET\)"]),
]

CASES += [
    # RAM above 4 GiB: frame allocator metadata, direct map beyond the hole.
    boot_case("qemu-bios-6gib", "qemu", 2, mem=6144,
              expect=[r"paging: direct map 8192 MiB", r"mm: 614\d MiB managed"]),  # RAM ends at 8 GiB (PCI hole)
    # A CPU without 1 GiB pages or NX: 2 MiB direct map, no NX bits set.
    boot_case("qemu-no-1g-no-nx", "qemu", 2, cpu="max,-pdpe1gb,-nx",
              expect=[r"paging: direct map \d+ MiB with 2 MiB pages, \d+ table pages, NX off"]),
]
