#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hv/cmdline.h"

static void expect_word(const char **cur, const char *key, const char *val)
{
    struct cmdline_opt o;
    bool err;
    assert_true(cmdline_next(cur, &o, &err));
    assert_false(err);
    assert_int_equal(o.key_len, strlen(key));
    assert_memory_equal(o.key, key, o.key_len);
    if (!val) {
        assert_null(o.val);
    } else {
        assert_non_null(o.val);
        assert_int_equal(o.val_len, strlen(val));
        assert_memory_equal(o.val, val, o.val_len);
    }
}

static void test_words(void **state)
{
    (void)state;
    const char *cur = "  console=com2,9600\tloglvl=debug  quiet x2apic=off empty= ";
    expect_word(&cur, "console", "com2,9600");
    expect_word(&cur, "loglvl", "debug");
    expect_word(&cur, "quiet", NULL);
    expect_word(&cur, "x2apic", "off");
    expect_word(&cur, "empty", "");
    struct cmdline_opt o;
    bool err;
    assert_false(cmdline_next(&cur, &o, &err));
}

static void test_quotes(void **state)
{
    (void)state;
    const char *cur = "name=\"two words\" next";
    expect_word(&cur, "name", "two words");
    expect_word(&cur, "next", NULL);

    const char *bad = "name=\"unterminated";
    struct cmdline_opt o;
    bool err;
    assert_true(cmdline_next(&bad, &o, &err));
    assert_true(err);
    assert_false(cmdline_next(&bad, &o, &err));
}

static void test_key_val_compare(void **state)
{
    (void)state;
    const char *cur = "console=com1 consolex=1";
    struct cmdline_opt o;
    bool err;
    cmdline_next(&cur, &o, &err);
    assert_true(cmdline_key_is(&o, "console"));
    assert_false(cmdline_key_is(&o, "consol"));
    assert_true(cmdline_val_is(&o, "com1"));
    assert_false(cmdline_val_is(&o, "com"));
    cmdline_next(&cur, &o, &err);
    assert_false(cmdline_key_is(&o, "console"));
}

static void test_numbers(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(cmdline_parse_u64("115200", 6, false, &v));
    assert_int_equal(v, 115200);
    assert_true(cmdline_parse_u64("0x3f8", 5, false, &v));
    assert_int_equal(v, 0x3f8);
    assert_true(cmdline_parse_u64("512M", 4, true, &v));
    assert_int_equal(v, 512ull << 20);
    assert_true(cmdline_parse_u64("2g", 2, true, &v));
    assert_int_equal(v, 2ull << 30);
    assert_true(cmdline_parse_u64("18446744073709551615", 20, false, &v));
    assert_int_equal(v, UINT64_MAX);
    assert_false(cmdline_parse_u64("18446744073709551616", 20, false, &v));
    assert_false(cmdline_parse_u64("512M", 4, false, &v));
    assert_false(cmdline_parse_u64("", 0, true, &v));
    assert_false(cmdline_parse_u64("0x", 2, true, &v));
    assert_false(cmdline_parse_u64("M", 1, true, &v));
    assert_false(cmdline_parse_u64("12a", 3, false, &v));
    assert_true(cmdline_parse_u64("16777216G", 9, true, &v)); /* 2^54 */
    assert_int_equal(v, 1ull << 54);
    assert_false(cmdline_parse_u64("17179869184G", 12, true, &v)); /* 2^64 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_key_val_compare),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
