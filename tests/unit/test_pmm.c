#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hv/pmm.h"
#include "plinth/errno.h"

#define KB(x) ((uint64_t)(x) << 10)
#define MB(x) ((uint64_t)(x) << 20)
#define GB(x) ((uint64_t)(x) << 30)

/* Metadata is malloc'ed at exactly pmm_metadata_bytes(), so ASan catches any
 * access outside the layout. */
struct fx {
    struct pmm p;
    void *meta;
};

static void fx_init(struct fx *f, uint64_t limit)
{
    size_t n = pmm_metadata_bytes(limit);
    assert_true(n > 0);
    f->meta = malloc(n);
    assert_non_null(f->meta);
    assert_int_equal(pmm_init(&f->p, f->meta, n, limit), 0);
}

static void fx_fini(struct fx *f)
{
    free(f->meta);
}

static struct pmm_stats stats(const struct pmm *p)
{
    struct pmm_stats s;
    pmm_get_stats(p, &s);
    return s;
}

static void assert_stats_equal(const struct pmm_stats *a, const struct pmm_stats *b)
{
    assert_int_equal(a->managed_frames, b->managed_frames);
    assert_int_equal(a->free_frames, b->free_frames);
    assert_int_equal(a->alloc_4k, b->alloc_4k);
    assert_int_equal(a->alloc_2m, b->alloc_2m);
    assert_int_equal(a->free_large, b->free_large);
}

/* Recount free frames and wholly free chunks through the public interface
 * and compare with the stats. */
static void check_consistent(const struct pmm *p, uint64_t limit)
{
    struct pmm_stats s = stats(p);
    uint64_t nfree = 0, nlarge = 0;
    for (uint64_t c = 0; c < limit / PMM_LARGE_SIZE; c++) {
        uint64_t in_chunk = 0;
        for (uint64_t i = 0; i < PMM_FRAMES_PER_LARGE; i++)
            in_chunk += pmm_is_free(p, c * PMM_LARGE_SIZE + i * PMM_PAGE_SIZE);
        nfree += in_chunk;
        nlarge += in_chunk == PMM_FRAMES_PER_LARGE;
    }
    assert_int_equal(s.free_frames, nfree);
    assert_int_equal(s.free_large, nlarge);
    assert_int_equal(s.managed_frames, s.free_frames + s.alloc_4k + PMM_FRAMES_PER_LARGE * s.alloc_2m);
}

static void test_init_all_reserved(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MB(16));
    struct pmm_stats s = stats(&f.p);
    assert_int_equal(s.managed_frames, 0);
    assert_int_equal(s.free_frames, 0);
    assert_int_equal(s.alloc_4k, 0);
    assert_int_equal(s.alloc_2m, 0);
    assert_int_equal(s.free_large, 0);
    for (uint64_t a = 0; a < MB(16); a += PMM_PAGE_SIZE)
        assert_false(pmm_is_free(&f.p, a));
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME), PMM_NO_FRAME);
    assert_int_equal(pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME), PMM_NO_FRAME);
    fx_fini(&f);
}

static void test_init_rejects(void **state)
{
    (void)state;
    struct pmm p;
    size_t n = pmm_metadata_bytes(MB(4));
    uint64_t *buf = malloc(n + 8);
    assert_non_null(buf);
    assert_int_equal(pmm_init(&p, NULL, n, MB(4)), -PL_EINVAL);
    assert_int_equal(pmm_init(&p, (char *)buf + 4, n, MB(4)), -PL_EINVAL);
    assert_int_equal(pmm_init(&p, buf, n - 1, MB(4)), -PL_EINVAL);
    assert_int_equal(pmm_init(&p, buf, n, 0), -PL_EINVAL);
    assert_int_equal(pmm_init(&p, buf, n, MB(4)), 0);
    free(buf);

    /* The limit is rounded up to 2 MiB; metadata grows with it. */
    assert_int_equal(pmm_metadata_bytes(MB(3)), pmm_metadata_bytes(MB(4)));
    assert_true(pmm_metadata_bytes(MB(6)) > pmm_metadata_bytes(MB(4)));
    struct fx f;
    fx_init(&f, MB(3));
    assert_int_equal(f.p.limit, MB(4));
    assert_int_equal(pmm_add_free(&f.p, 0, MB(4)), 1024);
    assert_int_equal(stats(&f.p).free_large, 2);
    check_consistent(&f.p, MB(4));
    fx_fini(&f);
}

