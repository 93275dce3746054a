/* Virtual interrupts and timers of a guest: pending vectors, the hypercall
 * one-shot timer and the x2APIC LVT timer in TSC-deadline mode. */
#include "arch/x86/cpu.h"
#include "hv/domain.h"

#define LVT_MASKED (1u << 16)
#define LVT_MODE_SHIFT 17
#define LVT_MODE_TSC_DEADLINE 2u /* SDM Vol. 3A 11.5.1 */

/* Atomic: device interrupts raise vectors from another CPU while the
 * vCPU's own CPU takes them. */
void virq_raise(struct vcpu *v, uint8_t vector)
{
    __atomic_fetch_or(&v->pending_irq[vector / 64], 1ull << (vector % 64), __ATOMIC_RELEASE);
}

bool virq_pending(const struct vcpu *v)
{
    return v->pending_irq[0] | v->pending_irq[1] | v->pending_irq[2] | v->pending_irq[3];
}

static bool lvt_timer_armed(const struct vcpu *v)
{
    return v->tsc_deadline && !(v->lapic_lvt_timer & LVT_MASKED) &&
           ((v->lapic_lvt_timer >> LVT_MODE_SHIFT) & 3) == LVT_MODE_TSC_DEADLINE;
}

uint64_t virq_next_deadline(const struct vcpu *v)
{
    uint64_t d = v->hc_timer_deadline;
    if (lvt_timer_armed(v) && (d == 0 || v->tsc_deadline < d))
        d = v->tsc_deadline;
    return d;
}

void virq_fire_timers(struct vcpu *v)
{
    uint64_t now = rdtsc();
    if (v->hc_timer_deadline && now >= v->hc_timer_deadline) {
        v->hc_timer_deadline = 0;
        virq_raise(v, v->hc_timer_vector);
    }
    if (lvt_timer_armed(v) && now >= v->tsc_deadline) {
        v->tsc_deadline = 0; /* one shot, as the hardware does */
        uint8_t vector = (uint8_t)(v->lapic_lvt_timer & 0xFF);
        /* Vectors 0-31 are illegal for LVT entries: the APIC drops them
         * (SDM Vol. 3A 11.5.3, "send illegal vector" error). */
        if (vector >= 32)
            virq_raise(v, vector);
    }
}

static int highest_pending(const struct vcpu *v)
{
    for (int w = 3; w >= 0; w--)
        if (v->pending_irq[w])
            return w * 64 + 63 - __builtin_clzll(v->pending_irq[w]);
    return -1;
}

void virq_deliver(struct vcpu *v)
{
    virq_fire_timers(v);
    int vector = highest_pending(v);
    if (vector < 0)
        return;
    if (arch_vcpu_interruptible(v)) {
        struct vcpu_event ev = { .vector = (uint8_t)vector, .type = VEVENT_EXTINT };
        if (arch_vcpu_inject(v, &ev) == 0)
            __atomic_fetch_and(&v->pending_irq[vector / 64], ~(1ull << (vector % 64)), __ATOMIC_ACQ_REL);
    } else {
        /* Also when a re-injected event is queued: the window exit comes
         * right after its delivery, so this one is not left waiting. */
        arch_vcpu_request_intr_window(v, true);
    }
}

void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
    struct vcpu_event ev = { .vector = vector, .type = VEVENT_EXCEPTION, .has_error = has_error, .error = error };
    if (arch_vcpu_inject(v, &ev))
        domain_stop(v->dom, true, 0, "exception %u raised while another event was being delivered", vector);
}
