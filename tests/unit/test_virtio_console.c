/* virtio-console backend over the virtio-mmio model: output ring, input
 * queue, receive/transmit queues driven by a frontend built like a real
 * driver (test_virtio_drv.h), and malformed chains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "dom0/virtio/console_backend.h"
#include "tests/unit/test_virtio_drv.h"

/* receiveq0 at the standard layout (T_DESC, T_AVAIL, T_USED); transmitq0 here. */
#define TX_DESC 0xA000u
#define TX_AVAIL 0xB000u
#define TX_USED 0xC000u
#define RX_BUF 0x20000u
#define TX_BUF 0x40000u

struct env {
    struct guestmem gm;
    struct vcons_dev *vc;
    struct tdrv rx, tx;
    unsigned irqs;
};

static void count_irq(void *ctx, uint32_t status)
{
    (void)status;
    ((struct env *)ctx)->irqs++;
}

static void bring_up(struct env *e, uint64_t want, uint32_t qsize)
{
    assert_true(tdrv_negotiate(&e->rx, &e->vc->mmio, &e->gm, want));
    e->tx = e->rx;
    tdrv_queue(&e->rx, VCONS_RXQ, qsize, T_DESC, T_AVAIL, T_USED);
    tdrv_queue(&e->tx, VCONS_TXQ, qsize, TX_DESC, TX_AVAIL, TX_USED);
    tdrv_driver_ok(&e->rx);
    assert_true(vmmio_live(&e->vc->mmio));
}

static struct env *env_new(uint64_t want, uint32_t qsize)
{
    struct env *e = calloc(1, sizeof *e);
    e->gm = tram_new(TRAM_SIZE);
    e->vc = calloc(1, sizeof *e->vc);
    assert_int_equal(vcons_create(e->vc, &e->gm), 0);
    vcons_set_irq(e->vc, count_irq, e);
    if (qsize)
        bring_up(e, want, qsize);
    return e;
}

static void env_free(struct env *e)
{
    tram_free(&e->gm);
    free(e->vc);
    free(e);
}

#define WANT (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | \
              VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE))

/* Transmit s (split into `parts` buffers) and check the completion. */
static void transmit(struct env *e, const char *s, size_t n, unsigned parts)
{
    struct tbuf b[8];
    size_t off = 0;
    assert_true(parts >= 1 && parts <= 8);
    for (unsigned i = 0; i < parts; i++) {
        size_t k = i + 1 == parts ? n - off : n / parts;
        memcpy(e->gm.base + TX_BUF + off, s + off, k);
        b[i] = (struct tbuf){TX_BUF + off, (uint32_t)k, false};
        off += k;
    }
    uint16_t head = tdrv_post(&e->tx, b, parts);
    tdrv_kick(&e->tx, VCONS_TXQ);
    uint32_t id, len;
    assert_true(tdrv_used(&e->tx, &id, &len));
    assert_int_equal(id, head);
    assert_int_equal(len, 0);
}

static size_t read_all(struct env *e, uint64_t *pos, char *buf, size_t cap, uint64_t *lost)
{
    size_t n = vcons_out_read(e->vc, pos, buf, cap, lost);
    buf[n < cap ? n : cap - 1] = 0;
    return n;
}