static void test_add_free_shrinks_inward(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MB(8));
    /* [0x1800, 0x4800) holds whole frames 0x2000 and 0x3000 only. */
    assert_int_equal(pmm_add_free(&f.p, 0x1800, 0x3000), 2);
    assert_false(pmm_is_free(&f.p, 0x1000));
    assert_true(pmm_is_free(&f.p, 0x2000));
    assert_true(pmm_is_free(&f.p, 0x3000));
    assert_false(pmm_is_free(&f.p, 0x4000));
    struct pmm_stats s = stats(&f.p);
    assert_int_equal(s.managed_frames, 2);
    assert_int_equal(s.free_frames, 2);
    assert_int_equal(s.free_large, 0);

    /* Adding again (or overlapping) does not count twice. */
    assert_int_equal(pmm_add_free(&f.p, 0x2000, 0x2000), 0);
    assert_int_equal(pmm_add_free(&f.p, 0x2000, 0x3000), 1);
    assert_int_equal(stats(&f.p).managed_frames, 3);
    /* Less than a whole frame inside: nothing. Empty range: nothing. */
    assert_int_equal(pmm_add_free(&f.p, 0x10001, 0xffe), 0);
    assert_int_equal(pmm_add_free(&f.p, 0x10000, 0), 0);
    assert_false(pmm_is_free(&f.p, 0x10000));
    /* Clipped at the limit, and beyond the limit ignored. */
    assert_int_equal(pmm_add_free(&f.p, MB(8) - 0x2000, MB(1)), 2);
    assert_int_equal(pmm_add_free(&f.p, MB(8), MB(1)), 0);
    assert_int_equal(pmm_add_free(&f.p, UINT64_MAX - 0x800, 0x1000), 0);
    assert_false(pmm_is_free(&f.p, MB(8)));
    /* A length that overflows base + len is clipped, not wrapped. */
    assert_int_equal(pmm_add_free(&f.p, MB(7), UINT64_MAX), 256 - 2);
    assert_true(pmm_is_free(&f.p, MB(7)));
    assert_false(pmm_is_free(&f.p, 0));
    check_consistent(&f.p, MB(8));
    fx_fini(&f);
}

static void test_reserve_grows_outward(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MB(8));
    assert_int_equal(pmm_add_free(&f.p, 0, MB(8)), 2048);
    assert_int_equal(stats(&f.p).free_large, 4);

    /* [0x1800, 0x2800) touches frames 0x1000 and 0x2000. */
    assert_int_equal(pmm_reserve(&f.p, 0x1800, 0x1000), 2);
    assert_true(pmm_is_free(&f.p, 0x0));
    assert_false(pmm_is_free(&f.p, 0x1000));
    assert_false(pmm_is_free(&f.p, 0x2000));
    assert_true(pmm_is_free(&f.p, 0x3000));
    struct pmm_stats s = stats(&f.p);
    assert_int_equal(s.free_frames, 2046);
    assert_int_equal(s.managed_frames, 2046);
    assert_int_equal(s.free_large, 3);

    /* Partly free range: only the frames that were free count. */
    assert_int_equal(pmm_reserve(&f.p, 0, 0x4000), 2);
    assert_int_equal(pmm_reserve(&f.p, 0, 0x4000), 0);
    assert_int_equal(pmm_reserve(&f.p, 0x5000, 0), 0);
    assert_true(pmm_is_free(&f.p, 0x5000));
    assert_int_equal(stats(&f.p).free_frames, 2044);
    /* One byte reserves its whole frame; ranges past the limit clip. */
    assert_int_equal(pmm_reserve(&f.p, 0x5fff, 1), 1);
    assert_false(pmm_is_free(&f.p, 0x5000));
    assert_int_equal(pmm_reserve(&f.p, MB(8) - 0x800, MB(2)), 1);
    assert_int_equal(pmm_reserve(&f.p, MB(8), MB(2)), 0);
    assert_int_equal(pmm_reserve(&f.p, MB(6), UINT64_MAX), 511);
    s = stats(&f.p);
    assert_int_equal(s.free_frames, 2048 - 4 - 1 - 512);
    assert_int_equal(s.free_large, 2);
    check_consistent(&f.p, MB(8));

    /* Reserving over an allocated frame leaves the allocation intact. */
    uint64_t a = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
    assert_int_not_equal(a, PMM_NO_FRAME);
    struct pmm_stats sa = stats(&f.p);
    assert_int_equal(pmm_reserve(&f.p, a, PMM_PAGE_SIZE), 0);
    assert_false(pmm_is_free(&f.p, a));
    struct pmm_stats sb = stats(&f.p);
    assert_stats_equal(&sa, &sb);
    assert_int_equal(pmm_free(&f.p, a, PMM_4K), 0);
    assert_true(pmm_is_free(&f.p, a));
    check_consistent(&f.p, MB(8));
    fx_fini(&f);
}

