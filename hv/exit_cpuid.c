/* CPUID: the host's answers, minus what a guest cannot use, plus the
 * Plinth leaves (include/plinth/hypercall.h). */
#include "arch/x86/cpu.h"
#include "hv/domain.h"
#include "plinth/version.h"

/* CPUID bits, SDM Vol. 2A table 3-8 and AMD APM Vol. 3 appendix E */
#define LEAF1_ECX_MONITOR (1u << 3)
#define LEAF1_ECX_VMX (1u << 5)
#define LEAF1_ECX_SMX (1u << 6)
#define LEAF1_ECX_X2APIC (1u << 21)
#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_XSAVE (1u << 26)
#define LEAF1_ECX_OSXSAVE (1u << 27)
#define LEAF1_ECX_AVX (1u << 28)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF7_EBX_AVX2 (1u << 5)
#define LEAF7_EBX_AVX512_MASK 0xDC230000u /* AVX-512 F, DQ, IFMA, PF, ER, CD, BW, VL */
#define LEAF7_ECX_LA57 (1u << 16)
#define LEAF7_EBX_SGX (1u << 2)
#define EXT1_ECX_SVM (1u << 2)
#define HYPERVISOR_LEAF_LIMIT 0x400000FFu

static void set_result(struct vcpu *v, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    v->gprs[REG_RAX] = a;
    v->gprs[REG_RBX] = b;
    v->gprs[REG_RCX] = c;
    v->gprs[REG_RDX] = d;
}

void handle_cpuid(struct vcpu *v, const struct vcpu_exit *e)
{
    uint32_t leaf = (uint32_t)v->gprs[REG_RAX], sub = (uint32_t)v->gprs[REG_RCX];
    uint32_t a = 0, b = 0, c = 0, d = 0;

    if (leaf == PLINTH_CPUID_BASE) {
        /* "PlinthPlinth" in EBX, ECX, EDX */
        set_result(v, PLINTH_CPUID_VERSION, 0x6e696c50, 0x6c506874, 0x68746e69);
    } else if (leaf == PLINTH_CPUID_VERSION) {
        set_result(v, (PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR, 0, 0, 0);
    } else if (leaf > PLINTH_CPUID_VERSION && leaf <= HYPERVISOR_LEAF_LIMIT) {
        set_result(v, 0, 0, 0, 0); /* no other hypervisor's leaves */
    } else {
        cpuid_count(leaf, sub, &a, &b, &c, &d);
        switch (leaf) {
        case 1:
            /* No XSAVE state management yet (XSETBV raises #UD), so nothing
             * that depends on it: XSAVE, AVX and later. */
            c &= ~(LEAF1_ECX_VMX | LEAF1_ECX_SMX | LEAF1_ECX_MONITOR | LEAF1_ECX_XSAVE | LEAF1_ECX_OSXSAVE |
                   LEAF1_ECX_AVX);
            c |= LEAF1_ECX_HYPERVISOR | LEAF1_ECX_X2APIC | LEAF1_ECX_TSC_DEADLINE;
            b = (b & 0x00FFFFFF) | (v->id << 24); /* initial APIC id */
            break;
        case 7:
            if (sub == 0) {
                c &= ~LEAF7_ECX_LA57;  /* guests get 4-level paging */
                b &= ~(LEAF7_EBX_SGX | LEAF7_EBX_AVX2 | LEAF7_EBX_AVX512_MASK);
            }
            break;
        case 0xB:
        case 0x1F:
            d = v->id; /* x2APIC id, as leaf 1 and MSR 0x802 report */
            break;
        case 0xD: /* XSAVE state enumeration */
        case 0x12: /* SGX */
        case 0x8000000A: /* SVM features */
            a = b = c = d = 0;
            break;
        case 0x80000001:
            c &= ~EXT1_ECX_SVM;
            break;
        default:
            break;
        }
        set_result(v, a, b, c, d);
    }
    arch_vcpu_skip(v, e);
}
