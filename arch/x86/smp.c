#include "arch/x86/smp.h"

#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/timer.h"
#include "arch/x86/trap.h"
#include "arch/x86/tsc.h"
#include "hv/acpi.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/panic.h"
#include "hv/pmm.h"
#include "hv/string.h"
#include "hv/schedule.h"
#include "hv/vcpu.h"

/* Layout shared with boot/ap_trampoline.asm */
#define TR_PARAMS 0xF00
struct __attribute__((packed)) trampoline_params {
    uint16_t gdt_limit;
    uint32_t gdt_base;
    uint16_t pad0;
    uint32_t pm_offset;
    uint16_t pm_selector;
    uint16_t pad1;
    uint32_t lm_offset;
    uint16_t lm_selector;
    uint16_t pad2;
    uint64_t cr3;
    uint64_t efer;
    uint64_t stack;
    uint64_t entry;
    uint64_t arg;
};
#define TR_GDT_OFFSET 0x40
#define EFER_LME (1ull << 8)
#define REAL_MODE_LIMIT (1ull << 20)
#define KERNEL_STACK_PAGES 4
#define IST_STACK_PAGES 2

/* INIT-SIPI-SIPI timing, SDM Vol. 3A 8.4.4.1 */
#define INIT_DELAY_US 10000
#define SIPI_DELAY_US 200
#define AP_ONLINE_TIMEOUT_US 1000000

extern const uint8_t ap_trampoline_start[], ap_trampoline_end[];
extern uint32_t boot_nx_enabled;

struct percpu *cpus[MAX_CPUS];
unsigned cpu_count;
static uint32_t bsp_apic_id;
static unsigned timer_hz;

unsigned smp_online_count(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < cpu_count; i++)
        if (cpus[i] && cpus[i]->online)
            n++;
    return n;
}

static void ipi_ping(struct trap_frame *f)
{
    (void)f;
    this_cpu()->ipi_pings++;
    lapic_send_ipi(bsp_apic_id, VEC_IPI_PONG);
}

static void ipi_pong(struct trap_frame *f)
{
    (void)f;
    this_cpu()->ipi_pongs++;
}

NORETURN static void ap_main(struct percpu *p)
{
    percpu_install(p);
    gdt_load(p);
    idt_load();
    lapic_init_ap();
    if (lapic_id() != p->apic_id)
        pr_warn("smp: cpu%u expected APIC id %u, has %u", p->cpu_id, p->apic_id, lapic_id());
    timer_start_local(timer_hz);
    /* -PL_ENOSYS when no backend was chosen: nothing to enable. */
    p->virt_on = arch_virt_enable_cpu() == 0;
    __atomic_store_n(&p->online, true, __ATOMIC_RELEASE);
    pr_debug("smp: cpu%u online (APIC id %u)", p->cpu_id, p->apic_id);
    irq_enable();
    /* Idles until the scheduler starts, then runs vCPUs for good. */
    schedule_loop(NULL, NULL);
    panic("smp: cpu%u left its scheduling loop", p->cpu_id);
}

static struct percpu *percpu_create(unsigned id, uint32_t apic_id)
{
    struct percpu *p = kmalloc(sizeof(*p));
    if (!p)
        panic("smp: out of memory for cpu%u", id);
    p->cpu_id = id;
    p->apic_id = apic_id;
    p->stack_top = stack_alloc(KERNEL_STACK_PAGES);
    for (int i = 0; i < IST_COUNT; i++)
        p->ist_top[i] = stack_alloc(IST_STACK_PAGES);
    return p;
}

static bool start_ap(uint8_t *page, uint64_t page_phys, struct percpu *p)
{
    struct trampoline_params *tp = (struct trampoline_params *)(page + TR_PARAMS);
    const struct trampoline_params *orig = (const struct trampoline_params *)(ap_trampoline_start + TR_PARAMS);
    tp->gdt_base = (uint32_t)(page_phys + TR_PARAMS + TR_GDT_OFFSET);
    tp->pm_offset = (uint32_t)(page_phys + orig->pm_offset);
    tp->lm_offset = (uint32_t)(page_phys + orig->lm_offset);
    tp->cr3 = paging_root();
    tp->efer = EFER_LME | (boot_nx_enabled ? EFER_NXE : 0);
    tp->stack = p->stack_top;
    tp->entry = (uint64_t)ap_main;
    tp->arg = (uint64_t)p;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    uint8_t vector = (uint8_t)(page_phys >> 12);
    lapic_send_init(p->apic_id);
    tsc_delay_us(INIT_DELAY_US);
    for (int attempt = 0; attempt < 2; attempt++) {
        lapic_send_startup(p->apic_id, vector);
        tsc_delay_us(SIPI_DELAY_US);
        if (__atomic_load_n(&p->online, __ATOMIC_ACQUIRE))
            return true;
    }
    uint64_t deadline = rdtsc() + tsc_us_to_cycles(AP_ONLINE_TIMEOUT_US);
    while (rdtsc() < deadline) {
        if (__atomic_load_n(&p->online, __ATOMIC_ACQUIRE))
            return true;
        cpu_relax();
    }
    return false;
}

