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

#define HIGH_KERNEL 0xFFFFFFFF80000000ull
#define HIGH_BASE 0xFFFF800000000000ull /* first high-half canonical address */
#define LOW_TOP 0x0000800000000000ull   /* one past the last low-half address */

/* ------------------------------------------------------------------ fake physical memory
 *
 * fake_phys.h in its default format, PT_FORMAT_X86_64: the fixtures get no
 * initial state. */

static struct pt_ops make_ops(struct fake *f, bool allow_1g, uint64_t nx_mask)
{
    struct pt_ops ops = fake_ops(f, allow_1g);
    ops.nx_mask = nx_mask;
    return ops;
}

static void pt_new(struct fake *f, struct pt *pt, bool allow_1g)
{
    struct pt_ops ops = make_ops(f, allow_1g, PTE_NX);
    pt_new_ops(f, pt, &ops);
}

/* ------------------------------------------------------------------ checks */

/* The checks behind check_tables (declared in fake_phys.h) for x86-64. */
static void check_entry(struct fake *f, const struct pt *pt, uint64_t e, int level)
{
    (void)pt;
    if (!(e & PTE_P))
        return;
    if (ent_leaf(f, e, level)) {
        assert_int_equal(e & ~(PTE_ADDR_MASK | PTE_LEAF_FLAGS | PTE_P | PTE_PS | PTE_A | PTE_D), 0);
    } else {
        /* leaves carry the restrictions: tables are P|W|U, never NX */
        assert_int_equal(e & (PTE_P | PTE_W | PTE_U), PTE_P | PTE_W | PTE_U);
        assert_int_equal(e & PTE_NX, 0);
    }
}

/* nothing on a whole table beyond what count_tree checks */
static void check_table(struct fake *f, const struct pt *pt, const uint64_t *t, int level)
{
    (void)f, (void)pt, (void)t, (void)level;
}

static void expect_translation(const struct pt *pt, uint64_t va, uint64_t pa, uint64_t flags)
{
    uint64_t got_pa = 0, got_flags = 0, got_size = 0;
    if (!pt_lookup(pt, va, &got_pa, &got_flags, &got_size))
        fail_msg("va %#" PRIx64 " is not mapped", va);
    assert_int_equal(got_pa, pa);
    assert_int_equal(got_flags, flags);
}

/* ------------------------------------------------------------------ init / destroy */

static void test_init_and_destroy_empty(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, false);
    const uint64_t *root = fake_table(f, pt.root);
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        assert_int_equal(root[i], 0);
    check_tables(f, &pt);
    expect_unmapped(&pt, 0);
    expect_unmapped(&pt, HIGH_KERNEL);
    pt_done(f, &pt);
    pt_destroy(&pt); /* twice is harmless */
    assert_int_equal(f->nlive, 0);
}

static void test_init_enomem(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    struct pt_ops ops = make_ops(f, false, PTE_NX);
    f->allocs_left = 0;
    assert_int_equal(pt_init(&pt, &ops), -PL_ENOMEM);
    assert_int_equal(pt.root, 0);
    assert_int_equal(pt.tables, 0);
    pt_destroy(&pt);
    assert_int_equal(f->nlive, 0);
    assert_int_equal(count_kind(f, 0, EV_FREE), 0);
}

/* ------------------------------------------------------------------ 4 KiB */

static void test_map_4k_lookup(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    size_t mark = f->nev;

    assert_int_equal(pt_map(&pt, 0x7000, 0x123000, P4K, PTE_W), 0);
    expect_page(&pt, 0x7000, 0x123000, PTE_W, P4K);
    expect_page(&pt, 0x7234, 0x123234, PTE_W, P4K);
    expect_page(&pt, 0x7FFF, 0x123FFF, PTE_W, P4K);
    expect_unmapped(&pt, 0x6FFF);
    expect_unmapped(&pt, 0x8000);
    expect_unmapped(&pt, 0);
    expect_unmapped(&pt, 0x7000 + P2M);
    expect_unmapped(&pt, 0x7000 + P1G);
    /* root, PDPT, PD, PT */
    assert_int_equal(pt.tables, 4);
    check_tables(f, &pt);
    assert_int_equal(raw_entry(f, &pt, 0x7000, 0), 0x123000 | PTE_P | PTE_W);
    assert_int_equal(raw_entry(f, &pt, 0x7000, 1) & PTE_PS, 0);
    assert_int_equal(count_flushes(f, mark), 0);

    /* a neighbour in the same PT needs no table; one 512 GiB away needs 3 */
    assert_int_equal(pt_map(&pt, 0x8000, 0x9000, P4K, PTE_NX | PTE_U), 0);
    assert_int_equal(pt.tables, 4);
    expect_page(&pt, 0x8010, 0x9010, PTE_NX | PTE_U, P4K);
    expect_page(&pt, 0x7000, 0x123000, PTE_W, P4K);
    assert_int_equal(pt_map(&pt, GB(512) + 0x3000, 0x5000, P4K, 0), 0);
    assert_int_equal(pt.tables, 7);
    expect_page(&pt, GB(512) + 0x3000, 0x5000, 0, P4K);
    expect_unmapped(&pt, 0x3000);
    check_tables(f, &pt);
    assert_int_equal(count_flushes(f, mark), 0);
    pt_done(f, &pt);
}

static void test_lookup_unmapped_and_noncanonical(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    expect_unmapped(&pt, 0);
    expect_unmapped(&pt, 0x1000);
    expect_unmapped(&pt, LOW_TOP - 1);
    expect_unmapped(&pt, HIGH_BASE);
    expect_unmapped(&pt, ~0ull);
    /* Map the first 512 GiB of the low half (PML4 slot 0): a non-canonical
     * address whose low 48 bits alias into it must still miss. */
    assert_int_equal(pt_map(&pt, 0, 0, GB(2), PTE_W), 0);
    expect_page(&pt, 0x5000, 0x5000, PTE_W, P1G);
    expect_unmapped(&pt, 0x0001000000005000ull);
    expect_unmapped(&pt, 0xFFFF000000005000ull);
    expect_unmapped(&pt, LOW_TOP + 0x5000);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ large pages */

static void test_2m_leaf(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    size_t mark = f->nev;
    assert_int_equal(pt_map(&pt, MB(6), MB(10), P2M, PTE_W | PTE_G), 0);
    expect_page(&pt, MB(6), MB(10), PTE_W | PTE_G, P2M);
    expect_page(&pt, MB(6) + 0x12345, MB(10) + 0x12345, PTE_W | PTE_G, P2M);
    expect_page(&pt, MB(8) - 1, MB(12) - 1, PTE_W | PTE_G, P2M);
    expect_unmapped(&pt, MB(6) - 1);
    expect_unmapped(&pt, MB(8));
    /* root, PDPT, PD and no PT */
    assert_int_equal(pt.tables, 3);
    check_tables(f, &pt);
    assert_int_equal(raw_entry(f, &pt, MB(6), 1), MB(10) | PTE_P | PTE_W | PTE_G | PTE_PS);
    assert_int_equal(count_flushes(f, mark), 0);
    pt_done(f, &pt);
}

static void test_1g_leaf_when_allowed(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, GB(1), GB(3), P1G, 0), 0);
    expect_page(&pt, GB(1), GB(3), 0, P1G);
    expect_page(&pt, GB(1) + 0x12345678, GB(3) + 0x12345678, 0, P1G);
    expect_page(&pt, GB(2) - 1, GB(4) - 1, 0, P1G);
    expect_unmapped(&pt, GB(1) - 1);
    expect_unmapped(&pt, GB(2));
    assert_int_equal(pt.tables, 2);
    check_tables(f, &pt);
    assert_int_equal(raw_entry(f, &pt, GB(1), 2), GB(3) | PTE_P | PTE_PS);
    pt_done(f, &pt);
}

