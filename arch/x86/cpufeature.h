/* CPU features found with CPUID at boot (SDM Vol. 2A, CPUID; AMD APM Vol. 3
 * appendix E). Recorded once on the BSP; the virtualization issue decides
 * from these whether guests can run. */
#ifndef ARCH_X86_CPUFEATURE_H
#define ARCH_X86_CPUFEATURE_H

#include <stdbool.h>
#include <stdint.h>

struct cpu_features {
    char vendor[13];
    char brand[49];
    uint32_t max_leaf, max_ext_leaf;
    uint8_t family, model, stepping;
    bool intel, amd;
    bool x2apic, tsc_deadline, invariant_tsc, nx, page_1g, pcid, pge;
    bool hypervisor;          /* we ourselves run under a hypervisor/emulator */
    bool vmx, svm;            /* virtualization extensions */
    bool ept, vpid;           /* from IA32_VMX_PROCBASED_CTLS2 (only if vmx) */
    bool npt, svm_lock;       /* from CPUID 8000_000A (only if svm) */
    bool vmx_locked_off;      /* IA32_FEATURE_CONTROL forbids VMXON */
    bool svm_disabled;        /* VM_CR.SVMDIS set by firmware */
    uint32_t phys_addr_bits, virt_addr_bits;
    uint32_t tsc_crystal_hz;  /* CPUID 15h, 0 if not reported */
    uint32_t tsc_ratio_num, tsc_ratio_den;
    uint32_t base_mhz;        /* CPUID 16h, 0 if not reported */
};

extern struct cpu_features cpu_features;

void cpufeature_detect(void);
void cpufeature_log(void);

#endif
