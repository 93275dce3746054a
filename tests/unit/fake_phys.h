/* Fake physical memory for the page-table builder's host tests
 * (test_pagetable.c: PT_FORMAT_X86_64; test_ept_npt.c: PT_FORMAT_EPT and
 * PT_FORMAT_NPT), with the pt_ops hooks, fixtures and the checks on
 * tables, lookups and flushes that do not depend on a test's format.
 *
 * Table page i lives at pool + i * 4 KiB and has "physical address"
 * (i + 1) * 4 KiB, so 0 never names a table. Every alloc, free and flush is
 * appended to an event log so tests can check what was flushed, and in which
 * order relative to frees.
 *
 * What differs between the entry formats (which entries are present, which
 * are large leaves, what a table entry holds besides its address) follows
 * struct fake's format field, PT_FORMAT_X86_64 unless the test's initial
 * state names another (see fx_setup).
 *
 * Each test defines check_entry and check_table (its format's checks on
 * entries and tables behind check_tables), declared below. Static functions
 * in a header: test code, included once per test binary. */
#ifndef PLINTH_TESTS_UNIT_FAKE_PHYS_H
#define PLINTH_TESTS_UNIT_FAKE_PHYS_H

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

#define KB(x) ((uint64_t)(x) << 10)
#define MB(x) ((uint64_t)(x) << 20)
#define GB(x) ((uint64_t)(x) << 30)
#define P4K PT_PAGE_4K
#define P2M PT_PAGE_2M
#define P1G PT_PAGE_1G
#define LVL_SIZE(l) (1ull << (12 + 9 * (l)))

#define POOL_PAGES 1024
#define MAX_EVENTS 65536

enum ev_kind { EV_ALLOC, EV_FREE, EV_FLUSH };

struct event {
    enum ev_kind kind;
    uint64_t a, b;     /* alloc/free: phys; flush: va, len */
    bool watch_linked; /* flush: was the watched table still linked in */
};

struct fake {
    enum pt_entry_format format; /* from the test's initial state; X86_64 by default */
    uint8_t *pool;
    bool live[POOL_PAGES];
    size_t nlive;
    size_t nallocs, nfrees; /* totals, never reset */
    size_t cursor;          /* next-fit, so freed pages are not reused at once */
    long allocs_left;       /* -1: unlimited */
    const struct pt *pt;    /* for watch checks in flush */
    uint64_t watch;         /* a table phys whose linkage flushes record */
    struct event ev[MAX_EVENTS];
    size_t nev;
};

/* ------------------------------------------------------------------ the entry format */

static inline bool is_ept(const struct fake *f) { return f->format == PT_FORMAT_EPT; }

/* SDM Vol. 3C 29.3.2: an EPT entry is present when any of R, W, X is set;
 * x86-64 and NPT entries (SDM Vol. 3A 4.5, APM Vol. 2 15.25.5) when P is */
static inline uint64_t present_mask(const struct fake *f) { return is_ept(f) ? (EPT_R | EPT_W | EPT_X) : PTE_P; }
static inline bool ent_present(const struct fake *f, uint64_t e) { return (e & present_mask(f)) != 0; }
static inline uint64_t large_bit(const struct fake *f) { return is_ept(f) ? EPT_LARGE : PTE_PS; }
static inline bool ent_leaf(const struct fake *f, uint64_t e, int level) { return level == 0 || (e & large_bit(f)); }
/* what a table entry holds besides its address: EPT R|W|X, x86-64/NPT P|W|U */
static inline uint64_t table_bits(const struct fake *f)
{
    return is_ept(f) ? (EPT_R | EPT_W | EPT_X) : (PTE_P | PTE_W | PTE_U);
}

/* ------------------------------------------------------------------ the pool and the pt_ops hooks */

static void log_event(struct fake *f, enum ev_kind kind, uint64_t a, uint64_t b, bool linked)
{
    if (f->nev == MAX_EVENTS)
        fail_msg("event log full");
    f->ev[f->nev++] = (struct event){kind, a, b, linked};
}

static size_t phys_index(const struct fake *f, uint64_t phys)
{
    if (phys == 0 || phys % P4K || phys / P4K > POOL_PAGES)
        fail_msg("not a table address: %#" PRIx64, phys);
    size_t i = phys / P4K - 1;
    if (!f->live[i])
        fail_msg("table %#" PRIx64 " is not live", phys);
    return i;
}

