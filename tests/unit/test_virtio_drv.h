/* A tiny virtio-mmio driver for the virtio backend tests and fuzzers: fake
 * guest RAM, a fake blkdev over a host buffer, and a frontend that sets up
 * queue 0 and posts requests the way Linux's virtio_mmio/virtio_blk would. */
#ifndef TEST_VIRTIO_DRV_H
#define TEST_VIRTIO_DRV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dom0/virtio/blk_backend.h"
#include "dom0/virtio/mmio_dev.h"
#include "plinth/errno.h"

/* ---- fake guest RAM ---- */
#define TRAM_SIZE (1u << 20)
/* Layout the helper driver uses. */
#define T_DESC 0x0000u
#define T_AVAIL 0x1000u
#define T_USED 0x2000u
#define T_HDR 0x4000u     /* 16-byte request headers, one per slot */
#define T_STATUS 0x6000u  /* status bytes, one per slot */
#define T_DATA 0x10000u   /* data buffers */
#define T_IND 0x8000u     /* indirect tables */

static inline struct guestmem tram_new(uint64_t size)
{
    struct guestmem gm = {(uint8_t *)calloc(1, size), size};
    return gm;
}

static inline void tram_free(struct guestmem *gm)
{
    free(gm->base);
    gm->base = NULL;
}

static inline void w16(const struct guestmem *gm, uint64_t gpa, uint16_t v) { memcpy(gm->base + gpa, &v, 2); }
static inline void w32(const struct guestmem *gm, uint64_t gpa, uint32_t v) { memcpy(gm->base + gpa, &v, 4); }
static inline void w64(const struct guestmem *gm, uint64_t gpa, uint64_t v) { memcpy(gm->base + gpa, &v, 8); }
static inline uint16_t r16(const struct guestmem *gm, uint64_t gpa) { uint16_t v; memcpy(&v, gm->base + gpa, 2); return v; }
static inline uint32_t r32(const struct guestmem *gm, uint64_t gpa) { uint32_t v; memcpy(&v, gm->base + gpa, 4); return v; }

/* ---- fake disk ---- */
struct fakedisk {
    struct blkdev b;
    uint8_t *data;
    uint64_t flushes, reads, writes;
    bool fail;               /* every call returns -PL_EIO */
};

static inline int fd_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
    struct fakedisk *f = (struct fakedisk *)b;
    f->reads++;
    if (f->fail)
        return -PL_EIO;
    if (lba > b->sectors || count > b->sectors - lba)
        return -PL_ERANGE;
    memcpy(buf, f->data + lba * BLK_SECTOR, (size_t)count * BLK_SECTOR);
    return 0;
}

static inline int fd_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
    struct fakedisk *f = (struct fakedisk *)b;
    f->writes++;
    if (f->fail)
        return -PL_EIO;
    if (b->read_only)
        return -PL_EPERM;
    if (lba > b->sectors || count > b->sectors - lba)
        return -PL_ERANGE;
    memcpy(f->data + lba * BLK_SECTOR, buf, (size_t)count * BLK_SECTOR);
    return 0;
}

static inline int fd_flush(struct blkdev *b)
{
    struct fakedisk *f = (struct fakedisk *)b;
    f->flushes++;
    return f->fail ? -PL_EIO : 0;
}

/* A disk of `sectors` sectors, sector s filled with byte (s * 7 + i) pattern. */
static inline void fakedisk_init(struct fakedisk *f, const char *name, uint64_t sectors)
{
    memset(f, 0, sizeof *f);
    strncpy(f->b.name, name, sizeof f->b.name - 1);
    f->b.driver = "fake";
    f->b.sectors = sectors;
    f->b.read = fd_read;
    f->b.write = fd_write;
    f->b.flush = fd_flush;
    f->data = (uint8_t *)malloc(sectors * BLK_SECTOR);
    for (uint64_t i = 0; i < sectors * BLK_SECTOR; i++)
        f->data[i] = (uint8_t)(i / BLK_SECTOR * 7 + i);
}

static inline void fakedisk_free(struct fakedisk *f)
{
    free(f->data);
    f->data = NULL;
}

