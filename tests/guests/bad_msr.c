/* SPDX-License-Identifier: MIT */
/* Misbehaving: reads an unknown MSR with no IDT, so its #GP becomes a triple
 * fault. The hypervisor must stop this guest; reaching the end is a failure. */
#include "guest.h"

GUEST("bad_msr");

int main(void)
{
    printf("bad_msr: reading MSR 0x12345678 with an empty IDT: the hypervisor must stop this guest\n");
    load_empty_idt();
    uint64_t v = rdmsr(0x12345678);
    CHECKF(false, "still running", "rdmsr returned 0x%lx", v);
    return tests_failed();
}
