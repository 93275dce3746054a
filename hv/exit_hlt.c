/* HLT: the vCPU sleeps until an interrupt is pending. It is taken off its
 * CPU (hv/schedule.c), which runs something else or idles, and is woken by
 * the scheduler's tick when one of its timers fires, or at once by an
 * event-channel upcall or a device interrupt (both go to vCPU 0). */
#include "hv/domain.h"
#include "hv/evtchn.h"

/* Something other than its own timers can interrupt vCPU 0. */
static bool others_can_wake(struct vcpu *v)
{
    struct domain *d = v->dom;
    return v->id == 0 && (evtchn_may_wake(d) || __atomic_load_n(&d->ioreq_server, __ATOMIC_ACQUIRE) != 0 ||
                          d->io_perm != NULL /* the control domain's device lines */);
}

#define RFLAGS_IF_ (1u << 9)

void handle_hlt(struct vcpu *v, const struct vcpu_exit *e)
{
    struct domain *d = v->dom;
    arch_vcpu_skip(v, e);
    virq_fire_timers(v);
    if (virq_pending(v))
        return;
    bool interrupts_on = arch_vcpu_rflags(v) & RFLAGS_IF_;
    if (!interrupts_on || (!virq_next_deadline(v) && !others_can_wake(v))) {
        /* Nothing can ever wake it (no timer armed and no other source,
         * or interrupts off): the guest has stopped for good. */
        domain_stop(d, true, 0, "halted with %s and cannot wake up",
                    interrupts_on ? "no timer armed" : "interrupts disabled");
        return;
    }
    v->halted = true;
}
