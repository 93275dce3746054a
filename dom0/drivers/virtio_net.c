/* virtio-net over the legacy PCI transport: receive queue pre-filled with
 * buffers, transmit queue; the 10-byte legacy header (no MRG_RXBUF), in a
 * descriptor of its own as legacy devices require. */
#include "dom0/drivers/dev.h"
#include "dom0/drivers/drivers.h"
#include "dom0/drivers/virtio_pci.h"
#include "dom0/kernel/dom0.h"

#define VIRTIO_NET_DEVICE_LEGACY 0x1000u
#define VIRTIO_NET_F_MAC (1u << 5)
#define VIRTIO_NET_F_STATUS (1u << 16)
#define VIRTIO_NET_S_LINK_UP 1u

#define VNET_HDR_LEN 10u
#define VNET_FRAME_MAX 1514u
#define VNET_RX_BUF 1536u           /* room for a frame with a VLAN tag */
#define VNET_BUFS 32u               /* per direction */
#define VNET_RXQ 0
#define VNET_TXQ 1

struct vnet_buf {
    uint8_t hdr[16];                /* first VNET_HDR_LEN bytes used */
    uint8_t data[VNET_RX_BUF];
};

struct vnet {
    struct netdev n;
    struct virtio_dev v;
    struct virtq rxq, txq;
    struct vnet_buf *rx, *tx;       /* VNET_BUFS each */
    int16_t rx_of_head[1024], tx_of_head[1024];  /* buffer of a chain head */
    bool tx_busy[VNET_BUFS];
};

static int vnet_post_rx(struct vnet *vn, unsigned i)
{
    struct virtq_buf bufs[2] = {
        { dma_addr(vn->rx[i].hdr), VNET_HDR_LEN, true },
        { dma_addr(vn->rx[i].data), VNET_RX_BUF, true },
    };
    int head = virtq_post(&vn->rxq, bufs, 2);
    if (head >= 0 && head < 1024)
        vn->rx_of_head[head] = (int16_t)i;
    return head < 0 ? head : 0;
}

static void vnet_reclaim_tx(struct vnet *vn)
{
    uint16_t head;
    while (virtq_take(&vn->txq, &head, NULL)) {
        int16_t i = head < 1024 ? vn->tx_of_head[head] : -1;
        if (i >= 0 && (unsigned)i < VNET_BUFS)
            vn->tx_busy[i] = false;
    }
}

static int vnet_send(struct netdev *n, const void *frame, size_t len)
{
    struct vnet *vn = n->priv;
    if (len < 14 || len > VNET_FRAME_MAX)
        return -PL_EINVAL;
    vnet_reclaim_tx(vn);
    unsigned i;
    for (i = 0; i < VNET_BUFS && vn->tx_busy[i]; i++)
        ;
    if (i == VNET_BUFS)
        return -PL_EBUSY;
    memset(vn->tx[i].hdr, 0, VNET_HDR_LEN);   /* no checksum offload, no GSO */
    memcpy(vn->tx[i].data, frame, len);
    struct virtq_buf bufs[2] = {
        { dma_addr(vn->tx[i].hdr), VNET_HDR_LEN, false },
        { dma_addr(vn->tx[i].data), (uint32_t)len, false },
    };
    int head = virtq_post(&vn->txq, bufs, 2);
    if (head < 0)
        return -PL_EBUSY;
    vn->tx_of_head[head] = (int16_t)i;
    vn->tx_busy[i] = true;
    virtq_notify(&vn->v, &vn->txq);
    n->tx_frames++;
    return 0;
}

static int vnet_recv(struct netdev *n, void *buf, size_t len)
{
    struct vnet *vn = n->priv;
    uint16_t head;
    uint32_t used;
    vnet_reclaim_tx(vn);
    int16_t i;
    for (;;) {
        if (!virtq_take(&vn->rxq, &head, &used))
            return 0;
        i = head < 1024 ? vn->rx_of_head[head] : -1;
        if (i < 0 || (unsigned)i >= VNET_BUFS)
            return 0;       /* cannot happen: every posted chain is recorded */
        if (used > VNET_HDR_LEN)
            break;
        /* A header and no frame: not "nothing waiting", go on to the next. */
        vnet_post_rx(vn, (unsigned)i);
        virtq_notify(&vn->v, &vn->rxq);
    }
    int r;
    if (used - VNET_HDR_LEN > len) {
        r = -PL_E2BIG;
    } else {
        memcpy(buf, vn->rx[i].data, used - VNET_HDR_LEN);
        r = (int)(used - VNET_HDR_LEN);
        n->rx_frames++;
    }
    vnet_post_rx(vn, (unsigned)i);
    virtq_notify(&vn->v, &vn->rxq);
    return r;
}

bool virtio_net_probe(struct pci_dev *d)
{
    if (d->vendor != VIRTIO_VENDOR || d->device != VIRTIO_NET_DEVICE_LEGACY)
        return false;
    const char *who = "virtio-net";
    struct vnet *vn = kalloc(sizeof *vn, 64);
    if (!vn)
        return false;
    if (!virtio_pci_begin(&vn->v, d, who))
        return false;
    virtio_pci_set_features(&vn->v, VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS);
    int r = virtq_setup(&vn->v, &vn->rxq, VNET_RXQ);
    if (!r)
        r = virtq_setup(&vn->v, &vn->txq, VNET_TXQ);
    vn->rx = kalloc(VNET_BUFS * sizeof *vn->rx, 64);
    vn->tx = kalloc(VNET_BUFS * sizeof *vn->tx, 64);
    if (r || !vn->rx || !vn->tx || vn->rxq.size > 1024 || vn->txq.size > 1024) {
        kprintf("%s: %02x:%02x.%x: queue setup failed (%d)\n", who, d->bus, d->dev, d->fn, r);
        virtio_pci_fail(&vn->v);
        return false;
    }
    for (unsigned i = 0; i < 1024; i++)
        vn->rx_of_head[i] = vn->tx_of_head[i] = -1;
    for (unsigned i = 0; i < VNET_BUFS; i++)
        if (vnet_post_rx(vn, i) < 0)
            break;
    d->driver = who;
    vn->v.irq_count = &vn->n.irqs;
    virtio_pci_bind_irq(&vn->v, who);
    virtio_pci_driver_ok(&vn->v);
    virtq_notify(&vn->v, &vn->rxq);
    if (vn->v.guest_features & VIRTIO_NET_F_MAC) {
        for (unsigned i = 0; i < 6; i++)
            vn->n.mac[i] = virtio_cfg_read8(&vn->v, i);
    } else {
        /* Locally administered address from the PCI location. */
        uint8_t mac[6] = { 0x02, 0x50, 0x4C, d->bus, d->dev, d->fn };
        memcpy(vn->n.mac, mac, 6);
    }
    vn->n.link_up = !(vn->v.guest_features & VIRTIO_NET_F_STATUS) ||
                    (virtio_cfg_read8(&vn->v, 6) & VIRTIO_NET_S_LINK_UP);
    vn->n.driver = who;
    vn->n.send = vnet_send;
    vn->n.recv = vnet_recv;
    vn->n.priv = vn;
    kprintf("%s: %02x:%02x.%x io %x queues %u/%u entries, features %08x\n", who, d->bus, d->dev,
            d->fn, vn->v.io, vn->rxq.size, vn->txq.size, vn->v.guest_features);
    netdev_register(&vn->n);
    return true;
}
