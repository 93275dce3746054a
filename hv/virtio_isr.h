/* The InterruptStatus register of one virtio-mmio window (virtio 1.2
 * 4.2.2), kept by the hypervisor so that a guest's read of it and its
 * InterruptACK are answered at the exit, with no round trip to the device
 * model in dom0 (hv/ioreq.c). Pure state, no locks: the caller serialises
 * virtio_isr_reset and virtio_isr_raise (read and ack are atomic and may
 * run beside them). Unit-tested on the host (tests/unit/test_virtio_isr.c).
 *
 * A reset (the guest writes 0 to Status, request `seq` on the device
 * model's ring) clears the bits. The device model may raise an interrupt
 * for the device as it was before it has taken that request off its ring;
 * the raise names the last request it has taken (seen_seq), and one from
 * before the reset is dropped, so a fresh device never shows a stale bit. */
#ifndef HV_VIRTIO_ISR_H
#define HV_VIRTIO_ISR_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_isr {
    uint32_t status;       /* VIRTIO_INT_* bits not yet acknowledged */
    uint32_t reset_seq;    /* request seq of the last reset ... */
    bool reset_pending;    /* ... which the device model has not yet seen */
};

void virtio_isr_reset(struct virtio_isr *s, uint32_t seq);
/* Sets bits unless the raise is from before the last reset (then false:
 * the interrupt is not to be delivered either). */
bool virtio_isr_raise(struct virtio_isr *s, uint32_t bits, uint32_t seen_seq);

static inline uint32_t virtio_isr_read(const struct virtio_isr *s)
{
    return __atomic_load_n(&s->status, __ATOMIC_ACQUIRE);
}

static inline void virtio_isr_ack(struct virtio_isr *s, uint32_t bits)
{
    __atomic_and_fetch(&s->status, ~bits, __ATOMIC_ACQ_REL);
}

#endif