static uint64_t fake_alloc(void *ctx)
{
    struct fake *f = ctx;
    if (f->allocs_left == 0)
        return 0;
    for (size_t n = 0; n < POOL_PAGES; n++) {
        size_t i = (f->cursor + n) % POOL_PAGES;
        if (f->live[i])
            continue;
        f->live[i] = true;
        f->nlive++;
        f->nallocs++;
        f->cursor = i + 1;
        if (f->allocs_left > 0)
            f->allocs_left--;
        memset(f->pool + i * P4K, 0, P4K);
        uint64_t phys = (i + 1) * P4K;
        log_event(f, EV_ALLOC, phys, 0, false);
        return phys;
    }
    fail_msg("fake table pool exhausted");
    return 0;
}

static void fake_free(void *ctx, uint64_t phys)
{
    struct fake *f = ctx;
    size_t i = phys_index(f, phys); /* fails on a bad or double free */
    f->live[i] = false;
    f->nlive--;
    f->nfrees++;
    memset(f->pool + i * P4K, 0xA5, P4K); /* stale reads see garbage */
    log_event(f, EV_FREE, phys, 0, false);
}

static uint64_t *fake_table(void *ctx, uint64_t phys)
{
    struct fake *f = ctx;
    return (uint64_t *)(void *)(f->pool + phys_index(f, phys) * P4K);
}

static bool tree_links(struct fake *f, uint64_t tphys, int level, uint64_t target)
{
    if (level == 0)
        return false;
    const uint64_t *t = fake_table(f, tphys);
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t e = t[i];
        if (!ent_present(f, e) || ent_leaf(f, e, level))
            continue;
        if ((e & PTE_ADDR_MASK) == target || tree_links(f, e & PTE_ADDR_MASK, level - 1, target))
            return true;
    }
    return false;
}

static void fake_flush(void *ctx, uint64_t va, uint64_t len)
{
    struct fake *f = ctx;
    assert_true(len > 0);
    assert_int_equal(va % P4K, 0);
    assert_int_equal(len % P4K, 0);
    bool linked = f->watch && f->pt && tree_links(f, f->pt->root, 3, f->watch);
    log_event(f, EV_FLUSH, va, len, linked);
}

/* ------------------------------------------------------------------ fixtures */

/* The initial state, when given, points at the enum pt_entry_format to use. */
static int fx_setup(void **state)
{
    enum pt_entry_format format = *state ? *(const enum pt_entry_format *)*state : PT_FORMAT_X86_64;
    struct fake *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->pool = aligned_alloc(P4K, POOL_PAGES * P4K);
    if (!f->pool) {
        free(f);
        return -1;
    }
    memset(f->pool, 0xA5, POOL_PAGES * P4K);
    f->allocs_left = -1;
    f->format = format;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fake *f = *state;
    free(f->pool);
    free(f);
    return 0;
}

/* pt_ops on the fake in its format, NX in leaves where the format has it
 * (nx_mask means nothing to EPT); tests adjust the rest. */
static struct pt_ops fake_ops(struct fake *f, bool allow_1g)
{
    return (struct pt_ops){
        .alloc_table = fake_alloc,
        .free_table = fake_free,
        .table_ptr = fake_table,
        .flush = fake_flush,
        .ctx = f,
        .allow_1g = allow_1g,
        .nx_mask = is_ept(f) ? 0 : PTE_NX,
        .format = f->format,
    };
}

static void pt_new_ops(struct fake *f, struct pt *pt, const struct pt_ops *ops)
{
    size_t before = f->nlive;
    assert_int_equal(pt_init(pt, ops), 0);
    assert_int_not_equal(pt->root, 0);
    assert_int_equal(pt->tables, 1);
    assert_int_equal(f->nlive, before + 1);
    f->pt = pt;
}

static void pt_done(struct fake *f, struct pt *pt)
{
    pt_destroy(pt);
    assert_int_equal(pt->root, 0);
    assert_int_equal(f->nlive, 0);
    assert_int_equal(f->nallocs, f->nfrees);
    f->pt = NULL;
}

