/* SPDX-License-Identifier: MIT */
/* Misbehaving: an exception with an empty IDT (#GP, #DF, then a triple fault).
 * The hypervisor must stop this guest; reaching the end is a failure. */
#include "guest.h"

GUEST("triple_fault");

int main(void)
{
    printf("triple_fault: loading an IDT with limit 0 and executing int3: the hypervisor must stop this guest\n");
    load_empty_idt();
    __asm__ __volatile__("int3" : : : "memory");
    CHECK(false, "still running");
    return tests_failed();
}
