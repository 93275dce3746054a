/* Guest-memory views and the split-virtqueue reader/writer on their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dom0/virtio/virtq.h"

static void test_gm_ptr(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct guestmem gm = {buf, sizeof buf};
    assert_ptr_equal(gm_ptr(&gm, 0, 64), buf);
    assert_ptr_equal(gm_ptr(&gm, 63, 1), buf + 63);
    assert_ptr_equal(gm_ptr(&gm, 64, 0), buf + 64);
    assert_null(gm_ptr(&gm, 64, 1));
    assert_null(gm_ptr(&gm, 0, 65));
    assert_null(gm_ptr(&gm, 65, 0));
    assert_null(gm_ptr(&gm, UINT64_MAX, 2));
    assert_null(gm_ptr(&gm, 2, UINT64_MAX));
    assert_null(gm_ptr(&gm, UINT64_MAX, UINT64_MAX));
    assert_null(gm_ptr(NULL, 0, 0));
    struct guestmem none = {NULL, 100};
    assert_null(gm_ptr(&none, 0, 1));
}

static void test_need_event(void **state)
{
    (void)state;
    /* used_event e: notify when new passes e, i.e. old <= e < new (mod 2^16). */
    assert_true(vq_need_event(5, 6, 5));
    assert_false(vq_need_event(6, 6, 5));
    assert_true(vq_need_event(5, 10, 0));
    assert_false(vq_need_event(10, 10, 0));
    assert_true(vq_need_event(0xFFFF, 2, 0xFFF0));   /* wraps */
    assert_false(vq_need_event(3, 2, 0xFFF0));
}

static void test_setup_checks(void **state)
{
    (void)state;
    uint8_t *ram = calloc(1, 65536);
    struct guestmem gm = {ram, 65536};
    struct vq q;
    assert_int_equal(vq_setup(&q, &gm, 256, 0, 4096, 8192, true, false), 0);
    assert_true(vq_ready(&q));
    assert_int_equal(vq_setup(&q, &gm, 0, 0, 4096, 8192, true, false), -VQ_EBADSIZE);
    assert_false(vq_ready(&q));
    assert_int_equal(vq_setup(&q, &gm, 3, 0, 4096, 8192, true, false), -VQ_EBADSIZE);
    assert_int_equal(vq_setup(&q, &gm, 65536, 0, 4096, 8192, true, false), -VQ_EBADSIZE);
    assert_int_equal(vq_setup(&q, &gm, 32768, 0, 4096, 8192, true, false), -VQ_ERINGRANGE);
    assert_int_equal(vq_setup(&q, &gm, 16, 4, 4096, 8192, true, false), -VQ_EALIGN);
    assert_int_equal(vq_setup(&q, &gm, 16, 0, 4095, 8192, true, false), -VQ_EALIGN);
    assert_int_equal(vq_setup(&q, &gm, 16, 0, 4096, 8190, true, false), -VQ_EALIGN);
    assert_int_equal(vq_setup(&q, &gm, 16, 65536 - 16 * 16, 4096, 8192, true, false), 0);
    assert_int_equal(vq_setup(&q, &gm, 16, 65536 - 16 * 15, 4096, 8192, true, false), -VQ_ERINGRANGE);
    assert_int_equal(vq_setup(&q, &gm, 16, 0, 65536 - 38, 8192, true, false), 0);
    assert_int_equal(vq_setup(&q, &gm, 16, 0, 65536 - 36, 8192, true, false), -VQ_ERINGRANGE);
    assert_int_equal(vq_setup(&q, &gm, 16, 0, 4096, 65536 - 132, true, false), -VQ_ERINGRANGE);
    assert_int_equal(vq_setup(&q, &gm, 16, 0, 4096, UINT64_MAX - 3, true, false), -VQ_ERINGRANGE);
    /* Nothing set up: pop/push refuse. */
    struct vq_chain c;
    struct vq_seg s[4];
    vq_disable(&q);
    assert_int_equal(vq_pop(&q, &c, s, 4), -VQ_ENOTREADY);
    assert_int_equal(vq_push(&q, 0, 0), -VQ_ENOTREADY);
    assert_false(vq_should_notify(&q));
    free(ram);
}