static void test_identity(void **state)
{
    (void)state;
    struct env *e = env_new(0, 0);
    struct vcons_dev *vc = e->vc;
    assert_int_equal(vcons_mmio_read(vc, VMMIO_MAGIC, 4), 0x74726976);
    assert_int_equal(vcons_mmio_read(vc, VMMIO_VERSION, 4), 2);
    assert_int_equal(vcons_mmio_read(vc, VMMIO_DEVICE_ID, 4), VIRTIO_ID_CONSOLE);
    vcons_mmio_write(vc, VMMIO_DEVICE_FEATURES_SEL, 4, 0);
    uint32_t lo = (uint32_t)vcons_mmio_read(vc, VMMIO_DEVICE_FEATURES, 4);
    vcons_mmio_write(vc, VMMIO_DEVICE_FEATURES_SEL, 4, 1);
    uint32_t hi = (uint32_t)vcons_mmio_read(vc, VMMIO_DEVICE_FEATURES, 4);
    assert_true(hi & 1);
    assert_true(lo & (1u << VIRTIO_CONSOLE_F_EMERG_WRITE));
    assert_false(lo & (1u << VIRTIO_CONSOLE_F_SIZE));
    assert_false(lo & (1u << VIRTIO_CONSOLE_F_MULTIPORT));
    for (unsigned q = 0; q < 3; q++) {
        vcons_mmio_write(vc, VMMIO_QUEUE_SEL, 4, q);
        assert_int_equal(vcons_mmio_read(vc, VMMIO_QUEUE_NUM_MAX, 4), q < 2 ? VCONS_QUEUE_MAX : 0);
    }
    /* config: cols, rows, max_nr_ports read 0; 12 bytes long */
    assert_int_equal(vcons_mmio_read(vc, VMMIO_CONFIG + VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, 4), 0);
    assert_int_equal(vcons_mmio_read(vc, VMMIO_CONFIG + VIRTIO_CONSOLE_CFG_COLS, 2), 0);
    /* MULTIPORT cannot be negotiated */
    struct tdrv t;
    assert_false(tdrv_negotiate(&t, &vc->mmio, &e->gm, WANT | VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT)) &&
                 vmmio_has_feature(&vc->mmio, VIRTIO_CONSOLE_F_MULTIPORT));
    assert_int_equal(vcons_create(NULL, &e->gm), -PL_EINVAL);
    assert_int_equal(vcons_create(vc, NULL), -PL_EINVAL);
    env_free(e);
}

static void test_transmit(void **state)
{
    (void)state;
    struct env *e = env_new(WANT, 16);
    char buf[256];
    uint64_t pos = 0, lost = 99;
    assert_int_equal(read_all(e, &pos, buf, sizeof buf, &lost), 0);
    assert_int_equal(lost, 0);
    unsigned irqs = e->irqs;
    transmit(e, "hello, ", 7, 1);
    transmit(e, "world\n", 6, 3);
    assert_true(e->irqs > irqs);
    assert_int_equal(read_all(e, &pos, buf, sizeof buf, &lost), 13);
    assert_string_equal(buf, "hello, world\n");
    assert_int_equal(pos, 13);
    assert_int_equal(e->vc->tx_bytes, 13);
    assert_int_equal(e->vc->tx_chains, 2);
    /* A reader that follows gets only the new bytes. */
    transmit(e, "more", 4, 2);
    assert_int_equal(read_all(e, &pos, buf, sizeof buf, NULL), 4);
    assert_string_equal(buf, "more");
    /* A short buffer: the rest comes next time. */
    uint64_t p2 = 0;
    assert_int_equal(vcons_out_read(e->vc, &p2, buf, 5, NULL), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(p2, 5);
    /* A position from the future is brought back to the end. */
    uint64_t p3 = 1000;
    assert_int_equal(vcons_out_read(e->vc, &p3, buf, sizeof buf, &lost), 0);
    assert_int_equal(p3, 17);
    assert_false(vcons_needs_reset(e->vc));
    env_free(e);
}

static void test_indirect_transmit(void **state)
{
    (void)state;
    struct env *e = env_new(WANT, 8);
    memcpy(e->gm.base + TX_BUF, "abcdef", 6);
    struct tbuf b[3] = {{TX_BUF, 2, false}, {TX_BUF + 2, 0, false}, {TX_BUF + 2, 4, false}};
    uint16_t head = tdrv_post_indirect(&e->tx, b, 3, 0);
    tdrv_kick(&e->tx, VCONS_TXQ);
    uint32_t id, len;
    assert_true(tdrv_used(&e->tx, &id, &len));
    assert_int_equal(id, head);
    char buf[16];
    uint64_t pos = 0;
    assert_int_equal(read_all(e, &pos, buf, sizeof buf, NULL), 6);
    assert_string_equal(buf, "abcdef");
    env_free(e);
}

/* The ring keeps the newest VCONS_OUT_SIZE bytes; old readers are told what they missed. */
static void test_output_ring(void **state)
{
    (void)state;
    struct env *e = env_new(WANT, 16);
    static char big[3 * VCONS_OUT_SIZE], got[VCONS_OUT_SIZE + 16];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + (i * 7 + i / 13) % 26);
    /* 20 KiB in 5 chains of 4 KiB */
    for (unsigned k = 0; k < 5; k++)
        transmit(e, big + k * 4096, 4096, 2);
    assert_int_equal(vcons_out_pos(e->vc), 5 * 4096);
    assert_int_equal(vcons_out_start(e->vc), 5 * 4096 - VCONS_OUT_SIZE);
    uint64_t pos = 0, lost = 0;
    size_t n = vcons_out_read(e->vc, &pos, got, sizeof got, &lost);
    assert_int_equal(n, VCONS_OUT_SIZE);
    assert_int_equal(lost, 5 * 4096 - VCONS_OUT_SIZE);
    assert_memory_equal(got, big + 5 * 4096 - VCONS_OUT_SIZE, VCONS_OUT_SIZE);
    assert_int_equal(pos, 5 * 4096);

    /* One chain larger than the ring: only its tail is kept. */
    transmit(e, big, 2 * VCONS_OUT_SIZE + 100, 3);
    n = vcons_out_read(e->vc, &pos, got, sizeof got, &lost);
    assert_int_equal(lost, VCONS_OUT_SIZE + 100);
    assert_int_equal(n, VCONS_OUT_SIZE);
    assert_memory_equal(got, big + VCONS_OUT_SIZE + 100, VCONS_OUT_SIZE);
    assert_int_equal(e->vc->tx_bytes, 5 * 4096 + 2 * VCONS_OUT_SIZE + 100);
    env_free(e);
}

