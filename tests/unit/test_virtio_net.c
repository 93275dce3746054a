/* virtio-net backend over the virtio-mmio model: a frontend built like a
 * real driver (test_virtio_drv.h) with receiveq (0) and transmitq (1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "dom0/virtio/net_backend.h"
#include "tests/unit/test_virtio_drv.h"

/* Queue 1 lives above the helper's queue-0 layout. */
#define TX_DESC 0x20000u
#define TX_AVAIL 0x21000u
#define TX_USED 0x22000u
#define RXBUF 0x30000u   /* receive buffers, 2 KiB each */
#define TXBUF 0x80000u   /* transmit buffers, 2 KiB each */

static const uint8_t MAC[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x01};

struct env {
    struct guestmem gm;
    struct vnet_dev *vn;
    struct tdrv rx, tx;
    unsigned irqs;
    unsigned sent;
    uint8_t last[2048];
    size_t last_len;
};

static void count_irq(void *ctx, uint32_t status)
{
    (void)status;
    ((struct env *)ctx)->irqs++;
}

static void on_tx(void *ctx, const uint8_t *frame, size_t len)
{
    struct env *e = ctx;
    e->sent++;
    assert_true(len <= sizeof e->last);
    memcpy(e->last, frame, len);
    e->last_len = len;
}

#define FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS))

static bool bring_up(struct env *e, uint64_t want)
{
    if (!tdrv_negotiate(&e->rx, &e->vn->mmio, &e->gm, want))
        return false;
    e->tx = e->rx;
    tdrv_queue(&e->rx, VNET_RXQ, 64, T_DESC, T_AVAIL, T_USED);
    tdrv_queue(&e->tx, VNET_TXQ, 64, TX_DESC, TX_AVAIL, TX_USED);
    tdrv_driver_ok(&e->rx);
    return vmmio_live(&e->vn->mmio);
}

static struct env *env_new(uint64_t want, bool up)
{
    struct env *e = calloc(1, sizeof *e);
    e->gm = tram_new(TRAM_SIZE);
    e->vn = calloc(1, sizeof *e->vn);
    assert_int_equal(vnet_create(e->vn, &e->gm, MAC), 0);
    vnet_set_irq(e->vn, count_irq, e);
    vnet_set_tx(e->vn, on_tx, e);
    if (up)
        assert_true(bring_up(e, want));
    return e;
}

static void env_free(struct env *e)
{
    tram_free(&e->gm);
    free(e->vn);
    free(e);
}

static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
    static const uint8_t dst[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x02};
    memcpy(f, dst, 6);
    memcpy(f + 6, MAC, 6);
    f[12] = 0x88;
    f[13] = 0xB5;
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seed + i * 3);
}

/* Post a transmit chain: header + frame in one buffer (split = false) or two. */
static uint16_t post_tx(struct env *e, unsigned slot, const uint8_t *frame, size_t len, bool split)
{
    uint64_t at = TXBUF + 0x800ull * slot;
    memset(e->gm.base + at, 0, VIRTIO_NET_HDR_BYTES);
    memcpy(e->gm.base + at + VIRTIO_NET_HDR_BYTES, frame, len);
    if (split) {
        struct tbuf b[2] = {{at, VIRTIO_NET_HDR_BYTES, false}, {at + VIRTIO_NET_HDR_BYTES, (uint32_t)len, false}};
        return tdrv_post(&e->tx, b, 2);
    }
    struct tbuf b = {at, (uint32_t)(VIRTIO_NET_HDR_BYTES + len), false};
    return tdrv_post(&e->tx, &b, 1);
}

static uint16_t post_rx(struct env *e, unsigned slot, uint32_t len)
{
    uint64_t at = RXBUF + 0x800ull * slot;
    memset(e->gm.base + at, 0xEE, 0x800);
    struct tbuf b = {at, len, true};
    return tdrv_post(&e->rx, &b, 1);
}

