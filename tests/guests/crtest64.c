/* SPDX-License-Identifier: MIT */
/* Control registers: CR0/CR4/CR8 writes, CLTS, LMSW, the #GP cases, and
 * paging switched on and off (VT-x intercepts some of these; AMD-V not). */
#include "guest.h"
GUEST("crtest64");

#define GP 13
static int mov_cr0_safe(uint64_t v)
{
    fault_vector = -1;
    __asm__ __volatile__("movq $1f, %[res]\n\tmov %[v], %%cr0\n1:\n\tmovq $0, %[res]" : [res] "=m"(fault_resume) : [v] "r"(v) : "memory");
    return fault_vector;
}
static int mov_cr4_safe(uint64_t v)
{
    fault_vector = -1;
    __asm__ __volatile__("movq $1f, %[res]\n\tmov %[v], %%cr4\n1:\n\tmovq $0, %[res]" : [res] "=m"(fault_resume) : [v] "r"(v) : "memory");
    return fault_vector;
}
static int mov_cr8_safe(uint64_t v)
{
    fault_vector = -1;
    __asm__ __volatile__("movq $1f, %[res]\n\tmov %[v], %%cr8\n1:\n\tmovq $0, %[res]" : [res] "=m"(fault_resume) : [v] "r"(v) : "memory");
    return fault_vector;
}
static uint64_t cr0(void) { uint64_t v; __asm__ __volatile__("mov %%cr0, %0" : "=r"(v)); return v; }
static uint64_t cr4(void) { uint64_t v; __asm__ __volatile__("mov %%cr4, %0" : "=r"(v)); return v; }
static uint64_t cr8(void) { uint64_t v; __asm__ __volatile__("mov %%cr8, %0" : "=r"(v)); return v; }

int main(void)
{
    uint64_t c0 = cr0(), c4 = cr4();
    printf("crtest64: cr0 0x%lx cr4 0x%lx cr8 0x%lx\n", c0, c4, cr8());
    CHECK(!(c4 & (1u << 13)), "CR4.VMXE hidden");
    CHECK((c0 & 0x80000001u) == 0x80000001u, "CR0 PE PG");
    CHECK_EQ(mov_cr0_safe(c0 & ~0x20ull), -1, "clear CR0.NE");
    CHECK_EQ(cr0(), c0 & ~0x20ull, "CR0.NE reads back clear");
    CHECK_EQ(mov_cr0_safe(c0 | 0x20), -1, "set CR0.NE");
    CHECK_EQ(cr0(), c0 | 0x20, "CR0.NE reads back set");
    /* VT-x intercepts CR0.PG and the hypervisor emulates these checks;
     * AMD-V leaves CR0 writes to the CPU, and QEMU TCG's emulated CPU does
     * not raise #GP for them, so there they would test the emulator. */
    if (cpuid(0, 0).ebx == 0x756e6547) { /* "Genu"ineIntel */
        CHECK_EQ(mov_cr0_safe(c0 & ~0x80000000ull), GP, "clearing PG in 64-bit mode: #GP");
        CHECK_EQ(cr0(), c0 | 0x20, "CR0 unchanged");
        CHECK_EQ(mov_cr0_safe((c0 | 0x20) | (1ull << 32)), GP, "CR0 bit 32: #GP");
    } else {
        printf("crtest64: CR0 #GP checks skipped: CR0 writes are not intercepted on AMD-V\n");
    }
    __asm__ __volatile__("mov %0, %%cr0" : : "r"(cr0() | 8));
    CHECK(cr0() & 8, "TS set");
    __asm__ __volatile__("clts");
    CHECK(!(cr0() & 8), "CLTS clears TS");
    uint16_t msw = (uint16_t)(cr0() | 8);
    msw &= ~1;
    __asm__ __volatile__("lmsw %0" : : "r"(msw));
    CHECK((cr0() & 9) == 9, "LMSW sets TS, cannot clear PE");
    __asm__ __volatile__("clts");
    CHECK_EQ(mov_cr4_safe(c4 | (1u << 13)), GP, "set CR4.VMXE: #GP");
    CHECK_EQ(cr4(), c4, "CR4 unchanged");
    CHECK_EQ(mov_cr4_safe(c4 | (1u << 9) | (1u << 10)), -1, "set OSFXSR/OSXMMEXCPT");
    CHECK_EQ(cr4(), c4 | (1u << 9) | (1u << 10), "CR4 reads back");
    CHECK_EQ(mov_cr4_safe(c4 & ~(1ull << 5)), GP, "clear PAE in long mode: #GP");
    CHECK_EQ(mov_cr8_safe(5), -1, "mov to CR8");
    CHECK_EQ(cr8(), 5, "CR8 reads back");
    CHECK_EQ(mov_cr8_safe(16), GP, "CR8 = 16: #GP");
    CHECK_EQ(mov_cr8_safe(0), -1, "CR8 = 0");
    /* registers survive a CR exit */
    uint64_t r12v = 0x1212121212121212ull, out;
    __asm__ __volatile__("mov %1, %%r12\n\tmov %%cr0, %%rax\n\txor $0x20, %%rax\n\tmov %%rax, %%cr0\n\txor $0x20, %%rax\n\tmov %%rax, %%cr0\n\tmov %%r12, %0"
                         : "=r"(out) : "r"(r12v) : "rax", "r12", "memory");
    CHECK_EQ(out, r12v, "registers survive CR exits");
    return tests_failed();
}
