/* Virtual interrupts and timers of a guest: pending vectors, the hypercall
 * one-shot timer and the x2APIC LVT timer in TSC-deadline mode. */
#include "arch/x86/cpu.h"
#include "hv/guest.h"

#define LVT_MASKED (1u << 16)
#define LVT_MODE_SHIFT 17
#define LVT_MODE_TSC_DEADLINE 2u /* SDM Vol. 3A 11.5.1 */

void virq_raise(struct guest *g, uint8_t vector) { g->pending_irq[vector / 64] |= 1ull << (vector % 64); }

bool virq_pending(const struct guest *g)
{
    return g->pending_irq[0] | g->pending_irq[1] | g->pending_irq[2] | g->pending_irq[3];
}

static bool lvt_timer_armed(const struct guest *g)
{
    return g->tsc_deadline && !(g->lapic_lvt_timer & LVT_MASKED) &&
           ((g->lapic_lvt_timer >> LVT_MODE_SHIFT) & 3) == LVT_MODE_TSC_DEADLINE;
}

uint64_t virq_next_deadline(const struct guest *g)
{
    uint64_t d = g->hc_timer_deadline;
    if (lvt_timer_armed(g) && (d == 0 || g->tsc_deadline < d))
        d = g->tsc_deadline;
    return d;
}

void virq_fire_timers(struct guest *g)
{
    uint64_t now = rdtsc();
    if (g->hc_timer_deadline && now >= g->hc_timer_deadline) {
        g->hc_timer_deadline = 0;
        virq_raise(g, g->hc_timer_vector);
    }
    if (lvt_timer_armed(g) && now >= g->tsc_deadline) {
        g->tsc_deadline = 0; /* one shot, as the hardware does */
        uint8_t vector = (uint8_t)(g->lapic_lvt_timer & 0xFF);
        /* Vectors 0-31 are illegal for LVT entries: the APIC drops them
         * (SDM Vol. 3A 11.5.3, "send illegal vector" error). */
        if (vector >= 32)
            virq_raise(g, vector);
    }
}

static int highest_pending(const struct guest *g)
{
    for (int w = 3; w >= 0; w--)
        if (g->pending_irq[w])
            return w * 64 + 63 - __builtin_clzll(g->pending_irq[w]);
    return -1;
}

void virq_deliver(struct guest *g)
{
    struct vcpu *v = &g->vcpu;
    virq_fire_timers(g);
    int vector = highest_pending(g);
    if (vector < 0)
        return;
    if (arch_vcpu_interruptible(v)) {
        struct vcpu_event ev = { .vector = (uint8_t)vector, .type = VEVENT_EXTINT };
        if (arch_vcpu_inject(v, &ev) == 0)
            g->pending_irq[vector / 64] &= ~(1ull << (vector % 64));
    } else {
        /* Also when a re-injected event is queued: the window exit comes
         * right after its delivery, so this one is not left waiting. */
        arch_vcpu_request_intr_window(v, true);
    }
}

void guest_inject_exception(struct guest *g, uint8_t vector, bool has_error, uint32_t error)
{
    struct vcpu_event ev = { .vector = vector, .type = VEVENT_EXCEPTION, .has_error = has_error, .error = error };
    if (arch_vcpu_inject(&g->vcpu, &ev))
        guest_stop(g, true, 0, "exception %u raised while another event was being delivered", vector);
}
