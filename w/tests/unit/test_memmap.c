#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/memmap.h"
#include "plinth/errno.h"

#define A MEM_AVAILABLE
#define R MEM_RESERVED
#define RC MEM_ACPI_RECLAIM
#define NVS MEM_ACPI_NVS
#define BAD MEM_BAD

#define MAXR 1200

static struct mem_range arr[MAXR];

/* Load n ranges into arr, sanitise with capacity cap, return the code. */
static int run(const struct mem_range *in, unsigned n, unsigned *count, unsigned cap)
{
    assert_true(cap <= MAXR);
    memset(arr, 0xa5, sizeof(arr));
    memcpy(arr, in, n * sizeof(*in));
    *count = n;
    return memmap_sanitize(arr, count, cap);
}

static void expect(const struct mem_range *want, unsigned n, unsigned got_n)
{
    if (got_n != n) {
        for (unsigned i = 0; i < got_n; i++)
            fprintf(stderr, "  got [%u] %#llx+%#llx type %u\n", i, (unsigned long long)arr[i].base,
                    (unsigned long long)arr[i].len, arr[i].type);
    }
    assert_int_equal(got_n, n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(arr[i].base, want[i].base);
        assert_int_equal(arr[i].len, want[i].len);
        assert_int_equal(arr[i].type, want[i].type);
    }
}

#define SANITIZE_OK(in, cap, ...)                                            \
    do {                                                                     \
        const struct mem_range want_[] = { __VA_ARGS__ };                    \
        unsigned n_;                                                         \
        assert_int_equal(run(in, ARRAY_LEN(in), &n_, cap), 0);               \
        expect(want_, ARRAY_LEN(want_), n_);                                 \
    } while (0)

#define ARRAY_LEN(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))

static void test_punch_middle_splits_in_three(void **state)
{
    (void)state;
    const struct mem_range in[] = {
        { 0x100000, 0x700000, A },
        { 0x400000, 0x10000, R },
    };
    SANITIZE_OK(in, 8, { 0x100000, 0x300000, A }, { 0x400000, 0x10000, R }, { 0x410000, 0x3f0000, A });
}

static void test_punch_at_edges(void **state)
{
    (void)state;
    /* Higher-priority ranges at the start and the end of an available one,
     * each overhanging it. */
    const struct mem_range in[] = {
        { 0x1000, 0x9000, A },
        { 0x0, 0x2000, BAD },
        { 0x9000, 0x3000, NVS },
    };
    SANITIZE_OK(in, 8, { 0x0, 0x2000, BAD }, { 0x2000, 0x7000, A }, { 0x9000, 0x3000, NVS });
}

static void test_full_containment(void **state)
{
    (void)state;
    /* Available inside reserved disappears. */
    const struct mem_range in1[] = {
        { 0xe0000, 0x20000, R },
        { 0xf0000, 0x1000, A },
    };
    SANITIZE_OK(in1, 4, { 0xe0000, 0x20000, R });

    /* Reserved inside available sharing the start: two pieces, not three. */
    const struct mem_range in2[] = {
        { 0x0, 0xa0000, A },
        { 0x0, 0x1000, R },
    };
    SANITIZE_OK(in2, 2, { 0x0, 0x1000, R }, { 0x1000, 0x9f000, A });

    /* Same type contained: absorbed. */
    const struct mem_range in3[] = {
        { 0x2000, 0x1000, RC },
        { 0x0, 0x10000, RC },
    };
    SANITIZE_OK(in3, 2, { 0x0, 0x10000, RC });
}

