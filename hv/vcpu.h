/* Arch-neutral virtual CPU: the state the core handles, the normalised exit,
 * and the interface every virtualization backend (arch/x86/vmx,
 * arch/x86/svm) implements. The core never sees a VMCS or a VMCB. */
#ifndef HV_VCPU_H
#define HV_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/sched.h"
#include "plinth/hypercall.h"

/* General registers in x86 encoding order (ModRM reg numbers). */
enum gpr { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
           REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_COUNT };

/* Segment attributes in the AMD VMCB "attrib" layout (APM Vol. 2 15.5.1):
 * bits 0-3 type, 4 S, 5-6 DPL, 7 P, 8 AVL, 9 L, 10 D/B, 11 G. A segment
 * with P clear is unusable (VMX "unusable" bit). */
#define SEG_ATTR_P (1u << 7)
#define SEG_ATTR_S (1u << 4)
#define SEG_ATTR_L (1u << 9)
#define SEG_ATTR_DB (1u << 10)
#define SEG_ATTR_G (1u << 11)

struct vcpu_segment {
    uint16_t selector;
    uint16_t attr;
    uint32_t limit;
    uint64_t base;
};

struct vcpu_dtable {
    uint64_t base;
    uint16_t limit;
};

/* Architectural state beyond the general registers. */
struct vcpu_state {
    uint64_t rip, rflags;
    uint64_t cr0, cr2, cr3, cr4, efer, pat, dr7;
    /* MSRs the CPU does not switch on every VM entry/exit by itself on
     * both vendors (SWAPGS and SYSCALL state). */
    uint64_t kernel_gs_base, star, lstar, cstar, sfmask;
    struct vcpu_segment cs, ds, es, fs, gs, ss, tr, ldtr;
    struct vcpu_dtable gdtr, idtr;
};

enum vcpu_exit_reason {
    VEXIT_CPUID = PLINTH_EXIT_CPUID,
    VEXIT_MSR_READ = PLINTH_EXIT_MSR_READ,
    VEXIT_MSR_WRITE = PLINTH_EXIT_MSR_WRITE,
    VEXIT_IO = PLINTH_EXIT_IO,
    VEXIT_HLT = PLINTH_EXIT_HLT,
    VEXIT_HYPERCALL = PLINTH_EXIT_HYPERCALL,   /* VMCALL or VMMCALL, native or emulated from #UD */
    VEXIT_MEMORY = PLINTH_EXIT_MEMORY,
    VEXIT_EXTINT = PLINTH_EXIT_EXTINT,         /* host interrupt arrived, or preemption timer */
    VEXIT_INTR_WINDOW = PLINTH_EXIT_INTR_WINDOW,
    VEXIT_EXCEPTION = PLINTH_EXIT_EXCEPTION,
    VEXIT_SHUTDOWN = PLINTH_EXIT_SHUTDOWN,
    VEXIT_INIT = PLINTH_EXIT_INIT,
    VEXIT_INVALID = PLINTH_EXIT_INVALID,
    VEXIT_OTHER = PLINTH_EXIT_OTHER,
};

struct vcpu_exit {
    enum vcpu_exit_reason reason;
    uint64_t raw;        /* vendor exit code, for diagnostics */
    uint64_t qual;       /* vendor qualification / EXITINFO1, for diagnostics */
    unsigned insn_len;   /* length of the exiting instruction, 0 if unknown */
    union {
        struct {
            uint16_t port;
            uint8_t size;      /* 1, 2 or 4 */
            bool in;
            bool string, rep;  /* INS/OUTS (not emulated yet: the core raises #UD) */
        } io;
        struct {
            uint32_t index;    /* ECX */
        } msr;
        struct {
            uint64_t gpa;
            bool read, write, exec;
            bool mapped;       /* a translation exists but forbids the access */
        } mem;
        struct {
            uint8_t vector;
            bool has_error;
            uint32_t error;
        } exception;
    };
};

enum vcpu_event_type { VEVENT_EXTINT, VEVENT_NMI, VEVENT_EXCEPTION, VEVENT_SOFTINT };

struct vcpu_event {
    uint8_t vector;
    uint8_t type;     /* enum vcpu_event_type */
    bool has_error;
    uint32_t error;
};

struct aspace;
struct domain;

struct vcpu {
    uint64_t gprs[REG_COUNT];   /* kept current by the backend across run() */
    unsigned id;                 /* within its domain; also its x2APIC id */
    struct domain *dom;
    struct aspace *aspace;
    void *arch;                  /* backend-private */
    uint64_t exit_count[PLINTH_EXIT_REASONS];
    uint64_t exit_total;

    /* Virtual interrupt controller and timers (hv/virq.c): interrupts
     * waiting to be injected, one bit per vector; the hypercall one-shot
     * timer and the x2APIC LVT timer in TSC-deadline mode, deadlines in
     * host TSC cycles, 0 = off. */
    uint64_t pending_irq[4];
    uint64_t hc_timer_deadline;
    uint8_t hc_timer_vector;
    uint64_t tsc_deadline;
    uint32_t lapic_lvt_timer, lapic_svr, lapic_tpr;

