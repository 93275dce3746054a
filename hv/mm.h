/* Memory management glue: the physical frame allocator and the small-object
 * heap, locked, set up from the boot memory map. */
#ifndef HV_MM_H
#define HV_MM_H

#include <stddef.h>
#include <stdint.h>

#include "hv/mb2.h"

struct pmm;

/* Build the frame allocator from the (sanitised) boot memory map, keeping
 * out the hypervisor image, the boot information and the modules. Runs on
 * the early identity map. */
void mm_init_frames(const struct boot_info *bi, uint64_t mbi_phys);
/* After paging_init: move allocator metadata into the direct map and start
 * the heap. */
void mm_init_late(void);

struct pmm *mm_pmm(void);
/* Highest physical address of usable RAM. */
uint64_t mm_phys_limit(void);

/* Zeroed 4 KiB frame; panics when memory is exhausted (boot-time users). */
uint64_t mm_alloc_frame(void);
/* Frame of the given order below max_phys, or PMM_NO_FRAME. */
uint64_t mm_alloc(unsigned order, uint64_t max_phys);
int mm_free(uint64_t phys, unsigned order);

void *kmalloc(size_t size);
void kfree(void *p);

struct pmm_stats;
void mm_stats(struct pmm_stats *out);
/* 4 KiB frames handed out or reserved from the managed ones (leak checks). */
uint64_t mm_frames_in_use(void);
void mm_log_stats(void);

#endif