static void test_identical_duplicates(void **state)
{
    (void)state;
    const struct mem_range same[] = {
        { 0x100000, 0x100000, A },
        { 0x100000, 0x100000, A },
        { 0x100000, 0x100000, A },
    };
    SANITIZE_OK(same, 3, { 0x100000, 0x100000, A });

    /* Same span, different types: the more restrictive one, in any order. */
    const struct mem_range diff1[] = {
        { 0x100000, 0x100000, A },
        { 0x100000, 0x100000, NVS },
    };
    SANITIZE_OK(diff1, 2, { 0x100000, 0x100000, NVS });
    const struct mem_range diff2[] = {
        { 0x100000, 0x100000, NVS },
        { 0x100000, 0x100000, A },
    };
    SANITIZE_OK(diff2, 2, { 0x100000, 0x100000, NVS });
}

static void test_zero_length_dropped(void **state)
{
    (void)state;
    const struct mem_range in[] = {
        { 0x0, 0, R },
        { 0x1000, 0x1000, A },
        { 0x1800, 0, BAD }, /* inside an available range: must not punch it */
        { 0x5000, 0, A },
    };
    SANITIZE_OK(in, 4, { 0x1000, 0x1000, A });

    const struct mem_range only_empty[] = { { 0x1000, 0, A }, { 0x2000, 0, R } };
    unsigned n;
    assert_int_equal(run(only_empty, 2, &n, 2), 0);
    assert_int_equal(n, 0);
}

static void test_adjacent_merge(void **state)
{
    (void)state;
    const struct mem_range in[] = {
        { 0x0, 0x1000, A },
        { 0x1000, 0x1000, A },     /* touches: merged */
        { 0x2000, 0x1000, R },     /* touches, other type: kept apart */
        { 0x3000, 0x1000, A },
        { 0x5000, 0x1000, A },     /* gap before it: kept apart */
        { 0x6000, 0x2000, A },     /* touches: merged */
    };
    SANITIZE_OK(in, 6, { 0x0, 0x2000, A }, { 0x2000, 0x1000, R }, { 0x3000, 0x1000, A }, { 0x5000, 0x3000, A });
}

static void test_unsorted_input(void **state)
{
    (void)state;
    const struct mem_range in[] = {
        { 0x100000000ull, 0x40000000, A },
        { 0xfee00000, 0x1000, R },
        { 0x0, 0x9fc00, A },
        { 0x100000, 0x7ee0000, A },
        { 0x9fc00, 0x400, R },
        { 0x7fe0000, 0x20000, RC },
        { 0xf0000, 0x10000, R },
    };
    SANITIZE_OK(in, 7, { 0x0, 0x9fc00, A }, { 0x9fc00, 0x400, R }, { 0xf0000, 0x10000, R },
                { 0x100000, 0x7ee0000, A }, { 0x7fe0000, 0x20000, RC }, { 0xfee00000, 0x1000, R },
                { 0x100000000ull, 0x40000000, A });
}

static void test_priority_order(void **state)
{
    (void)state;
    const uint32_t order[] = { A, RC, NVS, R, BAD }; /* weakest first */
    for (unsigned lo = 0; lo < 5; lo++) {
        for (unsigned hi = lo + 1; hi < 5; hi++) {
            /* Overlap [0x3000, 0x5000) goes to the stronger type whichever
             * of the two ranges starts first. */
            struct mem_range in[2] = {
                { 0x1000, 0x4000, order[lo] },
                { 0x3000, 0x4000, order[hi] },
            };
            SANITIZE_OK(in, 4, { 0x1000, 0x2000, order[lo] }, { 0x3000, 0x4000, order[hi] });
            struct mem_range in2[2] = {
                { 0x1000, 0x4000, order[hi] },
                { 0x3000, 0x4000, order[lo] },
            };
            SANITIZE_OK(in2, 4, { 0x1000, 0x4000, order[hi] }, { 0x5000, 0x2000, order[lo] });
        }
    }
}

