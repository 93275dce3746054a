#include "arch/x86/desc.h"
#include "arch/x86/percpu.h"
#include "hv/string.h"

/* Descriptor bits, SDM Vol. 3A 3.4.5 */
#define DESC_CODE64 0x00209A0000000000ull /* P, DPL0, code exec/read, L */
#define DESC_DATA 0x0000920000000000ull   /* P, DPL0, data read/write */
#define DESC_TSS_AVAIL 0x9ull             /* 64-bit TSS (available) */

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};

void gdt_load(struct percpu *p)
{
    uint64_t base = (uint64_t)&p->tss;
    uint64_t limit = sizeof(p->tss) - 1;

    memset(&p->tss, 0, sizeof(p->tss));
    for (int i = 0; i < IST_COUNT; i++)
        p->tss.ist[i] = p->ist_top[i];
    p->tss.rsp[0] = p->stack_top;
    /* No I/O permission bitmap: the offset points past the TSS limit. */
    p->tss.iomap_base = sizeof(p->tss);

    p->gdt[0] = 0;
    p->gdt[SEL_KERNEL_CS / 8] = DESC_CODE64;
    p->gdt[SEL_KERNEL_DS / 8] = DESC_DATA;
    p->gdt[SEL_TSS / 8] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (DESC_TSS_AVAIL << 40) |
                          (1ull << 47) | (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    p->gdt[SEL_TSS / 8 + 1] = base >> 32;

    struct desc_ptr gdtr = { sizeof(p->gdt) - 1, (uint64_t)p->gdt };
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movw %w2, %%ax\n\t"
                     "movw %%ax, %%ds\n\t"
                     "movw %%ax, %%es\n\t"
                     "movw %%ax, %%ss\n\t"
                     "ltr %w3"
                     :
                     : "m"(gdtr), "i"(SEL_KERNEL_CS), "r"(SEL_KERNEL_DS), "r"(SEL_TSS)
                     : "rax", "memory");
}

void percpu_install(struct percpu *p)
{
    p->self = p;
    /* Reloading segment registers would clear GS's hidden base; set it after. */
    __asm__ volatile("wrmsr" ::"c"(0xC0000101u), "a"((uint32_t)(uint64_t)p), "d"((uint32_t)((uint64_t)p >> 32)));
}
