/* SPDX-License-Identifier: MIT */
/* Exit-cost benchmark: average TSC cycles per exiting operation. */
#include "guest.h"
#include "plinth/version.h"

GUEST("bench");

#define N 10000

#define BENCH(name, op)                                                        \
    do {                                                                       \
        for (unsigned i_ = 0; i_ < 100; i_++) /* warm up */                    \
            op;                                                                \
        uint64_t t0_ = rdtsc();                                                \
        for (unsigned i_ = 0; i_ < N; i_++)                                    \
            op;                                                                \
        printf("bench: " name " cycles_per_op=%lu\n", (rdtsc() - t0_) / N);    \
    } while (0)

int main(void)
{
    volatile uint32_t *magic = (volatile uint32_t *)(TESTDEV_BASE + TESTDEV_REG_MAGIC);

    CHECK_EQ(hc_version(), (PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR, "HC_VERSION");
    CHECK_EQ(*magic, TESTDEV_MAGIC, "test device magic");
    /* The loop around an operation that does not exit: subtracted by
     * bench/exit_cost.py to get the hypervisor's path per exit. */
    BENCH("baseline", __asm__ volatile("nop" ::: "memory"));
    BENCH("cpuid", cpuid(0, 0));
    BENCH("hypercall", hc_version());
    BENCH("portio", outb(UNUSED_PORT, 0));
    BENCH("mmio", (void)*magic);
    return tests_failed();
}
