/* Segment descriptors, TSS and IDT gates (SDM Vol. 3A 3.4.5, 7.2.3, 6.14.1). */
#ifndef ARCH_X86_DESC_H
#define ARCH_X86_DESC_H

#include <stdint.h>

#define GDT_NULL 0
#define SEL_KERNEL_CS 0x08
#define SEL_KERNEL_DS 0x10
#define SEL_TSS 0x18      /* 16-byte system descriptor: two GDT slots */
#define GDT_ENTRIES 5

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes (SDM Vol. 3A 7.7)");

struct percpu;
/* Build and load this CPU's GDT and TSS. */
void gdt_load(struct percpu *p);
/* Build the shared IDT (once) and load it on this CPU. */
void idt_init(void);
void idt_load(void);

#endif
