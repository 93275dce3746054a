/* Virtual machine control block, AMD APM Vol. 2 appendix B (tables B-1,
 * B-2). Offsets are checked at compile time. */
#ifndef ARCH_X86_SVM_VMCB_H
#define ARCH_X86_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

struct __attribute__((packed)) vmcb_seg {
    uint16_t selector;
    uint16_t attrib;
    uint32_t limit;
    uint64_t base;
};

struct __attribute__((packed)) vmcb_control {
    uint32_t intercept_cr;        /* 0x000: reads 15:0, writes 31:16 */
    uint32_t intercept_dr;        /* 0x004 */
    uint32_t intercept_exceptions;/* 0x008 */
    uint32_t intercept_misc1;     /* 0x00C */
    uint32_t intercept_misc2;     /* 0x010 */
    uint8_t reserved0[0x03C - 0x014];
    uint16_t pause_filter_threshold;
    uint16_t pause_filter_count;
    uint64_t iopm_base_pa;        /* 0x040 */
    uint64_t msrpm_base_pa;       /* 0x048 */
    uint64_t tsc_offset;          /* 0x050 */
    uint32_t guest_asid;          /* 0x058 */
    uint8_t tlb_control;          /* 0x05C */
    uint8_t reserved1[3];
    uint32_t int_ctl;             /* 0x060: V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING */
    uint32_t int_vector;          /* 0x064 */
    uint64_t int_state;           /* 0x068: bit 0 interrupt shadow */
    uint64_t exit_code;           /* 0x070 */
    uint64_t exit_info1;          /* 0x078 */
    uint64_t exit_info2;          /* 0x080 */
    uint32_t exit_int_info;       /* 0x088 */
    uint32_t exit_int_info_err;   /* 0x08C */
    uint64_t nested_ctl;          /* 0x090: bit 0 NP_ENABLE */
    uint64_t avic_bar;            /* 0x098 */
    uint64_t ghcb_pa;             /* 0x0A0 */
    uint32_t event_inj;           /* 0x0A8 */
    uint32_t event_inj_err;       /* 0x0AC */
    uint64_t nested_cr3;          /* 0x0B0 */
    uint64_t virt_ext;            /* 0x0B8 */
    uint32_t clean;               /* 0x0C0 */
    uint32_t reserved2;
    uint64_t next_rip;            /* 0x0C8 */
    uint8_t insn_len;             /* 0x0D0 */
    uint8_t insn_bytes[15];       /* 0x0D1 */
    uint8_t reserved3[0x400 - 0x0E0];
};

struct __attribute__((packed)) vmcb_save {
    struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400.. */
    uint8_t reserved0[0x4CB - 0x4A0];
    uint8_t cpl;                  /* 0x4CB */
    uint32_t reserved1;
    uint64_t efer;                /* 0x4D0 */
    uint8_t reserved2[0x548 - 0x4D8];
    uint64_t cr4;                 /* 0x548 */
    uint64_t cr3;
    uint64_t cr0;
    uint64_t dr7;
    uint64_t dr6;
    uint64_t rflags;              /* 0x570 */
    uint64_t rip;                 /* 0x578 */
    uint8_t reserved3[0x5D8 - 0x580];
    uint64_t rsp;                 /* 0x5D8 */
    uint8_t reserved4[0x5F8 - 0x5E0];
    uint64_t rax;                 /* 0x5F8 */
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t cr2;                 /* 0x640 */
    uint8_t reserved5[0x668 - 0x648];
    uint64_t g_pat;               /* 0x668 */
    uint8_t reserved6[0x1000 - 0x670];
};

struct vmcb {
    struct vmcb_control control;
    struct vmcb_save save;
};

#define VMCB_CHECK(field, off) _Static_assert(offsetof(struct vmcb, field) == (off), #field)
VMCB_CHECK(control.iopm_base_pa, 0x040);
VMCB_CHECK(control.guest_asid, 0x058);
VMCB_CHECK(control.int_ctl, 0x060);
VMCB_CHECK(control.exit_code, 0x070);
VMCB_CHECK(control.exit_int_info, 0x088);
VMCB_CHECK(control.event_inj, 0x0A8);
VMCB_CHECK(control.nested_cr3, 0x0B0);
VMCB_CHECK(control.clean, 0x0C0);
VMCB_CHECK(control.next_rip, 0x0C8);
VMCB_CHECK(save.es, 0x400);
VMCB_CHECK(save.tr, 0x490);
VMCB_CHECK(save.cpl, 0x4CB);
VMCB_CHECK(save.efer, 0x4D0);
VMCB_CHECK(save.cr4, 0x548);
VMCB_CHECK(save.rflags, 0x570);
VMCB_CHECK(save.rip, 0x578);
VMCB_CHECK(save.rsp, 0x5D8);
VMCB_CHECK(save.rax, 0x5F8);
VMCB_CHECK(save.cr2, 0x640);
VMCB_CHECK(save.g_pat, 0x668);
_Static_assert(sizeof(struct vmcb) == 0x1000, "VMCB is one page");

