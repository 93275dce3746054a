/* x86-64 4-level page-table builder (SDM Vol. 3A 4.5). Pure logic: tables
 * are reached through callbacks, so the same code builds the hypervisor's
 * own tables, is unit-tested on the host, and will build AMD NPT tables
 * (which use this format). Not locked: callers serialise updates. */
#ifndef ARCH_X86_PAGETABLE_H
#define ARCH_X86_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

/* Entry bits, SDM Vol. 3A tables 4-14 to 4-20 */
#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ull
/* The leaf permission/attribute bits pt_map accepts. */
#define PTE_LEAF_FLAGS (PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_G | PTE_NX)

#define PT_PAGE_4K (1ull << 12)
#define PT_PAGE_2M (1ull << 21)
#define PT_PAGE_1G (1ull << 30)
#define PT_ENTRIES 512

struct pt_ops {
    /* A zeroed 4 KiB table page's physical address, or 0 when out of memory. */
    uint64_t (*alloc_table)(void *ctx);
    void (*free_table)(void *ctx, uint64_t phys);
    /* Where the table at phys can be read and written. */
    uint64_t *(*table_ptr)(void *ctx, uint64_t phys);
    /* Called for every virtual range whose old translation became invalid
     * (may be NULL, e.g. while building tables not yet in use). */
    void (*flush)(void *ctx, uint64_t va, uint64_t len);
    void *ctx;
    bool allow_1g;     /* CPU supports 1 GiB pages */
    uint64_t nx_mask;  /* PTE_NX if EFER.NXE is on, else 0 (NX is dropped) */
};

struct pt {
    uint64_t root;     /* physical address of the PML4 */
    struct pt_ops ops;
    uint64_t tables;   /* table pages held, root included */
};

/* Allocates the root. Returns 0 or -PL_ENOMEM. */
int pt_init(struct pt *pt, const struct pt_ops *ops);

/* Map [va, va+len) to [pa, pa+len) with leaf flags (PTE_LEAF_FLAGS bits;
 * present is implied). va, pa and len must be 4 KiB aligned and va
 * canonical; the largest page size that alignment allows is used. Existing
 * translations in the range are replaced, and large pages that straddle the
 * range's edges are split so what lies outside keeps its translation.
 * Returns 0, -PL_EINVAL (alignment, canonicality, flags) or -PL_ENOMEM (the
 * range may then be partly mapped). */
int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags);

/* Remove translations in [va, va+len), splitting large pages at the edges;
 * table pages left empty are freed. Unmapped holes are fine. Returns 0,
 * -PL_EINVAL or -PL_ENOMEM (a split needed a table page). */
int pt_unmap(struct pt *pt, uint64_t va, uint64_t len);

/* Translate va. Returns true with the physical address, the leaf flags and
 * the page size when mapped. */
bool pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, uint64_t *flags, uint64_t *page_size);

/* Free every table page (not the mapped memory). */
void pt_destroy(struct pt *pt);

#endif
