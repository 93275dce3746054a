/* VMX constants: capability MSRs (SDM Vol. 3D appendix A), VMCS field
 * encodings (appendix B), VM-execution/exit/entry control bits (SDM Vol. 3C
 * 25.6-25.8), exit reasons (appendix C) and the VMX instructions as inline
 * helpers. */
#ifndef ARCH_X86_VMX_VMCS_H
#define ARCH_X86_VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

/* ---- MSRs (SDM Vol. 4 table 2-2, Vol. 3D appendix A) ---- */
#define MSR_IA32_FEATURE_CONTROL 0x3A
#define FEATURE_CONTROL_LOCKED (1ull << 0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1ull << 2)
#define MSR_IA32_PAT 0x277
#define MSR_IA32_SYSENTER_CS 0x174

#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED_CTLS 0x481
#define MSR_VMX_PROCBASED_CTLS 0x482
#define MSR_VMX_EXIT_CTLS 0x483
#define MSR_VMX_ENTRY_CTLS 0x484
#define MSR_VMX_MISC 0x485
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_PROCBASED_CTLS2 0x48B
#define MSR_VMX_EPT_VPID_CAP 0x48C
#define MSR_VMX_TRUE_PINBASED_CTLS 0x48D
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48E
#define MSR_VMX_TRUE_EXIT_CTLS 0x48F
#define MSR_VMX_TRUE_ENTRY_CTLS 0x490

/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION_MASK 0x7FFFFFFFull   /* bits 30:0 */
#define VMX_BASIC_REGION_SIZE(b) (((b) >> 32) & 0x1FFF)
#define VMX_BASIC_32BIT_ADDRESSES (1ull << 48)
#define VMX_BASIC_MEMTYPE(b) (((b) >> 50) & 0xF)
#define VMX_BASIC_TRUE_CTLS (1ull << 55)

/* IA32_VMX_MISC (A.6) */
#define VMX_MISC_PREEMPT_RATE(m) ((m) & 0x1F)   /* timer ticks every 2^rate TSC cycles */
#define VMX_MISC_EXIT_SAVES_LMA (1ull << 5)
#define VMX_MISC_ZERO_LEN_INJECT (1ull << 30)

/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_WALK_LENGTH_4 (1ull << 6)
#define EPT_CAP_MEMTYPE_WB (1ull << 14)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)
#define VPID_CAP_INVVPID (1ull << 32)
#define VPID_CAP_INVVPID_SINGLE (1ull << 41)
#define VPID_CAP_INVVPID_ALL (1ull << 42)

/* EPTP (25.6.11): memory type WB (bits 2:0 = 6), walk length - 1 (bits 5:3 = 3) */
#define EPTP_MEMTYPE_WB 6ull
#define EPTP_WALK_4 (3ull << 3)

/* INVEPT / INVVPID types (SDM Vol. 3C 31.3) */
#define INVEPT_SINGLE_CONTEXT 1ull
#define INVEPT_ALL_CONTEXT 2ull
#define INVVPID_SINGLE_CONTEXT 1ull
#define INVVPID_ALL_CONTEXT 2ull

/* ---- control bits ---- */
/* Pin-based VM-execution controls (25.6.1, table 25-5) */
#define PIN_EXTINT_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)

/* Primary processor-based VM-execution controls (25.6.2, table 25-6) */
#define PROC_INTR_WINDOW_EXITING (1u << 2)
#define PROC_TSC_OFFSETTING (1u << 3)
#define PROC_HLT_EXITING (1u << 7)
#define PROC_INVLPG_EXITING (1u << 9)
#define PROC_MWAIT_EXITING (1u << 10)
#define PROC_RDPMC_EXITING (1u << 11)
#define PROC_RDTSC_EXITING (1u << 12)
#define PROC_CR3_LOAD_EXITING (1u << 15)
#define PROC_CR3_STORE_EXITING (1u << 16)
#define PROC_CR8_LOAD_EXITING (1u << 19)
#define PROC_CR8_STORE_EXITING (1u << 20)
#define PROC_TPR_SHADOW (1u << 21)
#define PROC_NMI_WINDOW_EXITING (1u << 22)
#define PROC_MOV_DR_EXITING (1u << 23)
#define PROC_UNCOND_IO_EXITING (1u << 24)
#define PROC_USE_IO_BITMAPS (1u << 25)
#define PROC_MONITOR_TRAP_FLAG (1u << 27)
#define PROC_USE_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR_EXITING (1u << 29)
#define PROC_PAUSE_EXITING (1u << 30)
#define PROC_SECONDARY_CONTROLS (1u << 31)

