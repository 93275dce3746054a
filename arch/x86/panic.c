#include <stdarg.h>
#include <stdint.h>

#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exitport.h"
#include "arch/x86/panic_x86.h"
#include "arch/x86/percpu.h"
#include "hv/format.h"
#include "hv/log.h"
#include "hv/panic.h"
#include "hv/symbols.h"

#define BACKTRACE_MAX_FRAMES 32
#define KERNEL_HALF_START 0xFFFF800000000000ull

static volatile int panic_cpu = -1;

bool panic_in_progress(void) { return panic_cpu >= 0; }

NORETURN void panic_park_cpu(void)
{
    irq_disable();
    for (;;)
        cpu_halt();
}

static void print_symbol(const char *what, uint64_t addr)
{
    uint64_t off = 0;
    const char *name = symbol_lookup(addr, &off);
    if (name)
        log_raw("  %s %#018lx %s+%#lx\n", what, addr, name, off);
    else
        log_raw("  %s %#018lx ?\n", what, addr);
}

static void backtrace_from(uint64_t rbp)
{
    log_raw("Backtrace:\n");
    for (int i = 0; i < BACKTRACE_MAX_FRAMES; i++) {
        /* Frames live on hypervisor stacks in the upper half; anything else
         * means the chain ended or is corrupt. */
        if (rbp < KERNEL_HALF_START || (rbp & 7))
            return;
        const uint64_t *frame = (const uint64_t *)rbp;
        uint64_t ret = frame[1];
        if (ret == 0)
            return;
        print_symbol("at", ret);
        if (frame[0] <= rbp) /* stacks grow down: callers sit higher */
            return;
        rbp = frame[0];
    }
    log_raw("  ... (more frames)\n");
}

/* Become the panicking CPU, or park if another CPU got there first. */
static void panic_claim(void)
{
    irq_disable();
    int me = (int)this_cpu_id();
    int expected = -1;
    if (!__atomic_compare_exchange_n(&panic_cpu, &expected, me, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        if (expected == me) {
            /* A fault while printing the panic: report and stop here. */
            log_raw("\n*** nested fault during panic on cpu%d; halting ***\n", me);
            exitport_exit(EXIT_FAILURE_CODE);
        }
        panic_park_cpu();
    }
    log_enter_panic();
    lapic_stop_other_cpus();
}

static NORETURN void panic_finish(void)
{
    log_raw("System halted.\n");
    log_drain();
    exitport_exit(EXIT_FAILURE_CODE);
    panic_park_cpu();
}

static void dump_control_registers(void)
{
    log_raw("  cr0 %#018lx cr2 %#018lx cr3 %#018lx cr4 %#018lx\n", read_cr0(), read_cr2(), read_cr3(),
            read_cr4());
}

NORETURN void panic(const char *fmt, ...)
{
    panic_claim();
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    hv_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_raw("\n*** PLINTH PANIC on cpu%u (APIC id %u): %s\n", this_cpu_id(), this_cpu()->apic_id, msg);
    dump_control_registers();
    backtrace_from(read_rbp());
    panic_finish();
}

NORETURN void panic_exception(struct trap_frame *f)
{
    panic_claim();
    log_raw("\n*** PLINTH PANIC on cpu%u (APIC id %u): exception %lu %s, error code %#lx\n", this_cpu_id(),
            this_cpu()->apic_id, f->vector, trap_exception_name((unsigned)f->vector), f->error);
    print_symbol("rip", f->rip);
    log_raw("  rax %#018lx rbx %#018lx rcx %#018lx rdx %#018lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    log_raw("  rsi %#018lx rdi %#018lx rbp %#018lx rsp %#018lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
    log_raw("  r8  %#018lx r9  %#018lx r10 %#018lx r11 %#018lx\n", f->r8, f->r9, f->r10, f->r11);
    log_raw("  r12 %#018lx r13 %#018lx r14 %#018lx r15 %#018lx\n", f->r12, f->r13, f->r14, f->r15);
    log_raw("  cs %#lx ss %#lx rflags %#lx\n", f->cs, f->ss, f->rflags);
    dump_control_registers();
    backtrace_from(f->rbp);
    panic_finish();
}
