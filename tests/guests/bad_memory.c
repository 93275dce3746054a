/* SPDX-License-Identifier: MIT */
/* Misbehaving: reads guest-physical memory outside RAM and outside any device.
 * The hypervisor must stop this guest; reaching the end is a failure. */
#include "guest.h"

GUEST("bad_memory");

int main(void)
{
    printf("bad_memory: reading gpa 0xC0000000 (no RAM, no device): the hypervisor must stop this guest\n");
    uint32_t v = *(volatile uint32_t *)0xC0000000UL;
    CHECKF(false, "still running", "read returned 0x%x", v);
    return tests_failed();
}