static void test_unknown_type_counts_as_reserved(void **state)
{
    (void)state;
    /* Unknown type beats available and ACPI NVS, loses to bad, merges with
     * reserved, and comes out as MEM_RESERVED. */
    const struct mem_range in[] = {
        { 0x0, 0x10000, A },
        { 0x2000, 0x2000, 0 },
        { 0x4000, 0x1000, R },
        { 0x8000, 0x2000, 0xdeadbeef },
        { 0x9000, 0x1000, BAD },
        { 0xc000, 0x1000, 7 },
        { 0xc000, 0x1000, NVS },
    };
    SANITIZE_OK(in, 16, { 0x0, 0x2000, A }, { 0x2000, 0x3000, R }, { 0x5000, 0x3000, A }, { 0x8000, 0x1000, R },
                { 0x9000, 0x1000, BAD }, { 0xa000, 0x2000, A }, { 0xc000, 0x1000, R }, { 0xd000, 0x3000, A });
}

static void test_wraparound_clipped(void **state)
{
    (void)state;
    const struct mem_range in[] = {
        { 0xfffffffffffff000ull, 0x2000, R },  /* wraps: clipped at 2^64-1 */
        { 0xffffffffffffffffull, 0x10, A },    /* nothing left after clipping */
        { 0x0, 0x1000, A },
    };
    SANITIZE_OK(in, 3, { 0x0, 0x1000, A }, { 0xfffffffffffff000ull, 0xfff, R });

    /* A huge available range punched near the top. */
    const struct mem_range in2[] = {
        { 0x1000, UINT64_MAX, A },
        { 0xffffffff00000000ull, 0x1000, R },
    };
    SANITIZE_OK(in2, 3, { 0x1000, 0xffffffff00000000ull - 0x1000, A }, { 0xffffffff00000000ull, 0x1000, R },
                { 0xffffffff00001000ull, UINT64_MAX - 0xffffffff00001000ull, A });
}

static void test_capacity(void **state)
{
    (void)state;
    unsigned n;
    const struct mem_range punch[] = {
        { 0x0, 0x10000, A },
        { 0x4000, 0x1000, R },
    };
    /* The result has three ranges: two slots are not enough, three are. */
    assert_int_equal(run(punch, 2, &n, 2), -PL_ENOSPC);
    SANITIZE_OK(punch, 3, { 0x0, 0x4000, A }, { 0x4000, 0x1000, R }, { 0x5000, 0xb000, A });

    /* Full array whose result fits although a naive split would not: the
     * tail piece of the split merges with a later range of its type. */
    const struct mem_range tight1[] = {
        { 0x0, 0x10000, A },
        { 0x1000, 0x1000, R },
        { 0x2000, 0xe000, A },
    };
    SANITIZE_OK(tight1, 3, { 0x0, 0x1000, A }, { 0x1000, 0x1000, R }, { 0x2000, 0xe000, A });

    /* ...or is covered by two stronger ranges together. */
    const struct mem_range tight2[] = {
        { 0x0, 0x10000, A },
        { 0x1000, 0x3000, R },
        { 0x4000, 0xc000, BAD },
    };
    SANITIZE_OK(tight2, 3, { 0x0, 0x1000, A }, { 0x1000, 0x3000, R }, { 0x4000, 0xc000, BAD });

    /* Many holes punched into one range: 2k+1 results from k+1 inputs. */
    struct mem_range holes[11];
    holes[0] = (struct mem_range){ 0, 0x100000, A };
    for (unsigned i = 1; i < 11; i++)
        holes[i] = (struct mem_range){ i * 0x8000, 0x1000, R };
    assert_int_equal(run(holes, 11, &n, 20), -PL_ENOSPC);
    assert_int_equal(run(holes, 11, &n, 21), 0);
    assert_int_equal(n, 21);
    assert_int_equal(arr[20].base, 0x51000);
    assert_int_equal(arr[20].len, 0x100000 - 0x51000);

    /* A count above the capacity is a caller bug. */
    n = 5;
    assert_int_equal(memmap_sanitize(arr, &n, 4), -PL_EINVAL);
    n = 0;
    assert_int_equal(memmap_sanitize(arr, &n, 0), 0);
    assert_int_equal(n, 0);
}