static void test_1g_range_without_1g_support(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, false);
    assert_int_equal(pt_map(&pt, GB(1), GB(3), P1G, PTE_W), 0);
    assert_int_equal(pt.tables, 3);
    check_tables(f, &pt);
    assert_int_equal(raw_entry(f, &pt, GB(1), 2) & PTE_PS, 0);
    for (uint64_t i = 0; i < PT_ENTRIES; i++) {
        uint64_t va = GB(1) + i * P2M;
        assert_int_equal(raw_entry(f, &pt, va, 1), (GB(3) + i * P2M) | PTE_P | PTE_W | PTE_PS);
        expect_page(&pt, va + 0x1234, GB(3) + i * P2M + 0x1234, PTE_W, P2M);
    }
    expect_unmapped(&pt, GB(2));
    pt_done(f, &pt);
}

static void test_1g_range_with_unaligned_pa_uses_2m(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    /* pa is 2 MiB- but not 1 GiB-aligned */
    assert_int_equal(pt_map(&pt, GB(1), GB(3) + P2M, P1G, 0), 0);
    assert_int_equal(pt.tables, 3);
    check_tables(f, &pt);
    for (uint64_t i = 0; i < PT_ENTRIES; i += 37)
        expect_page(&pt, GB(1) + i * P2M + 5, GB(3) + P2M + i * P2M + 5, 0, P2M);
    expect_page(&pt, GB(2) - 1, GB(4) + P2M - 1, 0, P2M);
    pt_done(f, &pt);
}

static void test_misaligned_pa_forces_4k(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    /* va 2 MiB-aligned, pa only 4 KiB-aligned */
    uint64_t pa = MB(64) + P4K;
    assert_int_equal(pt_map(&pt, P2M, pa, P2M, PTE_W), 0);
    assert_int_equal(pt.tables, 4);
    check_tables(f, &pt);
    for (uint64_t i = 0; i < PT_ENTRIES; i++)
        expect_page(&pt, P2M + i * P4K, pa + i * P4K, PTE_W, P4K);

    /* and the other way round: pa 2 MiB-aligned, va only 4 KiB-aligned;
     * the range spans two PTs */
    assert_int_equal(pt_map(&pt, GB(4) + P4K, MB(4), P2M, 0), 0);
    assert_int_equal(pt.tables, 4 + 3); /* PD and two PTs */
    check_tables(f, &pt);
    for (uint64_t i = 0; i < PT_ENTRIES; i++)
        expect_page(&pt, GB(4) + P4K + i * P4K, MB(4) + i * P4K, 0, P4K);
    expect_unmapped(&pt, GB(4));
    expect_unmapped(&pt, GB(4) + P4K + P2M);
    pt_done(f, &pt);
}

static uint64_t expected_size(uint64_t va, uint64_t v0, uint64_t pa0, uint64_t len, bool allow_1g)
{
    static const uint64_t sizes[] = {P1G, P2M, P4K};
    for (unsigned k = allow_1g ? 0 : 1; k < 3; k++) {
        uint64_t s = sizes[k];
        uint64_t b = va & ~(s - 1);
        if (b < v0 || b + s - 1 > v0 + len - 1)
            continue;
        if ((pa0 + (b - v0)) % s == 0)
            return s;
    }
    return 0;
}

static void test_mixed_sizes_2m(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    size_t mark = f->nev;
    /* [2M-4K, 4M+4K): one 4K page, one 2M page, one 4K page */
    uint64_t v0 = P2M - P4K, len = P2M + 2 * P4K, pa0 = v0 + GB(1);
    assert_int_equal(pt_map(&pt, v0, pa0, len, PTE_W), 0);
    for (uint64_t va = v0; va < v0 + len; va += P4K) {
        uint64_t want = va < P2M ? P4K : va < MB(4) ? P2M : P4K;
        assert_int_equal(expected_size(va, v0, pa0, len, true), want);
        expect_page(&pt, va, va + GB(1), PTE_W, want);
    }
    expect_unmapped(&pt, v0 - P4K);
    expect_unmapped(&pt, v0 + len);
    assert_int_equal(raw_entry(f, &pt, P2M, 1), (P2M + GB(1)) | PTE_P | PTE_W | PTE_PS);
    /* root, PDPT, PD, PT for [0,2M), PT for [4M,6M) */
    assert_int_equal(pt.tables, 5);
    check_tables(f, &pt);
    assert_int_equal(count_flushes(f, mark), 0);
    pt_done(f, &pt);
}

static void test_mixed_sizes_1g(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    size_t mark = f->nev;
    /* [1G-2M-4K, 2G+2M+4K) with pa = va + 4G: 4K, 2M, 1G, 2M, 4K */
    uint64_t v0 = GB(1) - P2M - P4K, len = P1G + 2 * P2M + 2 * P4K;
    assert_int_equal(pt_map(&pt, v0, v0 + GB(4), len, PTE_NX), 0);
    struct {
        uint64_t va, size;
    } probes[] = {
        {v0, P4K},
        {GB(1) - P2M, P2M},
        {GB(1) - 1, P2M},
        {GB(1), P1G},
        {GB(2) - 1, P1G},
        {GB(2), P2M},
        {GB(2) + P2M - 1, P2M},
        {GB(2) + P2M, P4K},
    };
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        assert_int_equal(expected_size(probes[i].va & ~(P4K - 1), v0, v0 + GB(4), len, true), probes[i].size);
        expect_page(&pt, probes[i].va, probes[i].va + GB(4), PTE_NX, probes[i].size);
    }
    expect_unmapped(&pt, v0 - 1);
    expect_unmapped(&pt, v0 + len);
    /* root, PDPT, PD+PT below 1G, PD+PT above 2G */
    assert_int_equal(pt.tables, 6);
    check_tables(f, &pt);
    assert_int_equal(count_flushes(f, mark), 0);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ accounting */

