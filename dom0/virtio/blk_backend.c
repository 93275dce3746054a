/* SPDX-License-Identifier: MIT */
/* virtio-blk backend (see blk_backend.h). */
#include "dom0/virtio/blk_backend.h"

#include "hv/string.h"
#include "plinth/errno.h"

#define SECTORS_PER_BOUNCE (VBLK_BOUNCE / BLK_SECTOR)

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static struct vblk_dev *from_mmio(struct vmmio_dev *d)
{
    return (struct vblk_dev *)d->priv;
}

/* Sectors [sector, sector + count) inside the region? Overflow-safe. */
static bool in_range(const struct vblk_dev *vb, uint64_t sector, uint64_t count)
{
    return sector <= vb->sectors && count <= vb->sectors - sector;
}

/* Serve one request. 0 with *used_len set, or -VBLK_EMALFORMED. */
static int serve(struct vblk_dev *vb, const struct vq_chain *c, uint32_t *used_len)
{
    const struct vq_seg *rd = vb->segs, *wr = vb->segs + c->nread;
    uint32_t nrd = c->nread, nwr = c->nseg - c->nread;
    uint8_t hdr[VIRTIO_BLK_HDR_BYTES];

    if (c->read_len < VIRTIO_BLK_HDR_BYTES || c->write_len < 1)
        return -VBLK_EMALFORMED;
    if (vq_seg_copy(vb->gm, rd, nrd, 0, hdr, sizeof hdr, false) != sizeof hdr)
        return -VBLK_EMALFORMED;
    uint32_t type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    uint64_t sector = 0;
    for (unsigned i = 0; i < 8; i++)
        sector |= (uint64_t)hdr[8 + i] << (8 * i);

    uint64_t in_len = c->write_len - 1;                 /* data the device writes */
    uint64_t out_len = c->read_len - VIRTIO_BLK_HDR_BYTES; /* data the device reads */
    uint64_t written = 0;
    uint8_t status = VIRTIO_BLK_S_OK;
    struct blkdev *disk = vb->disk;
    vb->reqs++;

    switch (type) {
    case VIRTIO_BLK_T_IN: {
        uint64_t count = in_len / BLK_SECTOR;
        if (in_len % BLK_SECTOR || !in_range(vb, sector, count)) {
            status = VIRTIO_BLK_S_IOERR;
            break;
        }
        /* The usual shape, one buffer for all the data: the disk reads
         * straight into the guest's pages (dom0's drivers take any memory
         * and bounce for DMA themselves), saving a copy. */
        uint8_t *direct = nwr >= 1 && wr[0].len == in_len && count <= UINT32_MAX ? gm_ptr(vb->gm, wr[0].gpa, in_len)
                                                                                 : NULL;
        if (direct && count) {
            if (disk->read(disk, vb->first_sector + sector, (uint32_t)count, direct) != 0)
                status = VIRTIO_BLK_S_IOERR;
            else
                written = in_len;
            vb->rd_sectors += written / BLK_SECTOR;
            break;
        }
        for (uint64_t done = 0; done < count;) {
            uint32_t n = (uint32_t)(count - done < SECTORS_PER_BOUNCE ? count - done : SECTORS_PER_BOUNCE);
            if (disk->read(disk, vb->first_sector + sector + done, n, vb->bounce) != 0) {
                status = VIRTIO_BLK_S_IOERR;
                break;
            }
            written += vq_seg_copy(vb->gm, wr, nwr, done * BLK_SECTOR, vb->bounce, (uint64_t)n * BLK_SECTOR, true);
            done += n;
        }
        vb->rd_sectors += written / BLK_SECTOR;
        break;
    }
    case VIRTIO_BLK_T_OUT: {
        uint64_t count = out_len / BLK_SECTOR;
        if (vb->ro || out_len % BLK_SECTOR || !in_range(vb, sector, count)) {
            status = VIRTIO_BLK_S_IOERR;
            break;
        }
        /* One buffer after the header holding all the data: written from
         * the guest's pages directly (the guest changing them meanwhile
         * only changes what it asked to write, as with real DMA). */
        const uint8_t *direct = nrd >= 2 && rd[0].len == VIRTIO_BLK_HDR_BYTES && rd[1].len == out_len &&
                                        count <= UINT32_MAX
                                    ? gm_ptr(vb->gm, rd[1].gpa, out_len)
                                    : NULL;
        if (direct && count) {
            if (disk->write(disk, vb->first_sector + sector, (uint32_t)count, direct) != 0)
                status = VIRTIO_BLK_S_IOERR;
            else
                vb->wr_sectors += count;
            break;
        }
        for (uint64_t done = 0; done < count;) {
            uint32_t n = (uint32_t)(count - done < SECTORS_PER_BOUNCE ? count - done : SECTORS_PER_BOUNCE);
            uint64_t bytes = (uint64_t)n * BLK_SECTOR;
            if (vq_seg_copy(vb->gm, rd, nrd, VIRTIO_BLK_HDR_BYTES + done * BLK_SECTOR, vb->bounce, bytes, false) !=
                    bytes ||
                disk->write(disk, vb->first_sector + sector + done, n, vb->bounce) != 0) {
                status = VIRTIO_BLK_S_IOERR;
                break;
            }
            done += n;
            vb->wr_sectors += n;
        }
        break;
    }
    case VIRTIO_BLK_T_FLUSH:
        vb->flushes++;
        if (!vb->ro && disk->flush && disk->flush(disk) != 0)
            status = VIRTIO_BLK_S_IOERR;
        break;
    case VIRTIO_BLK_T_GET_ID: {
        uint64_t n = in_len < VIRTIO_BLK_ID_BYTES ? in_len : VIRTIO_BLK_ID_BYTES;
        written = vq_seg_copy(vb->gm, wr, nwr, 0, vb->id, n, true);
        break;
    }
    default:
        status = VIRTIO_BLK_S_UNSUPP;
        vb->unsupp++;
        break;
    }
    if (status == VIRTIO_BLK_S_IOERR)
        vb->ioerrs++;
    /* The status byte is the last device-writable byte. */
    vq_seg_copy(vb->gm, wr, nwr, c->write_len - 1, &status, 1, true);
    *used_len = (uint32_t)(written + 1);
    return 0;
}

