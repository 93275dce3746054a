/* dom0/kernel/util.c: the shell's pure helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dom0/kernel/util.h"
#include "plinth/errno.h"

static void test_errno_name(void **state)
{
    (void)state;
    assert_string_equal(errno_name(-PL_EPERM), "EPERM");
    assert_string_equal(errno_name(PL_ENOENT), "ENOENT");
    assert_string_equal(errno_name(-PL_ENOSYS), "ENOSYS");
    assert_string_equal(errno_name(-PL_ETIMEDOUT), "ETIMEDOUT");
    assert_string_equal(errno_name(0), "OK");
    assert_string_equal(errno_name(-99), "E?");
}

static void test_parse_uint(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(parse_uint("0", 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(parse_uint("65535", 65535, &v), 0);
    assert_int_equal(v, 65535);
    assert_int_equal(parse_uint("0x1F", 100, &v), 0);
    assert_int_equal(v, 31);
    assert_int_equal(parse_uint("65536", 65535, &v), -PL_ERANGE);
    assert_int_equal(parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse_uint("18446744073709551616", UINT64_MAX, &v), -PL_ERANGE);
    assert_int_equal(parse_uint("99999999999999999999999x", UINT64_MAX, &v), -PL_EINVAL);
    assert_int_equal(parse_uint("", 10, &v), -PL_EINVAL);
    assert_int_equal(parse_uint("0x", 10, &v), -PL_EINVAL);
    assert_int_equal(parse_uint("-1", 10, &v), -PL_EINVAL);
    assert_int_equal(parse_uint("1 ", 10, &v), -PL_EINVAL);
    assert_int_equal(parse_uint("12a", 1000, &v), -PL_EINVAL);
    assert_int_equal(parse_uint(NULL, 10, &v), -PL_EINVAL);
}

static void cpus_ok(const char *s, uint64_t want)
{
    uint64_t m = 0;
    char err[128] = "";
    assert_int_equal(parse_cpulist(s, &m, err, sizeof(err)), 0);
    assert_true(m == want);
}

static void cpus_bad(const char *s, const char *msg)
{
    uint64_t m = 0x1234;
    char err[128] = "";
    assert_int_equal(parse_cpulist(s, &m, err, sizeof(err)), -PL_EINVAL);
    assert_true(m == 0x1234);
    assert_string_equal(err, msg);
}

static void test_parse_cpulist(void **state)
{
    (void)state;
    cpus_ok("0", 1);
    cpus_ok("0-1,3", 0xb);
    cpus_ok("3,0-1", 0xb);
    cpus_ok("2-2", 4);
    cpus_ok("63", 1ull << 63);
    cpus_ok("0-63", ~0ull);
    cpus_ok("all", ~0ull);
    cpus_ok("0x2", 4);
    cpus_bad("", "empty CPU list");
    cpus_bad("64", "\"64\": CPU 64 is above 63");
    cpus_bad("3-1", "\"3-1\": range 3-1 goes backwards");
    cpus_bad("1,", "\"1,\": expected a CPU number at \"\"");
    cpus_bad("a", "\"a\": expected a CPU number at \"a\"");
    cpus_bad("1-", "\"1-\": expected a CPU number at \"\"");
    cpus_bad("1;2", "\"1;2\": unexpected \";\"");
    cpus_bad("99999999999999999999", "\"99999999999999999999\": CPU 99999999999999999999 is above 63");
    cpus_bad("1-64", "\"1-64\": CPU 64 is above 63");
    cpus_bad("0x40", "\"0x40\": CPU 0x40 is above 63");
}

static void test_format_cpulist(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(format_cpulist(0xb, b, sizeof(b)), "0-1,3");
    assert_string_equal(format_cpulist(1, b, sizeof(b)), "0");
    assert_string_equal(format_cpulist(0, b, sizeof(b)), "none");
    assert_string_equal(format_cpulist(~0ull, b, sizeof(b)), "all");
    assert_string_equal(format_cpulist(0x5555, b, sizeof(b)), "0,2,4,6,8,10,12,14");
    assert_string_equal(format_cpulist(1ull << 63 | 3, b, sizeof(b)), "0-1,63");
    assert_string_equal(format_cpulist(0x5555, b, 6), "0,2,4"); /* truncated at a whole entry */
    /* Round trip. */
    uint64_t m;
    char err[64];
    assert_int_equal(parse_cpulist(format_cpulist(0xf0f1, b, sizeof(b)), &m, err, sizeof(err)), 0);
    assert_true(m == 0xf0f1);
}

