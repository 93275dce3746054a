/* Time from the TSC (its rate from the start information), and sleeping
 * with HC_SET_TIMER + HLT so an idle dom0 does not hold a CPU. */
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/pvdev.h"

static uint64_t tsc0, khz = 1000000; /* a guess until time_init */
volatile uint64_t timer_ticks;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

void time_init(uint64_t tsc_khz)
{
    tsc0 = rdtsc();
    if (tsc_khz)
        khz = tsc_khz;
}

uint64_t time_ns(void)
{
    uint64_t d = rdtsc() - tsc0;
    return d / khz * 1000000ull + d % khz * 1000000ull / khz;
}

void delay_us(uint64_t us)
{
    uint64_t end = time_ns() + us * 1000;
    while (time_ns() < end)
        __asm__ __volatile__("pause");
}

/* One HLT of at most ns, woken early by any interrupt. Without a timer the
 * hypervisor would stop a halted dom0, so spin if arming fails. */
static void nap(uint64_t ns)
{
    if (ns == 0)
        return;
    pvdev_poll(); /* device requests first: a domU vCPU may wait on us */
    if (hc2(HC_SET_TIMER, ns, TIMER_VECTOR) < 0) {
        delay_us(ns / 1000 ? ns / 1000 : 1);
        return;
    }
    __asm__ __volatile__("sti; hlt; cli" ::: "memory");
    pvdev_poll();
}

void sleep_ms(unsigned ms)
{
    uint64_t end = time_ns() + (uint64_t)ms * 1000000;
    for (uint64_t now; (now = time_ns()) < end;)
        nap(end - now);
}

bool wait_until(bool (*cond)(void *arg), void *arg, uint64_t timeout_us)
{
    uint64_t end = time_ns() + timeout_us * 1000;
    for (;;) {
        if (cond(arg))
            return true;
        uint64_t now = time_ns();
        if (now >= end)
            return cond(arg);
        nap(end - now < 1000000 ? end - now : 1000000);
    }
}
