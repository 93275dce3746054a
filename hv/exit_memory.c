/* EPT violations / nested page faults: accesses to emulated MMIO are
 * decoded and performed; any other access outside the guest's memory stops
 * the guest with a diagnostic. */
#include "arch/x86/insn_decode.h"
#include "hv/compiler.h"
#include "hv/devices.h"
#include "hv/domain.h"
#include "hv/ioreq.h"
#include "hv/mmio.h"
#include "hv/string.h"

#define EFER_LMA_ (1ull << 10)

static const struct mmio_region *const regions[] = { &testdev_region };

const struct mmio_region *mmio_find(uint64_t gpa)
{
    for (unsigned i = 0; i < ARRAY_SIZE(regions); i++)
        if (gpa >= regions[i]->base && gpa - regions[i]->base < regions[i]->len)
            return regions[i];
    return NULL;
}

static enum insn_mode code_mode(const struct vcpu_state *st)
{
    if ((st->efer & EFER_LMA_) && (st->cs.attr & SEG_ATTR_L))
        return INSN_MODE_64;
    return (st->cs.attr & SEG_ATTR_DB) ? INSN_MODE_32 : INSN_MODE_16;
}

static const char *access_name(const struct vcpu_exit *e)
{
    return e->mem.exec ? "execute" : e->mem.write ? "write" : "read";
}

void handle_memory(struct vcpu *v, const struct vcpu_exit *e)
{
    struct domain *d = v->dom;
    uint64_t gpa = e->mem.gpa;
    if (d->wp_page && e->mem.write && (gpa & ~0xFFFull) == d->wp_page) {
        /* The write-protect trap the guest armed (hv/testdev.c): lift it
         * and let the write (or the event delivery it was part of) run
         * again. */
        arch_aspace_protect(&d->as, d->wp_page, 0x1000, ASPACE_RWX);
        d->wp_page = 0;
        d->wp_hits++;
        return;
    }
    const struct mmio_region *r = mmio_find(gpa);
    if (!r && !e->mem.exec && !e->mem.mapped && devices_map_mmio(d, gpa))
        return; /* the control domain's device memory, mapped now: retry */
    if ((!r && !ioreq_window(gpa)) || e->mem.exec) {
        domain_stop(d, true, 0, "%s access to guest-physical %#lx outside its memory, rip %#lx", access_name(e), gpa,
                   arch_vcpu_rip(v));
        return;
    }

    struct insn in;
    if (ioreq_window(gpa) && !e->mem.exec) {
        ioreq_handle(v, e);
        return;
    }
    if (!mmio_decode(v, gpa, r->name, &in))
        return;
    uint64_t off = gpa - r->base;
    if (in.size > r->len - off) {
        domain_stop(d, true, 0, "MMIO access of %u bytes at %#lx runs past the end of %s", in.size, gpa, r->name);
        return;
    }
    uint64_t val = 0;
    if (in.write)
        r->write(d, off, in.size, insn_write_value(&in, v->gprs));
    else
        val = r->read(d, off, in.size);
    mmio_finish(v, &in, val);
}

bool mmio_decode(struct vcpu *v, uint64_t gpa, const char *what, struct insn *in)
{
    uint8_t bytes[INSN_MAX_LEN];
    unsigned got = 0;
    struct vcpu_state st;
    arch_vcpu_get_state(v, &st);
    if (!vcpu_fetch_insn(v, &st, bytes, sizeof(bytes), &got) || insn_decode(bytes, got, code_mode(&st), in)) {
        domain_stop(v->dom, true, 0,
                    "MMIO access at %#lx (%s) by an instruction that cannot be emulated, rip %#lx: %02x %02x %02x %02x",
                    gpa, what, st.rip, got > 0 ? bytes[0] : 0, got > 1 ? bytes[1] : 0, got > 2 ? bytes[2] : 0,
                    got > 3 ? bytes[3] : 0);
        return false;
    }
    return true;
}

void mmio_finish(struct vcpu *v, const struct insn *in, uint64_t val)
{
    if (!in->write) {
        if (in->op == INSN_TEST || in->op == INSN_CMP) {
            struct vcpu_state st;
            arch_vcpu_get_state(v, &st);
            st.rflags = insn_compare_flags(in, v->gprs, val, st.rflags);
            st.rip += in->length;
            arch_vcpu_set_state(v, &st);
            return;
        }
        insn_apply_read(in, v->gprs, val);
    }
    struct vcpu_exit skip = { .insn_len = in->length };
    arch_vcpu_skip(v, &skip);
}
