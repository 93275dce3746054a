/* Boot sequence: from the 64-bit entry (boot/entry.asm) to all CPUs online. */
#include <stdint.h>

#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeature.h"
#include "arch/x86/desc.h"
#include "arch/x86/exitport.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/platform.h"
#include "arch/x86/smp.h"
#include "arch/x86/timer.h"
#include "arch/x86/tsc.h"
#include "drivers/uart16550.h"
#include "hv/acpi.h"
#include "hv/format.h"
#include "hv/domain_boot.h"
#include "hv/domain_selftest.h"
#include "hv/schedule.h"
#include "hv/vcpu.h"
#include "hv/log.h"
#include "hv/mb2.h"
#include "hv/memmap.h"
#include "hv/mm.h"
#include "hv/devices.h"
#include "hv/irq.h"
#include "hv/options.h"
#include "hv/panic.h"
#include "hv/string.h"
#include "plinth/version.h"

#define BSP_IST_STACK_SIZE 8192
#define IPI_TIMEOUT_US 100000
#define TIMER_SELFTEST_TICKS 3
#define TIMER_SELFTEST_TIMEOUT_US 2000000
#define IDENTITY_LIMIT (4ull << 30)

extern uint64_t boot_entry_tsc;
extern char boot_stack_top[];

static struct percpu bsp_percpu;
static uint8_t bsp_ist_stacks[IST_COUNT][BSP_IST_STACK_SIZE] __attribute__((aligned(16)));
static struct uart console_uart;
static struct boot_info boot_info;
static struct acpi_info acpi_info;
static struct hv_options options;

/* Timestamps of boot stages, for bench/boot_cost.py. Under QEMU -icount
 * shift=0 the TSC advances one tick per instruction, so these are
 * instruction counts there. */
enum boot_stage { STAGE_BOOTINFO, STAGE_MEMORY, STAGE_PLATFORM, STAGE_CALIBRATED, STAGE_SMP, STAGE_COUNT };
static const char *const stage_names[STAGE_COUNT] = { "bootinfo", "memory", "acpi", "calibration", "smp" };
static uint64_t stage_tsc[STAGE_COUNT];

static void boot_mark(enum boot_stage s) { stage_tsc[s] = rdtsc(); }

static void log_boot_cost(void)
{
    char line[200];
    int n = hv_snprintf(line, sizeof(line), "boot-cost:");
    uint64_t prev = boot_entry_tsc;
    for (int i = 0; i < STAGE_COUNT && n < (int)sizeof(line); i++) {
        n += hv_snprintf(line + n, sizeof(line) - (size_t)n, " %s=%lu", stage_names[i], stage_tsc[i] - prev);
        prev = stage_tsc[i];
    }
    pr_info("%s total=%lu (TSC cycles from the first instruction)", line, stage_tsc[STAGE_SMP] - boot_entry_tsc);
}

NORETURN static void halt_forever(void)
{
    irq_disable();
    for (;;)
        cpu_halt();
}

/* Before the console is configured from the command line, failures go to
 * COM1 (where a Multiboot2 setup expects them) and stop the machine. */
