/* dom0/kernel/lineedit.c: the shell's line editor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dom0/kernel/lineedit.h"

/* Feed a string; returns the last event, the echo of all bytes in echo_all. */
static enum le_event feed(struct lineed *le, const char *s, char *echo_all, size_t len)
{
    enum le_event ev = LE_MORE;
    char e[LE_ECHO_MAX];
    echo_all[0] = 0;
    for (; *s; s++) {
        ev = le_feed(le, (unsigned char)*s, e, sizeof(e));
        strncat(echo_all, e, len - strlen(echo_all) - 1);
        if (ev != LE_MORE)
            break;
    }
    return ev;
}

static void test_simple_line(void **state)
{
    (void)state;
    struct lineed le;
    char echo[1024];
    le_init(&le);
    assert_int_equal(feed(&le, "list\r", echo, sizeof(echo)), LE_LINE);
    assert_string_equal(le.buf, "list");
    assert_string_equal(echo, "list\n");
    le_reset(&le);
    /* The LF of a CR LF pair is not an empty line. */
    assert_int_equal(feed(&le, "\ninfo\n", echo, sizeof(echo)), LE_LINE);
    assert_string_equal(le.buf, "info");
    assert_string_equal(echo, "info\n");
    le_reset(&le);
    assert_int_equal(feed(&le, "x\r", echo, sizeof(echo)), LE_LINE);
    le_reset(&le);
    /* A lone LF ends a line too. */
    assert_int_equal(feed(&le, "y", echo, sizeof(echo)), LE_MORE);
    assert_int_equal(feed(&le, "\n", echo, sizeof(echo)), LE_LINE);
    assert_string_equal(le.buf, "y");
}

static void test_crlf_then_empty(void **state)
{
    (void)state;
    struct lineed le;
    char echo[64];
    le_init(&le);
    assert_int_equal(feed(&le, "a\r", echo, sizeof(echo)), LE_LINE);
    le_reset(&le);
    assert_int_equal(le_feed(&le, '\n', echo, sizeof(echo)), LE_MORE);
    /* A second CR is an empty line. */
    assert_int_equal(le_feed(&le, '\r', echo, sizeof(echo)), LE_LINE);
    assert_string_equal(le.buf, "");
}

static void test_backspace(void **state)
{
    (void)state;
    struct lineed le;
    char echo[1024];
    le_init(&le);
    assert_int_equal(feed(&le, "lisx\b", echo, sizeof(echo)), LE_MORE);
    assert_string_equal(echo, "lisx\b \b");
    assert_int_equal(feed(&le, "t\x7f\x7f\x7f\x7f\x7f\x7f", echo, sizeof(echo)), LE_MORE);
    /* Only as many erasures as there were characters. */
    assert_string_equal(echo, "t\b \b\b \b\b \b\b \b");
    assert_int_equal(le.len, 0);
    assert_int_equal(feed(&le, "ok\r", echo, sizeof(echo)), LE_LINE);
    assert_string_equal(le.buf, "ok");
}

static void test_ctrl_u_ctrl_c(void **state)
{
    (void)state;
    struct lineed le;
    char echo[1024];
    le_init(&le);
    assert_int_equal(feed(&le, "abc\x15", echo, sizeof(echo)), LE_MORE);
    assert_string_equal(echo, "abc\b \b\b \b\b \b");
    assert_int_equal(le.len, 0);
    assert_int_equal(feed(&le, "xyz\x03", echo, sizeof(echo)), LE_CANCEL);
    assert_string_equal(echo, "xyz^C\n");
    assert_string_equal(le.buf, "");
}

static void test_escape_and_controls(void **state)
{
    (void)state;
    struct lineed le;
    char echo[1024];
    le_init(&le);
    /* Up arrow, Home (ESC O H), Delete (ESC [ 3 ~), a tab, a bell, high bytes. */
    assert_int_equal(feed(&le, "a\x1b[Ab\x1bOHc\x1b[3~d\t\a\xc3\xa9" "e\r", echo, sizeof(echo)), LE_LINE);
    assert_string_equal(le.buf, "abcde");
    assert_string_equal(echo, "abcde\n");
    le_reset(&le);
    /* ESC followed by something else just drops the ESC. */
    assert_int_equal(feed(&le, "\x1bxy\r", echo, sizeof(echo)), LE_LINE);
    assert_string_equal(le.buf, "y");
}

static void test_full_line(void **state)
{
    (void)state;
    struct lineed le;
    char e[LE_ECHO_MAX];
    le_init(&le);
    for (int i = 0; i < LINE_MAX; i++)
        assert_int_equal(le_feed(&le, 'a' + i % 26, e, sizeof(e)), LE_MORE);
    assert_int_equal(le.len, LINE_MAX);
    assert_int_equal(le_feed(&le, 'z', e, sizeof(e)), LE_MORE);
    assert_string_equal(e, "\a");
    assert_int_equal(le.len, LINE_MAX);
    assert_int_equal(le_feed(&le, '\r', e, sizeof(e)), LE_LINE);
    assert_int_equal(strlen(le.buf), LINE_MAX);
    /* A tiny echo buffer is still NUL-terminated. */
    le_reset(&le);
    char small[2];
    le_feed(&le, 'q', small, sizeof(small));
    le_feed(&le, 0x7f, small, sizeof(small));
    assert_string_equal(small, "\b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_line),   cmocka_unit_test(test_crlf_then_empty),
        cmocka_unit_test(test_backspace),     cmocka_unit_test(test_ctrl_u_ctrl_c),
        cmocka_unit_test(test_escape_and_controls), cmocka_unit_test(test_full_line),
    };
    return cmocka_run_group_tests_name("dom0_lineedit", tests, NULL, NULL);
}
