/* SPDX-License-Identifier: MIT */
/* Runtime shared by 32- and 64-bit guests: C entry, exit, test counters, mem*. */
#include "guest.h"

/* Written by the start code before .bss is cleared, so they live in .data. */
uintptr_t boot_reg_a = 0xdead, boot_reg_b = 0xdead, boot_rflags = 0xdead;

static unsigned passed, failed;

void *memset(void *d, int c, size_t n)
{
    void *ret = d;
    __asm__ __volatile__("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return ret;
}

void *memcpy(void *d, const void *s, size_t n)
{
    void *ret = d;
    __asm__ __volatile__("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

void guest_exit(uint32_t code)
{
    outl(EXIT_PORT, code);
    /* Not reached under Plinth; elsewhere, stop here. */
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

void check_(bool ok, const char *name, const char *fmt, ...)
{
    if (ok) {
        passed++;
        printf("PASS: %s\n", name);
        return;
    }
    failed++;
    printf("FAIL: %s (", name);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(")\n");
}

unsigned tests_passed(void) { return passed; }
unsigned tests_failed(void) { return failed; }

void tests_finish(int rc)
{
    printf("guest %s: %u passed, %u failed\n", guest_name, passed, failed);
    guest_exit(failed || rc ? 1 : 0);
}

#ifdef __x86_64__
void paging_init(void);
void idt_init(void);
enum hc_insn hc_default_insn = HC_INSN_VMCALL;
unsigned long hypercalls_made;

bool hc_result_valid(long v)
{
    static const int codes[] = {PL_EPERM,  PL_ENOENT, PL_EIO,    PL_E2BIG,  PL_ENOMEM,   PL_EFAULT, PL_EBUSY,
                                PL_EEXIST, PL_EINVAL, PL_ENOSPC, PL_ERANGE, PL_ENOSYS, PL_ETIMEDOUT,
                                PL_ESRCH,  PL_ENOTCONN};
    if (v >= 0)
        return true;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (v == -codes[i])
            return true;
    return false;
}
#endif

/* Called by the start code with a stack, cleared .bss and IF=0. */
__attribute__((noreturn)) void guest_start(void)
{
#ifdef __x86_64__
    paging_init();
    idt_init();
    /* Use the vendor's own instruction by default (AMD and Hygon: VMMCALL). */
    struct cpuid_regs v = cpuid(0, 0);
    if (v.ebx == 0x68747541 /* "Auth" */ || v.ebx == 0x6f677948 /* "Hygo" */)
        hc_default_insn = HC_INSN_VMMCALL;
#endif
    tests_finish(main());
}
