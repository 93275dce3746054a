/* Guest-physical address spaces (second-level translation): EPT on VT-x,
 * NPT on AMD-V, behind one interface. The core passes permissions and
 * memory types; it never sees an entry format. */
#ifndef HV_ASPACE_H
#define HV_ASPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/spinlock.h"

#define ASPACE_R 1u
#define ASPACE_W 2u
#define ASPACE_X 4u
#define ASPACE_RWX (ASPACE_R | ASPACE_W | ASPACE_X)

/* Memory types, encoded as in the PAT / EPT memory-type field (SDM Vol. 3A
 * 11.12.3, 28.3.7). */
enum mem_cache_type { MEMTYPE_UC = 0, MEMTYPE_WC = 1, MEMTYPE_WT = 4, MEMTYPE_WP = 5, MEMTYPE_WB = 6 };

struct aspace {
    spinlock_t lock;          /* updates of one space from several CPUs (a domain's
                                 vCPUs, dom0's mappings of it) are serialised */
    uint64_t root;            /* physical address of the top-level table */
    uint64_t generation;      /* bumped when translations shrink */
    uint64_t tables;          /* table pages held */
    void *arch;               /* backend-private */
};

int arch_aspace_create(struct aspace *as);
void arch_aspace_destroy(struct aspace *as);
/* Map [gpa, gpa+len) to [hpa, hpa+len), 4 KiB aligned; the largest pages
 * alignment allows (4 KiB, 2 MiB, 1 GiB where supported) are used; existing
 * translations are replaced. 0, -PL_EINVAL or -PL_ENOMEM. */
int arch_aspace_map(struct aspace *as, uint64_t gpa, uint64_t hpa, uint64_t len, unsigned perms,
                    enum mem_cache_type type);
int arch_aspace_unmap(struct aspace *as, uint64_t gpa, uint64_t len);
/* Change permissions of mapped pages in the range (holes are skipped). */
int arch_aspace_protect(struct aspace *as, uint64_t gpa, uint64_t len, unsigned perms);
bool arch_aspace_lookup(const struct aspace *as, uint64_t gpa, uint64_t *hpa, unsigned *perms, uint64_t *page_size);
/* Make every CPU drop stale translations of this space (INVEPT / ASID
 * flush) before it next runs one of its vCPUs. */
void arch_aspace_flush(struct aspace *as);

#endif