/* Secondary processor-based VM-execution controls (25.6.2, table 25-7) */
#define PROC2_VIRT_APIC_ACCESSES (1u << 0)
#define PROC2_ENABLE_EPT (1u << 1)
#define PROC2_DESC_TABLE_EXITING (1u << 2)
#define PROC2_ENABLE_RDTSCP (1u << 3)
#define PROC2_VIRT_X2APIC (1u << 4)
#define PROC2_ENABLE_VPID (1u << 5)
#define PROC2_WBINVD_EXITING (1u << 6)
#define PROC2_UNRESTRICTED_GUEST (1u << 7)
#define PROC2_ENABLE_INVPCID (1u << 12)
#define PROC2_ENABLE_VMFUNC (1u << 13)
#define PROC2_VMCS_SHADOWING (1u << 14)
#define PROC2_ENABLE_XSAVES (1u << 20)

/* VM-exit controls (25.7.1, table 25-13) */
#define EXIT_SAVE_DEBUG_CONTROLS (1u << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE (1u << 9)
#define EXIT_LOAD_PERF_GLOBAL_CTRL (1u << 12)
#define EXIT_ACK_INTR_ON_EXIT (1u << 15)
#define EXIT_SAVE_IA32_PAT (1u << 18)
#define EXIT_LOAD_IA32_PAT (1u << 19)
#define EXIT_SAVE_IA32_EFER (1u << 20)
#define EXIT_LOAD_IA32_EFER (1u << 21)
#define EXIT_SAVE_PREEMPTION_TIMER (1u << 22)

/* VM-entry controls (25.8.1, table 25-15) */
#define ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define ENTRY_IA32E_MODE_GUEST (1u << 9)
#define ENTRY_TO_SMM (1u << 10)
#define ENTRY_DEACT_DUAL_MONITOR (1u << 11)
#define ENTRY_LOAD_PERF_GLOBAL_CTRL (1u << 13)
#define ENTRY_LOAD_IA32_PAT (1u << 14)
#define ENTRY_LOAD_IA32_EFER (1u << 15)

