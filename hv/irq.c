/* Physical interrupts of the control domain's devices: a line bound with
 * HC_IRQ_BIND is routed to the hypervisor, which raises the domain's chosen
 * vector on its vCPU 0. A level-triggered line stays masked from its
 * interrupt until the domain says HC_IRQ_DONE, so a device that keeps its
 * line asserted cannot storm the CPU. */
#include "hv/irq.h"

#include "arch/x86/spinlock.h"
#include "hv/arch_cpu.h"
#include "hv/domain.h"
#include "hv/log.h"
#include "hv/schedule.h"
#include "plinth/errno.h"
#include "plinth/hypercall.h"

#define IRQ_MAX_GSI 160
#define FIRST_EXTERNAL_VECTOR 32

struct irq_binding {
    struct domain *dom;    /* NULL: unbound */
    uint8_t vector;
    bool level;
    bool in_service;       /* level: masked until HC_IRQ_DONE */
    uint64_t count;
};

static struct irq_binding bindings[IRQ_MAX_GSI];
static spinlock_t irq_lock = SPINLOCK_INIT;
static unsigned hv_console_isa_irq = ~0u;

void irq_init(uint16_t console_port)
{
    /* COM1/COM3 use IRQ 4, COM2/COM4 IRQ 3 (PC/AT convention). */
    if (console_port == 0x3F8 || console_port == 0x3E8)
        hv_console_isa_irq = 4;
    else if (console_port == 0x2F8 || console_port == 0x2E8)
        hv_console_isa_irq = 3;
}

static bool hypervisor_owns(unsigned gsi)
{
    unsigned g;
    bool level, low;
    /* The PIT (IRQ 0) and the console UART's line stay with us. */
    if (arch_irq_isa_to_gsi(0, &g, &level, &low) && g == gsi)
        return true;
    if (hv_console_isa_irq != ~0u && arch_irq_isa_to_gsi(hv_console_isa_irq, &g, &level, &low) && g == gsi)
        return true;
    return false;
}

static void line_fired(unsigned gsi)
{
    spin_lock(&irq_lock);
    struct irq_binding *b = &bindings[gsi];
    struct domain *d = b->dom;
    if (!d) {
        spin_unlock(&irq_lock);
        arch_irq_mask(gsi, true); /* stray: nobody wants it */
        return;
    }
    if (b->level) {
        arch_irq_mask(gsi, true);
        b->in_service = true;
    }
    b->count++;
    struct vcpu *v = d->vcpus[0];
    virq_raise(v, b->vector);
    spin_unlock(&irq_lock);
    schedule_notify(v);
}

int64_t irq_bind(struct domain *d, uint64_t line, uint64_t vector, uint64_t flags)
{
    unsigned gsi;
    bool level = flags & IRQ_FLAG_LEVEL, low = flags & IRQ_FLAG_ACTIVE_LOW;
    if (flags & ~(uint64_t)(IRQ_FLAG_LEVEL | IRQ_FLAG_ACTIVE_LOW | IRQ_FLAG_ISA))
        return -PL_EINVAL;
    if (vector != 0 && (vector < FIRST_EXTERNAL_VECTOR || vector > 255))
        return -PL_EINVAL;
    if (flags & IRQ_FLAG_ISA) {
        if (line > UINT32_MAX || !arch_irq_isa_to_gsi((unsigned)line, &gsi, &level, &low))
            return -PL_EINVAL;
    } else {
        if (line >= IRQ_MAX_GSI)
            return -PL_ENOENT;
        gsi = (unsigned)line;
    }
    if (gsi >= IRQ_MAX_GSI || !arch_irq_gsi_exists(gsi))
        return -PL_ENOENT;
    if (hypervisor_owns(gsi))
        return -PL_EBUSY;
    uint64_t irqf = spin_lock_irqsave(&irq_lock);
    struct irq_binding *b = &bindings[gsi];
    int64_t rc = gsi;
    if (b->dom && b->dom != d) {
        rc = -PL_EBUSY;
    } else if (vector == 0) {
        arch_irq_unroute(gsi);
        *b = (struct irq_binding){ 0 };
    } else {
        *b = (struct irq_binding){ .dom = d, .vector = (uint8_t)vector, .level = level };
        if (arch_irq_route(gsi, level, low, line_fired))
            rc = -PL_ENOENT, *b = (struct irq_binding){ 0 };
    }
    spin_unlock_irqrestore(&irq_lock, irqf);
    if (rc >= 0 && vector)
        domain_log(d, "GSI %u (%s, active %s) -> vector %lu", gsi, level ? "level" : "edge", low ? "low" : "high",
                   vector);
    return rc;
}

