/* SPDX-License-Identifier: MIT */
/*
 * Plinth hypercall ABI, version 1 (see docs/hypercalls.md).
 *
 * A guest calls the hypervisor with VMCALL (0F 01 C1) or VMMCALL (0F 01 D9);
 * both work on Intel and AMD CPUs. Registers:
 *   RAX  hypercall number in, result out (>= 0 success, -PL_E* error)
 *   RDI, RSI, RDX, R10, R8  arguments 1..5
 * All other registers are preserved. Pointers are guest-physical addresses;
 * a buffer must lie wholly inside the caller's RAM or the call fails with
 * -PL_EFAULT. An unknown number returns -PL_ENOSYS.
 */
#ifndef PLINTH_HYPERCALL_H
#define PLINTH_HYPERCALL_H

#include <stdint.h>

/* CPUID leaves reported to guests (leaf 0x40000000: EAX = highest leaf,
 * EBX ECX EDX = "PlinthPlinth"; leaf 0x40000001: EAX = ABI version
 * (major << 16 | minor)). */
#define PLINTH_CPUID_BASE 0x40000000u
#define PLINTH_CPUID_VERSION 0x40000001u
#define PLINTH_CPUID_SIGNATURE "PlinthPlinth"

#define HC_VERSION 0        /* () -> ABI version (major << 16 | minor) */
#define HC_CONSOLE_WRITE 1  /* (gpa buf, len <= HC_CONSOLE_MAX) -> bytes written */
#define HC_YIELD 2          /* () -> 0 */
#define HC_SET_TIMER 3      /* (ns from now, vector 32..255; 0 ns cancels) -> 0 */
#define HC_SHUTDOWN 4       /* (reason) -> does not return */
#define HC_EXIT_STATS 5     /* (gpa of struct plinth_exit_stats) -> 0 */
#define HC_VCPU_UP 6        /* (vcpu, rip, rsp, arg) -> 0: start a secondary vCPU */
/* Management: the control domain (dom0) only; any other caller gets
 * -PL_EPERM. A domain id that does not exist gives -PL_ENOENT. */
#define HC_DOMAIN_INFO 7    /* (domid, gpa of struct plinth_domain_info) -> 0 */
#define HC_DOMAIN_PAUSE 8   /* (domid) -> 0 */
#define HC_DOMAIN_UNPAUSE 9 /* (domid) -> 0 */
#define HC_DOMAIN_DESTROY 10 /* (domid) -> 0: stops it; its memory is freed once its vCPUs are off their CPUs */
#define HC_DOMAIN_SET_SCHED 11 /* (domid, weight 1..65535, cap 0..100*CPUs) -> 0 */
/* (gpa buf, len <= HC_LOG_READ_MAX, gpa of a uint64_t stream position, in
 * and out) -> bytes copied: the hypervisor log (the last 64 KiB of it). A
 * position older than what is kept moves to the oldest byte kept. */
#define HC_LOG_READ 12
#define HC_COUNT 13

#define HC_LOG_READ_MAX 4096

#define DOMAIN_STATE_RUNNING 1
#define DOMAIN_STATE_PAUSED 2
#define DOMAIN_STATE_STOPPED 3

#define DOMAIN_FLAG_PRIVILEGED (1u << 0)
#define DOMAIN_FLAG_CRASHED (1u << 1)

struct plinth_domain_info {
    uint32_t id;
    uint32_t state;        /* DOMAIN_STATE_* */
    uint32_t flags;        /* DOMAIN_FLAG_* */
    uint32_t vcpus;
    uint32_t weight, cap;
    uint64_t mem_bytes;
    uint64_t cpu_time_ns;  /* all its vCPUs, so far */
    char name[32];         /* NUL-terminated */
};

#define HC_CONSOLE_MAX 4096

#define SHUTDOWN_POWEROFF 0
#define SHUTDOWN_REBOOT 1
#define SHUTDOWN_CRASH 2

/* Normalised exit reasons, as counted per vCPU. */
#define PLINTH_EXIT_CPUID 0
#define PLINTH_EXIT_MSR_READ 1
#define PLINTH_EXIT_MSR_WRITE 2
#define PLINTH_EXIT_IO 3
#define PLINTH_EXIT_HLT 4
#define PLINTH_EXIT_HYPERCALL 5
#define PLINTH_EXIT_MEMORY 6       /* EPT violation / nested page fault */
#define PLINTH_EXIT_EXTINT 7       /* host interrupt or preemption timer */
#define PLINTH_EXIT_INTR_WINDOW 8
#define PLINTH_EXIT_EXCEPTION 9    /* intercepted guest exception (#UD) */
#define PLINTH_EXIT_SHUTDOWN 10    /* triple fault / shutdown */
#define PLINTH_EXIT_INIT 11
#define PLINTH_EXIT_INVALID 12     /* invalid guest state / VMRUN failure */
#define PLINTH_EXIT_OTHER 13
#define PLINTH_EXIT_REASONS 14

struct plinth_exit_stats {
    uint64_t count[PLINTH_EXIT_REASONS];
    uint64_t total;
};

#endif