    /* Scheduling (hv/schedule.c) */
    struct sched_vcpu sv;
    bool started;          /* has a boot state: vCPU 0 at load, others by HC_VCPU_UP */
    bool halted;           /* blocked in HLT until an interrupt is pending */
    bool yielded;          /* HC_YIELD: give the CPU to an equal if one waits */
    uint64_t runs;         /* times the scheduler put it on a CPU */
    bool in_guest;         /* between entry and exit (hv/vcpu_run.c) */
    uint64_t entries;      /* VM entries so far */

    /* An MMIO access forwarded to a device model (hv/ioreq.c). */
    uint8_t ioreq_state;   /* VCPU_IOREQ_* */
    uint32_t ioreq_seq;
    uint64_t ioreq_value;  /* what a read returns, once done */
    struct insn *ioreq_insn; /* the decoded instruction (allocated on first use) */
    struct fetch_memos *fetch_memo; /* its last instruction fetches (hv/vcpu_fetch.c), allocated on first use */
};

#define VCPU_IOREQ_NONE 0
#define VCPU_IOREQ_WAITING 1   /* blocked until the device model completes it */
#define VCPU_IOREQ_DONE 2      /* completed: finish before the next entry */

/* ---- interface implemented by arch/x86 (dispatching to VMX or SVM) ---- */

/* Which backend this machine can use; false with a reason when neither. */
bool arch_virt_supported(char *why, size_t why_len);
const char *arch_virt_name(void);
/* Enter VMX root / enable SVM on the calling CPU. 0 or -PL_E*. */
int arch_virt_enable_cpu(void);

int arch_vcpu_create(struct vcpu *v, struct aspace *as);
void arch_vcpu_destroy(struct vcpu *v);
void arch_vcpu_set_state(struct vcpu *v, const struct vcpu_state *s);
void arch_vcpu_get_state(struct vcpu *v, struct vcpu_state *s);
uint64_t arch_vcpu_rip(struct vcpu *v);
void arch_vcpu_set_rip(struct vcpu *v, uint64_t rip);
uint64_t arch_vcpu_rflags(struct vcpu *v);
unsigned arch_vcpu_cpl(struct vcpu *v);
/* CR0/CR3/CR4/EFER as the guest sees them (for page walks). */
void arch_vcpu_paging_state(struct vcpu *v, uint64_t *cr0, uint64_t *cr3, uint64_t *cr4, uint64_t *efer);
/* Advance RIP past the instruction that exited (exit->insn_len bytes). */
void arch_vcpu_skip(struct vcpu *v, const struct vcpu_exit *e);

/* Run the guest until its next exit. Host interrupts that arrive while the
 * guest runs are taken by the host after the exit (VEXIT_EXTINT). An event
 * whose delivery the exit interrupted is re-injected on the next run by the
 * backend itself. */
void arch_vcpu_run(struct vcpu *v, struct vcpu_exit *e);

/* The vCPU is being descheduled from this CPU and may next run on another
 * (VT-x: VMCLEAR here, SDM Vol. 3C 25.11.1). Call on the CPU it ran on. */
void arch_vcpu_put(struct vcpu *v);

/* Queue an event for the next entry. -PL_EBUSY when one is already queued
 * (including a re-injection). */
int arch_vcpu_inject(struct vcpu *v, const struct vcpu_event *ev);
bool arch_vcpu_event_queued(struct vcpu *v);
/* Can an external interrupt be delivered now (RFLAGS.IF=1, no interrupt
 * shadow, nothing queued)? */
bool arch_vcpu_interruptible(struct vcpu *v);
/* Exit as soon as the guest can take an interrupt. */
void arch_vcpu_request_intr_window(struct vcpu *v, bool on);
/* Port-I/O permissions, shared by a domain's vCPUs (arch/x86/ioperm.c):
 * a port allowed here is accessed by the guest directly, without an exit.
 * A new set allows nothing. */
struct io_perm;
struct io_perm *arch_io_perm_create(void);
void arch_io_perm_destroy(struct io_perm *p);
void arch_io_perm_allow(struct io_perm *p, uint16_t first, uint32_t count, bool allow);
bool arch_io_perm_allowed(const struct io_perm *p, uint16_t port);
/* Use p for the vCPU's port accesses from its next entry on (NULL: every
 * access exits, the default). */
void arch_vcpu_set_io_perm(struct vcpu *v, struct io_perm *p);

/* Exit after at most this many host TSC cycles of guest time (VMX
 * preemption timer; on SVM a host timer interrupt does it); 0 disables. */
void arch_vcpu_set_time_slice(struct vcpu *v, uint64_t tsc_cycles);

#endif
