/* SPDX-License-Identifier: MIT */
/* CPU-share probe for scheduler tests: spins for a fixed span of time
 * (ended by a hypercall timer) and reports how many loop iterations it got,
 * which is proportional to the CPU time the scheduler gave it. */
#include "guest.h"

GUEST("spin");

#define VEC_END 0x40
#define SPIN_NS (400ull * 1000 * 1000)

static volatile unsigned done;

static void on_end(struct int_frame *f)
{
    (void)f;
    done = 1;
    lapic_eoi();
}

int main(void)
{
    set_int_handler(VEC_END, on_end);
    CHECK_EQ(hc_set_timer(SPIN_NS, VEC_END), 0, "HC_SET_TIMER for the spin span");
    uint64_t n = 0;
    sti();
    while (!done)
        n++;
    cli();
    printf("spin: iterations=%lu\n", n);
    CHECK(n > 0, "made progress");
    return tests_failed();
}