NORETURN static void early_fatal(const char *what, const char *detail)
{
    pr_err("%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    pr_err("boot stopped.");
    log_drain();
    halt_forever();
}

static void setup_bsp_cpu(void)
{
    bsp_percpu.cpu_id = 0;
    bsp_percpu.online = true;
    bsp_percpu.stack_top = (uint64_t)boot_stack_top;
    for (int i = 0; i < IST_COUNT; i++)
        bsp_percpu.ist_top[i] = (uint64_t)bsp_ist_stacks[i] + BSP_IST_STACK_SIZE;
    percpu_install(&bsp_percpu);
    gdt_load(&bsp_percpu);
    idt_init();
    idt_load();
    cpus[0] = &bsp_percpu;
    cpu_count = 1;
}

static void apply_console_options(void)
{
    if (options.console_port == 0) {
        log_set_console(NULL);
        return;
    }
    if (options.console_port == console_uart.port && options.console_baud == console_uart.baud)
        return;
    struct uart old = console_uart;
    if (uart_init(&console_uart, options.console_port, options.console_baud)) {
        log_set_console(&console_uart);
    } else {
        console_uart = old;
        pr_err("console: no UART answers at port %#x; staying on %#x", options.console_port, old.port);
    }
}

static void log_boot_info(void)
{
    const struct boot_info *bi = &boot_info;
    pr_info("boot: loader \"%s\", %s firmware, command line \"%s\"", bi->loader_name,
            bi->efi_boot ? "UEFI" : "BIOS", bi->has_cmdline ? bi->cmdline : "");
    pr_info("boot: memory map from %s (%u e820 entries, %u EFI descriptors), %u modules",
            bi->mmap_source == BOOT_MMAP_EFI ? "EFI" : "e820", bi->e820_entries, bi->efi_entries, bi->module_count);
    for (unsigned i = 0; i < bi->mmap_count; i++)
        pr_info("boot:   [%#014lx-%#014lx) %s", bi->mmap[i].base, bi->mmap[i].base + bi->mmap[i].len,
                memmap_type_name(bi->mmap[i].type));
    for (unsigned i = 0; i < bi->module_count; i++)
        pr_info("boot:   module %u [%#lx-%#lx) \"%s\"", i, bi->modules[i].start, bi->modules[i].end,
                bi->modules[i].cmdline);
    if (bi->fb.present)
        pr_info("boot: framebuffer %ux%u, %u bpp, at %#lx", bi->fb.width, bi->fb.height, bi->fb.bpp, bi->fb.addr);
    if (bi->unknown_tags)
        pr_debug("boot: %u unknown boot information tags skipped", bi->unknown_tags);
}

__attribute__((noinline)) static void run_selftest(enum selftest t)
{
    extern char __text_start[];
    switch (t) {
    case SELFTEST_NONE:
    case SELFTEST_DOMAINS: /* run with the guests, below */
        return;
    case SELFTEST_WP:
        pr_info("selftest: writing to hypervisor text (must fault)");
        *(volatile uint8_t *)__text_start = 0xCC;
        break;
    case SELFTEST_NX: {
        pr_info("selftest: executing from the stack (must fault)");
        volatile uint8_t code[16] = { 0xC3 }; /* ret */
        ((void (*)(void))(uintptr_t)code)();
        break;
    }
    case SELFTEST_PANIC:
        panic("selftest: deliberate panic");
    case SELFTEST_REBOOT:
        pr_info("selftest: rebooting the machine");
        platform_reset();
    }
    panic("selftest: the deliberate fault did not happen");
}

NORETURN void hv_main(uint32_t magic, uint64_t mbi_phys)
{
    uart_init(&console_uart, UART_COM1, UART_DEFAULT_BAUD);
    log_set_console(&console_uart);
    setup_bsp_cpu();

    if (magic != MB2_BOOTLOADER_MAGIC) {
        char detail[80];
        hv_snprintf(detail, sizeof(detail), "EAX was %#x, expected %#x", magic, MB2_BOOTLOADER_MAGIC);
        early_fatal("boot: not started by a Multiboot2 loader", detail);
    }
    if (mbi_phys == 0 || (mbi_phys & 7) || mbi_phys >= IDENTITY_LIMIT - 16)
        early_fatal("boot: the boot information pointer is not usable", NULL);

    char err[160];
    size_t avail = MIN((uint64_t)BOOT_MBI_MAX_SIZE, IDENTITY_LIMIT - mbi_phys);
    int rc = mb2_parse((const void *)mbi_phys, avail, &boot_info, err, sizeof(err));
    if (rc)
        early_fatal("boot: malformed Multiboot2 boot information", err);

    struct options_errors opt_errs;
    options_defaults(&options);
    options_parse(boot_info.cmdline, &options, &opt_errs);
    log_set_level(options.loglvl);
    apply_console_options();
    exitport_set(options.testexit == TESTEXIT_QEMU    ? EXITPORT_QEMU
                 : options.testexit == TESTEXIT_BOCHS ? EXITPORT_BOCHS
                                                      : EXITPORT_NONE);

    pr_info("Plinth %s (ABI %u.%u) starting", PLINTH_VERSION_STRING, PLINTH_ABI_MAJOR, PLINTH_ABI_MINOR);
    for (unsigned i = 0; i < opt_errs.count && i < OPTIONS_MAX_ERRORS; i++)
        pr_warn("cmdline: %s", opt_errs.msg[i]);
    if (opt_errs.count > OPTIONS_MAX_ERRORS)
        pr_warn("cmdline: %u more bad options not shown", opt_errs.count - OPTIONS_MAX_ERRORS);

    if (memmap_sanitize(boot_info.mmap, &boot_info.mmap_count, BOOT_MAX_MEM_RANGES))
        panic("boot: the memory map needs more than %u entries once overlaps are split", BOOT_MAX_MEM_RANGES);
    if (boot_info.mmap_count == 0)
        panic("boot: the boot loader gave no memory map");
    log_boot_info();
    boot_mark(STAGE_BOOTINFO);

    cpufeature_detect();
    cpufeature_log();
    char virt_why[160];
    bool virt_ok = arch_virt_supported(virt_why, sizeof(virt_why));
    if (virt_ok)
        pr_info("virt: guests will run with %s", arch_virt_name());
    else
        pr_warn("virt: cannot run guests: %s", virt_why);

    mm_init_frames(&boot_info, mbi_phys);
    paging_init(mm_pmm(), MAX(mm_phys_limit(), IDENTITY_LIMIT));
    mm_init_late();
    mm_log_stats();
    boot_mark(STAGE_MEMORY);

    platform_discover(&boot_info, &acpi_info);
    platform_mask_legacy_pic();
    lapic_init_bsp(acpi_info.lapic_phys, options.x2apic);
    bsp_percpu.apic_id = lapic_id();
    boot_mark(STAGE_PLATFORM);
    tsc_calibrate((enum tsc_source)options.tsc_source, acpi_info.has_hpet ? acpi_info.hpet_phys : 0);
    timer_calibrate();
    timer_start_local(options.timer_hz);
    irq_enable();
    boot_mark(STAGE_CALIBRATED);

    if (virt_ok && arch_virt_enable_cpu() == 0)
        bsp_percpu.virt_on = true;
    unsigned online = smp_boot(&acpi_info, options.maxcpus, options.timer_hz);
    boot_mark(STAGE_SMP);
    unsigned expected = 0;
    for (unsigned i = 0; i < acpi_info.cpu_count; i++)
        expected += acpi_info.cpus[i].enabled;
    expected = MAX(1u, MIN(expected, options.maxcpus));

    unsigned answered = smp_ipi_selftest(IPI_TIMEOUT_US);
    pr_info("smp: IPI ping-pong: %u of %u other CPUs answered", answered, online - 1);
    unsigned ticking = smp_timer_selftest(TIMER_SELFTEST_TICKS, TIMER_SELFTEST_TIMEOUT_US);
    pr_info("timer: %u of %u CPUs ticking at %u Hz", ticking, online, options.timer_hz);

    bool ok = online == expected && answered == online - 1 && ticking == online;
    if (online == expected)
        pr_info("smp: all %u CPUs online", online);
    else
        pr_err("smp: only %u of %u CPUs online", online, expected);
    log_boot_cost();
    if (virt_ok) {
        unsigned virt_cpus = 0;
        for (unsigned i = 0; i < cpu_count; i++)
            virt_cpus += cpus[i]->online && cpus[i]->virt_on;
        if (virt_cpus == online) {
            pr_info("virt: %s enabled on all %u CPUs", arch_virt_name(), virt_cpus);
        } else {
            pr_err("virt: %s enabled on only %u of %u CPUs", arch_virt_name(), virt_cpus, online);
            ok = false;
        }
    }
    mm_log_stats();

    run_selftest(options.selftest);

    if (options.selftest == SELFTEST_DOMAINS) {
        if (!virt_ok)
            pr_err("selftest: domains need %s", virt_why);
        else if (!domain_selftest())
            ok = false;
    }

    if (boot_info.module_count) {
        devices_init(&boot_info, &acpi_info, options.console_port);
        ioapic_init(&acpi_info);
        irq_init(options.console_port);
        if (virt_ok && schedule_init() != 0) {
            pr_err("sched: cannot start the scheduler");
            ok = false;
        } else if (virt_ok) {
            struct domain_boot_summary sum;
            struct domain_boot_params params = { .dom0_mem = options.dom0_mem, .dom0_vcpus = options.dom0_vcpus };
            domain_boot_all(&boot_info, &params, &sum);
            if (sum.leaked_frames)
                ok = false;
            mm_log_stats();
        } else {
            pr_err("guest: %u modules not run: %s", boot_info.module_count, virt_why);
        }
    }

    if (ok) {
        pr_info("plinth: boot complete");
        exitport_exit(EXIT_SUCCESS_CODE);
    } else {
        pr_err("plinth: boot finished with errors");
        exitport_exit(EXIT_FAILURE_CODE);
    }
    for (;;)
        cpu_wait_for_interrupt();
}
