/* dom0 memory: a bump allocator over the free range the start information
 * gives, and the guest-physical to host-physical chunk table for DMA. */
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/util.h"

#define CHUNK_SHIFT 21
#define CHUNK_SIZE (1ull << CHUNK_SHIFT)
#define MAX_CHUNKS 512 /* 1 GiB, the largest domain */

static uint64_t heap_next, heap_end;
static uint64_t chunks[MAX_CHUNKS];
static unsigned chunk_count; /* 0: no table; DMA addresses are identity */

void mem_init(uint64_t free_start, uint64_t free_end)
{
    heap_next = free_start;
    heap_end = free_end;
}

uint64_t mem_free_bytes(void)
{
    return heap_end > heap_next ? heap_end - heap_next : 0;
}

void *kalloc(size_t size, size_t align)
{
    uint64_t p;
    if (align < 8)
        align = 8;
    if (bump_place(heap_next, heap_end, size, align, &p) < 0)
        return NULL;
    heap_next = p + (size ? size : 1);
    memset((void *)(uintptr_t)p, 0, size);
    return (void *)(uintptr_t)p;
}

void mem_map_init(void)
{
    long n = hc2(HC_MEMORY_MAP, HC_PTR(chunks), MAX_CHUNKS);
    if (n < 0) {
        kprintf("dom0: %s failed: %s (%ld); DMA addresses fall back to guest-physical\n",
                hc_name(HC_MEMORY_MAP), errno_name(n), n);
        return;
    }
    chunk_count = n > MAX_CHUNKS ? MAX_CHUNKS : (unsigned)n;
}

uint64_t dma_addr(const void *p)
{
    uint64_t gpa = (uint64_t)(uintptr_t)p;
    uint64_t i = gpa >> CHUNK_SHIFT;
    if (i >= chunk_count)
        return gpa;
    return chunks[i] + (gpa & (CHUNK_SIZE - 1));
}
