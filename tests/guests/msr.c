/* SPDX-License-Identifier: MIT */
/* MSRs: the allowlist works, anything else raises #GP(0). */
#include "guest.h"

GUEST("msr");

#define GP 13

static void check_rw(uint32_t msr, uint64_t val, const char *name)
{
    uint64_t got = 0;
    int wv = wrmsr_safe(msr, val);
    int rv = rdmsr_safe(msr, &got);
    CHECKF(wv < 0 && rv < 0 && got == val, name, "write 0x%x: vector %d, read: vector %d, value 0x%lx, expected 0x%lx",
           msr, wv, rv, got, val);
}

static void check_gp(uint32_t msr, const char *rd_name, const char *wr_name)
{
    uint64_t v;
    int vec = rdmsr_safe(msr, &v);
    CHECKF(vec == GP && fault_error == 0, rd_name, "vector %d, error 0x%lx", vec, fault_error);
    vec = wrmsr_safe(msr, 0);
    CHECKF(vec == GP && fault_error == 0, wr_name, "vector %d, error 0x%lx", vec, fault_error);
}
#define CHECK_GP(msr, label) check_gp(msr, "rdmsr " label " raises #GP(0)", "wrmsr " label " raises #GP(0)")

int main(void)
{
    uint64_t v;

    CHECK_EQ(rdmsr_safe(MSR_EFER, &v), -1, "rdmsr EFER");
    CHECKF((v & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "EFER.LME and LMA set", "EFER 0x%lx", v);
    CHECK_EQ(wrmsr_safe(MSR_EFER, v), -1, "wrmsr EFER (same value)");

    uint64_t t0 = rdtsc();
    CHECK_EQ(rdmsr_safe(MSR_TSC, &v), -1, "rdmsr IA32_TSC");
    uint64_t t1 = rdtsc();
    CHECKF(t0 <= v && v <= t1, "IA32_TSC agrees with RDTSC", "rdtsc 0x%lx, msr 0x%lx, rdtsc 0x%lx", t0, v, t1);

    CHECK_EQ(rdmsr_safe(MSR_APIC_BASE, &v), -1, "rdmsr IA32_APIC_BASE");
    printf("msr: IA32_APIC_BASE 0x%lx\n", v);
    CHECKF((v & 0xC00) == 0xC00, "IA32_APIC_BASE: enabled, x2APIC mode", "0x%lx", v);

    uint64_t pat;
    CHECK_EQ(rdmsr_safe(MSR_PAT, &pat), -1, "rdmsr IA32_PAT");
    printf("msr: IA32_PAT 0x%lx\n", pat);
    check_rw(MSR_PAT, 0x0007010600070106ull, "IA32_PAT round-trips a write"); /* PA1 and PA5 WT -> WC */
    check_rw(MSR_PAT, pat, "IA32_PAT restored");

    static volatile uint64_t fs_target = 0x5a5a1234abcd0001ull;
    check_rw(MSR_FS_BASE, (uintptr_t)&fs_target, "FS_BASE round-trips");
    uint64_t via_fs;
    __asm__ __volatile__("movq %%fs:0, %0" : "=r"(via_fs));
    CHECK_EQ(via_fs, fs_target, "FS_BASE is the base of %fs");
    check_rw(MSR_FS_BASE, 0, "FS_BASE reset");
    check_rw(MSR_GS_BASE, 0xffff800012345000ull, "GS_BASE round-trips");
    check_rw(MSR_GS_BASE, 0, "GS_BASE reset");
    check_rw(MSR_KERNEL_GS_BASE, 0x00007fff00001000ull, "KERNEL_GS_BASE round-trips");

    check_rw(MSR_TSC_DEADLINE, 0, "IA32_TSC_DEADLINE write 0 (disarmed)");

    CHECK_EQ(rdmsr_safe(MSR_X2APIC_ID, &v), -1, "rdmsr x2APIC ID");
    printf("msr: x2APIC ID %lu\n", v);
    CHECK_EQ(rdmsr_safe(MSR_X2APIC_VERSION, &v), -1, "rdmsr x2APIC version");
    printf("msr: x2APIC version 0x%lx\n", v);
    check_rw(MSR_X2APIC_TPR, 0, "x2APIC TPR round-trips");
    check_rw(MSR_X2APIC_SVR, 0x1ff, "x2APIC SVR round-trips (enabled, vector 0xff)");
    check_rw(MSR_X2APIC_LVT_TIMER, LVT_MASKED | LVT_TSC_DEADLINE | 0x40, "x2APIC LVT timer round-trips");
    CHECK_EQ(wrmsr_safe(MSR_X2APIC_EOI, 0), -1, "x2APIC EOI write 0");

    CHECK_GP(MSR_VM_CR, "VM_CR (0xC0010114)");
    CHECK_GP(MSR_FEATURE_CONTROL, "IA32_FEATURE_CONTROL (0x3A)");
    CHECK_GP(0x480, "IA32_VMX_BASIC (0x480)");
    CHECK_GP(0x12345678, "0x12345678");
    return tests_failed();
}
