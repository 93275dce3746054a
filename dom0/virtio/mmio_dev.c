/* SPDX-License-Identifier: MIT */
/* virtio-mmio transport, version 2 (see mmio_dev.h). */
#include "dom0/virtio/mmio_dev.h"

#include "hv/string.h"
#include "plinth/errno.h"

int vmmio_init(struct vmmio_dev *d, const struct guestmem *gm, uint32_t device_id, uint64_t features,
               unsigned num_queues, uint16_t queue_num_max, const uint8_t *config, uint32_t config_len,
               const struct vmmio_ops *ops, void *priv)
{
    if (!d || !gm || !ops || !ops->notify || !ops->reset)
        return -PL_EINVAL;
    if (num_queues == 0 || num_queues > VMMIO_MAX_QUEUES)
        return -PL_EINVAL;
    if (queue_num_max == 0 || (queue_num_max & (queue_num_max - 1)) != 0)
        return -PL_EINVAL;
    if (config_len > VMMIO_CONFIG_MAX || (config_len && !config))
        return -PL_EINVAL;
    memset(d, 0, sizeof *d);
    d->gm = gm;
    d->device_id = device_id;
    d->vendor_id = VMMIO_VENDOR_PLINTH;
    d->device_features = features | VIRTIO_BIT(VIRTIO_F_VERSION_1);
    d->num_queues = num_queues;
    d->queue_num_max = queue_num_max;
    d->config = config;
    d->config_len = config_len;
    d->ops = ops;
    d->priv = priv;
    return 0;
}

void vmmio_set_irq(struct vmmio_dev *d, void (*raise_irq)(void *, uint32_t), void *ctx)
{
    d->raise_irq = raise_irq;
    d->irq_ctx = ctx;
}

bool vmmio_live(const struct vmmio_dev *d)
{
    uint32_t need = VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
    return (d->status & need) == need &&
           !(d->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void vmmio_interrupt(struct vmmio_dev *d, uint32_t bits)
{
    d->irqs_raised++;
    if (d->raise_irq)
        d->raise_irq(d->irq_ctx, bits);
}

void vmmio_fail(struct vmmio_dev *d, int err)
{
    d->last_error = err < 0 ? err : -err;
    if (d->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    d->errors++;
    d->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (d->status & VIRTIO_STATUS_DRIVER_OK)
        vmmio_interrupt(d, VMMIO_INT_CONFIG);
}

void vmmio_config_changed(struct vmmio_dev *d)
{
    d->config_generation++;
    if (d->status & VIRTIO_STATUS_DRIVER_OK)
        vmmio_interrupt(d, VMMIO_INT_CONFIG);
}

void vmmio_queue_done(struct vmmio_dev *d, unsigned q)
{
    struct vq *vq = vmmio_vq(d, q);
    if (vq && !(d->status & VIRTIO_STATUS_NEEDS_RESET) && vq_should_notify(vq))
        vmmio_interrupt(d, VMMIO_INT_VRING);
}

void vmmio_reset(struct vmmio_dev *d)
{
    d->driver_features = 0;
    d->dev_features_sel = d->drv_features_sel = d->queue_sel = d->shm_sel = 0;
    d->status = 0;
    for (unsigned i = 0; i < VMMIO_MAX_QUEUES; i++) {
        memset(&d->q[i], 0, sizeof d->q[i]);
    }
    /* config_generation keeps counting; last_error and errors are history. */
    d->ops->reset(d);
}

int vmmio_notify(struct vmmio_dev *d, unsigned q)
{
    if (!vmmio_live(d) || !vmmio_vq(d, q))
        return 0;
    return d->ops->notify(d, q);
}

static struct vmmio_queue *selected(struct vmmio_dev *d)
{
    return d->queue_sel < d->num_queues ? &d->q[d->queue_sel] : (struct vmmio_queue *)0;
}

static uint64_t config_read(struct vmmio_dev *d, uint32_t off, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        if (off + i < d->config_len)
            v |= (uint64_t)d->config[off + i] << (8 * i);
    }
    return v;
}

uint64_t vmmio_read(struct vmmio_dev *d, uint64_t offset, unsigned size)
{
    if (offset >= VMMIO_WINDOW)
        return 0;
    if (offset >= VMMIO_CONFIG) {
        if ((size != 1 && size != 2 && size != 4 && size != 8) || (offset & (size - 1)) != 0)
            return 0;
        return config_read(d, (uint32_t)(offset - VMMIO_CONFIG), size);
    }
    if (size != 4 || (offset & 3) != 0)
        return 0;
    struct vmmio_queue *q = selected(d);
    switch (offset) {
    case VMMIO_MAGIC:
        return VMMIO_MAGIC_VALUE;
    case VMMIO_VERSION:
        return 2;
    case VMMIO_DEVICE_ID:
        return d->device_id;
    case VMMIO_VENDOR_ID:
        return d->vendor_id;
    case VMMIO_DEVICE_FEATURES:
        if (d->dev_features_sel > 1)
            return 0;
        return (uint32_t)(d->device_features >> (32 * d->dev_features_sel));
    case VMMIO_QUEUE_NUM_MAX:
        return q ? d->queue_num_max : 0;
    case VMMIO_QUEUE_READY:
        return q ? q->ready : 0;
    case VMMIO_INTERRUPT_STATUS:
        /* The hypervisor answers the guest's reads of InterruptStatus and
         * takes its acknowledgements: they never reach a device model. */
        return 0;
    case VMMIO_STATUS:
        return d->status;
    case VMMIO_SHM_LEN_LOW:
    case VMMIO_SHM_LEN_HIGH:
    case VMMIO_SHM_BASE_LOW:
    case VMMIO_SHM_BASE_HIGH:
        return 0xFFFFFFFFu; /* no shared memory regions (4.2.2.1) */
    case VMMIO_CONFIG_GENERATION:
        return d->config_generation;
    default:
        return 0; /* write-only and reserved registers */
    }
}

static void set_status(struct vmmio_dev *d, uint32_t v)
{
    if (v == 0) {
        vmmio_reset(d);
        return;
    }
    v &= 0xFFu & ~VIRTIO_STATUS_NEEDS_RESET;   /* NEEDS_RESET is the device's */
    uint32_t old = d->status;
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        uint64_t f = d->driver_features;
        bool ok = (f & ~d->device_features) == 0 && (f & VIRTIO_BIT(VIRTIO_F_VERSION_1)) &&
                  !(old & VIRTIO_STATUS_DRIVER_OK) &&
                  (!d->ops->features_ok || d->ops->features_ok(d, f));
        if (!ok)
            v &= ~VIRTIO_STATUS_FEATURES_OK; /* reads back clear: the driver gives up */
    }
    d->status = v | (old & VIRTIO_STATUS_NEEDS_RESET);
}

static void queue_ready(struct vmmio_dev *d, struct vmmio_queue *q, uint32_t v)
{
    if (!(v & 1)) {
        q->ready = false;
        vq_disable(&q->vq);
        return;
    }
    if (q->ready)
        return;
    if (!(d->status & VIRTIO_STATUS_FEATURES_OK)) {
        vmmio_fail(d, -VQ_ENOTREADY);   /* queues are set up after feature negotiation */
        return;
    }
    if (q->num > d->queue_num_max) {
        vmmio_fail(d, -VQ_EBADSIZE);
        return;
    }
    int r = vq_setup(&q->vq, d->gm, q->num, q->desc, q->driver, q->device,
                     (d->driver_features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX)) != 0,
                     (d->driver_features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)) != 0);
    if (r < 0) {
        vmmio_fail(d, r);
        return;
    }
    q->ready = true;
}

