/* virtio-blk over the legacy PCI transport: one request in flight at a
 * time through a bounce buffer, completion by interrupt (or polling). */
#include "dom0/drivers/dev.h"
#include "dom0/drivers/drivers.h"
#include "dom0/drivers/virtio_pci.h"
#include "dom0/kernel/dom0.h"

#define VIRTIO_BLK_DEVICE_LEGACY 0x1001u
#define VIRTIO_BLK_F_RO (1u << 5)
#define VIRTIO_BLK_F_FLUSH (1u << 9)

#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u

#define VBLK_BOUNCE_SECTORS 128u     /* 64 KiB per request */
#define VBLK_TIMEOUT_US 5000000u

struct vblk_req {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
    uint8_t status;                  /* written by the device */
};

struct vblk {
    struct blkdev b;
    struct virtio_dev v;
    struct virtq q;
    struct vblk_req *req;
    uint8_t *bounce;
    bool broken;
};

static bool vblk_done(void *arg)
{
    return virtq_has_used(&((struct vblk *)arg)->q);
}

/* One request; data (len bytes) is in the bounce buffer. */
static int vblk_request(struct vblk *vb, uint32_t type, uint64_t sector, uint32_t len)
{
    if (vb->broken)
        return -PL_EIO;
    struct virtq_buf bufs[3];
    unsigned n = 0;
    vb->req->type = type;
    vb->req->reserved = 0;
    vb->req->sector = sector;
    vb->req->status = 0xFF;
    bufs[n++] = (struct virtq_buf){ dma_addr(vb->req), 16, false };
    if (len)
        bufs[n++] = (struct virtq_buf){ dma_addr(vb->bounce), len, type == VIRTIO_BLK_T_IN };
    bufs[n++] = (struct virtq_buf){ dma_addr(&vb->req->status), 1, true };
    if (virtq_post(&vb->q, bufs, n) < 0)
        return -PL_EIO;
    virtq_notify(&vb->v, &vb->q);
    /* With an interrupt, sleep until it comes; polling spins a little first. */
    bool done = vb->v.irq_ok ? wait_until(vblk_done, vb, VBLK_TIMEOUT_US)
                             : drv_wait(vblk_done, vb, VBLK_TIMEOUT_US);
    if (!done) {
        kprintf("%s: request type %u sector %llu timed out\n", vb->b.name, type,
                (unsigned long long)sector);
        vb->broken = true;
        return -PL_EIO;
    }
    virtq_take(&vb->q, NULL, NULL);
    barrier();
    if (vb->req->status != 0) {
        kprintf("%s: request type %u sector %llu failed, status %u\n", vb->b.name, type,
                (unsigned long long)sector, vb->req->status);
        return -PL_EIO;
    }
    return 0;
}

static int vblk_check(struct blkdev *b, uint64_t lba, uint32_t count)
{
    if (lba > b->sectors || count > b->sectors - lba)
        return -PL_ERANGE;
    return 0;
}

static int vblk_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
    struct vblk *vb = b->priv;
    int r = vblk_check(b, lba, count);
    uint8_t *out = buf;
    while (r == 0 && count) {
        uint32_t n = count < VBLK_BOUNCE_SECTORS ? count : VBLK_BOUNCE_SECTORS;
        r = vblk_request(vb, VIRTIO_BLK_T_IN, lba, n * BLK_SECTOR);
        if (r == 0)
            memcpy(out, vb->bounce, (size_t)n * BLK_SECTOR);
        out += (size_t)n * BLK_SECTOR;
        lba += n;
        count -= n;
    }
    return r;
}

static int vblk_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
    struct vblk *vb = b->priv;
    if (b->read_only)
        return -PL_EPERM;
    int r = vblk_check(b, lba, count);
    const uint8_t *in = buf;
    while (r == 0 && count) {
        uint32_t n = count < VBLK_BOUNCE_SECTORS ? count : VBLK_BOUNCE_SECTORS;
        memcpy(vb->bounce, in, (size_t)n * BLK_SECTOR);
        r = vblk_request(vb, VIRTIO_BLK_T_OUT, lba, n * BLK_SECTOR);
        in += (size_t)n * BLK_SECTOR;
        lba += n;
        count -= n;
    }
    return r;
}

static int vblk_flush(struct blkdev *b)
{
    struct vblk *vb = b->priv;
    if (!(vb->v.guest_features & VIRTIO_BLK_F_FLUSH))
        return 0;       /* no volatile write cache to flush */
    return vblk_request(vb, VIRTIO_BLK_T_FLUSH, 0, 0);
}

bool virtio_blk_probe(struct pci_dev *d)
{
    if (d->vendor != VIRTIO_VENDOR || d->device != VIRTIO_BLK_DEVICE_LEGACY)
        return false;
    const char *who = "virtio-blk";
    struct vblk *vb = kalloc(sizeof *vb, 64);
    if (!vb)
        return false;
    if (!virtio_pci_begin(&vb->v, d, who))
        return false;
    virtio_pci_set_features(&vb->v, VIRTIO_BLK_F_RO | VIRTIO_BLK_F_FLUSH);
    int r = virtq_setup(&vb->v, &vb->q, 0);
    vb->req = kalloc(sizeof *vb->req, 64);
    vb->bounce = kalloc(VBLK_BOUNCE_SECTORS * BLK_SECTOR, 4096);
    if (r || !vb->req || !vb->bounce) {
        kprintf("%s: %02x:%02x.%x: queue setup failed (%d)\n", who, d->bus, d->dev, d->fn, r);
        virtio_pci_fail(&vb->v);
        return false;
    }
    d->driver = who;
    vb->v.irq_count = &vb->b.irqs;
    virtio_pci_bind_irq(&vb->v, who);
    virtio_pci_driver_ok(&vb->v);
    vb->b.driver = who;
    vb->b.sectors = virtio_cfg_read64(&vb->v, 0);
    vb->b.read_only = (vb->v.guest_features & VIRTIO_BLK_F_RO) != 0;
    vb->b.read = vblk_read;
    vb->b.write = vblk_write;
    vb->b.flush = vblk_flush;
    vb->b.priv = vb;
    kprintf("%s: %02x:%02x.%x io %x queue %u entries, features %08x (flush %s)\n", who, d->bus,
            d->dev, d->fn, vb->v.io, vb->q.size, vb->v.guest_features,
            (vb->v.guest_features & VIRTIO_BLK_F_FLUSH) ? "yes" : "no");
    blkdev_register(&vb->b);
    return true;
}
