/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport (virtio 1.2 section 4.2, version 2 "modern"
 * only) of one device a domU sees in its register window
 * (include/plinth/ioreq.h): the register file, feature negotiation,
 * device status and reset, queue setup per QueueSel, interrupt status.
 * Device types (virtio-blk here; net and console later) plug in through
 * struct vmmio_ops and a byte array of device configuration space. Pure:
 * no globals, no allocation; host-testable.
 */
#ifndef DOM0_VIRTIO_MMIO_DEV_H
#define DOM0_VIRTIO_MMIO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "dom0/virtio/guestmem.h"
#include "dom0/virtio/virtq.h"

/* Register offsets (4.2.2). */
#define VMMIO_MAGIC 0x000
#define VMMIO_VERSION 0x004
#define VMMIO_DEVICE_ID 0x008
#define VMMIO_VENDOR_ID 0x00c
#define VMMIO_DEVICE_FEATURES 0x010
#define VMMIO_DEVICE_FEATURES_SEL 0x014
#define VMMIO_DRIVER_FEATURES 0x020
#define VMMIO_DRIVER_FEATURES_SEL 0x024
#define VMMIO_QUEUE_SEL 0x030
#define VMMIO_QUEUE_NUM_MAX 0x034
#define VMMIO_QUEUE_NUM 0x038
#define VMMIO_QUEUE_READY 0x044
#define VMMIO_QUEUE_NOTIFY 0x050
#define VMMIO_INTERRUPT_STATUS 0x060
#define VMMIO_INTERRUPT_ACK 0x064
#define VMMIO_STATUS 0x070
#define VMMIO_QUEUE_DESC_LOW 0x080
#define VMMIO_QUEUE_DESC_HIGH 0x084
#define VMMIO_QUEUE_DRIVER_LOW 0x090
#define VMMIO_QUEUE_DRIVER_HIGH 0x094
#define VMMIO_QUEUE_DEVICE_LOW 0x0a0
#define VMMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VMMIO_SHM_SEL 0x0ac
#define VMMIO_SHM_LEN_LOW 0x0b0
#define VMMIO_SHM_LEN_HIGH 0x0b4
#define VMMIO_SHM_BASE_LOW 0x0b8
#define VMMIO_SHM_BASE_HIGH 0x0bc
#define VMMIO_QUEUE_RESET 0x0c0
#define VMMIO_CONFIG_GENERATION 0x0fc
#define VMMIO_CONFIG 0x100
#define VMMIO_WINDOW 0x200           /* PLINTH_VIRTIO_MMIO_SIZE */
#define VMMIO_CONFIG_MAX (VMMIO_WINDOW - VMMIO_CONFIG)

#define VMMIO_MAGIC_VALUE 0x74726976u /* "virt" */
#define VMMIO_VENDOR_PLINTH 0x4e494c50u /* "PLIN" */

/* InterruptStatus bits. */
#define VMMIO_INT_VRING 1u
#define VMMIO_INT_CONFIG 2u

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

/* Reserved feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_BIT(b) (1ull << (b))

#define VMMIO_MAX_QUEUES 8

struct vmmio_dev;

/* What a device type provides. notify and reset are required. */
struct vmmio_ops {
    /* The driver notified queue q (< num_queues, set up, device live):
     * process what is available. Return 1 when work was left for a later
     * call (a budget ran out), else 0. Violations: call vmmio_fail(). */
    int (*notify)(struct vmmio_dev *d, unsigned q);
    /* The driver reset the device (status 0), or vmmio_reset() was called:
     * drop all in-flight state. The transport state is already reset. */
    void (*reset)(struct vmmio_dev *d);
    /* Optional: accept the negotiated features at FEATURES_OK (already
     * checked to be a subset of the offer including VERSION_1). */
    bool (*features_ok)(struct vmmio_dev *d, uint64_t features);
    /* Optional: a driver write to configuration space (bounds checked);
     * without it, config writes are ignored. */
    void (*config_write)(struct vmmio_dev *d, uint32_t off, unsigned size, uint64_t value);
};

struct vmmio_queue {
    uint32_t num;                  /* QueueNum as written */
    uint64_t desc, driver, device; /* addresses as written */
    bool ready;                    /* QueueReady */
    struct vq vq;                  /* valid while ready */
};

