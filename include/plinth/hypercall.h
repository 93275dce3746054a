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
/* (gpa of struct plinth_domain_create) -> new domain id: a domain built
 * from an ELF image in the caller's RAM; it starts running at once. */
#define HC_DOMAIN_CREATE 13
/* (domid, gpa buf, len <= HC_CONSOLE_READ_MAX, gpa of a uint64_t stream
 * position, in and out) -> bytes copied: the domain's console output (the
 * last 4 KiB of it), as HC_LOG_READ does for the hypervisor log. */
#define HC_CONSOLE_READ 14
#define HC_VCPU_INFO 15     /* (domid, vcpu, gpa of struct plinth_vcpu_info) -> 0 */
/* (domid, vcpu or VCPU_ALL, CPU mask) -> 0: hard affinity; the mask must
 * hold an online CPU. A running vCPU moves at its next scheduling point. */
#define HC_VCPU_SET_AFFINITY 16
/* (domid of the previous one, 0 to start) -> the next larger domain id in
 * use, or -PL_ENOENT after the last. */
#define HC_DOMAIN_NEXT 17
#define HC_PLATFORM_INFO 18 /* (gpa of struct plinth_platform_info) -> 0 */
/* Devices (the control domain only; it owns the physical devices). */
/* (gpa of a uint64_t array, entries) -> number of 2 MiB chunks of the
 * caller's RAM; entry i (as many as fit) is the host-physical address of
 * guest-physical [i * 2 MiB, (i + 1) * 2 MiB): what a device must be given
 * for DMA. A DMA buffer must not cross a 2 MiB boundary. */
#define HC_MEMORY_MAP 19
/* (gsi, vector 32..255, IRQ_FLAG_*) -> the GSI used: route the physical interrupt line
 * gsi (an IOAPIC input) to the caller's vCPU 0 as `vector`. A line the
 * hypervisor owns (its UART, the timer) gives -PL_EBUSY; -PL_ENOENT for a
 * gsi no IOAPIC has. A level-triggered line is masked when it fires until
 * the caller calls HC_IRQ_DONE. vector 0 unbinds. */
#define HC_IRQ_BIND 20
#define HC_IRQ_DONE 21      /* (gsi) -> 0: unmask a level-triggered line after handling it */
/* 22..28: event channels (include/plinth/evtchn.h); 29..33: device models
 * (include/plinth/ioreq.h); 35..40: grant tables (include/plinth/grant.h). */
/* (PCI bdf = bus << 8 | device << 3 | function, vector 32..255 or 0 to
 * stop) -> 0: the hypervisor programs the function's MSI capability (one
 * message) and raises `vector` on the caller's vCPU 0 for each message.
 * -PL_ENOENT: no such function or no MSI capability; -PL_EBUSY: bound by
 * another domain; -PL_ENOSPC: no host vector left. The control domain's
 * own writes to MSI and MSI-X capabilities are ignored. */
#define HC_MSI_BIND 34
#define HC_COUNT 41

#define HC_LOG_READ_MAX 4096
#define HC_CONSOLE_READ_MAX 4096

#define VCPU_ALL 0xFFFFFFFFu

#define IRQ_FLAG_LEVEL (1u << 0)      /* level triggered (else edge) */
#define IRQ_FLAG_ACTIVE_LOW (1u << 1) /* active low (else high) */
/* gsi is an ISA IRQ number: the hypervisor maps it through the firmware's
 * interrupt source overrides (ACPI MADT) to a GSI, trigger and polarity,
 * and ignores the two flags above. */
#define IRQ_FLAG_ISA (1u << 2)

#define DOMAIN_CREATE_NAME_MAX 32
/* Created paused (HC_DOMAIN_UNPAUSE starts it): time to attach its
 * device models before its first instruction. */
#define DOMAIN_CREATE_PAUSED (1u << 0)
#define DOMAIN_CREATE_CMDLINE_MAX 256

struct plinth_domain_create {
    char name[DOMAIN_CREATE_NAME_MAX];   /* NUL-terminated, 1..31 characters */
    uint64_t mem_bytes;                  /* rounded up to 2 MiB; 4 MiB..1 GiB */
    uint32_t vcpus;                      /* 1..8 */
    uint32_t weight;                     /* 0: default (256); else 1..65535 */
    uint32_t cap;                        /* 0: none; else percent of one CPU */
    uint32_t flags;                      /* DOMAIN_CREATE_*; other bits must be 0 */
    uint64_t affinity;                   /* CPU mask; 0: any */
    uint64_t image_gpa, image_size;      /* ELF image in the caller's RAM */
    char cmdline[DOMAIN_CREATE_CMDLINE_MAX]; /* NUL-terminated */
};

#define VCPU_STATE_OFFLINE 0   /* not started yet */
#define VCPU_STATE_RUNNING 1   /* on a CPU now */
#define VCPU_STATE_RUNNABLE 2  /* waiting for a CPU */
#define VCPU_STATE_BLOCKED 3   /* halted until an interrupt */
#define VCPU_STATE_PAUSED 4
#define VCPU_STATE_STOPPED 5

struct plinth_vcpu_info {
    uint32_t vcpu;
    uint32_t state;        /* VCPU_STATE_* */
    int32_t cpu;           /* physical CPU it runs on or last ran on; -1 never ran */
    uint32_t reserved;
    uint64_t affinity;     /* CPU mask */
    uint64_t cpu_time_ns;
    uint64_t exits;
};

struct plinth_platform_info {
    uint32_t abi_version;   /* major << 16 | minor */
    uint32_t cpus;          /* online */
    uint64_t mem_total;     /* bytes of RAM the hypervisor manages */
    uint64_t mem_free;      /* bytes free for new domains */
    uint64_t tsc_khz;
    uint32_t domains;       /* live */
    uint32_t reserved;
    char virt[16];          /* "VT-x" or "AMD-V" */
    char version[16];       /* PLINTH_VERSION_STRING */
};

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
