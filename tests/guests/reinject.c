/* SPDX-License-Identifier: MIT */
/* Re-injection of events whose delivery caused an exit. The guest asks the
 * test device to write-protect its own stack page in the second-level
 * tables; the CPU's push of the interrupt frame then exits, the hypervisor
 * lifts the protection, and must deliver the interrupted event again. If it
 * did not, the interrupt would be lost. */
#include "guest.h"

GUEST("reinject");

#define VEC_TIMER 0x50
#define TESTDEV_REG_WP_ARM 0x18
#define TESTDEV_REG_WP_HITS 0x20

static volatile unsigned timer_count, breakpoint_count;

static void on_timer(struct int_frame *f)
{
    (void)f;
    timer_count++;
    lapic_eoi();
}

static void on_breakpoint(struct int_frame *f)
{
    (void)f;
    breakpoint_count++;
}

static uint32_t wp_hits(void) { return *(volatile uint32_t *)(TESTDEV_BASE + TESTDEV_REG_WP_HITS); }

static uint64_t stack_page_below(void)
{
    uint64_t rsp;
    __asm__ __volatile__("mov %%rsp, %0" : "=r"(rsp));
    return (rsp - 256) & ~0xFFFul;
}

int main(void)
{
    set_int_handler(VEC_TIMER, on_timer);
    set_int_handler(3, on_breakpoint);
    volatile uint64_t *arm = (volatile uint64_t *)(TESTDEV_BASE + TESTDEV_REG_WP_ARM);

    /* 1. External interrupt: nothing but the frame push writes the
     *    protected page between arming it and the interrupt. */
    uint32_t hits0 = wp_hits();
    uint64_t page = stack_page_below();
    CHECK_EQ(hc_set_timer(2 * 1000 * 1000, VEC_TIMER), 0, "HC_SET_TIMER 2 ms");
    /* Bounded wait (registers only), so a lost interrupt fails the check
     * below instead of hanging the guest. */
    uint64_t spins = 20 * 1000 * 1000;
    __asm__ __volatile__("movq %[page], (%[arm])\n\t"
                         "sti\n"
                         "1: pause\n\t"
                         "cmpl $0, %[count]\n\t"
                         "jne 2f\n\t"
                         "dec %[spins]\n\t"
                         "jnz 1b\n"
                         "2: cli"
                         : [spins] "+r"(spins)
                         : [page] "r"(page), [arm] "r"(arm), [count] "m"(timer_count)
                         : "memory", "cc");
    CHECK_EQ(wp_hits() - hits0, 1, "the interrupt frame push exited (stack write-protected)");
    CHECK_EQ(timer_count, 1, "the interrupted external interrupt was delivered exactly once");

    /* 2. INT3: its delivery exits the same way; it must run once (the
     *    instruction re-executes or the event is re-injected, not both). */
    hits0 = wp_hits();
    page = stack_page_below();
    __asm__ __volatile__("movq %[page], (%[arm])\n\t"
                         "int3"
                         :
                         : [page] "r"(page), [arm] "r"(arm)
                         : "memory");
    CHECK_EQ(wp_hits() - hits0, 1, "the breakpoint frame push exited (stack write-protected)");
    CHECK_EQ(breakpoint_count, 1, "the interrupted breakpoint was delivered exactly once");

    for (unsigned i = 0; i < 1000; i++)
        cpuid(0, 0);
    CHECK(timer_count == 1 && breakpoint_count == 1, "no duplicate delivery afterwards");
    return tests_failed();
}