/* ------------------------------------------------------------------ tables */

/* Defined by each test, for its format: the checks on entry e of a table
 * of level-`level` entries (every entry, present or not, before the walk
 * goes below it), and on a non-root table t once it has been walked. */
static void check_entry(struct fake *f, const struct pt *pt, uint64_t e, int level);
static void check_table(struct fake *f, const struct pt *pt, const uint64_t *t, int level);

/* Count the tables reachable from tphys (a table of level-`level` entries)
 * and check each entry's shape. Non-root tables must hold something unless
 * allow_empty (a failed pt_map may leave an empty table behind). */
static size_t count_tree(struct fake *f, const struct pt *pt, uint64_t tphys, int level, bool root, bool allow_empty)
{
    const uint64_t *t = fake_table(f, tphys);
    size_t n = 1;
    bool any = false;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t e = t[i];
        bool present = ent_present(f, e), leaf = present && ent_leaf(f, e, level);
        if (leaf) {
            assert_true(level <= 2);
            if (level == 2)
                assert_true(pt->ops.allow_1g);
            /* a large page's frame must be aligned to its size */
            assert_int_equal((e & PTE_ADDR_MASK) % LVL_SIZE(level), 0);
        }
        check_entry(f, pt, e, level);
        any |= present;
        if (present && !leaf)
            n += count_tree(f, pt, e & PTE_ADDR_MASK, level - 1, false, allow_empty);
    }
    if (!root && !allow_empty)
        assert_true(any);
    if (!root)
        check_table(f, pt, t, level);
    return n;
}

static void check_tables_ex(struct fake *f, const struct pt *pt, bool allow_empty)
{
    assert_int_equal(pt->tables, f->nlive);
    assert_int_equal(count_tree(f, pt, pt->root, 3, true, allow_empty), f->nlive);
}

static void check_tables(struct fake *f, const struct pt *pt) { check_tables_ex(f, pt, false); }

/* The raw entry for va at level, or 0 when the walk stops above it. */
static uint64_t raw_entry(struct fake *f, const struct pt *pt, uint64_t va, int level)
{
    uint64_t tphys = pt->root;
    for (int l = 3;; l--) {
        uint64_t e = fake_table(f, tphys)[(va >> (12 + 9 * l)) & 511];
        if (l == level)
            return e;
        if (!ent_present(f, e) || ent_leaf(f, e, l))
            return 0;
        tphys = e & PTE_ADDR_MASK;
    }
}

/* ------------------------------------------------------------------ lookups */

static void expect_page(const struct pt *pt, uint64_t va, uint64_t pa, uint64_t flags, uint64_t size)
{
    uint64_t got_pa = 0, got_flags = 0, got_size = 0;
    if (!pt_lookup(pt, va, &got_pa, &got_flags, &got_size))
        fail_msg("va %#" PRIx64 " is not mapped", va);
    assert_int_equal(got_pa, pa);
    assert_int_equal(got_flags, flags);
    assert_int_equal(got_size, size);
}

static void expect_unmapped(const struct pt *pt, uint64_t va)
{
    uint64_t pa, flags, size;
    if (pt_lookup(pt, va, &pa, &flags, &size))
        fail_msg("va %#" PRIx64 " is mapped to %#" PRIx64, va, pa);
}

/* ------------------------------------------------------------------ the event log */

static size_t count_kind(const struct fake *f, size_t from, enum ev_kind kind)
{
    size_t n = 0;
    for (size_t i = from; i < f->nev; i++)
        n += f->ev[i].kind == kind;
    return n;
}

static size_t count_flushes(const struct fake *f, size_t from) { return count_kind(f, from, EV_FLUSH); }

/* Whether the flushes in events [from, to) together cover [va, va+len). */
static bool flushed_between(const struct fake *f, size_t from, size_t to, uint64_t va, uint64_t len)
{
    uint64_t cur = va, last = va + len - 1;
    for (;;) {
        bool advanced = false;
        for (size_t i = from; i < to; i++) {
            const struct event *e = &f->ev[i];
            if (e->kind != EV_FLUSH)
                continue;
            uint64_t e_last = e->a + e->b - 1;
            if (e->a <= cur && cur <= e_last) {
                if (e_last >= last)
                    return true;
                cur = e_last + 1;
                advanced = true;
            }
        }
        if (!advanced)
            return false;
    }
}