static void test_table_accounting(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    static const struct {
        bool map;
        uint64_t va, pa, len;
        uint64_t tables;
    } steps[] = {
        {true, 0, MB(1), P4K, 4},
        {true, P4K, MB(2), P4K, 4},
        {true, GB(512), 0, P4K, 7},
        {true, P2M, MB(8), P2M, 7},
        {true, HIGH_KERNEL, MB(16), P2M, 9}, /* PDPT, PD, 2M leaf */
        {false, 0, 0, P4K, 9},
        {false, P4K, 0, P4K, 8},           /* PT emptied and freed, PD keeps the 2M page */
        {false, GB(512), 0, P4K, 5},       /* PT, PD, PDPT freed */
        {true, GB(1), GB(1), P1G, 5},      /* a 1G leaf in the existing PDPT */
        {false, P2M + P4K, 0, P4K, 6},     /* split of the 2M page */
        {false, GB(1) + P4K, 0, P4K, 8},   /* split of the 1G page, then of a 2M */
        {false, 0, 0, GB(2), 3},           /* all of the low PDPT gone */
        {false, HIGH_KERNEL, 0, P2M, 1},
        {true, GB(1), GB(7) + P4K, P2M, 4},
        {true, GB(1), GB(7), P1G, 2},      /* replaces PD and PT */
        {false, GB(1), 0, P1G, 1},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int rc = steps[i].map ? pt_map(&pt, steps[i].va, steps[i].pa, steps[i].len, PTE_W)
                              : pt_unmap(&pt, steps[i].va, steps[i].len);
        assert_int_equal(rc, 0);
        assert_int_equal(pt.tables, steps[i].tables);
        check_tables(f, &pt);
    }
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ splitting */

static void test_split_on_partial_remap(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t va = MB(4), pa = MB(8);
    assert_int_equal(pt_map(&pt, va, pa, P2M, PTE_W | PTE_G), 0);
    assert_int_equal(pt.tables, 3);
    size_t mark = f->nev;

    uint64_t hit = va + 5 * P4K;
    assert_int_equal(pt_map(&pt, hit, MB(100), P4K, PTE_NX), 0);
    assert_int_equal(pt.tables, 4);
    check_tables(f, &pt);
    assert_int_equal(raw_entry(f, &pt, va, 1) & PTE_PS, 0);
    for (uint64_t i = 0; i < PT_ENTRIES; i++) {
        uint64_t v = va + i * P4K;
        if (v == hit)
            expect_page(&pt, v + 7, MB(100) + 7, PTE_NX, P4K);
        else
            expect_page(&pt, v + 7, pa + i * P4K + 7, PTE_W | PTE_G, P4K);
    }
    expect_unmapped(&pt, va - P4K);
    expect_unmapped(&pt, va + P2M);
    assert_true(flushed(f, mark, hit, P4K));
    pt_done(f, &pt);
}

static void test_split_1g_on_partial_remap(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t va = GB(2), pa = GB(5);
    assert_int_equal(pt_map(&pt, va, pa, P1G, PTE_W), 0);
    assert_int_equal(pt.tables, 2);
    size_t mark = f->nev;

    uint64_t chunk = va + 3 * P2M, hit = chunk + 7 * P4K;
    assert_int_equal(pt_map(&pt, hit, MB(100), P4K, 0), 0);
    assert_int_equal(pt.tables, 4); /* + PD + PT */
    check_tables(f, &pt);
    for (uint64_t i = 0; i < PT_ENTRIES; i++) {
        uint64_t v = va + i * P2M;
        if (v != chunk)
            expect_page(&pt, v + 9, pa + i * P2M + 9, PTE_W, P2M);
    }
    for (uint64_t i = 0; i < PT_ENTRIES; i++) {
        uint64_t v = chunk + i * P4K;
        if (v == hit)
            expect_page(&pt, v, MB(100), 0, P4K);
        else
            expect_page(&pt, v, pa + 3 * P2M + i * P4K, PTE_W, P4K);
    }
    assert_true(flushed(f, mark, hit, P4K));
    pt_done(f, &pt);
}

static void test_split_on_partial_unmap(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t va = MB(4), pa = MB(8);
    assert_int_equal(pt_map(&pt, va, pa, P2M, PTE_W | PTE_U), 0);
    size_t mark = f->nev;
    uint64_t hole = va + 7 * P4K;
    assert_int_equal(pt_unmap(&pt, hole, P4K), 0);
    assert_int_equal(pt.tables, 4);
    check_tables(f, &pt);
    assert_int_equal(raw_entry(f, &pt, hole, 0), 0);
    for (uint64_t i = 0; i < PT_ENTRIES; i++) {
        uint64_t v = va + i * P4K;
        if (v == hole)
            expect_unmapped(&pt, v);
        else
            expect_page(&pt, v, pa + i * P4K, PTE_W | PTE_U, P4K);
    }
    assert_true(flushed(f, mark, hole, P4K));
    expect_flushes_within(f, mark, va, P2M);
    pt_done(f, &pt);
}

static void test_unmap_straddling_2m_boundary(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t pa = MB(32);
    assert_int_equal(pt_map(&pt, P2M, pa, 2 * P2M, PTE_W), 0);
    assert_int_equal(pt.tables, 3);
    expect_page(&pt, MB(4), pa + P2M, PTE_W, P2M);
    size_t mark = f->nev;

    assert_int_equal(pt_unmap(&pt, MB(4) - 2 * P4K, 4 * P4K), 0);
    assert_int_equal(pt.tables, 5); /* both large pages split */
    check_tables(f, &pt);
    for (uint64_t v = MB(4) - 2 * P4K; v < MB(4) + 2 * P4K; v += P4K)
        expect_unmapped(&pt, v);
    /* the edges keep their translation */
    expect_page(&pt, MB(4) - 3 * P4K, pa + P2M - 3 * P4K, PTE_W, P4K);
    expect_page(&pt, MB(4) + 2 * P4K, pa + P2M + 2 * P4K, PTE_W, P4K);
    expect_page(&pt, P2M, pa, PTE_W, P4K);
    expect_page(&pt, MB(6) - 1, pa + 2 * P2M - 1, PTE_W, P4K);
    for (uint64_t v = P2M; v < MB(4) - 2 * P4K; v += P4K)
        expect_page(&pt, v, pa + (v - P2M), PTE_W, P4K);
    for (uint64_t v = MB(4) + 2 * P4K; v < MB(6); v += P4K)
        expect_page(&pt, v, pa + (v - P2M), PTE_W, P4K);
    assert_true(flushed(f, mark, MB(4) - 2 * P4K, 4 * P4K));
    expect_flushes_within(f, mark, MB(4) - 2 * P4K, 4 * P4K);

    /* removing the rest leaves only the root */
    assert_int_equal(pt_unmap(&pt, P2M, 2 * P2M), 0);
    assert_int_equal(pt.tables, 1);
    check_tables(f, &pt);
    expect_unmapped(&pt, P2M);
    pt_done(f, &pt);
}

static void test_unmap_whole_large_pages_no_split(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, 0, 0, 2 * P1G, PTE_W), 0);
    assert_int_equal(pt.tables, 2);
    size_t mark = f->nev;
    assert_int_equal(pt_unmap(&pt, P1G, P1G), 0);
    assert_int_equal(count_kind(f, mark, EV_ALLOC), 0);
    assert_int_equal(pt.tables, 2);
    expect_page(&pt, P1G - 1, P1G - 1, PTE_W, P1G);
    expect_unmapped(&pt, P1G);
    assert_true(flushed(f, mark, P1G, P1G));
    check_tables(f, &pt);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ freeing */