int64_t irq_done(struct domain *d, uint64_t gsi)
{
    if (gsi >= IRQ_MAX_GSI)
        return -PL_ENOENT;
    uint64_t irqf = spin_lock_irqsave(&irq_lock);
    struct irq_binding *b = &bindings[gsi];
    int64_t rc = 0;
    if (b->dom != d)
        rc = -PL_ENOENT;
    else if (b->level && b->in_service) {
        b->in_service = false;
        arch_irq_mask((unsigned)gsi, false);
    }
    spin_unlock_irqrestore(&irq_lock, irqf);
    return rc;
}

void msi_release_domain(struct domain *d);

void irq_release_domain(struct domain *d)
{
    msi_release_domain(d);
    uint64_t irqf = spin_lock_irqsave(&irq_lock);
    for (unsigned gsi = 0; gsi < IRQ_MAX_GSI; gsi++)
        if (bindings[gsi].dom == d) {
            arch_irq_unroute(gsi);
            bindings[gsi] = (struct irq_binding){ 0 };
        }
    spin_unlock_irqrestore(&irq_lock, irqf);
}

/* ---- MSI ---- */

#define MSI_MAX 32

struct msi_binding {
    struct domain *dom;
    uint16_t bdf;
    uint8_t vector;
    uint64_t count;
};

static struct msi_binding msis[MSI_MAX];

static void msi_fired(unsigned id)
{
    spin_lock(&irq_lock);
    struct msi_binding *m = &msis[id];
    struct vcpu *v = m->dom ? m->dom->vcpus[0] : NULL;
    if (v) {
        m->count++;
        virq_raise(v, m->vector);
    }
    spin_unlock(&irq_lock);
    if (v)
        schedule_notify(v);
}

int64_t msi_bind(struct domain *d, uint64_t bdf, uint64_t vector)
{
    if (bdf > 0xFFFF)
        return -PL_ENOENT;
    if (vector != 0 && (vector < FIRST_EXTERNAL_VECTOR || vector > 255))
        return -PL_EINVAL;
    uint64_t irqf = spin_lock_irqsave(&irq_lock);
    int slot = -1, free_slot = -1;
    for (int i = 0; i < MSI_MAX; i++) {
        if (msis[i].dom && msis[i].bdf == bdf)
            slot = i;
        else if (!msis[i].dom && free_slot < 0)
            free_slot = i;
    }
    int64_t rc = 0;
    if (slot >= 0 && msis[slot].dom != d) {
        rc = -PL_EBUSY;
    } else if (vector == 0) {
        if (slot < 0)
            rc = -PL_ENOENT;
        else
            msis[slot] = (struct msi_binding){ 0 };
    } else if (slot >= 0) {
        msis[slot].vector = (uint8_t)vector; /* re-aimed: same message */
    } else if (free_slot < 0) {
        rc = -PL_ENOSPC;
    } else {
        msis[free_slot] = (struct msi_binding){ .dom = d, .bdf = (uint16_t)bdf, .vector = (uint8_t)vector };
        slot = free_slot;
    }
    spin_unlock_irqrestore(&irq_lock, irqf);
    if (rc)
        return rc;
    if (vector == 0) {
        arch_msi_disable((uint16_t)bdf);
        return 0;
    }
    int hv = arch_msi_enable((uint16_t)bdf, msi_fired, (unsigned)slot);
    if (hv < 0) {
        irqf = spin_lock_irqsave(&irq_lock);
        msis[slot] = (struct msi_binding){ 0 };
        spin_unlock_irqrestore(&irq_lock, irqf);
        return hv;
    }
    domain_log(d, "MSI of %02lx:%02lx.%lx -> vector %lu", bdf >> 8, (bdf >> 3) & 31, bdf & 7, vector);
    return 0;
}

void msi_release_domain(struct domain *d)
{
    for (int i = 0; i < MSI_MAX; i++) {
        uint64_t irqf = spin_lock_irqsave(&irq_lock);
        uint16_t bdf = msis[i].bdf;
        bool mine = msis[i].dom == d;
        if (mine)
            msis[i] = (struct msi_binding){ 0 };
        spin_unlock_irqrestore(&irq_lock, irqf);
        if (mine)
            arch_msi_disable(bdf);
    }
}