/* ---- VMCS field encodings (appendix B) ---- */
enum vmcs_field {
    /* 16-bit control (B.1.1) */
    VMCS_VPID = 0x0000,
    /* 16-bit guest state (B.1.2) */
    GUEST_ES_SELECTOR = 0x0800,
    GUEST_CS_SELECTOR = 0x0802,
    GUEST_SS_SELECTOR = 0x0804,
    GUEST_DS_SELECTOR = 0x0806,
    GUEST_FS_SELECTOR = 0x0808,
    GUEST_GS_SELECTOR = 0x080A,
    GUEST_LDTR_SELECTOR = 0x080C,
    GUEST_TR_SELECTOR = 0x080E,
    /* 16-bit host state (B.1.3) */
    HOST_ES_SELECTOR = 0x0C00,
    HOST_CS_SELECTOR = 0x0C02,
    HOST_SS_SELECTOR = 0x0C04,
    HOST_DS_SELECTOR = 0x0C06,
    HOST_FS_SELECTOR = 0x0C08,
    HOST_GS_SELECTOR = 0x0C0A,
    HOST_TR_SELECTOR = 0x0C0C,
    /* 64-bit control (B.2.1) */
    IO_BITMAP_A = 0x2000,
    IO_BITMAP_B = 0x2002,
    MSR_BITMAP = 0x2004,
    VM_EXIT_MSR_STORE_ADDR = 0x2006,
    VM_EXIT_MSR_LOAD_ADDR = 0x2008,
    VM_ENTRY_MSR_LOAD_ADDR = 0x200A,
    TSC_OFFSET = 0x2010,
    EPT_POINTER = 0x201A,
    XSS_EXIT_BITMAP = 0x202C,
    /* 64-bit read-only data (B.2.2) */
    GUEST_PHYSICAL_ADDRESS = 0x2400,
    /* 64-bit guest state (B.2.3) */
    VMCS_LINK_POINTER = 0x2800,
    GUEST_IA32_DEBUGCTL = 0x2802,
    GUEST_IA32_PAT = 0x2804,
    GUEST_IA32_EFER = 0x2806,
    GUEST_PDPTE0 = 0x280A,
    GUEST_PDPTE1 = 0x280C,
    GUEST_PDPTE2 = 0x280E,
    GUEST_PDPTE3 = 0x2810,
    /* 64-bit host state (B.2.4) */
    HOST_IA32_PAT = 0x2C00,
    HOST_IA32_EFER = 0x2C02,
    /* 32-bit control (B.3.1) */
    PIN_BASED_VM_EXEC_CONTROL = 0x4000,
    CPU_BASED_VM_EXEC_CONTROL = 0x4002,
    EXCEPTION_BITMAP = 0x4004,
    PAGE_FAULT_ERROR_CODE_MASK = 0x4006,
    PAGE_FAULT_ERROR_CODE_MATCH = 0x4008,
    CR3_TARGET_COUNT = 0x400A,
    VM_EXIT_CONTROLS = 0x400C,
    VM_EXIT_MSR_STORE_COUNT = 0x400E,
    VM_EXIT_MSR_LOAD_COUNT = 0x4010,
    VM_ENTRY_CONTROLS = 0x4012,
    VM_ENTRY_MSR_LOAD_COUNT = 0x4014,
    VM_ENTRY_INTR_INFO = 0x4016,
    VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018,
    VM_ENTRY_INSTRUCTION_LEN = 0x401A,
    TPR_THRESHOLD = 0x401C,
    SECONDARY_VM_EXEC_CONTROL = 0x401E,
    /* 32-bit read-only data (B.3.2) */
    VM_INSTRUCTION_ERROR = 0x4400,
    VM_EXIT_REASON = 0x4402,
    VM_EXIT_INTR_INFO = 0x4404,
    VM_EXIT_INTR_ERROR_CODE = 0x4406,
    IDT_VECTORING_INFO = 0x4408,
    IDT_VECTORING_ERROR_CODE = 0x440A,
    VM_EXIT_INSTRUCTION_LEN = 0x440C,
    VMX_INSTRUCTION_INFO = 0x440E,
    /* 32-bit guest state (B.3.3) */
    GUEST_ES_LIMIT = 0x4800,
    GUEST_CS_LIMIT = 0x4802,
    GUEST_SS_LIMIT = 0x4804,
    GUEST_DS_LIMIT = 0x4806,
    GUEST_FS_LIMIT = 0x4808,
    GUEST_GS_LIMIT = 0x480A,
    GUEST_LDTR_LIMIT = 0x480C,
    GUEST_TR_LIMIT = 0x480E,
    GUEST_GDTR_LIMIT = 0x4810,
    GUEST_IDTR_LIMIT = 0x4812,
    GUEST_ES_AR_BYTES = 0x4814,
    GUEST_CS_AR_BYTES = 0x4816,
    GUEST_SS_AR_BYTES = 0x4818,
    GUEST_DS_AR_BYTES = 0x481A,
    GUEST_FS_AR_BYTES = 0x481C,
    GUEST_GS_AR_BYTES = 0x481E,
    GUEST_LDTR_AR_BYTES = 0x4820,
    GUEST_TR_AR_BYTES = 0x4822,
    GUEST_INTERRUPTIBILITY_INFO = 0x4824,
    GUEST_ACTIVITY_STATE = 0x4826,
    GUEST_SYSENTER_CS = 0x482A,
    VMX_PREEMPTION_TIMER_VALUE = 0x482E,
    /* 32-bit host state (B.3.4) */
    HOST_IA32_SYSENTER_CS = 0x4C00,
    /* natural-width control (B.4.1) */
    CR0_GUEST_HOST_MASK = 0x6000,
    CR4_GUEST_HOST_MASK = 0x6002,
    CR0_READ_SHADOW = 0x6004,
    CR4_READ_SHADOW = 0x6006,
    /* natural-width read-only data (B.4.2) */
    EXIT_QUALIFICATION = 0x6400,
    GUEST_LINEAR_ADDRESS = 0x640A,
    /* natural-width guest state (B.4.3) */
    GUEST_CR0 = 0x6800,
    GUEST_CR3 = 0x6802,
    GUEST_CR4 = 0x6804,
    GUEST_ES_BASE = 0x6806,
    GUEST_CS_BASE = 0x6808,
    GUEST_SS_BASE = 0x680A,
    GUEST_DS_BASE = 0x680C,
    GUEST_FS_BASE = 0x680E,
    GUEST_GS_BASE = 0x6810,
    GUEST_LDTR_BASE = 0x6812,
    GUEST_TR_BASE = 0x6814,
    GUEST_GDTR_BASE = 0x6816,
    GUEST_IDTR_BASE = 0x6818,
    GUEST_DR7 = 0x681A,
    GUEST_RSP = 0x681C,
    GUEST_RIP = 0x681E,
    GUEST_RFLAGS = 0x6820,
    GUEST_PENDING_DBG_EXCEPTIONS = 0x6822,
    GUEST_SYSENTER_ESP = 0x6824,
    GUEST_SYSENTER_EIP = 0x6826,
    /* natural-width host state (B.4.4) */
    HOST_CR0 = 0x6C00,
    HOST_CR3 = 0x6C02,
    HOST_CR4 = 0x6C04,
    HOST_FS_BASE = 0x6C06,
    HOST_GS_BASE = 0x6C08,
    HOST_TR_BASE = 0x6C0A,
    HOST_GDTR_BASE = 0x6C0C,
    HOST_IDTR_BASE = 0x6C0E,
    HOST_IA32_SYSENTER_ESP = 0x6C10,
    HOST_IA32_SYSENTER_EIP = 0x6C12,
    HOST_RSP = 0x6C14,
    HOST_RIP = 0x6C16,
};

