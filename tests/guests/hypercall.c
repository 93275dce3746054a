/* SPDX-License-Identifier: MIT */
/* The hypercall ABI: both instructions, errors, statistics, preserved registers. */
#include "guest.h"
#include "plinth/version.h"

GUEST("hypercall");

#define OUTSIDE_RAM 0xFFFF00000000ull

/*
 * regs_across_hypercall(out, vmmcall): loads every general register but RSP
 * with a known pattern (RAX = HC_VERSION), makes the hypercall, and stores
 * RAX RBX RCX RDX RSI RDI RBP R8..R15 (15 values) to out[].
 */
void regs_across_hypercall(uint64_t *out, int vmmcall);
__asm__(".pushsection .text\n"
        ".globl regs_across_hypercall\n"
        "regs_across_hypercall:\n\t"
        "pushq %rbx; pushq %rbp; pushq %r12; pushq %r13; pushq %r14; pushq %r15\n\t"
        "pushq %rdi\n\t"
        "movl %esi, %eax\n\t"
        "movabsq $0x1111111111111111, %rbx\n\t"
        "movabsq $0x2222222222222222, %rcx\n\t"
        "movabsq $0x3333333333333333, %rdx\n\t"
        "movabsq $0x4444444444444444, %rsi\n\t"
        "movabsq $0x5555555555555555, %rdi\n\t"
        "movabsq $0x6666666666666666, %rbp\n\t"
        "movabsq $0x8888888888888888, %r8\n\t"
        "movabsq $0x9999999999999999, %r9\n\t"
        "movabsq $0xaaaaaaaaaaaaaaaa, %r10\n\t"
        "movabsq $0xbbbbbbbbbbbbbbbb, %r11\n\t"
        "movabsq $0xcccccccccccccccc, %r12\n\t"
        "movabsq $0xdddddddddddddddd, %r13\n\t"
        "movabsq $0xeeeeeeeeeeeeeeee, %r14\n\t"
        "movabsq $0xffffffffffffffff, %r15\n\t"
        "testl %eax, %eax\n\t"
        "movl $0, %eax\n\t" /* HC_VERSION; MOV keeps the flags of TEST */
        "jnz 1f\n\t"
        "vmcall\n\t"
        "jmp 2f\n"
        "1:\n\t"
        "vmmcall\n"
        "2:\n\t"
        "xchgq %rax, (%rsp)\n\t" /* RAX result <-> out pointer */
        "movq %rbx, 8(%rax); movq %rcx, 16(%rax); movq %rdx, 24(%rax)\n\t"
        "movq %rsi, 32(%rax); movq %rdi, 40(%rax); movq %rbp, 48(%rax)\n\t"
        "movq %r8, 56(%rax); movq %r9, 64(%rax); movq %r10, 72(%rax); movq %r11, 80(%rax)\n\t"
        "movq %r12, 88(%rax); movq %r13, 96(%rax); movq %r14, 104(%rax); movq %r15, 112(%rax)\n\t"
        "popq %rbx\n\t"
        "movq %rbx, (%rax)\n\t"
        "popq %r15; popq %r14; popq %r13; popq %r12; popq %rbp; popq %rbx\n\t"
        "ret\n"
        ".popsection\n");

static void check_regs(int vmmcall, const char *name)
{
    static const char *const names[15] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
                                          "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    static const uint64_t want[15] = {(PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR,
                                      0x1111111111111111ull,
                                      0x2222222222222222ull,
                                      0x3333333333333333ull,
                                      0x4444444444444444ull,
                                      0x5555555555555555ull,
                                      0x6666666666666666ull,
                                      0x8888888888888888ull,
                                      0x9999999999999999ull,
                                      0xaaaaaaaaaaaaaaaaull,
                                      0xbbbbbbbbbbbbbbbbull,
                                      0xccccccccccccccccull,
                                      0xddddddddddddddddull,
                                      0xeeeeeeeeeeeeeeeeull,
                                      0xffffffffffffffffull};
    uint64_t got[15];
    int bad = -1;

    regs_across_hypercall(got, vmmcall);
    hypercalls_made++;
    for (int i = 0; i < 15 && bad < 0; i++)
        if (got[i] != want[i])
            bad = i;
    CHECKF(bad < 0, name, "%s = 0x%lx, expected 0x%lx", names[bad < 0 ? 0 : bad], got[bad < 0 ? 0 : bad],
           want[bad < 0 ? 0 : bad]);
}

