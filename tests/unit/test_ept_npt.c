/* The page-table builder in its second-level formats, Intel EPT (SDM Vol.
 * 3C 29.3.2) and AMD NPT (APM Vol. 2 15.25.5): raw entry encodings, page
 * sizes, pt_protect, splitting and merging of large pages, flushes and
 * table accounting. Every test runs once per format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/pagetable.h"
#include "plinth/errno.h"
#include "tests/unit/fake_phys.h"

#define GPA_TOP (1ull << 48)

#define R PT_PERM_R
#define W PT_PERM_W
#define X PT_PERM_X
#define RWX PT_PERM_RWX
#define WB PT_MEMTYPE(PT_MT_WB)
#define UC PT_MEMTYPE(PT_MT_UC)
#define WT PT_MEMTYPE(PT_MT_WT)
#define WC PT_MEMTYPE(PT_MT_WC)
#define WP PT_MEMTYPE(PT_MT_WP)

/* ------------------------------------------------------------------ fake physical memory
 *
 * fake_phys.h in the format each test's initial state names (BOTH below). */

static struct pt_ops make_ops(struct fake *f, bool allow_1g)
{
    struct pt_ops ops = fake_ops(f, allow_1g);
    ops.merge = true;
    return ops;
}

static void pt_new(struct fake *f, struct pt *pt, bool allow_1g)
{
    struct pt_ops ops = make_ops(f, allow_1g);
    pt_new_ops(f, pt, &ops);
}

/* ------------------------------------------------------------------ expected encodings
 *
 * Stated here from the manuals, independently of pagetable.c. */

static uint64_t npt_memtype_bits(uint64_t flags)
{
    switch (PT_MEMTYPE_OF(flags)) {
    case PT_MT_WB: return 0;               /* PAT index 0 */
    case PT_MT_WT: return PTE_PWT;         /* PAT index 1 */
    case PT_MT_UC: return PTE_PCD | PTE_PWT; /* PAT index 3 */
    default: fail_msg("no NPT encoding for memory type %u", PT_MEMTYPE_OF(flags));
    }
    return 0;
}

/* The raw leaf for pa with flags (perms | memtype) at level, nx on. */
static uint64_t expected_leaf(const struct fake *f, uint64_t pa, uint64_t flags, int level)
{
    if (is_ept(f)) {
        uint64_t e = pa | EPT_IGNORE_PAT | ((uint64_t)PT_MEMTYPE_OF(flags) << EPT_MEMTYPE_SHIFT);
        if (flags & R)
            e |= EPT_R;
        if (flags & W)
            e |= EPT_W;
        if (flags & X)
            e |= EPT_X;
        return e | (level > 0 ? EPT_LARGE : 0);
    }
    uint64_t e = pa | PTE_P | PTE_U | npt_memtype_bits(flags);
    if (flags & W)
        e |= PTE_W;
    if (!(flags & X))
        e |= PTE_NX;
    return e | (level > 0 ? PTE_PS : 0);
}

/* ------------------------------------------------------------------ checks */

/* Whether table t (entries at level - 1) could become one leaf at level. */
static bool mergeable(struct fake *f, const struct pt *pt, const uint64_t *t, int level)
{
    if (level == 1 ? pt->ops.no_2m : !pt->ops.allow_1g)
        return false;
    uint64_t size = LVL_SIZE(level - 1);
    uint64_t base = t[0] & PTE_ADDR_MASK;
    if (base % LVL_SIZE(level))
        return false;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        if (!ent_present(f, t[i]) || !ent_leaf(f, t[i], level - 1))
            return false;
        if ((t[i] & PTE_ADDR_MASK) != base + i * size || (t[i] & ~PTE_ADDR_MASK) != (t[0] & ~PTE_ADDR_MASK))
            return false;
    }
    return true;
}

/* The checks behind check_tables (declared in fake_phys.h) for EPT and
 * NPT: each entry's encoding, and with merge on, no table may be left that
 * could have been merged. */