int vblk_notify(struct vblk_dev *vb, unsigned q)
{
    struct vmmio_dev *d = &vb->mmio;
    struct vq *vq = vmmio_vq(d, q);
    if (q != 0 || !vq || !vmmio_live(d))
        return 0;
    unsigned served = 0;
    int more = 0;
    /* Bounded even against a driver that keeps moving avail->idx. */
    for (unsigned iter = 0; iter < 2 * VBLK_BUDGET; iter++) {
        struct vq_chain c;
        int r = vq_pop(vq, &c, vb->segs, VBLK_MAX_SEGS);
        if (r == 0) {
            if (!vq_enable_notify(vq))
                break;
            continue;
        }
        uint32_t used_len = 0;
        if (r > 0)
            r = serve(vb, &c, &used_len);
        if (r >= 0)
            r = vq_push(vq, c.head, used_len);
        if (r < 0) {
            vmmio_fail(d, r);
            break;
        }
        if (++served >= VBLK_BUDGET) {
            more = vq_avail_count(vq) != 0;
            break;
        }
    }
    if (served)
        vmmio_queue_done(d, 0);
    return more && vmmio_live(d);
}

static int vblk_notify_op(struct vmmio_dev *d, unsigned q)
{
    return vblk_notify(from_mmio(d), q);
}

static void vblk_reset_op(struct vmmio_dev *d)
{
    (void)d; /* requests are served synchronously: nothing is in flight */
}

static const struct vmmio_ops vblk_ops = {
    .notify = vblk_notify_op,
    .reset = vblk_reset_op,
};

void vblk_set_id(struct vblk_dev *vb, const char *id)
{
    memset(vb->id, 0, sizeof vb->id);
    for (unsigned i = 0; id && id[i] && i < VIRTIO_BLK_ID_BYTES; i++)
        vb->id[i] = id[i];
}

void vblk_set_irq(struct vblk_dev *vb, void (*raise)(void *ctx, uint32_t status), void *ctx)
{
    vmmio_set_irq(&vb->mmio, raise, ctx);
}

int vblk_create(struct vblk_dev *vb, const struct guestmem *gm, struct blkdev *disk, uint64_t first_sector,
                uint64_t sectors, bool ro)
{
    if (!vb || !gm || !disk || !disk->read || sectors == 0)
        return -PL_EINVAL;
    if (first_sector > disk->sectors || sectors > disk->sectors - first_sector)
        return -PL_EINVAL;
    if (!ro && disk->read_only)
        return -PL_EPERM;
    if (!ro && !disk->write)
        return -PL_EINVAL;
    memset(vb, 0, sizeof *vb);
    vb->gm = gm;
    vb->disk = disk;
    vb->first_sector = first_sector;
    vb->sectors = sectors;
    vb->ro = ro;
    put_le(vb->config + VIRTIO_BLK_CFG_CAPACITY, sectors, 8);
    put_le(vb->config + VIRTIO_BLK_CFG_SEG_MAX, VBLK_SEG_MAX, 4);

    /* Default serial: "<disk>:<first sector in hex>", cut at 20 bytes. */
    char id[VIRTIO_BLK_ID_BYTES + 1];
    unsigned n = 0;
    for (unsigned i = 0; i < sizeof disk->name && disk->name[i] && n < VIRTIO_BLK_ID_BYTES; i++)
        id[n++] = disk->name[i];
    if (n < VIRTIO_BLK_ID_BYTES)
        id[n++] = ':';
    int shift = 60;
    while (shift > 0 && ((first_sector >> shift) & 0xF) == 0)
        shift -= 4;
    for (; shift >= 0 && n < VIRTIO_BLK_ID_BYTES; shift -= 4)
        id[n++] = "0123456789abcdef"[(first_sector >> shift) & 0xF];
    id[n] = 0;
    vblk_set_id(vb, id);

    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
                        VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
                        VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX);
    if (ro)
        features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
    return vmmio_init(&vb->mmio, gm, VIRTIO_ID_BLOCK, features, 1, VBLK_QUEUE_MAX, vb->config,
                      sizeof vb->config, &vblk_ops, vb);
}

uint64_t vblk_mmio_read(struct vblk_dev *vb, uint64_t offset, unsigned size)
{
    return vmmio_read(&vb->mmio, offset, size);
}

void vblk_mmio_write(struct vblk_dev *vb, uint64_t offset, unsigned size, uint64_t value)
{
    (void)vmmio_write(&vb->mmio, offset, size, value);
}
