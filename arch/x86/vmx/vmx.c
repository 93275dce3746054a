/* Intel VT-x backend (SDM Vol. 3C chapters 24-31): VMXON per CPU, one VMCS
 * per vCPU made current lazily, EPT with VPIDs, unrestricted guest.
 * Section numbers follow the current SDM (25 VMCS, 26 non-root operation,
 * 27 VM entries, 28 VM exits, 29 address translation, 31 instructions).
 *
 * Semantics follow arch/x86/virt.h and mirror the AMD backend (svm.c):
 *  - every I/O port and every MSR access exits (unconditional I/O exiting,
 *    no MSR bitmaps); CPUID, HLT, INVD, task switches, XSETBV and the VMX
 *    instructions exit by architecture or control and reach the core;
 *  - #UD is intercepted so that VMMCALL (AMD) can be emulated by the core;
 *  - MOV to/from CR0/CR4 on host-owned bits, CR8, CLTS and LMSW are
 *    handled here (the guest's view lives in the read shadows) and never
 *    reach the core;
 *  - an event interrupted in delivery (IDT-vectoring information) is put
 *    back into the VM-entry interruption information for the next run.
 *
 * Moving a vCPU to another CPU: a VMCS must be VMCLEARed on the CPU it was
 * last current on before another CPU may VMPTRLD it (SDM 25.11.1). put()
 * does that whenever the scheduler takes the vCPU off its CPU; run() then
 * launches it afresh (VMLAUNCH) and, on a new CPU, rewrites the per-CPU
 * host fields and flushes its VPID and EPT translations there. */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeature.h"
#include "arch/x86/desc.h"
#include "arch/x86/panic_x86.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/tsc.h"
#include "arch/x86/virt.h"
#include "arch/x86/vmx/vmcs.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "hv/string.h"
#include "plinth/errno.h"

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_PCIDE (1ull << 17)
#define CR4_VMXE (1ull << 13)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define RFLAGS_RESERVED1 (1ull << 1)
#define DEFAULT_PAT 0x0007040600070406ull
#define DR7_DEFAULT 0x400ull
#define VEC_NMI 2
#define VEC_UD 6
#define VEC_GP 13
#define ERROR_CODE_VECTORS ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 14) | \
                            (1u << 17) | (1u << 21))
#define MAX_VPID 0xFFFFu
#define BACKSTOP_US 1000u       /* longest run of a guest entered with IF=0 (see arm_backstop) */

/* MSRs that neither VM entry nor VM exit switch (27.3, 28.3, 28.5) and that
 * the guest can change (through the core, or KERNEL_GS_BASE with SWAPGS). */
enum lazy_msr { LAZY_KERNEL_GS_BASE, LAZY_STAR, LAZY_LSTAR, LAZY_CSTAR, LAZY_SFMASK, LAZY_MSRS };
static const uint32_t lazy_msr_index[LAZY_MSRS] = { MSR_KERNEL_GS_BASE, 0xC0000081, 0xC0000082, 0xC0000083,
                                                    0xC0000084 };

struct vmx_cpu {
    uint64_t vmxon_pa;
    uint64_t current_vmcs;      /* physical address VMPTRLD last made current, 0 none */
    /* What the lazy MSRs hold on this CPU. The host never executes SWAPGS
     * or SYSCALL, so a guest's values stay loaded after its exit and are
     * only rewritten when the next vCPU needs other ones. */
    uint64_t msr_loaded[LAZY_MSRS];
};

struct vmx_vcpu {
    uint64_t vmcs_pa;
    uint64_t eptp;
    uint16_t vpid;              /* 0 when VPIDs are off */
    bool launched;              /* VMRESUME instead of VMLAUNCH */
    int active_cpu;             /* CPU on which the VMCS is active (loaded, not yet VMCLEARed), -1 none */
    int last_cpu;               /* -1: never run */
    uint64_t flushed_generation;
    uint32_t pin, proc, proc2, exit_ctls, entry_ctls;   /* current controls */
    uint32_t entry_intr_info;   /* event for the next entry (VALID bit), 0 none */
    uint32_t entry_intr_error;
    uint32_t entry_insn_len;
    bool reinject_pending;      /* entry_intr_info holds an interrupted event */
    uint64_t cr2;               /* not in the VMCS: swapped by run() */
    uint64_t msr[LAZY_MSRS];    /* the guest's values of the lazy MSRs */
    uint64_t cr8;               /* the guest's TPR as CR8 sees it (CR8 accesses exit) */
    uint32_t time_slice;        /* preemption timer reload value, 0 off */
};

/* Controls and capabilities, the same on every CPU; settled by the first
 * vcpu_create. */
static struct {
    bool ready, ok;
    bool io_bitmaps;          /* "use I/O bitmaps" may be set */
    uint64_t basic, misc, ept_cap;
    uint32_t revision;
    uint32_t pin, proc, proc2, exit_ctls, entry_ctls;
    bool vpid, preempt_timer, save_preempt, virtual_nmis;
    bool zero_len_inject;
    uint64_t invept_type, invvpid_type;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t cr0_mask, cr4_mask;  /* host-owned bits (guest/host masks) */
    unsigned preempt_rate;
    uint32_t backstop_ticks;      /* preemption-timer value for BACKSTOP_US, 0 none */
} cfg;

static uint32_t next_vpid = 1;

extern int vmx_world_switch(uint64_t *gprs, uint64_t launched);
extern char vmx_vmexit[];

static struct vmx_vcpu *vmx(struct vcpu *v) { return v->arch; }

static void vmw(enum vmcs_field f, uint64_t val)
{
    if (vmx_write_raw(f, val))
        pr_err("vmx: VMWRITE of field %#x failed (VM-instruction error %lu)", (unsigned)f,
               vmx_read(VM_INSTRUCTION_ERROR));
}

static uint64_t vmr(enum vmcs_field f) { return vmx_read(f); }

/* ---------------------------------------------------------------- per CPU */

/* SDM 24.7 "Enabling and entering VMX operation", 24.8 "Restrictions on VMX
 * operation": IA32_FEATURE_CONTROL, CR0/CR4 fixed bits, CR4.VMXE, VMXON. */
static int vmx_enable_cpu(void)
{
    if (!cpu_features.vmx || !cpu_features.ept || cpu_features.vmx_locked_off)
        return -PL_ENOSYS;
    struct percpu *p = this_cpu();
    struct vmx_cpu *c = kmalloc(sizeof(*c));
    if (!c)
        return -PL_ENOMEM;
    uint64_t basic = rdmsr(MSR_VMX_BASIC);
    uint64_t pa = mm_alloc_frame();
    if ((basic & VMX_BASIC_32BIT_ADDRESSES) && pa >= (1ull << 32)) {
        pr_err("vmx: cpu%u: VMXON region above 4 GiB but the CPU takes 32-bit addresses", p->cpu_id);
        mm_free(pa, PMM_4K);
        kfree(c);
        return -PL_ENOMEM;
    }
    *(uint32_t *)phys_to_virt(pa) = (uint32_t)(basic & VMX_BASIC_REVISION_MASK);
    c->vmxon_pa = pa;
    c->current_vmcs = 0;
    for (unsigned i = 0; i < LAZY_MSRS; i++)
        c->msr_loaded[i] = rdmsr(lazy_msr_index[i]);

    bool irq = irq_enabled();
    irq_disable();
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCKED)) {
        fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
    }
    int rc = 0;
    if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
        pr_err("vmx: cpu%u: IA32_FEATURE_CONTROL is locked with VMXON outside SMX disabled", p->cpu_id);
        rc = -PL_ENOSYS;
    } else {
        /* 24.8: bits fixed to 1 in FIXED0 must be 1, bits 0 in FIXED1 must
         * be 0 while in VMX operation (also for the host state, 27.2.2). */
        uint64_t cr0 = (read_cr0() | rdmsr(MSR_VMX_CR0_FIXED0)) & rdmsr(MSR_VMX_CR0_FIXED1);
        uint64_t cr4 = (read_cr4() | CR4_VMXE | rdmsr(MSR_VMX_CR4_FIXED0)) & rdmsr(MSR_VMX_CR4_FIXED1);
        write_cr0(cr0);
        write_cr4(cr4);
        if (vmx_on(c->vmxon_pa)) {
            pr_err("vmx: cpu%u: VMXON failed", p->cpu_id);
            write_cr4(cr4 & ~CR4_VMXE);
            rc = -PL_ENOSYS;
        }
    }
    if (irq)
        irq_enable();
    if (rc) {
        mm_free(pa, PMM_4K);
        kfree(c);
        return rc;
    }
    p->virt_cpu = c;
    return 0;
}

