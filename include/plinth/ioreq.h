/* SPDX-License-Identifier: MIT */
/*
 * Plinth device-model interface, ABI version 1.4 (docs/pv-io.md).
 *
 * A domU's virtio-mmio register windows (the platform layout below) are not
 * backed by anything in the hypervisor: an access to one is decoded and
 * queued as a request on the ring of the device model registered for that
 * domain (dom0), which is notified on an event-channel port. The vCPU waits
 * until the device model completes a read (HC_IOREQ_COMPLETE). Writes need
 * no completion and the vCPU continues at once: writes to the QueueNotify
 * register are queued as IOREQ_TYPE_NOTIFY, all others as
 * IOREQ_TYPE_POSTED_WRITE. 4-byte reads of InterruptStatus and writes of
 * InterruptACK never reach the device model: the hypervisor serves them
 * (see VIRTIO_MMIO_INTERRUPT_STATUS below).
 * The device model reads the domU's memory through a foreign mapping
 * (HC_FOREIGN_MAP) and raises the device's interrupt with HC_DOMAIN_IRQ.
 * All of these calls are for the control domain only (-PL_EPERM).
 */
#ifndef PLINTH_IOREQ_H
#define PLINTH_IOREQ_H

#include <stdint.h>

/* ---- the domU platform: virtio-mmio devices (virtio 1.2 section 4.2) ---- */
#define PLINTH_VIRTIO_MMIO_BASE 0xFE000000ull   /* device n at BASE + n * STRIDE */
#define PLINTH_VIRTIO_MMIO_STRIDE 0x1000ull
#define PLINTH_VIRTIO_MMIO_SIZE 0x200ull        /* register window of each device */
#define PLINTH_VIRTIO_MMIO_MAX 8
#define PLINTH_VIRTIO_MMIO_IRQ_BASE 16          /* device n raises interrupt line 16 + n */
/* Until domains get a virtual I/O APIC, interrupt line L is delivered as
 * vector PLINTH_IRQ_VECTOR_BASE + L. */
#define PLINTH_IRQ_VECTOR_BASE 0x40
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
/* The transport registers the hypervisor itself takes part in (virtio 1.2
 * 4.2.2): it keeps each window's InterruptStatus, so that a guest's read
 * of it and its write to InterruptACK are answered without a trip to the
 * device model; a write of 0 to Status (a device reset) clears it. */
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_INT_USED_BUFFER (1u << 0)   /* InterruptStatus bits */
#define VIRTIO_INT_CONFIG_CHANGE (1u << 1)

/* ---- hypercalls (continuing include/plinth/evtchn.h) ---- */
/* (domid, gpa of struct plinth_ioreq_ring in the caller's RAM (4 KiB
 * aligned), the caller's event port to notify) -> 0: become the device
 * model of domid's virtio-mmio windows. The port must be the caller's own
 * open port (allocated with HC_EVTCHN_ALLOC_UNBOUND for DOMID_HYPERVISOR).
 * -PL_EBUSY if the domain already has one. */
#define HC_IOREQ_REGISTER 29
/* (domid, vcpu, seq, value) -> 0: finish the request (for a read, value is
 * what the vCPU reads). -PL_ENOENT when that vCPU has no such request (it
 * was completed, or the domain died). */
#define HC_IOREQ_COMPLETE 30
/* (domid, dst gpa (2 MiB aligned, at or above 64 GiB, below 2^46)) -> bytes mapped:
 * all of domid's RAM appears at dst in the caller's address space, readable
 * and writable, until HC_FOREIGN_UNMAP or either domain ends. -PL_EBUSY if
 * that domain is already mapped; -PL_EINVAL for a dst that overlaps the
 * caller's RAM, another mapping or device memory. */
#define HC_FOREIGN_MAP 31
#define HC_FOREIGN_UNMAP 32        /* (domid) -> 0 */
/* (domid, line 0..63, status, seen_seq) -> 0: raise interrupt line `line`
 * in domid. For the line of virtio-mmio window n (PLINTH_VIRTIO_MMIO_IRQ_BASE
 * + n), status is the InterruptStatus bits to set (VIRTIO_INT_*, 0 for
 * none) and seen_seq the seq of the last request of domid the caller has
 * taken off its ring: an interrupt with status bits raised before the
 * caller saw the domain's last reset of that device (a 4-byte write of 0
 * to Status) belongs to the device before the reset and is dropped (still
 * 0). For other lines status must be 0. -PL_EINVAL for unknown bits, bits
 * on another line, a line out of range or a seen_seq wider than 32 bits;
 * -PL_EPERM for status bits from a domain that is not domid's device
 * model; -PL_ENOENT when domid is not running. */
#define HC_DOMAIN_IRQ 33

#define DOMID_HYPERVISOR 0x7FF0u   /* remote domid for HC_EVTCHN_ALLOC_UNBOUND: events come from the hypervisor */

#define IOREQ_RING_SIZE 64         /* a power of two */
#define IOREQ_READ 0
#define IOREQ_WRITE 1
#define IOREQ_TYPE_MMIO 0          /* a read: complete it with HC_IOREQ_COMPLETE */
#define IOREQ_TYPE_NOTIFY 1        /* a QueueNotify write: no completion */
/* Any other write: no completion either. The vCPU goes on at once; the
 * device model sees requests in order, so a later read of the device is
 * answered after the write took effect. */
#define IOREQ_TYPE_POSTED_WRITE 2

struct plinth_ioreq {
    uint64_t addr;      /* guest-physical address accessed */
    uint64_t data;      /* the value written (IOREQ_WRITE) */
    uint32_t vcpu;
    uint32_t seq;       /* identifies the request in HC_IOREQ_COMPLETE */
    uint8_t size;       /* 1, 2, 4 or 8 */
    uint8_t dir;        /* IOREQ_READ or IOREQ_WRITE */
    uint8_t type;       /* IOREQ_TYPE_* */
    uint8_t reserved[5];
};

/* One 4 KiB page in the device model's RAM. The hypervisor writes req[prod
 * % IOREQ_RING_SIZE] and then advances prod; the device model advances
 * cons. A full ring makes the vCPU wait (and retry) rather than lose a
 * request. */
struct plinth_ioreq_ring {
    uint32_t prod;
    uint32_t cons;
    uint32_t domid;     /* the domain this ring serves, set by the hypervisor */
    /* Set by the hypervisor (then the port is raised) once that domain has
     * ended: its RAM is gone, and the device model can let it go. */
    uint32_t client_gone;
    uint32_t reserved[12];
    struct plinth_ioreq req[IOREQ_RING_SIZE];
};

#endif
