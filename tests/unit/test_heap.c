#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hv/heap.h"
#include "plinth/errno.h"

/* Fake page source: aligned_alloc'ed pages, counted and tracked so a page
 * freed twice or never handed out is caught. */
#define MAX_PAGES 2048

struct src {
    void *live[MAX_PAGES];
    int nlive;
    int allocs, frees;
    int limit; /* pages that may be live at once */
};

static void *src_alloc(void *ctx)
{
    struct src *s = ctx;
    if (s->nlive >= s->limit)
        return NULL;
    void *p = aligned_alloc(4096, 4096);
    assert_non_null(p);
    memset(p, 0, 4096);
    s->live[s->nlive++] = p;
    s->allocs++;
    return p;
}

static void src_free(void *ctx, void *page)
{
    struct src *s = ctx;
    for (int i = 0; i < s->nlive; i++) {
        if (s->live[i] == page) {
            s->live[i] = s->live[--s->nlive];
            s->frees++;
            free(page);
            return;
        }
    }
    fail_msg("page %p returned but not live", page);
}

struct fx {
    struct src src;
    struct heap h;
};

static void fx_init(struct fx *f, int limit)
{
    memset(&f->src, 0, sizeof(f->src));
    f->src.limit = limit;
    struct heap_page_source ps = { src_alloc, src_free, &f->src };
    heap_init(&f->h, &ps);
}

static struct heap_stats hstats(const struct heap *h)
{
    struct heap_stats s;
    heap_get_stats(h, &s);
    return s;
}

static void assert_hstats(const struct heap *h, uint64_t pages, uint64_t objs, uint64_t bytes)
{
    struct heap_stats s = hstats(h);
    assert_int_equal(s.pages, pages);
    assert_int_equal(s.live_objects, objs);
    assert_int_equal(s.live_bytes, bytes);
}

static size_t class_of(size_t size)
{
    size_t c = HEAP_MIN_OBJECT;
    while (c < size)
        c *= 2;
    return c;
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void test_every_size(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MAX_PAGES);
    for (size_t size = 1; size <= HEAP_MAX_OBJECT; size++) {
        size_t cls = class_of(size);
        unsigned char *p = heap_alloc(&f.h, size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % cls, 0);
        /* The whole class-sized object lies inside its page, past the
         * header at the page start. */
        uintptr_t off = (uintptr_t)p % 4096;
        assert_true(off >= 16);
        assert_true(off + cls <= 4096);
        assert_true(all_zero(p, cls));
        memset(p, 0xa5, cls);
        assert_hstats(&f.h, 1, 1, cls);
        assert_int_equal(heap_free(&f.h, p), 0);
        assert_hstats(&f.h, 0, 0, 0);
        assert_int_equal(f.src.nlive, 0);
    }
    assert_int_equal(f.src.allocs, HEAP_MAX_OBJECT);
}

static void test_size_limits(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MAX_PAGES);
    assert_null(heap_alloc(&f.h, 0));
    assert_null(heap_alloc(&f.h, HEAP_MAX_OBJECT + 1));
    assert_null(heap_alloc(&f.h, SIZE_MAX));
    assert_int_equal(f.src.allocs, 0);
    assert_hstats(&f.h, 0, 0, 0);
    assert_int_equal(heap_free(&f.h, NULL), 0);
}

static void test_zeroed_on_reuse(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MAX_PAGES);
    for (size_t cls = HEAP_MIN_OBJECT; cls <= HEAP_MAX_OBJECT; cls *= 2) {
        /* For the one-object 2048 class keep a second page alive instead;
         * the reused slot then comes from a fresh (zeroed) page, which
         * still must read as zero. */
        void *keep = heap_alloc(&f.h, cls);
        unsigned char *p = heap_alloc(&f.h, cls);
        assert_non_null(keep);
        assert_non_null(p);
        memset(p, 0xee, cls);
        memset(keep, 0xdd, cls);
        int allocs = f.src.allocs;
        assert_int_equal(heap_free(&f.h, p), 0);
        unsigned char *q = heap_alloc(&f.h, cls);
        assert_non_null(q);
        if (cls < HEAP_MAX_OBJECT) {
            assert_ptr_equal(q, p); /* same slot, dirtied by its last user */
            assert_int_equal(f.src.allocs, allocs);
        }
        assert_true(all_zero(q, cls));
        assert_int_equal(heap_free(&f.h, q), 0);
        assert_int_equal(heap_free(&f.h, keep), 0);
    }
    assert_int_equal(f.src.nlive, 0);
}

/* Many objects of mixed sizes: distinct, non-overlapping, surviving each
 * other's writes; freeing everything hands every page back. */
