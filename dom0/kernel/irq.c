/* Physical interrupts routed to dom0 with HC_IRQ_BIND: one vector each. */
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/util.h"

struct irq_slot {
    void (*handler)(void *arg);
    void *arg;
    unsigned gsi;
    bool done;  /* call HC_IRQ_DONE after the handler (level-triggered) */
    bool probe; /* ISA IRQ: trigger unknown; level until HC_IRQ_DONE refuses */
    uint64_t count;
};

static struct irq_slot slots[256];
static uint64_t spurious;

/* A free vector for handler, claimed before the hypervisor is asked to
 * route anything to it (the interrupt may come at once); 0 if none. */
static unsigned claim_vector(void (*handler)(void *arg), void *arg)
{
    for (unsigned v = IRQ_VECTOR_FIRST; v <= IRQ_VECTOR_LAST; v++)
        if (!slots[v].handler) {
            slots[v] = (struct irq_slot){ .handler = handler, .arg = arg };
            return v;
        }
    return 0;
}

int irq_bind(unsigned irq, unsigned flags, void (*handler)(void *arg), void *arg)
{
    if (!handler)
        return -PL_EINVAL;
    unsigned v = claim_vector(handler, arg);
    if (!v)
        return -PL_ENOSPC;
    long rc = hc3(HC_IRQ_BIND, irq, v, flags);
    if (rc < 0) {
        slots[v].handler = NULL;
        kprintf("dom0: irq %u: %s: %s (%ld)\n", irq, hc_name(HC_IRQ_BIND), errno_name(rc), rc);
        return (int)rc;
    }
    slots[v].gsi = (unsigned)rc;
    /* An ISA IRQ's trigger mode is the firmware's choice: treat it as
     * level until the hypervisor says the line needs no HC_IRQ_DONE. */
    slots[v].done = (flags & IRQ_FLAG_LEVEL) || (flags & IRQ_FLAG_ISA);
    slots[v].probe = (flags & IRQ_FLAG_ISA) != 0;
    return 0;
}

int msi_bind(uint16_t bdf, void (*handler)(void *arg), void *arg)
{
    if (!handler)
        return -PL_EINVAL;
    unsigned v = claim_vector(handler, arg);
    if (!v)
        return -PL_ENOSPC;
    long rc = hc2(HC_MSI_BIND, bdf, v);
    if (rc < 0) {
        slots[v].handler = NULL;
        return (int)rc;
    }
    return 0; /* edge-signalled: no HC_IRQ_DONE */
}

void irq_dispatch(unsigned vector)
{
    struct irq_slot *s = &slots[vector & 255];
    if (!s->handler) {
        spurious++;
        return;
    }
    s->count++;
    s->handler(s->arg);
    if (s->done) {
        long rc = hc1(HC_IRQ_DONE, s->gsi);
        if (rc < 0 && s->probe)
            s->done = false; /* edge-triggered after all */
        s->probe = false;
    }
}
