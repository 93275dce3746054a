/* SPDX-License-Identifier: MIT */
/* CPUID as the hypervisor presents it. */
#include "guest.h"
#include "plinth/version.h"

GUEST("cpuid");

int main(void)
{
    struct cpuid_regs r = cpuid(PLINTH_CPUID_BASE, 0);
    char sig[13];
    memcpy(sig, &r.ebx, 4);
    memcpy(sig + 4, &r.ecx, 4);
    memcpy(sig + 8, &r.edx, 4);
    sig[12] = 0;
    CHECKF(memcmp(sig, PLINTH_CPUID_SIGNATURE, 12) == 0, "0x40000000 signature PlinthPlinth", "got \"%s\"", sig);
    CHECKF(r.eax >= PLINTH_CPUID_VERSION, "0x40000000 max leaf >= 0x40000001", "got 0x%x", r.eax);

    r = cpuid(PLINTH_CPUID_VERSION, 0);
    CHECK_EQ(r.eax, (uint32_t)(PLINTH_ABI_MAJOR << 16 | PLINTH_ABI_MINOR), "0x40000001 ABI version (the header's)");

    r = cpuid(1, 0);
    CHECK(r.ecx & (1u << 31), "leaf 1: hypervisor bit set");
    CHECK(!(r.ecx & (1u << 5)), "leaf 1: VMX hidden");
    CHECK(r.ecx & (1u << 21), "leaf 1: x2APIC");
    CHECK(r.ecx & (1u << 24), "leaf 1: TSC-deadline");

    r = cpuid(0x80000000, 0);
    CHECKF(r.eax >= 0x80000001, "extended leaves present", "max extended leaf 0x%x", r.eax);
    r = cpuid(0x80000001, 0);
    CHECK(!(r.ecx & (1u << 2)), "leaf 0x80000001: SVM hidden");

    /* An ordinary leaf passes through: vendor string and max basic leaf. */
    r = cpuid(0, 0);
    char vendor[13];
    memcpy(vendor, &r.ebx, 4);
    memcpy(vendor + 4, &r.edx, 4);
    memcpy(vendor + 8, &r.ecx, 4);
    vendor[12] = 0;
    bool printable = true;
    for (int i = 0; i < 12; i++)
        printable &= vendor[i] >= 0x20 && vendor[i] < 0x7f;
    printf("cpuid: vendor \"%s\", max basic leaf 0x%x\n", printable ? vendor : "?", r.eax);
    CHECK(printable && vendor[0] != ' ', "leaf 0: vendor string");
    CHECKF(r.eax >= 1, "leaf 0: max basic leaf >= 1", "got 0x%x", r.eax);
    return tests_failed();
}