static void put_desc(uint8_t *ram, uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint8_t *p = ram + table + 16 * i;
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

static void avail_add(uint8_t *ram, uint64_t avail, uint16_t qsize, uint16_t head)
{
    uint16_t idx;
    memcpy(&idx, ram + avail + 2, 2);
    memcpy(ram + avail + 4 + 2 * (idx % qsize), &head, 2);
    idx++;
    memcpy(ram + avail + 2, &idx, 2);
}

static void test_pop_push(void **state)
{
    (void)state;
    uint8_t *ram = calloc(1, 65536);
    struct guestmem gm = {ram, 65536};
    struct vq q;
    assert_int_equal(vq_setup(&q, &gm, 8, 0, 4096, 8192, false, false), 0);
    struct vq_chain c;
    struct vq_seg s[8];
    assert_int_equal(vq_pop(&q, &c, s, 8), 0);
    put_desc(ram, 0, 3, 0x4000, 16, VIRTQ_F_NEXT, 5);
    put_desc(ram, 0, 5, 0x5000, 0, VIRTQ_F_NEXT, 1);          /* zero length: skipped */
    put_desc(ram, 0, 1, 0x6000, 100, VIRTQ_F_WRITE, 0);
    avail_add(ram, 4096, 8, 3);
    assert_int_equal(vq_avail_count(&q), 1);
    assert_int_equal(vq_pop(&q, &c, s, 8), 1);
    assert_int_equal(c.head, 3);
    assert_int_equal(c.nseg, 2);
    assert_int_equal(c.nread, 1);
    assert_int_equal(c.read_len, 16);
    assert_int_equal(c.write_len, 100);
    assert_int_equal(s[0].gpa, 0x4000);
    assert_true(s[1].write);
    assert_int_equal(vq_pop(&q, &c, s, 8), 0);
    /* segment capacity */
    avail_add(ram, 4096, 8, 3);
    assert_int_equal(vq_pop(&q, &c, s, 1), -VQ_ETOOMANY);
    assert_int_equal(vq_pop(&q, &c, s, 2), 1);
    assert_int_equal(vq_push(&q, 3, 100), 0);
    assert_int_equal(vq_push(&q, 3, 100), 0);
    assert_int_equal(vq_push(&q, 3, 100), -VQ_EOVERRUN);
    uint16_t used_idx;
    memcpy(&used_idx, ram + 8192 + 2, 2);
    assert_int_equal(used_idx, 2);
    uint32_t id, len;
    memcpy(&id, ram + 8192 + 4 + 8, 4);
    memcpy(&len, ram + 8192 + 8 + 8, 4);
    assert_int_equal(id, 3);
    assert_int_equal(len, 100);
    assert_true(vq_should_notify(&q));
    /* indirect not negotiated */
    put_desc(ram, 0, 2, 0x7000, 32, VIRTQ_F_INDIRECT, 0);
    avail_add(ram, 4096, 8, 2);
    assert_int_equal(vq_pop(&q, &c, s, 8), -VQ_EINDIRECT);
    assert_int_equal(vq_pop(&q, &c, s, 8), -VQ_EINDIRECT);   /* nothing consumed */
    free(ram);
}

/* An indirect table may hold no more entries than the caller has segments
 * for, zero-length ones included: they take no segment, so otherwise a
 * table as big as guest RAM would be walked for every request. */
static void test_indirect_bound(void **state)
{
    (void)state;
    uint8_t *ram = calloc(1, 65536);
    struct guestmem gm = {ram, 65536};
    struct vq q;
    assert_int_equal(vq_setup(&q, &gm, 8, 0, 4096, 8192, false, true), 0);
    struct vq_chain c;
    struct vq_seg s[4];
    /* Table at 0x7000: a header, two zero-length entries, a status byte. */
    put_desc(ram, 0x7000, 0, 0x4000, 16, VIRTQ_F_NEXT, 1);
    put_desc(ram, 0x7000, 1, 0x5000, 0, VIRTQ_F_NEXT, 2);
    put_desc(ram, 0x7000, 2, 0x5000, 0, VIRTQ_F_NEXT, 3);
    put_desc(ram, 0x7000, 3, 0x6000, 1, VIRTQ_F_WRITE, 0);
    put_desc(ram, 0, 0, 0x7000, 4 * 16, VIRTQ_F_INDIRECT, 0);
    avail_add(ram, 4096, 8, 0);
    assert_int_equal(vq_pop(&q, &c, s, 2), -VQ_ETOOMANY);   /* two segments, four entries */
    assert_int_equal(vq_pop(&q, &c, s, 4), 1);              /* room for four: the two real ones */
    assert_int_equal(c.nseg, 2);
    free(ram);
}

/* Wrapping of the 16-bit indices: last_avail near 0xFFFF. */
static void test_index_wrap(void **state)
{
    (void)state;
    uint8_t *ram = calloc(1, 65536);
    struct guestmem gm = {ram, 65536};
    struct vq q;
    assert_int_equal(vq_setup(&q, &gm, 4, 0, 4096, 8192, true, false), 0);
    q.last_avail = 0xFFFE;
    q.used_idx = 0xFFFE;
    uint16_t idx = 0xFFFE;
    memcpy(ram + 4096 + 2, &idx, 2);
    memcpy(ram + 8192 + 2, &idx, 2);
    put_desc(ram, 0, 0, 0x4000, 8, VIRTQ_F_WRITE, 0);
    for (int i = 0; i < 4; i++)
        avail_add(ram, 4096, 4, 0);
    assert_int_equal(vq_avail_count(&q), 4);
    struct vq_chain c;
    struct vq_seg s[2];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vq_pop(&q, &c, s, 2), 1);
        assert_int_equal(vq_push(&q, c.head, 1), 0);
    }
    assert_int_equal(q.last_avail, 2);
    assert_false(vq_enable_notify(&q));
    uint16_t ae;
    memcpy(&ae, ram + 8192 + 4 + 8 * 4, 2);
    assert_int_equal(ae, 2);
    /* jump of 5 on a queue of 4 */
    idx = 2 + 5;
    memcpy(ram + 4096 + 2, &idx, 2);
    assert_int_equal(vq_pop(&q, &c, s, 2), -VQ_EIDXJUMP);
    /* going backwards is a jump too */
    idx = 1;
    memcpy(ram + 4096 + 2, &idx, 2);
    assert_int_equal(vq_pop(&q, &c, s, 2), -VQ_EIDXJUMP);
    free(ram);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int i = 0; i < VQ_ERR_COUNT; i++)
        assert_non_null(vq_strerror(-i));
    assert_string_equal(vq_strerror(-VQ_ELOOP), "descriptor chain loops or exceeds queue size");
    assert_string_equal(vq_strerror(1000), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gm_ptr),      cmocka_unit_test(test_need_event),
        cmocka_unit_test(test_setup_checks), cmocka_unit_test(test_pop_push),
        cmocka_unit_test(test_index_wrap),  cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_indirect_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
