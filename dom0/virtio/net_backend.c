/* SPDX-License-Identifier: MIT */
/* virtio-net backend (see net_backend.h). */
#include "dom0/virtio/net_backend.h"

#include "hv/string.h"
#include "plinth/errno.h"

static struct vnet_dev *from_mmio(struct vmmio_dev *d) { return (struct vnet_dev *)d->priv; }

/* One transmit chain: 0 (frame sent or dropped) or -VNET_E*. */
static int tx_one(struct vnet_dev *vn, const struct vq_chain *c)
{
    if (c->nseg != c->nread)
        return -VNET_EDIRECTION;
    if (c->read_len < VIRTIO_NET_HDR_BYTES)
        return -VNET_ESHORTHDR;
    uint64_t flen = c->read_len - VIRTIO_NET_HDR_BYTES;
    if (flen < VNET_ETH_MIN || flen > VNET_FRAME_MAX) {
        vn->tx_dropped++;
        return 0;
    }
    uint64_t total = VIRTIO_NET_HDR_BYTES + flen;
    if (vq_seg_copy(vn->gm, vn->segs, c->nseg, 0, vn->frame, total, false) != total) {
        vn->tx_dropped++;
        return 0;
    }
    /* Nothing but GSO_NONE and no checksum request: no offloads offered. */
    if ((vn->frame[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) || vn->frame[1] != VIRTIO_NET_HDR_GSO_NONE) {
        vn->tx_dropped++;
        return 0;
    }
    vn->tx_frames++;
    vn->tx_bytes += flen;
    if (vn->tx)
        vn->tx(vn->tx_ctx, vn->frame + VIRTIO_NET_HDR_BYTES, (size_t)flen);
    return 0;
}

int vnet_notify(struct vnet_dev *vn, unsigned q)
{
    struct vmmio_dev *d = &vn->mmio;
    struct vq *vq = vmmio_vq(d, q);
    if (q != VNET_TXQ || !vq || !vmmio_live(d))
        return 0; /* receive buffers are taken when frames arrive */
    unsigned served = 0;
    int more = 0;
    for (unsigned iter = 0; iter < 2 * VNET_BUDGET; iter++) {
        struct vq_chain c;
        int r = vq_pop(vq, &c, vn->segs, VNET_MAX_SEGS);
        if (r == 0) {
            if (!vq_enable_notify(vq))
                break;
            continue;
        }
        if (r > 0)
            r = tx_one(vn, &c);
        /* The tx callback may have delivered to other devices, never to
         * this one (the switch does not send a frame back to its port). */
        if (r >= 0)
            r = vq_push(vq, c.head, 0);
        if (r < 0) {
            vmmio_fail(d, r);
            break;
        }
        if (++served >= VNET_BUDGET) {
            more = vq_avail_count(vq) != 0;
            break;
        }
    }
    if (served && vmmio_live(d))
        vmmio_queue_done(d, VNET_TXQ);
    return more && vmmio_live(d);
}

int vnet_rx(struct vnet_dev *vn, const uint8_t *frame, size_t len)
{
    struct vmmio_dev *d = &vn->mmio;
    if (!frame || len < VNET_ETH_MIN || len > VNET_FRAME_MAX)
        return -PL_EINVAL;
    struct vq *vq = vmmio_vq(d, VNET_RXQ);
    if (!vq || !vmmio_live(d)) {
        vn->rx_down++;
        return -PL_ENOTCONN;
    }
    struct vq_chain c;
    int r = vq_pop(vq, &c, vn->rx_segs, VNET_MAX_SEGS);
    if (r == 0) {
        /* With EVENT_IDX ask for a notification when buffers come (we
         * do not wait for it; the frame is dropped either way). */
        (void)vq_enable_notify(vq);
        vn->rx_no_buffer++;
        return -PL_ENOSPC;
    }
    if (r > 0 && c.nread != 0)
        r = -VNET_EDIRECTION;
    if (r > 0 && c.write_len < VIRTIO_NET_HDR_BYTES)
        r = -VNET_ESHORTHDR;
    if (r < 0) {
        vmmio_fail(d, r);
        vn->rx_down++;
        return -PL_EIO;
    }
    uint32_t used = 0;
    int rc = 0;
    if (c.write_len < VIRTIO_NET_HDR_BYTES + len) {
        /* Well formed, just too small for this frame: give it back empty. */
        vn->rx_too_big++;
        rc = -PL_E2BIG;
    } else {
        uint8_t hdr[VIRTIO_NET_HDR_BYTES];
        memset(hdr, 0, sizeof hdr);
        hdr[10] = 1; /* num_buffers: 1 without MRG_RXBUF (5.1.6.4) */
        if (vq_seg_copy(vn->gm, vn->rx_segs, c.nseg, 0, hdr, sizeof hdr, true) != sizeof hdr ||
            vq_seg_copy(vn->gm, vn->rx_segs, c.nseg, VIRTIO_NET_HDR_BYTES, (void *)(uintptr_t)frame, len, true) != len) {
            vn->rx_too_big++; /* cannot happen: the segments were checked */
            rc = -PL_E2BIG;
        } else {
            used = (uint32_t)(VIRTIO_NET_HDR_BYTES + len);
            vn->rx_frames++;
            vn->rx_bytes += len;
        }
    }
    r = vq_push(vq, c.head, used);
    if (r < 0) {
        vmmio_fail(d, r);
        return -PL_EIO;
    }
    vmmio_queue_done(d, VNET_RXQ);
    return rc;
}

static int vnet_notify_op(struct vmmio_dev *d, unsigned q) { return vnet_notify(from_mmio(d), q); }

static void vnet_reset_op(struct vmmio_dev *d)
{
    (void)d; /* frames are copied synchronously: nothing is in flight */
}

static const struct vmmio_ops vnet_ops = {
    .notify = vnet_notify_op,
    .reset = vnet_reset_op,
};

void vnet_set_tx(struct vnet_dev *vn, void (*tx)(void *ctx, const uint8_t *frame, size_t len), void *ctx)
{
    vn->tx = tx;
    vn->tx_ctx = ctx;
}

void vnet_set_irq(struct vnet_dev *vn, void (*raise)(void *ctx, uint32_t status), void *ctx)
{
    vmmio_set_irq(&vn->mmio, raise, ctx);
}

int vnet_create(struct vnet_dev *vn, const struct guestmem *gm, const uint8_t mac[6])
{
    if (!vn || !gm || !mac)
        return -PL_EINVAL;
    memset(vn, 0, sizeof *vn);
    vn->gm = gm;
    memcpy(vn->mac, mac, 6);
    memcpy(vn->config + VIRTIO_NET_CFG_MAC, mac, 6);
    vn->config[VIRTIO_NET_CFG_STATUS] = VIRTIO_NET_S_LINK_UP;
    vn->config[VIRTIO_NET_CFG_STATUS + 1] = 0;
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
                        VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                        VIRTIO_BIT(VIRTIO_NET_F_STATUS);
    return vmmio_init(&vn->mmio, gm, VIRTIO_ID_NET, features, 2, VNET_QUEUE_MAX, vn->config, sizeof vn->config,
                      &vnet_ops, vn);
}

uint64_t vnet_mmio_read(struct vnet_dev *vn, uint64_t offset, unsigned size) { return vmmio_read(&vn->mmio, offset, size); }

void vnet_mmio_write(struct vnet_dev *vn, uint64_t offset, unsigned size, uint64_t value)
{
    (void)vmmio_write(&vn->mmio, offset, size, value);
}