/* ---- the frontend ---- */
struct tdrv {
    struct vmmio_dev *d;
    const struct guestmem *gm;
    uint32_t qsize;
    uint64_t desc, avail, used;
    uint16_t avail_idx;     /* driver's next avail index */
    uint16_t last_used;     /* driver's consumed used index */
    uint16_t next_desc;     /* descriptor allocator (wraps) */
    uint64_t features;      /* negotiated */
};

static inline uint32_t tdrv_rd(struct tdrv *t, uint64_t off) { return (uint32_t)vmmio_read(t->d, off, 4); }
static inline void tdrv_wr(struct tdrv *t, uint64_t off, uint32_t v) { vmmio_write(t->d, off, 4, v); }

/* Handshake: reset, ACK, DRIVER, features (want & offered), FEATURES_OK.
 * Returns false if the device refused FEATURES_OK. */
static inline bool tdrv_negotiate(struct tdrv *t, struct vmmio_dev *d, const struct guestmem *gm, uint64_t want)
{
    memset(t, 0, sizeof *t);
    t->d = d;
    t->gm = gm;
    tdrv_wr(t, VMMIO_STATUS, 0);
    tdrv_wr(t, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    tdrv_wr(t, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    tdrv_wr(t, VMMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t off = tdrv_rd(t, VMMIO_DEVICE_FEATURES);
    tdrv_wr(t, VMMIO_DEVICE_FEATURES_SEL, 1);
    off |= (uint64_t)tdrv_rd(t, VMMIO_DEVICE_FEATURES) << 32;
    t->features = want & off;
    tdrv_wr(t, VMMIO_DRIVER_FEATURES_SEL, 0);
    tdrv_wr(t, VMMIO_DRIVER_FEATURES, (uint32_t)t->features);
    tdrv_wr(t, VMMIO_DRIVER_FEATURES_SEL, 1);
    tdrv_wr(t, VMMIO_DRIVER_FEATURES, (uint32_t)(t->features >> 32));
    uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    tdrv_wr(t, VMMIO_STATUS, st);
    return (tdrv_rd(t, VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK) != 0;
}

/* Set up queue q at the given addresses (no checks: tests pass bad ones). */
static inline void tdrv_queue(struct tdrv *t, unsigned q, uint32_t qsize, uint64_t desc, uint64_t avail,
                              uint64_t used)
{
    t->qsize = qsize;
    t->desc = desc;
    t->avail = avail;
    t->used = used;
    tdrv_wr(t, VMMIO_QUEUE_SEL, q);
    tdrv_wr(t, VMMIO_QUEUE_NUM, qsize);
    tdrv_wr(t, VMMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    tdrv_wr(t, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    tdrv_wr(t, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    tdrv_wr(t, VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    tdrv_wr(t, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    tdrv_wr(t, VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    tdrv_wr(t, VMMIO_QUEUE_READY, 1);
}

static inline void tdrv_driver_ok(struct tdrv *t)
{
    tdrv_wr(t, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                                 VIRTIO_STATUS_DRIVER_OK);
}

/* Full bring-up with the standard layout; true when live. */
static inline bool tdrv_up(struct tdrv *t, struct vmmio_dev *d, const struct guestmem *gm, uint64_t want,
                           uint32_t qsize)
{
    if (!tdrv_negotiate(t, d, gm, want))
        return false;
    tdrv_queue(t, 0, qsize, T_DESC, T_AVAIL, T_USED);
    tdrv_driver_ok(t);
    return vmmio_live(d);
}

/* Write descriptor i. */
static inline void tdrv_desc(struct tdrv *t, uint64_t table, uint32_t i, uint64_t addr, uint32_t len,
                             uint16_t flags, uint16_t next)
{
    uint64_t p = table + 16ull * i;
    w64(t->gm, p, addr);
    w32(t->gm, p + 8, len);
    w16(t->gm, p + 12, flags);
    w16(t->gm, p + 14, next);
}

struct tbuf {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

/* Put head into the avail ring and publish it (no notify). */
static inline void tdrv_publish(struct tdrv *t, uint16_t head)
{
    w16(t->gm, t->avail + 4 + 2 * (t->avail_idx % t->qsize), head);
    t->avail_idx++;
    w16(t->gm, t->avail + 2, t->avail_idx);
}

/* Post a chain of n buffers; returns the head. */
static inline uint16_t tdrv_post(struct tdrv *t, const struct tbuf *b, unsigned n)
{
    uint16_t head = (uint16_t)(t->next_desc % t->qsize);
    for (unsigned i = 0; i < n; i++) {
        uint16_t cur = (uint16_t)((t->next_desc + i) % t->qsize);
        uint16_t nxt = (uint16_t)((t->next_desc + i + 1) % t->qsize);
        tdrv_desc(t, t->desc, cur, b[i].gpa, b[i].len,
                  (uint16_t)((b[i].write ? VIRTQ_F_WRITE : 0) | (i + 1 < n ? VIRTQ_F_NEXT : 0)), nxt);
    }
    t->next_desc = (uint16_t)(t->next_desc + n);
    tdrv_publish(t, head);
    return head;
}

/* Post the chain through one indirect descriptor (table at T_IND + slot*4096). */
static inline uint16_t tdrv_post_indirect(struct tdrv *t, const struct tbuf *b, unsigned n, unsigned slot)
{
    uint64_t table = T_IND + 0x1000ull * slot;
    for (unsigned i = 0; i < n; i++)
        tdrv_desc(t, table, i, b[i].gpa, b[i].len,
                  (uint16_t)((b[i].write ? VIRTQ_F_WRITE : 0) | (i + 1 < n ? VIRTQ_F_NEXT : 0)), (uint16_t)(i + 1));
    uint16_t head = (uint16_t)(t->next_desc % t->qsize);
    tdrv_desc(t, t->desc, head, table, 16u * n, VIRTQ_F_INDIRECT, 0);
    t->next_desc++;
    tdrv_publish(t, head);
    return head;
}

static inline void tdrv_kick(struct tdrv *t, unsigned q) { tdrv_wr(t, VMMIO_QUEUE_NOTIFY, q); }

/* Next used element: true with *id, *len, or false when none. */
static inline bool tdrv_used(struct tdrv *t, uint32_t *id, uint32_t *len)
{
    if (r16(t->gm, t->used + 2) == t->last_used)
        return false;
    uint64_t e = t->used + 4 + 8ull * (t->last_used % t->qsize);
    *id = r32(t->gm, e);
    *len = r32(t->gm, e + 4);
    t->last_used++;
    return true;
}

/* used_event (driver -> device) and avail_event (device -> driver). */
static inline void tdrv_set_used_event(struct tdrv *t, uint16_t v) { w16(t->gm, t->avail + 4 + 2 * t->qsize, v); }
static inline uint16_t tdrv_avail_event(struct tdrv *t) { return r16(t->gm, t->used + 4 + 8 * t->qsize); }

/* ---- virtio-blk requests ---- */
/* Post a request in `slot` (header at T_HDR + 16 * slot, status at
 * T_STATUS + slot) with one data buffer (none when len 0). */
static inline uint16_t tblk_post(struct tdrv *t, unsigned slot, uint32_t type, uint64_t sector, uint64_t data,
                                 uint32_t len, bool data_write)
{
    uint64_t hdr = T_HDR + 16ull * slot;
    w32(t->gm, hdr, type);
    w32(t->gm, hdr + 4, 0);
    w64(t->gm, hdr + 8, sector);
    t->gm->base[T_STATUS + slot] = 0xEE;
    struct tbuf b[3] = {{hdr, 16, false}, {data, len, data_write}, {T_STATUS + slot, 1, true}};
    if (len == 0) {
        b[1] = b[2];
        return tdrv_post(t, b, 2);
    }
    return tdrv_post(t, b, 3);
}

static inline uint8_t tblk_status(struct tdrv *t, unsigned slot) { return t->gm->base[T_STATUS + slot]; }

#define TBLK_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | \
                       VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_RO) | \
                       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))

#endif
