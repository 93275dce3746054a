/* virtio-blk backend over the virtio-mmio model: requests from a frontend
 * built like a real driver (test_virtio_drv.h) against a fake disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/unit/test_virtio_drv.h"

#define DISK_SECTORS 4096u
#define REGION_FIRST 1000u
#define REGION_SECTORS 2048u

struct env {
    struct guestmem gm;
    struct fakedisk disk;
    struct vblk_dev *vb;
    struct tdrv t;
    unsigned irqs;
    uint32_t irq_status;    /* InterruptStatus bits of every interrupt raised */
    uint8_t *disk_copy;     /* disk contents at setup */
};

static void count_irq(void *ctx, uint32_t status)
{
    ((struct env *)ctx)->irqs++;
    ((struct env *)ctx)->irq_status |= status;
}

static struct env *env_new(bool ro, uint64_t want, uint32_t qsize)
{
    struct env *e = calloc(1, sizeof *e);
    e->gm = tram_new(TRAM_SIZE);
    fakedisk_init(&e->disk, "disk0", DISK_SECTORS);
    e->disk_copy = malloc(DISK_SECTORS * BLK_SECTOR);
    memcpy(e->disk_copy, e->disk.data, DISK_SECTORS * BLK_SECTOR);
    e->vb = calloc(1, sizeof *e->vb);
    assert_int_equal(vblk_create(e->vb, &e->gm, &e->disk.b, REGION_FIRST, REGION_SECTORS, ro), 0);
    vblk_set_irq(e->vb, count_irq, e);
    if (qsize)
        assert_true(tdrv_up(&e->t, &e->vb->mmio, &e->gm, want, qsize));
    return e;
}

static void env_free(struct env *e)
{
    tram_free(&e->gm);
    fakedisk_free(&e->disk);
    free(e->disk_copy);
    free(e->vb);
    free(e);
}

static bool disk_unchanged(struct env *e) { return memcmp(e->disk.data, e->disk_copy, DISK_SECTORS * BLK_SECTOR) == 0; }

/* Serve and collect one completion; returns its used len. */
static uint32_t complete_one(struct env *e, uint16_t head)
{
    tdrv_kick(&e->t, 0);
    uint32_t id = 0, len = 0;
    assert_true(tdrv_used(&e->t, &id, &len));
    assert_int_equal(id, head);
    return len;
}

static void test_identity(void **state)
{
    (void)state;
    struct env *e = env_new(false, 0, 0);
    struct vblk_dev *vb = e->vb;
    assert_int_equal(vblk_mmio_read(vb, VMMIO_MAGIC, 4), 0x74726976);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_VERSION, 4), 2);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_DEVICE_ID, 4), VIRTIO_ID_BLOCK);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_MAGIC, 2), 0);      /* registers are 32-bit only */
    assert_int_equal(vblk_mmio_read(vb, VMMIO_MAGIC + 1, 4), 0);
    vblk_mmio_write(vb, VMMIO_DEVICE_FEATURES_SEL, 4, 0);
    uint32_t lo = (uint32_t)vblk_mmio_read(vb, VMMIO_DEVICE_FEATURES, 4);
    vblk_mmio_write(vb, VMMIO_DEVICE_FEATURES_SEL, 4, 1);
    uint32_t hi = (uint32_t)vblk_mmio_read(vb, VMMIO_DEVICE_FEATURES, 4);
    vblk_mmio_write(vb, VMMIO_DEVICE_FEATURES_SEL, 4, 2);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_DEVICE_FEATURES, 4), 0);
    assert_true(hi & 1);                                 /* VERSION_1 */
    assert_true(lo & (1u << VIRTIO_BLK_F_FLUSH));
    assert_true(lo & (1u << VIRTIO_F_EVENT_IDX));
    assert_false(lo & (1u << VIRTIO_BLK_F_RO));
    /* capacity, 8-byte, 4-byte and byte-wise */
    assert_int_equal(vblk_mmio_read(vb, VMMIO_CONFIG, 8), REGION_SECTORS);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_CONFIG, 4), REGION_SECTORS);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_CONFIG + 1, 1), REGION_SECTORS >> 8);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_CONFIG + 1, 2), 0);   /* misaligned */
    assert_int_equal(vblk_mmio_read(vb, VMMIO_CONFIG + VIRTIO_BLK_CFG_SEG_MAX, 4), VBLK_SEG_MAX);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_CONFIG + 0xF8, 8), 0); /* beyond config */
    assert_int_equal(vblk_mmio_read(vb, VMMIO_WINDOW, 4), 0);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_QUEUE_NUM_MAX, 4), VBLK_QUEUE_MAX);
    vblk_mmio_write(vb, VMMIO_QUEUE_SEL, 4, 1);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_QUEUE_NUM_MAX, 4), 0);
    assert_int_equal(vblk_mmio_read(vb, VMMIO_SHM_LEN_LOW, 4), 0xFFFFFFFFu);
    env_free(e);
}

