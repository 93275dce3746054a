/* The IDT: exceptions stop dom0 with a report; the timer vector wakes
 * sleepers; device vectors go to irq.c. */
#include "dom0/kernel/kernel.h"

struct idt_entry {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
extern const char isr_stubs[];

static const char *const exc_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor segment overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization", "#CP control protection",
};

void trap_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)(uintptr_t)(isr_stubs + 16 * v);
        idt[v] = (struct idt_entry){
            .off0 = (uint16_t)a, .sel = 0x08, .ist = 0, .type = 0x8E, /* present, DPL 0, interrupt gate */
            .off1 = (uint16_t)(a >> 16), .off2 = (uint32_t)(a >> 32), .zero = 0,
        };
    }
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ __volatile__("lidt %0" : : "m"(idtr));
}

void dom0_crash(void)
{
    kprintf("dom0: stopping (HC_SHUTDOWN crash)\n");
    hc1(HC_SHUTDOWN, SHUTDOWN_CRASH);
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
    if (f->vector < 32) {
        uint64_t cr2;
        __asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
        const char *name = exc_names[f->vector] ? exc_names[f->vector] : "reserved";
        kprintf("\ndom0: exception %llu (%s), error code 0x%llx, rip 0x%llx, cr2 0x%llx, rsp 0x%llx\n",
                (unsigned long long)f->vector, name, (unsigned long long)f->error,
                (unsigned long long)f->rip, (unsigned long long)cr2, (unsigned long long)f->rsp);
        kprintf("dom0: rax 0x%llx rbx 0x%llx rcx 0x%llx rdx 0x%llx rsi 0x%llx rdi 0x%llx rbp 0x%llx\n",
                (unsigned long long)f->rax, (unsigned long long)f->rbx, (unsigned long long)f->rcx,
                (unsigned long long)f->rdx, (unsigned long long)f->rsi, (unsigned long long)f->rdi,
                (unsigned long long)f->rbp);
        dom0_crash();
    }
    if (f->vector == TIMER_VECTOR) {
        timer_ticks++;
        return;
    }
    if (f->vector == EVTCHN_VECTOR)
        return; /* the work happens in pvdev_poll, after the wake-up */
    irq_dispatch((unsigned)f->vector);
}