static void test_add_free_keeps_allocations(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MB(8));
    pmm_add_free(&f.p, 0, MB(8));
    uint64_t a = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
    uint64_t b = pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME);
    assert_int_not_equal(a, PMM_NO_FRAME);
    assert_int_not_equal(b, PMM_NO_FRAME);
    struct pmm_stats s0 = stats(&f.p);
    /* Re-adding everything must not release frames that are handed out. */
    assert_int_equal(pmm_add_free(&f.p, 0, MB(8)), 0);
    assert_false(pmm_is_free(&f.p, a));
    assert_false(pmm_is_free(&f.p, b));
    assert_false(pmm_is_free(&f.p, b + MB(1)));
    struct pmm_stats s1 = stats(&f.p);
    assert_stats_equal(&s0, &s1);
    assert_int_equal(pmm_free(&f.p, a, PMM_4K), 0);
    assert_int_equal(pmm_free(&f.p, b, PMM_2M), 0);
    check_consistent(&f.p, MB(8));
    fx_fini(&f);
}

/* Allocate everything, check each frame is handed out once, inside the added
 * ranges and aligned; free it all and check the stats return. */
static void test_alloc_all_unique(void **state)
{
    (void)state;
    const uint64_t limit = MB(64);
    const uint64_t nframes = limit / PMM_PAGE_SIZE;
    struct fx f;
    fx_init(&f, limit);
    pmm_add_free(&f.p, 0x9f123, MB(3));           /* unaligned, straddles chunks */
    pmm_add_free(&f.p, MB(8), MB(10));            /* five whole chunks */
    pmm_add_free(&f.p, MB(30) + 0x800, MB(7));    /* unaligned */
    pmm_add_free(&f.p, MB(62), MB(4));            /* clipped at the limit */
    pmm_reserve(&f.p, MB(9) + 0x10, 0x20);        /* one frame punched out */
    struct pmm_stats s0 = stats(&f.p);
    assert_true(s0.free_frames > 5000);
    check_consistent(&f.p, limit);

    bool *added = calloc(nframes, 1), *taken = calloc(nframes, 1);
    uint64_t *addrs = calloc(nframes, sizeof(uint64_t));
    bool *is2m = calloc(nframes, 1);
    assert_non_null(added);
    assert_non_null(taken);
    assert_non_null(addrs);
    assert_non_null(is2m);
    for (uint64_t i = 0; i < nframes; i++)
        added[i] = pmm_is_free(&f.p, i * PMM_PAGE_SIZE);

    size_t n = 0;
    uint64_t frames = 0;
    bool more4k = true, more2m = true;
    while (more4k || more2m) {
        /* Alternate orders: 1 large, then 7 small. */
        for (int k = 0; k < 8; k++) {
            bool large = k == 0;
            if (large ? !more2m : !more4k)
                continue;
            uint64_t a = pmm_alloc(&f.p, large ? PMM_2M : PMM_4K, PMM_NO_FRAME);
            if (a == PMM_NO_FRAME) {
                if (large)
                    more2m = false;
                else
                    more4k = false;
                continue;
            }
            uint64_t size = large ? PMM_LARGE_SIZE : PMM_PAGE_SIZE;
            assert_int_equal(a % size, 0);
            assert_true(a + size <= limit);
            for (uint64_t fr = a / PMM_PAGE_SIZE; fr < (a + size) / PMM_PAGE_SIZE; fr++) {
                assert_true(added[fr]);
                assert_false(taken[fr]);
                taken[fr] = true;
                assert_false(pmm_is_free(&f.p, fr * PMM_PAGE_SIZE));
            }
            frames += size / PMM_PAGE_SIZE;
            is2m[n] = large;
            addrs[n++] = a;
        }
    }
    assert_int_equal(frames, s0.free_frames);
    struct pmm_stats s1 = stats(&f.p);
    assert_int_equal(s1.free_frames, 0);
    assert_int_equal(s1.free_large, 0);
    assert_true(s1.alloc_2m > 0);
    assert_int_equal(s1.alloc_4k + PMM_FRAMES_PER_LARGE * s1.alloc_2m, frames);
    assert_int_equal(s1.managed_frames, s0.managed_frames);

    /* Free in a scrambled order. */
    uint64_t x = 12345;
    for (size_t i = n; i > 1; i--) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)((x >> 33) % i);
        uint64_t ta = addrs[i - 1];
        bool tb = is2m[i - 1];
        addrs[i - 1] = addrs[j];
        is2m[i - 1] = is2m[j];
        addrs[j] = ta;
        is2m[j] = tb;
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pmm_free(&f.p, addrs[i], is2m[i] ? PMM_2M : PMM_4K), 0);
    struct pmm_stats s2 = stats(&f.p);
    assert_stats_equal(&s0, &s2);
    for (uint64_t i = 0; i < nframes; i++)
        assert_int_equal(pmm_is_free(&f.p, i * PMM_PAGE_SIZE), added[i]);
    check_consistent(&f.p, limit);

    free(added);
    free(taken);
    free(addrs);
    free(is2m);
    fx_fini(&f);
}

