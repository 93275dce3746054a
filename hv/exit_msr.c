/* MSR accesses: an allowlist emulated here; everything else raises #GP(0)
 * in the guest (docs/guest-platform.md lists the allowed MSRs). */
#include "arch/x86/cpu.h"
#include "hv/domain.h"

#define MSR_TSC 0x10
#define MSR_APIC_BASE_ 0x1B
#define MSR_PAT 0x277
#define MSR_TSC_DEADLINE_ 0x6E0
#define MSR_EFER_ 0xC0000080
#define MSR_FS_BASE_ 0xC0000100
#define MSR_GS_BASE_ 0xC0000101
#define MSR_KERNEL_GS_BASE_ 0xC0000102
#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_CSTAR 0xC0000083
#define MSR_SFMASK 0xC0000084
#define X2APIC_ID 0x802
#define X2APIC_VERSION 0x803
#define X2APIC_TPR 0x808
#define X2APIC_EOI 0x80B
#define X2APIC_SVR 0x80F
#define X2APIC_LVT_TIMER 0x832

#define APIC_DEFAULT_BASE 0xFEE00000ull
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define LAPIC_VERSION 0x00050014u /* version 0x14, 6 LVT entries */
#define EFER_LME_ (1ull << 8)
#define EFER_LMA_ (1ull << 10)
#define EFER_GUEST_WRITABLE ((1ull << 0) | (1ull << 11)) /* SCE, NXE */
#define LVT_TIMER_WRITABLE 0x000700FFu /* vector, mask, mode */

static uint64_t apic_base(const struct vcpu *v)
{
    return APIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD | (v->id == 0 ? APIC_BASE_BSP : 0);
}

/* MSRs that live in the architectural vCPU state. */
static uint64_t *state_msr(struct vcpu_state *st, uint32_t msr)
{
    switch (msr) {
    case MSR_EFER_: return &st->efer;
    case MSR_PAT: return &st->pat;
    case MSR_FS_BASE_: return &st->fs.base;
    case MSR_GS_BASE_: return &st->gs.base;
    case MSR_KERNEL_GS_BASE_: return &st->kernel_gs_base;
    case MSR_STAR: return &st->star;
    case MSR_LSTAR: return &st->lstar;
    case MSR_CSTAR: return &st->cstar;
    case MSR_SFMASK: return &st->sfmask;
    default: return NULL;
    }
}

/* Returns false for an MSR not on the list (the caller raises #GP). */
static bool msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    struct vcpu_state st;
    switch (msr) {
    case MSR_TSC: *val = rdtsc(); return true;
    case MSR_APIC_BASE_: *val = apic_base(v); return true;
    case MSR_TSC_DEADLINE_: *val = v->tsc_deadline; return true;
    case X2APIC_ID: *val = v->id; return true;
    case X2APIC_VERSION: *val = LAPIC_VERSION; return true;
    case X2APIC_TPR: *val = v->lapic_tpr; return true;
    case X2APIC_SVR: *val = v->lapic_svr; return true;
    case X2APIC_LVT_TIMER: *val = v->lapic_lvt_timer; return true;
    default:
        if (!state_msr(&st, msr))
            return false;
        arch_vcpu_get_state(v, &st);
        *val = *state_msr(&st, msr);
        return true;
    }
}

static bool canonical(uint64_t a) { return (uint64_t)((int64_t)(a << 16) >> 16) == a; }

/* Valid PAT: every byte one of 0, 1, 4, 5, 6, 7 (SDM Vol. 3A 11.12.2). */
static bool pat_valid(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        uint8_t t = (uint8_t)(pat >> (8 * i));
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

/* Returns false when the write must raise #GP. */
static bool msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    struct vcpu_state st;
    switch (msr) {
    case MSR_TSC_DEADLINE_:
        v->tsc_deadline = val;
        return true;
    case MSR_APIC_BASE_:
        return val == apic_base(v); /* relocating or disabling the APIC is not supported */
    case X2APIC_TPR:
        if (val > 0xFF)
            return false;
        v->lapic_tpr = (uint32_t)val;
        return true;
    case X2APIC_EOI:
        return val == 0; /* SDM 11.12.1.2: non-zero EOI writes #GP in x2APIC mode */
    case X2APIC_SVR:
        if (val > 0xFFFF)
            return false;
        v->lapic_svr = (uint32_t)(val & 0x1FF);
        return true;
    case X2APIC_LVT_TIMER:
        if (val > 0xFFFFFFFFu)
            return false;
        v->lapic_lvt_timer = (uint32_t)(val & LVT_TIMER_WRITABLE);
        return true;
    default:
        if (!state_msr(&st, msr))
            return false;
        arch_vcpu_get_state(v, &st);
        if (msr == MSR_EFER_) {
            /* Mode switches (LME/LMA) are not emulated; SCE and NXE are. */
            if ((val & ~(EFER_GUEST_WRITABLE | EFER_LME_ | EFER_LMA_)) ||
                (val & (EFER_LME_ | EFER_LMA_)) != (st.efer & (EFER_LME_ | EFER_LMA_)))
                return false;
            st.efer = val;
        } else if (msr == MSR_PAT) {
            if (!pat_valid(val))
                return false;
            st.pat = val;
        } else if (msr == MSR_STAR || msr == MSR_SFMASK) {
            if (msr == MSR_SFMASK && val > 0xFFFFFFFFu)
                return false;
            *state_msr(&st, msr) = val;
        } else {
            if (!canonical(val)) /* the base and LSTAR/CSTAR MSRs, SDM Vol. 4 */
                return false;
            *state_msr(&st, msr) = val;
        }
        arch_vcpu_set_state(v, &st);
        return true;
    }
}

void handle_msr(struct vcpu *v, const struct vcpu_exit *e)
{
    uint32_t msr = e->msr.index;
    if (e->reason == VEXIT_MSR_READ) {
        uint64_t val;
        if (!msr_read(v, msr, &val)) {
            vcpu_inject_exception(v, 13, true, 0);
            return;
        }
        v->gprs[REG_RAX] = (uint32_t)val;
        v->gprs[REG_RDX] = val >> 32;
    } else {
        uint64_t val = (v->gprs[REG_RDX] << 32) | (uint32_t)v->gprs[REG_RAX];
        if (!msr_write(v, msr, val)) {
            vcpu_inject_exception(v, 13, true, 0);
            return;
        }
    }
    arch_vcpu_skip(v, e);
}