static void test_unmap_holes_is_fine(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    size_t mark = f->nev;
    assert_int_equal(pt_unmap(&pt, 0, GB(4)), 0);
    assert_int_equal(pt_unmap(&pt, HIGH_KERNEL, P2M), 0);
    assert_int_equal(f->nev, mark); /* no alloc, free or flush */
    assert_int_equal(pt.tables, 1);

    assert_int_equal(pt_map(&pt, MB(1), MB(1), P4K, 0), 0);
    mark = f->nev;
    assert_int_equal(pt_unmap(&pt, 0, MB(4)), 0);
    assert_int_equal(pt.tables, 1);
    check_tables(f, &pt);
    expect_unmapped(&pt, MB(1));
    assert_true(flushed(f, mark, MB(1), P4K));
    pt_done(f, &pt);
}

static void build_mixed(struct pt *pt)
{
    assert_int_equal(pt_map(pt, 0x1000, 0x1000, 3 * P4K, PTE_W), 0);
    assert_int_equal(pt_map(pt, P2M - P4K, GB(1) + P2M - P4K, P2M + 2 * P4K, 0), 0);
    assert_int_equal(pt_map(pt, GB(1), GB(8), P1G, PTE_NX), 0);
    assert_int_equal(pt_map(pt, GB(3), GB(8) + P2M, P1G, PTE_NX), 0);
    assert_int_equal(pt_map(pt, GB(600), MB(2) + P4K, P2M, PTE_W), 0);
    assert_int_equal(pt_map(pt, HIGH_KERNEL, MB(16), MB(6), PTE_W | PTE_G), 0);
    assert_int_equal(pt_map(pt, HIGH_BASE + GB(5), MB(2), P4K, PTE_U), 0);
}

static void test_unmap_everything_frees_tables(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    build_mixed(&pt);
    check_tables(f, &pt);
    assert_true(pt.tables > 10);

    /* piecewise, in odd chunks */
    assert_int_equal(pt_unmap(&pt, 0x2000, P4K), 0);
    assert_int_equal(pt_unmap(&pt, GB(1) + MB(3), MB(5)), 0);
    check_tables(f, &pt);
    assert_int_equal(pt_unmap(&pt, 0, GB(4)), 0);
    check_tables(f, &pt);
    assert_int_equal(pt_unmap(&pt, GB(600) + P4K, P2M - P4K), 0);
    assert_int_equal(pt_unmap(&pt, GB(600), P4K), 0);
    check_tables(f, &pt);
    assert_int_equal(pt_unmap(&pt, HIGH_KERNEL + P4K, MB(4)), 0);
    assert_int_equal(pt_unmap(&pt, HIGH_BASE + GB(5), P4K), 0);
    check_tables(f, &pt);
    assert_int_equal(pt_unmap(&pt, HIGH_KERNEL, MB(6)), 0);
    assert_int_equal(pt.tables, 1);
    assert_int_equal(f->nlive, 1);
    check_tables(f, &pt);
    expect_unmapped(&pt, 0x1000);
    expect_unmapped(&pt, HIGH_KERNEL);

    /* again, with one unmap per half of the address space */
    build_mixed(&pt);
    assert_int_equal(pt_unmap(&pt, 0, LOW_TOP), 0);
    assert_int_equal(pt_unmap(&pt, HIGH_BASE, 0 - HIGH_BASE), 0);
    assert_int_equal(pt.tables, 1);
    assert_int_equal(f->nlive, 1);
    check_tables(f, &pt);
    expect_unmapped(&pt, GB(1));
    expect_unmapped(&pt, HIGH_KERNEL + MB(5));
    expect_unmapped(&pt, HIGH_BASE + GB(5));
    pt_done(f, &pt);
}

static void test_destroy_frees_all(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    build_mixed(&pt);
    assert_int_equal(pt_unmap(&pt, GB(1) + P4K, P4K), 0); /* a split too */
    check_tables(f, &pt);
    assert_true(f->nlive > 10);
    size_t mark = f->nev;
    pt_done(f, &pt); /* live count 0, each alloc freed once */
    assert_int_equal(count_flushes(f, mark), 0);
}

static void test_replace_small_pages_by_large(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, P2M, MB(64) + P4K, P2M, 0), 0);
    assert_int_equal(pt.tables, 4);
    uint64_t ptphys = raw_entry(f, &pt, P2M, 1) & PTE_ADDR_MASK;
    size_t mark = f->nev;

    assert_int_equal(pt_map(&pt, P2M, MB(64), P2M, PTE_W), 0);
    assert_int_equal(pt.tables, 3);
    assert_int_equal(f->nlive, 3);
    assert_false(f->live[ptphys / P4K - 1]);
    check_tables(f, &pt);
    expect_page(&pt, P2M + 0x1234, MB(64) + 0x1234, PTE_W, P2M);
    assert_true(flushed(f, mark, P2M, P2M));

    /* a PD holding 2M pages and a PT, replaced by one 1G page */
    assert_int_equal(pt_map(&pt, GB(1), GB(2) + P2M, P1G, 0), 0);
    assert_int_equal(pt_map(&pt, GB(1) + P2M, MB(4) + P4K, P4K, PTE_W), 0);
    assert_int_equal(pt.tables, 5);
    mark = f->nev;
    assert_int_equal(pt_map(&pt, GB(1), GB(2), P1G, PTE_NX), 0);
    assert_int_equal(pt.tables, 3);
    assert_int_equal(f->nlive, 3);
    assert_int_equal(count_kind(f, mark, EV_FREE), 2);
    check_tables(f, &pt);
    expect_page(&pt, GB(1) + P2M, GB(2) + P2M, PTE_NX, P1G);
    assert_true(flushed(f, mark, GB(1), P1G));
    pt_done(f, &pt);
}

