/* SPDX-License-Identifier: MIT */
/* The smallest 32-bit guest: started like a multiboot (v1) kernel. */
#include "guest.h"

GUEST("hello32");

int main(void)
{
    printf("hello from a 32-bit guest (multiboot info at 0x%x)\n", (unsigned)boot_reg_b);
    CHECK_EQ(boot_reg_a, 0x2BADB002, "entry: EAX = multiboot magic");
    CHECK(!(boot_rflags & RFLAGS_IF), "entry: interrupts disabled");
    uint32_t cr0;
    __asm__ __volatile__("mov %%cr0, %0" : "=r"(cr0));
    CHECK((cr0 & 0x80000001u) == 1, "entry: protected mode, paging off");
    return tests_failed();
}