static void test_4k_prefers_partial(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MB(16));
    /* Exactly two whole chunks free: many 4K allocations must all land in
     * one of them, leaving the other for a 2 MiB request. */
    assert_int_equal(pmm_add_free(&f.p, MB(4), MB(4)), 1024);
    uint64_t first = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
    assert_int_not_equal(first, PMM_NO_FRAME);
    for (int i = 0; i < 300; i++) {
        uint64_t a = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
        assert_int_not_equal(a, PMM_NO_FRAME);
        assert_int_equal(a / PMM_LARGE_SIZE, first / PMM_LARGE_SIZE);
    }
    assert_int_equal(stats(&f.p).free_large, 1);
    uint64_t big = pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME);
    assert_int_not_equal(big, PMM_NO_FRAME);
    assert_int_not_equal(big / PMM_LARGE_SIZE, first / PMM_LARGE_SIZE);
    assert_int_equal(stats(&f.p).free_large, 0);
    check_consistent(&f.p, MB(16));
    fx_fini(&f);

    /* A partial chunk below the search hint is found by wrapping round
     * rather than breaking up a whole chunk. */
    fx_init(&f, MB(16));
    pmm_add_free(&f.p, MB(14), MB(2));              /* chunk 7: whole */
    pmm_add_free(&f.p, MB(12), PMM_PAGE_SIZE);      /* chunk 6: one frame */
    pmm_add_free(&f.p, MB(4) + 0x5000, PMM_PAGE_SIZE); /* chunk 2: one frame */
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME), MB(12));
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME), MB(4) + 0x5000);
    pmm_add_free(&f.p, MB(10) + 0x3000, PMM_PAGE_SIZE); /* chunk 5: above the hint */
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME), MB(10) + 0x3000);
    assert_int_equal(stats(&f.p).free_large, 1);
    /* Only now is the whole chunk broken up. */
    uint64_t a = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
    assert_int_equal(a / PMM_LARGE_SIZE, 7);
    assert_int_equal(stats(&f.p).free_large, 0);
    check_consistent(&f.p, MB(16));
    fx_fini(&f);
}

static void test_2m_fragmentation(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MB(8));
    pmm_add_free(&f.p, 0, MB(8));
    for (uint64_t c = 0; c < 4; c++)
        assert_int_equal(pmm_reserve(&f.p, c * PMM_LARGE_SIZE + 0x5000, 1), 1);
    struct pmm_stats s = stats(&f.p);
    assert_int_equal(s.free_frames, 4 * 511);
    assert_int_equal(s.free_large, 0);
    assert_int_equal(pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME), PMM_NO_FRAME);
    struct pmm_stats s2 = stats(&f.p);
    assert_stats_equal(&s, &s2);
    assert_int_not_equal(pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME), PMM_NO_FRAME);
    fx_fini(&f);

    /* One live 4K frame pins its chunk. */
    fx_init(&f, MB(8));
    pmm_add_free(&f.p, MB(2), MB(2));
    uint64_t a = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
    assert_int_not_equal(a, PMM_NO_FRAME);
    assert_int_equal(pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME), PMM_NO_FRAME);
    assert_int_equal(stats(&f.p).free_frames, 511);
    assert_int_equal(pmm_free(&f.p, a, PMM_4K), 0);
    assert_int_equal(stats(&f.p).free_large, 1);
    assert_int_equal(pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME), MB(2));
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME), PMM_NO_FRAME);
    check_consistent(&f.p, MB(8));
    fx_fini(&f);
}

