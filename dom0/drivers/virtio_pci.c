/* Legacy virtio PCI transport and split virtqueues (see virtio_pci.h). */
#include "dom0/drivers/virtio_pci.h"
#include "dom0/drivers/drivers.h"
#include "dom0/kernel/dom0.h"

bool virtio_pci_begin(struct virtio_dev *v, struct pci_dev *d, const char *who)
{
    if (!d->bar[0].io || !d->bar[0].size) {
        kprintf("%s: %02x:%02x.%x has no legacy I/O BAR0 (modern-only device?)\n", who,
                d->bus, d->dev, d->fn);
        return false;
    }
    v->pci = d;
    v->io = (uint16_t)d->bar[0].base;
    pci_enable(d, PCI_CMD_IO | PCI_CMD_MASTER);
    outb(v->io + VIRTIO_PCI_STATUS, 0);                     /* reset */
    (void)inb(v->io + VIRTIO_PCI_ISR);
    outb(v->io + VIRTIO_PCI_STATUS, VIRTIO_STATUS_ACK);
    outb(v->io + VIRTIO_PCI_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
    v->host_features = inl(v->io + VIRTIO_PCI_HOST_FEATURES);
    return true;
}

void virtio_pci_set_features(struct virtio_dev *v, uint32_t features)
{
    v->guest_features = features & v->host_features;
    outl(v->io + VIRTIO_PCI_GUEST_FEATURES, v->guest_features);
}

int virtq_setup(struct virtio_dev *v, struct virtq *q, uint16_t index)
{
    outw(v->io + VIRTIO_PCI_QUEUE_SEL, index);
    uint16_t size = inw(v->io + VIRTIO_PCI_QUEUE_NUM);
    if (!vq_size_valid(size))
        return -PL_ENOENT;
    struct vq_layout l;
    vq_layout_compute(size, &l);
    uint8_t *mem = kalloc(l.total, VQ_ALIGN);
    if (!mem)
        return -PL_ENOMEM;
    q->index = index;
    q->size = size;
    q->desc = (volatile struct virtq_desc *)(mem + l.desc);
    q->avail = (volatile struct virtq_avail *)(mem + l.avail);
    q->used = (volatile struct virtq_used *)(mem + l.used);
    for (uint16_t i = 0; i < size; i++)
        q->desc[i].next = (uint16_t)(i + 1);
    q->free_head = 0;
    q->nfree = size;
    q->avail_idx = 0;
    q->last_used = 0;
    outl(v->io + VIRTIO_PCI_QUEUE_PFN, (uint32_t)(dma_addr(mem) >> 12));
    return 0;
}

int virtq_post(struct virtq *q, const struct virtq_buf *bufs, unsigned n)
{
    if (n == 0 || n > q->nfree)
        return -PL_EBUSY;
    uint16_t head = q->free_head, i = head;
    for (unsigned k = 0; k < n; k++) {
        volatile struct virtq_desc *d = &q->desc[i];
        d->addr = bufs[k].addr;
        d->len = bufs[k].len;
        d->flags = (uint16_t)((bufs[k].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
                              (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        i = d->next;
    }
    q->free_head = i;
    q->nfree = (uint16_t)(q->nfree - n);
    q->avail->ring[vq_slot(q->avail_idx, q->size)] = head;
    barrier();                  /* x86 keeps stores in order */
    q->avail_idx++;
    q->avail->idx = q->avail_idx;
    return head;
}

void virtq_notify(struct virtio_dev *v, struct virtq *q)
{
    mb();
    outw(v->io + VIRTIO_PCI_QUEUE_NOTIFY, q->index);
}

bool virtq_has_used(const struct virtq *q)
{
    return vq_pending(q->used->idx, q->last_used) != 0;
}

bool virtq_take(struct virtq *q, uint16_t *head_out, uint32_t *len_out)
{
    if (!virtq_has_used(q))
        return false;
    barrier();
    volatile struct virtq_used_elem *e = &q->used->ring[vq_slot(q->last_used, q->size)];
    uint16_t head = (uint16_t)e->id;
    uint32_t len = e->len;
    q->last_used++;
    /* Return the chain to the free list. */
    uint16_t i = head, n = 1;
    while ((q->desc[i].flags & VIRTQ_DESC_F_NEXT) && n < q->size) {
        i = q->desc[i].next;
        n++;
    }
    q->desc[i].next = q->free_head;
    q->free_head = head;
    q->nfree = (uint16_t)(q->nfree + n);
    if (head_out)
        *head_out = head;
    if (len_out)
        *len_out = len;
    return true;
}

void virtio_pci_driver_ok(struct virtio_dev *v)
{
    outb(v->io + VIRTIO_PCI_STATUS,
         VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
}

void virtio_pci_fail(struct virtio_dev *v)
{
    outb(v->io + VIRTIO_PCI_STATUS, VIRTIO_STATUS_FAILED);
}

static bool virtio_irq(void *arg)
{
    struct virtio_dev *v = arg;
    uint8_t isr = inb(v->io + VIRTIO_PCI_ISR);   /* reading acknowledges */
    if (!isr)
        return false;
    v->irqs++;
    if (v->irq_count)
        (*v->irq_count)++;
    return true;
}

void virtio_pci_bind_irq(struct virtio_dev *v, const char *who)
{
    if (!v->pci->irq_pin) {
        kprintf("%s: no interrupt pin, polling\n", who);
        return;
    }
    v->irq_ok = drv_irq_attach(v->pci->irq_line, virtio_irq, v, who) == 0;
}

uint8_t virtio_cfg_read8(struct virtio_dev *v, unsigned off)
{
    return inb((uint16_t)(v->io + VIRTIO_PCI_CONFIG + off));
}

uint32_t virtio_cfg_read32(struct virtio_dev *v, unsigned off)
{
    return inl((uint16_t)(v->io + VIRTIO_PCI_CONFIG + off));
}

uint64_t virtio_cfg_read64(struct virtio_dev *v, unsigned off)
{
    /* Legacy config is not atomic across 64 bits: read until stable. */
    uint32_t lo, hi, hi2;
    do {
        hi = virtio_cfg_read32(v, off + 4);
        lo = virtio_cfg_read32(v, off);
        hi2 = virtio_cfg_read32(v, off + 4);
    } while (hi != hi2);
    return (uint64_t)hi << 32 | lo;
}
