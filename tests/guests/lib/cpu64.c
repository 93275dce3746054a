/* SPDX-License-Identifier: MIT */
/* 64-bit guests: own page tables, IDT, exception and interrupt dispatch. */
#include "guest.h"

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PWT 0x8ull
#define PTE_PCD 0x10ull
#define PTE_PS 0x80ull

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));

/*
 * Identity-map the low 4 GiB with 2 MiB pages, replacing the loader's map
 * (which covers RAM only): the test device at 0xFEB00000 and the "outside
 * RAM" addresses the tests use must be mapped so that an access reaches the
 * hypervisor instead of faulting in the guest. The top GiB is uncached.
 */
void paging_init(void)
{
    for (uint64_t g = 0; g < 4; g++) {
        pdpt[g] = (uintptr_t)pd[g] | PTE_P | PTE_RW;
        for (uint64_t i = 0; i < 512; i++)
            pd[g][i] = (g << 30 | i << 21) | PTE_P | PTE_RW | PTE_PS | (g == 3 ? PTE_PCD | PTE_PWT : 0);
    }
    pml4[0] = (uintptr_t)pdpt | PTE_P | PTE_RW;
    __asm__ __volatile__("mov %0, %%cr3" : : "r"((uintptr_t)pml4) : "memory");
}

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
};

static struct idt_gate idt[256] __attribute__((aligned(16)));
static int_handler handlers[256];
extern const char isr_stubs[]; /* isr.S: 256 stubs, 16 bytes apart */

volatile uint64_t fault_resume;
volatile int fault_vector = -1;
volatile uint64_t fault_error;

void idt_init(void)
{
    for (int v = 0; v < 256; v++) {
        uint64_t a = (uintptr_t)isr_stubs + 16 * v;
        idt[v] = (struct idt_gate){.off_lo = (uint16_t)a, .sel = 0x08 /* start64.S GDT */, .type = 0x8E,
                                   .off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32)};
    }
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {sizeof(idt) - 1, (uintptr_t)idt};
    __asm__ __volatile__("lidt %0" : : "m"(idtr) : "memory");
}

void set_int_handler(unsigned vector, int_handler fn) { handlers[vector & 255] = fn; }

void wait_for(volatile unsigned *flag)
{
    while (!*flag)
        sti_hlt();
    cli();
}

/* Called by isr.S with the saved registers; may change them (e.g. rip). */
void isr_dispatch(struct int_frame *f)
{
    if (handlers[f->vector]) {
        handlers[f->vector](f);
        return;
    }
    if (f->vector < 32 && fault_resume) {
        fault_vector = (int)f->vector;
        fault_error = f->error;
        f->rip = fault_resume;
        fault_resume = 0;
        return;
    }
    if (f->vector >= 32) {
        CHECKF(false, "unexpected interrupt", "vector %lu at rip 0x%lx", f->vector, f->rip);
        lapic_eoi();
        return;
    }
    uint64_t cr2;
    __asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
    CHECKF(false, "unexpected exception", "vector %lu, error 0x%lx, rip 0x%lx, cr2 0x%lx", f->vector, f->error,
           f->rip, cr2);
    tests_finish(1);
}