static void test_max_phys(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MB(16));
    pmm_add_free(&f.p, 0, MB(16));

    /* Unbounded requests leave low memory alone. */
    uint64_t hi = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
    assert_true(hi >= MB(2) && hi != PMM_NO_FRAME);
    assert_int_equal(pmm_free(&f.p, hi, PMM_4K), 0);

    int n = 0;
    uint64_t a;
    while ((a = pmm_alloc(&f.p, PMM_4K, MB(1))) != PMM_NO_FRAME) {
        assert_true(a + PMM_PAGE_SIZE <= MB(1));
        assert_int_equal(a % PMM_PAGE_SIZE, 0);
        n++;
    }
    assert_int_equal(n, 256);
    for (uint64_t x = 0; x < MB(1); x += PMM_PAGE_SIZE)
        assert_false(pmm_is_free(&f.p, x));
    /* The bound is on the frame's end, not its start. */
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, MB(1) + 0xfff), PMM_NO_FRAME);
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, MB(1) + 0x1000), MB(1));
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, 0), PMM_NO_FRAME);
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, 0xfff), PMM_NO_FRAME);

    /* 2 MiB: chunk 0 is broken, so below 4 MiB only chunk 1 fits. */
    assert_int_equal(pmm_alloc(&f.p, PMM_2M, MB(4) - 1), PMM_NO_FRAME);
    assert_int_equal(pmm_alloc(&f.p, PMM_2M, MB(4)), MB(2));
    assert_int_equal(pmm_alloc(&f.p, PMM_2M, MB(4)), PMM_NO_FRAME);
    assert_int_equal(pmm_alloc(&f.p, PMM_2M, 0), PMM_NO_FRAME);
    a = pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME);
    assert_int_not_equal(a, PMM_NO_FRAME);
    assert_true(a >= MB(4));
    /* A bound beyond the limit is the same as none. */
    assert_int_not_equal(pmm_alloc(&f.p, PMM_2M, GB(64)), PMM_NO_FRAME);
    check_consistent(&f.p, MB(16));
    fx_fini(&f);
}

