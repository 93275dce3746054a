/* SPDX-License-Identifier: MIT */
/*
 * virtio-console backend (virtio 1.2 section 5.3) for one domU console:
 * a single port (no VIRTIO_CONSOLE_F_MULTIPORT) with receiveq0 (queue 0,
 * dom0 -> guest) and transmitq0 (queue 1, guest -> dom0), presented through
 * the virtio-mmio transport (mmio_dev.h). Pure: no globals, no allocation;
 * host-tested (tests/unit/test_virtio_console.c, tests/fuzz/fuzz_console.c).
 *
 *  - Output: every byte the guest transmits (and every emerg_wr byte) is
 *    appended to an output ring of VCONS_OUT_SIZE bytes that keeps the most
 *    recent ones. Bytes have positions like a log ring: the nth byte ever
 *    written is position n; vcons_out_read(pos) continues from where a
 *    reader left off and tells it how much it missed when it fell behind.
 *  - Input: bytes from dom0 (vcons_input) are written into the buffers the
 *    driver posted on receiveq0, as many per buffer as fit. While none are
 *    posted they wait in a bounded queue of VCONS_IN_SIZE bytes; what does
 *    not fit is dropped and counted. Input survives a device reset.
 *  - Validation: each chain comes from vq_pop (ranges, loops, indirect,
 *    ordering checked); in addition a transmitq chain must be wholly
 *    device-readable and a receiveq chain wholly device-writable with at
 *    least one byte. Anything else puts the device in DEVICE_NEEDS_RESET
 *    (VCONS_EMALFORMED) and nothing of that chain is used.
 *
 * Glue (per domU console):
 *   struct vcons_dev *vc = kalloc(sizeof *vc, 64);          never moved after create
 *   vcons_create(vc, &gm);  vcons_set_irq(vc, raise, ctx);
 *   IOREQ_TYPE_MMIO:   vcons_mmio_read / vcons_mmio_write
 *   IOREQ_TYPE_NOTIFY: while (vcons_notify(vc, (unsigned)data) > 0) ;
 *   shell:             vcons_out_read(vc, &pos, buf, len, &lost); vcons_input(vc, s, n);
 */
#ifndef DOM0_VIRTIO_CONSOLE_BACKEND_H
#define DOM0_VIRTIO_CONSOLE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dom0/virtio/guestmem.h"
#include "dom0/virtio/mmio_dev.h"
#include "dom0/virtio/virtq.h"

#define VIRTIO_ID_CONSOLE 3

/* Feature bits (5.3.3). Only EMERG_WRITE is offered. */
#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* Configuration space (5.3.4): le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr. */
#define VIRTIO_CONSOLE_CFG_COLS 0
#define VIRTIO_CONSOLE_CFG_ROWS 2
#define VIRTIO_CONSOLE_CFG_MAX_NR_PORTS 4
#define VIRTIO_CONSOLE_CFG_EMERG_WR 8
#define VIRTIO_CONSOLE_CFG_LEN 12

/* Queues (5.3.2) without MULTIPORT. */
#define VCONS_RXQ 0   /* receiveq0: dom0 -> guest */
#define VCONS_TXQ 1   /* transmitq0: guest -> dom0 */
#define VCONS_NUM_QUEUES 2

#define VCONS_QUEUE_MAX 64u          /* QueueNumMax */
#define VCONS_MAX_SEGS VCONS_QUEUE_MAX /* a chain can never hold more (indirect included) */
#define VCONS_OUT_SIZE (16u * 1024)  /* output bytes kept (a power of two) */
#define VCONS_IN_SIZE 4096u          /* input bytes waiting for receive buffers */
#define VCONS_BUDGET 256u            /* chains per vcons_notify call */

/* Device-level error passed to vmmio_fail (beyond the VQ_E* codes). */
#define VCONS_EMALFORMED 110  /* transmit chain with a writable buffer, receive chain with a readable one or empty */

struct vcons_dev {
    struct vmmio_dev mmio;
    const struct guestmem *gm;
    uint8_t config[VIRTIO_CONSOLE_CFG_LEN];
    /* output ring: byte at position p is out[p % VCONS_OUT_SIZE] for
     * out_pos - VCONS_OUT_SIZE <= p < out_pos */
    uint64_t out_pos;
    /* input queue */
    uint32_t in_head, in_len;
    /* statistics */
    uint64_t tx_bytes, tx_chains, emerg_bytes;
    uint64_t rx_bytes, rx_chains;
    uint64_t in_bytes, in_dropped;
    struct vq_seg segs[VCONS_MAX_SEGS];
    uint8_t out[VCONS_OUT_SIZE];
    uint8_t in[VCONS_IN_SIZE];
};

/* Create the device (reset state, empty output and input). 0 or -PL_EINVAL.
 * The struct must stay where it is; gm must outlive it. */
int vcons_create(struct vcons_dev *vc, const struct guestmem *gm);

/* raise(ctx, status) is called whenever the domU's interrupt must be
 * raised, with the InterruptStatus bits it sets (VMMIO_INT_*). */
void vcons_set_irq(struct vcons_dev *vc, void (*raise)(void *ctx, uint32_t status), void *ctx);

/* Register window accesses, offset relative to the window base. */
uint64_t vcons_mmio_read(struct vcons_dev *vc, uint64_t offset, unsigned size);
void vcons_mmio_write(struct vcons_dev *vc, uint64_t offset, unsigned size, uint64_t value);

/* QueueNotify of queue q: transmitq0 moves the guest's bytes to the output
 * ring; receiveq0 fills the newly posted buffers with waiting input.
 * Returns 1 when it stopped after VCONS_BUDGET chains with more waiting
 * (call again), else 0. A violation puts the device in NEEDS_RESET. */
int vcons_notify(struct vcons_dev *vc, unsigned q);

/* Input from dom0: queue up to len bytes (what does not fit in the input
 * queue is dropped and counted in in_dropped) and deliver what the posted
 * receive buffers take. Returns the bytes accepted into the queue. */
size_t vcons_input(struct vcons_dev *vc, const void *buf, size_t len);

/* Deliver waiting input into posted receive buffers (also done by
 * vcons_input and a receiveq notify). Returns the bytes delivered. */
size_t vcons_deliver(struct vcons_dev *vc);

/* Output: copy up to len bytes from position *pos on into buf and advance
 * *pos. A *pos older than the oldest byte kept starts at the oldest one
 * (*lost, if not NULL, gets how many bytes were skipped, else 0); a *pos
 * beyond the newest is brought back to it. Returns the bytes copied. */
size_t vcons_out_read(const struct vcons_dev *vc, uint64_t *pos, void *buf, size_t len, uint64_t *lost);

/* Position of the next byte the guest will write (= bytes ever written). */
static inline uint64_t vcons_out_pos(const struct vcons_dev *vc) { return vc->out_pos; }
/* Oldest position still kept. */
static inline uint64_t vcons_out_start(const struct vcons_dev *vc)
{
    return vc->out_pos > VCONS_OUT_SIZE ? vc->out_pos - VCONS_OUT_SIZE : 0;
}
/* Input bytes waiting for receive buffers. */
static inline uint32_t vcons_in_pending(const struct vcons_dev *vc) { return vc->in_len; }

/* True while the device has been stopped by a violation until reset. */
static inline bool vcons_needs_reset(const struct vcons_dev *vc)
{
    return (vc->mmio.status & VIRTIO_STATUS_NEEDS_RESET) != 0;
}

#endif
