/* SPDX-License-Identifier: MIT */
/*
 * The device side of a split virtqueue (virtio 1.2 section 2.7) in a domU's
 * RAM, read through a guestmem view. Everything the driver wrote is
 * untrusted: each field is read once into dom0 memory and checked before
 * use, and any violation is reported as a negative VQ_E* code (the device
 * then sets DEVICE_NEEDS_RESET) -- never an access outside guest RAM.
 * Pure; no globals, so any number of queues and devices can coexist.
 */
#ifndef DOM0_VIRTIO_VIRTQ_H
#define DOM0_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dom0/virtio/guestmem.h"

/* Descriptor flags (2.7.5) and ring flags (2.7.6, 2.7.8). */
#define VIRTQ_F_NEXT 1u
#define VIRTQ_F_WRITE 2u
#define VIRTQ_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

#define VQ_MAX_SIZE 32768u               /* largest split queue (2.7) */
#define VQ_MAX_TOTAL (16u * 1024 * 1024) /* bytes one chain may describe */
#define VQ_DESC_BYTES 16u

/* Errors from vq_setup / vq_pop / vq_push (negative). */
enum {
    VQ_OK = 0,
    VQ_EBADSIZE = 1,     /* queue size 0, > VQ_MAX_SIZE or not a power of two */
    VQ_EALIGN = 2,       /* ring address not aligned as 2.7 requires */
    VQ_ERINGRANGE = 3,   /* a ring does not lie inside guest RAM */
    VQ_EIDXJUMP = 4,     /* avail->idx moved on by more than the queue size */
    VQ_EHEAD = 5,        /* avail ring entry >= queue size */
    VQ_ENEXT = 6,        /* descriptor next >= queue (or indirect table) size */
    VQ_ELOOP = 7,        /* chain longer than the queue / table: a loop */
    VQ_EBUFRANGE = 8,    /* a buffer is not wholly inside guest RAM */
    VQ_ETOOBIG = 9,      /* chain describes more than VQ_MAX_TOTAL bytes */
    VQ_EINDIRECT = 10,   /* INDIRECT not negotiated, nested, with NEXT, or not the head */
    VQ_EINDLEN = 11,     /* indirect table length 0 or not a multiple of 16 */
    VQ_EORDER = 12,      /* device-readable buffer after a device-writable one */
    VQ_ETOOMANY = 13,    /* more segments than the caller can hold */
    VQ_ENOTREADY = 14,   /* queue not set up */
    VQ_EUSEDID = 15,     /* pushing an id >= queue size (device bug) */
    VQ_EOVERRUN = 16,    /* more used entries than were popped (device bug) */
    VQ_ERR_COUNT
};

/* Short text for a VQ_E* code (positive or negative), for logs. */
const char *vq_strerror(int err);

/* One buffer of a chain: guest-physical address, length, and whether the
 * device writes it (VIRTQ_F_WRITE) or reads it. Checked to lie in RAM. */
struct vq_seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

/* One popped request. */
struct vq_chain {
    uint16_t head;          /* descriptor index to return in the used ring */
    uint32_t nseg;          /* segments filled in (readable ones first) */
    uint32_t nread;         /* how many of them are device-readable */
    uint64_t read_len;      /* total bytes the device may read */
    uint64_t write_len;     /* total bytes the device may write */
};

struct vq {
    const struct guestmem *gm;
    uint16_t size;             /* 0: not set up */
    bool event_idx;            /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;             /* VIRTIO_F_INDIRECT_DESC negotiated */
    uint64_t desc, avail, used;/* guest-physical addresses of the three parts */
    uint16_t last_avail;       /* next avail ring slot the device reads */
    uint16_t used_idx;         /* the device's copy of used->idx */
    uint16_t inflight;         /* popped but not yet pushed */
    uint16_t signalled_used;   /* used_idx when the last notify decision was made */
    bool signalled_valid;
};

/* Check and adopt a queue: size a power of two 1..VQ_MAX_SIZE; desc 16-,
 * avail 2-, used 4-byte aligned; each part (with the event-idx words)
 * inside RAM. Resets the indices to 0. 0 or -VQ_E*. On error *q is left
 * not ready. */
int vq_setup(struct vq *q, const struct guestmem *gm, uint32_t size, uint64_t desc, uint64_t avail,
             uint64_t used, bool event_idx, bool indirect);

/* Forget the queue (size 0). */
void vq_disable(struct vq *q);

static inline bool vq_ready(const struct vq *q) { return q->size != 0; }

/* Available chains not yet popped (0 when none), or -VQ_EIDXJUMP when
 * avail->idx is more than the queue size ahead of the device. */
int vq_avail_count(struct vq *q);

/* Pop the next available chain into segs[0..cap). 1: *out and segs
 * filled in; 0: nothing available; -VQ_E*: the driver broke the rules
 * (nothing consumed). Checks: avail index jump, head and next < size,
 * chain length <= queue size (or indirect table entries), every buffer
 * inside RAM, total <= VQ_MAX_TOTAL, readable before writable, INDIRECT
 * only when negotiated and only as the single head descriptor (no NEXT,
 * no nesting), more than cap segments or an indirect table of more than
 * cap entries -> VQ_ETOOMANY. Zero-length buffers are skipped. */
int vq_pop(struct vq *q, struct vq_chain *out, struct vq_seg *segs, uint32_t cap);

/* Return a chain: write used->ring[used_idx % size] = {id, len} and then
 * advance used->idx. 0 or -VQ_EUSEDID / -VQ_EOVERRUN / -VQ_ENOTREADY. */
int vq_push(struct vq *q, uint16_t id, uint32_t len);

/* After a batch of pushes: should the driver get a used-buffer
 * notification? With EVENT_IDX, the 2.7.10 rule on used_event
 * (vring_need_event); without, unless avail->flags has NO_INTERRUPT. */
bool vq_should_notify(struct vq *q);

/* With EVENT_IDX: publish avail_event = last_avail so the driver notifies
 * on its next buffer; then, as the driver may have added buffers in
 * between, true when more are available (process again). Without
 * EVENT_IDX: just whether more are available. */
bool vq_enable_notify(struct vq *q);

/* vring_need_event of 2.7.10: has new_idx moved past event_idx since old_idx? */
static inline bool vq_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/* Copy [off, off + len) of a run of (already checked) segments to or from
 * buf; gm_ptr checks each piece again, so nothing outside guest RAM is ever
 * touched. Returns the bytes copied (less than len only if the segments end
 * first or a piece leaves guest RAM). */
uint64_t vq_seg_copy(const struct guestmem *gm, const struct vq_seg *seg, uint32_t n, uint64_t off, void *buf,
                     uint64_t len, bool to_guest);

#endif
