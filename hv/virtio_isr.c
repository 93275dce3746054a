#include "hv/virtio_isr.h"

void virtio_isr_reset(struct virtio_isr *s, uint32_t seq)
{
    __atomic_store_n(&s->status, 0, __ATOMIC_RELEASE);
    s->reset_seq = seq;
    s->reset_pending = true;
}

bool virtio_isr_raise(struct virtio_isr *s, uint32_t bits, uint32_t seen_seq)
{
    if (s->reset_pending) {
        /* Sequence numbers wrap; the device model is never 2^31 requests
         * behind (its ring holds IOREQ_RING_SIZE). */
        if ((int32_t)(seen_seq - s->reset_seq) < 0)
            return false;
        s->reset_pending = false;
    }
    __atomic_or_fetch(&s->status, bits, __ATOMIC_ACQ_REL);
    return true;
}