static void test_invalid_free(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MB(16));
    pmm_add_free(&f.p, MB(2), MB(12)); /* chunk 0 and 7 reserved */
    uint64_t a = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
    uint64_t b = pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME);
    assert_int_not_equal(a, PMM_NO_FRAME);
    assert_int_not_equal(b, PMM_NO_FRAME);
    /* A chunk wholly allocated as 4K frames looks like a 2M allocation in
     * the in-use bitmap; it must still not free as one. Allocate 4K frames
     * until the chunk cbase names (free again) is used up. */
    enum { NC = 2 * PMM_FRAMES_PER_LARGE };
    uint64_t c4k[NC];
    unsigned nc = 0;
    uint64_t cbase = pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME);
    assert_int_not_equal(cbase, PMM_NO_FRAME);
    assert_int_equal(pmm_free(&f.p, cbase, PMM_2M), 0);
    while (pmm_is_free(&f.p, cbase)) {
        assert_true(nc < NC);
        c4k[nc] = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
        assert_int_not_equal(c4k[nc], PMM_NO_FRAME);
        nc++;
    }
    for (uint64_t x = cbase; x < cbase + PMM_LARGE_SIZE; x += PMM_PAGE_SIZE)
        if (pmm_is_free(&f.p, x)) {
            assert_true(nc < NC);
            c4k[nc] = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
            assert_true(c4k[nc] / PMM_LARGE_SIZE == cbase / PMM_LARGE_SIZE);
            nc++;
        }
    for (uint64_t x = cbase; x < cbase + PMM_LARGE_SIZE; x += PMM_PAGE_SIZE)
        assert_false(pmm_is_free(&f.p, x));
    uint64_t free_frame = MB(6);
    while (!pmm_is_free(&f.p, free_frame))
        free_frame += PMM_PAGE_SIZE;

    struct pmm_stats s0 = stats(&f.p);
    const struct {
        uint64_t phys;
        enum pmm_order order;
    } bad[] = {
        { a + 1, PMM_4K },                   /* misaligned */
        { a + 0x800, PMM_4K },
        { b + PMM_PAGE_SIZE, PMM_2M },       /* misaligned for 2M */
        { b + MB(1), PMM_2M },
        { MB(16), PMM_4K },                  /* beyond the limit */
        { MB(16), PMM_2M },
        { GB(1), PMM_4K },
        { UINT64_MAX & ~0xfffull, PMM_4K },
        { free_frame, PMM_4K },              /* free, never allocated */
        { 0x1000, PMM_4K },                  /* reserved, never allocated */
        { MB(14), PMM_2M },                  /* reserved chunk */
        { b, PMM_4K },                       /* 4K inside a 2M allocation */
        { b + 0x3000, PMM_4K },
        { cbase, PMM_2M },                   /* 2M over 512 4K allocations */
        { a & ~(PMM_LARGE_SIZE - 1), PMM_2M },
        { a, (enum pmm_order)5 },            /* no such order */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pmm_free(&f.p, bad[i].phys, bad[i].order), -PL_EINVAL);
        struct pmm_stats s = stats(&f.p);
        assert_stats_equal(&s0, &s);
        assert_false(pmm_is_free(&f.p, a));
        assert_false(pmm_is_free(&f.p, b));
        assert_false(pmm_is_free(&f.p, b + 0x3000));
        assert_false(pmm_is_free(&f.p, cbase));
        assert_true(pmm_is_free(&f.p, free_frame));
    }
    check_consistent(&f.p, MB(16));

    /* Double frees. */
    assert_int_equal(pmm_free(&f.p, a, PMM_4K), 0);
    s0 = stats(&f.p);
    assert_int_equal(pmm_free(&f.p, a, PMM_4K), -PL_EINVAL);
    struct pmm_stats s1 = stats(&f.p);
    assert_stats_equal(&s0, &s1);
    assert_int_equal(pmm_free(&f.p, b, PMM_2M), 0);
    s0 = stats(&f.p);
    assert_int_equal(pmm_free(&f.p, b, PMM_2M), -PL_EINVAL);
    assert_int_equal(pmm_free(&f.p, b + 0x3000, PMM_4K), -PL_EINVAL);
    s1 = stats(&f.p);
    assert_stats_equal(&s0, &s1);
    for (unsigned i = 0; i < nc; i++)
        assert_int_equal(pmm_free(&f.p, c4k[i], PMM_4K), 0);
    s1 = stats(&f.p);
    assert_int_equal(s1.alloc_4k, 0);
    assert_int_equal(s1.alloc_2m, 0);
    assert_int_equal(s1.free_frames, s1.managed_frames);
    assert_int_equal(s1.free_large, 6);
    check_consistent(&f.p, MB(16));
    fx_fini(&f);
}

static void test_is_free(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MB(4));
    pmm_add_free(&f.p, 0x3000, 0x1000);
    assert_true(pmm_is_free(&f.p, 0x3000));
    assert_true(pmm_is_free(&f.p, 0x3fff)); /* any address in the frame */
    assert_false(pmm_is_free(&f.p, 0x2fff));
    assert_false(pmm_is_free(&f.p, 0x4000));
    assert_false(pmm_is_free(&f.p, MB(4)));
    assert_false(pmm_is_free(&f.p, UINT64_MAX));
    assert_int_equal(pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME), 0x3000);
    assert_false(pmm_is_free(&f.p, 0x3000));
    assert_int_equal(pmm_free(&f.p, 0x3000, PMM_4K), 0);
    assert_true(pmm_is_free(&f.p, 0x3000));
    fx_fini(&f);
}

