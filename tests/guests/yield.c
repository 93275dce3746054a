/* SPDX-License-Identifier: MIT */
/* HC_YIELD in a loop. Two of these pinned to one CPU hand it to each other
 * at every call, so the time per yield is the cost of a vCPU context switch
 * (hypercall, scheduler pick, VMCB/VMCS switch, world switch);
 * bench/switch_cost.py runs that. (The hypervisor counts the vCPU's runs,
 * which shows whether each yield really handed the CPU over.) */
#include "guest.h"

GUEST("yield");

#define YIELDS 20000

int main(void)
{
    uint64_t t0 = rdtsc();
    for (unsigned i = 0; i < YIELDS; i++) {
        long r = hc_yield();
        if (r != 0) {
            CHECK_EQ(r, 0, "HC_YIELD returns 0");
            break;
        }
    }
    printf("yield: %u yields, cycles_per_yield=%lu\n", YIELDS, (rdtsc() - t0) / YIELDS);
    return tests_failed();
}
