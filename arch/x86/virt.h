/* Virtualization backends: VT-x (arch/x86/vmx) and AMD-V (arch/x86/svm)
 * each provide one of these; arch/x86/virt.c picks the one the CPU supports
 * and implements the arch_vcpu_* / arch_virt_* interface of hv/vcpu.h on
 * top of it.
 *
 * Calling convention shared by both backends:
 *  - run() is entered with host interrupts disabled and returns with them
 *    disabled; a host interrupt that arrives while the guest runs makes the
 *    guest exit (VEXIT_EXTINT) and stays pending in the host LAPIC, so it is
 *    taken by the host IDT when the core next enables interrupts.
 *  - gprs[] in struct vcpu are the guest's registers between runs (the
 *    backend copies RAX/RSP to and from its VMCS/VMCB itself).
 *  - an event whose delivery an exit interrupted (IDT-vectoring info /
 *    EXITINTINFO) is re-injected by the backend on the next run(); inject()
 *    then returns -PL_EBUSY until it has been delivered.
 *  - exits the backend can handle alone (e.g. VMX CR0/CR4 accesses to
 *    masked bits) do not reach the core.
 *  - translations: before each entry the backend compares
 *    vcpu->aspace->generation with what it last flushed for this vCPU on
 *    this CPU and flushes (INVEPT single-context / VMCB TLB_CONTROL) if they
 *    differ.
 */
#ifndef ARCH_X86_VIRT_H
#define ARCH_X86_VIRT_H

#include "hv/aspace.h"
#include "hv/vcpu.h"

struct virt_ops {
    const char *name;
    int (*enable_cpu)(void);
    int (*vcpu_create)(struct vcpu *v, struct aspace *as);
    void (*vcpu_destroy)(struct vcpu *v);
    void (*set_state)(struct vcpu *v, const struct vcpu_state *s);
    void (*get_state)(struct vcpu *v, struct vcpu_state *s);
    uint64_t (*rip)(struct vcpu *v);
    void (*set_rip)(struct vcpu *v, uint64_t rip);
    uint64_t (*rflags)(struct vcpu *v);
    unsigned (*cpl)(struct vcpu *v);
    void (*paging_state)(struct vcpu *v, uint64_t *cr0, uint64_t *cr3, uint64_t *cr4, uint64_t *efer);
    /* rip += e->insn_len and drop any STI/MOV-SS interrupt shadow */
    void (*skip)(struct vcpu *v, const struct vcpu_exit *e);
    void (*run)(struct vcpu *v, struct vcpu_exit *e);
    /* The vCPU stops running on this CPU (descheduled); it may run on
     * another CPU next. Called on the CPU where it last ran. */
    void (*put)(struct vcpu *v);
    int (*inject)(struct vcpu *v, const struct vcpu_event *ev);
    bool (*event_queued)(struct vcpu *v);
    bool (*interruptible)(struct vcpu *v);
    void (*request_intr_window)(struct vcpu *v, bool on);
    void (*set_time_slice)(struct vcpu *v, uint64_t tsc_cycles);
    /* bitmap_pa: a 12 KiB-contiguous permission bitmap (arch/x86/ioperm.c)
     * or 0 for "every port exits" */
    void (*set_io_bitmap)(struct vcpu *v, uint64_t bitmap_pa);
};

uint64_t io_perm_phys(const struct io_perm *p);

extern const struct virt_ops vmx_virt_ops;
extern const struct virt_ops svm_virt_ops;

/* Second-level page-table formats (arch/x86/aspace.c). */
enum aspace_format { ASPACE_FORMAT_EPT, ASPACE_FORMAT_NPT };
void aspace_set_format(enum aspace_format f);

#endif