static void test_config(void **state)
{
    (void)state;
    struct env *e = env_new(FEATURES, false);
    struct vmmio_dev *d = &e->vn->mmio;
    assert_int_equal(vmmio_read(d, VMMIO_DEVICE_ID, 4), VIRTIO_ID_NET);
    vmmio_write(d, VMMIO_DEVICE_FEATURES_SEL, 4, 0);
    uint32_t lo = (uint32_t)vmmio_read(d, VMMIO_DEVICE_FEATURES, 4);
    vmmio_write(d, VMMIO_DEVICE_FEATURES_SEL, 4, 1);
    uint32_t hi = (uint32_t)vmmio_read(d, VMMIO_DEVICE_FEATURES, 4);
    uint64_t f = (uint64_t)hi << 32 | lo;
    assert_true(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
    assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MAC));
    assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_STATUS));
    assert_true(f & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
    assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
    assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ));
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(vmmio_read(d, VMMIO_CONFIG + i, 1), MAC[i]);
    assert_int_equal(vmmio_read(d, VMMIO_CONFIG + VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
    /* Two queues, none beyond. */
    vmmio_write(d, VMMIO_QUEUE_SEL, 4, 1);
    assert_int_equal(vmmio_read(d, VMMIO_QUEUE_NUM_MAX, 4), VNET_QUEUE_MAX);
    vmmio_write(d, VMMIO_QUEUE_SEL, 4, 2);
    assert_int_equal(vmmio_read(d, VMMIO_QUEUE_NUM_MAX, 4), 0);
    /* Not live yet: frames are dropped and counted. */
    uint8_t fr[64];
    make_frame(fr, sizeof fr, 1);
    assert_int_equal(vnet_rx(e->vn, fr, sizeof fr), -PL_ENOTCONN);
    assert_int_equal(e->vn->rx_down, 1);
    env_free(e);
}

static void test_tx(void **state)
{
    (void)state;
    struct env *e = env_new(FEATURES, true);
    uint8_t fr[1514];
    for (unsigned i = 0; i < 4; i++) {
        size_t len = i == 3 ? 1514 : 60 + i * 100;
        make_frame(fr, len, (uint8_t)i);
        uint16_t head = post_tx(e, i, fr, len, i & 1);
        tdrv_kick(&e->tx, VNET_TXQ);
        assert_int_equal(e->sent, i + 1);
        assert_int_equal(e->last_len, len);
        assert_memory_equal(e->last, fr, len);
        uint32_t id, ulen;
        assert_true(tdrv_used(&e->tx, &id, &ulen));
        assert_int_equal(id, head);
        assert_int_equal(ulen, 0);
    }
    assert_int_equal(e->vn->tx_frames, 4);
    assert_int_equal(e->vn->tx_dropped, 0);
    assert_true(e->irqs >= 4);
    assert_false(vnet_needs_reset(e->vn));
    env_free(e);
}

static void test_tx_bad_frames_dropped(void **state)
{
    (void)state;
    struct env *e = env_new(FEATURES, true);
    uint8_t fr[1600];
    make_frame(fr, sizeof fr, 7);
    post_tx(e, 0, fr, 10, false);          /* shorter than an Ethernet header */
    post_tx(e, 1, fr, 1519, false);        /* longer than 1518 */
    post_tx(e, 2, fr, 100, false);
    e->gm.base[TXBUF + 0x800 * 2] = VIRTIO_NET_HDR_F_NEEDS_CSUM; /* offload not negotiated */
    post_tx(e, 3, fr, 100, false);
    e->gm.base[TXBUF + 0x800 * 3 + 1] = 1;  /* GSO TCPv4 */
    post_tx(e, 4, fr, 1518, false);         /* a tagged maximum frame is fine */
    tdrv_kick(&e->tx, VNET_TXQ);
    assert_int_equal(e->vn->tx_dropped, 4);
    assert_int_equal(e->sent, 1);
    assert_int_equal(e->last_len, 1518);
    uint32_t id, len;
    for (unsigned i = 0; i < 5; i++)
        assert_true(tdrv_used(&e->tx, &id, &len));
    assert_false(vnet_needs_reset(e->vn));
    env_free(e);
}

static void test_tx_malformed_needs_reset(void **state)
{
    (void)state;
    for (int kind = 0; kind < 4; kind++) {
        struct env *e = env_new(FEATURES, true);
        uint8_t fr[100];
        make_frame(fr, sizeof fr, 3);
        if (kind == 0) {                    /* a device-writable buffer in a transmit chain */
            struct tbuf b[2] = {{TXBUF, 12 + 100, false}, {TXBUF + 0x800, 64, true}};
            tdrv_post(&e->tx, b, 2);
        } else if (kind == 1) {             /* no room for the header */
            struct tbuf b = {TXBUF, 8, false};
            tdrv_post(&e->tx, &b, 1);
        } else if (kind == 2) {             /* buffer beyond guest RAM */
            struct tbuf b = {TRAM_SIZE - 50, 112, false};
            tdrv_post(&e->tx, &b, 1);
        } else {                            /* head index out of range */
            w16(&e->gm, TX_AVAIL + 4, 999);
            w16(&e->gm, TX_AVAIL + 2, 1);
        }
        unsigned irqs = e->irqs;
        tdrv_kick(&e->tx, VNET_TXQ);
        assert_true(vnet_needs_reset(e->vn));
        assert_int_equal(e->sent, 0);
        assert_true(e->irqs > irqs); /* configuration change notification */
        /* Stopped until reset: nothing more is processed. */
        post_tx(e, 1, fr, sizeof fr, false);
        tdrv_kick(&e->tx, VNET_TXQ);
        assert_int_equal(e->sent, 0);
        assert_int_equal(vnet_rx(e->vn, fr, sizeof fr), -PL_ENOTCONN);
        /* A reset and a new bring-up work again. */
        assert_true(bring_up(e, FEATURES));
        assert_false(vnet_needs_reset(e->vn));
        post_tx(e, 2, fr, sizeof fr, false);
        tdrv_kick(&e->tx, VNET_TXQ);
        assert_int_equal(e->sent, 1);
        env_free(e);
    }
}

static void test_rx(void **state)
{
    (void)state;
    struct env *e = env_new(FEATURES, true);
    uint16_t h0 = post_rx(e, 0, 1526);
    uint16_t h1 = post_rx(e, 1, 1526);
    tdrv_kick(&e->rx, VNET_RXQ);
    uint8_t fr[1514];
    make_frame(fr, 1514, 9);
    assert_int_equal(vnet_rx(e->vn, fr, 1514), 0);
    make_frame(fr, 60, 10);
    assert_int_equal(vnet_rx(e->vn, fr, 60), 0);
    uint32_t id, len;
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(id, h0);
    assert_int_equal(len, 12 + 1514);
    uint8_t hdr[12] = {0};
    hdr[10] = 1; /* num_buffers */
    assert_memory_equal(e->gm.base + RXBUF, hdr, 12);
    make_frame(fr, 1514, 9);
    assert_memory_equal(e->gm.base + RXBUF + 12, fr, 1514);
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(id, h1);
    assert_int_equal(len, 12 + 60);
    make_frame(fr, 60, 10);
    assert_memory_equal(e->gm.base + RXBUF + 0x800 + 12, fr, 60);
    assert_int_equal(e->gm.base[RXBUF + 0x800 + 12 + 60], 0xEE); /* nothing written beyond */
    /* None posted: dropped and counted. */
    assert_int_equal(vnet_rx(e->vn, fr, 60), -PL_ENOSPC);
    assert_int_equal(e->vn->rx_no_buffer, 1);
    assert_int_equal(e->vn->rx_frames, 2);
    assert_true(e->irqs >= 2);
    /* Bad lengths. */
    assert_int_equal(vnet_rx(e->vn, fr, 13), -PL_EINVAL);
    assert_int_equal(vnet_rx(e->vn, fr, 1519), -PL_EINVAL);
    env_free(e);
}

static void test_rx_split_and_small_buffers(void **state)
{
    (void)state;
    struct env *e = env_new(FEATURES, true);
    /* Header and data in separate descriptors, data in two pieces. */
    struct tbuf b[3] = {{RXBUF, 12, true}, {RXBUF + 0x100, 700, true}, {RXBUF + 0x1000, 900, true}};
    uint16_t h = tdrv_post(&e->rx, b, 3);
    post_rx(e, 4, 100);  /* too small for the next frame */
    post_rx(e, 5, 100);
    uint8_t fr[1000];
    make_frame(fr, 1000, 4);
    assert_int_equal(vnet_rx(e->vn, fr, 1000), 0);
    uint32_t id, len;
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(id, h);
    assert_int_equal(len, 1012);
    assert_memory_equal(e->gm.base + RXBUF + 0x100, fr, 700);
    assert_memory_equal(e->gm.base + RXBUF + 0x1000, fr + 700, 300);
    assert_int_equal(vnet_rx(e->vn, fr, 200), -PL_E2BIG);
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(len, 0);
    assert_int_equal(e->vn->rx_too_big, 1);
    assert_int_equal(vnet_rx(e->vn, fr, 88), 0); /* 12 + 88 fits exactly */
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(len, 100);
    assert_false(vnet_needs_reset(e->vn));
    env_free(e);
}

static void test_rx_malformed_needs_reset(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        struct env *e = env_new(FEATURES, true);
        if (kind == 0) {                 /* device-readable buffer on the receive queue */
            struct tbuf b = {RXBUF, 1526, false};
            tdrv_post(&e->rx, &b, 1);
        } else if (kind == 1) {          /* smaller than the header */
            post_rx(e, 0, 8);
        } else {                         /* beyond RAM */
            struct tbuf b = {TRAM_SIZE - 100, 1526, true};
            tdrv_post(&e->rx, &b, 1);
        }
        uint8_t fr[60];
        make_frame(fr, 60, 1);
        assert_int_equal(vnet_rx(e->vn, fr, 60), -PL_EIO);
        assert_true(vnet_needs_reset(e->vn));
        assert_int_equal(e->vn->rx_frames, 0);
        env_free(e);
    }
}

