/* I/O APICs: physical interrupt lines (GSIs) routed to the hypervisor, which
 * forwards them to the control domain (hv/irq.c). The hypervisor owns the
 * I/O APICs: every entry starts masked and only lines bound through
 * arch_irq_route are ever unmasked. Register layout: Intel 82093AA I/O APIC
 * datasheet 3.2; ISA IRQ mapping: ACPI 6.4 5.2.12.5 (interrupt source
 * overrides), MPS 1.4 INTI flags. */
#include "arch/x86/apic.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/spinlock.h"
#include "arch/x86/trap.h"
#include "hv/acpi.h"
#include "hv/arch_cpu.h"
#include "hv/log.h"
#include "plinth/errno.h"

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_REDTBL 0x10          /* two 32-bit registers per entry */
#define RTE_MASKED (1u << 16)
#define RTE_LEVEL (1u << 15)
#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_DEST_SHIFT 56               /* physical destination: APIC ID */

#define INTI_POLARITY_MASK 0x3
#define INTI_POLARITY_LOW 0x3
#define INTI_TRIGGER_MASK 0xC
#define INTI_TRIGGER_LEVEL 0xC

/* Host vectors for forwarded lines: VEC_IRQ_BASE + gsi, below the
 * hypervisor's own vectors (arch/x86/trap.h). */
#define VEC_IRQ_BASE 0x30
#define MAX_ROUTED_GSI 0x60   /* vectors 0x30..0x8F; MSIs use 0x90.. (arch/x86/msi.c) */
#define ISA_IRQS 16

struct ioapic {
    volatile uint32_t *regs;
    uint32_t gsi_base, lines;
};

static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static unsigned ioapic_count;
static const struct acpi_info *acpi;
static spinlock_t ioapic_lock = SPINLOCK_INIT;
static void (*route_handler[MAX_ROUTED_GSI])(unsigned gsi);

static uint32_t reg_read(struct ioapic *io, uint32_t reg)
{
    io->regs[IOAPIC_REGSEL / 4] = reg;
    return io->regs[IOAPIC_WINDOW / 4];
}

static void reg_write(struct ioapic *io, uint32_t reg, uint32_t val)
{
    io->regs[IOAPIC_REGSEL / 4] = reg;
    io->regs[IOAPIC_WINDOW / 4] = val;
}

static struct ioapic *ioapic_of(unsigned gsi, unsigned *pin)
{
    for (unsigned i = 0; i < ioapic_count; i++)
        if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].lines) {
            *pin = gsi - ioapics[i].gsi_base;
            return &ioapics[i];
        }
    return NULL;
}

void ioapic_init(const struct acpi_info *info)
{
    acpi = info;
    for (unsigned i = 0; i < info->ioapic_count && ioapic_count < ACPI_MAX_IOAPICS; i++) {
        struct ioapic *io = &ioapics[ioapic_count];
        io->regs = ioremap(info->ioapics[i].address, 4096);
        if (!io->regs) {
            pr_err("ioapic: cannot map the I/O APIC at %#x", info->ioapics[i].address);
            continue;
        }
        io->gsi_base = info->ioapics[i].gsi_base;
        io->lines = ((reg_read(io, IOAPIC_REG_VERSION) >> 16) & 0xFF) + 1;
        for (uint32_t pin = 0; pin < io->lines; pin++) {
            reg_write(io, IOAPIC_REG_REDTBL + 2 * pin, RTE_MASKED);
            reg_write(io, IOAPIC_REG_REDTBL + 2 * pin + 1, 0);
        }
        pr_info("ioapic: %u lines from GSI %u, all masked", io->lines, io->gsi_base);
        ioapic_count++;
    }
}

bool arch_irq_isa_to_gsi(unsigned isa, unsigned *gsi, bool *level, bool *active_low)
{
    if (isa >= ISA_IRQS)
        return false;
    /* ISA default: identity-mapped, edge triggered, active high. */
    *gsi = isa;
    *level = false;
    *active_low = false;
    for (unsigned i = 0; acpi && i < acpi->override_count; i++) {
        const struct acpi_irq_override *o = &acpi->overrides[i];
        if (o->bus != 0 || o->source_irq != isa)
            continue;
        *gsi = o->gsi;
        *level = (o->flags & INTI_TRIGGER_MASK) == INTI_TRIGGER_LEVEL;
        *active_low = (o->flags & INTI_POLARITY_MASK) == INTI_POLARITY_LOW;
    }
    return true;
}

bool arch_irq_gsi_exists(unsigned gsi)
{
    unsigned pin;
    return gsi < MAX_ROUTED_GSI && ioapic_of(gsi, &pin) != NULL;
}

static void forwarded_irq(struct trap_frame *f)
{
    unsigned gsi = (unsigned)f->vector - VEC_IRQ_BASE;
    void (*fn)(unsigned) = gsi < MAX_ROUTED_GSI ? route_handler[gsi] : NULL;
    if (fn)
        fn(gsi);
}

int arch_irq_route(unsigned gsi, bool level, bool active_low, void (*handler)(unsigned gsi))
{
    unsigned pin;
    struct ioapic *io = gsi < MAX_ROUTED_GSI ? ioapic_of(gsi, &pin) : NULL;
    if (!io)
        return -PL_ENOENT;
    uint64_t flags = spin_lock_irqsave(&ioapic_lock);
    route_handler[gsi] = handler;
    trap_set_irq_handler(VEC_IRQ_BASE + gsi, forwarded_irq);
    /* Fixed delivery, physical destination CPU 0 (the housekeeping CPU,
     * always online). */
    uint32_t lo = (VEC_IRQ_BASE + gsi) | (level ? RTE_LEVEL : 0) | (active_low ? RTE_ACTIVE_LOW : 0);
    reg_write(io, IOAPIC_REG_REDTBL + 2 * pin + 1, (uint32_t)cpus[0]->apic_id << (RTE_DEST_SHIFT - 32));
    reg_write(io, IOAPIC_REG_REDTBL + 2 * pin, lo);
    spin_unlock_irqrestore(&ioapic_lock, flags);
    return 0;
}

void arch_irq_mask(unsigned gsi, bool masked)
{
    unsigned pin;
    struct ioapic *io = gsi < MAX_ROUTED_GSI ? ioapic_of(gsi, &pin) : NULL;
    if (!io)
        return;
    uint64_t flags = spin_lock_irqsave(&ioapic_lock);
    uint32_t lo = reg_read(io, IOAPIC_REG_REDTBL + 2 * pin);
    reg_write(io, IOAPIC_REG_REDTBL + 2 * pin, masked ? lo | RTE_MASKED : lo & ~RTE_MASKED);
    spin_unlock_irqrestore(&ioapic_lock, flags);
}

void arch_irq_unroute(unsigned gsi)
{
    arch_irq_mask(gsi, true);
    if (gsi < MAX_ROUTED_GSI)
        __atomic_store_n(&route_handler[gsi], NULL, __ATOMIC_RELEASE);
}
