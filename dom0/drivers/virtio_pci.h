/* Legacy (virtio 0.9.5 / "transitional" 1.x) virtio over PCI: the
 * registers sit in I/O BAR0, queues are split virtqueues at a page frame. */
#ifndef DOM0_DRIVERS_VIRTIO_PCI_H
#define DOM0_DRIVERS_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "dom0/drivers/drvutil.h"
#include "dom0/drivers/pci.h"

#define VIRTIO_VENDOR 0x1AF4u

/* Legacy register offsets in I/O BAR0. */
#define VIRTIO_PCI_HOST_FEATURES 0   /* 32, device features (bits 0..31) */
#define VIRTIO_PCI_GUEST_FEATURES 4  /* 32 */
#define VIRTIO_PCI_QUEUE_PFN 8       /* 32, queue address >> 12 */
#define VIRTIO_PCI_QUEUE_NUM 12      /* 16, queue size (read-only) */
#define VIRTIO_PCI_QUEUE_SEL 14      /* 16 */
#define VIRTIO_PCI_QUEUE_NOTIFY 16   /* 16 */
#define VIRTIO_PCI_STATUS 18         /* 8 */
#define VIRTIO_PCI_ISR 19            /* 8, read clears */
#define VIRTIO_PCI_CONFIG 20         /* device config without MSI-X */

#define VIRTIO_STATUS_ACK 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FAILED 128u

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];
};

struct virtq {
    uint16_t index, size;
    volatile struct virtq_desc *desc;
    volatile struct virtq_avail *avail;
    volatile struct virtq_used *used;
    uint16_t free_head, nfree;
    uint16_t avail_idx;     /* next avail index the driver publishes */
    uint16_t last_used;     /* used index the driver has consumed up to */
};

struct virtio_dev {
    struct pci_dev *pci;
    uint16_t io;
    uint32_t host_features, guest_features;
    bool irq_ok;            /* an interrupt handler is bound */
    uint64_t irqs;          /* interrupts this device raised */
    uint64_t *irq_count;    /* also counted here (the blkdev/netdev's irqs) */
};

struct virtq_buf {
    uint64_t addr;          /* bus address */
    uint32_t len;
    bool device_writes;
};

/* Reset, enable decoding and bus mastering, acknowledge; reads the device
 * features. false if BAR0 is not an I/O BAR. */
bool virtio_pci_begin(struct virtio_dev *v, struct pci_dev *d, const char *who);
/* Accept features (a subset of host_features). */
void virtio_pci_set_features(struct virtio_dev *v, uint32_t features);
/* Set up queue `index`: 0 or -PL_ENOENT (no such queue), -PL_ENOMEM. */
int virtq_setup(struct virtio_dev *v, struct virtq *q, uint16_t index);
/* Post a descriptor chain; returns its head or -PL_EBUSY when the ring
 * has too few free descriptors. Does not notify. */
int virtq_post(struct virtq *q, const struct virtq_buf *bufs, unsigned n);
void virtq_notify(struct virtio_dev *v, struct virtq *q);
/* Take one used chain (frees its descriptors): true with its head and the
 * bytes the device wrote. */
bool virtq_take(struct virtq *q, uint16_t *head, uint32_t *len);
bool virtq_has_used(const struct virtq *q);
void virtio_pci_driver_ok(struct virtio_dev *v);
void virtio_pci_fail(struct virtio_dev *v);
/* Bind the device's INTx line (reading the ISR acknowledges). */
void virtio_pci_bind_irq(struct virtio_dev *v, const char *who);

uint8_t virtio_cfg_read8(struct virtio_dev *v, unsigned off);
uint32_t virtio_cfg_read32(struct virtio_dev *v, unsigned off);
uint64_t virtio_cfg_read64(struct virtio_dev *v, unsigned off);

#endif
