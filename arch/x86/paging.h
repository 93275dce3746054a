/* The hypervisor's own address space.
 *
 *   0xFFFF800000000000  direct map of physical memory (RW, NX)
 *   0xFFFFC00000000000  device MMIO mappings (ioremap, uncached)
 *   0xFFFFFE0000000000  per-CPU stacks, each between unmapped guard pages
 *   0xFFFFFFFF80000000  the hypervisor image (text RX, rodata R, data RW+NX)
 */
#ifndef ARCH_X86_PAGING_H
#define ARCH_X86_PAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIRECT_MAP_BASE 0xFFFF800000000000ull
#define DIRECT_MAP_MAX (64ull << 40)
#define IOREMAP_BASE 0xFFFFC00000000000ull
#define IOREMAP_SIZE (1ull << 30)
#define STACK_AREA_BASE 0xFFFFFE0000000000ull
#define STACK_AREA_SIZE (1ull << 30)
#define KERNEL_VMA 0xFFFFFFFF80000000ull
#define PAGE_SIZE 4096ull

struct pmm;

/* Build the final tables (direct map up to direct_map_limit, the image
 * with per-section permissions) and switch to them. Table pages come from
 * pmm below 4 GiB (APs load CR3 in 32-bit mode). */
void paging_init(struct pmm *pmm, uint64_t direct_map_limit);
bool paging_ready(void);
uint64_t paging_root(void);

static inline void *phys_to_virt(uint64_t pa) { return (void *)(pa + DIRECT_MAP_BASE); }
static inline uint64_t virt_to_phys_direct(const void *va) { return (uint64_t)va - DIRECT_MAP_BASE; }
uint64_t kernel_virt_to_phys(const void *va);

/* Uncached mapping of device registers; NULL when the area is exhausted. */
void *ioremap(uint64_t phys, uint64_t len);
/* Fresh zeroed stack of pages*4 KiB with a guard page below; returns its top. */
uint64_t stack_alloc(unsigned pages);
/* Identity map one page executable (AP start-up) and remove it again. */
void paging_map_identity(uint64_t phys);
void paging_unmap_identity(uint64_t phys);

#endif
