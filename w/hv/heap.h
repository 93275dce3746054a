/* Small-object heap for hypervisor objects, built on 4 KiB pages from a page
 * source. Size classes 16..2048 bytes (powers of two); each page is a slab of
 * one class with a header at its start. Pure logic, unlocked. */
#ifndef HV_HEAP_H
#define HV_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_PAGE_SIZE 4096u
#define HEAP_MIN_OBJECT 16u
#define HEAP_MAX_OBJECT 2048u
#define HEAP_NCLASSES 8u /* 16, 32, ..., 2048 */

struct heap_page_source {
    /* Returns a zeroed, 4 KiB-aligned page, or NULL. */
    void *(*alloc_page)(void *ctx);
    void (*free_page)(void *ctx, void *page);
    void *ctx;
};

struct heap_stats {
    uint64_t pages;        /* slab pages held */
    uint64_t live_objects; /* allocated, not yet freed */
    uint64_t live_bytes;   /* sum of size-class sizes of live objects */
};

struct heap_slab;

struct heap {
    struct heap_page_source src;
    struct heap_slab *partial[HEAP_NCLASSES]; /* slabs with a free slot */
    struct heap_stats stats;
};

void heap_init(struct heap *h, const struct heap_page_source *src);

/* Zeroed object of at least size bytes (1..HEAP_MAX_OBJECT), aligned to its
 * size class (so 16-byte aligned at least). NULL if size is 0 or too large,
 * or no page is available. */
void *heap_alloc(struct heap *h, size_t size);

/* Returns 0, or -PL_EINVAL for a pointer the heap did not hand out or that
 * is already free (checked via the slab's magic and free bitmap; the heap is
 * unchanged then). NULL is accepted and ignored. A slab that becomes empty
 * returns its page to the source. */
int heap_free(struct heap *h, void *ptr);

void heap_get_stats(const struct heap *h, struct heap_stats *out);

#endif
