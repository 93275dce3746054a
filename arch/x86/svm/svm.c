/* AMD-V backend (AMD APM Vol. 2 chapter 15): EFER.SVME and the host save
 * area per CPU, one VMCB per vCPU, nested paging, ASIDs and clean bits. */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeature.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/virt.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "hv/string.h"
#include "plinth/errno.h"

#define EFER_SVME (1ull << 12)
#define MSR_VM_HSAVE_PA 0xC0010117
#define IOPM_SIZE (12u << 10)   /* APM Vol. 2 15.10.1: 12 KiB */
#define MSRPM_OFFSET (16u << 10)
#define MSRPM_SIZE (8u << 10)   /* 15.11: 8 KiB */
#define DEFAULT_PAT 0x0007040600070406ull
#define CPUID_SVM_NRIPS (1u << 3) /* CPUID 8000_000A EDX: next-RIP saved */

struct svm_cpu {
    uint64_t host_save_pa;
    uint64_t host_vmcb_pa;
};

struct svm_vcpu {
    struct vmcb *vmcb;
    uint64_t vmcb_pa;
    uint32_t asid;
    int last_cpu;               /* -1: never run */
    uint64_t flushed_generation;
    bool reinject_pending;      /* event_inj holds an interrupted event */
};

extern void svm_world_switch(uint64_t guest_vmcb_pa, uint64_t *gprs, uint64_t host_vmcb_pa);

static uint64_t permission_maps_pa; /* one all-ones IOPM + MSRPM for every vCPU */
static uint32_t next_asid = 1;
static bool nrips;

static struct svm_vcpu *svm(struct vcpu *v) { return v->arch; }

static uint64_t alloc_zeroed_page(void)
{
    return mm_alloc_frame();
}

static int svm_enable_cpu(void)
{
    struct percpu *p = this_cpu();
    if (!cpu_features.svm || !cpu_features.npt || cpu_features.svm_disabled)
        return -PL_ENOSYS;
    struct svm_cpu *c = kmalloc(sizeof(*c));
    if (!c)
        return -PL_ENOMEM;
    c->host_save_pa = alloc_zeroed_page();
    c->host_vmcb_pa = alloc_zeroed_page();
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, c->host_save_pa);
    p->virt_cpu = c;

    if (!permission_maps_pa) {
        uint32_t a, b, cc, d;
        cpuid_count(0x8000000A, 0, &a, &b, &cc, &d);
        nrips = d & CPUID_SVM_NRIPS;
        uint64_t pa = mm_alloc(PMM_2M, 4ull << 30);
        if (pa == PMM_NO_FRAME)
            return -PL_ENOMEM;
        /* Every port and every MSR is intercepted: the core decides. */
        memset(phys_to_virt(pa), 0xFF, MSRPM_OFFSET + MSRPM_SIZE);
        permission_maps_pa = pa;
    }
    return 0;
}

static void seg_to_vmcb(struct vmcb_seg *d, const struct vcpu_segment *s)
{
    d->selector = s->selector;
    d->attrib = s->attr;
    d->limit = s->limit;
    d->base = s->base;
}

static void seg_from_vmcb(struct vcpu_segment *d, const struct vmcb_seg *s)
{
    d->selector = s->selector;
    d->attr = s->attrib;
    d->limit = s->limit;
    d->base = s->base;
}

