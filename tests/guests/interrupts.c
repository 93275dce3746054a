/* SPDX-License-Identifier: MIT */
/* Interrupt injection: exactly once, only with IF=1, in the middle of exits. */
#include "guest.h"

GUEST("interrupts");

#define VEC_MAIN 0x40
#define VEC_FIRST 0x41
#define VEC_SECOND 0x42
#define VEC_MASKED 0x43

static volatile unsigned fired[256];

static void on_timer(struct int_frame *f)
{
    fired[f->vector]++;
    lapic_eoi();
}

/* One loop iteration: two exits (port write, CPUID). */
static void exits(unsigned i)
{
    outb(UNUSED_PORT, (uint8_t)i);
    cpuid(0, 0);
}

int main(void)
{
    set_int_handler(VEC_MAIN, on_timer);
    set_int_handler(VEC_FIRST, on_timer);
    set_int_handler(VEC_SECOND, on_timer);
    set_int_handler(VEC_MASKED, on_timer);

    /* 1. A 5 ms timer arrives during a loop of exits with IF=1, exactly once:
     *    keep exiting for 2000 more iterations to catch a re-injection. */
    CHECK_EQ(hc_set_timer(5 * 1000 * 1000, VEC_MAIN), 0, "HC_SET_TIMER 5 ms, vector 0x40");
    uint64_t t0 = rdtsc();
    unsigned i, after = 0;
    sti();
    for (i = 0; i < 5000000 && after < 2000; i++) {
        exits(i);
        if (fired[VEC_MAIN])
            after++;
    }
    cli();
    uint64_t tsc_5ms = rdtsc() - t0;
    printf("interrupts: interrupt after %u loop iterations\n", i - after);
    CHECK_EQ(fired[VEC_MAIN], 1, "exactly one interrupt during a loop of exits");

    /* 2. Two timers in a row, each waited for with HLT. */
    CHECK_EQ(hc_set_timer(2 * 1000 * 1000, VEC_FIRST), 0, "HC_SET_TIMER first");
    wait_for(&fired[VEC_FIRST]);
    CHECK_EQ(hc_set_timer(2 * 1000 * 1000, VEC_SECOND), 0, "HC_SET_TIMER second");
    wait_for(&fired[VEC_SECOND]);
    for (i = 0; i < 1000; i++)
        exits(i);
    CHECK(fired[VEC_FIRST] == 1 && fired[VEC_SECOND] == 1 && fired[VEC_MAIN] == 1,
          "two timers in a row: one interrupt each");

    /* 3. With IF=0 the interrupt waits: a 1 ms timer, then exits for well over
     *    5 ms (TSC measured above); it arrives soon after STI, with no exit needed. */
    CHECK_EQ(hc_set_timer(1000 * 1000, VEC_MASKED), 0, "HC_SET_TIMER 1 ms with IF=0");
    for (uint64_t start = rdtsc(), n = 0; rdtsc() - start < 2 * tsc_5ms; n++)
        exits((unsigned)n);
    CHECK_EQ(fired[VEC_MASKED], 0, "no interrupt while IF=0");
    sti();
    for (i = 0; i < 10000 && !fired[VEC_MASKED]; i++) /* no exits here */
        __asm__ __volatile__("" : : : "memory");
    cli();
    printf("interrupts: pending interrupt taken %u loop iterations after STI\n", i);
    CHECK_EQ(fired[VEC_MASKED], 1, "pending interrupt delivered soon after STI");
    for (i = 0; i < 1000; i++)
        exits(i);
    CHECK_EQ(fired[VEC_MASKED], 1, "and only once");
    return tests_failed();
}
