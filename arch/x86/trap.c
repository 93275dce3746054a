#include "arch/x86/trap.h"

#include "arch/x86/apic.h"
#include "arch/x86/panic_x86.h"
#include "hv/compiler.h"
#include "hv/log.h"

static irq_handler_fn irq_handlers[256];

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved (15)", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization exception", "#CP control protection",
};

const char *trap_exception_name(unsigned v)
{
    if (v < 32 && exception_names[v])
        return exception_names[v];
    return v < 32 ? "reserved exception" : "interrupt";
}

void trap_set_irq_handler(unsigned vector, irq_handler_fn fn)
{
    if (vector >= VEC_FIRST_IRQ && vector < 256)
        irq_handlers[vector] = fn;
}

void trap_dispatch(struct trap_frame *f)
{
    unsigned v = (unsigned)f->vector;

    if (v == VEC_NMI) {
        /* Other CPUs use NMI to stop this one during a panic. */
        if (panic_in_progress())
            panic_park_cpu();
        pr_warn("NMI received (no handler), rip %#lx", f->rip);
        return;
    }
    if (v < VEC_FIRST_IRQ)
        panic_exception(f);

    if (v == VEC_SPURIOUS)
        return; /* spurious vectors get no EOI (SDM Vol. 3A 11.9) */

    if (irq_handlers[v])
        irq_handlers[v](f);
    else
        pr_warn("unexpected interrupt vector %#x", v);
    lapic_eoi();
}