static void test_create_checks(void **state)
{
    (void)state;
    struct guestmem gm = tram_new(4096);
    struct fakedisk d;
    fakedisk_init(&d, "disk1", 100);
    struct vblk_dev *vb = calloc(1, sizeof *vb);
    assert_int_equal(vblk_create(vb, &gm, &d.b, 0, 100, false), 0);
    assert_int_equal(vblk_create(vb, &gm, &d.b, 1, 100, false), -PL_EINVAL);
    assert_int_equal(vblk_create(vb, &gm, &d.b, UINT64_MAX, 2, false), -PL_EINVAL);
    assert_int_equal(vblk_create(vb, &gm, &d.b, 0, 0, false), -PL_EINVAL);
    assert_int_equal(vblk_create(vb, &gm, NULL, 0, 1, false), -PL_EINVAL);
    d.b.read_only = true;
    assert_int_equal(vblk_create(vb, &gm, &d.b, 0, 100, false), -PL_EPERM);
    assert_int_equal(vblk_create(vb, &gm, &d.b, 0, 100, true), 0);
    free(vb);
    fakedisk_free(&d);
    tram_free(&gm);
}

static void test_negotiation(void **state)
{
    (void)state;
    struct env *e = env_new(false, 0, 0);
    struct tdrv t;
    /* A subset of the offer with VERSION_1: accepted. */
    assert_true(tdrv_negotiate(&t, &e->vb->mmio, &e->gm, TBLK_FEATURES));
    /* Features are fixed after FEATURES_OK. */
    tdrv_wr(&t, VMMIO_DRIVER_FEATURES_SEL, 0);
    tdrv_wr(&t, VMMIO_DRIVER_FEATURES, 0);
    assert_true(e->vb->mmio.driver_features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
    /* Without VERSION_1: refused (modern-only device). */
    assert_false(tdrv_negotiate(&t, &e->vb->mmio, &e->gm, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)));
    /* A bit the device does not offer: refused (the helper masks, so write by hand). */
    tdrv_wr(&t, VMMIO_STATUS, 0);
    tdrv_wr(&t, VMMIO_STATUS, 3);
    tdrv_wr(&t, VMMIO_DRIVER_FEATURES_SEL, 1);
    tdrv_wr(&t, VMMIO_DRIVER_FEATURES, 1);
    tdrv_wr(&t, VMMIO_DRIVER_FEATURES_SEL, 0);
    tdrv_wr(&t, VMMIO_DRIVER_FEATURES, 1u << 7);      /* not offered */
    tdrv_wr(&t, VMMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(tdrv_rd(&t, VMMIO_STATUS), 3);
    /* A queue before FEATURES_OK is a driver error. */
    tdrv_queue(&t, 0, 16, T_DESC, T_AVAIL, T_USED);
    assert_true(vblk_needs_reset(e->vb));
    assert_int_equal(tdrv_rd(&t, VMMIO_QUEUE_READY), 0);
    /* Read-only offers F_RO. */
    struct env *r = env_new(true, 0, 0);
    vblk_mmio_write(r->vb, VMMIO_DEVICE_FEATURES_SEL, 4, 0);
    assert_true(vblk_mmio_read(r->vb, VMMIO_DEVICE_FEATURES, 4) & (1u << VIRTIO_BLK_F_RO));
    env_free(r);
    env_free(e);
}

static void fill(struct env *e, uint64_t gpa, uint32_t len, uint8_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        e->gm.base[gpa + i] = (uint8_t)(seed + i * 13);
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct env *e = env_new(false, TBLK_FEATURES, 64);
    fill(e, T_DATA, 4096, 5);
    uint16_t h = tblk_post(&e->t, 0, VIRTIO_BLK_T_OUT, 10, T_DATA, 4096, false);
    assert_int_equal(complete_one(e, h), 1);
    assert_int_equal(tblk_status(&e->t, 0), VIRTIO_BLK_S_OK);
    assert_memory_equal(e->disk.data + (REGION_FIRST + 10) * BLK_SECTOR, e->gm.base + T_DATA, 4096);
    /* Nothing outside the 8 sectors changed. */
    assert_memory_equal(e->disk.data, e->disk_copy, (REGION_FIRST + 10) * BLK_SECTOR);
    assert_memory_equal(e->disk.data + (REGION_FIRST + 18) * BLK_SECTOR, e->disk_copy + (REGION_FIRST + 18) * BLK_SECTOR,
                        (DISK_SECTORS - REGION_FIRST - 18) * BLK_SECTOR);
    h = tblk_post(&e->t, 1, VIRTIO_BLK_T_IN, 10, T_DATA + 0x10000, 4096, true);
    assert_int_equal(complete_one(e, h), 4096 + 1);
    assert_int_equal(tblk_status(&e->t, 1), VIRTIO_BLK_S_OK);
    assert_memory_equal(e->gm.base + T_DATA + 0x10000, e->gm.base + T_DATA, 4096);
    /* Reading the last sector of the region. */
    h = tblk_post(&e->t, 2, VIRTIO_BLK_T_IN, REGION_SECTORS - 1, T_DATA, 512, true);
    assert_int_equal(complete_one(e, h), 513);
    assert_memory_equal(e->gm.base + T_DATA, e->disk.data + (REGION_FIRST + REGION_SECTORS - 1) * BLK_SECTOR, 512);
    /* Each completion raised a used-buffer interrupt, nothing else. */
    assert_int_equal(e->irq_status, VMMIO_INT_VRING);
    assert_int_equal(e->irqs, 3);
    env_free(e);
}

/* Header split in two, data in odd-sized pieces, large (> bounce) transfer. */
static void test_scatter_gather(void **state)
{
    (void)state;
    struct env *e = env_new(false, TBLK_FEATURES, 64);
    uint32_t total = 160 * 1024;      /* 5 bounce buffers */
    fill(e, T_DATA, total, 77);
    w32(&e->gm, T_HDR, VIRTIO_BLK_T_OUT);
    w32(&e->gm, T_HDR + 4, 0);
    w64(&e->gm, T_HDR + 8, 100);
    struct tbuf b[] = {
        {T_HDR, 5, false}, {T_HDR + 5, 11, false},
        {T_DATA, 1000, false}, {T_DATA + 1000, 0, false}, {T_DATA + 1000, 24, false},
        {T_DATA + 1024, total - 1024 - 7, false}, {T_DATA + total - 7, 7, false},
        {T_STATUS, 1, true},
    };
    uint16_t h = tdrv_post(&e->t, b, 8);
    assert_int_equal(complete_one(e, h), 1);
    assert_int_equal(tblk_status(&e->t, 0), VIRTIO_BLK_S_OK);
    assert_memory_equal(e->disk.data + (REGION_FIRST + 100) * BLK_SECTOR, e->gm.base + T_DATA, total);
    /* Read it back into pieces, status in the same buffer as the tail of the data. */
    uint64_t dst = T_DATA + 0x40000;
    w32(&e->gm, T_HDR, VIRTIO_BLK_T_IN);
    struct tbuf c[] = {
        {T_HDR, 16, false}, {dst, 3, true}, {dst + 3, total - 3 - 100, true}, {dst + total - 100, 101, true},
    };
    h = tdrv_post(&e->t, c, 4);
    assert_int_equal(complete_one(e, h), total + 1);
    assert_memory_equal(e->gm.base + dst, e->gm.base + T_DATA, total);
    assert_int_equal(e->gm.base[dst + total], VIRTIO_BLK_S_OK);
    env_free(e);
}

static void test_indirect(void **state)
{
    (void)state;
    struct env *e = env_new(false, TBLK_FEATURES, 16);
    fill(e, T_DATA, 1024, 9);
    w32(&e->gm, T_HDR, VIRTIO_BLK_T_OUT);
    w64(&e->gm, T_HDR + 8, 3);
    struct tbuf b[] = {{T_HDR, 16, false}, {T_DATA, 512, false}, {T_DATA + 512, 512, false}, {T_STATUS, 1, true}};
    uint16_t h = tdrv_post_indirect(&e->t, b, 4, 0);
    assert_int_equal(complete_one(e, h), 1);
    assert_int_equal(tblk_status(&e->t, 0), VIRTIO_BLK_S_OK);
    assert_memory_equal(e->disk.data + (REGION_FIRST + 3) * BLK_SECTOR, e->gm.base + T_DATA, 1024);
    env_free(e);
}

static void test_flush_getid_unsupp(void **state)
{
    (void)state;
    struct env *e = env_new(false, TBLK_FEATURES, 16);
    uint16_t h = tblk_post(&e->t, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
    assert_int_equal(complete_one(e, h), 1);
    assert_int_equal(tblk_status(&e->t, 0), VIRTIO_BLK_S_OK);
    assert_int_equal(e->disk.flushes, 1);
    memset(e->gm.base + T_DATA, 0x55, 64);
    h = tblk_post(&e->t, 1, VIRTIO_BLK_T_GET_ID, 0, T_DATA, 64, true);
    assert_int_equal(complete_one(e, h), 21);
    assert_string_equal((char *)e->gm.base + T_DATA, "disk0:3e8");
    assert_int_equal(e->gm.base[T_DATA + 20], 0x55);
    vblk_set_id(e->vb, "0123456789abcdefghijKLMN");
    h = tblk_post(&e->t, 2, VIRTIO_BLK_T_GET_ID, 0, T_DATA, 8, true);
    assert_int_equal(complete_one(e, h), 9);
    assert_memory_equal(e->gm.base + T_DATA, "01234567", 8);
    h = tblk_post(&e->t, 3, VIRTIO_BLK_T_GET_ID, 0, T_DATA, 64, true);
    assert_int_equal(complete_one(e, h), 21);
    assert_memory_equal(e->gm.base + T_DATA, "0123456789abcdefghij", 20);
    h = tblk_post(&e->t, 4, 99, 0, T_DATA, 512, true);
    assert_int_equal(complete_one(e, h), 1);
    assert_int_equal(tblk_status(&e->t, 4), VIRTIO_BLK_S_UNSUPP);
    h = tblk_post(&e->t, 5, 11 /* DISCARD, not offered */, 0, T_DATA, 16, false);
    assert_int_equal(complete_one(e, h), 1);
    assert_int_equal(tblk_status(&e->t, 5), VIRTIO_BLK_S_UNSUPP);
    assert_true(disk_unchanged(e));
    assert_false(vblk_needs_reset(e->vb));
    env_free(e);
}

static void test_ioerr(void **state)
{
    (void)state;
    struct env *e = env_new(false, TBLK_FEATURES, 16);
    struct { uint32_t type; uint64_t sector; uint32_t len; } bad[] = {
        {VIRTIO_BLK_T_IN, REGION_SECTORS, 512},
        {VIRTIO_BLK_T_IN, REGION_SECTORS - 1, 1024},
        {VIRTIO_BLK_T_OUT, REGION_SECTORS, 512},
        {VIRTIO_BLK_T_OUT, UINT64_MAX, 512},
        {VIRTIO_BLK_T_IN, UINT64_MAX - 1, 1024},
        {VIRTIO_BLK_T_IN, 0, 100},      /* not a multiple of 512 */
        {VIRTIO_BLK_T_OUT, 0, 513},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint16_t h = tblk_post(&e->t, i, bad[i].type, bad[i].sector, T_DATA, bad[i].len,
                               bad[i].type == VIRTIO_BLK_T_IN);
        assert_int_equal(complete_one(e, h), 1);
        assert_int_equal(tblk_status(&e->t, i), VIRTIO_BLK_S_IOERR);
    }
    assert_true(disk_unchanged(e));
    assert_int_equal(e->disk.reads + e->disk.writes, 0);
    /* The disk failing. */
    e->disk.fail = true;
    uint16_t h = tblk_post(&e->t, 8, VIRTIO_BLK_T_IN, 0, T_DATA, 512, true);
    assert_int_equal(complete_one(e, h), 1);
    assert_int_equal(tblk_status(&e->t, 8), VIRTIO_BLK_S_IOERR);
    h = tblk_post(&e->t, 9, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
    assert_int_equal(complete_one(e, h), 1);
    assert_int_equal(tblk_status(&e->t, 9), VIRTIO_BLK_S_IOERR);
    assert_false(vblk_needs_reset(e->vb));
    env_free(e);
}

static void test_read_only(void **state)
{
    (void)state;
    struct env *e = env_new(true, TBLK_FEATURES, 16);
    assert_true(e->t.features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    fill(e, T_DATA, 512, 1);
    uint16_t h = tblk_post(&e->t, 0, VIRTIO_BLK_T_OUT, 0, T_DATA, 512, false);
    assert_int_equal(complete_one(e, h), 1);
    assert_int_equal(tblk_status(&e->t, 0), VIRTIO_BLK_S_IOERR);
    assert_int_equal(e->disk.writes, 0);
    h = tblk_post(&e->t, 1, VIRTIO_BLK_T_IN, 0, T_DATA, 512, true);
    assert_int_equal(complete_one(e, h), 513);
    assert_int_equal(tblk_status(&e->t, 1), VIRTIO_BLK_S_OK);
    assert_memory_equal(e->gm.base + T_DATA, e->disk.data + REGION_FIRST * BLK_SECTOR, 512);
    assert_true(disk_unchanged(e));
    env_free(e);
}

static void test_reset(void **state)
{
    (void)state;
    struct env *e = env_new(false, TBLK_FEATURES, 16);
    uint16_t h = tblk_post(&e->t, 0, VIRTIO_BLK_T_IN, 0, T_DATA, 512, true);
    complete_one(e, h);
    vblk_mmio_write(e->vb, VMMIO_STATUS, 4, 0);
    assert_int_equal(vblk_mmio_read(e->vb, VMMIO_STATUS, 4), 0);
    assert_int_equal(vblk_mmio_read(e->vb, VMMIO_QUEUE_READY, 4), 0);
    assert_int_equal(e->vb->mmio.driver_features, 0);
    /* A request posted now is ignored. */
    tblk_post(&e->t, 1, VIRTIO_BLK_T_IN, 0, T_DATA, 512, true);
    tdrv_kick(&e->t, 0);
    assert_int_equal(tblk_status(&e->t, 1), 0xEE);
    /* Bring it up again on fresh rings: works from index 0. */
    memset(e->gm.base, 0, 0x4000);
    assert_true(tdrv_up(&e->t, &e->vb->mmio, &e->gm, TBLK_FEATURES, 32));
    h = tblk_post(&e->t, 2, VIRTIO_BLK_T_IN, 1, T_DATA, 512, true);
    assert_int_equal(complete_one(e, h), 513);
    assert_int_equal(tblk_status(&e->t, 2), VIRTIO_BLK_S_OK);
    env_free(e);
}

/* EVENT_IDX: the driver asks for an interrupt after each used buffer it has
 * consumed (used_event = last_used) -> one interrupt per kick at depth 1, one
 * per batch at depth 32, none when used_event is far ahead. */
static void test_event_idx(void **state)
{
    (void)state;
    struct env *e = env_new(false, TBLK_FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), 128);
    assert_true(e->vb->mmio.q[0].vq.event_idx);
    uint32_t id, len;
    for (unsigned i = 0; i < 32; i++) {
        tdrv_set_used_event(&e->t, e->t.last_used);
        uint16_t h = tblk_post(&e->t, i, VIRTIO_BLK_T_IN, i, T_DATA + 512 * i, 512, true);
        /* The device asked to be notified for the next buffer. */
        assert_int_equal(tdrv_avail_event(&e->t), (uint16_t)(e->t.avail_idx - 1));
        assert_int_equal(complete_one(e, h), 513);
    }
    assert_int_equal(e->irqs, 32);
    assert_int_equal(tdrv_avail_event(&e->t), e->t.avail_idx);
    e->irqs = 0;
    tdrv_set_used_event(&e->t, e->t.last_used);
    for (unsigned i = 0; i < 32; i++)
        tblk_post(&e->t, i, VIRTIO_BLK_T_IN, i, T_DATA + 512 * i, 512, true);
    tdrv_kick(&e->t, 0);
    unsigned n = 0;
    while (tdrv_used(&e->t, &id, &len))
        n++;
    assert_int_equal(n, 32);
    assert_int_equal(e->irqs, 1);
    /* used_event far ahead: suppressed. */
    e->irqs = 0;
    tdrv_set_used_event(&e->t, (uint16_t)(e->t.last_used + 1000));
    for (unsigned i = 0; i < 4; i++) {
        tblk_post(&e->t, i, VIRTIO_BLK_T_IN, i, T_DATA, 512, true);
        tdrv_kick(&e->t, 0);
    }
    assert_int_equal(e->irqs, 0);
    while (tdrv_used(&e->t, &id, &len))
        ;
    /* ... until the used index crosses it (wrapping arithmetic). */
    tdrv_set_used_event(&e->t, e->t.last_used);
    tblk_post(&e->t, 0, VIRTIO_BLK_T_IN, 0, T_DATA, 512, true);
    tdrv_kick(&e->t, 0);
    assert_int_equal(e->irqs, 1);
    env_free(e);
}

static void test_no_interrupt_flag(void **state)
{
    (void)state;
    struct env *e = env_new(false, TBLK_FEATURES, 64);
    w16(&e->gm, T_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    for (unsigned i = 0; i < 8; i++)
        complete_one(e, tblk_post(&e->t, i, VIRTIO_BLK_T_IN, i, T_DATA, 512, true));
    assert_int_equal(e->irqs, 0);
    w16(&e->gm, T_AVAIL, 0);
    for (unsigned i = 0; i < 8; i++)
        tblk_post(&e->t, i, VIRTIO_BLK_T_IN, i, T_DATA, 512, true);
    tdrv_kick(&e->t, 0);
    assert_int_equal(e->irqs, 1);
    /* A kick with nothing new raises nothing. */
    tdrv_kick(&e->t, 0);
    assert_int_equal(e->irqs, 1);
    env_free(e);
}

/* ---- malformed rings: each must end in NEEDS_RESET, a config interrupt,
 * no disk change, and leave a second device fully working. ---- */

enum bad_case {
    BAD_LOOP, BAD_SELF_LOOP, BAD_HEAD, BAD_NEXT, BAD_BUF_OUTSIDE, BAD_BUF_WRAP, BAD_TOO_BIG, BAD_IDX_JUMP,
    BAD_IND_NOT_NEG, BAD_IND_NESTED, BAD_IND_NEXT, BAD_IND_LEN, BAD_IND_LOOP, BAD_IND_OUTSIDE, BAD_ORDER,
    BAD_SHORT_HDR, BAD_NO_STATUS, BAD_IND_NOT_HEAD, BAD_COUNT
};

static void post_bad(struct env *e, enum bad_case c)
{
    struct tdrv *t = &e->t;
    uint64_t hdr = T_HDR;
    w32(&e->gm, hdr, VIRTIO_BLK_T_OUT);
    w64(&e->gm, hdr + 8, 0);
    switch (c) {
    case BAD_LOOP:   /* 0 -> 1 -> 2 -> 0 */
        tdrv_desc(t, T_DESC, 0, hdr, 16, VIRTQ_F_NEXT, 1);
        tdrv_desc(t, T_DESC, 1, T_DATA, 512, VIRTQ_F_NEXT, 2);
        tdrv_desc(t, T_DESC, 2, T_DATA, 512, VIRTQ_F_NEXT, 0);
        tdrv_publish(t, 0);
        break;
    case BAD_SELF_LOOP:
        tdrv_desc(t, T_DESC, 5, hdr, 16, VIRTQ_F_NEXT, 5);
        tdrv_publish(t, 5);
        break;
    case BAD_HEAD:
        tdrv_desc(t, T_DESC, 0, hdr, 16, 0, 0);
        tdrv_publish(t, (uint16_t)t->qsize);
        break;
    case BAD_NEXT:
        tdrv_desc(t, T_DESC, 0, hdr, 16, VIRTQ_F_NEXT, (uint16_t)t->qsize + 3);
        tdrv_publish(t, 0);
        break;
    case BAD_BUF_OUTSIDE: {
        struct tbuf b[] = {{hdr, 16, false}, {TRAM_SIZE - 256, 512, false}, {T_STATUS, 1, true}};
        tdrv_post(t, b, 3);
        break;
    }
    case BAD_BUF_WRAP: {
        struct tbuf b[] = {{hdr, 16, false}, {UINT64_MAX - 100, 512, false}, {T_STATUS, 1, true}};
        tdrv_post(t, b, 3);
        break;
    }
    case BAD_TOO_BIG: {      /* 17 x 1 MiB - each buffer inside RAM, total absurd */
        struct tbuf b[19];
        b[0] = (struct tbuf){hdr, 16, false};
        for (unsigned i = 1; i < 18; i++)
            b[i] = (struct tbuf){0, TRAM_SIZE, false};
        b[18] = (struct tbuf){T_STATUS, 1, true};
        tdrv_post(t, b, 19);
        break;
    }
    case BAD_IDX_JUMP:
        tdrv_desc(t, T_DESC, 0, hdr, 16, 0, 0);
        t->avail_idx = (uint16_t)(t->avail_idx + t->qsize + 1);
        w16(&e->gm, T_AVAIL + 2, t->avail_idx);
        break;
    case BAD_IND_NOT_NEG:
    case BAD_IND_NESTED:
    case BAD_IND_NEXT:
    case BAD_IND_LEN:
    case BAD_IND_LOOP:
    case BAD_IND_OUTSIDE:
    case BAD_IND_NOT_HEAD: {
        struct tbuf b[] = {{hdr, 16, false}, {T_DATA, 512, false}, {T_STATUS, 1, true}};
        uint16_t head = tdrv_post_indirect(t, b, 3, 0);
        if (c == BAD_IND_NESTED)
            tdrv_desc(t, T_IND, 1, T_IND + 0x1000, 32, VIRTQ_F_INDIRECT | VIRTQ_F_NEXT, 2);
        if (c == BAD_IND_NEXT)
            tdrv_desc(t, T_DESC, head, T_IND, 48, VIRTQ_F_INDIRECT | VIRTQ_F_NEXT, 1);
        if (c == BAD_IND_LEN)
            tdrv_desc(t, T_DESC, head, T_IND, 40, VIRTQ_F_INDIRECT, 0);
        if (c == BAD_IND_LOOP)
            tdrv_desc(t, T_IND, 2, T_STATUS, 1, VIRTQ_F_WRITE | VIRTQ_F_NEXT, 0);
        if (c == BAD_IND_OUTSIDE)
            tdrv_desc(t, T_DESC, head, TRAM_SIZE - 32, 48, VIRTQ_F_INDIRECT, 0);
        if (c == BAD_IND_NOT_HEAD) {
            uint16_t h2 = (uint16_t)(head + 1) % t->qsize;
            tdrv_desc(t, T_DESC, h2, hdr, 16, VIRTQ_F_NEXT, head);
            w16(&e->gm, T_AVAIL + 4 + 2 * ((t->avail_idx - 1) % t->qsize), h2);
        }
        break;
    }
    case BAD_ORDER: {
        struct tbuf b[] = {{hdr, 16, false}, {T_STATUS, 1, true}, {T_DATA, 512, false}};
        tdrv_post(t, b, 3);
        break;
    }
    case BAD_SHORT_HDR: {
        struct tbuf b[] = {{hdr, 8, false}, {T_STATUS, 1, true}};
        tdrv_post(t, b, 2);
        break;
    }
    case BAD_NO_STATUS: {
        struct tbuf b[] = {{hdr, 16, false}, {T_DATA, 512, false}};
        tdrv_post(t, b, 2);
        break;
    }
    default:
        fail();
    }
}

static const int bad_expect[BAD_COUNT] = {
    [BAD_LOOP] = VQ_ELOOP, [BAD_SELF_LOOP] = VQ_ELOOP, [BAD_HEAD] = VQ_EHEAD, [BAD_NEXT] = VQ_ENEXT,
    [BAD_BUF_OUTSIDE] = VQ_EBUFRANGE, [BAD_BUF_WRAP] = VQ_EBUFRANGE, [BAD_TOO_BIG] = VQ_ETOOBIG,
    [BAD_IDX_JUMP] = VQ_EIDXJUMP, [BAD_IND_NOT_NEG] = VQ_EINDIRECT, [BAD_IND_NESTED] = VQ_EINDIRECT,
    [BAD_IND_NEXT] = VQ_EINDIRECT, [BAD_IND_LEN] = VQ_EINDLEN, [BAD_IND_LOOP] = VQ_ELOOP,
    [BAD_IND_OUTSIDE] = VQ_EBUFRANGE, [BAD_ORDER] = VQ_EORDER, [BAD_SHORT_HDR] = VBLK_EMALFORMED,
    [BAD_NO_STATUS] = VBLK_EMALFORMED, [BAD_IND_NOT_HEAD] = VQ_EINDIRECT,
};

static void test_malformed(void **state)
{
    (void)state;
    for (int c = 0; c < BAD_COUNT; c++) {
        uint64_t want = TBLK_FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
        if (c == BAD_IND_NOT_NEG)
            want &= ~VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
        struct env *e = env_new(false, want, 32);
        struct env *other = env_new(false, want, 32);
        /* A good request first, so there is state to keep. */
        fill(e, T_DATA, 512, 3);
        complete_one(e, tblk_post(&e->t, 0, VIRTIO_BLK_T_IN, 0, T_DATA, 512, true));
        unsigned irqs = e->irqs;
        e->irq_status = 0;
        uint16_t used_before = r16(&e->gm, T_USED + 2);
        post_bad(e, (enum bad_case)c);
        tdrv_kick(&e->t, 0);
        if (!vblk_needs_reset(e->vb))
            fail_msg("case %d: no NEEDS_RESET", c);
        assert_int_equal(vblk_mmio_read(e->vb, VMMIO_STATUS, 4) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);
        assert_int_equal(e->irq_status, VMMIO_INT_CONFIG);   /* a configuration change, no used buffer */
        assert_int_equal(e->irqs, irqs + 1);
        if (e->vb->mmio.last_error != -bad_expect[c])
            fail_msg("case %d: error %d, expected %d", c, e->vb->mmio.last_error, -bad_expect[c]);
        assert_int_equal(r16(&e->gm, T_USED + 2), used_before);
        assert_true(disk_unchanged(e));
        /* Further kicks do nothing. */
        tdrv_kick(&e->t, 0);
        assert_int_equal(e->irqs, irqs + 1);
        /* The other device is unaffected and works. */
        assert_false(vblk_needs_reset(other->vb));
        fill(other, T_DATA, 512, 42);
        complete_one(other, tblk_post(&other->t, 0, VIRTIO_BLK_T_OUT, 7, T_DATA, 512, false));
        assert_int_equal(tblk_status(&other->t, 0), VIRTIO_BLK_S_OK);
        assert_memory_equal(other->disk.data + (REGION_FIRST + 7) * BLK_SECTOR, other->gm.base + T_DATA, 512);
        /* Reset recovers the broken one. */
        memset(e->gm.base, 0, 0x10000);
        assert_true(tdrv_up(&e->t, &e->vb->mmio, &e->gm, want, 32));
        assert_false(vblk_needs_reset(e->vb));
        complete_one(e, tblk_post(&e->t, 0, VIRTIO_BLK_T_IN, 0, T_DATA, 512, true));
        assert_int_equal(tblk_status(&e->t, 0), VIRTIO_BLK_S_OK);
        env_free(other);
        env_free(e);
    }
}

/* A chain exactly as long as the queue is fine; through an indirect table
 * the limit is the table (and our segment capacity). */
static void test_chain_limits(void **state)
{
    (void)state;
    struct env *e = env_new(false, TBLK_FEATURES, 8);
    struct tbuf b[8];
    b[0] = (struct tbuf){T_HDR, 16, false};
    for (unsigned i = 1; i < 7; i++)
        b[i] = (struct tbuf){T_DATA + 512 * (i - 1), 512, true};
    b[7] = (struct tbuf){T_STATUS, 1, true};
    w32(&e->gm, T_HDR, VIRTIO_BLK_T_IN);
    w64(&e->gm, T_HDR + 8, 0);
    uint16_t h = tdrv_post(&e->t, b, 8);
    assert_int_equal(complete_one(e, h), 6 * 512 + 1);
    assert_int_equal(tblk_status(&e->t, 0), VIRTIO_BLK_S_OK);
    /* An indirect table longer than the queue but within our segment capacity. */
    static struct tbuf big[VBLK_MAX_SEGS];
    big[0] = (struct tbuf){T_HDR, 16, false};
    for (unsigned i = 1; i < VBLK_MAX_SEGS - 1; i++)
        big[i] = (struct tbuf){T_DATA + 512 * (i - 1), 512, true};
    big[VBLK_MAX_SEGS - 1] = (struct tbuf){T_STATUS, 1, true};
    h = tdrv_post_indirect(&e->t, big, VBLK_MAX_SEGS, 0);
    assert_int_equal(complete_one(e, h), (VBLK_MAX_SEGS - 2) * 512 + 1);
    assert_false(vblk_needs_reset(e->vb));
    env_free(e);
}

/* Bad queue set-ups -> NEEDS_RESET at QueueReady. */
static void test_bad_queue_setup(void **state)
{
    (void)state;
    struct { uint32_t num; uint64_t desc, avail, used; } bad[] = {
        {0, T_DESC, T_AVAIL, T_USED},
        {12, T_DESC, T_AVAIL, T_USED},                /* not a power of two */
        {512, T_DESC, T_AVAIL, T_USED},               /* above QueueNumMax */
        {16, T_DESC + 8, T_AVAIL, T_USED},            /* desc not 16-aligned */
        {16, T_DESC, T_AVAIL + 1, T_USED},            /* avail not 2-aligned */
        {16, T_DESC, T_AVAIL, T_USED + 2},            /* used not 4-aligned */
        {16, TRAM_SIZE - 128, T_AVAIL, T_USED},       /* desc beyond RAM */
        {16, T_DESC, TRAM_SIZE - 32, T_USED},         /* avail (with used_event) beyond RAM */
        {16, T_DESC, T_AVAIL, TRAM_SIZE - 132},       /* used beyond RAM by 2 bytes */
        {16, 0xFFFFFFFFFFFFFF00ull, T_AVAIL, T_USED}, /* wraps */
        {16, T_DESC, T_AVAIL, 1ull << 40},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct env *e = env_new(false, 0, 0);
        assert_true(tdrv_negotiate(&e->t, &e->vb->mmio, &e->gm, TBLK_FEATURES));
        tdrv_queue(&e->t, 0, bad[i].num, bad[i].desc, bad[i].avail, bad[i].used);
        tdrv_driver_ok(&e->t);
        if (!vblk_needs_reset(e->vb))
            fail_msg("queue case %u accepted", i);
        assert_int_equal(tdrv_rd(&e->t, VMMIO_QUEUE_READY), 0);
        tdrv_kick(&e->t, 0);
        assert_int_equal(e->disk.reads + e->disk.writes, 0);
        env_free(e);
    }
    /* The limits themselves are fine: used ends exactly at the end of RAM. */
    struct env *e = env_new(false, 0, 0);
    assert_true(tdrv_negotiate(&e->t, &e->vb->mmio, &e->gm, TBLK_FEATURES));
    tdrv_queue(&e->t, 0, 16, T_DESC, T_AVAIL, TRAM_SIZE - 134);
    assert_true(vblk_needs_reset(e->vb));   /* misaligned */
    env_free(e);
    e = env_new(false, 0, 0);
    assert_true(tdrv_negotiate(&e->t, &e->vb->mmio, &e->gm, TBLK_FEATURES));
    tdrv_queue(&e->t, 0, 16, T_DESC, T_AVAIL, TRAM_SIZE - 136);
    tdrv_driver_ok(&e->t);
    assert_false(vblk_needs_reset(e->vb));
    assert_true(vmmio_live(&e->vb->mmio));
    env_free(e);
}

/* Two devices on one disk: each stays in its region. */
static void test_two_regions(void **state)
{
    (void)state;
    struct guestmem gm1 = tram_new(TRAM_SIZE), gm2 = tram_new(TRAM_SIZE);
    struct fakedisk d;
    fakedisk_init(&d, "disk0", 64);
    struct vblk_dev *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_int_equal(vblk_create(a, &gm1, &d.b, 0, 32, false), 0);
    assert_int_equal(vblk_create(b, &gm2, &d.b, 32, 32, false), 0);
    struct tdrv ta, tb;
    assert_true(tdrv_up(&ta, &a->mmio, &gm1, TBLK_FEATURES, 16));
    assert_true(tdrv_up(&tb, &b->mmio, &gm2, TBLK_FEATURES, 16));
    memset(gm1.base + T_DATA, 0xAA, 32 * 512);
    memset(gm2.base + T_DATA, 0xBB, 32 * 512);
    tblk_post(&ta, 0, VIRTIO_BLK_T_OUT, 0, T_DATA, 32 * 512, false);
    tblk_post(&tb, 0, VIRTIO_BLK_T_OUT, 0, T_DATA, 32 * 512, false);
    tblk_post(&ta, 1, VIRTIO_BLK_T_OUT, 31, T_DATA, 1024, false);   /* crosses the end: refused */
    tdrv_kick(&ta, 0);
    tdrv_kick(&tb, 0);
    assert_int_equal(tblk_status(&ta, 0), VIRTIO_BLK_S_OK);
    assert_int_equal(tblk_status(&tb, 0), VIRTIO_BLK_S_OK);
    assert_int_equal(tblk_status(&ta, 1), VIRTIO_BLK_S_IOERR);
    for (unsigned i = 0; i < 64 * 512; i++)
        assert_int_equal(d.data[i], i < 32 * 512 ? 0xAA : 0xBB);
    free(a);
    free(b);
    fakedisk_free(&d);
    tram_free(&gm1);
    tram_free(&gm2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_create_checks),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_scatter_gather),
        cmocka_unit_test(test_indirect),
        cmocka_unit_test(test_flush_getid_unsupp),
        cmocka_unit_test(test_ioerr),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_event_idx),
        cmocka_unit_test(test_no_interrupt_flag),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_chain_limits),
        cmocka_unit_test(test_bad_queue_setup),
        cmocka_unit_test(test_two_regions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
