/* SPDX-License-Identifier: MIT */
/*
 * Test guest library: everything a Plinth test guest needs (see
 * tests/guests/README.md for the platform the guests expect).
 *
 * A guest defines its name with GUEST("name") and an `int main(void)` that
 * runs CHECKs and returns tests_failed(). The runtime then prints the summary
 * line and leaves through the exit port: code 0 if nothing failed, else 1.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plinth/errno.h>
#include <plinth/hypercall.h>

#define GUEST(name) const char guest_name[] = name
extern const char guest_name[];
int main(void);

/* Registers at entry, saved by the start code (see README.md). */
extern uintptr_t boot_reg_a;     /* 64-bit: RDI; 32-bit: EAX (multiboot magic) */
extern uintptr_t boot_reg_b;     /* 64-bit: unused; 32-bit: EBX (multiboot info gpa) */
extern uintptr_t boot_rflags;    /* RFLAGS at entry */

/* ---------------------------------------------------------------- platform */
#define SERIAL_PORT 0x3F8
#define SERIAL_LSR (SERIAL_PORT + 5)
#define LSR_THRE 0x20
#define EXIT_PORT 0xF4
#define UNUSED_PORT 0x510

#define TESTDEV_BASE 0xFEB00000UL
#define TESTDEV_MAGIC 0x504C4E54u /* 'PLNT' */
#define TESTDEV_REG_MAGIC 0x0
#define TESTDEV_REG_SCRATCH 0x8
#define TESTDEV_REG_COUNT 0x10

#define MSR_TSC 0x10
#define MSR_APIC_BASE 0x1B
#define MSR_FEATURE_CONTROL 0x3A
#define MSR_PAT 0x277
#define MSR_TSC_DEADLINE 0x6E0
#define MSR_X2APIC_ID 0x802
#define MSR_X2APIC_VERSION 0x803
#define MSR_X2APIC_TPR 0x808
#define MSR_X2APIC_EOI 0x80B
#define MSR_X2APIC_SVR 0x80F
#define MSR_X2APIC_LVT_TIMER 0x832
#define MSR_EFER 0xC0000080
#define MSR_FS_BASE 0xC0000100
#define MSR_GS_BASE 0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102
#define MSR_VM_CR 0xC0010114

#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define LVT_MASKED (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)

#define RFLAGS_IF (1u << 9)

