/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk backend (virtio 1.2 section 5.2) for one domU disk: a region
 * [first_sector, first_sector + sectors) of one of dom0's physical disks
 * (struct blkdev), read-only or read-write, presented through the
 * virtio-mmio transport (mmio_dev.h) with one request queue.
 *
 * Glue (per domU disk):
 *   struct vblk_dev *vb = kalloc(sizeof *vb, 64);          never moved after create
 *   vblk_create(vb, &gm, blkdev_find("disk0"), first, count, ro);
 *   vblk_set_irq(vb, raise, ctx);                           raise(ctx, status): HC_DOMAIN_IRQ(domid, 16 + n, status, seq)
 *   IOREQ_TYPE_MMIO read:   HC_IOREQ_COMPLETE(..., vblk_mmio_read(vb, addr - window, size))
 *   IOREQ_TYPE_POSTED_WRITE: vblk_mmio_write(vb, addr - window, size, data)  (no completion)
 *   IOREQ_TYPE_NOTIFY:      while (vblk_notify(vb, (unsigned)data) > 0) ;  (or later)
 * All of it runs in one dom0 thread per device; nothing here blocks except
 * the synchronous blkdev calls.
 */
#ifndef DOM0_VIRTIO_BLK_BACKEND_H
#define DOM0_VIRTIO_BLK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "dom0/drivers/dev.h"
#include "dom0/virtio/guestmem.h"
#include "dom0/virtio/mmio_dev.h"
#include "dom0/virtio/virtq.h"

#define VIRTIO_ID_BLOCK 2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u
#define VIRTIO_BLK_ID_BYTES 20u
#define VIRTIO_BLK_HDR_BYTES 16u   /* le32 type, le32 reserved, le64 sector */

/* Configuration space offsets (5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0  /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 8  /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX 12  /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE 20 /* le32 */
#define VIRTIO_BLK_CFG_LEN 24

#define VBLK_QUEUE_MAX 256u            /* QueueNumMax */
#define VBLK_MAX_SEGS VBLK_QUEUE_MAX   /* a chain can never hold more (indirect included) */
#define VBLK_SEG_MAX (VBLK_MAX_SEGS - 2) /* data segments offered: header and status take two */
#define VBLK_BOUNCE (32u * 1024)       /* bytes per blkdev call */
#define VBLK_BUDGET (4u * VBLK_QUEUE_MAX) /* requests per vblk_notify call */

/* Device-level errors passed to vmmio_fail (beyond the VQ_E* codes). */
#define VBLK_EMALFORMED 100  /* header shorter than 16 bytes or no status byte */

struct vblk_dev {
    struct vmmio_dev mmio;
    const struct guestmem *gm;
    struct blkdev *disk;
    uint64_t first_sector;
    uint64_t sectors;
    bool ro;
    uint8_t config[VIRTIO_BLK_CFG_LEN];
    char id[VIRTIO_BLK_ID_BYTES];      /* GET_ID answer, NUL-padded */
    /* statistics */
    uint64_t reqs, rd_sectors, wr_sectors, flushes, ioerrs, unsupp;
    struct vq_seg segs[VBLK_MAX_SEGS];
    uint8_t bounce[VBLK_BOUNCE];
};

/* Create the device (reset state). disk must hold the region
 * (first_sector + sectors <= disk->sectors, sectors >= 1); a read-write
 * device needs a writable disk with a write method. 0, -PL_EINVAL or
 * -PL_EPERM (rw on a read-only disk). The struct must stay where it is
 * (the transport points into it); gm must outlive it. */
int vblk_create(struct vblk_dev *vb, const struct guestmem *gm, struct blkdev *disk, uint64_t first_sector,
                uint64_t sectors, bool ro);

/* The GET_ID string (at most 20 bytes used; default "<disk>:<first sector hex>"). */
void vblk_set_id(struct vblk_dev *vb, const char *id);

/* raise(ctx, status) is called whenever the domU's interrupt must be
 * raised, with the InterruptStatus bits it sets (VMMIO_INT_*). */
void vblk_set_irq(struct vblk_dev *vb, void (*raise)(void *ctx, uint32_t status), void *ctx);

/* Register window accesses, offset relative to the window base. */
uint64_t vblk_mmio_read(struct vblk_dev *vb, uint64_t offset, unsigned size);
void vblk_mmio_write(struct vblk_dev *vb, uint64_t offset, unsigned size, uint64_t value);

/* Process the available requests of queue q (only queue 0 exists). Returns
 * 1 when it stopped after VBLK_BUDGET requests with more waiting (call
 * again), else 0. A driver violation puts the device in NEEDS_RESET. */
int vblk_notify(struct vblk_dev *vb, unsigned q);

/* True while the device has been stopped by a violation until reset. */
static inline bool vblk_needs_reset(const struct vblk_dev *vb)
{
    return (vb->mmio.status & VIRTIO_STATUS_NEEDS_RESET) != 0;
}

#endif
