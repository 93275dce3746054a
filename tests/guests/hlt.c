/* SPDX-License-Identifier: MIT */
/* HLT and the virtual timers: HC_SET_TIMER, its cancellation, the x2APIC
 * TSC-deadline timer. */
#include "guest.h"

GUEST("hlt");

#define VEC_HC 0x30
#define VEC_CANCELLED 0x31
#define VEC_BOUND 0x32
#define VEC_LAPIC 0x33

static volatile unsigned fired[256];
static volatile uint64_t fired_tsc[256];

static void on_timer(struct int_frame *f)
{
    fired_tsc[f->vector] = rdtsc();
    fired[f->vector]++;
    lapic_eoi();
}

int main(void)
{
    set_int_handler(VEC_HC, on_timer);
    set_int_handler(VEC_CANCELLED, on_timer);
    set_int_handler(VEC_BOUND, on_timer);
    set_int_handler(VEC_LAPIC, on_timer);

    /* 1. HC_SET_TIMER(20 ms) then one HLT: it must return only after the interrupt. */
    uint64_t t0 = rdtsc();
    CHECK_EQ(hc_set_timer(20 * 1000 * 1000, VEC_HC), 0, "HC_SET_TIMER 20 ms");
    sti_hlt();
    cli();
    uint64_t t1 = rdtsc();
    CHECK_EQ(fired[VEC_HC], 1, "HLT returned after the timer interrupt");
    wait_for(&fired[VEC_HC]); /* in case HLT returned early */
    uint64_t tsc_20ms = fired_tsc[VEC_HC] - t0;
    printf("hlt: 20 ms timer: interrupt after %lu TSC cycles, HLT returned after %lu\n", tsc_20ms, t1 - t0);
    if (tsc_20ms < 1000)
        tsc_20ms = 100 * 1000 * 1000; /* implausible: assume 5 GHz */

    /* 2. A cancelled timer (ns = 0) stays silent for twice its delay, measured with
     *    the TSC; then a second timer bounds the wait and must be the only one seen. */
    /* Both calls back to back: printing the first result would take exits,
     * and on a slow emulator 10 ms can pass before the cancel. */
    long set_rc = hc_set_timer(10 * 1000 * 1000, VEC_CANCELLED);
    long cancel_rc = hc_set_timer(0, VEC_CANCELLED);
    CHECK_EQ(set_rc, 0, "HC_SET_TIMER 10 ms");
    CHECK_EQ(cancel_rc, 0, "HC_SET_TIMER 0 cancels");
    sti();
    for (uint64_t start = rdtsc(); rdtsc() - start < 2 * tsc_20ms;)
        pause();
    cli();
    CHECK_EQ(fired[VEC_CANCELLED], 0, "cancelled timer did not fire within 40 ms");
    CHECK_EQ(hc_set_timer(5 * 1000 * 1000, VEC_BOUND), 0, "HC_SET_TIMER 5 ms after a cancel");
    wait_for(&fired[VEC_BOUND]);
    CHECK(fired[VEC_BOUND] == 1 && fired[VEC_CANCELLED] == 0, "only the second timer fired");

    /* 3. x2APIC LVT timer in TSC-deadline mode, about 10 ms ahead. */
    CHECK_EQ(wrmsr_safe(MSR_X2APIC_SVR, 0x1ff), -1, "enable the x2APIC (SVR)");
    CHECK_EQ(wrmsr_safe(MSR_X2APIC_TPR, 0), -1, "x2APIC TPR = 0");
    CHECK_EQ(wrmsr_safe(MSR_X2APIC_LVT_TIMER, LVT_TSC_DEADLINE | VEC_LAPIC), -1, "LVT timer: TSC-deadline mode");
    uint64_t deadline = rdtsc() + tsc_20ms / 2;
    CHECK_EQ(wrmsr_safe(MSR_TSC_DEADLINE, deadline), -1, "write IA32_TSC_DEADLINE");
    sti_hlt();
    cli();
    CHECK_EQ(fired[VEC_LAPIC], 1, "HLT returned after the TSC-deadline interrupt");
    wait_for(&fired[VEC_LAPIC]);
    CHECKF(fired_tsc[VEC_LAPIC] >= deadline, "TSC-deadline interrupt not early", "TSC 0x%lx, deadline 0x%lx",
           fired_tsc[VEC_LAPIC], deadline);
    wrmsr(MSR_X2APIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC);
    return tests_failed();
}
