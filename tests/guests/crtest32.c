/* SPDX-License-Identifier: MIT */
/* Control registers from 32-bit protected mode: paging (32-bit and PAE)
 * switched on and off. */
#include "guest.h"
GUEST("crtest32");

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pae_pd[512] __attribute__((aligned(4096)));
static volatile uint32_t probe = 0x1234;

static uint32_t cr0(void) { uint32_t v; __asm__ __volatile__("mov %%cr0, %0" : "=r"(v)); return v; }
static uint32_t cr4(void) { uint32_t v; __asm__ __volatile__("mov %%cr4, %0" : "=r"(v)); return v; }

int main(void)
{
    /* 32-bit paging with 4 MiB pages, identity for the first 64 MiB */
    for (unsigned i = 0; i < 16; i++)
        pd[i] = (i << 22) | 0x83;
    __asm__ __volatile__("mov %0, %%cr3" : : "r"(pd));
    __asm__ __volatile__("mov %0, %%cr4" : : "r"(cr4() | 0x10)); /* PSE */
    __asm__ __volatile__("mov %0, %%cr0" : : "r"(cr0() | 0x80000000u) : "memory");
    CHECK(cr0() & 0x80000000u, "32-bit paging on");
    probe++;
    CHECK_EQ(probe, 0x1235, "memory works with 32-bit paging");
    __asm__ __volatile__("mov %0, %%cr0" : : "r"(cr0() & ~0x80000000u) : "memory");
    CHECK(!(cr0() & 0x80000000u), "paging off again");

    /* PAE paging, 2 MiB pages, first 1 GiB (gpa 0..16 MiB is RAM) */
    for (unsigned i = 0; i < 512; i++)
        pae_pd[i] = ((uint64_t)i << 21) | 0x83;
    pdpt[0] = (uint32_t)pae_pd | 1;
    pdpt[1] = pdpt[2] = pdpt[3] = 0;
    __asm__ __volatile__("mov %0, %%cr3" : : "r"(pdpt));
    __asm__ __volatile__("mov %0, %%cr4" : : "r"(cr4() | 0x20)); /* PAE */
    __asm__ __volatile__("mov %0, %%cr0" : : "r"(cr0() | 0x80000000u) : "memory");
    CHECK(cr0() & 0x80000000u, "PAE paging on");
    probe++;
    CHECK_EQ(probe, 0x1236, "memory works with PAE paging");
    printf("crtest32: cr0 0x%x cr4 0x%x\n", cr0(), cr4());
    __asm__ __volatile__("mov %0, %%cr0" : : "r"(cr0() & ~0x80000000u) : "memory");
    CHECK(!(cr0() & 0x80000000u), "paging off again");
    return tests_failed();
}
