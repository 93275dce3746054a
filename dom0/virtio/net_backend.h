/* SPDX-License-Identifier: MIT */
/*
 * virtio-net backend (virtio 1.2 section 5.1) for one domU network
 * interface, on the virtio-mmio transport (mmio_dev.h): queue 0 is
 * receiveq1, queue 1 transmitq1. Offered: VERSION_1, MAC, STATUS (link
 * always up), EVENT_IDX, INDIRECT_DESC; no checksum or segmentation
 * offloads, no mergeable receive buffers, no control queue. Every packet
 * is preceded by the 12-byte struct virtio_net_hdr of VERSION_1.
 *
 * Transmit: frames the driver makes available on queue 1 are copied into
 * dom0 memory (so the guest cannot change them afterwards) and handed to a
 * callback (the switch), then returned with used length 0.
 * Receive: vnet_rx() writes one frame into the next buffer the driver
 * posted on queue 0; with none posted, or with the device not live, the
 * frame is dropped and counted (nothing is queued in dom0).
 *
 * Driver violations (malformed chains, a device-readable buffer on the
 * receive queue, a device-writable one on the transmit queue, a transmit
 * chain shorter than the header, a receive buffer shorter than the
 * header) put the device in NEEDS_RESET; a well-formed chain with a bad
 * frame in it (shorter than 14 bytes, longer than VNET_FRAME_MAX, header
 * asking for offloads that were not negotiated) only drops that frame.
 * Pure: no globals; host-testable.
 */
#ifndef DOM0_VIRTIO_NET_BACKEND_H
#define DOM0_VIRTIO_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dom0/virtio/guestmem.h"
#include "dom0/virtio/mmio_dev.h"
#include "dom0/virtio/virtq.h"

#define VIRTIO_ID_NET 1

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17

#define VIRTIO_NET_S_LINK_UP 1u

/* struct virtio_net_hdr (5.1.6): flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, num_buffers. */
#define VIRTIO_NET_HDR_BYTES 12u
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_GSO_NONE 0u

/* Configuration space (5.1.4): mac[6], le16 status. */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CFG_LEN 8

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_QUEUE_MAX 256u         /* QueueNumMax */
#define VNET_MAX_SEGS VNET_QUEUE_MAX
#define VNET_ETH_MIN 14u            /* destination, source, EtherType */
#define VNET_FRAME_MAX 1518u        /* without FCS: 1514, or 1518 with one 802.1Q tag */
#define VNET_BUDGET 256u            /* transmit chains per vnet_notify call */

/* Device-level errors passed to vmmio_fail (beyond the VQ_E* codes). */
#define VNET_ESHORTHDR 110   /* a chain without room for the 12-byte header */
#define VNET_EDIRECTION 111  /* readable buffer on receiveq / writable one on transmitq */

struct vnet_dev {
    struct vmmio_dev mmio;
    const struct guestmem *gm;
    uint8_t mac[6];
    uint8_t config[VIRTIO_NET_CFG_LEN];
    /* Where transmitted frames go: len VNET_ETH_MIN..VNET_FRAME_MAX. */
    void (*tx)(void *ctx, const uint8_t *frame, size_t len);
    void *tx_ctx;
    /* statistics */
    uint64_t tx_frames, tx_bytes;
    uint64_t tx_dropped;       /* well-formed chains with an unusable frame */
    uint64_t rx_frames, rx_bytes;
    uint64_t rx_no_buffer;     /* frames dropped: no receive buffer posted */
    uint64_t rx_down;          /* frames dropped: device not live */
    uint64_t rx_too_big;       /* frames dropped: the posted buffer was too small (buffer returned empty) */
    struct vq_seg segs[VNET_MAX_SEGS];     /* transmit chain */
    struct vq_seg rx_segs[VNET_MAX_SEGS];  /* receive chain */
    uint8_t frame[VIRTIO_NET_HDR_BYTES + VNET_FRAME_MAX];
};

/* Create the device (reset state) with this MAC. The struct must stay
 * where it is; gm must outlive it. 0 or -PL_EINVAL. */
int vnet_create(struct vnet_dev *vn, const struct guestmem *gm, const uint8_t mac[6]);

/* Transmitted frames go to tx(ctx, frame, len) (NULL: dropped, counted as sent). */
void vnet_set_tx(struct vnet_dev *vn, void (*tx)(void *ctx, const uint8_t *frame, size_t len), void *ctx);
void vnet_set_irq(struct vnet_dev *vn, void (*raise)(void *ctx, uint32_t status), void *ctx);

uint64_t vnet_mmio_read(struct vnet_dev *vn, uint64_t offset, unsigned size);
void vnet_mmio_write(struct vnet_dev *vn, uint64_t offset, unsigned size, uint64_t value);

/* QueueNotify of queue q: transmit what is available on queue 1 (1 when
 * the budget ran out with more waiting: call again); queue 0 (new receive
 * buffers) needs no work. */
int vnet_notify(struct vnet_dev *vn, unsigned q);

/* Deliver one frame (VNET_ETH_MIN..VNET_FRAME_MAX bytes) to the driver:
 * 0, or -PL_ENOSPC (no buffer posted), -PL_ENOTCONN (device not live),
 * -PL_E2BIG (the posted buffer was too small), -PL_EINVAL (bad length),
 * -PL_EIO (the driver broke the rules: the device is now NEEDS_RESET).
 * Drops are counted. */
int vnet_rx(struct vnet_dev *vn, const uint8_t *frame, size_t len);

static inline bool vnet_needs_reset(const struct vnet_dev *vn)
{
    return (vn->mmio.status & VIRTIO_STATUS_NEEDS_RESET) != 0;
}

#endif
