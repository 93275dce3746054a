/* HLT: the vCPU sleeps until an interrupt is pending; the physical CPU
 * halts meanwhile (woken by the host tick or another interrupt). */
#include "arch/x86/cpu.h"
#include "hv/domain.h"

#define RFLAGS_IF_ (1u << 9)

void handle_hlt(struct vcpu *v, const struct vcpu_exit *e)
{
    struct domain *d = v->dom;
    arch_vcpu_skip(v, e);
    for (;;) {
        virq_fire_timers(v);
        if (virq_pending(v))
            return;
        if (!(arch_vcpu_rflags(v) & RFLAGS_IF_) || !virq_next_deadline(v)) {
            /* Nothing can ever wake it (no timer armed, or interrupts off):
             * the guest has stopped for good. Event channels will add wake
             * sources with the domain work. */
            domain_stop(d, true, 0, "halted with %s and cannot wake up",
                       (arch_vcpu_rflags(v) & RFLAGS_IF_) ? "no timer armed" : "interrupts disabled");
            return;
        }
        /* sti;hlt: the next host tick (or any interrupt) ends the wait. */
        cpu_wait_for_interrupt();
    }
}