static void test_many_objects(void **state)
{
    (void)state;
    enum { N = 3000 };
    static unsigned char *ptr[N];
    static size_t sz[N];
    struct fx f;
    fx_init(&f, MAX_PAGES);
    uint64_t bytes = 0;
    uint32_t x = 1;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        sz[i] = 1 + (x >> 8) % (i % 4 == 0 ? HEAP_MAX_OBJECT : 100);
        ptr[i] = heap_alloc(&f.h, sz[i]);
        assert_non_null(ptr[i]);
        assert_int_equal((uintptr_t)ptr[i] % class_of(sz[i]), 0);
        memset(ptr[i], (int)(i & 0xff), sz[i]);
        bytes += class_of(sz[i]);
    }
    struct heap_stats s = hstats(&f.h);
    assert_int_equal(s.live_objects, N);
    assert_int_equal(s.live_bytes, bytes);
    assert_int_equal(s.pages, (uint64_t)f.src.nlive);
    assert_true(s.pages > HEAP_NCLASSES * 2);
    for (int i = 0; i < N; i++) {
        for (size_t k = 0; k < sz[i]; k++)
            assert_int_equal(ptr[i][k], i & 0xff);
        for (int j = i + 1; j < N; j++) {
            uintptr_t a = (uintptr_t)ptr[i], b = (uintptr_t)ptr[j];
            assert_true(a + class_of(sz[i]) <= b || b + class_of(sz[j]) <= a);
        }
    }

    /* Free half (every other), then allocate the same sizes again: free
     * slots in existing pages are used before new pages are taken, so the
     * page count ends where it was. */
    int pages_full = f.src.nlive;
    for (int i = 0; i < N; i += 2)
        assert_int_equal(heap_free(&f.h, ptr[i]), 0);
    assert_true(f.src.nlive < pages_full);
    for (int i = 0; i < N; i += 2) {
        ptr[i] = heap_alloc(&f.h, sz[i]);
        assert_non_null(ptr[i]);
        assert_true(all_zero(ptr[i], sz[i]));
    }
    assert_int_equal(f.src.nlive, pages_full);
    s = hstats(&f.h);
    assert_int_equal(s.live_objects, N);
    assert_int_equal(s.live_bytes, bytes);

    /* Free all in a scrambled order. */
    for (int i = N - 1; i > 0; i--) {
        x = x * 1103515245u + 12345u;
        int j = (int)((x >> 8) % (uint32_t)(i + 1));
        unsigned char *t = ptr[i];
        ptr[i] = ptr[j];
        ptr[j] = t;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(heap_free(&f.h, ptr[i]), 0);
    assert_hstats(&f.h, 0, 0, 0);
    assert_int_equal(f.src.nlive, 0);
    assert_int_equal(f.src.frees, f.src.allocs);
    for (unsigned c = 0; c < HEAP_NCLASSES; c++)
        assert_null(f.h.partial[c]);
}

static void test_pages_per_class(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, MAX_PAGES);
    /* 1024-byte objects: three per page after the header. */
    void *p[7];
    for (int i = 0; i < 7; i++)
        p[i] = heap_alloc(&f.h, 1000);
    assert_hstats(&f.h, 3, 7, 7 * 1024);
    assert_true((uintptr_t)p[0] / 4096 == (uintptr_t)p[2] / 4096);
    assert_true((uintptr_t)p[3] / 4096 != (uintptr_t)p[2] / 4096);
    /* A slot freed in a full page is reused before a new page is taken. */
    assert_int_equal(heap_free(&f.h, p[1]), 0);
    assert_ptr_equal(heap_alloc(&f.h, 1024), p[1]);
    assert_int_equal(f.src.allocs, 3);
    /* Emptying a page returns it at once. */
    assert_int_equal(heap_free(&f.h, p[3]), 0);
    assert_int_equal(heap_free(&f.h, p[4]), 0);
    assert_int_equal(f.src.nlive, 3);
    assert_int_equal(heap_free(&f.h, p[5]), 0);
    assert_int_equal(f.src.nlive, 2);
    assert_hstats(&f.h, 2, 4, 4 * 1024);
    /* 2048-byte objects: one per page. */
    void *a = heap_alloc(&f.h, 2048), *b = heap_alloc(&f.h, 1025);
    assert_int_equal(f.src.nlive, 4);
    assert_int_equal((uintptr_t)a % 4096, 2048);
    assert_int_equal(heap_free(&f.h, a), 0);
    assert_int_equal(heap_free(&f.h, b), 0);
    assert_int_equal(f.src.nlive, 2);
    /* 16-byte objects: 252 per page. */
    void *s[253];
    for (int i = 0; i < 253; i++)
        s[i] = heap_alloc(&f.h, 16);
    assert_int_equal(f.src.nlive, 4);
    assert_int_equal(heap_free(&f.h, s[252]), 0);
    assert_int_equal(f.src.nlive, 3);
    for (int i = 0; i < 252; i++)
        assert_int_equal(heap_free(&f.h, s[i]), 0);
    for (int i = 0; i < 7; i++)
        if (i != 3 && i != 4 && i != 5)
            assert_int_equal(heap_free(&f.h, p[i]), 0);
    assert_int_equal(f.src.nlive, 0);
    assert_hstats(&f.h, 0, 0, 0);
}