static void test_map_over_partly_mapped_range_flushes_only_old(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, P2M, MB(40), 2 * P4K, PTE_W), 0);
    size_t mark = f->nev;
    /* [0,2M) is fresh; [2M,4M) replaces a PT holding two pages */
    assert_int_equal(pt_map(&pt, 0, MB(64), MB(4), 0), 0);
    assert_int_equal(pt.tables, 3);
    check_tables(f, &pt);
    expect_page(&pt, 0, MB(64), 0, P2M);
    expect_page(&pt, P2M + P4K, MB(66) + P4K, 0, P2M);
    assert_true(flushed(f, mark, P2M, 2 * P4K));
    expect_flushes_within(f, mark, P2M, P2M);
    pt_done(f, &pt);
}

/* A table page must not be freed while an entry still points at it or
 * before the TLB/paging-structure caches were flushed for the range it
 * served (SDM Vol. 3A 4.10.4: the caches may hold the entry even when the
 * table has no present entries). */
static void expect_flushed_unlinked_before_free(const struct fake *f, size_t mark, uint64_t phys, uint64_t va,
                                                 uint64_t len)
{
    if (!flushed_unlinked_before_free(f, mark, phys, va))
        fail_msg("table %#" PRIx64 " freed without an invalidation of %#" PRIx64 "+%#" PRIx64
                 " after it was unlinked",
                 phys, va, len);
}

static void test_table_freed_only_after_flush(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);

    /* replaced by a large page */
    assert_int_equal(pt_map(&pt, P2M, MB(64) + P4K, P2M, 0), 0);
    f->watch = raw_entry(f, &pt, P2M, 1) & PTE_ADDR_MASK;
    size_t mark = f->nev;
    assert_int_equal(pt_map(&pt, P2M, MB(64), P2M, 0), 0);
    expect_flushed_unlinked_before_free(f, mark, f->watch, P2M, P2M);

    /* removed by a whole-entry unmap */
    assert_int_equal(pt_map(&pt, GB(1), MB(64) + P4K, 2 * P4K, 0), 0);
    f->watch = raw_entry(f, &pt, GB(1), 1) & PTE_ADDR_MASK;
    mark = f->nev;
    assert_int_equal(pt_unmap(&pt, GB(1), P2M), 0);
    expect_flushed_unlinked_before_free(f, mark, f->watch, GB(1), P2M);

    /* emptied by a partial unmap */
    assert_int_equal(pt_map(&pt, GB(2), MB(64) + P4K, 2 * P4K, 0), 0);
    f->watch = raw_entry(f, &pt, GB(2), 1) & PTE_ADDR_MASK;
    mark = f->nev;
    assert_int_equal(pt_unmap(&pt, GB(2), 2 * P4K), 0);
    expect_flushed_unlinked_before_free(f, mark, f->watch, GB(2), 2 * P4K);
    check_tables(f, &pt);
    f->watch = 0;
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ permissions */

static void test_remap_changes_permissions(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, PTE_W), 0);
    assert_int_equal(pt_map(&pt, MB(10), MB(20), P4K, PTE_W), 0);

    size_t mark = f->nev;
    assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, 0), 0); /* W off */
    expect_page(&pt, MB(4) + 5, MB(8) + 5, 0, P2M);
    assert_int_equal(raw_entry(f, &pt, MB(4), 1) & PTE_W, 0);
    assert_true(flushed(f, mark, MB(4), P2M));

    mark = f->nev;
    assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, PTE_NX), 0); /* NX on */
    expect_page(&pt, MB(4), MB(8), PTE_NX, P2M);
    assert_int_equal(raw_entry(f, &pt, MB(4), 1) & PTE_NX, PTE_NX);
    assert_true(flushed(f, mark, MB(4), P2M));

    mark = f->nev;
    assert_int_equal(pt_map(&pt, MB(10), MB(20), P4K, PTE_NX), 0);
    expect_page(&pt, MB(10), MB(20), PTE_NX, P4K);
    assert_int_equal(raw_entry(f, &pt, MB(10), 0), MB(20) | PTE_P | PTE_NX);
    assert_true(flushed(f, mark, MB(10), P4K));

    /* every leaf flag passes through */
    assert_int_equal(pt_map(&pt, MB(10), MB(20), P4K, PTE_LEAF_FLAGS), 0);
    expect_page(&pt, MB(10), MB(20), PTE_LEAF_FLAGS, P4K);
    assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, PTE_LEAF_FLAGS), 0);
    expect_page(&pt, MB(4), MB(8), PTE_LEAF_FLAGS, P2M);
    assert_int_equal(pt.tables, 4);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_nx_mask_zero_drops_nx(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    struct pt_ops ops = make_ops(f, true, 0);
    pt_new_ops(f, &pt, &ops);
    assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, PTE_NX | PTE_W), 0);
    assert_int_equal(pt_map(&pt, MB(10), MB(20), P4K, PTE_NX), 0);
    expect_page(&pt, MB(4), MB(8), PTE_W, P2M);
    expect_page(&pt, MB(10), MB(20), 0, P4K);
    assert_int_equal(raw_entry(f, &pt, MB(4), 1) & PTE_NX, 0);
    assert_int_equal(raw_entry(f, &pt, MB(10), 0), MB(20) | PTE_P);
    /* a split of a large page keeps NX off too */
    assert_int_equal(pt_unmap(&pt, MB(4), P4K), 0);
    expect_page(&pt, MB(4) + P4K, MB(8) + P4K, PTE_W, P4K);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_bad_flags(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    static const uint64_t bad[] = {
        PTE_P, PTE_PS, PTE_A, PTE_D, 1ull << 9, 1ull << 11, 1ull << 12, 1ull << 52, 1ull << 62, PTE_W | PTE_PS,
    };
    size_t mark = f->nev;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, bad[i]), -PL_EINVAL);
        assert_int_equal(pt_map(&pt, MB(4), MB(8), P4K, bad[i]), -PL_EINVAL);
    }
    assert_int_equal(f->nev, mark);
    assert_int_equal(pt.tables, 1);
    expect_unmapped(&pt, MB(4));
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ arguments */