/* Make v's VMCS the current one on this CPU (SDM 25.1: at most one current
 * VMCS per logical processor; VMPTRLD only when it changes). */
static struct vmx_vcpu *load(struct vcpu *v)
{
    struct vmx_vcpu *s = vmx(v);
    struct vmx_cpu *c = this_cpu()->virt_cpu;
    int me = (int)this_cpu_id();
    if (s->active_cpu >= 0 && s->active_cpu != me) {
        /* A VMCS may be active on one CPU only (SDM 25.11.1): the owner
         * must put() it first. Refuse rather than corrupt it. */
        pr_err("vmx: vCPU %u used on cpu%d while its VMCS is active on cpu%d", v->id, me, s->active_cpu);
        return s;
    }
    s->active_cpu = me;
    if (c && c->current_vmcs != s->vmcs_pa) {
        if (vmx_ptrld(s->vmcs_pa))
            pr_err("vmx: VMPTRLD %#lx failed", s->vmcs_pa);
        else
            c->current_vmcs = s->vmcs_pa;
    }
    return s;
}

/* ---------------------------------------------------------------- controls */

enum want { OFF, ON, OPTIONAL };

struct ctl {
    uint32_t bit;
    enum want want;
    const char *name;
};

/* Appendix A.3-A.5: bits 31:0 of a capability MSR are the allowed-0
 * settings (a 1 there means the control must be 1), bits 63:32 the
 * allowed-1 settings. Fails naming the first control we cannot have. */
static bool adjust_controls(uint32_t msr, const char *what, const struct ctl *ctls, unsigned n, uint32_t *out)
{
    uint64_t cap = rdmsr(msr);
    uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
    uint32_t val = must1;
    for (unsigned i = 0; i < n; i++) {
        const struct ctl *c = &ctls[i];
        if (c->want == ON && !(may1 & c->bit)) {
            pr_err("vmx: the CPU does not support the %s control \"%s\" (MSR %#x = %#lx)", what, c->name, msr, cap);
            return false;
        }
        if (c->want == OFF && (must1 & c->bit)) {
            pr_err("vmx: the CPU insists on the %s control \"%s\" (MSR %#x = %#lx)", what, c->name, msr, cap);
            return false;
        }
        if (c->want == ON || (c->want == OPTIONAL && (may1 & c->bit)))
            val |= c->bit;
    }
    *out = val;
    return true;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool setup_config(void)
{
    cfg.basic = rdmsr(MSR_VMX_BASIC);
    cfg.misc = rdmsr(MSR_VMX_MISC);
    cfg.revision = (uint32_t)(cfg.basic & VMX_BASIC_REVISION_MASK);
    bool true_ctls = cfg.basic & VMX_BASIC_TRUE_CTLS;

    static const struct ctl pin[] = {
        { PIN_EXTINT_EXITING, ON, "external-interrupt exiting" },
        { PIN_NMI_EXITING, ON, "NMI exiting" },
        { PIN_VIRTUAL_NMIS, OPTIONAL, "virtual NMIs" },
        { PIN_PREEMPTION_TIMER, OFF, "activate VMX-preemption timer" }, /* set_time_slice, arm_backstop */
    };
    static const struct ctl proc[] = {
        { PROC_INTR_WINDOW_EXITING, OFF, "interrupt-window exiting" },  /* toggled; checked below */
        { PROC_TSC_OFFSETTING, OFF, "use TSC offsetting" },
        { PROC_HLT_EXITING, ON, "HLT exiting" },
        { PROC_RDTSC_EXITING, OFF, "RDTSC exiting" },
        { PROC_CR8_LOAD_EXITING, ON, "CR8-load exiting" },   /* else the guest writes the host's TPR */
        { PROC_CR8_STORE_EXITING, ON, "CR8-store exiting" },
        { PROC_TPR_SHADOW, OFF, "use TPR shadow" },
        { PROC_NMI_WINDOW_EXITING, OFF, "NMI-window exiting" },
        { PROC_MOV_DR_EXITING, OFF, "MOV-DR exiting" },
        { PROC_UNCOND_IO_EXITING, ON, "unconditional I/O exiting" },
        { PROC_USE_IO_BITMAPS, OFF, "use I/O bitmaps" },  /* per vCPU: set_io_bitmap */
        { PROC_MONITOR_TRAP_FLAG, OFF, "monitor trap flag" },
        { PROC_USE_MSR_BITMAPS, OFF, "use MSR bitmaps" },    /* every RDMSR/WRMSR exits */
        { PROC_SECONDARY_CONTROLS, ON, "activate secondary controls" },
    };
    static const struct ctl proc2[] = {
        { PROC2_VIRT_APIC_ACCESSES, OFF, "virtualize APIC accesses" },
        { PROC2_ENABLE_EPT, ON, "enable EPT" },
        { PROC2_DESC_TABLE_EXITING, OFF, "descriptor-table exiting" },
        { PROC2_ENABLE_RDTSCP, OPTIONAL, "enable RDTSCP" },
        { PROC2_VIRT_X2APIC, OFF, "virtualize x2APIC mode" },
        { PROC2_ENABLE_VPID, OPTIONAL, "enable VPID" },
        { PROC2_UNRESTRICTED_GUEST, ON, "unrestricted guest" },   /* 32-bit guests start with paging off */
        { PROC2_ENABLE_INVPCID, OPTIONAL, "enable INVPCID" },
        { PROC2_ENABLE_VMFUNC, OFF, "enable VM functions" },
        { PROC2_VMCS_SHADOWING, OFF, "VMCS shadowing" },
        { PROC2_ENABLE_XSAVES, OPTIONAL, "enable XSAVES/XRSTORS" },
    };
    static const struct ctl exitc[] = {
        { EXIT_SAVE_DEBUG_CONTROLS, OPTIONAL, "save debug controls" },
        { EXIT_HOST_ADDR_SPACE_SIZE, ON, "host address-space size" },
        { EXIT_LOAD_PERF_GLOBAL_CTRL, OFF, "load IA32_PERF_GLOBAL_CTRL" },
        { EXIT_ACK_INTR_ON_EXIT, OFF, "acknowledge interrupt on exit" }, /* host takes it from its LAPIC */
        { EXIT_SAVE_IA32_PAT, ON, "save IA32_PAT" },
        { EXIT_LOAD_IA32_PAT, ON, "load IA32_PAT" },
        { EXIT_SAVE_IA32_EFER, ON, "save IA32_EFER" },
        { EXIT_LOAD_IA32_EFER, ON, "load IA32_EFER" },
        { EXIT_SAVE_PREEMPTION_TIMER, OPTIONAL, "save VMX-preemption timer value" },
    };
    static const struct ctl entry[] = {
        { ENTRY_LOAD_DEBUG_CONTROLS, OPTIONAL, "load debug controls" },
        { ENTRY_IA32E_MODE_GUEST, OFF, "IA-32e mode guest" },     /* follows EFER.LMA; checked below */
        { ENTRY_TO_SMM, OFF, "entry to SMM" },
        { ENTRY_DEACT_DUAL_MONITOR, OFF, "deactivate dual-monitor treatment" },
        { ENTRY_LOAD_PERF_GLOBAL_CTRL, OFF, "load IA32_PERF_GLOBAL_CTRL" },
        { ENTRY_LOAD_IA32_PAT, ON, "load IA32_PAT" },
        { ENTRY_LOAD_IA32_EFER, ON, "load IA32_EFER" },
    };

    /* A.3.1: with IA32_VMX_BASIC[55] the TRUE_* MSRs give the real
     * allowed-0 settings of the default1 controls. */
    if (!adjust_controls(true_ctls ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS, "pin-based", pin, N(pin),
                         &cfg.pin) ||
        !adjust_controls(true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS, "processor-based", proc,
                         N(proc), &cfg.proc) ||
        !adjust_controls(MSR_VMX_PROCBASED_CTLS2, "secondary processor-based", proc2, N(proc2), &cfg.proc2) ||
        !adjust_controls(true_ctls ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS, "VM-exit", exitc, N(exitc),
                         &cfg.exit_ctls) ||
        !adjust_controls(true_ctls ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS, "VM-entry", entry, N(entry),
                         &cfg.entry_ctls))
        return false;

    uint64_t cap_pin = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS);
    uint64_t cap_proc = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS);
    uint64_t cap_entry = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS);
    if (!((cap_proc >> 32) & PROC_INTR_WINDOW_EXITING)) {
        pr_err("vmx: the CPU does not support the processor-based control \"interrupt-window exiting\"");
        return false;
    }
    if (!((cap_entry >> 32) & ENTRY_IA32E_MODE_GUEST)) {
        pr_err("vmx: the CPU does not support the VM-entry control \"IA-32e mode guest\"");
        return false;
    }
    cfg.preempt_timer = (cap_pin >> 32) & PIN_PREEMPTION_TIMER;
    cfg.io_bitmaps = (cap_proc >> 32) & PROC_USE_IO_BITMAPS;
    cfg.save_preempt = cfg.exit_ctls & EXIT_SAVE_PREEMPTION_TIMER;
    cfg.preempt_rate = VMX_MISC_PREEMPT_RATE(cfg.misc);
    cfg.virtual_nmis = cfg.pin & PIN_VIRTUAL_NMIS;
    cfg.zero_len_inject = cfg.misc & VMX_MISC_ZERO_LEN_INJECT;
    if (cfg.preempt_timer) {
        uint64_t ticks = tsc_us_to_cycles(BACKSTOP_US) >> cfg.preempt_rate;
        cfg.backstop_ticks = (uint32_t)(ticks == 0 ? 1 : ticks > 0xFFFFFFFFull ? 0xFFFFFFFFull : ticks);
    }

    /* EPT: 4-level walks with write-back paging structures (A.10,
     * 25.6.11), and INVEPT of some kind (31.3). */
    cfg.ept_cap = rdmsr(MSR_VMX_EPT_VPID_CAP);
    if (!(cfg.ept_cap & EPT_CAP_WALK_LENGTH_4) || !(cfg.ept_cap & EPT_CAP_MEMTYPE_WB)) {
        pr_err("vmx: EPT lacks 4-level walks or write-back paging structures (IA32_VMX_EPT_VPID_CAP %#lx)",
               cfg.ept_cap);
        return false;
    }
    if (!(cfg.ept_cap & EPT_CAP_INVEPT) || !(cfg.ept_cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
        pr_err("vmx: the CPU has no usable INVEPT (IA32_VMX_EPT_VPID_CAP %#lx)", cfg.ept_cap);
        return false;
    }
    cfg.invept_type = (cfg.ept_cap & EPT_CAP_INVEPT_SINGLE) ? INVEPT_SINGLE_CONTEXT : INVEPT_ALL_CONTEXT;
    cfg.vpid = (cfg.proc2 & PROC2_ENABLE_VPID) && (cfg.ept_cap & VPID_CAP_INVVPID) &&
               (cfg.ept_cap & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL));
    if (!cfg.vpid)
        cfg.proc2 &= ~PROC2_ENABLE_VPID; /* without VPIDs every entry and exit flushes (29.4.3.1) */
    cfg.invvpid_type = (cfg.ept_cap & VPID_CAP_INVVPID_SINGLE) ? INVVPID_SINGLE_CONTEXT : INVVPID_ALL_CONTEXT;

    /* CR0/CR4 (A.7, A.8). With unrestricted guest, PE and PG may be 0
     * (27.3.1.1). The host owns every bit the guest cannot choose freely,
     * plus CR0.PG (long-mode activation is done here), CR0.CD/NW (VM entry
     * leaves them as the host has them, 27.3.2.1, so only the shadow can
     * show the guest its own) and CR4.VMXE (the guest has no VMX); the
     * guest reads those bits from the shadows. */
    cfg.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0) & ~(CR0_PE | CR0_PG);
    cfg.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    cfg.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    cfg.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    cfg.cr0_mask = cfg.cr0_fixed0 | (~cfg.cr0_fixed1 & 0xFFFFFFFFull) | CR0_PG | CR0_CD | CR0_NW;
    cfg.cr4_mask = cfg.cr4_fixed0 | (~cfg.cr4_fixed1 & 0xFFFFFFFFull) | CR4_VMXE;

    pr_debug("vmx: revision %#x, pin %#x, proc %#x, proc2 %#x, exit %#x, entry %#x, EPT/VPID cap %#lx, misc %#lx",
             cfg.revision, cfg.pin, cfg.proc, cfg.proc2, cfg.exit_ctls, cfg.entry_ctls, cfg.ept_cap, cfg.misc);
    pr_debug("vmx: VPID %s, preemption timer %s (rate 2^%u, saved %s), virtual NMIs %s, CR0 mask %#lx, CR4 mask %#lx",
             cfg.vpid ? "on" : "off", cfg.preempt_timer ? "yes" : "no", cfg.preempt_rate,
             cfg.save_preempt ? "yes" : "no", cfg.virtual_nmis ? "on" : "off", cfg.cr0_mask, cfg.cr4_mask);
    return true;
}

