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

/* How long the panicking CPU waits for the others to acknowledge the stop
 * NMI, in polls (the TSC may not be calibrated yet). */
#define PARK_WAIT_POLLS 100000000ull

static volatile int panic_cpu = -1;
static volatile unsigned parked_cpus;
static unsigned cpus_to_stop;

bool panic_in_progress(void) { return panic_cpu >= 0; }

NORETURN void panic_park_cpu(void)
{
    irq_disable();
    __atomic_fetch_add(&parked_cpus, 1, __ATOMIC_SEQ_CST);
    for (;;)
        cpu_halt();
}

static void stop_other_cpus(void)
{
    for (unsigned i = 0; i < cpu_count; i++)
        if (cpus[i] && cpus[i]->online && cpus[i] != this_cpu())
            cpus_to_stop++;
    if (cpus_to_stop == 0)
        return;
    lapic_stop_other_cpus();
    for (uint64_t i = 0; i < PARK_WAIT_POLLS && __atomic_load_n(&parked_cpus, __ATOMIC_SEQ_CST) < cpus_to_stop; i++)
        cpu_relax();
}

static void print_symbol(const char *what, uint64_t addr)
{
    uint64_t off = 0;
    const char *name = symbol_lookup(addr, &off);
    if (name)
        log_raw("  %s 0x%016lx %s+%#lx\n", what, addr, name, off);
    else
        log_raw("  %s 0x%016lx ?\n", what, addr);
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
    /* Stop the others first so the report is not interleaved with them. */
    stop_other_cpus();
}

static NORETURN void panic_finish(void)
{
    log_raw("Stopped %u of %u other CPUs.\n", parked_cpus, cpus_to_stop);
    log_raw("System halted.\n");
    log_drain();
    exitport_exit(EXIT_FAILURE_CODE);
    panic_park_cpu();
}

static void dump_control_registers(void)
{
    log_raw("  cr0 0x%016lx cr2 0x%016lx cr3 0x%016lx cr4 0x%016lx\n", read_cr0(), read_cr2(), read_cr3(),
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
    log_raw("  rax 0x%016lx rbx 0x%016lx rcx 0x%016lx rdx 0x%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    log_raw("  rsi 0x%016lx rdi 0x%016lx rbp 0x%016lx rsp 0x%016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
    log_raw("  r8  0x%016lx r9  0x%016lx r10 0x%016lx r11 0x%016lx\n", f->r8, f->r9, f->r10, f->r11);
    log_raw("  r12 0x%016lx r13 0x%016lx r14 0x%016lx r15 0x%016lx\n", f->r12, f->r13, f->r14, f->r15);
    log_raw("  cs %#lx ss %#lx rflags %#lx\n", f->cs, f->ss, f->rflags);
    dump_control_registers();
    backtrace_from(f->rbp);
    panic_finish();
}