/* Post one receive buffer of len bytes at RX_BUF + slot * 256. */
static uint16_t post_rx(struct env *e, unsigned slot, uint32_t len)
{
    struct tbuf b = {RX_BUF + 256ull * slot, len, true};
    memset(e->gm.base + b.gpa, '.', len);
    return tdrv_post(&e->rx, &b, 1);
}

static void test_input_queued(void **state)
{
    (void)state;
    struct env *e = env_new(WANT, 16);
    /* No buffers yet: queued. */
    assert_int_equal(vcons_input(e->vc, "hello\r", 6), 6);
    assert_int_equal(vcons_in_pending(e->vc), 6);
    unsigned irqs = e->irqs;
    uint16_t h0 = post_rx(e, 0, 4);
    tdrv_kick(&e->rx, VCONS_RXQ);
    uint32_t id, len;
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(id, h0);
    assert_int_equal(len, 4);
    assert_memory_equal(e->gm.base + RX_BUF, "hell", 4);
    assert_true(e->irqs > irqs);
    assert_int_equal(vcons_in_pending(e->vc), 2);
    /* A buffer larger than what waits: partly filled. */
    uint16_t h1 = post_rx(e, 1, 64);
    tdrv_kick(&e->rx, VCONS_RXQ);
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(id, h1);
    assert_int_equal(len, 2);
    assert_memory_equal(e->gm.base + RX_BUF + 256, "o\r.", 3);
    assert_int_equal(vcons_in_pending(e->vc), 0);
    /* A posted buffer with nothing to deliver stays posted... */
    uint16_t h2 = post_rx(e, 2, 64);
    tdrv_kick(&e->rx, VCONS_RXQ);
    assert_false(tdrv_used(&e->rx, &id, &len));
    /* ... until input comes, delivered at once. */
    assert_int_equal(vcons_input(e->vc, "x", 1), 1);
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(id, h2);
    assert_int_equal(len, 1);
    assert_int_equal(e->vc->rx_bytes, 7);
    assert_int_equal(e->vc->rx_chains, 3);
    assert_int_equal(e->vc->in_bytes, 7);
    env_free(e);
}