static void test_split_args(void **state)
{
    (void)state;
    char *argv[5];
    char l1[] = "  vcpu-pin\tweb  all 0-1 ";
    assert_int_equal(split_args(l1, argv, 5), 4);
    assert_string_equal(argv[0], "vcpu-pin");
    assert_string_equal(argv[1], "web");
    assert_string_equal(argv[2], "all");
    assert_string_equal(argv[3], "0-1");
    assert_null(argv[4]);
    char l2[] = "create \"my file.cfg\" x\"y z\"";
    assert_int_equal(split_args(l2, argv, 5), 3);
    assert_string_equal(argv[1], "my file.cfg");
    assert_string_equal(argv[2], "xy z");
    char l3[] = "";
    assert_int_equal(split_args(l3, argv, 5), 0);
    assert_null(argv[0]);
    char l4[] = "   ";
    assert_int_equal(split_args(l4, argv, 5), 0);
    char l5[] = "a b c d e";
    assert_int_equal(split_args(l5, argv, 5), -PL_E2BIG);
    char l6[] = "a \"b";
    assert_int_equal(split_args(l6, argv, 5), -PL_EINVAL);
    char l7[] = "\"\"";
    assert_int_equal(split_args(l7, argv, 5), 1);
    assert_string_equal(argv[0], "");
}

static void test_dom_resolve(void **state)
{
    (void)state;
    const struct dom_ref d[] = { { 1, "dom0" }, { 2, "web" }, { 5, "db" }, { 7, "twin" }, { 9, "twin" }, { 12, "3" } };
    char err[128];
    assert_int_equal(dom_resolve("web", d, 6, err, sizeof(err)), 1);
    assert_int_equal(dom_resolve("5", d, 6, err, sizeof(err)), 2);
    assert_int_equal(dom_resolve("0x5", d, 6, err, sizeof(err)), 2);
    assert_int_equal(dom_resolve("1", d, 6, err, sizeof(err)), 0);
    assert_int_equal(dom_resolve("4", d, 6, err, sizeof(err)), -PL_ENOENT);
    assert_string_equal(err, "no domain with id 4");
    assert_int_equal(dom_resolve("mail", d, 6, err, sizeof(err)), -PL_ENOENT);
    assert_string_equal(err, "no domain called \"mail\"");
    assert_int_equal(dom_resolve("twin", d, 6, err, sizeof(err)), -PL_EEXIST);
    assert_string_equal(err, "several domains are called \"twin\" (ids 7 and 9): use the id");
    assert_int_equal(dom_resolve("9", d, 6, err, sizeof(err)), 4);
    /* A number is always an id, even when a domain is named like one. */
    assert_int_equal(dom_resolve("3", d, 6, err, sizeof(err)), -PL_ENOENT);
    assert_int_equal(dom_resolve("", d, 6, err, sizeof(err)), -PL_ENOENT);
    assert_int_equal(dom_resolve("web", d, 0, err, sizeof(err)), -PL_ENOENT);
    assert_int_equal(dom_resolve("Web", d, 6, err, sizeof(err)), -PL_ENOENT);
}