static int svm_vcpu_create(struct vcpu *v, struct aspace *as)
{
    struct svm_vcpu *s = kmalloc(sizeof(*s));
    if (!s)
        return -PL_ENOMEM;
    s->vmcb_pa = alloc_zeroed_page();
    s->vmcb = phys_to_virt(s->vmcb_pa);
    s->asid = __atomic_fetch_add(&next_asid, 1, __ATOMIC_RELAXED);
    s->last_cpu = -1;
    s->flushed_generation = as->generation - 1;
    s->reinject_pending = false;
    v->arch = s;
    v->aspace = as;

    struct vmcb_control *c = &s->vmcb->control;
    c->intercept_exceptions = 1u << 6; /* #UD: VMCALL on AMD is emulated */
    c->intercept_misc1 = SVM_INTERCEPT1_INTR | SVM_INTERCEPT1_NMI | SVM_INTERCEPT1_INIT | SVM_INTERCEPT1_CPUID |
                         SVM_INTERCEPT1_INVD | SVM_INTERCEPT1_HLT | SVM_INTERCEPT1_IOIO | SVM_INTERCEPT1_MSR |
                         SVM_INTERCEPT1_TASKSWITCH | SVM_INTERCEPT1_SHUTDOWN;
    c->intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL | SVM_INTERCEPT2_VMLOAD |
                         SVM_INTERCEPT2_VMSAVE | SVM_INTERCEPT2_STGI | SVM_INTERCEPT2_CLGI | SVM_INTERCEPT2_SKINIT |
                         SVM_INTERCEPT2_XSETBV;
    c->iopm_base_pa = permission_maps_pa;
    c->msrpm_base_pa = permission_maps_pa + MSRPM_OFFSET;
    c->guest_asid = s->asid;
    c->int_ctl = SVM_V_INTR_MASKING;
    c->nested_ctl = 1; /* NP_ENABLE */
    c->nested_cr3 = as->root;
    s->vmcb->save.g_pat = DEFAULT_PAT;
    return 0;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
    struct svm_vcpu *s = svm(v);
    if (!s)
        return;
    mm_free(s->vmcb_pa, PMM_4K);
    kfree(s);
    v->arch = NULL;
}

static void svm_set_state(struct vcpu *v, const struct vcpu_state *st)
{
    struct vmcb_save *g = &svm(v)->vmcb->save;
    g->rip = st->rip;
    g->rflags = st->rflags;
    g->cr0 = st->cr0;
    g->cr2 = st->cr2;
    g->cr3 = st->cr3;
    g->cr4 = st->cr4;
    /* VMRUN requires EFER.SVME in the guest image (APM 15.5.1); the guest
     * never sees it (MSR reads are filtered by the core). */
    g->efer = st->efer | EFER_SVME;
    g->g_pat = st->pat;
    g->dr7 = st->dr7 ? st->dr7 : 0x400;
    g->dr6 = 0xFFFF0FF0;
    seg_to_vmcb(&g->cs, &st->cs);
    seg_to_vmcb(&g->ds, &st->ds);
    seg_to_vmcb(&g->es, &st->es);
    seg_to_vmcb(&g->fs, &st->fs);
    seg_to_vmcb(&g->gs, &st->gs);
    seg_to_vmcb(&g->ss, &st->ss);
    seg_to_vmcb(&g->tr, &st->tr);
    seg_to_vmcb(&g->ldtr, &st->ldtr);
    g->gdtr.base = st->gdtr.base;
    g->gdtr.limit = st->gdtr.limit;
    g->idtr.base = st->idtr.base;
    g->idtr.limit = st->idtr.limit;
    g->cpl = (st->ss.attr >> 5) & 3;
    g->kernel_gs_base = st->kernel_gs_base;
    g->star = st->star;
    g->lstar = st->lstar;
    g->cstar = st->cstar;
    g->sfmask = st->sfmask;
    g->rsp = v->gprs[REG_RSP];
    g->rax = v->gprs[REG_RAX];
    svm(v)->vmcb->control.clean = 0;
}

static void svm_set_io_bitmap(struct vcpu *v, uint64_t bitmap_pa)
{
    struct vmcb_control *c = &svm(v)->vmcb->control;
    c->iopm_base_pa = bitmap_pa ? bitmap_pa : permission_maps_pa;
    c->clean &= ~SVM_CLEAN_INTERCEPTS; /* the IOPM base is cached with them (APM 15.15.3) */
}

