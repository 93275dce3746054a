/* SPDX-License-Identifier: MIT */
/* CPU-share probe for scheduler tests: counts loop iterations during a
 * window of host time that the test device announces to every boot domain
 * alike, so the counts of several probes are proportional to the CPU time
 * each was given over exactly the same span. The window is cut into
 * SUBWINDOWS parts, each reported, so a checker can take medians and ignore
 * a moment when the emulator's host was busy elsewhere. */
#include "guest.h"

GUEST("spin");

#define TESTDEV_REG_WINDOW_START 0x30
#define TESTDEV_REG_WINDOW_END 0x38
#define SUBWINDOWS 10

/* GAP_US in TSC cycles, from the window's length (it is WINDOW_MS). */
#define WINDOW_MS 1000
#define GAP_US 200
static uint64_t gap_cycles(uint64_t start, uint64_t end) { return (end - start) / (WINDOW_MS * 1000 / GAP_US); }

int main(void)
{
    volatile uint64_t *start_reg = (volatile uint64_t *)(TESTDEV_BASE + TESTDEV_REG_WINDOW_START);
    volatile uint64_t *end_reg = (volatile uint64_t *)(TESTDEV_BASE + TESTDEV_REG_WINDOW_END);
    uint64_t start, end;
    while ((start = *start_reg) == 0)
        pause();
    end = *end_reg;
    CHECK(end > start, "the test device announced a window");
    while (rdtsc() < start)
        ;
    /* Iterations measure progress; the TSC, read every 64 iterations, also
     * measures the time this vCPU was on a CPU: consecutive readings close
     * together mean it ran in between, a gap over GAP_US means it was
     * descheduled. The second does not depend on how fast an emulator's
     * host runs each virtual CPU, the first does. */
    uint64_t counts[SUBWINDOWS] = { 0 }, ran[SUBWINDOWS] = { 0 }, n = 0, span = (end - start) / SUBWINDOWS;
    uint64_t gap = gap_cycles(start, end), prev = rdtsc();
    for (unsigned w = 0; w < SUBWINDOWS; w++) {
        uint64_t until = start + (w + 1) * span, k = 0, now;
        do {
            for (unsigned i = 0; i < 64; i++) {
                k++;
                __asm__ __volatile__("" : "+r"(k)); /* keep the loop */
            }
            now = rdtsc();
            if (now - prev < gap)
                ran[w] += now - prev;
            prev = now;
        } while (now < until);
        counts[w] = k;
        n += k;
    }
    for (unsigned w = 0; w < SUBWINDOWS; w++)
        printf("spin: window %u iterations=%lu ran=%lu\n", w, counts[w], ran[w]);
    printf("spin: iterations=%lu\n", n);
    CHECK(n > 0, "made progress");
    return tests_failed();
}
