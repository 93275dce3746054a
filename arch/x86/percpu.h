/* Per-CPU data, reached through the GS base (set once per CPU at bring-up). */
#ifndef ARCH_X86_PERCPU_H
#define ARCH_X86_PERCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/desc.h"

#define MAX_CPUS 64
#define IST_NMI 1
#define IST_DF 2
#define IST_MC 3
#define IST_COUNT 3

struct percpu {
    struct percpu *self;       /* must stay at offset 0: this_cpu() */
    uint32_t cpu_id;           /* must stay at offset 8: this_cpu_id() */
    uint32_t apic_id;
    volatile bool online;
    uint64_t stack_top;        /* kernel stack (the BSP keeps its boot stack) */
    uint64_t ist_top[IST_COUNT];
    volatile uint64_t timer_ticks;
    volatile uint64_t ipi_pings;   /* pings received from other CPUs */
    volatile uint64_t ipi_pongs;   /* answers received to our pings */
    void *virt_cpu;            /* virtualization backend per-CPU state */
    bool virt_on;              /* VMX root / SVM enabled on this CPU */
    volatile bool resched;     /* the scheduler must pick again (hv/schedule.c) */
    uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
    struct tss tss __attribute__((aligned(16)));
};

_Static_assert(__builtin_offsetof(struct percpu, self) == 0, "this_cpu() reads gs:0");
_Static_assert(__builtin_offsetof(struct percpu, cpu_id) == 8, "this_cpu_id() reads gs:8");

extern struct percpu *cpus[MAX_CPUS];
extern unsigned cpu_count;       /* CPUs we have a percpu for (started or not) */

static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}

static inline uint32_t this_cpu_id(void)
{
    uint32_t id;
    __asm__ volatile("movl %%gs:8, %0" : "=r"(id));
    return id;
}

/* Point GS at p (and make p->self valid) on the calling CPU. */
void percpu_install(struct percpu *p);

#endif
