/* dom0/kernel/format.c: kprintf to the console, ksnprintf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ksnprintf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static char console[4096];
static size_t console_len;

/* The console the formatter writes to. */
void console_write(const char *s, size_t n);
void console_write(const char *s, size_t n)
{
    assert_true(console_len + n < sizeof(console));
    memcpy(console + console_len, s, n);
    console_len += n;
    console[console_len] = 0;
}

static void test_kprintf(void **state)
{
    (void)state;
    console_len = 0;
    console[0] = 0;
    assert_int_equal(kprintf("%-6s|%5u|%05d|%x|%llu|%c|%%|%.*s\n", "dom0", 42u, -7, 0xbeefu,
                             18446744073709551615ull, 'z', 3, "abcdef"),
                     53);
    assert_string_equal(console, "dom0  |   42|-0007|beef|18446744073709551615|z|%|abc\n");
    console_len = 0;
    assert_int_equal(kprintf("%s", ""), 0);
    assert_int_equal(console_len, 0);
    int n = kprintf("%p", (void *)0x1000);
    assert_int_equal(n, (int)strlen(console));
    assert_true(n > 0);
}

static void test_ksnprintf(void **state)
{
    (void)state;
    char b[8];
    memset(b, 'X', sizeof(b));
    /* Returns the full length; truncates and NUL-terminates. */
    assert_int_equal(ksnprintf(b, sizeof(b), "created domain %d", 12), 17);
    assert_string_equal(b, "created");
    assert_int_equal(ksnprintf(b, sizeof(b), "%s", "ok"), 2);
    assert_string_equal(b, "ok");
    memset(b, 'X', sizeof(b));
    assert_int_equal(ksnprintf(b, 0, "abc"), 3);
    assert_int_equal(b[0], 'X');
    assert_int_equal(ksnprintf(b, 1, "abc"), 3);
    assert_int_equal(b[0], 0);
    assert_int_equal(ksnprintf(b, sizeof(b), "%ld", -38L), 3);
    assert_string_equal(b, "-38");
    assert_int_equal(ksnprintf(b, sizeof(b), "%zu", (size_t)4096), 4);
    assert_string_equal(b, "4096");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kprintf),
        cmocka_unit_test(test_ksnprintf),
    };
    return cmocka_run_group_tests_name("dom0_format", tests, NULL, NULL);
}