/* Segment access rights in the VMCS (25.4.1, table 25-2) */
#define VMX_AR_UNUSABLE (1u << 16)
#define VMX_AR_DPL(ar) (((ar) >> 5) & 3)
#define VMX_AR_TYPE_MASK 0xFu
#define VMX_AR_TYPE_BUSY_TSS 11u

/* Guest interruptibility state (25.4.2, table 25-3) */
#define INTR_BLOCKING_STI (1u << 0)
#define INTR_BLOCKING_MOV_SS (1u << 1)
#define INTR_BLOCKING_NMI (1u << 3)

/* VM-entry / VM-exit interruption information and IDT-vectoring
 * information (25.8.3, 28.2.2, 28.2.4) */
#define INTR_INFO_VECTOR_MASK 0xFFu
#define INTR_INFO_TYPE_SHIFT 8
#define INTR_INFO_TYPE_MASK (7u << 8)
#define INTR_INFO_ERROR_VALID (1u << 11)
#define INTR_INFO_NMI_UNBLOCK_IRET (1u << 12)
#define INTR_INFO_VALID (1u << 31)
#define INTR_TYPE_EXT_INTR 0u
#define INTR_TYPE_NMI 2u
#define INTR_TYPE_HW_EXCEPTION 3u
#define INTR_TYPE_SW_INTR 4u
#define INTR_TYPE_PRIV_SW_EXCEPTION 5u
#define INTR_TYPE_SW_EXCEPTION 6u