static void test_input_bounded(void **state)
{
    (void)state;
    struct env *e = env_new(WANT, 16);
    static char in[VCONS_IN_SIZE + 1000];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (char)('0' + i % 10);
    assert_int_equal(vcons_input(e->vc, in, sizeof in), VCONS_IN_SIZE);
    assert_int_equal(e->vc->in_dropped, 1000);
    assert_int_equal(vcons_input(e->vc, "z", 1), 0);
    assert_int_equal(e->vc->in_dropped, 1001);
    /* Drained in order through buffers of 200 bytes; more input half-way
     * wraps the queue (it continues the same stream in `in`). */
    size_t got = 0;
    uint32_t id, len;
    while (got < VCONS_IN_SIZE + 100) {
        post_rx(e, 0, 200);
        tdrv_kick(&e->rx, VCONS_RXQ);
        assert_true(tdrv_used(&e->rx, &id, &len));
        assert_true(len > 0 && len <= 200);
        assert_memory_equal(e->gm.base + RX_BUF, in + got, len);
        got += len;
        if (got == 2000)
            assert_int_equal(vcons_input(e->vc, in + VCONS_IN_SIZE, 100), 100);
    }
    assert_int_equal(got, VCONS_IN_SIZE + 100);
    assert_int_equal(vcons_in_pending(e->vc), 0);
    env_free(e);
}

/* Input survives a reset and waits for the driver; nothing is delivered while not live. */
static void test_reset_and_not_live(void **state)
{
    (void)state;
    struct env *e = env_new(WANT, 16);
    post_rx(e, 0, 16);
    tdrv_kick(&e->rx, VCONS_RXQ);
    tdrv_wr(&e->rx, VMMIO_STATUS, 0);   /* reset */
    assert_false(vmmio_live(&e->vc->mmio));
    assert_int_equal(vcons_input(e->vc, "abc", 3), 3);
    assert_int_equal(vcons_deliver(e->vc), 0);
    assert_int_equal(vcons_in_pending(e->vc), 3);
    assert_int_equal(vcons_notify(e->vc, VCONS_TXQ), 0);
    memset(e->gm.base, 0, 0x10000);     /* fresh rings */
    bring_up(e, WANT, 16);
    post_rx(e, 0, 16);
    tdrv_kick(&e->rx, VCONS_RXQ);
    uint32_t id, len;
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(len, 3);
    assert_memory_equal(e->gm.base + RX_BUF, "abc", 3);
    env_free(e);
}

static void test_emerg_write(void **state)
{
    (void)state;
    struct env *e = env_new(0, 0);
    /* Before any initialisation (5.3.6.1 allows it). */
    vcons_mmio_write(e->vc, VMMIO_CONFIG + VIRTIO_CONSOLE_CFG_EMERG_WR, 4, 'H');
    vcons_mmio_write(e->vc, VMMIO_CONFIG + VIRTIO_CONSOLE_CFG_EMERG_WR, 4, 0x100 | 'i');
    vcons_mmio_write(e->vc, VMMIO_CONFIG + VIRTIO_CONSOLE_CFG_EMERG_WR, 1, '!');
    /* Not emerg_wr: ignored; beyond the config: ignored */
    vcons_mmio_write(e->vc, VMMIO_CONFIG + VIRTIO_CONSOLE_CFG_COLS, 2, 80);
    vcons_mmio_write(e->vc, VMMIO_CONFIG + VIRTIO_CONSOLE_CFG_EMERG_WR, 8, 'x');
    vcons_mmio_write(e->vc, VMMIO_CONFIG + 12, 4, 'y');
    assert_int_equal(vcons_mmio_read(e->vc, VMMIO_CONFIG + VIRTIO_CONSOLE_CFG_COLS, 2), 0);
    char buf[16];
    uint64_t pos = 0;
    assert_int_equal(read_all(e, &pos, buf, sizeof buf, NULL), 3);
    assert_string_equal(buf, "Hi!");
    assert_int_equal(e->vc->emerg_bytes, 3);
    env_free(e);
}

