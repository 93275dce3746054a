#include "arch/x86/cpufeature.h"

#include "arch/x86/cpu.h"
#include "hv/log.h"
#include "hv/string.h"

struct cpu_features cpu_features;

/* CPUID bits */
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_PCID (1u << 17)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_EDX_PGE (1u << 13)
#define CPUID81_ECX_SVM (1u << 2)
#define CPUID81_EDX_NX (1u << 20)
#define CPUID81_EDX_PAGE1G (1u << 26)
#define CPUID87_EDX_INVARIANT_TSC (1u << 8)
#define CPUID8A_EDX_NP (1u << 0)
#define CPUID8A_EDX_SVML (1u << 2)

/* VMX capability MSRs, SDM Vol. 3D appendix A */
#define MSR_FEATURE_CONTROL 0x3A
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)
#define MSR_VMX_PROCBASED_CTLS 0x482
#define MSR_VMX_PROCBASED_CTLS2 0x48B
#define PROCBASED_ACTIVATE_SECONDARY (1ull << (31 + 32)) /* allowed-1 half */
#define PROCBASED2_EPT (1ull << (1 + 32))
#define PROCBASED2_VPID (1ull << (5 + 32))
/* AMD APM Vol. 2 15.30.1 */
#define MSR_VM_CR 0xC0010114
#define VM_CR_SVMDIS (1ull << 4)

static void cpuid(uint32_t leaf, uint32_t r[4]) { cpuid_count(leaf, 0, &r[0], &r[1], &r[2], &r[3]); }

void cpufeature_detect(void)
{
    struct cpu_features *f = &cpu_features;
    uint32_t r[4];

    cpuid(0, r);
    f->max_leaf = r[0];
    memcpy(f->vendor, &r[1], 4);
    memcpy(f->vendor + 4, &r[3], 4);
    memcpy(f->vendor + 8, &r[2], 4);
    f->vendor[12] = 0;
    f->intel = strcmp(f->vendor, "GenuineIntel") == 0;
    f->amd = strcmp(f->vendor, "AuthenticAMD") == 0 || strcmp(f->vendor, "HygonGenuine") == 0;

    cpuid(1, r);
    uint32_t family = (r[0] >> 8) & 0xF, model = (r[0] >> 4) & 0xF;
    if (family == 0xF)
        family += (r[0] >> 20) & 0xFF;
    if (family == 0x6 || family >= 0xF)
        model |= ((r[0] >> 16) & 0xF) << 4;
    f->family = (uint8_t)family;
    f->model = (uint8_t)model;
    f->stepping = r[0] & 0xF;
    f->vmx = r[2] & CPUID1_ECX_VMX;
    f->pcid = r[2] & CPUID1_ECX_PCID;
    f->x2apic = r[2] & CPUID1_ECX_X2APIC;
    f->tsc_deadline = r[2] & CPUID1_ECX_TSC_DEADLINE;
    f->hypervisor = r[2] & CPUID1_ECX_HYPERVISOR;
    f->pge = r[3] & CPUID1_EDX_PGE;

    if (f->max_leaf >= 0x15) {
        cpuid(0x15, r);
        f->tsc_ratio_den = r[0];
        f->tsc_ratio_num = r[1];
        f->tsc_crystal_hz = r[2];
    }
    if (f->max_leaf >= 0x16) {
        cpuid(0x16, r);
        f->base_mhz = r[0] & 0xFFFF;
    }

    cpuid(0x80000000, r);
    f->max_ext_leaf = r[0];
    if (f->max_ext_leaf >= 0x80000001) {
        cpuid(0x80000001, r);
        f->svm = r[2] & CPUID81_ECX_SVM;
        f->nx = r[3] & CPUID81_EDX_NX;
        f->page_1g = r[3] & CPUID81_EDX_PAGE1G;
    }
    if (f->max_ext_leaf >= 0x80000004) {
        for (uint32_t i = 0; i < 3; i++) {
            cpuid(0x80000002 + i, r);
            memcpy(f->brand + 16 * i, r, 16);
        }
        f->brand[48] = 0;
    }
    if (f->max_ext_leaf >= 0x80000007) {
        cpuid(0x80000007, r);
        f->invariant_tsc = r[3] & CPUID87_EDX_INVARIANT_TSC;
    }
    if (f->max_ext_leaf >= 0x80000008) {
        cpuid(0x80000008, r);
        f->phys_addr_bits = r[0] & 0xFF;
        f->virt_addr_bits = (r[0] >> 8) & 0xFF;
    } else {
        f->phys_addr_bits = 36;
        f->virt_addr_bits = 48;
    }

    if (f->vmx) {
        uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
        f->vmx_locked_off = (fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        if (rdmsr(MSR_VMX_PROCBASED_CTLS) & PROCBASED_ACTIVATE_SECONDARY) {
            uint64_t ctls2 = rdmsr(MSR_VMX_PROCBASED_CTLS2);
            f->ept = ctls2 & PROCBASED2_EPT;
            f->vpid = ctls2 & PROCBASED2_VPID;
        }
    }
    if (f->svm && f->max_ext_leaf >= 0x8000000A) {
        cpuid(0x8000000A, r);
        f->npt = r[3] & CPUID8A_EDX_NP;
        f->svm_lock = r[3] & CPUID8A_EDX_SVML;
        f->svm_disabled = rdmsr(MSR_VM_CR) & VM_CR_SVMDIS;
    }
}

static const char *yn(bool b) { return b ? "yes" : "no"; }

void cpufeature_log(void)
{
    const struct cpu_features *f = &cpu_features;
    const char *brand = f->brand;
    while (*brand == ' ')
        brand++;
    pr_info("cpu: %s family %#x model %#x stepping %u \"%s\"", f->vendor, f->family, f->model, f->stepping,
            brand);
    pr_info("cpu: x2apic %s, tsc-deadline %s, invariant tsc %s, nx %s, 1G pages %s, %u-bit physical",
            yn(f->x2apic), yn(f->tsc_deadline), yn(f->invariant_tsc), yn(f->nx), yn(f->page_1g),
            f->phys_addr_bits);
    if (f->vmx)
        pr_info("cpu: VT-x (VMX) yes, EPT %s, VPID %s%s", yn(f->ept), yn(f->vpid),
                f->vmx_locked_off ? ", but disabled by firmware (IA32_FEATURE_CONTROL)" : "");
    if (f->svm)
        pr_info("cpu: AMD-V (SVM) yes, nested paging %s%s", yn(f->npt),
                f->svm_disabled ? ", but disabled by firmware (VM_CR.SVMDIS)" : "");
    if (!f->vmx && !f->svm)
        pr_warn("cpu: no VT-x or AMD-V: this machine cannot run guests");
}
