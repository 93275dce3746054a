/* dom0's device model: block and network devices found by the drivers,
 * registered by name (disk0, disk1, net0, ...) for the shell and, later,
 * the virtio backends. */
#ifndef DOM0_DRIVERS_DEV_H
#define DOM0_DRIVERS_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLK_SECTOR 512u

struct blkdev {
    char name[16];              /* "disk0" */
    const char *driver;         /* "virtio-blk", "ata" */
    uint64_t sectors;           /* capacity in 512-byte sectors */
    bool read_only;
    /* Synchronous; buf is dom0 memory (any alignment). 0 or -PL_EIO,
     * -PL_ERANGE (beyond the end), -PL_EPERM (write to read-only). */
    int (*read)(struct blkdev *b, uint64_t lba, uint32_t count, void *buf);
    int (*write)(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf);
    int (*flush)(struct blkdev *b);
    uint64_t irqs;              /* interrupts handled */
    void *priv;
};

struct netdev {
    char name[16];              /* "net0" */
    const char *driver;         /* "virtio-net", "e1000" */
    uint8_t mac[6];
    bool link_up;
    /* Queue one frame (14..1514 bytes); 0 or -PL_EBUSY when the ring is
     * full, -PL_EINVAL for a bad length. */
    int (*send)(struct netdev *n, const void *frame, size_t len);
    /* Take one received frame into buf: its length, 0 when none is
     * waiting, -PL_E2BIG (frame dropped) when buf is too small. */
    int (*recv)(struct netdev *n, void *buf, size_t len);
    uint64_t irqs, tx_frames, rx_frames;
    void *priv;
};

#define MAX_BLKDEVS 8
#define MAX_NETDEVS 8

/* Names it diskN unless b->name is already set (mem0, ...); -PL_ENOSPC when full. */
int blkdev_register(struct blkdev *b);
int netdev_register(struct netdev *n);
unsigned blkdev_count(void);
unsigned netdev_count(void);
struct blkdev *blkdev_get(unsigned i);
struct netdev *netdev_get(unsigned i);
struct blkdev *blkdev_find(const char *name);
struct netdev *netdev_find(const char *name);

/* Enumerate PCI and start every driver that recognises a device; also the
 * legacy ATA controller. Logs one line per device found. */
void drivers_init(void);

/* A RAM disk memN over size bytes at data (a file module named *.img,
 * dom0/drivers/memdisk.c); 0 or -PL_E*. */
int memdisk_add(const char *module, void *data, uint64_t size);

#endif
