#include "arch/x86/pagetable.h"

#include "hv/compiler.h"
#include "plinth/errno.h"

/* Levels: 3 = PML4 (512 GiB per entry), 2 = PDPT (1 GiB), 1 = PD (2 MiB),
 * 0 = PT (4 KiB). EPT and NPT tables have the same shape (SDM Vol. 3C
 * 29.3.2, APM Vol. 2 15.25.5). */
#define LEVEL_SHIFT(l) (12u + 9u * (unsigned)(l))
#define LEVEL_SIZE(l) (1ull << LEVEL_SHIFT(l))
#define INDEX(va, l) (((va) >> LEVEL_SHIFT(l)) & 511u)
#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U) /* leaves carry the restrictions */
/* A 4-level walk translates 48 bits; guest-physical addresses are not
 * sign-extended, so second-level tables cover [0, 2^48). */
#define GPA_LIMIT (1ull << 48)

/* ------------------------------------------------------------------ entry formats
 *
 * The walker sees entries only through this: what makes an entry present,
 * what a table entry holds besides its address, which bit makes a PDPTE or
 * PDE a leaf, and how leaf flags are encoded. */

struct pt_format {
    uint64_t present;    /* an entry is present when any of these bits is set */
    uint64_t table;      /* the bits of an entry pointing to a table, besides its address */
    uint64_t large;      /* the page-size bit of PDPTE and PDE leaves */
    uint64_t leaf_attrs; /* leaf bits a split copies to the smaller leaves (not address or size) */
    uint64_t hw_bits;    /* leaf bits the CPU sets (accessed, dirty); ignored when merging */
    uint64_t perm_bits;  /* leaf bits pt_protect replaces */
    bool gpa;            /* addresses are guest-physical: [0, 2^48), no canonical form */
    /* pt_map flags -> leaf bits without address and size bit, or -PL_EINVAL */
    int (*encode)(const struct pt_ops *ops, uint64_t flags, uint64_t *bits);
    /* pt_protect flags -> bits within perm_bits, or -PL_EINVAL */
    int (*encode_perms)(const struct pt_ops *ops, uint64_t flags, uint64_t *bits);
    /* leaf -> pt_map flags */
    uint64_t (*decode)(uint64_t leaf);
    /* whether going from leaf old to leaf new takes a permission away */
    bool (*reduces)(uint64_t old, uint64_t new);
};

/* x86-64: flags are the PTE bits themselves. */

static int x86_encode(const struct pt_ops *ops, uint64_t flags, uint64_t *bits)
{
    if (flags & ~PTE_LEAF_FLAGS)
        return -PL_EINVAL;
    *bits = (flags & (~PTE_NX | ops->nx_mask)) | PTE_P;
    return 0;
}

static int x86_encode_perms(const struct pt_ops *ops, uint64_t flags, uint64_t *bits)
{
    if (flags & ~PTE_PERM_FLAGS)
        return -PL_EINVAL;
    *bits = flags & (~PTE_NX | ops->nx_mask);
    return 0;
}

static uint64_t x86_decode(uint64_t leaf) { return leaf & PTE_LEAF_FLAGS; }

/* Any change counts: the hypervisor's own tables flush whenever a
 * translation is rewritten, and with SMEP/SMAP a U change takes rights
 * away in either direction. */
static bool x86_reduces(uint64_t old, uint64_t new) { return old != new; }

/* NPT: the long-mode format (APM Vol. 2 15.25.5). Guest accesses are user
 * accesses, so every level has U=1; P grants read; W bit 1; NX bit 63 when
 * the host's EFER.NXE is on (ops->nx_mask). Memory types through the PAT
 * index of the leaf, using PWT and PCD only:
 *     WB = index 0 (none), WT = index 1 (PWT), UC = index 3 (PCD|PWT).
 * With the power-on PAT value 0x0007040600070406, which the host keeps,
 * these indices select WB, WT and UC (SDM Vol. 3A 11.12.4). WC and WP need
 * reprogrammed PAT entries, so NPT does not offer them. The nested type is
 * then combined with the guest's own (APM Vol. 2 15.25.8). */

