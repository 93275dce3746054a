/* Reading guest memory through the guest's own page tables, for emulation
 * (instruction fetch for MMIO and for the other vendor's hypercall).
 *
 * A device driver exits from the same few instructions over and over, and
 * walking the guest's tables for each fetch was most of the cost of an
 * emulated MMIO access. So a vCPU remembers each fetch: the inputs
 * (RIP, CS, CPL, the paging registers) and every guest-physical read the
 * walk and the fetch made, with the bytes they returned. The walk is a
 * function of exactly those, so when the inputs match and every one of
 * those reads still returns the same bytes (checked directly, a few loads
 * and compares), a new walk would read the same entries and fetch the same
 * instruction: the remembered bytes are returned. Anything else (a changed
 * page-table entry, rewritten code, another CR3) walks again. A driver's
 * request touches a few registers from different instructions (the kick,
 * the interrupt status read, its acknowledgement), so a vCPU remembers
 * MEMO_ENTRIES fetches, replaced in turn. */
#include "arch/x86/guest_walk.h"
#include "hv/domain.h"
#include "hv/heap.h"
#include "hv/mm.h"
#include "hv/string.h"

#define MEMO_ENTRIES 4
#define MEMO_READS 6         /* a 5-level walk and the bytes: fetches within one page */
#define MEMO_READ_MAX 16     /* a table entry, or up to INSN fetch bytes of one page */

struct fetch_memo {
    bool valid;
    uint64_t rip, cs_base, cr0, cr3, cr4, efer;
    uint32_t cs_attr;
    unsigned cpl, len;
    unsigned nreads;
    bool overflow, failed;   /* while recording: too many reads, or one missed RAM */
    struct {
        uint64_t gpa;
        uint8_t len;
        uint8_t data[MEMO_READ_MAX];
    } reads[MEMO_READS];
    unsigned got;
    uint8_t bytes[MEMO_READ_MAX];
};

struct fetch_memos {
    struct fetch_memo e[MEMO_ENTRIES];
    unsigned next;           /* the entry a new fetch replaces */
};

_Static_assert(sizeof(struct fetch_memos) <= HEAP_MAX_OBJECT, "the memos must fit one kmalloc");

struct recorder {
    struct domain *d;
    struct fetch_memo *m;    /* NULL: just read */
};

static bool read_gpa(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct recorder *r = ctx;
    bool ok = domain_read(r->d, gpa, buf, len);
    struct fetch_memo *m = r->m;
    if (!m)
        return ok;
    if (!ok)
        m->failed = true;
    else if (m->nreads == MEMO_READS || len > MEMO_READ_MAX)
        m->overflow = true;
    else {
        m->reads[m->nreads].gpa = gpa;
        m->reads[m->nreads].len = (uint8_t)len;
        memcpy(m->reads[m->nreads].data, buf, len);
        m->nreads++;
    }
    return ok;
}

static bool same_inputs(const struct fetch_memo *m, const struct vcpu_state *st, unsigned cpl, unsigned len)
{
    return m->valid && m->rip == st->rip && m->cs_base == st->cs.base && m->cs_attr == st->cs.attr &&
           m->cpl == cpl && m->cr0 == st->cr0 && m->cr3 == st->cr3 && m->cr4 == st->cr4 && m->efer == st->efer &&
           m->len == len;
}

static bool reads_unchanged(struct domain *d, const struct fetch_memo *m)
{
    for (unsigned i = 0; i < m->nreads; i++) {
        const uint8_t *now = domain_ram_ptr(d, m->reads[i].gpa, m->reads[i].len);
        if (!now || memcmp(now, m->reads[i].data, m->reads[i].len) != 0)
            return false;
    }
    return true;
}

bool vcpu_fetch_insn(struct vcpu *v, const struct vcpu_state *st, uint8_t *buf, unsigned len, unsigned *got)
{
    unsigned cpl = arch_vcpu_cpl(v);
    struct fetch_memos *ms = NULL;
    if (len <= MEMO_READ_MAX) {
        if (!v->fetch_memo)
            v->fetch_memo = kmalloc(sizeof(struct fetch_memos)); /* zeroed; without it, every fetch walks */
        ms = v->fetch_memo;
    }
    struct fetch_memo *m = NULL;
    if (ms) {
        for (unsigned i = 0; i < MEMO_ENTRIES; i++) {
            if (same_inputs(&ms->e[i], st, cpl, len)) {
                if (reads_unchanged(v->dom, &ms->e[i])) {
                    memcpy(buf, ms->e[i].bytes, ms->e[i].got);
                    *got = ms->e[i].got;
                    return true;
                }
                m = &ms->e[i]; /* stale: walk again into the same entry */
                break;
            }
        }
        if (!m) {
            m = &ms->e[ms->next];
            ms->next = (ms->next + 1) % MEMO_ENTRIES;
        }
        *m = (struct fetch_memo){ .rip = st->rip, .cs_base = st->cs.base, .cs_attr = st->cs.attr, .cpl = cpl,
                                  .cr0 = st->cr0, .cr3 = st->cr3, .cr4 = st->cr4, .efer = st->efer, .len = len };
    }
    struct recorder rec = { v->dom, m };
    struct guest_paging pg = {
        .cr0 = st->cr0, .cr3 = st->cr3, .cr4 = st->cr4, .efer = st->efer, .read_gpa = read_gpa, .ctx = &rec,
    };
    bool flat64 = (st->efer & GW_EFER_LMA) && (st->cs.attr & SEG_ATTR_L);
    uint64_t linear = st->rip + (flat64 ? 0 : st->cs.base);
    unsigned access = GW_FETCH | (cpl == 3 ? GW_USER : 0);
    size_t done = 0;
    /* Fewer bytes than asked is fine when the instruction ends before an
     * unmapped page; the decoder says whether it had enough. */
    guest_read_virt(&pg, linear, buf, len, access, &done, NULL);
    *got = (unsigned)done;
    /* Only a fetch whose every read found RAM is remembered: a read that
     * missed says nothing a later look could check. */
    if (m && done == len && !m->failed && !m->overflow) {
        memcpy(m->bytes, buf, done);
        m->got = (unsigned)done;
        m->valid = true;
    }
    return done > 0;
}