static void svm_get_state(struct vcpu *v, struct vcpu_state *st)
{
    const struct vmcb_save *g = &svm(v)->vmcb->save;
    st->rip = g->rip;
    st->rflags = g->rflags;
    st->cr0 = g->cr0;
    st->cr2 = g->cr2;
    st->cr3 = g->cr3;
    st->cr4 = g->cr4;
    st->efer = g->efer & ~EFER_SVME;
    st->pat = g->g_pat;
    st->dr7 = g->dr7;
    seg_from_vmcb(&st->cs, &g->cs);
    seg_from_vmcb(&st->ds, &g->ds);
    seg_from_vmcb(&st->es, &g->es);
    seg_from_vmcb(&st->fs, &g->fs);
    seg_from_vmcb(&st->gs, &g->gs);
    seg_from_vmcb(&st->ss, &g->ss);
    seg_from_vmcb(&st->tr, &g->tr);
    seg_from_vmcb(&st->ldtr, &g->ldtr);
    st->gdtr.base = g->gdtr.base;
    st->gdtr.limit = (uint16_t)g->gdtr.limit;
    st->idtr.base = g->idtr.base;
    st->idtr.limit = (uint16_t)g->idtr.limit;
    st->kernel_gs_base = g->kernel_gs_base;
    st->star = g->star;
    st->lstar = g->lstar;
    st->cstar = g->cstar;
    st->sfmask = g->sfmask;
}

static uint64_t svm_rip(struct vcpu *v) { return svm(v)->vmcb->save.rip; }
static void svm_set_rip(struct vcpu *v, uint64_t rip) { svm(v)->vmcb->save.rip = rip; }
static uint64_t svm_rflags(struct vcpu *v) { return svm(v)->vmcb->save.rflags; }
static unsigned svm_cpl(struct vcpu *v) { return svm(v)->vmcb->save.cpl; }

static void svm_paging_state(struct vcpu *v, uint64_t *cr0, uint64_t *cr3, uint64_t *cr4, uint64_t *efer)
{
    const struct vmcb_save *g = &svm(v)->vmcb->save;
    *cr0 = g->cr0;
    *cr3 = g->cr3;
    *cr4 = g->cr4;
    *efer = g->efer & ~EFER_SVME;
}

static void svm_skip(struct vcpu *v, const struct vcpu_exit *e)
{
    struct vmcb *vmcb = svm(v)->vmcb;
    vmcb->save.rip += e->insn_len;
    vmcb->control.int_state &= ~1ull; /* leaving the instruction ends any shadow */
}

static unsigned io_size(uint64_t info)
{
    if (info & SVM_IOIO_SZ32)
        return 4;
    if (info & SVM_IOIO_SZ16)
        return 2;
    return 1;
}

/* Length of the exiting instruction: next_rip when the CPU saves it
 * (NRIPS), else the fixed length of the intercepted instruction. */
static unsigned insn_len(const struct vmcb *vmcb, unsigned fixed)
{
    if (nrips && vmcb->control.next_rip > vmcb->save.rip)
        return (unsigned)(vmcb->control.next_rip - vmcb->save.rip);
    return fixed;
}