static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & 0xFFFFFFFF00000000ull) | v; }
static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xFFFFFFFFull) | ((uint64_t)v << 32); }

int vmmio_write(struct vmmio_dev *d, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset >= VMMIO_WINDOW)
        return 0;
    if (offset >= VMMIO_CONFIG) {
        if ((size != 1 && size != 2 && size != 4 && size != 8) || (offset & (size - 1)) != 0)
            return 0;
        uint32_t off = (uint32_t)(offset - VMMIO_CONFIG);
        if (d->ops->config_write && off + size <= d->config_len)
            d->ops->config_write(d, off, size, value);
        return 0;
    }
    if (size != 4 || (offset & 3) != 0)
        return 0;
    uint32_t v = (uint32_t)value;
    struct vmmio_queue *q = selected(d);
    /* Queue registers change only while the queue is not ready. */
    bool q_writable = q && !q->ready;
    switch (offset) {
    case VMMIO_DEVICE_FEATURES_SEL:
        d->dev_features_sel = v;
        break;
    case VMMIO_DRIVER_FEATURES:
        /* Features are fixed once FEATURES_OK is set. */
        if (!(d->status & VIRTIO_STATUS_FEATURES_OK) && d->drv_features_sel <= 1) {
            if (d->drv_features_sel == 0)
                set_lo(&d->driver_features, v);
            else
                set_hi(&d->driver_features, v);
        }
        break;
    case VMMIO_DRIVER_FEATURES_SEL:
        d->drv_features_sel = v;
        break;
    case VMMIO_QUEUE_SEL:
        d->queue_sel = v;
        break;
    case VMMIO_QUEUE_NUM:
        if (q_writable)
            q->num = v;
        break;
    case VMMIO_QUEUE_READY:
        if (q)
            queue_ready(d, q, v);
        break;
    case VMMIO_QUEUE_NOTIFY:
        /* Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index. */
        return vmmio_notify(d, v);
    case VMMIO_STATUS:
        set_status(d, v);
        break;
    case VMMIO_QUEUE_DESC_LOW:
        if (q_writable)
            set_lo(&q->desc, v);
        break;
    case VMMIO_QUEUE_DESC_HIGH:
        if (q_writable)
            set_hi(&q->desc, v);
        break;
    case VMMIO_QUEUE_DRIVER_LOW:
        if (q_writable)
            set_lo(&q->driver, v);
        break;
    case VMMIO_QUEUE_DRIVER_HIGH:
        if (q_writable)
            set_hi(&q->driver, v);
        break;
    case VMMIO_QUEUE_DEVICE_LOW:
        if (q_writable)
            set_lo(&q->device, v);
        break;
    case VMMIO_QUEUE_DEVICE_HIGH:
        if (q_writable)
            set_hi(&q->device, v);
        break;
    case VMMIO_SHM_SEL:
        d->shm_sel = v;
        break;
    default:
        break; /* read-only and reserved registers */
    }
    return 0;
}
