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
    case = dict(name=name, emulator=emulator, cpus=cpus, firmware=firmware, timeout=timeout,
                args="console=com1 loglvl=debug testexit=%s %s" % (testexit, extra_args),
                expect=expect + kw.pop("expect", []), reject=NO_ERRORS + kw.pop("reject", []))
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
