#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hv/logring.h"
#include "plinth/errno.h"

static void test_init_rejects_bad_size(void **state)
{
    (void)state;
    struct logring r;
    char buf[24];
    assert_int_equal(logring_init(&r, buf, 24), -PL_EINVAL);
    assert_int_equal(logring_init(&r, buf, 0), -PL_EINVAL);
    assert_int_equal(logring_init(&r, NULL, 16), -PL_EINVAL);
    assert_int_equal(logring_init(&r, buf, 16), 0);
}

static void test_read_back_in_order(void **state)
{
    (void)state;
    struct logring r;
    char buf[16], out[32];
    uint64_t pos = 0, lost = 99;
    logring_init(&r, buf, sizeof(buf));
    logring_write(&r, "hello ", 6);
    logring_write(&r, "world", 5);
    size_t n = logring_read(&r, &pos, out, sizeof(out), &lost);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "hello world", 11);
    assert_int_equal(lost, 0);
    assert_int_equal(pos, 11);
    assert_int_equal(logring_read(&r, &pos, out, sizeof(out), &lost), 0);
}

static void test_wraparound_and_loss(void **state)
{
    (void)state;
    struct logring r;
    char buf[8], out[16];
    uint64_t pos = 0, lost = 0;
    logring_init(&r, buf, sizeof(buf));
    logring_write(&r, "abcdef", 6);
    logring_write(&r, "ghijk", 5); /* 11 bytes into 8: "abc" lost */
    assert_int_equal(logring_tail(&r), 3);
    size_t n = logring_read(&r, &pos, out, sizeof(out), &lost);
    assert_int_equal(lost, 3);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "defghijk", 8);
}

static void test_oversized_write_keeps_last_bytes(void **state)
{
    (void)state;
    struct logring r;
    char buf[4], out[8];
    uint64_t pos = 0, lost = 0;
    logring_init(&r, buf, sizeof(buf));
    logring_write(&r, "0123456789", 10);
    assert_int_equal(r.head, 10);
    size_t n = logring_read(&r, &pos, out, sizeof(out), &lost);
    assert_int_equal(lost, 6);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "6789", 4);
}

static void test_partial_reads(void **state)
{
    (void)state;
    struct logring r;
    char buf[8], out[3];
    uint64_t pos = 0, lost = 0;
    logring_init(&r, buf, sizeof(buf));
    logring_write(&r, "abcdefg", 7);
    assert_int_equal(logring_read(&r, &pos, out, 3, &lost), 3);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(logring_read(&r, &pos, out, 3, &lost), 3);
    assert_memory_equal(out, "def", 3);
    assert_int_equal(logring_read(&r, &pos, out, 3, &lost), 1);
    assert_memory_equal(out, "g", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_rejects_bad_size),
        cmocka_unit_test(test_read_back_in_order),
        cmocka_unit_test(test_wraparound_and_loss),
        cmocka_unit_test(test_oversized_write_keeps_last_bytes),
        cmocka_unit_test(test_partial_reads),
    };
    return cmocka_run_group_tests_name("logring", tests, NULL, NULL);
}
