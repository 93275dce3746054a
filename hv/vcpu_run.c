/* The vCPU run loop: enter the guest, count the exit, dispatch it. */
#include "arch/x86/cpu.h"
#include "hv/domain.h"
#include "hv/ioreq.h"
#include "hv/log.h"

/* Events the guest's own instructions cause are emulated here; the
 * rest stop the guest with a report (never the hypervisor). */
static void dispatch(struct vcpu *v, const struct vcpu_exit *e)
{
    struct domain *d = v->dom;
    switch (e->reason) {
    case VEXIT_CPUID:
        handle_cpuid(v, e);
        break;
    case VEXIT_MSR_READ:
    case VEXIT_MSR_WRITE:
        handle_msr(v, e);
        break;
    case VEXIT_IO:
        handle_io(v, e);
        break;
    case VEXIT_HLT:
        handle_hlt(v, e);
        break;
    case VEXIT_HYPERCALL:
        handle_hypercall(v, e);
        break;
    case VEXIT_MEMORY:
        handle_memory(v, e);
        break;
    case VEXIT_EXTINT:
        break; /* the host takes its interrupt when the loop enables them */
    case VEXIT_INTR_WINDOW:
        arch_vcpu_request_intr_window(v, false);
        break;
    case VEXIT_EXCEPTION:
        if (e->exception.vector == 6) {
            handle_hypercall(v, e); /* the other vendor's hypercall instruction, or a real #UD */
        } else {
            domain_stop(d, true, 0, "unexpected intercepted exception %u at rip %#lx", e->exception.vector,
                       arch_vcpu_rip(v));
        }
        break;
    case VEXIT_SHUTDOWN:
        domain_stop(d, true, 0, "triple fault (shutdown) at rip %#lx", arch_vcpu_rip(v));
        break;
    case VEXIT_INIT:
        domain_stop(d, true, 0, "INIT signal received at rip %#lx", arch_vcpu_rip(v));
        break;
    case VEXIT_INVALID:
        domain_stop(d, true, 0, "invalid guest state, the CPU refused to enter it (exit %#lx)", e->raw);
        break;
    case VEXIT_OTHER:
        /* VMRUN, VMLOAD, VMXON and friends inside the guest: it has no
         * virtualization extensions, so they are undefined opcodes. */
        pr_debug("dom%u(%s): exit %#lx (qualification %#lx) at rip %#lx answered with #UD", d->id, d->name, e->raw,
                 e->qual, arch_vcpu_rip(v));
        vcpu_inject_exception(v, 6, false, 0);
        break;
    }
}

bool vcpu_run_once(struct vcpu *v)
{
    struct vcpu_exit e;
    if (v->dom->state != DOMAIN_RUNNING)
        return false;
    if (v->ioreq_state == VCPU_IOREQ_DONE)
        ioreq_resume(v);
    if (v->ioreq_state == VCPU_IOREQ_WAITING)
        return true; /* the scheduling loop blocks it */
    irq_disable();
    virq_deliver(v);
    v->entries++;
    __atomic_store_n(&v->in_guest, true, __ATOMIC_SEQ_CST);
    arch_vcpu_run(v, &e);
    __atomic_store_n(&v->in_guest, false, __ATOMIC_RELEASE);
    /* Let a host interrupt that ended the run (timer tick, kick) be taken. */
    irq_enable();
    if (e.reason < PLINTH_EXIT_REASONS)
        v->exit_count[e.reason]++;
    v->exit_total++;
    dispatch(v, &e);
    return true;
}
