/* SPDX-License-Identifier: MIT */
/*
 * A domU's RAM as dom0 sees it through a foreign mapping (HC_FOREIGN_MAP):
 * guest-physical address gpa is base[gpa] for 0 <= gpa < size. Every access
 * the virtio backends make to guest memory goes through gm_ptr(), which
 * refuses any range that is not wholly inside that window. Pure; compiles
 * freestanding (dom0) and on the host (unit tests, fuzzers).
 */
#ifndef DOM0_VIRTIO_GUESTMEM_H
#define DOM0_VIRTIO_GUESTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guestmem {
    uint8_t *base;   /* where guest-physical 0 appears in dom0 */
    uint64_t size;   /* bytes of guest RAM mapped */
};

/* True when [gpa, gpa + len) lies wholly inside the view (len 0: gpa <= size). */
static inline bool gm_range_ok(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
    if (!gm || !gm->base)
        return false;
    return len <= gm->size && gpa <= gm->size - len;
}

/* dom0 pointer to [gpa, gpa + len), or NULL unless the whole range is
 * inside guest RAM. Overflow-safe for any gpa and len. */
static inline void *gm_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
    if (!gm_range_ok(gm, gpa, len))
        return NULL;
    return gm->base + gpa;
}

#endif
