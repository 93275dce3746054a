/* Device models in another domain (dom0) for a domain's virtio-mmio
 * windows, foreign mappings of a domain's RAM, and interrupt injection
 * (ABI: include/plinth/ioreq.h, docs/pv-io.md). */
#ifndef HV_IOREQ_H
#define HV_IOREQ_H

#include <stdbool.h>
#include <stdint.h>

#include "plinth/ioreq.h"

struct domain;
struct vcpu;
struct vcpu_exit;

static inline bool ioreq_window(uint64_t gpa)
{
    return gpa >= PLINTH_VIRTIO_MMIO_BASE &&
           gpa < PLINTH_VIRTIO_MMIO_BASE + PLINTH_VIRTIO_MMIO_MAX * PLINTH_VIRTIO_MMIO_STRIDE;
}

/* An access to a virtio-mmio window: forwarded to the domain's device
 * model (the vCPU then waits for the completion), or, without one, a
 * device that is not there (reads 0, writes ignored). */
void ioreq_handle(struct vcpu *v, const struct vcpu_exit *e);
/* Before the vCPU enters the guest: finish a completed request. */
void ioreq_resume(struct vcpu *v);

/* Hypercalls 29..33 (control domain only; checked by the caller). */
int64_t ioreq_hypercall(struct vcpu *v, uint64_t nr, const uint64_t *a);

/* The domain is being destroyed: drop the foreign mappings of its RAM
 * (from every mapper, before its memory is freed), its own foreign
 * mappings, and, if it was a device model, fail its clients' waiting
 * requests so no vCPU waits for ever. */
void ioreq_domain_destroy(struct domain *d);

#endif