static void test_module_name(void **state)
{
    (void)state;
    char n[16];
    module_name("web.cfg type=file", n, sizeof(n));
    assert_string_equal(n, "web.cfg");
    module_name("type=file  guests/web.elf extra", n, sizeof(n));
    assert_string_equal(n, "guests/web.elf");
    module_name("type=file", n, sizeof(n));
    assert_string_equal(n, "");
    module_name("", n, sizeof(n));
    assert_string_equal(n, "");
    module_name("averyveryverylongname.cfg", n, sizeof(n));
    assert_string_equal(n, "averyveryverylo");
    assert_true(module_matches("guests/web.elf", "guests/web.elf"));
    assert_true(module_matches("guests/web.elf", "web.elf"));
    assert_false(module_matches("guests/web.elf", "web"));
    assert_false(module_matches("guests/web.elf", "guests"));
    assert_false(module_matches("web.elf", ""));
    assert_true(module_matches("web.cfg", "web.cfg"));
}

static void test_cmdline_value(void **state)
{
    (void)state;
    char v[16];
    assert_true(cmdline_value("dom0 script=boot.sh console=direct", "script", v, sizeof(v)));
    assert_string_equal(v, "boot.sh");
    assert_true(cmdline_value("script=\"a b\"", "script", v, sizeof(v)));
    assert_string_equal(v, "\"a"); /* words split at spaces: quotes only strip a whole word */
    assert_true(cmdline_value("x script=\"ab\"", "script", v, sizeof(v)));
    assert_string_equal(v, "ab");
    assert_false(cmdline_value("scripts=x myscript=y script", "script", v, sizeof(v)));
    assert_false(cmdline_value("", "script", v, sizeof(v)));
    assert_true(cmdline_value("script=", "script", v, sizeof(v)));
    assert_string_equal(v, "");
}

static void test_bump_place(void **state)
{
    (void)state;
    const uint64_t M2 = 2ull << 20;
    uint64_t a;
    assert_int_equal(bump_place(0x1000, 0x100000, 16, 8, &a), 0);
    assert_true(a == 0x1000);
    assert_int_equal(bump_place(0x1001, 0x100000, 16, 4096, &a), 0);
    assert_true(a == 0x2000);
    /* Would cross 2 MiB: moved to the boundary. */
    assert_int_equal(bump_place(M2 - 0x1000, 4 * M2, 0x2000, 8, &a), 0);
    assert_true(a == M2);
    /* Exactly up to the boundary is fine. */
    assert_int_equal(bump_place(M2 - 0x1000, 4 * M2, 0x1000, 8, &a), 0);
    assert_true(a == M2 - 0x1000);
    /* A whole 2 MiB chunk. */
    assert_int_equal(bump_place(0x1000, 4 * M2, M2, 8, &a), 0);
    assert_true(a == M2);
    /* Larger than 2 MiB may cross. */
    assert_int_equal(bump_place(0x1000, 4 * M2, M2 + 8, 8, &a), 0);
    assert_true(a == 0x1000);
    assert_int_equal(bump_place(0x1000, 0x2000, 0x1001, 8, &a), -PL_ENOMEM);
    assert_int_equal(bump_place(0x1000, 0x2000, 0x1000, 8, &a), 0);
    assert_int_equal(bump_place(0x1000, 0x2000, 8, 12, &a), -PL_EINVAL);
    assert_int_equal(bump_place(0x1000, 0x2000, 8, 0, &a), -PL_EINVAL);
    assert_int_equal(bump_place(UINT64_MAX - 4, UINT64_MAX, 8, 16, &a), -PL_ENOMEM);
    assert_int_equal(bump_place(0x3000, 0x2000, 8, 8, &a), -PL_ENOMEM);
    assert_int_equal(bump_place(0x1000, 0x2000, 0, 8, &a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_name),    cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_parse_cpulist), cmocka_unit_test(test_format_cpulist),
        cmocka_unit_test(test_split_args),    cmocka_unit_test(test_dom_resolve),
        cmocka_unit_test(test_module_name),   cmocka_unit_test(test_cmdline_value),
        cmocka_unit_test(test_bump_place),
    };
    return cmocka_run_group_tests_name("dom0_util", tests, NULL, NULL);
}
