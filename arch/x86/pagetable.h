/* 4-level page-table builder. Pure logic: tables are reached through
 * callbacks, so the same walker builds the hypervisor's own tables, the
 * guests' second-level tables and is unit-tested on the host. Three entry
 * formats share the 512-entry, 9-bits-per-level tree:
 *  - PT_FORMAT_X86_64: ordinary long-mode paging (SDM Vol. 3A 4.5), the
 *    hypervisor's own tables; flags are raw PTE_* bits.
 *  - PT_FORMAT_NPT: AMD nested paging (APM Vol. 2 15.25), the long-mode
 *    format walked with guest accesses counted as user accesses.
 *  - PT_FORMAT_EPT: Intel EPT (SDM Vol. 3C 29.3.2).
 * The two second-level formats take format-neutral flags (PT_PERM_*,
 * PT_MEMTYPE()) and translate guest-physical addresses below 2^48.
 * Not locked: callers serialise updates. */
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
/* The leaf permission/attribute bits pt_map accepts (PT_FORMAT_X86_64). */
#define PTE_LEAF_FLAGS (PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_G | PTE_NX)
/* The subset pt_protect replaces (PT_FORMAT_X86_64). */
#define PTE_PERM_FLAGS (PTE_W | PTE_U | PTE_NX)

/* EPT entry bits, SDM Vol. 3C 29.3.2 (tables 29-1 to 29-6) */
#define EPT_R (1ull << 0)
#define EPT_W (1ull << 1)
#define EPT_X (1ull << 2)          /* execute (supervisor-mode, with MBEC) */
#define EPT_MEMTYPE_SHIFT 3        /* bits 5:3 of leaves, 29.3.7 */
#define EPT_MEMTYPE_MASK (7ull << EPT_MEMTYPE_SHIFT)
#define EPT_IGNORE_PAT (1ull << 6) /* leaves: the guest PAT type is not combined in */
#define EPT_LARGE (1ull << 7)      /* PDPTE: 1 GiB page; PDE: 2 MiB page */
#define EPT_A (1ull << 8)          /* only when EPTP bit 6 enables A/D flags */
#define EPT_D (1ull << 9)

/* Format-neutral leaf flags of PT_FORMAT_EPT and PT_FORMAT_NPT. The
 * permission bits equal ASPACE_R/W/X and the EPT R/W/X bits; the memory
 * type is a PAT/EPT memory-type encoding. */
#define PT_PERM_R (1ull << 0)
#define PT_PERM_W (1ull << 1)
#define PT_PERM_X (1ull << 2)
#define PT_PERM_RWX (PT_PERM_R | PT_PERM_W | PT_PERM_X)
#define PT_MEMTYPE_SHIFT 3
#define PT_MEMTYPE_MASK (7ull << PT_MEMTYPE_SHIFT)
#define PT_MEMTYPE(t) ((uint64_t)(t) << PT_MEMTYPE_SHIFT)
#define PT_MEMTYPE_OF(flags) ((unsigned)(((flags) & PT_MEMTYPE_MASK) >> PT_MEMTYPE_SHIFT))
/* Memory-type encodings, SDM Vol. 3A 11.12.3 and Vol. 3C 29.3.7 (the same
 * values as enum mem_cache_type in hv/aspace.h) */
#define PT_MT_UC 0u
#define PT_MT_WC 1u
#define PT_MT_WT 4u
#define PT_MT_WP 5u
#define PT_MT_WB 6u

#define PT_PAGE_4K (1ull << 12)
#define PT_PAGE_2M (1ull << 21)
#define PT_PAGE_1G (1ull << 30)
#define PT_ENTRIES 512

enum pt_entry_format {
    PT_FORMAT_X86_64 = 0, /* the default, so zero-initialised ops keep it */
    PT_FORMAT_NPT,
    PT_FORMAT_EPT,
};

