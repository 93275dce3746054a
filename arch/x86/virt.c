/* Chooses the virtualization backend the CPU supports and forwards the
 * arch-neutral vCPU interface (hv/vcpu.h) to it. */
#include "arch/x86/virt.h"

#include "arch/x86/cpufeature.h"
#include "hv/format.h"
#include "hv/log.h"
#include "plinth/errno.h"

/* Weak so the image still links while a backend is not built in. */
extern const struct virt_ops vmx_virt_ops __attribute__((weak));
extern const struct virt_ops svm_virt_ops __attribute__((weak));

static const struct virt_ops *ops;

bool arch_virt_supported(char *why, size_t why_len)
{
    const struct cpu_features *f = &cpu_features;
    const char *reason = NULL;
    ops = NULL;
    if (f->vmx && !f->vmx_locked_off && f->ept && &vmx_virt_ops) {
        ops = &vmx_virt_ops;
        aspace_set_format(ASPACE_FORMAT_EPT);
    } else if (f->svm && !f->svm_disabled && f->npt && &svm_virt_ops) {
        ops = &svm_virt_ops;
        aspace_set_format(ASPACE_FORMAT_NPT);
    } else if (f->vmx && f->vmx_locked_off) {
        reason = "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL is locked with VMX off)";
    } else if (f->vmx && !f->ept) {
        reason = "VT-x without EPT is not supported";
    } else if (f->svm && f->svm_disabled) {
        reason = "AMD-V is disabled by the firmware (VM_CR.SVMDIS)";
    } else if (f->svm && !f->npt) {
        reason = "AMD-V without nested paging is not supported";
    } else if (f->vmx || f->svm) {
        reason = "this build has no backend for the CPU's virtualization extensions";
    } else {
        reason = "the CPU has neither VT-x nor AMD-V";
    }
    if (!ops && why)
        hv_snprintf(why, why_len, "%s", reason);
    return ops != NULL;
}

const char *arch_virt_name(void) { return ops ? ops->name : "none"; }
int arch_virt_enable_cpu(void) { return ops ? ops->enable_cpu() : -PL_ENOSYS; }
int arch_vcpu_create(struct vcpu *v, struct aspace *as) { return ops->vcpu_create(v, as); }
void arch_vcpu_destroy(struct vcpu *v) { ops->vcpu_destroy(v); }
void arch_vcpu_set_state(struct vcpu *v, const struct vcpu_state *s) { ops->set_state(v, s); }
void arch_vcpu_get_state(struct vcpu *v, struct vcpu_state *s) { ops->get_state(v, s); }
uint64_t arch_vcpu_rip(struct vcpu *v) { return ops->rip(v); }
void arch_vcpu_set_rip(struct vcpu *v, uint64_t rip) { ops->set_rip(v, rip); }
uint64_t arch_vcpu_rflags(struct vcpu *v) { return ops->rflags(v); }
unsigned arch_vcpu_cpl(struct vcpu *v) { return ops->cpl(v); }
void arch_vcpu_paging_state(struct vcpu *v, uint64_t *cr0, uint64_t *cr3, uint64_t *cr4, uint64_t *efer)
{
    ops->paging_state(v, cr0, cr3, cr4, efer);
}
void arch_vcpu_skip(struct vcpu *v, const struct vcpu_exit *e) { ops->skip(v, e); }
void arch_vcpu_run(struct vcpu *v, struct vcpu_exit *e) { ops->run(v, e); }
void arch_vcpu_put(struct vcpu *v) { ops->put(v); }
int arch_vcpu_inject(struct vcpu *v, const struct vcpu_event *ev) { return ops->inject(v, ev); }
bool arch_vcpu_event_queued(struct vcpu *v) { return ops->event_queued(v); }
bool arch_vcpu_interruptible(struct vcpu *v) { return ops->interruptible(v); }
void arch_vcpu_request_intr_window(struct vcpu *v, bool on) { ops->request_intr_window(v, on); }
void arch_vcpu_set_time_slice(struct vcpu *v, uint64_t tsc_cycles) { ops->set_time_slice(v, tsc_cycles); }
void arch_vcpu_set_io_perm(struct vcpu *v, struct io_perm *p) { ops->set_io_bitmap(v, io_perm_phys(p)); }
