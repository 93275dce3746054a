#include "arch/x86/apic.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpufeature.h"
#include "arch/x86/paging.h"
#include "arch/x86/trap.h"
#include "hv/log.h"
#include "hv/panic.h"

/* Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16),
 * SDM Vol. 3A table 11-1 and 11-6. */
#define APIC_ID 0x20
#define APIC_EOI 0xB0
#define APIC_SVR 0xF0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3E0
#define APIC_TPR 0x80
#define X2APIC_MSR_BASE 0x800

#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_ADDR_MASK 0xFFFFFFFFFF000ull
#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_DELIVERY_NMI (4u << 8)
#define TIMER_DIV_16 0x3
#define ICR_FIXED (0u << 8)
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_POLL_LIMIT 10000000u

static bool x2apic;
static volatile uint32_t *mmio;

static uint32_t apic_read(uint32_t reg)
{
    if (x2apic)
        return (uint32_t)rdmsr(X2APIC_MSR_BASE + reg / 16);
    return mmio[reg / 4];
}

static void apic_write(uint32_t reg, uint32_t v)
{
    if (x2apic)
        wrmsr(X2APIC_MSR_BASE + reg / 16, v);
    else
        mmio[reg / 4] = v;
}

bool lapic_x2apic_mode(void) { return x2apic; }

uint32_t lapic_id(void)
{
    if (x2apic)
        return (uint32_t)rdmsr(X2APIC_MSR_BASE + APIC_ID / 16);
    return mmio[APIC_ID / 4] >> 24;
}

void lapic_eoi(void) { apic_write(APIC_EOI, 0); }

static void lapic_enable_here(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    base |= APIC_BASE_EN;
    wrmsr(MSR_APIC_BASE, base);
    if (x2apic) /* xAPIC -> x2APIC must go through enabled xAPIC (SDM 11.12.5) */
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
    apic_write(APIC_TPR, 0);
    apic_write(APIC_LVT_TIMER, LVT_MASKED);
    apic_write(APIC_LVT_ERROR, LVT_MASKED);
    apic_write(APIC_LVT_LINT0, LVT_MASKED);
    apic_write(APIC_LVT_LINT1, LVT_DELIVERY_NMI); /* LINT1 is NMI on PCs (MP spec 5.1) */
    apic_write(APIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
}

void lapic_init_bsp(uint64_t lapic_phys, bool want_x2apic)
{
    x2apic = want_x2apic && cpu_features.x2apic;
    if (!x2apic) {
        uint64_t msr_base = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK;
        if (msr_base != lapic_phys)
            pr_warn("apic: MADT says LAPIC at %#lx, APIC_BASE MSR says %#lx; using the MSR", lapic_phys,
                    msr_base);
        if (rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD)
            panic("apic: firmware left x2APIC on and x2apic=off was asked; cannot go back to xAPIC");
        mmio = ioremap(msr_base, 4096);
        if (!mmio)
            panic("apic: cannot map the local APIC at %#lx", msr_base);
    }
    lapic_enable_here();
    pr_info("apic: local APIC in %s mode, BSP APIC id %u", x2apic ? "x2APIC" : "xAPIC", lapic_id());
}

void lapic_init_ap(void) { lapic_enable_here(); }

static void icr_wait_idle(void)
{
    if (x2apic)
        return; /* x2APIC ICR writes are not pending-tracked (SDM 11.12.9) */
    for (uint32_t i = 0; i < ICR_POLL_LIMIT; i++) {
        if (!(mmio[APIC_ICR_LO / 4] & ICR_DELIVERY_PENDING))
            return;
        cpu_relax();
    }
    pr_warn("apic: IPI delivery still pending after %u polls", ICR_POLL_LIMIT);
}

static void icr_send(uint32_t dest, uint32_t low)
{
    icr_wait_idle();
    if (x2apic) {
        wrmsr(X2APIC_MSR_BASE + APIC_ICR_LO / 16, ((uint64_t)dest << 32) | low);
    } else {
        mmio[APIC_ICR_HI / 4] = dest << 24;
        mmio[APIC_ICR_LO / 4] = low;
    }
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector) { icr_send(apic_id, ICR_FIXED | ICR_LEVEL_ASSERT | vector); }
void lapic_send_init(uint32_t apic_id) { icr_send(apic_id, ICR_INIT | ICR_LEVEL_ASSERT); }
void lapic_send_startup(uint32_t apic_id, uint8_t page) { icr_send(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | page); }

void lapic_stop_other_cpus(void)
{
    if (!x2apic && !mmio)
        return; /* APIC not up yet: no other CPU is running either */
    icr_send(0, ICR_NMI | ICR_LEVEL_ASSERT | ICR_ALL_BUT_SELF);
}

void lapic_timer_set_periodic(uint8_t vector, uint32_t initial_count)
{
    apic_write(APIC_TIMER_DIV, TIMER_DIV_16);
    apic_write(APIC_LVT_TIMER, LVT_TIMER_PERIODIC | vector);
    apic_write(APIC_TIMER_INIT, initial_count);
}

void lapic_timer_set_oneshot_max(void)
{
    apic_write(APIC_TIMER_DIV, TIMER_DIV_16);
    apic_write(APIC_LVT_TIMER, LVT_MASKED);
    apic_write(APIC_TIMER_INIT, 0xFFFFFFFFu);
}

uint32_t lapic_timer_current(void) { return apic_read(APIC_TIMER_CUR); }

void lapic_timer_stop(void)
{
    apic_write(APIC_LVT_TIMER, LVT_MASKED);
    apic_write(APIC_TIMER_INIT, 0);
}
