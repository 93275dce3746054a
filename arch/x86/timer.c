#include "arch/x86/timer.h"

#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/trap.h"
#include "arch/x86/tsc.h"
#include "hv/log.h"
#include "hv/panic.h"

#define CALIBRATE_US 10000

static uint64_t lapic_timer_hz; /* after the divide-by-16 */

uint64_t timer_lapic_hz(void) { return lapic_timer_hz; }

void arch_tick(void);

static void timer_tick(struct trap_frame *f)
{
    (void)f;
    this_cpu()->timer_ticks++;
    arch_tick();
}

void timer_calibrate(void)
{
    lapic_timer_set_oneshot_max();
    uint32_t start = lapic_timer_current();
    tsc_delay_us(CALIBRATE_US);
    uint32_t elapsed = start - lapic_timer_current();
    lapic_timer_stop();
    if (elapsed == 0)
        panic("timer: the local APIC timer did not count during calibration");
    lapic_timer_hz = (uint64_t)elapsed * 1000000 / CALIBRATE_US;
    trap_set_irq_handler(VEC_TIMER, timer_tick);
    pr_info("timer: local APIC timer %lu kHz (after divide-by-16)", lapic_timer_hz / 1000);
}

void timer_start_local(unsigned hz)
{
    uint64_t count = lapic_timer_hz / hz;
    if (count == 0 || count > 0xFFFFFFFFu)
        panic("timer: %u Hz is out of range for a %lu Hz APIC timer", hz, lapic_timer_hz);
    lapic_timer_set_periodic(VEC_TIMER, (uint32_t)count);
}