static int npt_memtype_bits(unsigned memtype, uint64_t *bits)
{
    switch (memtype) {
    case PT_MT_WB: *bits = 0; return 0;
    case PT_MT_WT: *bits = PTE_PWT; return 0;
    case PT_MT_UC: *bits = PTE_PCD | PTE_PWT; return 0;
    default: return -PL_EINVAL;
    }
}

static int npt_encode_perms(const struct pt_ops *ops, uint64_t flags, uint64_t *bits)
{
    /* present means readable: no read is inexpressible */
    if ((flags & ~PT_PERM_RWX) || !(flags & PT_PERM_R))
        return -PL_EINVAL;
    *bits = ((flags & PT_PERM_W) ? PTE_W : 0) | ((flags & PT_PERM_X) ? 0 : ops->nx_mask);
    return 0;
}

static int npt_encode(const struct pt_ops *ops, uint64_t flags, uint64_t *bits)
{
    uint64_t perms, type;
    if ((flags & ~(PT_PERM_RWX | PT_MEMTYPE_MASK)) || npt_encode_perms(ops, flags & PT_PERM_RWX, &perms) ||
        npt_memtype_bits(PT_MEMTYPE_OF(flags), &type))
        return -PL_EINVAL;
    *bits = PTE_P | PTE_U | perms | type;
    return 0;
}

static uint64_t npt_decode(uint64_t leaf)
{
    uint64_t flags = PT_PERM_R;
    if (leaf & PTE_W)
        flags |= PT_PERM_W;
    if (!(leaf & PTE_NX))
        flags |= PT_PERM_X;
    unsigned type;
    switch (leaf & (PTE_PCD | PTE_PWT)) {
    case 0: type = PT_MT_WB; break;
    case PTE_PWT: type = PT_MT_WT; break;
    default: type = PT_MT_UC; break; /* PCD alone is index 2, UC- */
    }
    return flags | PT_MEMTYPE(type);
}

static bool npt_reduces(uint64_t old, uint64_t new)
{
    return ((old & PTE_W) && !(new & PTE_W)) || ((new & PTE_NX) && !(old & PTE_NX));
}

/* EPT (SDM Vol. 3C 29.3.2): R, W, X in bits 0-2; leaves carry the memory
 * type in bits 5:3 and ignore-PAT in bit 6, which we set so the type given
 * here is the one used (29.3.7.2). */

static int ept_encode_perms(const struct pt_ops *ops, uint64_t flags, uint64_t *bits)
{
    if ((flags & ~PT_PERM_RWX) || flags == 0)
        return -PL_EINVAL;
    /* Writable but not readable is an EPT misconfiguration (29.3.3.1);
     * execute-only needs IA32_VMX_EPT_VPID_CAP bit 0 (appendix A.10). */
    if ((flags & PT_PERM_W) && !(flags & PT_PERM_R))
        return -PL_EINVAL;
    if (flags == PT_PERM_X && !ops->exec_only)
        return -PL_EINVAL;
    *bits = flags; /* PT_PERM_R/W/X are EPT_R/W/X */
    return 0;
}

static int ept_encode(const struct pt_ops *ops, uint64_t flags, uint64_t *bits)
{
    if (flags & ~(PT_PERM_RWX | PT_MEMTYPE_MASK))
        return -PL_EINVAL;
    unsigned type = PT_MEMTYPE_OF(flags);
    /* 2, 3 and 7 are reserved: a misconfiguration (29.3.3.1) */
    if (type != PT_MT_UC && type != PT_MT_WC && type != PT_MT_WT && type != PT_MT_WP && type != PT_MT_WB)
        return -PL_EINVAL;
    uint64_t perms;
    if (ept_encode_perms(ops, flags & PT_PERM_RWX, &perms))
        return -PL_EINVAL;
    *bits = perms | ((uint64_t)type << EPT_MEMTYPE_SHIFT) | EPT_IGNORE_PAT;
    return 0;
}