/* ---------------------------------------------------------------- reference model
 * Split the line at every range boundary, give each piece the strongest type
 * covering it, merge neighbours. Obviously correct, needs scratch memory. */

static unsigned ref_prio(uint32_t t)
{
    switch (t) {
    case A: return 1;
    case RC: return 2;
    case NVS: return 3;
    case BAD: return 5;
    default: return 4;
    }
}

static uint32_t ref_type_of(unsigned prio)
{
    static const uint32_t t[] = { 0, A, RC, NVS, R, BAD };
    return t[prio];
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static unsigned reference(const struct mem_range *in, unsigned n, struct mem_range *out)
{
    uint64_t *pts = malloc(2 * n * sizeof(*pts) + 1);
    uint64_t *ends = malloc(n * sizeof(*ends) + 1);
    unsigned np = 0, m = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t len = in[i].len > UINT64_MAX - in[i].base ? UINT64_MAX - in[i].base : in[i].len;
        ends[i] = in[i].base + len;
        pts[np++] = in[i].base;
        pts[np++] = ends[i];
    }
    qsort(pts, np, sizeof(*pts), cmp_u64);
    for (unsigned k = 0; k + 1 < np; k++) {
        uint64_t lo = pts[k], hi = pts[k + 1];
        if (lo == hi)
            continue;
        unsigned best = 0;
        for (unsigned i = 0; i < n; i++)
            if (in[i].base <= lo && ends[i] >= hi && ref_prio(in[i].type) > best)
                best = ref_prio(in[i].type);
        if (best == 0)
            continue;
        uint32_t t = ref_type_of(best);
        if (m > 0 && out[m - 1].type == t && out[m - 1].base + out[m - 1].len == lo)
            out[m - 1].len += hi - lo;
        else
            out[m++] = (struct mem_range){ lo, hi - lo, t };
    }
    free(pts);
    free(ends);
    return m;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_against_reference(const struct mem_range *in, unsigned n, unsigned cap)
{
    static struct mem_range want[2 * MAXR];
    unsigned wn = reference(in, n, want);
    unsigned got;
    int rc = run(in, n, &got, cap);
    if (wn > cap) {
        assert_int_equal(rc, -PL_ENOSPC);
        return;
    }
    assert_int_equal(rc, 0);
    expect(want, wn, got);
}

static void test_random_against_reference(void **state)
{
    (void)state;
    static const uint32_t types[] = { A, A, A, R, RC, NVS, BAD, 0, 6, 0xffffffffu };
    struct mem_range in[16];
    for (unsigned iter = 0; iter < 30000; iter++) {
        unsigned n = 1 + (unsigned)(rnd() % 16);
        for (unsigned i = 0; i < n; i++) {
            in[i].base = rnd() % 64;
            in[i].len = rnd() % 24;
            in[i].type = types[rnd() % ARRAY_LEN(types)];
        }
        /* Every capacity from n (the minimum) up to one past any result. */
        for (unsigned cap = n; cap <= 2 * n + 1; cap++)
            check_against_reference(in, n, cap);
    }
}

static void test_random_wide_coordinates(void **state)
{
    (void)state;
    static const uint32_t types[] = { A, R, RC, NVS, BAD };
    struct mem_range in[12];
    for (unsigned iter = 0; iter < 5000; iter++) {
        unsigned n = 1 + (unsigned)(rnd() % 12);
        for (unsigned i = 0; i < n; i++) {
            /* Mix near-top bases (wrapping) with ordinary ones. */
            in[i].base = (rnd() & 1) ? UINT64_MAX - (rnd() % 0x10000) : rnd() % 0x10000;
            in[i].len = (rnd() % 4 == 0) ? UINT64_MAX - (rnd() % 0x10000) : rnd() % 0x8000;
            in[i].type = types[rnd() % ARRAY_LEN(types)];
        }
        check_against_reference(in, n, 2 * n + 1);
        check_against_reference(in, n, n);
    }
}

static void test_hostile_large_input(void **state)
{
    (void)state;
    /* 512 nested ranges of alternating strength and 512 staggered ones: the
     * result must still match the model and stay sorted and disjoint. */
    static struct mem_range in[1024];
    static const uint32_t types[] = { A, R, RC, BAD, NVS };
    for (unsigned i = 0; i < 512; i++)
        in[i] = (struct mem_range){ (uint64_t)i * 0x1000, (uint64_t)(1024 - 2 * i) * 0x1000, types[i % 5] };
    check_against_reference(in, 512, 512);
    check_against_reference(in, 512, 1024);
    for (unsigned i = 0; i < 1024; i++)
        in[i] = (struct mem_range){ (uint64_t)(i * 7919u % 1024) * 0x800, 0x2800, types[(i * 31u) % 5] };
    check_against_reference(in, 1024, 1024);
    check_against_reference(in, 1024, 1100);

    unsigned n;
    assert_int_equal(run(in, 1024, &n, 1100), 0);
    for (unsigned i = 1; i < n; i++) {
        assert_true(arr[i - 1].base + arr[i - 1].len <= arr[i].base);
        assert_false(arr[i - 1].base + arr[i - 1].len == arr[i].base && arr[i - 1].type == arr[i].type);
    }
}

static void test_total(void **state)
{
    (void)state;
    const struct mem_range m[] = {
        { 0x0, 0x9f000, A },
        { 0x9f000, 0x1000, R },
        { 0x100000, 0x7f00000, A },
        { 0x8000000, 0x20000, RC },
        { 0xfee00000, 0x1000, R },
    };
    assert_int_equal(memmap_total(m, 5, A), 0x9f000 + 0x7f00000);
    assert_int_equal(memmap_total(m, 5, R), 0x2000);
    assert_int_equal(memmap_total(m, 5, RC), 0x20000);
    assert_int_equal(memmap_total(m, 5, BAD), 0);
    assert_int_equal(memmap_total(m, 0, A), 0);
    assert_int_equal(memmap_total(m, 1, A), 0x9f000); /* count is honoured */
    const struct mem_range huge[] = { { 0, UINT64_MAX, A }, { 0, UINT64_MAX, A } };
    assert_int_equal(memmap_total(huge, 2, A), UINT64_MAX); /* saturates */
}

static void test_type_name(void **state)
{
    (void)state;
    assert_string_equal(memmap_type_name(MEM_AVAILABLE), "available");
    assert_string_equal(memmap_type_name(MEM_RESERVED), "reserved");
    assert_string_equal(memmap_type_name(MEM_ACPI_RECLAIM), "ACPI reclaim");
    assert_string_equal(memmap_type_name(MEM_ACPI_NVS), "ACPI NVS");
    assert_string_equal(memmap_type_name(MEM_BAD), "bad");
    assert_string_equal(memmap_type_name(0), "unknown");
    assert_string_equal(memmap_type_name(6), "unknown");
    assert_string_equal(memmap_type_name(0xffffffffu), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_punch_middle_splits_in_three),
        cmocka_unit_test(test_punch_at_edges),
        cmocka_unit_test(test_full_containment),
        cmocka_unit_test(test_identical_duplicates),
        cmocka_unit_test(test_zero_length_dropped),
        cmocka_unit_test(test_adjacent_merge),
        cmocka_unit_test(test_unsorted_input),
        cmocka_unit_test(test_priority_order),
        cmocka_unit_test(test_unknown_type_counts_as_reserved),
        cmocka_unit_test(test_wraparound_clipped),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_random_wide_coordinates),
        cmocka_unit_test(test_hostile_large_input),
        cmocka_unit_test(test_total),
        cmocka_unit_test(test_type_name),
    };
    return cmocka_run_group_tests_name("memmap", tests, NULL, NULL);
}