static void expect_needs_reset(struct env *e, int err)
{
    assert_true(vcons_needs_reset(e->vc));
    assert_int_equal(e->vc->mmio.last_error, err);
    assert_true(vcons_mmio_read(e->vc, VMMIO_STATUS, 4) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_malformed_tx(void **state)
{
    (void)state;
    uint32_t id, len;
    char buf[64];
    uint64_t pos;
    /* A writable buffer on the transmit queue. */
    struct env *e = env_new(WANT, 16);
    transmit(e, "ok ", 3, 1);
    memcpy(e->gm.base + TX_BUF, "bad", 3);
    struct tbuf b[2] = {{TX_BUF, 3, false}, {TX_BUF + 8, 4, true}};
    tdrv_post(&e->tx, b, 2);
    unsigned irqs = e->irqs;
    tdrv_kick(&e->tx, VCONS_TXQ);
    expect_needs_reset(e, -VCONS_EMALFORMED);
    assert_false(tdrv_used(&e->tx, &id, &len));
    assert_true(e->irqs > irqs);                 /* configuration change */
    pos = 0;
    assert_int_equal(read_all(e, &pos, buf, sizeof buf, NULL), 3);
    assert_string_equal(buf, "ok ");
    /* Stopped until reset: new chains are ignored, input is not delivered. */
    memcpy(e->gm.base + TX_BUF + 100, "later", 5);
    struct tbuf good = {TX_BUF + 100, 5, false};
    tdrv_post(&e->tx, &good, 1);
    tdrv_kick(&e->tx, VCONS_TXQ);
    assert_int_equal(vcons_out_pos(e->vc), 3);
    post_rx(e, 0, 8);
    assert_int_equal(vcons_input(e->vc, "in", 2), 2);
    assert_false(tdrv_used(&e->rx, &id, &len));
    /* Reset and a new bring-up: works again, the input is delivered. */
    memset(e->gm.base, 0, 0x10000);
    bring_up(e, WANT, 16);
    assert_false(vcons_needs_reset(e->vc));
    transmit(e, "again", 5, 1);
    assert_int_equal(read_all(e, &pos, buf, sizeof buf, NULL), 5);
    assert_string_equal(buf, "again");
    post_rx(e, 0, 8);
    tdrv_kick(&e->rx, VCONS_RXQ);
    assert_true(tdrv_used(&e->rx, &id, &len));
    assert_int_equal(len, 2);
    env_free(e);

    /* A buffer outside guest RAM. */
    e = env_new(WANT, 16);
    struct tbuf out = {TRAM_SIZE - 2, 4, false};
    tdrv_post(&e->tx, &out, 1);
    tdrv_kick(&e->tx, VCONS_TXQ);
    expect_needs_reset(e, -VQ_EBUFRANGE);
    assert_int_equal(vcons_out_pos(e->vc), 0);
    env_free(e);

    /* A descriptor loop. */
    e = env_new(WANT, 16);
    tdrv_desc(&e->tx, TX_DESC, 0, TX_BUF, 1, VIRTQ_F_NEXT, 1);
    tdrv_desc(&e->tx, TX_DESC, 1, TX_BUF, 1, VIRTQ_F_NEXT, 0);
    tdrv_publish(&e->tx, 0);
    tdrv_kick(&e->tx, VCONS_TXQ);
    expect_needs_reset(e, -VQ_ELOOP);
    env_free(e);

    /* avail->idx jumping past the queue size. */
    e = env_new(WANT, 16);
    w16(&e->gm, TX_AVAIL + 2, 17);
    tdrv_kick(&e->tx, VCONS_TXQ);
    expect_needs_reset(e, -VQ_EIDXJUMP);
    env_free(e);

    /* Indirect without negotiating it. */
    e = env_new(VIRTIO_BIT(VIRTIO_F_VERSION_1), 16);
    struct tbuf one = {TX_BUF, 1, false};
    tdrv_post_indirect(&e->tx, &one, 1, 0);
    tdrv_kick(&e->tx, VCONS_TXQ);
    expect_needs_reset(e, -VQ_EINDIRECT);
    env_free(e);

    /* A head index beyond the queue. */
    e = env_new(WANT, 16);
    tdrv_publish(&e->tx, 16);
    tdrv_kick(&e->tx, VCONS_TXQ);
    expect_needs_reset(e, -VQ_EHEAD);
    env_free(e);
}

static void test_malformed_rx(void **state)
{
    (void)state;
    uint32_t id, len;
    /* A device-readable buffer on the receive queue: input stays queued. */
    struct env *e = env_new(WANT, 16);
    struct tbuf b = {RX_BUF, 8, false};
    tdrv_post(&e->rx, &b, 1);
    tdrv_kick(&e->rx, VCONS_RXQ);           /* nothing to deliver: not looked at yet */
    assert_false(vcons_needs_reset(e->vc));
    memset(e->gm.base + RX_BUF, '.', 8);
    assert_int_equal(vcons_input(e->vc, "abc", 3), 3);
    expect_needs_reset(e, -VCONS_EMALFORMED);
    assert_false(tdrv_used(&e->rx, &id, &len));
    assert_memory_equal(e->gm.base + RX_BUF, "........", 8);
    assert_int_equal(vcons_in_pending(e->vc), 3);
    env_free(e);

    /* Readable then writable. */
    e = env_new(WANT, 16);
    struct tbuf mix[2] = {{RX_BUF, 4, false}, {RX_BUF + 8, 4, true}};
    tdrv_post(&e->rx, mix, 2);
    vcons_input(e->vc, "q", 1);
    expect_needs_reset(e, -VCONS_EMALFORMED);
    env_free(e);

    /* Only zero-length buffers: nothing writable. */
    e = env_new(WANT, 16);
    struct tbuf empty = {RX_BUF, 0, true};
    tdrv_post(&e->rx, &empty, 1);
    vcons_input(e->vc, "q", 1);
    expect_needs_reset(e, -VCONS_EMALFORMED);
    env_free(e);

    /* Writable buffer reaching past guest RAM. */
    e = env_new(WANT, 16);
    struct tbuf far = {0xFFFFFFFFFFFFFFF0ull, 32, true};
    tdrv_post(&e->rx, &far, 1);
    vcons_input(e->vc, "q", 1);
    expect_needs_reset(e, -VQ_EBUFRANGE);
    env_free(e);

    /* Notifies for queues the device does not have are ignored. */
    e = env_new(WANT, 16);
    tdrv_kick(&e->rx, 2);
    tdrv_kick(&e->rx, 0xFFFF);
    assert_int_equal(vcons_notify(e->vc, 7), 0);
    assert_false(vcons_needs_reset(e->vc));
    env_free(e);
}

/* Many chains with one kick: one interrupt for the batch (no EVENT_IDX). */
static void test_batch(void **state)
{
    (void)state;
    struct env *e = env_new(WANT, 64);
    for (unsigned i = 0; i < 64; i++) {
        char c = (char)('A' + i % 26);
        e->gm.base[TX_BUF + i] = (uint8_t)c;
        struct tbuf b = {TX_BUF + i, 1, false};
        tdrv_post(&e->tx, &b, 1);
    }
    unsigned irqs = e->irqs;
    tdrv_kick(&e->tx, VCONS_TXQ);
    assert_int_equal(e->irqs, irqs + 1);
    uint32_t id, len;
    unsigned used = 0;
    while (tdrv_used(&e->tx, &id, &len))
        used++;
    assert_int_equal(used, 64);
    assert_int_equal(vcons_out_pos(e->vc), 64);
    char buf[80];
    uint64_t pos = 0;
    assert_int_equal(read_all(e, &pos, buf, sizeof buf, NULL), 64);
    assert_memory_equal(buf, e->gm.base + TX_BUF, 64);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_transmit),
        cmocka_unit_test(test_indirect_transmit),
        cmocka_unit_test(test_output_ring),
        cmocka_unit_test(test_input_queued),
        cmocka_unit_test(test_input_bounded),
        cmocka_unit_test(test_reset_and_not_live),
        cmocka_unit_test(test_emerg_write),
        cmocka_unit_test(test_malformed_tx),
        cmocka_unit_test(test_malformed_rx),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