/* ---------------------------------------------------------------- state */

/* The real CR0/CR4 the guest runs with, from the value it asked for. */
static uint64_t real_cr0(uint64_t visible) { return (visible | cfg.cr0_fixed0) & cfg.cr0_fixed1; }
static uint64_t real_cr4(uint64_t visible) { return (visible | cfg.cr4_fixed0 | CR4_VMXE) & cfg.cr4_fixed1; }

/* What the guest sees: its own bits from the register, host-owned bits
 * from the read shadow (25.6.6). */
static uint64_t visible_cr0(void)
{
    return (vmr(GUEST_CR0) & ~cfg.cr0_mask) | (vmr(CR0_READ_SHADOW) & cfg.cr0_mask);
}

static uint64_t visible_cr4(void)
{
    return (vmr(GUEST_CR4) & ~cfg.cr4_mask) | (vmr(CR4_READ_SHADOW) & cfg.cr4_mask);
}

static void set_ia32e_mode(struct vmx_vcpu *s, bool on)
{
    uint32_t e = on ? (s->entry_ctls | ENTRY_IA32E_MODE_GUEST) : (s->entry_ctls & ~ENTRY_IA32E_MODE_GUEST);
    if (e != s->entry_ctls) {
        s->entry_ctls = e;
        vmw(VM_ENTRY_CONTROLS, e);
    }
}

/* With EPT and PAE paging outside IA-32e mode, VM entry loads the four
 * PDPTEs from the VMCS, not from memory (27.3.2.4): refresh them
 * whenever the backend itself changes CR0/CR3/CR4. */
static void load_pdptes(struct vcpu *v)
{
    uint64_t cr0 = vmr(GUEST_CR0), cr4 = vmr(GUEST_CR4), efer = vmr(GUEST_IA32_EFER);
    uint64_t pdpte[4] = { 0, 0, 0, 0 };
    if ((cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA)) {
        uint64_t gpa = vmr(GUEST_CR3) & 0xFFFFFFE0ull, hpa;
        if (arch_aspace_lookup(v->aspace, gpa, &hpa, NULL, NULL))
            memcpy(pdpte, phys_to_virt(hpa), sizeof(pdpte));
    }
    vmw(GUEST_PDPTE0, pdpte[0]);
    vmw(GUEST_PDPTE1, pdpte[1]);
    vmw(GUEST_PDPTE2, pdpte[2]);
    vmw(GUEST_PDPTE3, pdpte[3]);
}

/* Neutral (AMD VMCB) attributes <-> VMX access rights (25.4.1): bits 0-7
 * are the same, attrib bits 8-11 (AVL, L, D/B, G) are AR bits 12-15, and a
 * segment that is not present is "unusable" (AR bit 16). */
static uint32_t attr_to_ar(uint16_t attr)
{
    uint32_t ar = (attr & 0xFFu) | ((uint32_t)(attr & 0xF00u) << 4);
    if (!(attr & SEG_ATTR_P))
        ar |= VMX_AR_UNUSABLE;
    return ar;
}

