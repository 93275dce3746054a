/* The virtio-mmio register model with a dummy two-queue device type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/unit/test_virtio_drv.h"

struct dummy {
    struct vmmio_dev d;
    uint8_t config[8];
    unsigned notifies[VMMIO_MAX_QUEUES], resets, cfg_writes;
    uint32_t last_cfg_off;
    uint64_t last_cfg_val;
    unsigned irqs;
    uint32_t last_irq_status;
};

/* Echo device: returns every chain with len = bytes it may write. */
static int dummy_notify(struct vmmio_dev *d, unsigned q)
{
    struct dummy *x = d->priv;
    x->notifies[q]++;
    struct vq *vq = vmmio_vq(d, q);
    struct vq_chain c;
    struct vq_seg s[64];
    int r;
    unsigned n = 0;
    while ((r = vq_pop(vq, &c, s, 64)) > 0) {
        vq_push(vq, c.head, (uint32_t)c.write_len);
        n++;
    }
    if (r < 0)
        vmmio_fail(d, r);
    if (n)
        vmmio_queue_done(d, q);
    return 0;
}

static void dummy_reset(struct vmmio_dev *d) { ((struct dummy *)d->priv)->resets++; }

static void dummy_cfg_write(struct vmmio_dev *d, uint32_t off, unsigned size, uint64_t v)
{
    struct dummy *x = d->priv;
    (void)size;
    x->cfg_writes++;
    x->last_cfg_off = off;
    x->last_cfg_val = v;
}

static const struct vmmio_ops dummy_ops = {dummy_notify, dummy_reset, NULL, dummy_cfg_write};

static void dummy_irq(void *ctx, uint32_t status)
{
    ((struct dummy *)ctx)->irqs++;
    ((struct dummy *)ctx)->last_irq_status = status;
}

static struct dummy *dummy_new(const struct guestmem *gm)
{
    struct dummy *x = calloc(1, sizeof *x);
    for (unsigned i = 0; i < sizeof x->config; i++)
        x->config[i] = (uint8_t)(0x10 + i);
    assert_int_equal(vmmio_init(&x->d, gm, 42, VIRTIO_BIT(3), 2, 64, x->config, sizeof x->config, &dummy_ops, x), 0);
    vmmio_set_irq(&x->d, dummy_irq, x);
    return x;
}