static void test_event_idx(void **state)
{
    (void)state;
    struct env *e = env_new(FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), true);
    assert_true(e->rx.features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    for (unsigned i = 0; i < 5; i++)
        post_rx(e, i, 1526);
    uint8_t fr[60];
    make_frame(fr, 60, 2);
    unsigned irqs = e->irqs;
    assert_int_equal(vnet_rx(e->vn, fr, 60), 0);  /* the first one always interrupts */
    assert_int_equal(e->irqs, irqs + 1);
    tdrv_set_used_event(&e->rx, 3); /* interrupt once used idx passes 3 */
    assert_int_equal(vnet_rx(e->vn, fr, 60), 0);
    assert_int_equal(vnet_rx(e->vn, fr, 60), 0);
    assert_int_equal(e->irqs, irqs + 1);
    assert_int_equal(vnet_rx(e->vn, fr, 60), 0);
    assert_int_equal(e->irqs, irqs + 2);
    /* Out of buffers: avail_event asks the driver to notify on its next one. */
    assert_int_equal(vnet_rx(e->vn, fr, 60), 0);
    assert_int_equal(vnet_rx(e->vn, fr, 60), -PL_ENOSPC);
    assert_int_equal(tdrv_avail_event(&e->rx), 5);
    env_free(e);
}

