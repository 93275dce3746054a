#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "hv/format.h"

/* Compare with the host C library, which defines the expected behaviour. */
#define CHECK(...)                                                   \
    do {                                                             \
        char ours[128], libc[128];                                   \
        int a = hv_snprintf(ours, sizeof(ours), __VA_ARGS__);        \
        int b = snprintf(libc, sizeof(libc), __VA_ARGS__);           \
        assert_string_equal(ours, libc);                             \
        assert_int_equal(a, b);                                      \
    } while (0)

static void test_integers(void **state)
{
    (void)state;
    CHECK("%d %i %u", -42, 7, 4000000000u);
    CHECK("%x %X %#x %#X %o %#o", 0xbeefu, 0xbeefu, 0x1fu, 0x1fu, 8u, 8u);
    CHECK("%ld %lu %lx", -1234567890123L, 18446744073709551615UL, 0xfedcba9876543210UL);
    CHECK("%lld %llx", -9223372036854775807LL - 1, 0x8000000000000000ULL);
    CHECK("%zu %zx", (size_t)123456, (size_t)0xabc);
    CHECK("%hhu %hd %hhx", 300, 70000, 0x1ff);
    CHECK("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, -42, 42, 42);
    CHECK("[%.3d] [%8.3x] [%.0d]", 5, 0xa, 0);
    CHECK("[%*d] [%-*d] [%.*d]", 6, 1, 6, 1, 4, 3);
    CHECK("%016lx", 0x1234UL);
}

static void test_strings(void **state)
{
    (void)state;
    CHECK("[%s] [%10s] [%-10s] [%.2s]", "abc", "abc", "abc", "abc");
    CHECK("%c%c%c %%", 'p', 'l', 'n');
    CHECK("%p", (void *)0x1000);
}

static void test_truncation(void **state)
{
    (void)state;
    char buf[8];
    int n = hv_snprintf(buf, sizeof(buf), "hello, world");
    assert_int_equal(n, 12);
    assert_string_equal(buf, "hello, ");
    n = hv_snprintf(buf, 0, "abc");
    assert_int_equal(n, 3);
    char one[1] = { 'x' };
    hv_snprintf(one, 1, "abc");
    assert_int_equal(one[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
