/* HLT: the vCPU sleeps until an interrupt is pending. It is taken off its
 * CPU (hv/schedule.c), which runs something else or idles, and is woken by
 * the scheduler's tick when one of its timers fires. */
#include "hv/domain.h"

#define RFLAGS_IF_ (1u << 9)

void handle_hlt(struct vcpu *v, const struct vcpu_exit *e)
{
    struct domain *d = v->dom;
    arch_vcpu_skip(v, e);
    virq_fire_timers(v);
    if (virq_pending(v))
        return;
    bool interrupts_on = arch_vcpu_rflags(v) & RFLAGS_IF_;
    if (!interrupts_on || !virq_next_deadline(v)) {
        /* Nothing can ever wake it (no timer armed, or interrupts off):
         * the guest has stopped for good. Event channels will add wake
         * sources with the domain work. */
        domain_stop(d, true, 0, "halted with %s and cannot wake up",
                    interrupts_on ? "no timer armed" : "interrupts disabled");
        return;
    }
    v->halted = true;
}