static void test_tx_many(void **state)
{
    (void)state;
    struct env *e = env_new(FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), true);
    uint8_t fr[200];
    unsigned total = 0;
    for (unsigned round = 0; round < 10; round++) {
        for (unsigned i = 0; i < 40; i++) {
            make_frame(fr, sizeof fr, (uint8_t)(round * 40 + i));
            post_tx(e, i, fr, sizeof fr, (i & 1) != 0);
        }
        tdrv_kick(&e->tx, VNET_TXQ);
        total += 40;
        assert_int_equal(e->sent, total);
        assert_memory_equal(e->last, fr, sizeof fr);
        uint32_t id, len;
        while (tdrv_used(&e->tx, &id, &len))
            ;
    }
    assert_int_equal(e->vn->tx_frames, 400);
    assert_int_equal(e->vn->tx_bytes, 400 * 200);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_tx),
        cmocka_unit_test(test_tx_bad_frames_dropped),
        cmocka_unit_test(test_tx_malformed_needs_reset),
        cmocka_unit_test(test_rx),
        cmocka_unit_test(test_rx_split_and_small_buffers),
        cmocka_unit_test(test_rx_malformed_needs_reset),
        cmocka_unit_test(test_event_idx),
        cmocka_unit_test(test_tx_many),
    };
    return cmocka_run_group_tests_name("virtio_net", tests, NULL, NULL);
}