struct vmmio_dev {
    /* Set by vmmio_init. */
    const struct guestmem *gm;
    uint32_t device_id;
    uint32_t vendor_id;
    uint64_t device_features;
    unsigned num_queues;
    uint16_t queue_num_max;
    const uint8_t *config;         /* device configuration space, little-endian */
    uint32_t config_len;           /* <= VMMIO_CONFIG_MAX */
    const struct vmmio_ops *ops;
    void *priv;                    /* the device type's state */
    /* Interrupt delivery: called every time a notification is due, with
     * the InterruptStatus bits (VMMIO_INT_*) it sets; the glue raises the
     * domU's line with HC_DOMAIN_IRQ, and the hypervisor keeps
     * InterruptStatus and serves the guest's reads and acknowledgements of
     * it (docs/pv-io.md). Also counted. */
    void (*raise_irq)(void *irq_ctx, uint32_t status);
    void *irq_ctx;
    uint64_t irqs_raised;

    /* Transport state. */
    uint64_t driver_features;      /* as written; negotiated after FEATURES_OK */
    uint32_t dev_features_sel, drv_features_sel, queue_sel, shm_sel;
    uint32_t status;
    uint32_t config_generation;
    int last_error;                /* last error (negative VQ_E* or device code) that forced NEEDS_RESET */
    uint64_t errors;               /* times NEEDS_RESET was entered */
    struct vmmio_queue q[VMMIO_MAX_QUEUES];
};

/* Set up a device in its reset state. queue_num_max a power of two
 * 1..VQ_MAX_SIZE, num_queues 1..VMMIO_MAX_QUEUES, config_len <=
 * VMMIO_CONFIG_MAX. VERSION_1 is always offered. 0 or -PL_EINVAL. */
int vmmio_init(struct vmmio_dev *d, const struct guestmem *gm, uint32_t device_id, uint64_t features,
               unsigned num_queues, uint16_t queue_num_max, const uint8_t *config, uint32_t config_len,
               const struct vmmio_ops *ops, void *priv);

void vmmio_set_irq(struct vmmio_dev *d, void (*raise_irq)(void *, uint32_t), void *ctx);

/* A guest access at offset (0..VMMIO_WINDOW) of the window. Registers
 * take 32-bit aligned accesses only; configuration space 1, 2, 4 or 8
 * bytes naturally aligned. Anything else reads 0 / is ignored. */
uint64_t vmmio_read(struct vmmio_dev *d, uint64_t offset, unsigned size);
/* Returns what ops->notify returned for a QueueNotify write (1: call
 * vmmio_notify again later), else 0. */
int vmmio_write(struct vmmio_dev *d, uint64_t offset, unsigned size, uint64_t value);

/* A QueueNotify for queue q (also what a write to QueueNotify does):
 * ignored unless the device is live (FEATURES_OK and DRIVER_OK, not
 * NEEDS_RESET or FAILED) and the queue ready. Returns ops->notify's value. */
int vmmio_notify(struct vmmio_dev *d, unsigned q);

/* Device reset (as the driver writing status 0). */
void vmmio_reset(struct vmmio_dev *d);

/* Status checks for device types. */
bool vmmio_live(const struct vmmio_dev *d);
static inline bool vmmio_has_feature(const struct vmmio_dev *d, unsigned bit)
{
    return (d->status & VIRTIO_STATUS_FEATURES_OK) && (d->driver_features & VIRTIO_BIT(bit));
}
static inline struct vq *vmmio_vq(struct vmmio_dev *d, unsigned q)
{
    return (q < d->num_queues && d->q[q].ready) ? &d->q[q].vq : (struct vq *)0;
}

/* The driver broke the rules (err a negative VQ_E* or device code): set
 * DEVICE_NEEDS_RESET, stop processing until reset and, if DRIVER_OK was
 * set, send a configuration change notification (2.1.2). */
void vmmio_fail(struct vmmio_dev *d, int err);

/* Raise interrupt reasons (VMMIO_INT_*). */
void vmmio_interrupt(struct vmmio_dev *d, uint32_t bits);

/* After a batch of used buffers on queue q: interrupt if vq_should_notify. */
void vmmio_queue_done(struct vmmio_dev *d, unsigned q);

/* The device changed its configuration space: bump ConfigGeneration and,
 * when DRIVER_OK, send a configuration change notification. */
void vmmio_config_changed(struct vmmio_dev *d);

#endif