static void test_bad_arguments(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    size_t mark = f->nev;
    static const struct {
        uint64_t va, pa, len;
        bool range_bad; /* pt_unmap must refuse it too */
    } bad[] = {
        {0x1001, 0, P4K, true},                              /* unaligned va */
        {0x1800, 0, P4K, true},
        {0x1000, 0x1001, P4K, false},                        /* unaligned pa */
        {0x1000, 0x1000, 0x1001, true},                      /* unaligned len */
        {0x1000, 0x1000, 0x800, true},
        {0x1000, 0x1000, 0, true},                           /* empty */
        {LOW_TOP, 0, P4K, true},                             /* non-canonical */
        {0xFFFF000000000000ull, 0, P4K, true},
        {0x0123400000000000ull, 0, P2M, true},
        {LOW_TOP - P4K, 0, 2 * P4K, true},                   /* runs into the hole */
        {LOW_TOP - P2M, 0, LOW_TOP, true},
        {0, 0, HIGH_BASE + P4K, true},                       /* across the hole */
        {0xFFFFFFFFFFFFF000ull, 0, 2 * P4K, true},           /* wraps */
        {HIGH_KERNEL, 0, GB(2) + P4K, true},
        {P4K, 0, 0xFFFFFFFFFFFFF000ull, true},
        {0x1000, 1ull << 52, P4K, false},                    /* pa beyond 52 bits */
        {0x1000, (1ull << 52) - P4K, 2 * P4K, false},
        {0x1000, 0xFFFFFFFFFFFFF000ull, 2 * P4K, false},     /* pa wraps */
        {0x1000, 0xFFFFFFFFFFE00000ull, P2M + P4K, false},
        {0, 0xFFFFFFFFC0000000ull, P1G + P4K, false},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (pt_map(&pt, bad[i].va, bad[i].pa, bad[i].len, 0) != -PL_EINVAL)
            fail_msg("pt_map(%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ") accepted", bad[i].va, bad[i].pa, bad[i].len);
        if (bad[i].range_bad && pt_unmap(&pt, bad[i].va, bad[i].len) != -PL_EINVAL)
            fail_msg("pt_unmap(%#" PRIx64 ", %#" PRIx64 ") accepted", bad[i].va, bad[i].len);
    }
    assert_int_equal(f->nev, mark);
    assert_int_equal(pt.tables, 1);
    assert_int_equal(f->nlive, 1);

    /* the extremes that are valid */
    assert_int_equal(pt_map(&pt, LOW_TOP - P4K, (1ull << 52) - P4K, P4K, PTE_W), 0);
    expect_page(&pt, LOW_TOP - 1, (1ull << 52) - 1, PTE_W, P4K);
    assert_int_equal(pt_map(&pt, HIGH_BASE, 0, P4K, 0), 0);
    expect_page(&pt, HIGH_BASE, 0, 0, P4K);
    expect_unmapped(&pt, 0);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

static void test_high_half(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, HIGH_KERNEL, MB(16), P2M, PTE_W | PTE_G), 0);
    expect_page(&pt, HIGH_KERNEL + 0x1234, MB(16) + 0x1234, PTE_W | PTE_G, P2M);
    expect_unmapped(&pt, HIGH_KERNEL + P2M);
    expect_unmapped(&pt, HIGH_KERNEL & ((1ull << 47) - 1)); /* no low-half alias */
    expect_unmapped(&pt, MB(16));
    assert_int_equal(pt.tables, 3); /* root, PDPT, PD */
    assert_int_equal(raw_entry(f, &pt, HIGH_KERNEL, 1), MB(16) | PTE_P | PTE_W | PTE_G | PTE_PS);
    /* PML4 slot 511, PDPT slot 510 */
    const uint64_t *root = fake_table(f, pt.root);
    for (unsigned i = 0; i < 511; i++)
        assert_int_equal(root[i] & PTE_P, 0);
    assert_int_equal(root[511] & PTE_P, PTE_P);
    const uint64_t *pdpt = fake_table(f, root[511] & PTE_ADDR_MASK);
    assert_int_equal(pdpt[510] & PTE_P, PTE_P);
    assert_int_equal(pdpt[511] & PTE_P, 0);
    check_tables(f, &pt);
    assert_int_equal(pt_unmap(&pt, HIGH_KERNEL, P2M), 0);
    assert_int_equal(pt.tables, 1);
    pt_done(f, &pt);
}

/* The last pages of the address space: the range's end is 2^64, which
 * does not fit in 64 bits. */
