#include "arch/x86/desc.h"
#include "arch/x86/percpu.h"

/* 64-bit interrupt gate, SDM Vol. 3A 6.14.1 */
struct __attribute__((packed)) idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
};

#define GATE_INTERRUPT 0x8E /* present, DPL0, 64-bit interrupt gate */

extern const uint64_t isr_stub_table[256];
static struct idt_gate idt[256] __attribute__((aligned(16)));

static unsigned ist_for_vector(unsigned v)
{
    /* NMI, #DF and #MC can arrive on a broken stack: give them their own. */
    switch (v) {
    case 2: return IST_NMI;
    case 8: return IST_DF;
    case 18: return IST_MC;
    default: return 0;
    }
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = isr_stub_table[v];
        idt[v] = (struct idt_gate){
            .offset_lo = a & 0xFFFF,
            .selector = SEL_KERNEL_CS,
            .ist = (uint8_t)ist_for_vector(v),
            .type_attr = GATE_INTERRUPT,
            .offset_mid = (a >> 16) & 0xFFFF,
            .offset_hi = (uint32_t)(a >> 32),
        };
    }
}

void idt_load(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" ::"m"(idtr));
}