static void test_invalid_free(void **state)
{
    (void)state;
    struct fx f, g;
    fx_init(&f, MAX_PAGES);
    fx_init(&g, MAX_PAGES);
    unsigned char *p = heap_alloc(&f.h, 64);
    unsigned char *q = heap_alloc(&f.h, 64);
    unsigned char *big = heap_alloc(&f.h, 2048);
    unsigned char *other = heap_alloc(&g.h, 64);
    assert_non_null(p);
    assert_non_null(q);
    assert_non_null(big);
    assert_non_null(other);
    memset(p, 0x11, 64);
    memset(q, 0x22, 64);
    unsigned char *page = (unsigned char *)((uintptr_t)p & ~(uintptr_t)4095);
    unsigned char *bigpage = (unsigned char *)((uintptr_t)big & ~(uintptr_t)4095);

    /* A page that is not a slab at all. */
    unsigned char *fake = aligned_alloc(4096, 4096);
    assert_non_null(fake);
    memset(fake, 0x5a, 4096);
    unsigned char *zero = aligned_alloc(4096, 4096);
    assert_non_null(zero);
    memset(zero, 0, 4096);

    unsigned char *slot2 = q + (q - p); /* a slot never handed out */
    void *bad[] = {
        p + 1, p + 16, p + 32, q + 63, /* inside an object */
        page, page + 8, page + 32,     /* in the slab header */
        slot2,                         /* free slot */
        big + 1024, bigpage, bigpage + 1024,
        fake + 64, fake + 128, zero + 64,
        other,                         /* another heap's object */
    };
    struct heap_stats s0 = hstats(&f.h);
    int live0 = f.src.nlive;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(heap_free(&f.h, bad[i]), -PL_EINVAL);
        struct heap_stats s = hstats(&f.h);
        assert_int_equal(s.pages, s0.pages);
        assert_int_equal(s.live_objects, s0.live_objects);
        assert_int_equal(s.live_bytes, s0.live_bytes);
        assert_int_equal(f.src.nlive, live0);
    }
    /* Nothing was disturbed: the objects keep their contents, and the
     * never-allocated slot is still the one handed out next. */
    for (int k = 0; k < 64; k++) {
        assert_int_equal(p[k], 0x11);
        assert_int_equal(q[k], 0x22);
    }
    unsigned char *r = heap_alloc(&f.h, 64);
    assert_ptr_equal(r, slot2);
    assert_int_equal(heap_free(&f.h, r), 0);

    /* Double free. */
    assert_int_equal(heap_free(&f.h, p), 0);
    s0 = hstats(&f.h);
    assert_int_equal(heap_free(&f.h, p), -PL_EINVAL);
    struct heap_stats s1 = hstats(&f.h);
    assert_int_equal(s1.live_objects, s0.live_objects);
    assert_int_equal(s1.live_bytes, s0.live_bytes);
    assert_int_equal(heap_free(&f.h, q), 0);
    assert_int_equal(heap_free(&f.h, big), 0);
    assert_int_equal(f.src.nlive, 0);
    assert_hstats(&f.h, 0, 0, 0);

    assert_int_equal(heap_free(&g.h, other), 0);
    assert_int_equal(g.src.nlive, 0);
    free(fake);
    free(zero);
}

static void test_source_exhaustion(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 2);
    void *a = heap_alloc(&f.h, 2048), *b = heap_alloc(&f.h, 2000);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(heap_alloc(&f.h, 2048));
    assert_null(heap_alloc(&f.h, 16)); /* needs a page of its own class */
    assert_hstats(&f.h, 2, 2, 4096);
    assert_int_equal(heap_free(&f.h, a), 0);
    void *c = heap_alloc(&f.h, 16);
    assert_non_null(c);
    void *d = heap_alloc(&f.h, 8); /* same class, same page */
    assert_non_null(d);
    assert_null(heap_alloc(&f.h, 32));
    assert_hstats(&f.h, 2, 3, 2048 + 32);
    assert_int_equal(heap_free(&f.h, b), 0);
    assert_int_equal(heap_free(&f.h, c), 0);
    assert_int_equal(heap_free(&f.h, d), 0);
    assert_int_equal(f.src.nlive, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_size),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_zeroed_on_reuse),
        cmocka_unit_test(test_many_objects),
        cmocka_unit_test(test_pages_per_class),
        cmocka_unit_test(test_invalid_free),
        cmocka_unit_test(test_source_exhaustion),
    };
    return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
