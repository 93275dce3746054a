/* The vCPU run loop: enter the guest, count the exit, dispatch it. */
#include "arch/x86/cpu.h"
#include "hv/guest.h"
#include "hv/log.h"

/* Events the guest's own instructions cause are emulated here; the
 * rest stop the guest with a report (never the hypervisor). */
static void dispatch(struct guest *g, const struct vcpu_exit *e)
{
    struct vcpu *v = &g->vcpu;
    switch (e->reason) {
    case VEXIT_CPUID:
        handle_cpuid(g, e);
        break;
    case VEXIT_MSR_READ:
    case VEXIT_MSR_WRITE:
        handle_msr(g, e);
        break;
    case VEXIT_IO:
        handle_io(g, e);
        break;
    case VEXIT_HLT:
        handle_hlt(g, e);
        break;
    case VEXIT_HYPERCALL:
        handle_hypercall(g, e);
        break;
    case VEXIT_MEMORY:
        handle_memory(g, e);
        break;
    case VEXIT_EXTINT:
        break; /* the host takes its interrupt when the loop enables them */
    case VEXIT_INTR_WINDOW:
        arch_vcpu_request_intr_window(v, false);
        break;
    case VEXIT_EXCEPTION:
        if (e->exception.vector == 6) {
            handle_hypercall(g, e); /* the other vendor's hypercall instruction, or a real #UD */
        } else {
            guest_stop(g, true, 0, "unexpected intercepted exception %u at rip %#lx", e->exception.vector,
                       arch_vcpu_rip(v));
        }
        break;
    case VEXIT_SHUTDOWN:
        guest_stop(g, true, 0, "triple fault (shutdown) at rip %#lx", arch_vcpu_rip(v));
        break;
    case VEXIT_INIT:
        guest_stop(g, true, 0, "INIT signal received at rip %#lx", arch_vcpu_rip(v));
        break;
    case VEXIT_INVALID:
        guest_stop(g, true, 0, "invalid guest state, the CPU refused to enter it (exit %#lx)", e->raw);
        break;
    case VEXIT_OTHER:
        /* VMRUN, VMLOAD, VMXON and friends inside the guest: it has no
         * virtualization extensions, so they are undefined opcodes. */
        pr_debug("dom%u(%s): exit %#lx (qualification %#lx) at rip %#lx answered with #UD", g->id, g->name, e->raw,
                 e->qual, arch_vcpu_rip(v));
        guest_inject_exception(g, 6, false, 0);
        break;
    }
}

void guest_run(struct guest *g)
{
    struct vcpu *v = &g->vcpu;
    struct vcpu_exit e;
    while (g->state == GUEST_RUNNING) {
        irq_disable();
        virq_deliver(g);
        arch_vcpu_run(v, &e);
        /* Let a host interrupt that ended the run (timer tick) be taken. */
        irq_enable();
        if (e.reason < PLINTH_EXIT_REASONS)
            v->exit_count[e.reason]++;
        v->exit_total++;
        dispatch(g, &e);
    }
    irq_enable();
}