static void check_entry(struct fake *f, const struct pt *pt, uint64_t e, int level)
{
    if (!ent_present(f, e)) {
        assert_int_equal(e, 0);
        return;
    }
    if (!ent_leaf(f, e, level)) {
        assert_int_equal(e & ~PTE_ADDR_MASK, table_bits(f));
        return;
    }
    if (level == 1)
        assert_false(pt->ops.no_2m);
    if (is_ept(f)) {
        uint64_t known = EPT_R | EPT_W | EPT_X | EPT_MEMTYPE_MASK | EPT_IGNORE_PAT | EPT_LARGE;
        assert_int_equal(e & ~(PTE_ADDR_MASK | known), 0);
        assert_int_equal(e & EPT_IGNORE_PAT, EPT_IGNORE_PAT);
        if (e & EPT_W) /* W without R is a misconfiguration */
            assert_int_equal(e & EPT_R, EPT_R);
        unsigned mt = (unsigned)((e & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT);
        assert_true(mt == 0 || mt == 1 || mt == 4 || mt == 5 || mt == 6);
    } else {
        uint64_t known = PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_PS | PTE_NX;
        assert_int_equal(e & ~(PTE_ADDR_MASK | known), 0);
        assert_int_equal(e & (PTE_P | PTE_U), PTE_P | PTE_U); /* guest accesses are user */
    }
    if (level == 0)
        assert_int_equal(e & large_bit(f), 0);
}

static void check_table(struct fake *f, const struct pt *pt, const uint64_t *t, int level)
{
    if (pt->ops.merge && level < 2 && mergeable(f, pt, t, level + 1))
        fail_msg("a table at level %d that should have been merged", level);
}

/* The table at phys was unlinked, then a flush covering va happened, then
 * it was freed (SDM Vol. 3C 29.4: cached EPT paging-structure entries, and
 * likewise the nested TLB, may refer to it until the flush). */
static void expect_flushed_unlinked_before_free(const struct fake *f, size_t mark, uint64_t phys, uint64_t va)
{
    if (!flushed_unlinked_before_free(f, mark, phys, va))
        fail_msg("table %#" PRIx64 " freed without an invalidation of %#" PRIx64 " after it was unlinked", phys, va);
}

/* ------------------------------------------------------------------ encodings */

static void test_table_entry_encoding(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, GB(3) + MB(6) + 0x5000, MB(64), P4K, R), 0);
    for (int level = 3; level >= 1; level--) {
        uint64_t e = raw_entry(f, &pt, GB(3) + MB(6) + 0x5000, level);
        if (is_ept(f)) {
            /* R|W|X = 0x7, nothing else besides the address */
            assert_int_equal(e & 0xFFF0000000000FFFull, EPT_R | EPT_W | EPT_X);
            assert_int_equal(e & EPT_LARGE, 0);
            assert_int_equal(e & EPT_MEMTYPE_MASK, 0);
        } else {
            /* P, W and U=1 at every level, never NX or a PAT index */
            assert_int_equal(e & 0xFFF0000000000FFFull, PTE_P | PTE_W | PTE_U);
            assert_int_equal(e & PTE_NX, 0);
        }
        assert_int_not_equal(e & PTE_ADDR_MASK, 0);
    }
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_leaf_encoding_bit_by_bit(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    const uint64_t pa = 0x000FEDCBA9876000ull; /* bits up to 51 */
    if (is_ept(f)) {
        static const struct {
            uint64_t flags, bits;
        } cases[] = {
            {R | W | X | WB, 0x77}, /* RWX, type 6 << 3, ignore-PAT */
            {R | WB, 0x71},
            {R | W | WB, 0x73},
            {R | X | WB, 0x75},
            {R | W | UC, 0x43},     /* type 0 */
            {R | WC, 0x49},         /* type 1 */
            {R | W | WT, 0x63},     /* type 4 */
            {R | X | WP, 0x6D},     /* type 5 */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            assert_int_equal(pt_map(&pt, 0x3000, pa, P4K, cases[i].flags), 0);
            assert_int_equal(raw_entry(f, &pt, 0x3000, 0), pa | cases[i].bits);
            assert_int_equal(expected_leaf(f, pa, cases[i].flags, 0), pa | cases[i].bits);
            expect_page(&pt, 0x3123, pa | 0x123, cases[i].flags, P4K);
        }
        /* large leaves: bit 7 on top */
        assert_int_equal(pt_map(&pt, P2M, MB(512), P2M, R | W | WB), 0);
        assert_int_equal(raw_entry(f, &pt, P2M, 1), MB(512) | 0x73 | 0x80);
        assert_int_equal(pt_map(&pt, GB(1), GB(7), P1G, R | X | UC), 0);
        assert_int_equal(raw_entry(f, &pt, GB(1), 2), GB(7) | 0x45 | 0x80);
    } else {
        static const struct {
            uint64_t flags, bits;
        } cases[] = {
            {R | W | X | WB, PTE_P | PTE_W | PTE_U},
            {R | WB, PTE_P | PTE_U | PTE_NX},
            {R | W | WB, PTE_P | PTE_W | PTE_U | PTE_NX},
            {R | X | WB, PTE_P | PTE_U},
            {R | W | UC, PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_NX},
            {R | X | WT, PTE_P | PTE_U | PTE_PWT},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            assert_int_equal(pt_map(&pt, 0x3000, pa, P4K, cases[i].flags), 0);
            assert_int_equal(raw_entry(f, &pt, 0x3000, 0), pa | cases[i].bits);
            assert_int_equal(expected_leaf(f, pa, cases[i].flags, 0), pa | cases[i].bits);
            expect_page(&pt, 0x3123, pa | 0x123, cases[i].flags, P4K);
        }
        assert_int_equal(raw_entry(f, &pt, 0x3000, 0) >> 63, 0); /* RWX above: no NX */
        assert_int_equal(pt_map(&pt, P2M, MB(512), P2M, R | W | WB), 0);
        assert_int_equal(raw_entry(f, &pt, P2M, 1), MB(512) | PTE_P | PTE_W | PTE_U | PTE_NX | PTE_PS);
        assert_int_equal(pt_map(&pt, GB(1), GB(7), P1G, R | X | UC), 0);
        assert_int_equal(raw_entry(f, &pt, GB(1), 2), GB(7) | PTE_P | PTE_U | PTE_PWT | PTE_PCD | PTE_PS);
    }
    expect_page(&pt, P2M + 5, MB(512) + 5, R | W | WB, P2M);
    expect_page(&pt, GB(1) + 5, GB(7) + 5, R | X | UC, P1G);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_npt_nx_off_drops_nx(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    struct pt_ops ops = make_ops(f, true);
    ops.nx_mask = 0;
    pt_new_ops(f, &pt, &ops);
    assert_int_equal(pt_map(&pt, 0, MB(8), P4K, R | W | WB), 0);
    if (is_ept(f)) {
        /* nx_mask means nothing to EPT, which has its own X bit */
        assert_int_equal(raw_entry(f, &pt, 0, 0), MB(8) | EPT_R | EPT_W | (6ull << 3) | EPT_IGNORE_PAT);
        expect_page(&pt, 0, MB(8), R | W | WB, P4K);
    } else {
        /* bit 63 is reserved without EFER.NXE: never set, pages executable */
        assert_int_equal(raw_entry(f, &pt, 0, 0), MB(8) | PTE_P | PTE_W | PTE_U);
        expect_page(&pt, 0, MB(8), R | W | X | WB, P4K);
        assert_int_equal(pt_protect(&pt, 0, P4K, R), 0);
        assert_int_equal(raw_entry(f, &pt, 0, 0), MB(8) | PTE_P | PTE_U);
    }
    pt_done(f, &pt);
}

static void test_rejected_flags(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, R | W | WB), 0);
    size_t mark = f->nev;
    uint64_t common[] = {
        0, WB, UC,                                /* no permission: use unmap */
        W | WB, W | X | WB,                       /* EPT: misconfiguration; NPT: present implies R */
        R | PT_MEMTYPE(2), R | PT_MEMTYPE(3), R | PT_MEMTYPE(7), /* reserved types */
        R | (1ull << 6), R | (1ull << 7), R | PTE_NX, R | (1ull << 12), R | PTE_P | PTE_U | (1ull << 63),
    };
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        if (pt_map(&pt, MB(16), MB(8), P4K, common[i]) != -PL_EINVAL)
            fail_msg("flags %#" PRIx64 " accepted", common[i]);
        if (pt_map(&pt, MB(4), MB(8), P2M, common[i]) != -PL_EINVAL)
            fail_msg("flags %#" PRIx64 " accepted over a mapping", common[i]);
    }
    static const uint64_t bad_perms[] = {0, W, W | X, 8, R | WB, 1ull << 63};
    for (size_t i = 0; i < sizeof(bad_perms) / sizeof(bad_perms[0]); i++)
        if (pt_protect(&pt, MB(4), P4K, bad_perms[i]) != -PL_EINVAL)
            fail_msg("protect %#" PRIx64 " accepted", bad_perms[i]);
    /* execute-only: EPT only with the capability; NPT never (no R) */
    assert_int_equal(pt_map(&pt, MB(16), MB(8), P4K, X | WB), -PL_EINVAL);
    assert_int_equal(pt_protect(&pt, MB(4), P2M, X), -PL_EINVAL);
    if (!is_ept(f)) {
        /* the default PAT has no WC or WP entry among the indices used */
        assert_int_equal(pt_map(&pt, MB(16), MB(8), P4K, R | WC), -PL_EINVAL);
        assert_int_equal(pt_map(&pt, MB(16), MB(8), P4K, R | WP), -PL_EINVAL);
    }
    assert_int_equal(f->nev, mark); /* nothing allocated, freed or flushed */
    assert_int_equal(pt.tables, 3);
    expect_page(&pt, MB(4), MB(8), R | W | WB, P2M);
    expect_unmapped(&pt, MB(16));
    pt_done(f, &pt);
}