static void test_high_half_to_top_of_address_space(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    /* the usual kernel window: the last 2 GiB */
    assert_int_equal(pt_map(&pt, HIGH_KERNEL, GB(4), GB(2), PTE_W), 0);
    expect_page(&pt, HIGH_KERNEL, GB(4), PTE_W, P1G);
    expect_page(&pt, ~0ull, GB(6) - 1, PTE_W, P1G);
    assert_int_equal(pt.tables, 2);
    check_tables(f, &pt);

    /* the last page alone, replacing part of a 1G page */
    size_t mark = f->nev;
    assert_int_equal(pt_map(&pt, 0xFFFFFFFFFFFFF000ull, MB(1), P4K, 0), 0);
    expect_page(&pt, 0xFFFFFFFFFFFFF000ull, MB(1), 0, P4K);
    expect_page(&pt, 0xFFFFFFFFFFFFE000ull, GB(6) - 2 * P4K, PTE_W, P4K);
    expect_page(&pt, 0xFFFFFFFFFFE00000ull - 1, GB(6) - P2M - 1, PTE_W, P2M);
    assert_int_equal(pt.tables, 4);
    assert_true(flushed(f, mark, 0xFFFFFFFFFFFFF000ull, P4K));
    check_tables(f, &pt);

    /* mixed sizes up to the top, then unmap to the top */
    assert_int_equal(pt_map(&pt, 0xFFFFFFFFFFC00000ull - P4K, MB(8) - P4K, MB(4) + P4K, PTE_NX), 0);
    expect_page(&pt, 0xFFFFFFFFFFC00000ull - P4K, MB(8) - P4K, PTE_NX, P4K);
    expect_page(&pt, 0xFFFFFFFFFFC00000ull, MB(8), PTE_NX, P2M);
    expect_page(&pt, ~0ull, MB(12) - 1, PTE_NX, P2M);
    check_tables(f, &pt);
    mark = f->nev;
    assert_int_equal(pt_unmap(&pt, HIGH_KERNEL + P1G, P1G), 0);
    expect_unmapped(&pt, ~0ull);
    expect_unmapped(&pt, HIGH_KERNEL + P1G);
    expect_page(&pt, HIGH_KERNEL + P1G - 1, GB(5) - 1, PTE_W, P1G);
    assert_true(flushed(f, mark, HIGH_KERNEL + P1G, P1G));
    assert_int_equal(pt.tables, 2);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ out of memory */

static void test_enomem_midway(void **state)
{
    struct fake *f = *state;
    /* [0, 8M) in 4K pages: PDPT, PD, 4 PTs after the root */
    uint64_t pa = GB(1) + P4K;
    for (long k = 0; k < 6; k++) {
        struct pt pt;
        pt_new(f, &pt, true);
        f->allocs_left = k;
        assert_int_equal(pt_map(&pt, 0, pa, MB(8), PTE_W), -PL_ENOMEM);
        f->allocs_left = -1;
        check_tables_ex(f, &pt, true);
        /* whatever got mapped is mapped right */
        for (uint64_t va = 0; va < MB(8); va += P4K) {
            uint64_t got, fl, sz;
            if (pt_lookup(&pt, va, &got, &fl, &sz)) {
                assert_int_equal(got, pa + va);
                assert_int_equal(fl, PTE_W);
                assert_int_equal(sz, P4K);
            }
        }
        /* retrying with memory completes the job */
        assert_int_equal(pt_map(&pt, 0, pa, MB(8), PTE_W), 0);
        for (uint64_t va = 0; va < MB(8); va += P4K)
            expect_page(&pt, va, pa + va, PTE_W, P4K);
        check_tables(f, &pt);
        pt_done(f, &pt);
    }
}

/* Fail at every possible point of a map that splits, replaces and creates
 * tables, and of an unmap that splits. */
static void test_enomem_every_point(void **state)
{
    struct fake *f = *state;
    bool done_map = false, done_unmap = false;
    for (long k = 0; k < 32 && !(done_map && done_unmap); k++) {
        struct pt pt;
        pt_new(f, &pt, true);
        assert_int_equal(pt_map(&pt, GB(1), GB(4), P1G, PTE_W), 0);
        assert_int_equal(pt_map(&pt, GB(2) + P2M, MB(4) + P4K, P4K, 0), 0);
        check_tables(f, &pt);

        f->allocs_left = k;
        /* splits the 1G page at the start, creates tables at the end */
        int rc = pt_map(&pt, GB(2) - P2M - P4K, MB(64) - P4K, 2 * P2M + 2 * P4K, PTE_NX);
        f->allocs_left = -1;
        if (rc == 0) {
            done_map = true;
            expect_page(&pt, GB(2) - P2M - P4K, MB(64) - P4K, PTE_NX, P4K);
            expect_page(&pt, GB(2) - P2M, MB(64), PTE_NX, P2M);
            expect_page(&pt, GB(2), MB(64) + P2M, PTE_NX, P2M);
            expect_page(&pt, GB(2) + P2M, MB(64) + 2 * P2M, PTE_NX, P4K);
            expect_page(&pt, GB(2) - P2M - 2 * P4K, GB(5) - P2M - 2 * P4K, PTE_W, P4K);
            check_tables(f, &pt);
        } else {
            assert_int_equal(rc, -PL_ENOMEM);
            check_tables_ex(f, &pt, true);
            /* outside the range nothing changed (page sizes may have) */
            expect_translation(&pt, GB(1), GB(4), PTE_W);
            expect_translation(&pt, GB(2) - P2M - 2 * P4K, GB(5) - P2M - 2 * P4K, PTE_W);
            expect_unmapped(&pt, GB(2) + P2M + P4K);
        }

        f->allocs_left = k;
        rc = pt_unmap(&pt, GB(1) + 3 * P4K, P4K);
        f->allocs_left = -1;
        if (rc == 0) {
            done_unmap = true;
            expect_unmapped(&pt, GB(1) + 3 * P4K);
            expect_page(&pt, GB(1) + 2 * P4K, GB(4) + 2 * P4K, PTE_W, P4K);
            expect_page(&pt, GB(1) + P2M, GB(4) + P2M, PTE_W, P2M);
        } else {
            assert_int_equal(rc, -PL_ENOMEM);
            /* the failed split left the translation intact */
            expect_translation(&pt, GB(1) + 3 * P4K, GB(4) + 3 * P4K, PTE_W);
        }
        check_tables_ex(f, &pt, true);
        pt_done(f, &pt);
    }
    assert_true(done_map);
    assert_true(done_unmap);
}

static void test_enomem_split_leaves_large_page_intact(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    assert_int_equal(pt_map(&pt, MB(4), MB(8), P2M, PTE_W), 0);
    size_t mark = f->nev;
    f->allocs_left = 0;
    assert_int_equal(pt_unmap(&pt, MB(4) + P4K, P4K), -PL_ENOMEM);
    assert_int_equal(pt_map(&pt, MB(4) + P4K, MB(1), P4K, 0), -PL_ENOMEM);
    f->allocs_left = -1;
    assert_int_equal(count_flushes(f, mark), 0);
    assert_int_equal(pt.tables, 3);
    check_tables(f, &pt);
    for (uint64_t v = MB(4); v < MB(6); v += P2M / 8)
        expect_page(&pt, v, MB(8) + (v - MB(4)), PTE_W, P2M);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ misc */

static void test_null_flush(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    struct pt_ops ops = make_ops(f, true, PTE_NX);
    ops.flush = NULL;
    pt_new_ops(f, &pt, &ops);
    build_mixed(&pt);
    assert_int_equal(pt_map(&pt, GB(1) + P4K, MB(1), P4K, PTE_W), 0);
    assert_int_equal(pt_map(&pt, 0, 0, P2M, 0), 0);
    assert_int_equal(pt_unmap(&pt, HIGH_KERNEL + P4K, P4K), 0);
    expect_page(&pt, GB(1) + P4K, MB(1), PTE_W, P4K);
    expect_page(&pt, 0x1000, 0x1000, 0, P2M);
    expect_unmapped(&pt, HIGH_KERNEL + P4K);
    assert_int_equal(count_flushes(f, 0), 0);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

/* ------------------------------------------------------------------ randomised against a model */

static void test_random_against_model(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    struct model *m = model_new();

    for (int step = 0; step < 400; step++) {
        uint64_t s, n;
        model_pick(&s, &n);
        uint64_t va = MODEL_BASE + s * P4K, len = n * P4K;
        bool map = rnd() % 5 < 3;
        uint64_t pa = 0, flags = 0;
        if (map) {
            pa = rnd() % 3 ? P2M * (1 + rnd() % 256) + (va & (P2M - 1)) : P4K * (1 + rnd() % 100000);
            flags = rnd() & PTE_LEAF_FLAGS;
        }

        f->nev = 0;
        int rc = map ? pt_map(&pt, va, pa, len, flags) : pt_unmap(&pt, va, len);
        assert_int_equal(rc, 0);

        bool any_old = false;
        for (uint64_t i = s; i < s + n; i++) {
            if (m->on[i]) {
                any_old = true;
                if (!flushed(f, 0, MODEL_BASE + i * P4K, P4K))
                    fail_msg("step %d: old translation of %#" PRIx64 " not flushed", step, MODEL_BASE + i * P4K);
            }
            m->on[i] = map;
            m->pa[i] = pa + (i - s) * P4K;
            m->fl[i] = flags;
        }
        if (!any_old)
            assert_int_equal(count_flushes(f, 0), 0);

        /* the pages just mapped have the largest size that fits */
        for (uint64_t i = s; map && i < s + n; i++) {
            uint64_t v = MODEL_BASE + i * P4K, got, fl, sz;
            assert_true(pt_lookup(&pt, v + 0x123, &got, &fl, &sz));
            assert_int_equal(sz, expected_size(v, va, pa, len, true));
        }
        expect_model(f, &pt, m);
    }

    model_done(f, &pt, m);
}

/* ------------------------------------------------------------------ protect and merge (x86-64 format) */

static void test_protect_x86_64(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    pt_new(f, &pt, true);
    uint64_t va = MB(4), pa = MB(8);
    assert_int_equal(pt_map(&pt, va, pa, P2M, PTE_W | PTE_G | PTE_PCD), 0);
    size_t mark = f->nev;

    /* W, U and NX are replaced; G and the cache bits stay */
    uint64_t hit = va + 3 * P4K;
    assert_int_equal(pt_protect(&pt, hit, P4K, PTE_NX), 0);
    assert_int_equal(pt.tables, 4);
    assert_int_equal(raw_entry(f, &pt, hit, 0), (pa + 3 * P4K) | PTE_P | PTE_NX | PTE_G | PTE_PCD);
    expect_page(&pt, hit - P4K, pa + 2 * P4K, PTE_W | PTE_G | PTE_PCD, P4K);
    assert_true(flushed(f, mark, hit, P4K));
    expect_flushes_within(f, mark, hit, P4K);

    /* any change flushes here, granting too; merge is off by default */
    mark = f->nev;
    assert_int_equal(pt_protect(&pt, hit, P4K, PTE_W), 0);
    expect_page(&pt, hit, pa + 3 * P4K, PTE_W | PTE_G | PTE_PCD, P4K);
    assert_true(flushed(f, mark, hit, P4K));
    assert_int_equal(pt.tables, 4);

    /* an unchanged page is neither split nor flushed; holes are skipped */
    assert_int_equal(pt_map(&pt, GB(1), GB(2), P1G, PTE_U), 0);
    mark = f->nev;
    assert_int_equal(pt_protect(&pt, GB(1) + P2M, P4K, PTE_U), 0);
    assert_int_equal(pt_protect(&pt, GB(3), GB(1), PTE_U), 0);
    assert_int_equal(f->nev, mark);
    assert_int_equal(pt.tables, 4);

    /* flags outside W|U|NX are refused; NX is dropped when nx_mask is 0 */
    static const uint64_t bad[] = {PTE_G, PTE_PCD, PTE_PWT, PTE_P, PTE_PS, 1ull << 9};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(pt_protect(&pt, va, P2M, bad[i]), -PL_EINVAL);
    assert_int_equal(pt_protect(&pt, 0x1000, P4K + 1, 0), -PL_EINVAL);
    assert_int_equal(f->nev, mark);
    check_tables(f, &pt);
    pt_done(f, &pt);

    struct pt_ops ops = make_ops(f, true, 0);
    pt_new_ops(f, &pt, &ops);
    assert_int_equal(pt_map(&pt, 0, MB(8), P4K, PTE_W), 0);
    assert_int_equal(pt_protect(&pt, 0, P4K, PTE_NX), 0);
    expect_page(&pt, 0, MB(8), 0, P4K);
    pt_done(f, &pt);
}

static void test_merge_x86_64_when_enabled(void **state)
{
    struct fake *f = *state;
    struct pt pt;
    struct pt_ops ops = make_ops(f, true, PTE_NX);
    ops.merge = true;
    pt_new_ops(f, &pt, &ops);
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        assert_int_equal(pt_map(&pt, HIGH_KERNEL + i * P4K, MB(64) + i * P4K, P4K, PTE_W | PTE_G), 0);
    assert_int_equal(pt.tables, 3);
    assert_int_equal(raw_entry(f, &pt, HIGH_KERNEL, 1), MB(64) | PTE_P | PTE_W | PTE_G | PTE_PS);
    expect_page(&pt, HIGH_KERNEL + P2M - 1, MB(66) - 1, PTE_W | PTE_G, P2M);
    /* protect splits; protecting back merges again */
    assert_int_equal(pt_protect(&pt, HIGH_KERNEL, P4K, PTE_NX), 0);
    assert_int_equal(pt.tables, 4);
    assert_int_equal(pt_protect(&pt, HIGH_KERNEL, P4K, PTE_W), 0);
    assert_int_equal(pt.tables, 3);
    expect_page(&pt, HIGH_KERNEL, MB(64), PTE_W | PTE_G, P2M);
    check_tables(f, &pt);
    pt_done(f, &pt);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_init_and_destroy_empty),
        T(test_init_enomem),
        T(test_map_4k_lookup),
        T(test_lookup_unmapped_and_noncanonical),
        T(test_2m_leaf),
        T(test_1g_leaf_when_allowed),
        T(test_1g_range_without_1g_support),
        T(test_1g_range_with_unaligned_pa_uses_2m),
        T(test_misaligned_pa_forces_4k),
        T(test_mixed_sizes_2m),
        T(test_mixed_sizes_1g),
        T(test_table_accounting),
        T(test_split_on_partial_remap),
        T(test_split_1g_on_partial_remap),
        T(test_split_on_partial_unmap),
        T(test_unmap_straddling_2m_boundary),
        T(test_unmap_whole_large_pages_no_split),
        T(test_unmap_holes_is_fine),
        T(test_unmap_everything_frees_tables),
        T(test_destroy_frees_all),
        T(test_replace_small_pages_by_large),
        T(test_map_over_partly_mapped_range_flushes_only_old),
        T(test_table_freed_only_after_flush),
        T(test_remap_changes_permissions),
        T(test_nx_mask_zero_drops_nx),
        T(test_bad_flags),
        T(test_bad_arguments),
        T(test_high_half),
        T(test_high_half_to_top_of_address_space),
        T(test_enomem_midway),
        T(test_enomem_every_point),
        T(test_enomem_split_leaves_large_page_intact),
        T(test_null_flush),
        T(test_random_against_model),
        T(test_protect_x86_64),
        T(test_merge_x86_64_when_enabled),
    };
    return cmocka_run_group_tests_name("pagetable", tests, NULL, NULL);
}
