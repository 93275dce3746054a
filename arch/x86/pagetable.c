#include "arch/x86/pagetable.h"

#include "hv/compiler.h"
#include "plinth/errno.h"

/* Levels: 3 = PML4 (512 GiB per entry), 2 = PDPT (1 GiB), 1 = PD (2 MiB),
 * 0 = PT (4 KiB). */
#define LEVEL_SHIFT(l) (12u + 9u * (unsigned)(l))
#define LEVEL_SIZE(l) (1ull << LEVEL_SHIFT(l))
#define INDEX(va, l) (((va) >> LEVEL_SHIFT(l)) & 511u)
#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U) /* leaves carry the restrictions */

static bool canonical(uint64_t va)
{
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1FFFF;
}

static uint64_t *table(const struct pt *pt, uint64_t phys) { return pt->ops.table_ptr(pt->ops.ctx, phys); }

static bool is_leaf(uint64_t e, int level) { return level == 0 || (e & PTE_PS); }

static uint64_t leaf_flags(uint64_t e) { return e & (PTE_LEAF_FLAGS | PTE_PS); }

static void flush(struct pt *pt, uint64_t va, uint64_t len)
{
    if (pt->ops.flush)
        pt->ops.flush(pt->ops.ctx, va, len);
}

int pt_init(struct pt *pt, const struct pt_ops *ops)
{
    pt->ops = *ops;
    pt->root = ops->alloc_table(ops->ctx);
    pt->tables = pt->root ? 1 : 0;
    return pt->root ? 0 : -PL_ENOMEM;
}

static uint64_t new_table(struct pt *pt)
{
    uint64_t t = pt->ops.alloc_table(pt->ops.ctx);
    if (t)
        pt->tables++;
    return t;
}

/* Replace the large leaf *e (at level) by a table of 512 smaller leaves
 * with the same translation. */
static int split(struct pt *pt, uint64_t *e, int level)
{
    uint64_t t = new_table(pt);
    if (!t)
        return -PL_ENOMEM;
    uint64_t *child = table(pt, t);
    uint64_t base = *e & PTE_ADDR_MASK & ~(LEVEL_SIZE(level) - 1);
    uint64_t flags = (*e & (PTE_LEAF_FLAGS | PTE_A | PTE_D)) | PTE_P;
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        child[i] = (base + i * LEVEL_SIZE(level - 1)) | flags | (level - 1 > 0 ? PTE_PS : 0);
    __atomic_store_n(e, t | TABLE_FLAGS, __ATOMIC_RELEASE);
    return 0;
}

static bool table_empty(const uint64_t *t)
{
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        if (t[i] & PTE_P)
            return false;
    return true;
}

/* Free the table at phys (whose entries are at level) and every table
 * below it. */
static void free_subtree(struct pt *pt, uint64_t phys, int level)
{
    if (level > 0) {
        uint64_t *t = table(pt, phys);
        for (unsigned i = 0; i < PT_ENTRIES; i++)
            if ((t[i] & PTE_P) && !(t[i] & PTE_PS))
                free_subtree(pt, t[i] & PTE_ADDR_MASK, level - 1);
    }
    pt->ops.free_table(pt->ops.ctx, phys);
    pt->tables--;
}

/* Unlink the table that *e points to (whose entries are at level - 1),
 * invalidate [va, va+len) which it served, then free it: the TLB and the
 * paging-structure caches may still refer to it until the flush (SDM Vol.
 * 3A 4.10.3.1, 4.10.4), so it must not be reused before. */
static void drop_table(struct pt *pt, uint64_t *e, int level, uint64_t va, uint64_t len)
{
    uint64_t old = *e;
    __atomic_store_n(e, 0, __ATOMIC_RELEASE);
    flush(pt, va, len);
    free_subtree(pt, old & PTE_ADDR_MASK, level - 1);
}

/* Walk [va, last] (inclusive, so a range may end at 2^64) at one level of
 * the table at tphys. When map is true, install translations va -> pa;
 * otherwise remove them. */