static void test_init_checks(void **state)
{
    (void)state;
    struct guestmem gm = {(uint8_t *)"", 1};
    struct vmmio_dev d;
    uint8_t cfg[4] = {0};
    assert_int_equal(vmmio_init(&d, &gm, 1, 0, 0, 64, cfg, 4, &dummy_ops, NULL), -PL_EINVAL);
    assert_int_equal(vmmio_init(&d, &gm, 1, 0, VMMIO_MAX_QUEUES + 1, 64, cfg, 4, &dummy_ops, NULL), -PL_EINVAL);
    assert_int_equal(vmmio_init(&d, &gm, 1, 0, 1, 48, cfg, 4, &dummy_ops, NULL), -PL_EINVAL);
    assert_int_equal(vmmio_init(&d, &gm, 1, 0, 1, 64, cfg, VMMIO_CONFIG_MAX + 1, &dummy_ops, NULL), -PL_EINVAL);
    assert_int_equal(vmmio_init(&d, &gm, 1, 0, 1, 64, NULL, 4, &dummy_ops, NULL), -PL_EINVAL);
    struct vmmio_ops none = {0};
    assert_int_equal(vmmio_init(&d, &gm, 1, 0, 1, 64, cfg, 4, &none, NULL), -PL_EINVAL);
    assert_int_equal(vmmio_init(&d, &gm, 1, 0, 1, 64, cfg, 4, &dummy_ops, NULL), 0);
    assert_int_equal(d.device_features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

static void test_config_space(void **state)
{
    (void)state;
    struct guestmem gm = tram_new(TRAM_SIZE);
    struct dummy *x = dummy_new(&gm);
    assert_int_equal(vmmio_read(&x->d, VMMIO_CONFIG, 1), 0x10);
    assert_int_equal(vmmio_read(&x->d, VMMIO_CONFIG + 2, 2), 0x1312);
    assert_int_equal(vmmio_read(&x->d, VMMIO_CONFIG + 4, 4), 0x17161514);
    assert_int_equal(vmmio_read(&x->d, VMMIO_CONFIG, 8), 0x1716151413121110ull);
    assert_int_equal(vmmio_read(&x->d, VMMIO_CONFIG + 4, 8), 0);    /* misaligned */
    assert_int_equal(vmmio_read(&x->d, VMMIO_CONFIG, 3), 0);
    assert_int_equal(vmmio_read(&x->d, VMMIO_CONFIG + 8, 4), 0);    /* beyond */
    vmmio_write(&x->d, VMMIO_CONFIG + 4, 4, 0xAB);
    assert_int_equal(x->cfg_writes, 1);
    assert_int_equal(x->last_cfg_off, 4);
    vmmio_write(&x->d, VMMIO_CONFIG + 6, 4, 1);   /* misaligned */
    vmmio_write(&x->d, VMMIO_CONFIG + 8, 1, 1);   /* beyond */
    vmmio_write(&x->d, VMMIO_WINDOW + 4, 4, 1);   /* outside the window */
    assert_int_equal(x->cfg_writes, 1);
    uint32_t gen = (uint32_t)vmmio_read(&x->d, VMMIO_CONFIG_GENERATION, 4);
    vmmio_config_changed(&x->d);
    assert_int_equal(vmmio_read(&x->d, VMMIO_CONFIG_GENERATION, 4), gen + 1);
    assert_int_equal(x->irqs, 0);                 /* no DRIVER_OK yet */
    struct tdrv t;
    assert_true(tdrv_up(&t, &x->d, &gm, VIRTIO_BIT(VIRTIO_F_VERSION_1), 16));
    vmmio_config_changed(&x->d);
    assert_int_equal(x->irqs, 1);
    /* A configuration change, for the hypervisor's InterruptStatus. */
    assert_int_equal(x->last_irq_status, VMMIO_INT_CONFIG);
    free(x);
    tram_free(&gm);
}

static void test_queues(void **state)
{
    (void)state;
    struct guestmem gm = tram_new(TRAM_SIZE);
    struct dummy *x = dummy_new(&gm);
    struct tdrv t0, t1;
    assert_true(tdrv_negotiate(&t0, &x->d, &gm, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(3)));
    tdrv_queue(&t0, 0, 16, 0x0000, 0x1000, 0x2000);
    t1 = t0;
    tdrv_queue(&t1, 1, 64, 0x20000, 0x21000, 0x22000);
    tdrv_driver_ok(&t0);
    assert_true(vmmio_live(&x->d));
    assert_true(vmmio_has_feature(&x->d, 3));
    /* registers of a ready queue do not change */
    tdrv_wr(&t0, VMMIO_QUEUE_SEL, 0);
    assert_int_equal(tdrv_rd(&t0, VMMIO_QUEUE_READY), 1);
    uint64_t desc_before = x->d.q[0].desc;
    assert_int_not_equal(desc_before, 0x8000);
    tdrv_wr(&t0, VMMIO_QUEUE_NUM, 4);
    tdrv_wr(&t0, VMMIO_QUEUE_DESC_LOW, 0x8000);
    assert_int_equal(x->d.q[0].num, 16);
    assert_int_equal(x->d.q[0].desc, desc_before);
    /* notify dispatches per queue; unknown queues are ignored */
    struct tbuf b = {0x30000, 64, true};
    tdrv_post(&t1, &b, 1);
    tdrv_kick(&t1, 1);
    tdrv_kick(&t1, 7);
    tdrv_kick(&t1, 0xFFFFFFFF);
    assert_int_equal(x->notifies[0], 0);
    assert_int_equal(x->notifies[1], 1);
    uint32_t id, len;
    assert_true(tdrv_used(&t1, &id, &len));
    assert_int_equal(len, 64);
    /* queue 0 works too, then a violation on queue 1 leaves queue 0's ring alone */
    tdrv_post(&t0, &b, 1);
    tdrv_kick(&t0, 0);
    assert_true(tdrv_used(&t0, &id, &len));
    uint8_t before[0x3000];
    memcpy(before, gm.base, sizeof before);
    tdrv_desc(&t1, t1.desc, 9, 0x30000, 16, VIRTQ_F_NEXT, 9);
    tdrv_publish(&t1, 9);
    tdrv_kick(&t1, 1);
    assert_true(x->d.status & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(x->d.last_error, -VQ_ELOOP);
    assert_memory_equal(before, gm.base, sizeof before);
    /* the driver cannot clear NEEDS_RESET other than by reset */
    tdrv_wr(&t0, VMMIO_STATUS, 0x0F);
    assert_true(tdrv_rd(&t0, VMMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    tdrv_post(&t0, &b, 1);
    tdrv_kick(&t0, 0);
    assert_int_equal(x->notifies[0], 1);          /* stopped */
    /* QueueReady 0 reads back 0 */
    tdrv_wr(&t0, VMMIO_QUEUE_SEL, 1);
    tdrv_wr(&t0, VMMIO_QUEUE_READY, 0);
    assert_int_equal(tdrv_rd(&t0, VMMIO_QUEUE_READY), 0);
    /* reset */
    unsigned resets = x->resets;
    tdrv_wr(&t0, VMMIO_STATUS, 0);
    assert_int_equal(x->resets, resets + 1);
    assert_int_equal(tdrv_rd(&t0, VMMIO_STATUS), 0);
    tdrv_wr(&t0, VMMIO_QUEUE_SEL, 0);
    assert_int_equal(tdrv_rd(&t0, VMMIO_QUEUE_READY), 0);
    assert_int_equal(tdrv_rd(&t0, VMMIO_QUEUE_NUM_MAX), 64);
    free(x);
    tram_free(&gm);
}

/* Two devices on one guest RAM: one breaking leaves the other live. */
static void test_two_devices(void **state)
{
    (void)state;
    struct guestmem gm = tram_new(TRAM_SIZE);
    struct dummy *a = dummy_new(&gm), *b = dummy_new(&gm);
    struct tdrv ta, tb;
    assert_true(tdrv_negotiate(&ta, &a->d, &gm, VIRTIO_BIT(VIRTIO_F_VERSION_1)));
    tdrv_queue(&ta, 0, 16, 0x0000, 0x1000, 0x2000);
    tdrv_driver_ok(&ta);
    assert_true(tdrv_negotiate(&tb, &b->d, &gm, VIRTIO_BIT(VIRTIO_F_VERSION_1)));
    tdrv_queue(&tb, 0, 16, 0x10000, 0x11000, 0x12000);
    tdrv_driver_ok(&tb);
    ta.avail_idx = 100;
    w16(&gm, 0x1002, 100);                        /* index jump */
    tdrv_kick(&ta, 0);
    assert_true(a->d.status & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(a->irqs, 1);
    struct tbuf buf = {0x30000, 8, true};
    tdrv_post(&tb, &buf, 1);
    tdrv_kick(&tb, 0);
    uint32_t id, len;
    assert_true(tdrv_used(&tb, &id, &len));
    assert_false(b->d.status & VIRTIO_STATUS_NEEDS_RESET);
    free(a);
    free(b);
    tram_free(&gm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_checks),
        cmocka_unit_test(test_config_space),
        cmocka_unit_test(test_queues),
        cmocka_unit_test(test_two_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