int main(void)
{
    static char big[HC_CONSOLE_MAX + 1];
    static const char msg[] = "hypercall: console write\n";
    struct plinth_exit_stats st, st2;

    printf("hypercall: default instruction %s\n", hc_default_insn == HC_INSN_VMMCALL ? "VMMCALL" : "VMCALL");
    for (int i = 0; i < 2; i++) {
        enum hc_insn insn = i ? HC_INSN_VMMCALL : HC_INSN_VMCALL;
        const char *what = i ? "VMMCALL" : "VMCALL";
        printf("hypercall: using %s\n", what);
        CHECK_EQ(hypercall_insn(insn, HC_VERSION, 0, 0, 0, 0, 0), (PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR, "HC_VERSION");
        CHECK_EQ(hypercall_insn(insn, 999, 1, 2, 3, 4, 5), -PL_ENOSYS, "unknown number 999");
        CHECK_EQ(hypercall_insn(insn, HC_COUNT, 0, 0, 0, 0, 0), -PL_ENOSYS, "unknown number HC_COUNT");
        CHECK_EQ(hypercall_insn(insn, 1ull << 32 | HC_VERSION, 0, 0, 0, 0, 0), -PL_ENOSYS,
                 "unknown number 2^32 (not truncated to 32 bits)");
        CHECK_EQ(hypercall_insn(insn, ~0ull, 0, 0, 0, 0, 0), -PL_ENOSYS, "unknown number -1");
        check_regs(i, i ? "VMMCALL preserves all registers but RAX" : "VMCALL preserves all registers but RAX");
    }

    CHECK_EQ(hc_console_write(msg, sizeof(msg) - 1), sizeof(msg) - 1, "HC_CONSOLE_WRITE returns the length");
    CHECK_EQ(hc_console_write((void *)OUTSIDE_RAM, 16), -PL_EFAULT, "HC_CONSOLE_WRITE outside RAM: -EFAULT");
    CHECK_EQ(hc_console_write((void *)0xC0000000, 16), -PL_EFAULT, "HC_CONSOLE_WRITE at 3 GiB: -EFAULT");
    CHECK_EQ(hc_console_write((void *)~15ull, 32), -PL_EFAULT, "HC_CONSOLE_WRITE wrapping around: -EFAULT");
    memset(big, '#', sizeof(big));
    long r = hc_console_write(big, sizeof(big));
    CHECKF(r == -PL_EINVAL || r == -PL_E2BIG, "HC_CONSOLE_WRITE longer than HC_CONSOLE_MAX fails",
           "got %ld, expected -EINVAL or -E2BIG", r);

    CHECK_EQ(hc_yield(), 0, "HC_YIELD");
    r = hc_set_timer(1000000, 8);
    CHECKF(r == -PL_EINVAL || r == -PL_ERANGE, "HC_SET_TIMER with vector 8 fails", "got %ld", r);
    r = hc_set_timer(1000000, 256);
    CHECKF(r == -PL_EINVAL || r == -PL_ERANGE, "HC_SET_TIMER with vector 256 fails", "got %ld", r);

    CHECK_EQ(hc_exit_stats((void *)OUTSIDE_RAM), -PL_EFAULT, "HC_EXIT_STATS outside RAM: -EFAULT");
    memset(&st, 0, sizeof(st));
    unsigned long made = hypercalls_made; /* before this call: it may be counted after it returns */
    CHECK_EQ(hc_exit_stats(&st), 0, "HC_EXIT_STATS");
    uint64_t hc = st.count[PLINTH_EXIT_HYPERCALL], ud = st.count[PLINTH_EXIT_EXCEPTION];
    printf("hypercall: stats total %lu, hypercall %lu, exception %lu, cpuid %lu, io %lu; made %lu hypercalls\n",
           st.total, hc, ud, st.count[PLINTH_EXIT_CPUID], st.count[PLINTH_EXIT_IO], made);
    CHECK(st.total > 0, "exit stats: total > 0");
    CHECK(st.total >= hc, "exit stats: total >= hypercall exits");
    /* The foreign instruction may exit as #UD (counted as an exception). */
    CHECKF(hc + ud >= made, "exit stats count every hypercall", "hypercall %lu + exception %lu < %lu", hc, ud,
           made);
    cpuid(0, 0);
    CHECK_EQ(hc_exit_stats(&st2), 0, "HC_EXIT_STATS again");
    CHECK(st2.count[PLINTH_EXIT_CPUID] > st.count[PLINTH_EXIT_CPUID], "exit stats: CPUID count grows");
    CHECK(st2.count[PLINTH_EXIT_HYPERCALL] + st2.count[PLINTH_EXIT_EXCEPTION] > hc + ud,
          "exit stats: hypercall count grows");
    CHECK(st2.total > st.total, "exit stats: total grows");
    return tests_failed();
}