static int walk(struct pt *pt, uint64_t tphys, int level, uint64_t va, uint64_t last, uint64_t pa, uint64_t flags,
                bool map)
{
    uint64_t *t = table(pt, tphys);
    uint64_t size = LEVEL_SIZE(level);
    for (;;) {
        uint64_t chunk_last = va | (size - 1);
        if (chunk_last > last)
            chunk_last = last;
        uint64_t len = chunk_last - va + 1;
        uint64_t *e = &t[INDEX(va, level)];
        bool whole = (va & (size - 1)) == 0 && len == size;
        bool leaf_ok = level == 0 || (level == 1) || (level == 2 && pt->ops.allow_1g);

        if (map && whole && leaf_ok && (pa & (size - 1)) == 0) {
            uint64_t old = *e;
            uint64_t n = pa | flags | PTE_P | (level > 0 ? PTE_PS : 0);
            __atomic_store_n(e, n, __ATOMIC_RELEASE);
            if (old & PTE_P)
                flush(pt, va, size);
            if ((old & PTE_P) && !is_leaf(old, level))
                free_subtree(pt, old & PTE_ADDR_MASK, level - 1);
        } else if (!map && whole && (*e & PTE_P)) {
            if (is_leaf(*e, level)) {
                __atomic_store_n(e, 0, __ATOMIC_RELEASE);
                flush(pt, va, size);
            } else {
                drop_table(pt, e, level, va, size);
            }
        } else if (!map && !(*e & PTE_P)) {
            /* nothing mapped here */
        } else {
            if (!(*e & PTE_P)) {
                uint64_t nt = new_table(pt);
                if (!nt)
                    return -PL_ENOMEM;
                __atomic_store_n(e, nt | TABLE_FLAGS, __ATOMIC_RELEASE);
            } else if (is_leaf(*e, level)) {
                int rc = split(pt, e, level);
                if (rc)
                    return rc;
                /* The translation is unchanged, but the TLB may hold the
                 * large page; the caller's flush of the changed part covers
                 * it (SDM Vol. 3A 4.10.4.1: invlpg drops any size). */
            }
            int rc = walk(pt, *e & PTE_ADDR_MASK, level - 1, va, chunk_last, pa, flags, map);
            if (rc)
                return rc;
            if (!map && table_empty(table(pt, *e & PTE_ADDR_MASK)))
                drop_table(pt, e, level, va, len);
        }
        if (chunk_last == last)
            return 0;
        pa += len;
        va = chunk_last + 1;
    }
}

static int check_range(uint64_t va, uint64_t len)
{
    if (len == 0 || (va & (PT_PAGE_4K - 1)) || (len & (PT_PAGE_4K - 1)))
        return -PL_EINVAL;
    uint64_t last = va + len - 1;
    if (last < va || !canonical(va) || !canonical(last))
        return -PL_EINVAL;
    /* The range may not cross the non-canonical hole. */
    if ((va >> 47) != (last >> 47))
        return -PL_EINVAL;
    return 0;
}

int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags)
{
    int rc = check_range(va, len);
    if (rc)
        return rc;
    /* [pa, pa+len) must fit in 52 bits (written so that it cannot wrap) */
    if ((pa & (PT_PAGE_4K - 1)) || (flags & ~PTE_LEAF_FLAGS) || pa > PTE_ADDR_MASK ||
        len - 1 > (PTE_ADDR_MASK | (PT_PAGE_4K - 1)) - pa)
        return -PL_EINVAL;
    flags &= ~PTE_NX | pt->ops.nx_mask;
    return walk(pt, pt->root, 3, va, va + len - 1, pa, flags, true);
}

int pt_unmap(struct pt *pt, uint64_t va, uint64_t len)
{
    int rc = check_range(va, len);
    if (rc)
        return rc;
    return walk(pt, pt->root, 3, va, va + len - 1, 0, 0, false);
}

bool pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, uint64_t *flags, uint64_t *page_size)
{
    if (!canonical(va))
        return false;
    uint64_t tphys = pt->root;
    for (int level = 3; level >= 0; level--) {
        uint64_t e = table(pt, tphys)[INDEX(va, level)];
        if (!(e & PTE_P))
            return false;
        if (is_leaf(e, level)) {
            uint64_t size = LEVEL_SIZE(level);
            *pa = (e & PTE_ADDR_MASK & ~(size - 1)) | (va & (size - 1));
            *flags = leaf_flags(e) & ~PTE_PS;
            *page_size = size;
            return true;
        }
        tphys = e & PTE_ADDR_MASK;
    }
    return false;
}

void pt_destroy(struct pt *pt)
{
    if (pt->root)
        free_subtree(pt, pt->root, 3);
    pt->root = 0;
}