static void test_ept_exec_only_with_capability(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    struct pt_ops ops = make_ops(f, true);
    ops.exec_only = true;
    pt_new_ops(f, &pt, &ops);
    int rc = pt_map(&pt, 0, MB(8), P4K, X | WB);
    if (is_ept(f)) {
        assert_int_equal(rc, 0);
        assert_int_equal(raw_entry(f, &pt, 0, 0), MB(8) | EPT_X | (6ull << 3) | EPT_IGNORE_PAT);
        expect_page(&pt, 0, MB(8), X | WB, P4K);
        assert_int_equal(pt_protect(&pt, 0, P4K, R), 0);
        assert_int_equal(pt_protect(&pt, 0, P4K, X), 0);
        expect_page(&pt, 0, MB(8), X | WB, P4K);
        /* W without R stays a misconfiguration */
        assert_int_equal(pt_protect(&pt, 0, P4K, W | X), -PL_EINVAL);
    } else {
        assert_int_equal(rc, -PL_EINVAL); /* an EPT-only option */
    }
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_gpa_range(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    static const struct {
        uint64_t va, len;
    } bad[] = {
        {GPA_TOP, P4K},
        {GPA_TOP - P4K, 2 * P4K},
        {0xFFFFFFFF80000000ull, P2M}, /* no high half: not a canonical space */
        {0x0001000000000000ull, P4K},
        {0, 0},
        {0x1800, P4K},
        {0xFFFFFFFFFFFFF000ull, 2 * P4K},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pt_map(&pt, bad[i].va, 0, bad[i].len, R | WB), -PL_EINVAL);
        assert_int_equal(pt_unmap(&pt, bad[i].va, bad[i].len), -PL_EINVAL);
        assert_int_equal(pt_protect(&pt, bad[i].va, bad[i].len, R), -PL_EINVAL);
    }
    /* the whole 48-bit space is usable, low half and "high" alike */
    assert_int_equal(pt_map(&pt, GPA_TOP - P4K, (1ull << 52) - P4K, P4K, R | W | WB), 0);
    expect_page(&pt, GPA_TOP - 1, (1ull << 52) - 1, R | W | WB, P4K);
    assert_int_equal(pt_map(&pt, 0x0000800000000000ull, MB(2), P2M, R | WB), 0);
    expect_page(&pt, 0x0000800000000000ull + 7, MB(2) + 7, R | WB, P2M);
    expect_unmapped(&pt, GPA_TOP);
    expect_unmapped(&pt, 0xFFFF800000000000ull);
    expect_unmapped(&pt, ~0ull);
    check_tables(f, &pt);
    assert_int_equal(pt_unmap(&pt, 0, GPA_TOP), 0);
    assert_int_equal(pt.tables, 1);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ page sizes */

static void test_page_size_selection(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    /* [1G-2M-4K, 2G+2M+4K) with pa = va + 4G: 4K, 2M, 1G, 2M, 4K */
    uint64_t v0 = GB(1) - P2M - P4K, len = P1G + 2 * P2M + 2 * P4K;
    assert_int_equal(pt_map(&pt, v0, v0 + GB(4), len, R | W | X | WB), 0);
    expect_page(&pt, v0, v0 + GB(4), RWX | WB, P4K);
    expect_page(&pt, GB(1) - P2M, GB(5) - P2M, RWX | WB, P2M);
    expect_page(&pt, GB(1), GB(5), RWX | WB, P1G);
    expect_page(&pt, GB(2) - 1, GB(6) - 1, RWX | WB, P1G);
    expect_page(&pt, GB(2), GB(6), RWX | WB, P2M);
    expect_page(&pt, GB(2) + P2M, GB(6) + P2M, RWX | WB, P4K);
    expect_unmapped(&pt, v0 - 1);
    expect_unmapped(&pt, v0 + len);
    assert_int_equal(raw_entry(f, &pt, GB(1), 2), expected_leaf(f, GB(5), RWX | WB, 2));
    assert_int_equal(raw_entry(f, &pt, GB(2), 1), expected_leaf(f, GB(6), RWX | WB, 1));
    assert_int_equal(raw_entry(f, &pt, v0, 0), expected_leaf(f, v0 + GB(4), RWX | WB, 0));
    /* root, PDPT, PD+PT below 1G, PD+PT above 2G */
    assert_int_equal(pt.tables, 6);
    check_tables(f, &pt);
    /* pa alignment limits the size too */
    assert_int_equal(pt_map(&pt, GB(8), GB(9) + P2M, P1G, R | WB), 0);
    expect_page(&pt, GB(8), GB(9) + P2M, R | WB, P2M);
    assert_int_equal(pt_map(&pt, GB(10), MB(64) + P4K, P2M, R | WB), 0);
    expect_page(&pt, GB(10) + P2M - P4K, MB(66), R | WB, P4K);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_page_sizes_without_1g_or_2m(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    struct pt_ops ops = make_ops(f, false);
    pt_new_ops(f, &pt, &ops);
    assert_int_equal(pt_map(&pt, GB(1), GB(3), P1G, R | W | WB), 0);
    expect_page(&pt, GB(1) + 5, GB(3) + 5, R | W | WB, P2M);
    assert_int_equal(pt.tables, 3); /* all 2M leaves: no merge into 1G */
    check_tables(f, &pt);
    pt_done(f, &pt);

    /* EPT without the 2 MiB capability: 4 KiB pages only (the builder does
     * not check the format for no_2m; NPT never sets it) */
    ops = make_ops(f, false);
    ops.no_2m = true;
    pt_new_ops(f, &pt, &ops);
    assert_int_equal(pt_map(&pt, P2M, MB(16), 2 * P2M, R | W | WB), 0);
    expect_page(&pt, P2M, MB(16), R | W | WB, P4K);
    expect_page(&pt, MB(6) - 1, MB(20) - 1, R | W | WB, P4K);
    assert_int_equal(pt.tables, 5); /* root, PDPT, PD, 2 PTs: not merged */
    check_tables(f, &pt);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ merging */

static void test_merge_512_4k_into_2m(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t va = GB(2) + MB(4), pa = MB(64);
    for (unsigned i = 0; i < 511; i++)
        assert_int_equal(pt_map(&pt, va + i * P4K, pa + i * P4K, P4K, R | W | WB), 0);
    assert_int_equal(pt.tables, 4);
    check_tables(f, &pt);
    expect_page(&pt, va, pa, R | W | WB, P4K);
    uint64_t ptphys = raw_entry(f, &pt, va, 1) & PTE_ADDR_MASK;
    f->watch = ptphys;
    size_t mark = f->nev;

    assert_int_equal(pt_map(&pt, va + 511 * P4K, pa + 511 * P4K, P4K, R | W | WB), 0);
    assert_int_equal(pt.tables, 3);
    assert_int_equal(f->nlive, 3);
    assert_false(f->live[ptphys / P4K - 1]);
    assert_int_equal(raw_entry(f, &pt, va, 1), expected_leaf(f, pa, R | W | WB, 1));
    for (uint64_t off = 0; off < P2M; off += 37 * P4K)
        expect_page(&pt, va + off + 9, pa + off + 9, R | W | WB, P2M);
    expect_flushed_unlinked_before_free(f, mark, ptphys, va);
    assert_int_equal(count_kind(f, mark, EV_ALLOC), 0);
    f->watch = 0;
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_no_merge_unless_uniform(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    /* five tables, each with one thing wrong */
    uint64_t pa = MB(64);
    assert_int_equal(pt_map(&pt, 0, pa + P4K, P2M, R | WB), 0); /* pa not 2M aligned */
    assert_int_equal(pt_map(&pt, P2M, pa, P2M - P4K, R | WB), 0); /* one missing */
    assert_int_equal(pt_map(&pt, MB(4), pa, P2M - P4K, R | WB), 0);
    assert_int_equal(pt_map(&pt, MB(6) - P4K, pa + MB(4), P4K, R | WB), 0); /* out of order */
    assert_int_equal(pt_map(&pt, MB(6), pa, P2M - P4K, R | WB), 0);
    assert_int_equal(pt_map(&pt, MB(8) - P4K, pa + P2M - P4K, P4K, R | W | WB), 0); /* perms differ */
    assert_int_equal(pt_map(&pt, MB(8), pa, P2M - P4K, R | WB), 0);
    assert_int_equal(pt_map(&pt, MB(10) - P4K, pa + P2M - P4K, P4K, R | UC), 0); /* type differs */
    for (uint64_t v = 0; v < MB(10); v += P2M)
        expect_page(&pt, v + P4K, raw_entry(f, &pt, v + P4K, 0) & PTE_ADDR_MASK, R | WB, P4K);
    assert_int_equal(pt.tables, 3 + 5);
    check_tables(f, &pt);

    /* fixing the one wrong entry merges */
    size_t before = pt.tables;
    assert_int_equal(pt_map(&pt, MB(6) - P4K, pa + P2M - P4K, P4K, R | WB), 0);
    assert_int_equal(pt_map(&pt, MB(8) - P4K, pa + P2M - P4K, P4K, R | WB), 0);
    assert_int_equal(pt_map(&pt, MB(10) - P4K, pa + P2M - P4K, P4K, R | WB), 0);
    assert_int_equal(pt.tables, before - 3);
    expect_page(&pt, MB(4), pa, R | WB, P2M);
    expect_page(&pt, MB(6), pa, R | WB, P2M);
    expect_page(&pt, MB(8), pa, R | WB, P2M);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_merge_cascades_into_1g(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t va = GB(5), pa = GB(9);
    /* all but the last 2M as 2M leaves, then the last 2M page by page */
    assert_int_equal(pt_map(&pt, va, pa, P1G - P2M, R | X | WB), 0);
    assert_int_equal(pt.tables, 3);
    for (unsigned i = 0; i < 511; i++)
        assert_int_equal(pt_map(&pt, va + P1G - P2M + i * P4K, pa + P1G - P2M + i * P4K, P4K, R | X | WB), 0);
    assert_int_equal(pt.tables, 4);
    uint64_t pdphys = raw_entry(f, &pt, va, 2) & PTE_ADDR_MASK;
    uint64_t ptphys = raw_entry(f, &pt, va + P1G - P2M, 1) & PTE_ADDR_MASK;
    size_t mark = f->nev;
    assert_int_equal(pt_map(&pt, va + P1G - P4K, pa + P1G - P4K, P4K, R | X | WB), 0);
    assert_int_equal(pt.tables, 2);
    assert_int_equal(count_kind(f, mark, EV_FREE), 2);
    assert_false(f->live[ptphys / P4K - 1]);
    assert_false(f->live[pdphys / P4K - 1]);
    assert_int_equal(raw_entry(f, &pt, va, 2), expected_leaf(f, pa, R | X | WB, 2));
    expect_page(&pt, va + P1G - 1, pa + P1G - 1, R | X | WB, P1G);
    assert_true(flushed(f, mark, va, P1G));
    check_tables(f, &pt);

    /* without 1G pages it stops at 2M */
    pt_done(f, &pt);
    pt_new(f, &pt, false);
    assert_int_equal(pt_map(&pt, va, pa, P1G - P2M, R | X | WB), 0);
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(pt_map(&pt, va + P1G - P2M + i * P4K, pa + P1G - P2M + i * P4K, P4K, R | X | WB), 0);
    assert_int_equal(pt.tables, 3);
    expect_page(&pt, va + P1G - 1, pa + P1G - 1, R | X | WB, P2M);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_merge_off(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    struct pt_ops ops = make_ops(f, true);
    ops.merge = false;
    pt_new_ops(f, &pt, &ops);
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(pt_map(&pt, i * P4K, MB(64) + i * P4K, P4K, R | W | WB), 0);
    assert_int_equal(pt.tables, 4);
    expect_page(&pt, 0, MB(64), R | W | WB, P4K);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ protect */

static void test_protect_splits_and_merges_2m(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t va = MB(6), pa = MB(32);
    assert_int_equal(pt_map(&pt, va, pa, P2M, R | W | X | WB), 0);
    assert_int_equal(pt.tables, 3);
    size_t mark = f->nev;

    /* read-only one page: split, one entry changed, only it flushed */
    uint64_t hit = va + 9 * P4K;
    assert_int_equal(pt_protect(&pt, hit, P4K, R | X), 0);
    assert_int_equal(pt.tables, 4);
    assert_int_equal(raw_entry(f, &pt, va, 1) & large_bit(f), 0);
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t v = va + i * P4K;
        uint64_t want = v == hit ? (R | X | WB) : (RWX | WB);
        assert_int_equal(raw_entry(f, &pt, v, 0), expected_leaf(f, pa + i * P4K, want, 0));
        expect_page(&pt, v, pa + i * P4K, want, P4K);
    }
    assert_true(flushed(f, mark, hit, P4K));
    expect_flushes_within(f, mark, hit, P4K);
    check_tables(f, &pt);

    /* writable again: the table is uniform, so it merges back */
    uint64_t ptphys = raw_entry(f, &pt, va, 1) & PTE_ADDR_MASK;
    f->watch = ptphys;
    mark = f->nev;
    assert_int_equal(pt_protect(&pt, hit, P4K, R | W | X), 0);
    assert_int_equal(pt.tables, 3);
    assert_false(f->live[ptphys / P4K - 1]);
    assert_int_equal(raw_entry(f, &pt, va, 1), expected_leaf(f, pa, RWX | WB, 1));
    expect_page(&pt, hit, pa + 9 * P4K, RWX | WB, P2M);
    expect_flushed_unlinked_before_free(f, mark, ptphys, va);
    f->watch = 0;
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_protect_splits_and_merges_1g(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t va = GB(1), pa = GB(4);
    assert_int_equal(pt_map(&pt, va, pa, P1G, R | W | UC), 0);
    assert_int_equal(pt.tables, 2);
    uint64_t hit = va + 300 * P2M + 17 * P4K;
    size_t mark = f->nev;
    assert_int_equal(pt_protect(&pt, hit, P4K, R), 0);
    assert_int_equal(pt.tables, 4); /* + PD + PT */
    expect_page(&pt, hit, pa + (hit - va), R | UC, P4K);
    expect_page(&pt, hit + P4K, pa + (hit - va) + P4K, R | W | UC, P4K);
    expect_page(&pt, va, pa, R | W | UC, P2M);
    expect_page(&pt, va + P1G - 1, pa + P1G - 1, R | W | UC, P2M);
    assert_true(flushed(f, mark, hit, P4K));
    expect_flushes_within(f, mark, hit, P4K);
    check_tables(f, &pt);

    assert_int_equal(pt_protect(&pt, hit, P4K, R | W), 0);
    assert_int_equal(pt.tables, 2);
    expect_page(&pt, hit, pa + (hit - va), R | W | UC, P1G);
    assert_int_equal(raw_entry(f, &pt, va, 2), expected_leaf(f, pa, R | W | UC, 2));
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_protect_keeps_memtype_and_address(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t type = is_ept(f) ? WC : WT;
    assert_int_equal(pt_map(&pt, 0, MB(100), 4 * P4K, R | W | type), 0);
    assert_int_equal(pt_map(&pt, P2M, MB(200), P2M, R | UC), 0);
    assert_int_equal(pt_protect(&pt, 0, MB(4), R | X), 0);
    for (unsigned i = 0; i < 4; i++) {
        expect_page(&pt, i * P4K, MB(100) + i * P4K, R | X | type, P4K);
        assert_int_equal(raw_entry(f, &pt, i * P4K, 0), expected_leaf(f, MB(100) + i * P4K, R | X | type, 0));
    }
    expect_page(&pt, P2M, MB(200), R | X | UC, P2M);
    assert_int_equal(raw_entry(f, &pt, P2M, 1), expected_leaf(f, MB(200), R | X | UC, 1));
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_protect_skips_holes(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    size_t mark = f->nev;
    assert_int_equal(pt_protect(&pt, 0, GB(4), R), 0);
    assert_int_equal(f->nev, mark); /* nothing at all */
    assert_int_equal(pt_map(&pt, MB(2) + P4K, MB(64), P4K, R | W | WB), 0);
    assert_int_equal(pt_map(&pt, GB(1) + P2M, MB(128), P2M, R | W | WB), 0);
    size_t tables = pt.tables;
    mark = f->nev;
    assert_int_equal(pt_protect(&pt, 0, GB(2), R), 0);
    assert_int_equal(count_kind(f, mark, EV_ALLOC), 0);
    assert_int_equal(pt.tables, tables);
    expect_page(&pt, MB(2) + P4K, MB(64), R | WB, P4K);
    expect_page(&pt, GB(1) + P2M, MB(128), R | WB, P2M);
    expect_unmapped(&pt, MB(2));
    expect_unmapped(&pt, MB(2) + 2 * P4K);
    expect_unmapped(&pt, GB(1));
    expect_unmapped(&pt, GB(1) + 2 * P2M);
    assert_true(flushed(f, mark, MB(2) + P4K, P4K));
    assert_true(flushed(f, mark, GB(1) + P2M, P2M));
    check_tables(f, &pt);
    pt_done(f, &pt);
}

/* Taking a permission away flushes; granting one or changing nothing does
 * not (and an unchanged large page is not split). */
static void test_protect_flushes_only_on_shrink(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, R | WB), 0);

    size_t mark = f->nev;
    assert_int_equal(pt_protect(&pt, MB(4), P2M, R), 0); /* the same */
    assert_int_equal(pt_protect(&pt, MB(4) + P4K, P4K, R), 0);
    assert_int_equal(f->nev, mark);
    assert_int_equal(pt.tables, 3);

    static const struct {
        uint64_t perms;
        bool flush;
    } steps[] = {
        {R | W, false}, {R | W | X, false}, {R | X, true}, {R | W | X, false}, {R, true}, {R | W, false}, {R | X, true},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        mark = f->nev;
        assert_int_equal(pt_protect(&pt, MB(4), P2M, steps[i].perms), 0);
        expect_page(&pt, MB(4) + 5, MB(8) + 5, steps[i].perms | WB, P2M);
        assert_int_equal(raw_entry(f, &pt, MB(4), 1), expected_leaf(f, MB(8), steps[i].perms | WB, 1));
        if (steps[i].flush) {
            assert_true(flushed(f, mark, MB(4), P2M));
            expect_flushes_within(f, mark, MB(4), P2M);
        } else {
            assert_int_equal(count_flushes(f, mark), 0);
        }
    }
    assert_int_equal(pt.tables, 3);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_protect_enomem_leaves_large_page(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, R | W | WB), 0);
    size_t mark = f->nev;
    f->allocs_left = 0;
    assert_int_equal(pt_protect(&pt, MB(4) + P4K, P4K, R), -PL_ENOMEM);
    f->allocs_left = -1;
    assert_int_equal(f->nev, mark);
    expect_page(&pt, MB(4) + P4K, MB(8) + P4K, R | W | WB, P2M);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ unmap */

static void test_unmap_straddling_2m_and_1g(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t pa = GB(16);
    assert_int_equal(pt_map(&pt, 0, pa, GB(3), R | W | WB), 0);
    assert_int_equal(pt.tables, 2); /* three 1G leaves */
    size_t mark = f->nev;

    /* across the 1G boundary at 2G: both 1G pages split to 2M, the two 2M
     * pages at the boundary to 4K */
    uint64_t lo = GB(2) - 3 * P4K, len = 6 * P4K;
    assert_int_equal(pt_unmap(&pt, lo, len), 0);
    assert_int_equal(pt.tables, 2 + 2 + 2);
    for (uint64_t v = lo; v < lo + len; v += P4K)
        expect_unmapped(&pt, v);
    expect_page(&pt, lo - P4K, pa + lo - P4K, R | W | WB, P4K);
    expect_page(&pt, lo + len, pa + lo + len, R | W | WB, P4K);
    expect_page(&pt, GB(2) - P2M - 1, pa + GB(2) - P2M - 1, R | W | WB, P2M);
    expect_page(&pt, GB(2) + P2M, pa + GB(2) + P2M, R | W | WB, P2M);
    expect_page(&pt, GB(1) - 1, pa + GB(1) - 1, R | W | WB, P1G);
    assert_true(flushed(f, mark, lo, len));
    expect_flushes_within(f, mark, lo, len);
    check_tables(f, &pt);

    /* across a 2M boundary inside the first 1G page */
    mark = f->nev;
    assert_int_equal(pt_unmap(&pt, MB(10) - P4K, 2 * P4K), 0);
    expect_unmapped(&pt, MB(10) - P4K);
    expect_unmapped(&pt, MB(10));
    expect_page(&pt, MB(10) - 2 * P4K, pa + MB(10) - 2 * P4K, R | W | WB, P4K);
    expect_page(&pt, MB(10) + P4K, pa + MB(10) + P4K, R | W | WB, P4K);
    expect_page(&pt, MB(12), pa + MB(12), R | W | WB, P2M);
    assert_true(flushed(f, mark, MB(10) - P4K, 2 * P4K));
    expect_flushes_within(f, mark, MB(10) - P4K, 2 * P4K);
    check_tables(f, &pt);

    /* remapping the holes merges everything back into 1G pages */
    assert_int_equal(pt_map(&pt, MB(10) - P4K, pa + MB(10) - P4K, 2 * P4K, R | W | WB), 0);
    assert_int_equal(pt_map(&pt, lo, pa + lo, len, R | W | WB), 0);
    assert_int_equal(pt.tables, 2);
    expect_page(&pt, GB(2), pa + GB(2), R | W | WB, P1G);
    check_tables(f, &pt);

    /* unmap it all in pieces straddling boundaries: only the root is left */
    assert_int_equal(pt_unmap(&pt, GB(1) - P2M - P4K, P1G), 0);
    assert_int_equal(pt_unmap(&pt, 0, GB(1) - P2M), 0);
    assert_int_equal(pt_unmap(&pt, GB(2) - P2M - P4K, GB(1) + P2M + P4K), 0);
    check_tables(f, &pt);
    assert_int_equal(pt.tables, 1);
    assert_int_equal(f->nlive, 1);
    for (uint64_t v = 0; v < GB(3); v += P2M / 2)
        expect_unmapped(&pt, v);
    pt_done(f, &pt);
}

static void test_unmap_and_remap_flushes(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    size_t mark = f->nev;
    assert_int_equal(pt_map(&pt, MB(4), MB(8), MB(4) + P4K, R | W | WB), 0);
    assert_int_equal(count_flushes(f, mark), 0); /* fresh: nothing to flush */
    mark = f->nev;
    assert_int_equal(pt_map(&pt, MB(4), MB(100), P2M, R | W | WB), 0); /* replaced */
    assert_true(flushed(f, mark, MB(4), P2M));
    mark = f->nev;
    assert_int_equal(pt_unmap(&pt, MB(6), P2M + P4K), 0);
    assert_true(flushed(f, mark, MB(6), P2M + P4K));
    expect_flushes_within(f, mark, MB(6), P2M + P4K);
    expect_page(&pt, MB(4), MB(100), R | W | WB, P2M);
    expect_unmapped(&pt, MB(6));
    assert_int_equal(pt.tables, 3); /* the emptied PT went */
    check_tables(f, &pt);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ randomised against a model */

static uint64_t random_perms(const struct fake *f)
{
    static const uint64_t ept[] = {R, R | W, R | X, R | W | X};
    static const uint64_t npt[] = {R, R | W, R | X, R | W | X};
    return is_ept(f) ? ept[rnd() % 4] : npt[rnd() % 4];
}

static uint64_t random_type(const struct fake *f)
{
    static const uint64_t ept[] = {WB, WB, WB, UC, WC, WT, WP};
    static const uint64_t npt[] = {WB, WB, WB, UC, WT};
    return is_ept(f) ? ept[rnd() % 7] : npt[rnd() % 5];
}

/* Map, unmap and protect at random; after each step every page matches
 * the model, old translations that shrank were flushed, the table count
 * is right and no mergeable table is left. Contiguous, 2M-aligned physical
 * ranges and few distinct flags make merges frequent. */
static void test_random_against_model(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    struct model *m = model_new();
    size_t merges_seen = 0;

    for (int step = 0; step < 600; step++) {
        uint64_t s, n;
        model_pick(&s, &n);
        uint64_t va = MODEL_BASE + s * P4K, len = n * P4K;
        unsigned op = rnd() % 10; /* 0-4 map, 5-6 unmap, 7-9 protect */
        uint64_t pa = 0, flags = 0;
        if (op < 5) {
            /* mostly the identity-like layout, so neighbours line up */
            pa = rnd() % 4 ? GB(8) + (va - MODEL_BASE) : P4K * (1 + rnd() % 100000);
            flags = (rnd() % 3 ? (R | W) : random_perms(f)) | (rnd() % 4 ? WB : random_type(f));
        } else if (op >= 7) {
            flags = rnd() % 2 ? (R | W) : random_perms(f);
        }

        f->nev = 0;
        size_t tables_before = pt.tables;
        int rc = op < 5 ? pt_map(&pt, va, pa, len, flags) : op < 7 ? pt_unmap(&pt, va, len)
                                                                  : pt_protect(&pt, va, len, flags);
        assert_int_equal(rc, 0);
        if (pt.tables < tables_before && op != 5 && op != 6)
            merges_seen++;

        for (uint64_t i = s; i < s + n; i++) {
            uint64_t v = MODEL_BASE + i * P4K;
            if (op < 5) {
                if (m->on[i] && !flushed(f, 0, v, P4K))
                    fail_msg("step %d: replaced translation of %#" PRIx64 " not flushed", step, v);
                m->on[i] = true;
                m->pa[i] = pa + (i - s) * P4K;
                m->fl[i] = flags;
            } else if (op < 7) {
                if (m->on[i] && !flushed(f, 0, v, P4K))
                    fail_msg("step %d: removed translation of %#" PRIx64 " not flushed", step, v);
                m->on[i] = false;
            } else if (m->on[i]) {
                uint64_t old = m->fl[i] & RWX;
                if ((old & ~flags) && !flushed(f, 0, v, P4K))
                    fail_msg("step %d: narrowed translation of %#" PRIx64 " not flushed", step, v);
                m->fl[i] = (m->fl[i] & ~RWX) | flags;
            }
        }

        expect_model(f, &pt, m);
    }
    assert_true(merges_seen > 0);

    model_done(f, &pt, m);
}

/* Every table page is freed, whatever mix of sizes was built. */
static void test_destroy_frees_all(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, 0x1000, 0x1000, 3 * P4K, R | W | WB), 0);
    assert_int_equal(pt_map(&pt, P2M - P4K, GB(1) + P2M - P4K, P2M + 2 * P4K, R | WB), 0);
    assert_int_equal(pt_map(&pt, GB(1), GB(8), P1G, R | X | WB), 0);
    assert_int_equal(pt_map(&pt, GB(600), MB(2) + P4K, P2M, R | W | WB), 0);
    assert_int_equal(pt_map(&pt, GPA_TOP - P2M, MB(16), P2M, R | UC), 0);
    assert_int_equal(pt_protect(&pt, GB(1) + P4K, P4K, R), 0);
    check_tables(f, &pt);
    assert_true(f->nlive >= 10);
    size_t mark = f->nev;
    pt_done(f, &pt);
    assert_int_equal(count_flushes(f, mark), 0);
}

static enum pt_entry_format fmt_ept = PT_FORMAT_EPT, fmt_npt = PT_FORMAT_NPT;

#define BOTH(fn)                                                                                                   \
    {#fn " [EPT]", fn, fx_setup, fx_teardown, &fmt_ept}, { #fn " [NPT]", fn, fx_setup, fx_teardown, &fmt_npt }

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_table_entry_encoding),
        BOTH(test_leaf_encoding_bit_by_bit),
        BOTH(test_npt_nx_off_drops_nx),
        BOTH(test_rejected_flags),
        BOTH(test_ept_exec_only_with_capability),
        BOTH(test_gpa_range),
        BOTH(test_page_size_selection),
        BOTH(test_page_sizes_without_1g_or_2m),
        BOTH(test_merge_512_4k_into_2m),
        BOTH(test_no_merge_unless_uniform),
        BOTH(test_merge_cascades_into_1g),
        BOTH(test_merge_off),
        BOTH(test_protect_splits_and_merges_2m),
        BOTH(test_protect_splits_and_merges_1g),
        BOTH(test_protect_keeps_memtype_and_address),
        BOTH(test_protect_skips_holes),
        BOTH(test_protect_flushes_only_on_shrink),
        BOTH(test_protect_enomem_leaves_large_page),
        BOTH(test_unmap_straddling_2m_and_1g),
        BOTH(test_unmap_and_remap_flushes),
        BOTH(test_random_against_model),
        BOTH(test_destroy_frees_all),
    };
    return cmocka_run_group_tests_name("ept_npt", tests, NULL, NULL);
}