static uint16_t ar_to_attr(uint32_t ar)
{
    uint16_t attr = (uint16_t)((ar & 0xFFu) | ((ar >> 4) & 0xF00u));
    if (ar & VMX_AR_UNUSABLE)
        attr &= (uint16_t)~SEG_ATTR_P;
    return attr;
}

struct seg_fields {
    enum vmcs_field sel, limit, ar, base;
};

#define SEG_FIELDS(n) { GUEST_##n##_SELECTOR, GUEST_##n##_LIMIT, GUEST_##n##_AR_BYTES, GUEST_##n##_BASE }
static const struct seg_fields seg_es = SEG_FIELDS(ES), seg_cs = SEG_FIELDS(CS), seg_ss = SEG_FIELDS(SS),
                               seg_ds = SEG_FIELDS(DS), seg_fs = SEG_FIELDS(FS), seg_gs = SEG_FIELDS(GS),
                               seg_ldtr = SEG_FIELDS(LDTR), seg_tr = SEG_FIELDS(TR);

static void seg_write(const struct seg_fields *f, const struct vcpu_segment *s)
{
    vmw(f->sel, s->selector);
    vmw(f->limit, s->limit);
    vmw(f->ar, attr_to_ar(s->attr));
    vmw(f->base, s->base);
}

static void seg_read(const struct seg_fields *f, struct vcpu_segment *s)
{
    s->selector = (uint16_t)vmr(f->sel);
    s->limit = (uint32_t)vmr(f->limit);
    s->attr = ar_to_attr((uint32_t)vmr(f->ar));
    s->base = vmr(f->base);
}

/* Host state that depends on the CPU the vCPU runs on (27.2.2-27.2.4,
 * 28.5): the GS base is our per-CPU pointer, TR/GDT are per CPU. */