/* Basic exit reasons (appendix C) */
#define EXIT_REASON_EXCEPTION_NMI 0
#define EXIT_REASON_EXTERNAL_INTERRUPT 1
#define EXIT_REASON_TRIPLE_FAULT 2
#define EXIT_REASON_INIT 3
#define EXIT_REASON_SIPI 4
#define EXIT_REASON_INTERRUPT_WINDOW 7
#define EXIT_REASON_NMI_WINDOW 8
#define EXIT_REASON_TASK_SWITCH 9
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_HLT 12
#define EXIT_REASON_INVD 13
#define EXIT_REASON_VMCALL 18
#define EXIT_REASON_VMCLEAR 19
#define EXIT_REASON_VMXON 27
#define EXIT_REASON_CR_ACCESS 28
#define EXIT_REASON_IO 30
#define EXIT_REASON_MSR_READ 31
#define EXIT_REASON_MSR_WRITE 32
#define EXIT_REASON_INVALID_GUEST_STATE 33
#define EXIT_REASON_MSR_LOADING 34
#define EXIT_REASON_MACHINE_CHECK 41
#define EXIT_REASON_EPT_VIOLATION 48
#define EXIT_REASON_EPT_MISCONFIG 49
#define EXIT_REASON_PREEMPTION_TIMER 52
#define EXIT_REASON_XSETBV 55
#define EXIT_REASON_BASIC_MASK 0xFFFFu
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* Exit qualification for control-register accesses (28.2.1, table 28-3) */
#define CR_QUAL_NUMBER(q) ((unsigned)((q) & 0xF))
#define CR_QUAL_ACCESS(q) ((unsigned)(((q) >> 4) & 3))
#define CR_QUAL_GPR(q) ((unsigned)(((q) >> 8) & 0xF))
#define CR_QUAL_LMSW_DATA(q) ((uint16_t)((q) >> 16))
#define CR_ACCESS_MOV_TO 0
#define CR_ACCESS_MOV_FROM 1
#define CR_ACCESS_CLTS 2
#define CR_ACCESS_LMSW 3

/* Exit qualification for I/O instructions (28.2.1, table 28-5) */
#define IO_QUAL_SIZE(q) ((unsigned)((q) & 7) + 1)
#define IO_QUAL_IN (1ull << 3)
#define IO_QUAL_STRING (1ull << 4)
#define IO_QUAL_REP (1ull << 5)
#define IO_QUAL_PORT(q) ((uint16_t)((q) >> 16))

/* Exit qualification for EPT violations (28.2.1, table 28-7) */
#define EPT_QUAL_READ (1ull << 0)
#define EPT_QUAL_WRITE (1ull << 1)
#define EPT_QUAL_FETCH (1ull << 2)
#define EPT_QUAL_PRESENT_MASK (7ull << 3)
#define EPT_QUAL_NMI_UNBLOCK_IRET (1ull << 12)

/* ---- VMX instructions (SDM Vol. 2B/2C, 31.3). Each returns true when the
 * instruction failed (VMfailInvalid: CF=1, VMfailValid: ZF=1, 31.2). ---- */
static inline bool vmx_on(uint64_t pa)
{
    bool fail;
    __asm__ volatile("vmxon %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return fail;
}

static inline bool vmx_clear(uint64_t pa)
{
    bool fail;
    __asm__ volatile("vmclear %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return fail;
}

static inline bool vmx_ptrld(uint64_t pa)
{
    bool fail;
    __asm__ volatile("vmptrld %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return fail;
}

static inline uint64_t vmx_read(enum vmcs_field f)
{
    uint64_t v = 0;
    __asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((uint64_t)f) : "cc");
    return v;
}

static inline bool vmx_write_raw(enum vmcs_field f, uint64_t v)
{
    bool fail;
    __asm__ volatile("vmwrite %1, %2; setbe %0" : "=qm"(fail) : "rm"(v), "r"((uint64_t)f) : "cc", "memory");
    return fail;
}

static inline bool vmx_invept(uint64_t type, uint64_t eptp)
{
    struct {
        uint64_t eptp, reserved;
    } desc = { eptp, 0 };
    bool fail;
    __asm__ volatile("invept %1, %2; setbe %0" : "=qm"(fail) : "m"(desc), "r"(type) : "cc", "memory");
    return fail;
}

static inline bool vmx_invvpid(uint64_t type, uint16_t vpid)
{
    struct {
        uint64_t vpid, linear;
    } desc = { vpid, 0 };
    bool fail;
    __asm__ volatile("invvpid %1, %2; setbe %0" : "=qm"(fail) : "m"(desc), "r"(type) : "cc", "memory");
    return fail;
}

#endif