static uint64_t ept_decode(uint64_t leaf)
{
    return (leaf & (EPT_R | EPT_W | EPT_X)) |
           PT_MEMTYPE((leaf & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT);
}

static bool ept_reduces(uint64_t old, uint64_t new) { return (old & ~new & (EPT_R | EPT_W | EPT_X)) != 0; }

static const struct pt_format formats[] = {
    [PT_FORMAT_X86_64] = {
        .present = PTE_P,
        .table = TABLE_FLAGS,
        .large = PTE_PS,
        .leaf_attrs = PTE_LEAF_FLAGS | PTE_P | PTE_A | PTE_D,
        .hw_bits = PTE_A | PTE_D,
        .perm_bits = PTE_PERM_FLAGS,
        .gpa = false,
        .encode = x86_encode,
        .encode_perms = x86_encode_perms,
        .decode = x86_decode,
        .reduces = x86_reduces,
    },
    [PT_FORMAT_NPT] = {
        .present = PTE_P,
        .table = TABLE_FLAGS, /* U=1 at every level: guest accesses are user accesses */
        .large = PTE_PS,
        .leaf_attrs = PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_NX,
        .hw_bits = PTE_A | PTE_D,
        .perm_bits = PTE_W | PTE_NX,
        .gpa = true,
        .encode = npt_encode,
        .encode_perms = npt_encode_perms,
        .decode = npt_decode,
        .reduces = npt_reduces,
    },
    [PT_FORMAT_EPT] = {
        .present = EPT_R | EPT_W | EPT_X, /* 29.3.2: "present" is any of bits 0-2 */
        .table = EPT_R | EPT_W | EPT_X,   /* leaves carry the restrictions */
        .large = EPT_LARGE,
        .leaf_attrs = EPT_R | EPT_W | EPT_X | EPT_MEMTYPE_MASK | EPT_IGNORE_PAT | EPT_A | EPT_D,
        .hw_bits = EPT_A | EPT_D,
        .perm_bits = EPT_R | EPT_W | EPT_X,
        .gpa = true,
        .encode = ept_encode,
        .encode_perms = ept_encode_perms,
        .decode = ept_decode,
        .reduces = ept_reduces,
    },
};

static const struct pt_format *format(const struct pt *pt) { return &formats[pt->ops.format]; }

/* ------------------------------------------------------------------ helpers */

static bool canonical(uint64_t va)
{
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1FFFF;
}

static uint64_t *table(const struct pt *pt, uint64_t phys) { return pt->ops.table_ptr(pt->ops.ctx, phys); }

static bool present(const struct pt *pt, uint64_t e) { return (e & format(pt)->present) != 0; }

static bool is_leaf(const struct pt *pt, uint64_t e, int level) { return level == 0 || (e & format(pt)->large); }

/* Whether a leaf may sit at level (a page of LEVEL_SIZE(level)). */
static bool leaf_allowed(const struct pt *pt, int level)
{
    return level == 0 || (level == 1 && !pt->ops.no_2m) || (level == 2 && pt->ops.allow_1g);
}

/* The frame a leaf at level maps (a large leaf's bit 12 may be PAT). */
static uint64_t leaf_frame(uint64_t e, int level) { return e & PTE_ADDR_MASK & ~(LEVEL_SIZE(level) - 1); }

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

static void free_table(struct pt *pt, uint64_t phys)
{
    pt->ops.free_table(pt->ops.ctx, phys);
    pt->tables--;
}

/* Replace the large leaf *e (at level) by a table of 512 smaller leaves
 * with the same translation. */
static int split(struct pt *pt, uint64_t *e, int level)
{
    const struct pt_format *f = format(pt);
    uint64_t t = new_table(pt);
    if (!t)
        return -PL_ENOMEM;
    uint64_t *child = table(pt, t);
    uint64_t base = leaf_frame(*e, level);
    uint64_t attrs = (*e & f->leaf_attrs) | (level - 1 > 0 ? f->large : 0);
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        child[i] = (base + i * LEVEL_SIZE(level - 1)) | attrs;
    __atomic_store_n(e, t | f->table, __ATOMIC_RELEASE);
    return 0;
}

static bool table_empty(const struct pt *pt, const uint64_t *t)
{
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        if (present(pt, t[i]))
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
            if (present(pt, t[i]) && !is_leaf(pt, t[i], level))
                free_subtree(pt, t[i] & PTE_ADDR_MASK, level - 1);
    }
    free_table(pt, phys);
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

/* If the table *e points to (entries at level - 1) holds 512 leaves that
 * map one block aligned to LEVEL_SIZE(level) in order, with identical
 * attributes, replace it by one leaf at level for [va, va+LEVEL_SIZE(level))
 * and free it. The translation of every address stays the same, only the
 * page size changes, which may be done in place (SDM Vol. 3A 4.10.2.3); the
 * flush before the free is for the caches that still hold the table. */
static void try_merge(struct pt *pt, uint64_t *e, int level, uint64_t va)
{
    if (!pt->ops.merge || !leaf_allowed(pt, level))
        return;
    const struct pt_format *f = format(pt);
    uint64_t tphys = *e & PTE_ADDR_MASK;
    const uint64_t *t = table(pt, tphys);
    int child = level - 1;
    uint64_t first = t[0];
    if (!present(pt, first) || !is_leaf(pt, first, child))
        return;
    uint64_t base = leaf_frame(first, child);
    uint64_t attrs = first & ~(PTE_ADDR_MASK | f->hw_bits);
    /* a bit we do not know (a 4 KiB leaf's PAT bit, say) might not mean
     * the same in a large leaf */
    if ((base & (LEVEL_SIZE(level) - 1)) || (attrs & ~(f->leaf_attrs | f->large)))
        return;
    for (unsigned i = 1; i < PT_ENTRIES; i++) {
        uint64_t x = t[i];
        if (!present(pt, x) || !is_leaf(pt, x, child) || leaf_frame(x, child) != base + i * LEVEL_SIZE(child) ||
            (x & ~(PTE_ADDR_MASK | f->hw_bits)) != attrs)
            return;
    }
    /* attrs of a 4 KiB leaf have no size bit; those of a 2 MiB one do */
    uint64_t leaf = base | (attrs & f->leaf_attrs) | f->large;
    __atomic_store_n(e, leaf, __ATOMIC_RELEASE);
    flush(pt, va, LEVEL_SIZE(level));
    free_table(pt, tphys);
}

enum walk_op { WALK_MAP, WALK_UNMAP, WALK_PROTECT };

/* Walk [va, last] (inclusive, so a range may end at 2^64) at one level of
 * the table at tphys. WALK_MAP installs translations va -> pa with leaf
 * bits `bits`; WALK_UNMAP removes them; WALK_PROTECT replaces the
 * permission bits of present leaves by `bits`. */
static int walk(struct pt *pt, uint64_t tphys, int level, uint64_t va, uint64_t last, uint64_t pa, uint64_t bits,
                enum walk_op op)
{
    const struct pt_format *f = format(pt);
    uint64_t *t = table(pt, tphys);
    uint64_t size = LEVEL_SIZE(level);
    for (;;) {
        uint64_t chunk_last = va | (size - 1);
        if (chunk_last > last)
            chunk_last = last;
        uint64_t len = chunk_last - va + 1;
        uint64_t *e = &t[INDEX(va, level)];
        bool whole = (va & (size - 1)) == 0 && len == size;
        bool here = present(pt, *e);

        if (op == WALK_MAP && whole && leaf_allowed(pt, level) && (pa & (size - 1)) == 0) {
            uint64_t old = *e;
            uint64_t n = pa | bits | (level > 0 ? f->large : 0);
            __atomic_store_n(e, n, __ATOMIC_RELEASE);
            if (here)
                flush(pt, va, size);
            if (here && !is_leaf(pt, old, level))
                free_subtree(pt, old & PTE_ADDR_MASK, level - 1);
        } else if (op != WALK_MAP && !here) {
            /* nothing mapped here */
        } else if (op == WALK_UNMAP && whole) {
            if (is_leaf(pt, *e, level)) {
                __atomic_store_n(e, 0, __ATOMIC_RELEASE);
                flush(pt, va, size);
            } else {
                drop_table(pt, e, level, va, size);
            }
        } else if (op == WALK_PROTECT && is_leaf(pt, *e, level) &&
                   ((*e & ~f->perm_bits) | bits) == *e) {
            /* already so: no need to split */
        } else if (op == WALK_PROTECT && whole && is_leaf(pt, *e, level)) {
            uint64_t old = *e;
            uint64_t n = (old & ~f->perm_bits) | bits;
            __atomic_store_n(e, n, __ATOMIC_RELEASE);
            if (f->reduces(old, n))
                flush(pt, va, size);
        } else {
            if (!here) {
                uint64_t nt = new_table(pt);
                if (!nt)
                    return -PL_ENOMEM;
                __atomic_store_n(e, nt | f->table, __ATOMIC_RELEASE);
            } else if (is_leaf(pt, *e, level)) {
                int rc = split(pt, e, level);
                if (rc)
                    return rc;
                /* The translation is unchanged, but the TLB may hold the
                 * large page; the caller's flush of the changed part covers
                 * it (SDM Vol. 3A 4.10.4.1: invlpg drops any size). */
            }
            int rc = walk(pt, *e & PTE_ADDR_MASK, level - 1, va, chunk_last, pa, bits, op);
            if (rc)
                return rc;
            if (op == WALK_UNMAP) {
                if (table_empty(pt, table(pt, *e & PTE_ADDR_MASK)))
                    drop_table(pt, e, level, va, len);
            } else {
                try_merge(pt, e, level, va & ~(size - 1));
            }
        }
        if (chunk_last == last)
            return 0;
        pa += len;
        va = chunk_last + 1;
    }
}

static int check_range(const struct pt *pt, uint64_t va, uint64_t len)
{
    if (len == 0 || (va & (PT_PAGE_4K - 1)) || (len & (PT_PAGE_4K - 1)))
        return -PL_EINVAL;
    uint64_t last = va + len - 1;
    if (last < va)
        return -PL_EINVAL;
    if (format(pt)->gpa)
        return last < GPA_LIMIT ? 0 : -PL_EINVAL;
    if (!canonical(va) || !canonical(last))
        return -PL_EINVAL;
    /* The range may not cross the non-canonical hole. */
    if ((va >> 47) != (last >> 47))
        return -PL_EINVAL;
    return 0;
}

int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags)
{
    int rc = check_range(pt, va, len);
    if (rc)
        return rc;
    /* [pa, pa+len) must fit in 52 bits (written so that it cannot wrap) */
    if ((pa & (PT_PAGE_4K - 1)) || pa > PTE_ADDR_MASK || len - 1 > (PTE_ADDR_MASK | (PT_PAGE_4K - 1)) - pa)
        return -PL_EINVAL;
    uint64_t bits;
    if (format(pt)->encode(&pt->ops, flags, &bits))
        return -PL_EINVAL;
    return walk(pt, pt->root, 3, va, va + len - 1, pa, bits, WALK_MAP);
}

int pt_unmap(struct pt *pt, uint64_t va, uint64_t len)
{
    int rc = check_range(pt, va, len);
    if (rc)
        return rc;
    return walk(pt, pt->root, 3, va, va + len - 1, 0, 0, WALK_UNMAP);
}

int pt_protect(struct pt *pt, uint64_t va, uint64_t len, uint64_t flags)
{
    int rc = check_range(pt, va, len);
    if (rc)
        return rc;
    uint64_t bits;
    if (format(pt)->encode_perms(&pt->ops, flags, &bits))
        return -PL_EINVAL;
    return walk(pt, pt->root, 3, va, va + len - 1, 0, bits, WALK_PROTECT);
}

bool pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, uint64_t *flags, uint64_t *page_size)
{
    if (format(pt)->gpa ? va >= GPA_LIMIT : !canonical(va))
        return false;
    uint64_t tphys = pt->root;
    for (int level = 3; level >= 0; level--) {
        uint64_t e = table(pt, tphys)[INDEX(va, level)];
        if (!present(pt, e))
            return false;
        if (is_leaf(pt, e, level)) {
            uint64_t size = LEVEL_SIZE(level);
            *pa = leaf_frame(e, level) | (va & (size - 1));
            *flags = format(pt)->decode(e);
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