static void decode_exit(struct vcpu *v, struct vcpu_exit *e)
{
    struct vmcb *vmcb = svm(v)->vmcb;
    const struct vmcb_control *c = &vmcb->control;
    memset(e, 0, sizeof(*e));
    e->raw = c->exit_code;
    e->qual = c->exit_info1;

    switch (c->exit_code) {
    case SVM_EXIT_CPUID:
        e->reason = VEXIT_CPUID;
        e->insn_len = insn_len(vmcb, 2);
        break;
    case SVM_EXIT_HLT:
        e->reason = VEXIT_HLT;
        e->insn_len = insn_len(vmcb, 1);
        break;
    case SVM_EXIT_VMMCALL:
        e->reason = VEXIT_HYPERCALL;
        e->insn_len = insn_len(vmcb, 3);
        break;
    case SVM_EXIT_MSR:
        e->reason = c->exit_info1 ? VEXIT_MSR_WRITE : VEXIT_MSR_READ;
        e->msr.index = (uint32_t)v->gprs[REG_RCX];
        e->insn_len = insn_len(vmcb, 2);
        break;
    case SVM_EXIT_IOIO: {
        uint64_t info = c->exit_info1;
        e->reason = VEXIT_IO;
        e->io.port = (uint16_t)(info >> SVM_IOIO_PORT_SHIFT);
        e->io.size = (uint8_t)io_size(info);
        e->io.in = info & SVM_IOIO_IN;
        e->io.string = info & SVM_IOIO_STR;
        e->io.rep = info & SVM_IOIO_REP;
        e->insn_len = (unsigned)(c->exit_info2 - vmcb->save.rip); /* EXITINFO2 = next RIP */
        break;
    }
    case SVM_EXIT_NPF:
        e->reason = VEXIT_MEMORY;
        e->mem.gpa = c->exit_info2;
        e->mem.write = c->exit_info1 & SVM_NPF_WRITE;
        e->mem.exec = c->exit_info1 & SVM_NPF_FETCH;
        e->mem.read = !e->mem.write && !e->mem.exec;
        e->mem.mapped = c->exit_info1 & SVM_NPF_PRESENT;
        break;
    case SVM_EXIT_INTR:
    case SVM_EXIT_NMI:
        e->reason = VEXIT_EXTINT;
        break;
    case SVM_EXIT_VINTR:
        e->reason = VEXIT_INTR_WINDOW;
        break;
    case SVM_EXIT_SHUTDOWN:
        e->reason = VEXIT_SHUTDOWN;
        break;
    case SVM_EXIT_INIT:
        e->reason = VEXIT_INIT;
        break;
    case SVM_EXIT_INVALID:
    case (uint32_t)SVM_EXIT_INVALID: /* QEMU TCG stores -1 as 32 bits */
        e->reason = VEXIT_INVALID;
        break;
    default:
        if (c->exit_code >= SVM_EXIT_EXCP_BASE && c->exit_code < SVM_EXIT_EXCP_BASE + 32) {
            e->reason = VEXIT_EXCEPTION;
            e->exception.vector = (uint8_t)(c->exit_code - SVM_EXIT_EXCP_BASE);
        } else {
            /* VMRUN, VMLOAD, ... STGI, XSETBV, INVD, task switch: the core
             * answers with #UD or stops the guest. */
            e->reason = VEXIT_OTHER;
        }
        break;
    }
}

static void svm_run(struct vcpu *v, struct vcpu_exit *e)
{
    struct svm_vcpu *s = svm(v);
    struct vmcb *vmcb = s->vmcb;
    struct svm_cpu *c = this_cpu()->virt_cpu;
    int cpu = (int)this_cpu_id();

    if (s->last_cpu != cpu) {
        /* Another CPU may hold stale cached VMCB state and TLB entries. */
        vmcb->control.clean = 0;
        vmcb->control.tlb_control = SVM_TLB_FLUSH_ASID;
        s->last_cpu = cpu;
    }
    if (s->flushed_generation != v->aspace->generation) {
        vmcb->control.tlb_control = SVM_TLB_FLUSH_ASID;
        s->flushed_generation = v->aspace->generation;
    }
    vmcb->save.rax = v->gprs[REG_RAX];
    vmcb->save.rsp = v->gprs[REG_RSP];

    svm_world_switch(s->vmcb_pa, v->gprs, c->host_vmcb_pa);

    v->gprs[REG_RAX] = vmcb->save.rax;
    v->gprs[REG_RSP] = vmcb->save.rsp;
    vmcb->control.tlb_control = SVM_TLB_FLUSH_NOTHING;
    /* Nothing below is changed behind the CPU's back unless we clear the
     * bit again (event injection and RIP are never cached). */
    vmcb->control.clean = SVM_CLEAN_ALL & ~SVM_CLEAN_TPR;

    /* An event interrupted in delivery goes back in (APM 15.7.2). INTn,
     * INT3 and INTO are not re-injected: RIP still points at the
     * instruction, which raises them again when it re-executes. */
    s->reinject_pending = false;
    vmcb->control.event_inj = 0;
    uint32_t info = vmcb->control.exit_int_info;
    uint32_t type = (info >> SVM_EVT_TYPE_SHIFT) & 7, vector = info & 0xFF;
    bool reexecutes = type == SVM_EVT_TYPE_SOFTINT || (type == SVM_EVT_TYPE_EXCEPTION && (vector == 3 || vector == 4));
    if ((info & SVM_EVT_VALID) && !reexecutes) {
        vmcb->control.event_inj = vmcb->control.exit_int_info;
        vmcb->control.event_inj_err = vmcb->control.exit_int_info_err;
        s->reinject_pending = true;
    }
    decode_exit(v, e);
}

