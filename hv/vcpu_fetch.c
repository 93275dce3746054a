/* Reading guest memory through the guest's own page tables, for emulation
 * (instruction fetch for MMIO and for the other vendor's hypercall). */
#include "arch/x86/guest_walk.h"
#include "hv/domain.h"

static bool read_gpa(void *ctx, uint64_t gpa, void *buf, size_t len) { return domain_read(ctx, gpa, buf, len); }

bool vcpu_fetch_insn(struct vcpu *v, const struct vcpu_state *st, uint8_t *buf, unsigned len, unsigned *got)
{
    struct guest_paging pg = {
        .cr0 = st->cr0, .cr3 = st->cr3, .cr4 = st->cr4, .efer = st->efer, .read_gpa = read_gpa, .ctx = v->dom,
    };
    bool flat64 = (st->efer & GW_EFER_LMA) && (st->cs.attr & SEG_ATTR_L);
    uint64_t linear = st->rip + (flat64 ? 0 : st->cs.base);
    unsigned access = GW_FETCH | (arch_vcpu_cpl(v) == 3 ? GW_USER : 0);
    size_t done = 0;
    /* Fewer bytes than asked is fine when the instruction ends before an
     * unmapped page; the decoder says whether it had enough. */
    guest_read_virt(&pg, linear, buf, len, access, &done, NULL);
    *got = (unsigned)done;
    return done > 0;
}
