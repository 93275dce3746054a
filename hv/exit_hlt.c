/* HLT: the vCPU sleeps until an interrupt is pending; the physical CPU
 * halts meanwhile (woken by the host tick or another interrupt). */
#include "arch/x86/cpu.h"
#include "hv/guest.h"

#define RFLAGS_IF_ (1u << 9)

void handle_hlt(struct guest *g, const struct vcpu_exit *e)
{
    struct vcpu *v = &g->vcpu;
    arch_vcpu_skip(v, e);
    for (;;) {
        virq_fire_timers(g);
        if (virq_pending(g))
            return;
        if (!(arch_vcpu_rflags(v) & RFLAGS_IF_) || !virq_next_deadline(g)) {
            /* Nothing can ever wake it (no timer armed, or interrupts off):
             * the guest has stopped for good. Event channels will add wake
             * sources with the domain work. */
            guest_stop(g, true, 0, "halted with %s and cannot wake up",
                       (arch_vcpu_rflags(v) & RFLAGS_IF_) ? "no timer armed" : "interrupts disabled");
            return;
        }
        /* sti;hlt: the next host tick (or any interrupt) ends the wait. */
        cpu_wait_for_interrupt();
    }
}