struct pt_ops {
    /* A zeroed 4 KiB table page's physical address, or 0 when out of memory. */
    uint64_t (*alloc_table)(void *ctx);
    void (*free_table)(void *ctx, uint64_t phys);
    /* Where the table at phys can be read and written. */
    uint64_t *(*table_ptr)(void *ctx, uint64_t phys);
    /* Called for every virtual range whose old translation became invalid
     * or narrower, and for the range a table served before that table is
     * freed (may be NULL, e.g. while building tables not yet in use). */
    void (*flush)(void *ctx, uint64_t va, uint64_t len);
    void *ctx;
    bool allow_1g;     /* CPU supports 1 GiB pages */
    /* X86_64 and NPT: PTE_NX if EFER.NXE is on, else 0 (NX is dropped, so
     * pages stay executable). For NPT the host's EFER.NXE counts: nested
     * walks run in the host's paging mode (APM Vol. 2 15.25). */
    uint64_t nx_mask;
    enum pt_entry_format format;
    /* After pt_map or pt_protect, replace a table whose 512 entries are
     * leaves translating one aligned block contiguously with identical
     * attributes by one large leaf, and free the table. Off for the
     * hypervisor's own tables, which keep the page sizes they were built
     * with. */
    bool merge;
    /* EPT without 2 MiB pages (IA32_VMX_EPT_VPID_CAP bit 16 clear); then
     * allow_1g must be off too, or a 1 GiB split would make 2 MiB leaves. */
    bool no_2m;
    bool exec_only;    /* EPT execute-only leaves allowed (IA32_VMX_EPT_VPID_CAP bit 0) */
};

struct pt {
    uint64_t root;     /* physical address of the PML4 */
    struct pt_ops ops;
    uint64_t tables;   /* table pages held, root included */
};

/* Allocates the root. Returns 0 or -PL_ENOMEM. */
int pt_init(struct pt *pt, const struct pt_ops *ops);

/* Map [va, va+len) to [pa, pa+len) with leaf flags: PT_FORMAT_X86_64
 * takes PTE_LEAF_FLAGS bits (present is implied); EPT and NPT take
 * PT_PERM_* | PT_MEMTYPE(t). va, pa and len must be 4 KiB aligned and va
 * canonical (EPT/NPT: [va, va+len) below 2^48); the largest page size that
 * alignment allows is used (and, with ops.merge, tables the map completes
 * are merged). Existing translations in the range are replaced, and large
 * pages that straddle the range's edges are split so what lies outside
 * keeps its translation.
 * Flags a second-level format cannot express are -PL_EINVAL: no
 * permission at all (use pt_unmap); EPT: write without read (a
 * misconfiguration, SDM Vol. 3C 29.3.3.1), execute-only unless
 * ops.exec_only, memory types 2, 3 and 7; NPT: no read (present implies
 * read), WC and WP (see the NPT memory-type mapping in pagetable.c).
 * Returns 0, -PL_EINVAL (alignment, canonicality, flags) or -PL_ENOMEM (the
 * range may then be partly mapped). */
int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags);

/* Remove translations in [va, va+len), splitting large pages at the edges;
 * table pages left empty are freed. Unmapped holes are fine. Returns 0,
 * -PL_EINVAL or -PL_ENOMEM (a split needed a table page). */
int pt_unmap(struct pt *pt, uint64_t va, uint64_t len);

/* Change the permissions of the pages mapped in [va, va+len); holes are
 * skipped and everything else about a translation (address, memory type,
 * global bit) is kept. flags: PTE_PERM_FLAGS bits for PT_FORMAT_X86_64
 * (they replace W, U and NX), PT_PERM_* for EPT and NPT (the same
 * permission rules as pt_map). Large pages that straddle the range's edges
 * and would change are split. Removing a permission flushes the range
 * (x86-64: any change does); granting one does not, as a stale, narrower
 * translation only causes a fault that refetches it (SDM Vol. 3A 4.10.4.3,
 * Vol. 3C 29.4.3.1). Returns 0, -PL_EINVAL or -PL_ENOMEM (a split needed a
 * table page; the range may then be partly changed). */
int pt_protect(struct pt *pt, uint64_t va, uint64_t len, uint64_t flags);

/* Translate va. Returns true with the physical address, the leaf flags (in
 * pt_map's terms for the format) and the page size when mapped. */
bool pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, uint64_t *flags, uint64_t *page_size);

/* Free every table page (not the mapped memory). */
void pt_destroy(struct pt *pt);

#endif
