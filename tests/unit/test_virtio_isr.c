/* Unit tests of the hypervisor's copy of a virtio-mmio window's
 * InterruptStatus (hv/virtio_isr.c): raising, acknowledging, and dropping
 * what the device model raised for the device before a reset it had not
 * yet seen, across sequence-number wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/virtio_isr.h"

#define VRING 1u
#define CONFIG 2u

static void test_raise_and_ack(void **state)
{
    (void)state;
    struct virtio_isr s = { 0 };
    assert_int_equal(virtio_isr_read(&s), 0);
    assert_true(virtio_isr_raise(&s, VRING, 0));
    assert_true(virtio_isr_raise(&s, CONFIG, 5));
    assert_int_equal(virtio_isr_read(&s), VRING | CONFIG);
    virtio_isr_ack(&s, VRING);
    assert_int_equal(virtio_isr_read(&s), CONFIG);
    virtio_isr_ack(&s, 0xFFFFFFFFu);   /* bits not set: nothing else happens */
    assert_int_equal(virtio_isr_read(&s), 0);
}

static void test_reset_drops_stale_raises(void **state)
{
    (void)state;
    struct virtio_isr s = { 0 };
    assert_true(virtio_isr_raise(&s, VRING, 9));
    virtio_isr_reset(&s, 10);
    assert_int_equal(virtio_isr_read(&s), 0);
    /* The device model finished old work before it saw request 10. */
    assert_false(virtio_isr_raise(&s, VRING, 9));
    assert_false(virtio_isr_raise(&s, CONFIG, 3));
    assert_int_equal(virtio_isr_read(&s), 0);
    /* Once it has taken the reset off the ring, raises count again. */
    assert_true(virtio_isr_raise(&s, VRING, 10));
    assert_int_equal(virtio_isr_read(&s), VRING);
    /* ... and stay counted: the reset is behind it for good. */
    assert_true(virtio_isr_raise(&s, CONFIG, 10));
    assert_int_equal(virtio_isr_read(&s), VRING | CONFIG);
}

static void test_reset_later_seq_counts(void **state)
{
    (void)state;
    struct virtio_isr s = { 0 };
    virtio_isr_reset(&s, 100);
    assert_true(virtio_isr_raise(&s, VRING, 250));
    assert_int_equal(virtio_isr_read(&s), VRING);
}

static void test_wrap(void **state)
{
    (void)state;
    struct virtio_isr s = { 0 };
    virtio_isr_reset(&s, 0xFFFFFFF0u);
    assert_false(virtio_isr_raise(&s, VRING, 0xFFFFFFEFu));
    assert_true(virtio_isr_raise(&s, VRING, 0x00000004u));   /* past the wrap, after the reset */
    assert_int_equal(virtio_isr_read(&s), VRING);
    virtio_isr_reset(&s, 2);
    assert_false(virtio_isr_raise(&s, VRING, 0xFFFFFFFEu));  /* before the wrap, before the reset */
    assert_int_equal(virtio_isr_read(&s), 0);
}

static void test_two_resets(void **state)
{
    (void)state;
    struct virtio_isr s = { 0 };
    virtio_isr_reset(&s, 5);
    virtio_isr_reset(&s, 8);
    assert_false(virtio_isr_raise(&s, VRING, 6));   /* saw the first reset, not the second */
    assert_true(virtio_isr_raise(&s, VRING, 8));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raise_and_ack),
        cmocka_unit_test(test_reset_drops_stale_raises),
        cmocka_unit_test(test_reset_later_seq_counts),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_two_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
