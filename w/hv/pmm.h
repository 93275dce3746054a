/* Physical frame allocator: 4 KiB and 2 MiB frames, with accounting.
 * Pure logic, unlocked (the hypervisor wraps it with a lock). State is a
 * bitmap of 4 KiB frames (1 = in use or reserved) plus a count of free frames
 * in every 2 MiB chunk, so a free 2 MiB frame is found without scanning
 * bits, and 4 KiB allocations prefer chunks already broken up (keeps whole
 * chunks free for 2 MiB requests). */
#ifndef HV_PMM_H
#define HV_PMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PMM_PAGE_SIZE 4096ull
#define PMM_LARGE_SIZE (2ull << 20)
#define PMM_FRAMES_PER_LARGE 512u
#define PMM_NO_FRAME (~0ull)

enum pmm_order { PMM_4K = 0, PMM_2M = 9 };

struct pmm_stats {
    uint64_t managed_frames;  /* 4 KiB frames added as free and not reserved
                                 since: free + handed out (4K + 512 * 2M) */
    uint64_t free_frames;     /* 4 KiB frames free now */
    uint64_t alloc_4k;        /* live 4 KiB allocations */
    uint64_t alloc_2m;        /* live 2 MiB allocations */
    uint64_t free_large;      /* 2 MiB chunks entirely free now */
};

struct pmm {
    uint64_t limit;          /* physical bytes covered, multiple of 2 MiB */
    uint64_t nframes, nchunks;
    uint64_t *bitmap;        /* nframes bits */
    uint16_t *chunk_free;    /* free frames per 2 MiB chunk, nchunks entries */
    uint8_t *chunk_large;    /* 1 where the chunk is a live 2 MiB allocation */
    uint64_t *allocated;     /* nframes bits: 1 = handed out by pmm_alloc
                                (as opposed to merely reserved) */
    uint64_t hint_partial;   /* chunk to start the next 4 KiB search at */
    struct pmm_stats stats;
};

/* Bytes of metadata needed to cover physical addresses [0, phys_limit). */
size_t pmm_metadata_bytes(uint64_t phys_limit);

/* Initialise over [0, phys_limit) (rounded up to 2 MiB) with every frame
 * reserved. meta must be 8-byte aligned with meta_bytes >=
 * pmm_metadata_bytes(phys_limit). Returns 0 or -PL_EINVAL. */
int pmm_init(struct pmm *p, void *meta, size_t meta_bytes, uint64_t phys_limit);

/* Mark [base, base+len) free; shrinks inward to whole frames and clips at
 * the limit. Returns the number of frames that became free. Adding a frame
 * already free is ignored (not counted twice). */
uint64_t pmm_add_free(struct pmm *p, uint64_t base, uint64_t len);

/* Mark [base, base+len) reserved; grows outward to whole frames. Returns the
 * number of frames that were free and are now reserved. */
uint64_t pmm_reserve(struct pmm *p, uint64_t base, uint64_t len);

/* Allocate one frame of the given order whose end lies at or below
 * max_phys (use PMM_NO_FRAME for no bound). Returns its physical address,
 * aligned to its size, or PMM_NO_FRAME. */
uint64_t pmm_alloc(struct pmm *p, enum pmm_order order, uint64_t max_phys);

/* Free a frame allocated with the same order. Returns 0, or -PL_EINVAL for
 * a misaligned or out-of-range address, a frame not allocated (double free),
 * or an order that does not match the allocation. State is unchanged on
 * error. */
int pmm_free(struct pmm *p, uint64_t phys, enum pmm_order order);

/* Move every metadata pointer by delta bytes: the metadata was reached
 * through one mapping at init and must now be reached through another. */
void pmm_relocate(struct pmm *p, intptr_t delta);

bool pmm_is_free(const struct pmm *p, uint64_t phys);
void pmm_get_stats(const struct pmm *p, struct pmm_stats *out);

#endif
