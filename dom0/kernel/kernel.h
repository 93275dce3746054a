/* dom0 kernel internals shared by the files in dom0/kernel (the public
 * services for drivers are in dom0.h). */
#ifndef DOM0_KERNEL_KERNEL_H
#define DOM0_KERNEL_KERNEL_H

#include "dom0/kernel/dom0.h"
#include "plinth/hypercall.h"
#include "plinth/start_info.h"

/* ---- hypercalls (hc.c) ---- */
extern bool hc_vmmcall; /* AMD/Hygon: VMMCALL, else VMCALL */
void hc_init(void);

static inline long hypercall(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    uint64_t ret = nr;
    if (hc_vmmcall)
        __asm__ __volatile__("vmmcall" : "+a"(ret) : "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8) : "memory");
    else
        __asm__ __volatile__("vmcall" : "+a"(ret) : "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8) : "memory");
    return (long)ret;
}
#define HC_PTR(p) ((uint64_t)(uintptr_t)(p))
#define hc0(nr) hypercall((nr), 0, 0, 0, 0, 0)
#define hc1(nr, a) hypercall((nr), (uint64_t)(a), 0, 0, 0, 0)
#define hc2(nr, a, b) hypercall((nr), (uint64_t)(a), (uint64_t)(b), 0, 0, 0)
#define hc3(nr, a, b, c) hypercall((nr), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0, 0)
#define hc4(nr, a, b, c, d) hypercall((nr), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), (uint64_t)(d), 0)
/* "HC_DOMAIN_INFO", ... */
const char *hc_name(unsigned long nr);

/* ---- boot information (kmain.c) ---- */
extern const struct plinth_start_info *start_info; /* NULL: the hypervisor passed none */
extern uint32_t dom0_id;                           /* our domain id (0 if unknown) */

enum module_kind { MOD_FILE, MOD_KERNEL, MOD_CONFIG };
#define MODULE_NAME_MAX 64
struct file_module {
    char name[MODULE_NAME_MAX];
    const char *cmdline;
    const char *data;
    uint64_t size;
    enum module_kind kind;
};
extern struct file_module file_modules[PLINTH_START_MAX_MODULES];
extern unsigned file_module_count;
/* By name (see module_matches in util.h); NULL if none. */
const struct file_module *module_find(const char *name);
const char *module_kind_name(enum module_kind k);

/* ---- console (console.c) ---- */
void console_init(void);
void console_write(const char *s, size_t n);
void console_puts(const char *s);
/* Another domain's bytes: control characters other than \n and \t (and
 * bytes above 0x7E) become '?', so a guest cannot drive the terminal. */
void console_write_untrusted(const char *s, size_t n);

/* ---- memory (mem.c) ---- */
void mem_init(uint64_t free_start, uint64_t free_end);
void mem_map_init(void);
uint64_t mem_free_bytes(void);

/* ---- time (time.c) ---- */
void time_init(uint64_t tsc_khz);
/* Sleep about ms milliseconds with interrupts enabled only inside HLT. */
void sleep_ms(unsigned ms);

/* ---- traps and interrupts (trap.c, irq.c) ---- */
#define TIMER_VECTOR 32
#define EVTCHN_VECTOR 33   /* event-channel upcall: only wakes the idle loop (pvdev_poll) */
#define IRQ_VECTOR_FIRST 48
#define IRQ_VECTOR_LAST 239
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};
void trap_init(void);
void irq_dispatch(unsigned vector);
extern volatile uint64_t timer_ticks;
__attribute__((noreturn)) void dom0_crash(void);

/* ---- shell (shell.c, cmds.c) ---- */
#include "dom0/kernel/shell.h"
extern const struct shell_cmd core_shell_cmds[];
extern const unsigned core_shell_cmd_count;
int shell_exec(char *line);        /* run one command line; its result */
void shell_run_script(const struct file_module *m);
__attribute__((noreturn)) void shell_loop(void);
/* Create the domain a config module describes; prints "created domain N
 * (name)" or why not. 0 or -PL_E*. */
int domain_create_from(const struct file_module *cfg);
/* Print "<what>: HC_X: ENAME (-N)". */
void print_hc_error(const char *what, unsigned long nr, long rc);

#endif