static void test_large_limit(void **state)
{
    (void)state;
    const uint64_t limit = GB(24);
    size_t n = pmm_metadata_bytes(limit);
    assert_true(n >= limit / PMM_PAGE_SIZE / 8);       /* at least the bitmap */
    assert_true(n <= MB(1) + MB(1) / 2 + KB(64));     /* about 1.5 MiB */
    struct fx f;
    fx_init(&f, limit);
    assert_int_equal(f.p.nframes, limit / PMM_PAGE_SIZE);
    assert_int_equal(f.p.nchunks, limit / PMM_LARGE_SIZE);

    uint64_t added = pmm_add_free(&f.p, MB(1), limit);
    assert_int_equal(added, (limit - MB(1)) / PMM_PAGE_SIZE);
    assert_int_equal(pmm_reserve(&f.p, GB(3), GB(1)), GB(1) / PMM_PAGE_SIZE);
    struct pmm_stats s0 = stats(&f.p);
    assert_int_equal(s0.free_frames, added - GB(1) / PMM_PAGE_SIZE);
    assert_int_equal(s0.free_large, (limit - GB(1)) / PMM_LARGE_SIZE - 1);

    /* Top of memory and bounded requests. */
    assert_int_equal(pmm_alloc(&f.p, PMM_2M, PMM_NO_FRAME), limit - PMM_LARGE_SIZE);
    uint64_t low = pmm_alloc(&f.p, PMM_2M, GB(4));
    assert_true(low + PMM_LARGE_SIZE <= GB(3));
    uint64_t dma = pmm_alloc(&f.p, PMM_4K, MB(2));
    assert_true(dma >= MB(1) && dma + PMM_PAGE_SIZE <= MB(2));

    /* 100000 small frames pack into as few chunks as possible. */
    enum { N = 100000 };
    uint64_t *v = malloc(N * sizeof(uint64_t));
    assert_non_null(v);
    uint64_t fl = stats(&f.p).free_large;
    for (int i = 0; i < N; i++) {
        v[i] = pmm_alloc(&f.p, PMM_4K, PMM_NO_FRAME);
        assert_int_not_equal(v[i], PMM_NO_FRAME);
    }
    /* Without the preference for broken-up chunks every frame would break a
     * new one. */
    assert_true(fl - stats(&f.p).free_large <= (N + 511) / 512);
    for (int i = 0; i < N; i++)
        assert_int_equal(pmm_free(&f.p, v[i], PMM_4K), 0);
    free(v);
    assert_int_equal(pmm_free(&f.p, dma, PMM_4K), 0);
    assert_int_equal(pmm_free(&f.p, low, PMM_2M), 0);
    assert_int_equal(pmm_free(&f.p, limit - PMM_LARGE_SIZE, PMM_2M), 0);
    struct pmm_stats s1 = stats(&f.p);
    assert_stats_equal(&s0, &s1);
    check_consistent(&f.p, limit);
    fx_fini(&f);
}

/* The hypervisor builds the allocator on the early identity map and then
 * moves to the direct map: after pmm_relocate, the allocator must use only
 * the new copy of its metadata. */
static void test_relocate(void **state)
{
    (void)state;
    const uint64_t limit = 8ull << 20;
    size_t n = pmm_metadata_bytes(limit);
    uint64_t *a = malloc(n), *b = malloc(n);
    assert_non_null(a);
    assert_non_null(b);
    struct pmm p;
    assert_int_equal(pmm_init(&p, a, n, limit), 0);
    pmm_add_free(&p, 0, limit);
    uint64_t first = pmm_alloc(&p, PMM_4K, PMM_NO_FRAME);
    assert_int_not_equal(first, PMM_NO_FRAME);

    memcpy(b, a, n);
    pmm_relocate(&p, (intptr_t)((char *)b - (char *)a));
    memset(a, 0xFF, n); /* the old copy now says "everything used" */

    assert_false(pmm_is_free(&p, first));
    assert_true(pmm_is_free(&p, first ^ PMM_PAGE_SIZE));
    uint64_t second = pmm_alloc(&p, PMM_4K, PMM_NO_FRAME);
    assert_int_not_equal(second, PMM_NO_FRAME);
    assert_int_not_equal(second, first);
    assert_int_equal(pmm_free(&p, first, PMM_4K), 0);
    assert_int_equal(pmm_free(&p, second, PMM_4K), 0);
    struct pmm_stats st;
    pmm_get_stats(&p, &st);
    assert_int_equal(st.free_frames, limit / PMM_PAGE_SIZE);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_all_reserved),
        cmocka_unit_test(test_init_rejects),
        cmocka_unit_test(test_add_free_shrinks_inward),
        cmocka_unit_test(test_reserve_grows_outward),
        cmocka_unit_test(test_add_free_keeps_allocations),
        cmocka_unit_test(test_alloc_all_unique),
        cmocka_unit_test(test_4k_prefers_partial),
        cmocka_unit_test(test_2m_fragmentation),
        cmocka_unit_test(test_max_phys),
        cmocka_unit_test(test_invalid_free),
        cmocka_unit_test(test_is_free),
        cmocka_unit_test(test_large_limit),
        cmocka_unit_test(test_relocate),
    };
    return cmocka_run_group_tests_name("pmm", tests, NULL, NULL);
}
