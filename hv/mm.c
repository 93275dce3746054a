#include "hv/mm.h"

#include "arch/x86/paging.h"
#include "arch/x86/spinlock.h"
#include "hv/heap.h"
#include "hv/log.h"
#include "hv/panic.h"
#include "hv/pmm.h"
#include "hv/string.h"

extern char __image_start[], __image_end[];

#define LOW_RESERVED_END 0x1000ull       /* real-mode IVT and BIOS data area */
#define META_MIN_BASE (1ull << 20)
#define META_MAX_END (4ull << 30)        /* reachable on the early identity map */
#define MAX_BOOT_RESERVATIONS (BOOT_MAX_MODULES + 4)

struct range {
    uint64_t base, end;
};

static struct pmm pmm;
static spinlock_t pmm_lock = SPINLOCK_INIT;
static struct heap heap;
static spinlock_t heap_lock = SPINLOCK_INIT;
static uint64_t phys_limit;
static uint64_t meta_phys;
static size_t meta_bytes;

struct pmm *mm_pmm(void) { return &pmm; }
uint64_t mm_phys_limit(void) { return phys_limit; }

static bool overlaps(uint64_t b, uint64_t e, const struct range *r, unsigned n, uint64_t *skip_to)
{
    for (unsigned i = 0; i < n; i++) {
        if (b < r[i].end && r[i].base < e) {
            *skip_to = r[i].end;
            return true;
        }
    }
    return false;
}

/* First page-aligned spot of size bytes in available RAM within
 * [META_MIN_BASE, META_MAX_END) that overlaps none of the reservations. */
static uint64_t find_metadata_home(const struct boot_info *bi, const struct range *res, unsigned nres, uint64_t size)
{
    for (unsigned i = 0; i < bi->mmap_count; i++) {
        const struct mem_range *m = &bi->mmap[i];
        if (m->type != MEM_AVAILABLE)
            continue;
        uint64_t b = ALIGN_UP(MAX(m->base, META_MIN_BASE), PAGE_SIZE);
        uint64_t end = MIN(m->base + m->len, META_MAX_END);
        while (b + size <= end) {
            uint64_t skip;
            if (!overlaps(b, b + size, res, nres, &skip))
                return b;
            b = ALIGN_UP(skip, PAGE_SIZE);
        }
    }
    return 0;
}

void mm_init_frames(const struct boot_info *bi, uint64_t mbi_phys)
{
    struct range res[MAX_BOOT_RESERVATIONS];
    unsigned nres = 0;
    res[nres++] = (struct range){ 0, LOW_RESERVED_END };
    res[nres++] = (struct range){ kernel_virt_to_phys(__image_start), kernel_virt_to_phys(__image_end) };
    res[nres++] = (struct range){ mbi_phys, mbi_phys + bi->mbi_size };
    for (unsigned i = 0; i < bi->module_count; i++)
        res[nres++] = (struct range){ bi->modules[i].start, bi->modules[i].end };

    for (unsigned i = 0; i < bi->mmap_count; i++)
        if (bi->mmap[i].type == MEM_AVAILABLE)
            phys_limit = MAX(phys_limit, bi->mmap[i].base + bi->mmap[i].len);
    if (phys_limit == 0)
        panic("mm: the memory map lists no available RAM");

    meta_bytes = pmm_metadata_bytes(phys_limit);
    meta_phys = find_metadata_home(bi, res, nres, ALIGN_UP(meta_bytes, PAGE_SIZE));
    if (!meta_phys)
        panic("mm: no room below 4 GiB for %zu bytes of frame allocator metadata", meta_bytes);
    if (pmm_init(&pmm, (void *)meta_phys, meta_bytes, phys_limit))
        panic("mm: frame allocator rejected its metadata area");

    for (unsigned i = 0; i < bi->mmap_count; i++)
        if (bi->mmap[i].type == MEM_AVAILABLE)
            pmm_add_free(&pmm, bi->mmap[i].base, bi->mmap[i].len);
    for (unsigned i = 0; i < nres; i++)
        if (res[i].end > res[i].base)
            pmm_reserve(&pmm, res[i].base, res[i].end - res[i].base);
    pmm_reserve(&pmm, meta_phys, meta_bytes);
}

static void *heap_page_alloc(void *ctx)
{
    (void)ctx;
    uint64_t pa = mm_alloc(PMM_4K, PMM_NO_FRAME);
    if (pa == PMM_NO_FRAME)
        return NULL;
    void *p = phys_to_virt(pa);
    memset(p, 0, PAGE_SIZE);
    return p;
}

static void heap_page_free(void *ctx, void *page)
{
    (void)ctx;
    mm_free(virt_to_phys_direct(page), PMM_4K);
}

void mm_init_late(void)
{
    /* The metadata was reached through the identity map; move to the
     * direct map before the identity map goes away. */
    pmm_relocate(&pmm, DIRECT_MAP_BASE);
    struct heap_page_source src = { heap_page_alloc, heap_page_free, NULL };
    heap_init(&heap, &src);
}

uint64_t mm_alloc(unsigned order, uint64_t max_phys)
{
    uint64_t flags = spin_lock_irqsave(&pmm_lock);
    uint64_t pa = pmm_alloc(&pmm, (enum pmm_order)order, max_phys);
    spin_unlock_irqrestore(&pmm_lock, flags);
    return pa;
}

int mm_free(uint64_t phys, unsigned order)
{
    uint64_t flags = spin_lock_irqsave(&pmm_lock);
    int rc = pmm_free(&pmm, phys, (enum pmm_order)order);
    spin_unlock_irqrestore(&pmm_lock, flags);
    return rc;
}

uint64_t mm_alloc_frame(void)
{
    uint64_t pa = mm_alloc(PMM_4K, PMM_NO_FRAME);
    if (pa == PMM_NO_FRAME)
        panic("mm: out of memory");
    memset(phys_to_virt(pa), 0, PAGE_SIZE);
    return pa;
}

void *kmalloc(size_t size)
{
    uint64_t flags = spin_lock_irqsave(&heap_lock);
    void *p = heap_alloc(&heap, size);
    spin_unlock_irqrestore(&heap_lock, flags);
    return p;
}

void kfree(void *p)
{
    uint64_t flags = spin_lock_irqsave(&heap_lock);
    int rc = heap_free(&heap, p);
    spin_unlock_irqrestore(&heap_lock, flags);
    if (rc)
        panic("kfree: %p was not allocated by kmalloc (or is already free)", p);
}

void mm_stats(struct pmm_stats *out)
{
    uint64_t flags = spin_lock_irqsave(&pmm_lock);
    pmm_get_stats(&pmm, out);
    spin_unlock_irqrestore(&pmm_lock, flags);
}

uint64_t mm_frames_in_use(void)
{
    struct pmm_stats st;
    mm_stats(&st);
    return st.managed_frames - st.free_frames;
}

void mm_log_stats(void)
{
    struct pmm_stats s;
    mm_stats(&s);
    pr_info("mm: %lu MiB managed, %lu MiB free (%lu free 2 MiB frames), %lu 4K + %lu 2M frames allocated",
            s.managed_frames >> 8, s.free_frames >> 8, s.free_large, s.alloc_4k, s.alloc_2m);
}