static void svm_put(struct vcpu *v)
{
    /* The VMCB lives in memory and carries no per-CPU binding; svm_run
     * notices the CPU change itself (clean bits, TLB flush). */
    (void)v;
}

static int svm_inject(struct vcpu *v, const struct vcpu_event *ev)
{
    struct vmcb_control *c = &svm(v)->vmcb->control;
    if (c->event_inj & SVM_EVT_VALID)
        return -PL_EBUSY;
    static const uint32_t types[] = { [VEVENT_EXTINT] = SVM_EVT_TYPE_INTR, [VEVENT_NMI] = SVM_EVT_TYPE_NMI,
                                      [VEVENT_EXCEPTION] = SVM_EVT_TYPE_EXCEPTION,
                                      [VEVENT_SOFTINT] = SVM_EVT_TYPE_SOFTINT };
    if (ev->type > VEVENT_SOFTINT)
        return -PL_EINVAL;
    c->event_inj = SVM_EVT_VALID | (types[ev->type] << SVM_EVT_TYPE_SHIFT) | ev->vector |
                   (ev->has_error ? SVM_EVT_ERROR_VALID : 0);
    c->event_inj_err = ev->error;
    return 0;
}

static bool svm_event_queued(struct vcpu *v) { return svm(v)->vmcb->control.event_inj & SVM_EVT_VALID; }

static bool svm_interruptible(struct vcpu *v)
{
    const struct vmcb *vmcb = svm(v)->vmcb;
    return (vmcb->save.rflags & RFLAGS_IF) && !(vmcb->control.int_state & 1) &&
           !(vmcb->control.event_inj & SVM_EVT_VALID);
}

static void svm_request_intr_window(struct vcpu *v, bool on)
{
    struct vmcb_control *c = &svm(v)->vmcb->control;
    /* A virtual interrupt with V_IGN_TPR exits (VINTR) as soon as the guest
     * could take it (APM 15.21.4); it is never actually delivered. */
    if (on) {
        c->int_ctl |= SVM_V_IRQ | SVM_V_IGN_TPR;
        c->intercept_misc1 |= SVM_INTERCEPT1_VINTR;
    } else {
        c->int_ctl &= ~(SVM_V_IRQ | SVM_V_IGN_TPR);
        c->intercept_misc1 &= ~SVM_INTERCEPT1_VINTR;
    }
    c->clean &= ~(SVM_CLEAN_TPR | SVM_CLEAN_INTERCEPTS);
}

static void svm_set_time_slice(struct vcpu *v, uint64_t tsc_cycles)
{
    /* SVM has no preemption timer: the host's periodic LAPIC tick causes
     * #VMEXIT(INTR), which bounds every run. */
    (void)v;
    (void)tsc_cycles;
}

const struct virt_ops svm_virt_ops = {
    .name = "AMD-V (SVM) with nested paging",
    .enable_cpu = svm_enable_cpu,
    .vcpu_create = svm_vcpu_create,
    .vcpu_destroy = svm_vcpu_destroy,
    .set_state = svm_set_state,
    .get_state = svm_get_state,
    .rip = svm_rip,
    .set_rip = svm_set_rip,
    .rflags = svm_rflags,
    .cpl = svm_cpl,
    .paging_state = svm_paging_state,
    .skip = svm_skip,
    .run = svm_run,
    .put = svm_put,
    .inject = svm_inject,
    .event_queued = svm_event_queued,
    .interruptible = svm_interruptible,
    .request_intr_window = svm_request_intr_window,
    .set_time_slice = svm_set_time_slice,
    .set_io_bitmap = svm_set_io_bitmap,
};
