#include "arch/x86/guest_walk.h"

#include "hv/compiler.h"
#include "plinth/errno.h"

/* Paging-structure entry bits, SDM Vol. 3A tables 4-4 to 4-20. */
#define E_P (1ull << 0)
#define E_RW (1ull << 1)
#define E_US (1ull << 2)
#define E_PS (1ull << 7)
#define E_XD (1ull << 63)
#define E_ADDR 0x000FFFFFFFFFF000ull /* bits 51:12 */

#define PAGE_4K (1ull << 12)

enum walk_mode { WALK_NONE, WALK_32, WALK_PAE, WALK_4LEVEL, WALK_5LEVEL };

/* Rights accumulated over the levels of a walk (SDM Vol. 3A 4.6.1). */
struct rights {
    bool writable; /* R/W = 1 at every level */
    bool user;     /* U/S = 1 at every level: a user-mode address */
    bool xd;       /* XD = 1 at some level, with EFER.NXE */
};

static int walk_mode(const struct guest_paging *pg)
{
    if (!(pg->cr0 & GW_CR0_PG))
        return WALK_NONE;
    if (!(pg->cr4 & GW_CR4_PAE))
        return (pg->efer & GW_EFER_LMA) ? -1 : WALK_32; /* LMA needs PAE */
    if (!(pg->efer & GW_EFER_LMA))
        return WALK_PAE;
    return (pg->cr4 & GW_CR4_LA57) ? WALK_5LEVEL : WALK_4LEVEL;
}

static bool read_entry(const struct guest_paging *pg, uint64_t gpa, unsigned size, uint64_t *e,
                       struct guest_fault *f)
{
    uint8_t b[8];
    if (!pg->read_gpa(pg->ctx, gpa, b, size)) {
        f->gpa = gpa;
        return false;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)b[i] << (8 * i);
    *e = v;
    return true;
}

/* The #PF error code for this access, P clear (SDM Vol. 3A 4.7). */
static uint32_t error_code(const struct guest_paging *pg, int mode, unsigned access)
{
    uint32_t err = access & (PF_ERR_W | PF_ERR_U);
    if (access & GW_FETCH) {
        bool nx_paging = mode != WALK_32 && (pg->efer & GW_EFER_NXE);
        if (nx_paging || (pg->cr4 & GW_CR4_SMEP))
            err |= PF_ERR_I;
    }
    return err;
}

/* SDM Vol. 3A 4.6.1: may this access use a translation with these rights? */
static bool permitted(const struct guest_paging *pg, unsigned access, const struct rights *r)
{
    if (access & GW_USER) {
        if (!r->user)
            return false;
        if (access & GW_FETCH)
            return !r->xd;
        return !(access & GW_WRITE) || r->writable; /* CR0.WP does not matter */
    }
    if (access & GW_FETCH) {
        if (r->user && (pg->cr4 & GW_CR4_SMEP))
            return false;
        return !r->xd;
    }
    if (r->user && (pg->cr4 & GW_CR4_SMAP) && !(access & GW_AC))
        return false;
    if ((access & GW_WRITE) && !r->writable && (pg->cr0 & GW_CR0_WP))
        return false;
    return true;
}

static bool canonical(uint64_t va, unsigned bits)
{
    uint64_t top = (uint64_t)((int64_t)(va << (64 - bits)) >> (64 - bits));
    return top == va;
}

