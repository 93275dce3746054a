/* SPDX-License-Identifier: MIT */
/* MMIO emulation with the test device at 0xFEB00000: sizes, slices, instruction forms. */
#include "guest.h"

GUEST("mmio");

#define REG(type, off) (*(volatile type *)(TESTDEV_BASE + (off)))
#define SCRATCH(type, off) REG(type, TESTDEV_REG_SCRATCH + (off))

/* Code rewritten in place between calls: the hypervisor remembers the
 * instructions it fetched for emulation (hv/vcpu_fetch.c) and must see the
 * new bytes at the same RIP. */
static uint8_t stub[16] __attribute__((aligned(16)));
static const uint8_t load32[] = { 0x8B, 0x07, 0xC3 };             /* mov (%rdi), %eax; ret */
static const uint8_t load8[] = { 0x0F, 0xB6, 0x47, 0x01, 0xC3 };  /* movzbl 1(%rdi), %eax; ret */

static uint32_t run_stub(const uint8_t *code, unsigned len, volatile void *reg)
{
    for (unsigned i = 0; i < len; i++)
        ((volatile uint8_t *)stub)[i] = code[i];
    uint32_t (*fn)(volatile void *) = (uint32_t (*)(volatile void *))(uintptr_t)stub;
    return fn(reg);
}

int main(void)
{
    CHECK_EQ(REG(uint32_t, TESTDEV_REG_MAGIC), TESTDEV_MAGIC, "32-bit read of the magic");

    SCRATCH(uint64_t, 0) = 0x1122334455667788ull;
    CHECK_EQ(SCRATCH(uint64_t, 0), 0x1122334455667788ull, "scratch: 8-byte write, 8-byte read");
    CHECK_EQ(SCRATCH(uint32_t, 0), 0x55667788u, "scratch: 4-byte read at +0");
    CHECK_EQ(SCRATCH(uint32_t, 4), 0x11223344u, "scratch: 4-byte read at +4");
    CHECK_EQ(SCRATCH(uint16_t, 2), 0x5566u, "scratch: 2-byte read at +2");
    CHECK_EQ(SCRATCH(uint8_t, 7), 0x11u, "scratch: 1-byte read at +7");
    SCRATCH(uint8_t, 1) = 0xAB;
    CHECK_EQ(SCRATCH(uint64_t, 0), 0x112233445566AB88ull, "scratch: 1-byte write at +1");
    SCRATCH(uint16_t, 6) = 0xBEEF;
    CHECK_EQ(SCRATCH(uint64_t, 0), 0xBEEF33445566AB88ull, "scratch: 2-byte write at +6");
    SCRATCH(uint32_t, 0) = 0xDEADBEEF;
    CHECK_EQ(SCRATCH(uint64_t, 0), 0xBEEF3344DEADBEEFull, "scratch: 4-byte write at +0");

    /* Exact instruction forms: immediate stores (C6, C7, REX.W C7 sign-extended)
     * and zero-extending loads (MOVZX). */
    volatile void *s = (volatile void *)(TESTDEV_BASE + TESTDEV_REG_SCRATCH);
    uint32_t b, w;
    __asm__ __volatile__("movq $-2, (%0)" : : "r"(s) : "memory");
    CHECK_EQ(SCRATCH(uint64_t, 0), 0xFFFFFFFFFFFFFFFEull, "movq $imm32 (sign-extended) store");
    __asm__ __volatile__("movl $0xCAFEF00D, (%0)" : : "r"(s) : "memory");
    CHECK_EQ(SCRATCH(uint64_t, 0), 0xFFFFFFFFCAFEF00Dull, "movl $imm32 store");
    __asm__ __volatile__("movb $0x5A, 3(%0)" : : "r"(s) : "memory");
    CHECK_EQ(SCRATCH(uint64_t, 0), 0xFFFFFFFF5AFEF00Dull, "movb $imm8 store");
    __asm__ __volatile__("movw $0x1234, 4(%0)" : : "r"(s) : "memory");
    CHECK_EQ(SCRATCH(uint64_t, 0), 0xFFFF12345AFEF00Dull, "movw $imm16 store");
    b = 0xFFFFFFFF;
    __asm__ __volatile__("movzbl 3(%1), %0" : "+r"(b) : "r"(s) : "memory");
    CHECK_EQ(b, 0x5A, "movzbl load");
    w = 0xFFFFFFFF;
    __asm__ __volatile__("movzwl 4(%1), %0" : "+r"(w) : "r"(s) : "memory");
    CHECK_EQ(w, 0x1234, "movzwl load");

    SCRATCH(uint32_t, 0) = 0xA1B2C3D4;
    CHECK_EQ(run_stub(load32, sizeof(load32), s), 0xA1B2C3D4u, "rewritten code: a 32-bit load");
    CHECK_EQ(run_stub(load32, sizeof(load32), s), 0xA1B2C3D4u, "rewritten code: the same load again");
    CHECK_EQ(run_stub(load8, sizeof(load8), s), 0xC3u, "rewritten code: a byte load at the same RIP");
    CHECK_EQ(run_stub(load32, sizeof(load32), s), 0xA1B2C3D4u, "rewritten code: the 32-bit load once more");

    /* Between two count reads: 10 magic reads, so the count grows by 11
     * whether or not a count read counts itself. */
    uint32_t count0 = REG(uint32_t, TESTDEV_REG_COUNT);
    for (int i = 0; i < 10; i++)
        (void)REG(uint32_t, TESTDEV_REG_MAGIC);
    uint32_t count1 = REG(uint32_t, TESTDEV_REG_COUNT);
    printf("mmio: access count %u -> %u\n", count0, count1);
    CHECK_EQ(count1 - count0, 11, "access count grows by one per access");
    return tests_failed();
}