static bool flushed(const struct fake *f, size_t from, uint64_t va, uint64_t len)
{
    return flushed_between(f, from, f->nev, va, len);
}

/* Every flush since `from` lies inside [va, va+len). */
static void expect_flushes_within(const struct fake *f, size_t from, uint64_t va, uint64_t len)
{
    for (size_t i = from; i < f->nev; i++) {
        const struct event *e = &f->ev[i];
        if (e->kind != EV_FLUSH)
            continue;
        assert_true(e->a >= va);
        assert_true(e->a + e->b - 1 <= va + len - 1);
    }
}

/* Whether, since `mark`, the table at phys was freed, and before that a
 * flush covering va happened while it was no longer linked in (f->watch
 * must name it while the events are logged). Fails when it was not freed. */
static bool flushed_unlinked_before_free(const struct fake *f, size_t mark, uint64_t phys, uint64_t va)
{
    size_t freed = SIZE_MAX;
    for (size_t i = mark; i < f->nev; i++)
        if (f->ev[i].kind == EV_FREE && f->ev[i].a == phys)
            freed = i;
    assert_true(freed != SIZE_MAX);
    bool ok = false;
    for (size_t i = mark; i < freed; i++) {
        const struct event *e = &f->ev[i];
        if (e->kind == EV_FLUSH && !e->watch_linked && e->a <= va && va <= e->a + e->b - 1)
            ok = true;
    }
    return ok;
}

/* ------------------------------------------------------------------ randomised against a model */

/* xorshift64, the same sequence in every run */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A model of the pages [MODEL_BASE, MODEL_BASE + MODEL_PAGES * 4 KiB): what
 * each should translate to after the random steps so far. */
#define MODEL_BASE (GB(1) - MB(4)) /* straddles a PDPT entry boundary */
#define MODEL_PAGES 2048           /* 8 MiB */

struct model {
    bool on[MODEL_PAGES];
    uint64_t pa[MODEL_PAGES];
    uint64_t fl[MODEL_PAGES];
};

static struct model *model_new(void)
{
    struct model *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    return m;
}

/* A random run of model pages [*s, *s + *n): often 2 MiB-aligned; a few
 * pages, one to three 2 MiB, or up to the whole model. */
static void model_pick(uint64_t *s, uint64_t *n)
{
    *s = rnd() % 2 ? (rnd() % 4) * 512 : rnd() % MODEL_PAGES;
    switch (rnd() % 3) {
    case 0: *n = 1 + rnd() % 8; break;
    case 1: *n = 512 * (1 + rnd() % 3); break;
    default: *n = 1 + rnd() % MODEL_PAGES; break;
    }
    if (*n > MODEL_PAGES - *s)
        *n = MODEL_PAGES - *s;
}

/* Every model page translates as the model says, the pages either side of
 * it are unmapped, and the tables check out. */
static void expect_model(struct fake *f, const struct pt *pt, const struct model *m)
{
    for (uint64_t i = 0; i < MODEL_PAGES; i++) {
        uint64_t v = MODEL_BASE + i * P4K;
        if (!m->on[i]) {
            expect_unmapped(pt, v);
            continue;
        }
        uint64_t got, fl, sz;
        assert_true(pt_lookup(pt, v + 0x123, &got, &fl, &sz));
        assert_int_equal(got, m->pa[i] + 0x123);
        assert_int_equal(fl, m->fl[i]);
    }
    expect_unmapped(pt, MODEL_BASE - P4K);
    expect_unmapped(pt, MODEL_BASE + MODEL_PAGES * P4K);
    check_tables(f, pt);
}

/* Unmapping the whole model leaves only the root; then free m and pt. */
static void model_done(struct fake *f, struct pt *pt, struct model *m)
{
    assert_int_equal(pt_unmap(pt, MODEL_BASE, MODEL_PAGES * P4K), 0);
    assert_int_equal(pt->tables, 1);
    check_tables(f, pt);
    free(m);
    f->nev = 0;
    pt_done(f, pt);
}

#endif /* PLINTH_TESTS_UNIT_FAKE_PHYS_H */