int guest_walk(const struct guest_paging *pg, uint64_t gva, unsigned access, uint64_t *gpa,
               uint64_t *page_size, struct guest_fault *fault)
{
    struct guest_fault scratch;
    if (!fault)
        fault = &scratch;
    fault->addr = gva;
    fault->error = 0;
    fault->gpa = 0;

    int mode = walk_mode(pg);
    if (mode < 0)
        return -PL_EINVAL;

    uint64_t va = gva, size, frame;
    struct rights r = { .writable = true, .user = true, .xd = false };
    bool nxe = (pg->efer & GW_EFER_NXE) != 0;

    if (mode == WALK_NONE) {
        if (!(pg->efer & GW_EFER_LMA))
            va = (uint32_t)va;
        fault->addr = va;
        *gpa = va;
        if (page_size)
            *page_size = 1ull << 32;
        return 0;
    }

    if (mode == WALK_32) {
        /* 32-bit paging, SDM Vol. 3A 4.3: 4-byte entries, 10+10+12 bits. */
        va = (uint32_t)va;
        fault->addr = va;
        uint64_t pde, pte;
        if (!read_entry(pg, (pg->cr3 & 0xFFFFF000u) + ((va >> 22) & 1023) * 4, 4, &pde, fault))
            return -PL_EIO;
        if (!(pde & E_P))
            goto not_present;
        r.writable = pde & E_RW;
        r.user = pde & E_US;
        if ((pg->cr4 & GW_CR4_PSE) && (pde & E_PS)) {
            /* 4 MiB page; PSE-36: PDE bits 20:13 are address bits 39:32. */
            size = 1ull << 22;
            frame = (pde & 0xFFC00000u) | (((pde >> 13) & 0xFF) << 32);
        } else {
            if (!read_entry(pg, (pde & 0xFFFFF000u) + ((va >> 12) & 1023) * 4, 4, &pte, fault))
                return -PL_EIO;
            if (!(pte & E_P))
                goto not_present;
            r.writable = r.writable && (pte & E_RW);
            r.user = r.user && (pte & E_US);
            size = PAGE_4K;
            frame = pte & 0xFFFFF000u;
        }
    } else {
        /* PAE (4.4), 4-level and 5-level (4.5): 8-byte entries, 9 bits of
         * address per level; level 0 is the page table. */
        int level;
        uint64_t table;
        if (mode == WALK_PAE) {
            va = (uint32_t)va;
            fault->addr = va;
            level = 2; /* the PDPT: 4 entries, indexed by bits 31:30 */
            table = pg->cr3 & 0xFFFFFFE0u;
        } else {
            level = mode == WALK_5LEVEL ? 4 : 3;
            if (!canonical(va, mode == WALK_5LEVEL ? 57 : 48))
                return -PL_EINVAL;
            table = pg->cr3 & E_ADDR;
        }
        for (;; level--) {
            unsigned shift = 12 + 9 * (unsigned)level;
            uint64_t idx = (va >> shift) & 511, e;
            if (mode == WALK_PAE && level == 2) {
                /* PDPTE: present bit and address only; it limits no rights. */
                if (pg->pdptes)
                    e = pg->pdptes[idx & 3];
                else if (!read_entry(pg, table + idx * 8, 8, &e, fault))
                    return -PL_EIO;
                if (!(e & E_P))
                    goto not_present;
                table = e & E_ADDR;
                continue;
            }
            if (!read_entry(pg, table + idx * 8, 8, &e, fault))
                return -PL_EIO;
            if (!(e & E_P))
                goto not_present;
            r.writable = r.writable && (e & E_RW);
            r.user = r.user && (e & E_US);
            if (nxe && (e & E_XD))
                r.xd = true;
            /* PS maps a page in a PDE (2 MiB) or, outside PAE, a PDPTE
             * (1 GiB); higher up it is reserved and ignored here. */
            if (level == 0 || ((e & E_PS) && (level == 1 || (level == 2 && mode != WALK_PAE)))) {
                size = 1ull << shift;
                frame = e & E_ADDR & ~(size - 1); /* also drops PAT (bit 12) */
                break;
            }
            table = e & E_ADDR;
        }
    }

    if (!permitted(pg, access, &r)) {
        fault->error = error_code(pg, mode, access) | PF_ERR_P;
        return -PL_EFAULT;
    }
    *gpa = frame | (va & (size - 1));
    if (page_size)
        *page_size = size;
    return 0;

not_present:
    fault->error = error_code(pg, mode, access);
    return -PL_EFAULT;
}

int guest_read_virt(const struct guest_paging *pg, uint64_t gva, void *buf, size_t len,
                    unsigned access, size_t *done, struct guest_fault *fault)
{
    struct guest_fault scratch;
    if (!fault)
        fault = &scratch;
    uint8_t *out = buf;
    size_t n = 0;
    int rc = 0;

    while (n < len) {
        /* Outside IA-32e mode guest_walk keeps the low 32 bits: the read
         * wraps at 4 GiB like the CPU's linear addresses. */
        uint64_t va = gva + n;
        size_t chunk = (size_t)MIN((uint64_t)(len - n), PAGE_4K - (va & (PAGE_4K - 1)));
        uint64_t gpa;
        rc = guest_walk(pg, va, access, &gpa, NULL, fault);
        if (rc)
            break;
        if (!pg->read_gpa(pg->ctx, gpa, out + n, chunk)) {
            fault->gpa = gpa; /* fault->addr is va, from guest_walk */
            rc = -PL_EIO;
            break;
        }
        n += chunk;
    }
    if (done)
        *done = n;
    return rc;
}