static void write_host_cpu_state(void)
{
    struct percpu *p = this_cpu();
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    vmw(HOST_CR0, read_cr0());
    vmw(HOST_CR3, read_cr3());
    vmw(HOST_CR4, read_cr4());
    vmw(HOST_GS_BASE, (uint64_t)p);
    vmw(HOST_TR_BASE, (uint64_t)&p->tss);
    vmw(HOST_GDTR_BASE, (uint64_t)p->gdt);
    vmw(HOST_IDTR_BASE, idtr.base);
    vmw(HOST_IA32_EFER, rdmsr(MSR_EFER));
    vmw(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
}

static void write_host_state(void)
{
    vmw(HOST_ES_SELECTOR, SEL_KERNEL_DS);
    vmw(HOST_CS_SELECTOR, SEL_KERNEL_CS);
    vmw(HOST_SS_SELECTOR, SEL_KERNEL_DS);
    vmw(HOST_DS_SELECTOR, SEL_KERNEL_DS);
    vmw(HOST_FS_SELECTOR, 0);
    vmw(HOST_GS_SELECTOR, 0);
    vmw(HOST_TR_SELECTOR, SEL_TSS);
    vmw(HOST_FS_BASE, 0);
    vmw(HOST_IA32_SYSENTER_CS, 0);
    vmw(HOST_IA32_SYSENTER_ESP, 0);
    vmw(HOST_IA32_SYSENTER_EIP, 0);
    vmw(HOST_RIP, (uint64_t)vmx_vmexit);
    write_host_cpu_state();
}

/* ---------------------------------------------------------------- vCPU */

static int vmx_vcpu_create(struct vcpu *v, struct aspace *as)
{
    struct vmx_cpu *c = this_cpu()->virt_cpu;
    if (!c)
        return -PL_ENOSYS;
    if (!cfg.ready) {
        cfg.ok = setup_config();
        cfg.ready = true;
    }
    if (!cfg.ok)
        return -PL_ENOSYS;

    struct vmx_vcpu *s = kmalloc(sizeof(*s));
    if (!s)
        return -PL_ENOMEM;
    memset(s, 0, sizeof(*s));
    s->vmcs_pa = mm_alloc_frame();
    if ((cfg.basic & VMX_BASIC_32BIT_ADDRESSES) && s->vmcs_pa >= (1ull << 32)) {
        pr_err("vmx: VMCS region above 4 GiB but the CPU takes 32-bit addresses");
        mm_free(s->vmcs_pa, PMM_4K);
        kfree(s);
        return -PL_ENOMEM;
    }
    /* 25.2: revision identifier in bits 30:0 of the first word, bit 31
     * (shadow VMCS) clear. */
    *(uint32_t *)phys_to_virt(s->vmcs_pa) = cfg.revision;
    s->eptp = as->root | EPTP_WALK_4 | EPTP_MEMTYPE_WB;
    if (cfg.vpid) {
        uint32_t n = __atomic_fetch_add(&next_vpid, 1, __ATOMIC_RELAXED);
        s->vpid = (uint16_t)((n - 1) % MAX_VPID + 1); /* non-zero; flushed on first run if reused */
    }
    s->last_cpu = -1;
    s->active_cpu = -1;
    s->flushed_generation = as->generation - 1;
    s->pin = cfg.pin;
    s->proc = cfg.proc;
    s->proc2 = cfg.proc2;
    s->exit_ctls = cfg.exit_ctls & ~EXIT_SAVE_PREEMPTION_TIMER; /* set with the timer */
    s->entry_ctls = cfg.entry_ctls;
    v->arch = s;
    v->aspace = as;

    /* 25.11.3: VMCLEAR initialises the launch state, then VMPTRLD. */
    if (vmx_clear(s->vmcs_pa) || vmx_ptrld(s->vmcs_pa)) {
        pr_err("vmx: VMCLEAR/VMPTRLD of a new VMCS failed");
        c->current_vmcs = 0;
        mm_free(s->vmcs_pa, PMM_4K);
        kfree(s);
        v->arch = NULL;
        return -PL_ENOSYS;
    }
    c->current_vmcs = s->vmcs_pa;
    s->active_cpu = (int)this_cpu_id();

    /* controls */
    vmw(PIN_BASED_VM_EXEC_CONTROL, s->pin);
    vmw(CPU_BASED_VM_EXEC_CONTROL, s->proc);
    vmw(SECONDARY_VM_EXEC_CONTROL, s->proc2);
    vmw(VM_EXIT_CONTROLS, s->exit_ctls);
    vmw(VM_ENTRY_CONTROLS, s->entry_ctls);
    vmw(EXCEPTION_BITMAP, 1u << VEC_UD); /* VMMCALL is emulated by the core */
    vmw(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmw(PAGE_FAULT_ERROR_CODE_MATCH, 0);
    vmw(CR3_TARGET_COUNT, 0);
    vmw(VM_EXIT_MSR_STORE_COUNT, 0);
    vmw(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmw(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmw(VM_ENTRY_INTR_INFO, 0);
    vmw(TSC_OFFSET, 0);
    vmw(EPT_POINTER, s->eptp);
    if (cfg.vpid)
        vmw(VMCS_VPID, s->vpid);
    if (s->proc2 & PROC2_ENABLE_XSAVES)
        vmw(XSS_EXIT_BITMAP, 0);
    vmw(CR0_GUEST_HOST_MASK, cfg.cr0_mask);
    vmw(CR4_GUEST_HOST_MASK, cfg.cr4_mask);
    vmw(VMCS_LINK_POINTER, ~0ull); /* 27.3.1.5: no shadow VMCS */

    write_host_state();

    /* A guest that is not yet set up: flat 32-bit protected mode at 0. */
    vmw(GUEST_CR0, real_cr0(CR0_PE | CR0_NE));
    vmw(CR0_READ_SHADOW, CR0_PE | CR0_NE);
    vmw(GUEST_CR4, real_cr4(0));
    vmw(CR4_READ_SHADOW, 0);
    vmw(GUEST_CR3, 0);
    vmw(GUEST_DR7, DR7_DEFAULT);
    vmw(GUEST_IA32_DEBUGCTL, 0);
    vmw(GUEST_IA32_PAT, DEFAULT_PAT);
    vmw(GUEST_IA32_EFER, 0);
    vmw(GUEST_RFLAGS, RFLAGS_RESERVED1);
    vmw(GUEST_SYSENTER_CS, 0);
    vmw(GUEST_SYSENTER_ESP, 0);
    vmw(GUEST_SYSENTER_EIP, 0);
    vmw(GUEST_ACTIVITY_STATE, 0);
    vmw(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmw(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    load_pdptes(v);
    return 0;
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
    struct vmx_vcpu *s = vmx(v);
    if (!s)
        return;
    struct vmx_cpu *c = this_cpu()->virt_cpu;
    if (s->active_cpu >= 0 && s->active_cpu != (int)this_cpu_id()) {
        /* Still active on another CPU, which may write it back at any
         * time: leaking the page is the safe choice. */
        pr_warn("vmx: vCPU %u destroyed on cpu%u but last ran on cpu%d; VMCS page leaked", v->id, this_cpu_id(),
                s->active_cpu);
    } else {
        vmx_clear(s->vmcs_pa); /* 25.11.1: write back and make inactive before reuse */
        if (c && c->current_vmcs == s->vmcs_pa)
            c->current_vmcs = 0;
        mm_free(s->vmcs_pa, PMM_4K);
    }
    kfree(s);
    v->arch = NULL;
}

static void vmx_put(struct vcpu *v)
{
    struct vmx_vcpu *s = vmx(v);
    struct vmx_cpu *c = this_cpu()->virt_cpu;
    if (s->active_cpu != (int)this_cpu_id())
        return; /* not active here: nothing to write back */
    /* 25.11.1: VMCLEAR writes the VMCS back to memory and makes it
     * inactive, so any CPU may VMPTRLD it next; it must then VMLAUNCH. */
    vmx_clear(s->vmcs_pa);
    if (c && c->current_vmcs == s->vmcs_pa)
        c->current_vmcs = 0;
    s->launched = false;
    s->active_cpu = -1;
}

static void vmx_set_state(struct vcpu *v, const struct vcpu_state *st)
{
    struct vmx_vcpu *s = load(v);
    vmw(GUEST_RIP, st->rip);
    vmw(GUEST_RFLAGS, st->rflags | RFLAGS_RESERVED1);
    vmw(GUEST_CR0, real_cr0(st->cr0));
    vmw(CR0_READ_SHADOW, st->cr0);
    vmw(GUEST_CR3, st->cr3);
    vmw(GUEST_CR4, real_cr4(st->cr4));
    vmw(CR4_READ_SHADOW, st->cr4);
    s->cr2 = st->cr2;
    vmw(GUEST_IA32_EFER, st->efer);
    set_ia32e_mode(s, st->efer & EFER_LMA); /* 27.3.1.1: must equal EFER.LMA */
    vmw(GUEST_IA32_PAT, st->pat ? st->pat : DEFAULT_PAT);
    vmw(GUEST_DR7, st->dr7 ? st->dr7 : DR7_DEFAULT);
    s->msr[LAZY_KERNEL_GS_BASE] = st->kernel_gs_base;
    s->msr[LAZY_STAR] = st->star;
    s->msr[LAZY_LSTAR] = st->lstar;
    s->msr[LAZY_CSTAR] = st->cstar;
    s->msr[LAZY_SFMASK] = st->sfmask;
    seg_write(&seg_cs, &st->cs);
    seg_write(&seg_ds, &st->ds);
    seg_write(&seg_es, &st->es);
    seg_write(&seg_fs, &st->fs);
    seg_write(&seg_gs, &st->gs);
    seg_write(&seg_ss, &st->ss);
    seg_write(&seg_tr, &st->tr);
    seg_write(&seg_ldtr, &st->ldtr);
    vmw(GUEST_GDTR_BASE, st->gdtr.base);
    vmw(GUEST_GDTR_LIMIT, st->gdtr.limit);
    vmw(GUEST_IDTR_BASE, st->idtr.base);
    vmw(GUEST_IDTR_LIMIT, st->idtr.limit);
    vmw(GUEST_ACTIVITY_STATE, 0);
    /* A new state ends any STI/MOV-SS shadow; NMI blocking stays. */
    vmw(GUEST_INTERRUPTIBILITY_INFO, vmr(GUEST_INTERRUPTIBILITY_INFO) & INTR_BLOCKING_NMI);
    vmw(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmw(GUEST_RSP, v->gprs[REG_RSP]);
    load_pdptes(v);
}

static void vmx_get_state(struct vcpu *v, struct vcpu_state *st)
{
    struct vmx_vcpu *s = load(v);
    st->rip = vmr(GUEST_RIP);
    st->rflags = vmr(GUEST_RFLAGS);
    st->cr0 = visible_cr0();
    st->cr2 = s->cr2;
    st->cr3 = vmr(GUEST_CR3);
    st->cr4 = visible_cr4();
    st->efer = vmr(GUEST_IA32_EFER);
    st->pat = vmr(GUEST_IA32_PAT);
    st->dr7 = vmr(GUEST_DR7);
    st->kernel_gs_base = s->msr[LAZY_KERNEL_GS_BASE];
    st->star = s->msr[LAZY_STAR];
    st->lstar = s->msr[LAZY_LSTAR];
    st->cstar = s->msr[LAZY_CSTAR];
    st->sfmask = s->msr[LAZY_SFMASK];
    seg_read(&seg_cs, &st->cs);
    seg_read(&seg_ds, &st->ds);
    seg_read(&seg_es, &st->es);
    seg_read(&seg_fs, &st->fs);
    seg_read(&seg_gs, &st->gs);
    seg_read(&seg_ss, &st->ss);
    seg_read(&seg_tr, &st->tr);
    seg_read(&seg_ldtr, &st->ldtr);
    st->gdtr.base = vmr(GUEST_GDTR_BASE);
    st->gdtr.limit = (uint16_t)vmr(GUEST_GDTR_LIMIT);
    st->idtr.base = vmr(GUEST_IDTR_BASE);
    st->idtr.limit = (uint16_t)vmr(GUEST_IDTR_LIMIT);
}

static uint64_t vmx_rip(struct vcpu *v)
{
    load(v);
    return vmr(GUEST_RIP);
}

static void vmx_set_rip(struct vcpu *v, uint64_t rip)
{
    load(v);
    vmw(GUEST_RIP, rip);
}

static uint64_t vmx_rflags(struct vcpu *v)
{
    load(v);
    return vmr(GUEST_RFLAGS);
}

/* 25.4.1: SS.DPL is always the CPL. */
static unsigned vmx_cpl(struct vcpu *v)
{
    load(v);
    return VMX_AR_DPL((uint32_t)vmr(GUEST_SS_AR_BYTES));
}

static void vmx_paging_state(struct vcpu *v, uint64_t *cr0, uint64_t *cr3, uint64_t *cr4, uint64_t *efer)
{
    load(v);
    *cr0 = visible_cr0();
    *cr3 = vmr(GUEST_CR3);
    *cr4 = visible_cr4();
    *efer = vmr(GUEST_IA32_EFER);
}

static void skip_insn(unsigned len)
{
    vmw(GUEST_RIP, vmr(GUEST_RIP) + len);
    uint64_t intr = vmr(GUEST_INTERRUPTIBILITY_INFO);
    if (intr & (INTR_BLOCKING_STI | INTR_BLOCKING_MOV_SS))
        vmw(GUEST_INTERRUPTIBILITY_INFO, intr & ~(uint64_t)(INTR_BLOCKING_STI | INTR_BLOCKING_MOV_SS));
}

static void vmx_skip(struct vcpu *v, const struct vcpu_exit *e)
{
    load(v);
    skip_insn(e->insn_len);
}

/* ---------------------------------------------------------------- events */

/* VM-entry interruption information for an event (25.8.3). The error
 * code is delivered exactly when the checks of 27.2.1.3 demand it: a
 * hardware exception with an error-code vector, in protected mode. */
static void queue_event(struct vmx_vcpu *s, uint32_t type, uint8_t vector, uint32_t error, uint32_t insn_len)
{
    uint32_t info = INTR_INFO_VALID | (type << INTR_INFO_TYPE_SHIFT) | vector;
    if (type == INTR_TYPE_HW_EXCEPTION && vector < 32 && (ERROR_CODE_VECTORS & (1u << vector)) &&
        (vmr(GUEST_CR0) & CR0_PE))
        info |= INTR_INFO_ERROR_VALID;
    s->entry_intr_info = info;
    s->entry_intr_error = error;
    s->entry_insn_len = insn_len;
}

static int vmx_inject(struct vcpu *v, const struct vcpu_event *ev)
{
    struct vmx_vcpu *s = load(v);
    if (s->entry_intr_info & INTR_INFO_VALID)
        return -PL_EBUSY;
    switch (ev->type) {
    case VEVENT_EXTINT:
        queue_event(s, INTR_TYPE_EXT_INTR, ev->vector, 0, 0);
        break;
    case VEVENT_NMI:
        queue_event(s, INTR_TYPE_NMI, VEC_NMI, 0, 0);
        break;
    case VEVENT_EXCEPTION:
        if (ev->vector >= 32)
            return -PL_EINVAL;
        queue_event(s, INTR_TYPE_HW_EXCEPTION, ev->vector, ev->has_error ? ev->error : 0, 0);
        break;
    case VEVENT_SOFTINT:
        /* Delivered with the current RIP as return address, as on SVM:
         * a software interrupt with instruction length 0 where the CPU
         * allows it (A.6), else as an external interrupt on that vector
         * (the same delivery bar the gate's DPL check). */
        if (cfg.zero_len_inject)
            queue_event(s, INTR_TYPE_SW_INTR, ev->vector, 0, 0);
        else
            queue_event(s, INTR_TYPE_EXT_INTR, ev->vector, 0, 0);
        break;
    default:
        return -PL_EINVAL;
    }
    return 0;
}

static bool vmx_event_queued(struct vcpu *v) { return vmx(v)->entry_intr_info & INTR_INFO_VALID; }

static bool vmx_interruptible(struct vcpu *v)
{
    struct vmx_vcpu *s = load(v);
    return (vmr(GUEST_RFLAGS) & RFLAGS_IF) &&
           !(vmr(GUEST_INTERRUPTIBILITY_INFO) & (INTR_BLOCKING_STI | INTR_BLOCKING_MOV_SS)) &&
           !(s->entry_intr_info & INTR_INFO_VALID);
}

static void vmx_request_intr_window(struct vcpu *v, bool on)
{
    struct vmx_vcpu *s = load(v);
    uint32_t p = on ? (s->proc | PROC_INTR_WINDOW_EXITING) : (s->proc & ~PROC_INTR_WINDOW_EXITING);
    if (p != s->proc) {
        s->proc = p;
        vmw(CPU_BASED_VM_EXEC_CONTROL, p);
    }
}

/* VMX-preemption timer (26.5.1): counts down every 2^rate TSC cycles while
 * the guest runs; with "save VMX-preemption timer value" it keeps its
 * remaining count across exits and is reloaded here after it fired, so
 * the slice bounds guest time, not each run. */
static void vmx_set_time_slice(struct vcpu *v, uint64_t tsc_cycles)
{
    struct vmx_vcpu *s = load(v);
    if (!cfg.preempt_timer)
        return; /* the host's LAPIC tick still ends every run */
    if (tsc_cycles == 0) {
        s->time_slice = 0;
        s->pin &= ~PIN_PREEMPTION_TIMER;
        s->exit_ctls &= ~EXIT_SAVE_PREEMPTION_TIMER;
    } else {
        uint64_t ticks = tsc_cycles >> cfg.preempt_rate;
        s->time_slice = (uint32_t)(ticks == 0 ? 1 : ticks > 0xFFFFFFFFull ? 0xFFFFFFFFull : ticks);
        s->pin |= PIN_PREEMPTION_TIMER;
        if (cfg.save_preempt)
            s->exit_ctls |= EXIT_SAVE_PREEMPTION_TIMER;
        vmw(VMX_PREEMPTION_TIMER_VALUE, s->time_slice);
    }
    vmw(PIN_BASED_VM_EXEC_CONTROL, s->pin);
    vmw(VM_EXIT_CONTROLS, s->exit_ctls);
}

/* With "use I/O bitmaps" set, "unconditional I/O exiting" is ignored and
 * the bitmaps decide (SDM Vol. 3C 26.1.3). */
static void vmx_set_io_bitmap(struct vcpu *v, uint64_t bitmap_pa)
{
    struct vmx_vcpu *s = load(v);
    if (bitmap_pa && cfg.io_bitmaps) {
        vmw(IO_BITMAP_A, bitmap_pa);
        vmw(IO_BITMAP_B, bitmap_pa + 4096);
        s->proc |= PROC_USE_IO_BITMAPS;
    } else {
        s->proc &= ~PROC_USE_IO_BITMAPS;
    }
    vmw(CPU_BASED_VM_EXEC_CONTROL, s->proc);
}

/* ---------------------------------------------------------------- CR exits */

static bool long_mode_code(void)
{
    return (vmr(GUEST_IA32_EFER) & EFER_LMA) && (vmr(GUEST_CS_AR_BYTES) & (1u << 13)); /* CS.L */
}

static void flush_guest_tlb(struct vmx_vcpu *s)
{
    /* A MOV to CR0/CR4 done here instead of by the guest must still drop
     * its TLB entries (SDM Vol. 3A 4.10.4.1); without VPIDs every entry
     * flushes anyway. */
    if (cfg.vpid)
        vmx_invvpid(cfg.invvpid_type, s->vpid);
}

static void raise_gp(struct vmx_vcpu *s) { queue_event(s, INTR_TYPE_HW_EXCEPTION, VEC_GP, 0, 0); }

/* MOV to CR0 (or LMSW/CLTS) with the value the guest wants to see.
 * Returns false when it must raise #GP. */
static bool guest_write_cr0(struct vcpu *v, struct vmx_vcpu *s, uint64_t val)
{
    uint64_t old = visible_cr0();
    uint64_t efer = vmr(GUEST_IA32_EFER);
    /* SDM Vol. 3A 2.5, Vol. 2B MOV CR: the checks behind #GP(0) */
    if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
        return false;
    if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME) && !(visible_cr4() & CR4_PAE))
        return false;
    if (!(val & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA) && long_mode_code())
        return false; /* paging cannot be turned off from 64-bit code */
    if ((val & ~cfg.cr0_fixed1 & 0xFFFFFFFFull) & ~(CR0_NW | CR0_CD))
        return false; /* a bit this CPU cannot run a guest with */

    if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
        /* Activating IA-32e mode (Vol. 3A 10.8.5): LMA, and a TR the
         * 64-bit checks accept (27.3.1.2: busy 64-bit TSS). */
        vmw(GUEST_IA32_EFER, efer | EFER_LMA);
        set_ia32e_mode(s, true);
        uint32_t tr = (uint32_t)vmr(GUEST_TR_AR_BYTES);
        if ((tr & VMX_AR_TYPE_MASK) != VMX_AR_TYPE_BUSY_TSS)
            vmw(GUEST_TR_AR_BYTES, (tr & ~VMX_AR_TYPE_MASK) | VMX_AR_TYPE_BUSY_TSS);
    } else if (!(val & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA)) {
        vmw(GUEST_IA32_EFER, efer & ~EFER_LMA);
        set_ia32e_mode(s, false);
    }
    vmw(GUEST_CR0, real_cr0(val));
    vmw(CR0_READ_SHADOW, val);
    load_pdptes(v);
    if ((old ^ val) & (CR0_PG | CR0_PE | (1ull << 16) /* WP */))
        flush_guest_tlb(s);
    return true;
}

static bool guest_write_cr4(struct vcpu *v, struct vmx_vcpu *s, uint64_t val)
{
    uint64_t old = visible_cr4();
    if ((val & ~cfg.cr4_fixed1) || (val & CR4_VMXE)) /* unsupported bits; no VMX inside */
        return false;
    if ((vmr(GUEST_IA32_EFER) & EFER_LMA) && !(val & CR4_PAE))
        return false;
    if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) && ((vmr(GUEST_CR3) & 0xFFF) || !(vmr(GUEST_IA32_EFER) & EFER_LMA)))
        return false;
    vmw(GUEST_CR4, real_cr4(val));
    vmw(CR4_READ_SHADOW, val);
    load_pdptes(v);
    flush_guest_tlb(s);
    return true;
}

/* Exit reason 28, qualification table 28-3. Always completes the
 * instruction or raises #GP; never reported to the core. */
static void handle_cr_access(struct vcpu *v, struct vmx_vcpu *s, uint64_t qual, unsigned len)
{
    unsigned cr = CR_QUAL_NUMBER(qual), reg = CR_QUAL_GPR(qual);
    bool wide = long_mode_code();
    bool ok = true;
    switch (CR_QUAL_ACCESS(qual)) {
    case CR_ACCESS_MOV_TO: {
        uint64_t val = v->gprs[reg];
        if (!wide)
            val = (uint32_t)val;
        if (cr == 0) {
            ok = guest_write_cr0(v, s, val);
        } else if (cr == 4) {
            ok = guest_write_cr4(v, s, val);
        } else if (cr == 3) { /* only when the CPU forces CR3-load exiting */
            if (visible_cr4() & CR4_PCIDE)
                val &= ~(1ull << 63);
            vmw(GUEST_CR3, val);
            load_pdptes(v);
            flush_guest_tlb(s);
        } else if (cr == 8) {
            ok = val <= 0xF;
            if (ok)
                s->cr8 = val;
        } else {
            ok = false;
        }
        break;
    }
    case CR_ACCESS_MOV_FROM: {
        uint64_t val = cr == 3 ? vmr(GUEST_CR3) : cr == 8 ? s->cr8 : 0;
        v->gprs[reg] = wide ? val : (uint32_t)val;
        break;
    }
    case CR_ACCESS_CLTS:
        ok = guest_write_cr0(v, s, visible_cr0() & ~CR0_TS);
        break;
    case CR_ACCESS_LMSW: {
        /* LMSW loads PE, MP, EM, TS and cannot clear PE (Vol. 2A LMSW). */
        uint64_t old = visible_cr0();
        uint64_t msw = CR_QUAL_LMSW_DATA(qual) & (CR0_PE | CR0_MP | CR0_EM | CR0_TS);
        ok = guest_write_cr0(v, s, (old & ~(CR0_MP | CR0_EM | CR0_TS)) | msw | (old & CR0_PE));
        break;
    }
    }
    if (ok)
        skip_insn(len);
    else
        raise_gp(s);
}

/* ---------------------------------------------------------------- run */

static void decode_exit(struct vcpu *v, struct vmx_vcpu *s, uint32_t reason, struct vcpu_exit *e)
{
    memset(e, 0, sizeof(*e));
    e->raw = reason;
    e->qual = vmr(EXIT_QUALIFICATION);
    if (reason & EXIT_REASON_ENTRY_FAILURE) {
        /* 27.8: VM entry failed on the guest state, MSR loading or a
         * machine check; the qualification says which check. */
        pr_err("vmx: VM entry failed, exit reason %u, qualification %#lx, rip %#lx", reason & EXIT_REASON_BASIC_MASK,
               e->qual, vmr(GUEST_RIP));
        e->reason = VEXIT_INVALID;
        return;
    }
    switch (reason & EXIT_REASON_BASIC_MASK) {
    case EXIT_REASON_EXCEPTION_NMI: {
        uint32_t info = (uint32_t)vmr(VM_EXIT_INTR_INFO);
        if (((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) == INTR_TYPE_NMI) {
            /* A host NMI (NMI exiting): it is consumed by the exit, not
             * left pending. The host's only use of NMIs is the panic stop,
             * which we honour here; any other NMI is dropped. */
            if (panic_in_progress())
                panic_park_cpu();
            pr_warn("vmx: NMI while a guest ran (dropped)");
            e->reason = VEXIT_EXTINT;
            break;
        }
        e->reason = VEXIT_EXCEPTION;
        e->exception.vector = (uint8_t)(info & INTR_INFO_VECTOR_MASK);
        e->exception.has_error = info & INTR_INFO_ERROR_VALID;
        if (e->exception.has_error)
            e->exception.error = (uint32_t)vmr(VM_EXIT_INTR_ERROR_CODE);
        break;
    }
    case EXIT_REASON_EXTERNAL_INTERRUPT:
        e->reason = VEXIT_EXTINT;
        break;
    case EXIT_REASON_PREEMPTION_TIMER:
        e->reason = VEXIT_EXTINT;
        if (s->time_slice)
            vmw(VMX_PREEMPTION_TIMER_VALUE, s->time_slice); /* a fresh slice */
        break;
    case EXIT_REASON_TRIPLE_FAULT:
        e->reason = VEXIT_SHUTDOWN;
        break;
    case EXIT_REASON_INIT:
        e->reason = VEXIT_INIT;
        break;
    case EXIT_REASON_INTERRUPT_WINDOW:
        e->reason = VEXIT_INTR_WINDOW;
        break;
    case EXIT_REASON_CPUID:
        e->reason = VEXIT_CPUID;
        e->insn_len = (unsigned)vmr(VM_EXIT_INSTRUCTION_LEN);
        break;
    case EXIT_REASON_HLT:
        e->reason = VEXIT_HLT;
        e->insn_len = (unsigned)vmr(VM_EXIT_INSTRUCTION_LEN);
        break;
    case EXIT_REASON_VMCALL:
        e->reason = VEXIT_HYPERCALL;
        e->insn_len = 3;
        break;
    case EXIT_REASON_IO:
        e->reason = VEXIT_IO;
        e->io.port = IO_QUAL_PORT(e->qual);
        e->io.size = (uint8_t)IO_QUAL_SIZE(e->qual);
        e->io.in = e->qual & IO_QUAL_IN;
        e->io.string = e->qual & IO_QUAL_STRING;
        e->io.rep = e->qual & IO_QUAL_REP;
        e->insn_len = (unsigned)vmr(VM_EXIT_INSTRUCTION_LEN);
        break;
    case EXIT_REASON_MSR_READ:
    case EXIT_REASON_MSR_WRITE:
        e->reason = (reason & EXIT_REASON_BASIC_MASK) == EXIT_REASON_MSR_READ ? VEXIT_MSR_READ : VEXIT_MSR_WRITE;
        e->msr.index = (uint32_t)v->gprs[REG_RCX];
        e->insn_len = (unsigned)vmr(VM_EXIT_INSTRUCTION_LEN);
        break;
    case EXIT_REASON_EPT_VIOLATION:
        e->reason = VEXIT_MEMORY;
        e->mem.gpa = vmr(GUEST_PHYSICAL_ADDRESS);
        e->mem.read = e->qual & EPT_QUAL_READ;
        e->mem.write = e->qual & EPT_QUAL_WRITE;
        e->mem.exec = e->qual & EPT_QUAL_FETCH;
        e->mem.mapped = e->qual & EPT_QUAL_PRESENT_MASK;
        break;
    case EXIT_REASON_EPT_MISCONFIG:
        pr_err("vmx: EPT misconfiguration at guest-physical %#lx", vmr(GUEST_PHYSICAL_ADDRESS));
        e->reason = VEXIT_INVALID;
        break;
    case EXIT_REASON_INVALID_GUEST_STATE:
    case EXIT_REASON_MSR_LOADING:
    case EXIT_REASON_MACHINE_CHECK:
        pr_err("vmx: exit reason %u, qualification %#lx", reason & EXIT_REASON_BASIC_MASK, e->qual);
        e->reason = VEXIT_INVALID;
        break;
    default:
        /* VMCLEAR..VMXON (19-27), INVD, task switch, XSETBV, INVEPT,
         * INVVPID...: the core answers with #UD. */
        e->reason = VEXIT_OTHER;
        e->insn_len = (unsigned)vmr(VM_EXIT_INSTRUCTION_LEN);
        break;
    }
}

static const char *insn_error_name(uint64_t err)
{
    /* SDM 31.4, table 31-1 */
    switch (err) {
    case 2: return "VMCALL in VMX root operation";
    case 3: return "VMCLEAR with invalid physical address";
    case 4: return "VMLAUNCH with non-clear VMCS";
    case 5: return "VMRESUME with non-launched VMCS";
    case 7: return "VM entry with invalid control field(s)";
    case 8: return "VM entry with invalid host-state field(s)";
    case 9: return "VMPTRLD with invalid physical address";
    case 11: return "VMPTRLD with incorrect VMCS revision identifier";
    case 12: return "VMREAD/VMWRITE from/to unsupported VMCS component";
    case 26: return "VM entry with events blocked by MOV SS";
    default: return "see SDM table 31-1";
    }
}

/* Called on an exit with the VMCS current: recover the interrupted event
 * (28.2.4 IDT-vectoring information -> 27.6 event injection on
 * the next entry) and NMI blocking after an IRET that faulted (28.2.3). */
static void after_exit(struct vmx_vcpu *s, uint32_t reason)
{
    s->entry_intr_info = 0;
    s->reinject_pending = false;
    uint32_t idt = (uint32_t)vmr(IDT_VECTORING_INFO);
    if (idt & INTR_INFO_VALID) {
        uint32_t type = (idt & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
        s->entry_intr_info = idt & (INTR_INFO_VALID | INTR_INFO_TYPE_MASK | INTR_INFO_ERROR_VALID |
                                    INTR_INFO_VECTOR_MASK);
        s->entry_intr_error = (idt & INTR_INFO_ERROR_VALID) ? (uint32_t)vmr(IDT_VECTORING_ERROR_CODE) : 0;
        s->entry_insn_len = (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
                             type == INTR_TYPE_SW_EXCEPTION)
                                ? (uint32_t)vmr(VM_EXIT_INSTRUCTION_LEN)
                                : 0;
        s->reinject_pending = true;
    } else if (cfg.virtual_nmis) {
        uint32_t basic = reason & EXIT_REASON_BASIC_MASK;
        bool unblock = false;
        if (basic == EXIT_REASON_EXCEPTION_NMI)
            unblock = vmr(VM_EXIT_INTR_INFO) & INTR_INFO_NMI_UNBLOCK_IRET;
        else if (basic == EXIT_REASON_EPT_VIOLATION)
            unblock = vmr(EXIT_QUALIFICATION) & EPT_QUAL_NMI_UNBLOCK_IRET;
        if (unblock)
            vmw(GUEST_INTERRUPTIBILITY_INFO, vmr(GUEST_INTERRUPTIBILITY_INFO) | INTR_BLOCKING_NMI);
    }
}

/* External-interrupt exiting must end a run whatever the guest's RFLAGS.IF
 * (26.2), and the host relies on it: its timer tick and reschedule IPI
 * only arrive through such exits. Bochs 2.7 does not honour it
 * for a guest entered with IF=0: VM entry re-evaluates its interrupt mask
 * while still in root operation, so the LAPIC interrupt stays masked until
 * the guest itself changes IF (CLI, STI, POPF, IRET, event delivery); a
 * guest that spins with IF=0 from its entry on (an AP started by
 * HC_VCPU_UP, or any vCPU resumed after an exit with IF=0) then keeps its
 * CPU for good. Bound such a run with the VMX-preemption timer, whose
 * exit Bochs takes regardless (its exit is reported as VEXIT_EXTINT, and
 * the host takes its pending interrupts then). Not needed with IF=1, nor
 * while a time slice (set_time_slice) already arms the timer; on real
 * hardware it only adds an exit per BACKSTOP_US of IF=0 guest code. */
static void arm_backstop(struct vmx_vcpu *s)
{
    if (!cfg.backstop_ticks || s->time_slice)
        return;
    bool want = !(vmr(GUEST_RFLAGS) & RFLAGS_IF);
    if (want == !!(s->pin & PIN_PREEMPTION_TIMER))
        return;
    if (want) {
        /* The count restarts from this value at every entry: "save
         * VMX-preemption timer value" stays off without a time slice. */
        vmw(VMX_PREEMPTION_TIMER_VALUE, cfg.backstop_ticks);
        s->pin |= PIN_PREEMPTION_TIMER;
    } else {
        s->pin &= ~PIN_PREEMPTION_TIMER;
    }
    vmw(PIN_BASED_VM_EXEC_CONTROL, s->pin);
}

static void vmx_run(struct vcpu *v, struct vcpu_exit *e)
{
    struct vmx_vcpu *s = vmx(v);
    struct percpu *p = this_cpu();
    struct vmx_cpu *c = p->virt_cpu;
    int cpu = (int)p->cpu_id;

    if (!c) {
        pr_err("vmx: cpu%d is not in VMX operation", cpu);
        memset(e, 0, sizeof(*e));
        e->reason = VEXIT_INVALID;
        return;
    }
    if (s->last_cpu != cpu) {
        if (s->last_cpu >= 0) {
            /* Moved: put() cleared it on the old CPU (see top). */
            s->launched = false;
        }
        load(v);
        write_host_cpu_state();
        /* Combined and guest-physical translations cached for this VPID
         * and EPTP on this CPU may be stale (e.g. a reused VPID or root). */
        if (cfg.vpid)
            vmx_invvpid(cfg.invvpid_type, s->vpid);
        s->flushed_generation = v->aspace->generation - 1;
        s->last_cpu = cpu;
    } else {
        load(v);
    }

    for (;;) {
        uint64_t gen = __atomic_load_n(&v->aspace->generation, __ATOMIC_ACQUIRE);
        if (s->flushed_generation != gen) {
            if (vmx_invept(cfg.invept_type, s->eptp))
                pr_err("vmx: INVEPT failed");
            s->flushed_generation = gen;
        }
        vmw(GUEST_RSP, v->gprs[REG_RSP]);
        if (s->entry_intr_info & INTR_INFO_VALID) {
            vmw(VM_ENTRY_INTR_INFO, s->entry_intr_info);
            vmw(VM_ENTRY_EXCEPTION_ERROR_CODE, s->entry_intr_error);
            vmw(VM_ENTRY_INSTRUCTION_LEN, s->entry_insn_len);
        }
        arm_backstop(s);
        /* CR2 and the lazy MSRs are not part of the VMCS (27.3, 28.5). */
        if (read_cr2() != s->cr2)
            write_cr2(s->cr2);
        for (unsigned i = 0; i < LAZY_MSRS; i++) {
            if (c->msr_loaded[i] != s->msr[i]) {
                wrmsr(lazy_msr_index[i], s->msr[i]);
                c->msr_loaded[i] = s->msr[i];
            }
        }

        int rc = vmx_world_switch(v->gprs, s->launched);

        s->cr2 = read_cr2();
        s->msr[LAZY_KERNEL_GS_BASE] = c->msr_loaded[LAZY_KERNEL_GS_BASE] = rdmsr(MSR_KERNEL_GS_BASE);

        if (rc) {
            uint64_t err = rc == 2 ? vmr(VM_INSTRUCTION_ERROR) : 0;
            pr_err("vmx: %s failed: %s (VM-instruction error %lu: %s)", s->launched ? "VMRESUME" : "VMLAUNCH",
                   rc == 2 ? "VMfailValid" : "VMfailInvalid", err, rc == 2 ? insn_error_name(err) : "no current VMCS");
            memset(e, 0, sizeof(*e));
            e->reason = VEXIT_INVALID;
            e->raw = ~0ull;
            e->qual = err;
            return;
        }
        v->gprs[REG_RSP] = vmr(GUEST_RSP);
        uint32_t reason = (uint32_t)vmr(VM_EXIT_REASON);
        if (!(reason & EXIT_REASON_ENTRY_FAILURE))
            s->launched = true; /* a failed entry leaves the launch state (27.8) */
        after_exit(s, reason);
        if ((reason & (EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_BASIC_MASK)) == EXIT_REASON_CR_ACCESS) {
            handle_cr_access(v, s, vmr(EXIT_QUALIFICATION), (unsigned)vmr(VM_EXIT_INSTRUCTION_LEN));
            continue; /* back into the guest: the core never sees it */
        }
        decode_exit(v, s, reason, e);
        return;
    }
}

const struct virt_ops vmx_virt_ops = {
    .name = "VT-x (VMX) with EPT",
    .enable_cpu = vmx_enable_cpu,
    .vcpu_create = vmx_vcpu_create,
    .vcpu_destroy = vmx_vcpu_destroy,
    .set_state = vmx_set_state,
    .get_state = vmx_get_state,
    .rip = vmx_rip,
    .set_rip = vmx_set_rip,
    .rflags = vmx_rflags,
    .cpl = vmx_cpl,
    .paging_state = vmx_paging_state,
    .skip = vmx_skip,
    .run = vmx_run,
    .put = vmx_put,
    .inject = vmx_inject,
    .event_queued = vmx_event_queued,
    .interruptible = vmx_interruptible,
    .request_intr_window = vmx_request_intr_window,
    .set_time_slice = vmx_set_time_slice,
    .set_io_bitmap = vmx_set_io_bitmap,
};