/* Intercept bits, APM Vol. 2 table B-1 */
#define SVM_INTERCEPT1_INTR (1u << 0)
#define SVM_INTERCEPT1_NMI (1u << 1)
#define SVM_INTERCEPT1_INIT (1u << 3)
#define SVM_INTERCEPT1_VINTR (1u << 4)
#define SVM_INTERCEPT1_CPUID (1u << 18)
#define SVM_INTERCEPT1_INVD (1u << 22)
#define SVM_INTERCEPT1_HLT (1u << 24)
#define SVM_INTERCEPT1_IOIO (1u << 27)
#define SVM_INTERCEPT1_MSR (1u << 28)
#define SVM_INTERCEPT1_TASKSWITCH (1u << 29)
#define SVM_INTERCEPT1_SHUTDOWN (1u << 31)
#define SVM_INTERCEPT2_VMRUN (1u << 0)
#define SVM_INTERCEPT2_VMMCALL (1u << 1)
#define SVM_INTERCEPT2_VMLOAD (1u << 2)
#define SVM_INTERCEPT2_VMSAVE (1u << 3)
#define SVM_INTERCEPT2_STGI (1u << 4)
#define SVM_INTERCEPT2_CLGI (1u << 5)
#define SVM_INTERCEPT2_SKINIT (1u << 6)
#define SVM_INTERCEPT2_XSETBV (1u << 13)

/* int_ctl */
#define SVM_V_IRQ (1u << 8)
#define SVM_V_IGN_TPR (1u << 20)
#define SVM_V_INTR_MASKING (1u << 24)

/* EVENTINJ / EXITINTINFO, APM Vol. 2 15.20 */
#define SVM_EVT_VALID (1u << 31)
#define SVM_EVT_ERROR_VALID (1u << 11)
#define SVM_EVT_TYPE_SHIFT 8
#define SVM_EVT_TYPE_INTR 0
#define SVM_EVT_TYPE_NMI 2
#define SVM_EVT_TYPE_EXCEPTION 3
#define SVM_EVT_TYPE_SOFTINT 4

/* TLB_CONTROL, APM Vol. 2 15.16.2 */
#define SVM_TLB_FLUSH_NOTHING 0
#define SVM_TLB_FLUSH_ALL 1
#define SVM_TLB_FLUSH_ASID 3

/* Exit codes, APM Vol. 2 appendix C */
#define SVM_EXIT_EXCP_BASE 0x40
#define SVM_EXIT_INTR 0x60
#define SVM_EXIT_NMI 0x61
#define SVM_EXIT_INIT 0x63
#define SVM_EXIT_VINTR 0x64
#define SVM_EXIT_CPUID 0x72
#define SVM_EXIT_HLT 0x78
#define SVM_EXIT_IOIO 0x7B
#define SVM_EXIT_MSR 0x7C
#define SVM_EXIT_SHUTDOWN 0x7F
#define SVM_EXIT_VMRUN 0x80
#define SVM_EXIT_VMMCALL 0x81
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID ((uint64_t)-1)

/* IOIO EXITINFO1, APM Vol. 2 15.10.2 */
#define SVM_IOIO_IN (1u << 0)
#define SVM_IOIO_STR (1u << 2)
#define SVM_IOIO_REP (1u << 3)
#define SVM_IOIO_SZ8 (1u << 4)
#define SVM_IOIO_SZ16 (1u << 5)
#define SVM_IOIO_SZ32 (1u << 6)
#define SVM_IOIO_PORT_SHIFT 16

/* NPF EXITINFO1 (a #PF-style error code), APM Vol. 2 15.25.6 */
#define SVM_NPF_PRESENT (1ull << 0)
#define SVM_NPF_WRITE (1ull << 1)
#define SVM_NPF_FETCH (1ull << 4)

/* Clean bits, APM Vol. 2 15.15.3 */
#define SVM_CLEAN_INTERCEPTS (1u << 0)
#define SVM_CLEAN_IOPM (1u << 1)
#define SVM_CLEAN_ASID (1u << 2)
#define SVM_CLEAN_TPR (1u << 3)
#define SVM_CLEAN_NP (1u << 4)
#define SVM_CLEAN_CRX (1u << 5)
#define SVM_CLEAN_DRX (1u << 6)
#define SVM_CLEAN_DT (1u << 7)
#define SVM_CLEAN_SEG (1u << 8)
#define SVM_CLEAN_CR2 (1u << 9)
#define SVM_CLEAN_ALL 0x3FFu

#endif