unsigned smp_boot(const struct acpi_info *acpi, unsigned max_cpus, unsigned hz)
{
    timer_hz = hz;
    bsp_apic_id = this_cpu()->apic_id;
    trap_set_irq_handler(VEC_IPI_PING, ipi_ping);
    trap_set_irq_handler(VEC_IPI_PONG, ipi_pong);

    size_t tr_size = (size_t)(ap_trampoline_end - ap_trampoline_start);
    if (tr_size > PAGE_SIZE)
        panic("smp: trampoline is %zu bytes, more than a page", tr_size);

    unsigned wanted = 0;
    for (unsigned i = 0; i < acpi->cpu_count; i++)
        if (acpi->cpus[i].enabled && acpi->cpus[i].apic_id != bsp_apic_id)
            wanted++;
    if (wanted == 0)
        return 1;

    uint64_t page_phys = mm_alloc(PMM_4K, REAL_MODE_LIMIT);
    if (page_phys == PMM_NO_FRAME || page_phys == 0) {
        pr_err("smp: no free page below 1 MiB for the AP trampoline; running on the BSP only");
        return 1;
    }
    uint8_t *page = phys_to_virt(page_phys);
    memcpy(page, ap_trampoline_start, tr_size);
    paging_map_identity(page_phys);

    for (unsigned i = 0; i < acpi->cpu_count; i++) {
        const struct acpi_cpu *c = &acpi->cpus[i];
        if (!c->enabled || c->apic_id == bsp_apic_id)
            continue;
        if (cpu_count >= max_cpus || cpu_count >= MAX_CPUS) {
            pr_warn("smp: not starting APIC id %u: limit of %u CPUs (maxcpus= or MAX_CPUS)", c->apic_id,
                    MIN(max_cpus, (unsigned)MAX_CPUS));
            continue;
        }
        if (c->apic_id > 0xFE && !lapic_x2apic_mode()) {
            pr_warn("smp: not starting APIC id %u: needs x2APIC mode", c->apic_id);
            continue;
        }
        struct percpu *p = percpu_create(cpu_count, c->apic_id);
        cpus[cpu_count++] = p;
        if (!start_ap(page, page_phys, p))
            pr_err("smp: cpu%u (APIC id %u) did not come online", p->cpu_id, p->apic_id);
    }

    paging_unmap_identity(page_phys);
    mm_free(page_phys, PMM_4K);
    return smp_online_count();
}

unsigned smp_ipi_selftest(uint64_t timeout_us)
{
    unsigned answered = 0;
    for (unsigned i = 1; i < cpu_count; i++) {
        struct percpu *p = cpus[i];
        if (!p->online)
            continue;
        uint64_t before = this_cpu()->ipi_pongs;
        uint64_t pings_before = p->ipi_pings;
        lapic_send_ipi(p->apic_id, VEC_IPI_PING);
        uint64_t deadline = rdtsc() + tsc_us_to_cycles(timeout_us);
        while (rdtsc() < deadline && this_cpu()->ipi_pongs == before)
            cpu_relax();
        if (this_cpu()->ipi_pongs != before && p->ipi_pings == pings_before + 1)
            answered++;
        else
            pr_err("smp: cpu%u did not answer an IPI", p->cpu_id);
    }
    return answered;
}

unsigned smp_timer_selftest(uint64_t min_ticks, uint64_t timeout_us)
{
    uint64_t start[MAX_CPUS];
    for (unsigned i = 0; i < cpu_count; i++)
        start[i] = cpus[i]->timer_ticks;
    uint64_t deadline = rdtsc() + tsc_us_to_cycles(timeout_us);
    unsigned ok = 0;
    while (rdtsc() < deadline) {
        ok = 0;
        for (unsigned i = 0; i < cpu_count; i++)
            if (cpus[i]->online && cpus[i]->timer_ticks - start[i] >= min_ticks)
                ok++;
        if (ok == smp_online_count())
            break;
        cpu_relax();
    }
    for (unsigned i = 0; i < cpu_count; i++)
        if (cpus[i]->online && cpus[i]->timer_ticks - start[i] < min_ticks)
            pr_err("smp: cpu%u timer ticked %lu times, expected %lu", i, cpus[i]->timer_ticks - start[i],
                   min_ticks);
    return ok;
}
