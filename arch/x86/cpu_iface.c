/* hv/arch_cpu.h on x86: per-CPU data, the TSC, the LAPIC timer tick and
 * fixed-vector IPIs. */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/trap.h"
#include "arch/x86/tsc.h"
#include "hv/arch_cpu.h"

static uint64_t ns_mult; /* ns = tsc * ns_mult >> 32 */
static void (*tick_handler)(void);

unsigned arch_cpu_id(void) { return this_cpu_id(); }

unsigned arch_cpu_count(void)
{
    unsigned n = 0;
    while (n < cpu_count && cpus[n]->online)
        n++;
    return n;
}

uint64_t arch_cpu_online_mask(void)
{
    unsigned n = arch_cpu_count();
    return n >= 64 ? ~0ull : (1ull << n) - 1;
}

uint64_t arch_time_ns(void)
{
    if (!ns_mult)
        ns_mult = (1000000000ull << 32) / tsc_hz;
    /* 128-bit product: only a multiply and a shift, no libgcc division. */
    return (uint64_t)(((unsigned __int128)rdtsc() * ns_mult) >> 32);
}

static void resched_ipi(struct trap_frame *f)
{
    (void)f;
    this_cpu()->resched = true;
}

void arch_set_tick_handler(void (*fn)(void))
{
    trap_set_irq_handler(VEC_RESCHED, resched_ipi);
    tick_handler = fn;
}

/* Called from the LAPIC timer interrupt (arch/x86/timer.c). */
void arch_tick(void);
void arch_tick(void)
{
    if (tick_handler)
        tick_handler();
}

void arch_cpu_kick(unsigned cpu)
{
    if (cpu >= cpu_count || !cpus[cpu]->online)
        return;
    if (cpu == this_cpu_id()) {
        this_cpu()->resched = true;
        return;
    }
    lapic_send_ipi(cpus[cpu]->apic_id, VEC_RESCHED);
}

bool arch_cpu_take_resched(void)
{
    return __atomic_exchange_n(&this_cpu()->resched, false, __ATOMIC_ACQ_REL);
}

void arch_cpu_idle(void) { cpu_wait_for_interrupt(); }