/* ---------------------------------------------------------------- instructions */
static inline void outb(uint16_t port, uint8_t v) { __asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port)); }

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r;
    __asm__ __volatile__("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ __volatile__("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void cli(void) { __asm__ __volatile__("cli" : : : "memory"); }
static inline void sti(void) { __asm__ __volatile__("sti" : : : "memory"); }
/* STI's interrupt shadow makes the pair atomic: no wakeup is lost between them. */
static inline void sti_hlt(void) { __asm__ __volatile__("sti; hlt" : : : "memory"); }
static inline void pause(void) { __asm__ __volatile__("pause" : : : "memory"); }

/* ---------------------------------------------------------------- console, exit */
void serial_putc(char c);
void serial_write(const char *s, size_t len);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
__attribute__((noreturn)) void guest_exit(uint32_t code);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---------------------------------------------------------------- test framework */
void check_(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* PASS: name / FAIL: name (file:line: cond) */
#define CHECK(cond, name) check_(!!(cond), (name), "%s:%d: %s", __FILE__, __LINE__, #cond)
/* PASS: name / FAIL: name (got G (0xG), expected E (0xE)) */
#define CHECK_EQ(got, want, name)                                                                   \
    do {                                                                                            \
        long long g_ = (long long)(got), w_ = (long long)(want);                                    \
        check_(g_ == w_, (name), "got %lld (0x%llx), expected %lld (0x%llx)", g_, (unsigned long long)g_, \
               w_, (unsigned long long)w_);                                                         \
    } while (0)
/* PASS: name / FAIL: name (details printf-style) */
#define CHECKF(cond, name, ...) check_(!!(cond), (name), __VA_ARGS__)
unsigned tests_passed(void);
unsigned tests_failed(void);
/* Prints "guest <name>: N passed, M failed" and exits (1 if M or rc != 0). */
__attribute__((noreturn)) void tests_finish(int rc);

#ifdef __x86_64__
/* ---------------------------------------------------------------- hypercalls */
enum hc_insn { HC_INSN_VMCALL, HC_INSN_VMMCALL };
extern enum hc_insn hc_default_insn; /* the CPU vendor's native form */
extern unsigned long hypercalls_made;

static inline long hypercall_insn(enum hc_insn insn, uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
                                  uint64_t a4, uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    uint64_t ret = nr;

    hypercalls_made++;
    if (insn == HC_INSN_VMMCALL)
        __asm__ __volatile__("vmmcall" : "+a"(ret) : "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8) : "memory");
    else
        __asm__ __volatile__("vmcall" : "+a"(ret) : "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8) : "memory");
    return (long)ret;
}

static inline long hypercall(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    return hypercall_insn(hc_default_insn, nr, a1, a2, a3, a4, a5);
}

static inline long hc_version(void) { return hypercall(HC_VERSION, 0, 0, 0, 0, 0); }
static inline long hc_console_write(const void *buf, size_t len)
{
    return hypercall(HC_CONSOLE_WRITE, (uintptr_t)buf, len, 0, 0, 0);
}
static inline long hc_yield(void) { return hypercall(HC_YIELD, 0, 0, 0, 0, 0); }
static inline long hc_set_timer(uint64_t ns, unsigned vector) { return hypercall(HC_SET_TIMER, ns, vector, 0, 0, 0); }
static inline long hc_exit_stats(struct plinth_exit_stats *s) { return hypercall(HC_EXIT_STATS, (uintptr_t)s, 0, 0, 0, 0); }

/* True if v is a result the ABI allows: >= 0 or a negated PL_E* code. */
bool hc_result_valid(long v);

/* ---------------------------------------------------------------- interrupts */
struct int_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
typedef void (*int_handler)(struct int_frame *f);

/* The runtime loads an IDT before main: unexpected exceptions end the guest with
 * a FAIL line, unexpected interrupts count as a failure. */
void set_int_handler(unsigned vector, int_handler fn);
static inline void lapic_eoi(void) { wrmsr(MSR_X2APIC_EOI, 0); }
/* Waits (sti; hlt) until *flag becomes non-zero; returns with IF=0. */
void wait_for(volatile unsigned *flag);

/*
 * Fault recovery: the *_safe helpers return -1 if the instruction completed,
 * else the exception vector it raised (fault_error holds its error code). The
 * exception handler resumes at the label after the instruction.
 */
extern volatile uint64_t fault_resume; /* resume RIP while a *_safe insn runs, else 0 */
extern volatile int fault_vector;
extern volatile uint64_t fault_error;

static inline int rdmsr_safe(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    fault_vector = -1;
    __asm__ __volatile__("movq $1f, %[res]\n\t"
                         "rdmsr\n"
                         "1:\n\t"
                         "movq $0, %[res]"
                         : "+a"(lo), "+d"(hi), [res] "=m"(fault_resume)
                         : "c"(msr)
                         : "memory");
    *val = (uint64_t)hi << 32 | lo;
    return fault_vector;
}

static inline int wrmsr_safe(uint32_t msr, uint64_t val)
{
    fault_vector = -1;
    __asm__ __volatile__("movq $1f, %[res]\n\t"
                         "wrmsr\n"
                         "1:\n\t"
                         "movq $0, %[res]"
                         : [res] "=m"(fault_resume)
                         : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
                         : "memory");
    return fault_vector;
}

/* Loads an empty IDT (limit 0): any exception or interrupt then triple-faults. */
static inline void load_empty_idt(void)
{
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {0, 0};
    __asm__ __volatile__("lidt %0" : : "m"(idtr) : "memory");
}
#endif /* __x86_64__ */

#endif
