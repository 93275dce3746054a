/* Grant tables: the pure bookkeeping (no locks, no domains, no address
 * spaces), shared by the hypervisor (hv/grant.c) and the host unit tests
 * (tests/unit/test_grant.c). ABI: include/plinth/grant.h, docs/grants.md.
 *
 * Every function here must be called with the one grant lock held
 * (hv/grant.c). A grantee's mapping slot points at the granter's table;
 * grant_core_destroy removes every such pointer (on both sides, through the
 * registry of all tables) before a table may be freed, so no table is
 * reachable from another one after it was destroyed. */
#ifndef HV_GRANT_CORE_H
#define HV_GRANT_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "plinth/grant.h"

/* DOMID_HYPERVISOR as in include/plinth/ioreq.h: no grantee id at or above. */
#define GRANT_DOMID_LIMIT 0x7FF0u

/* Entry flags (as in HC_GRANT_STATUS: GRANT_READONLY, GRANT_VALID,
 * GRANT_MAPPED). */
struct grant_entry {
    uint32_t gfn;                 /* the granter's page frame (RAM is 1 GiB at most) */
    uint32_t grantee;             /* the only domain that may use it */
    uint32_t flags;               /* GRANT_VALID | GRANT_READONLY | GRANT_MAPPED */
};

struct grant_domain;

/* A mapping the domain holds of another domain's granted page. */
struct grant_map {
    uint64_t gpa;                 /* where, in the grant window; 0: free slot */
    struct grant_domain *granter; /* whose page (its table lives while this is set) */
    uint32_t ref;
    bool writable;
};

/* The grant state of one domain (d->grant): its offers and its mappings. */
struct grant_domain {
    uint32_t domid;
    uint32_t ram_pages;           /* its RAM, in 4 KiB pages (for OFFER's gfn) */
    void *owner;                  /* the struct domain (hv/grant.c), opaque here */
    struct grant_domain *next;    /* the registry list */
    struct grant_entry entries[GRANT_MAX_REFS];
    struct grant_map maps[GRANT_MAX_MAPS];
};

/* All tables, by domain id (one per live domain at most). */
struct grant_registry {
    struct grant_domain *head;
};

void grant_core_init(struct grant_domain *g, uint32_t domid, uint64_t ram_bytes, void *owner);
void grant_core_register(struct grant_registry *r, struct grant_domain *g);
/* The table of domid, or NULL. */
struct grant_domain *grant_core_find(const struct grant_registry *r, uint64_t domid);

/* Whether [gpa, gpa + 4 KiB) is a page of the grant window. */
static inline bool grant_window_page(uint64_t gpa)
{
    return gpa % GRANT_PAGE_SIZE == 0 && gpa >= GRANT_MAP_BASE && gpa - GRANT_MAP_BASE < GRANT_MAP_SIZE;
}

/* HC_GRANT_OFFER: the new ref, or -PL_EINVAL (flags, grantee), -PL_EFAULT
 * (gfn outside RAM), -PL_ENOSPC. */
int grant_core_offer(struct grant_domain *g, uint64_t grantee, uint64_t gfn, uint64_t flags);
/* HC_GRANT_REVOKE: 0, -PL_EINVAL, -PL_ENOENT, -PL_EBUSY (mapped). g may be
 * NULL (nothing offered). */
int grant_core_revoke(struct grant_domain *g, uint64_t ref);
/* HC_GRANT_STATUS: 0 for a free entry, else flags | grantee << 32; or
 * -PL_EINVAL. g may be NULL. */
int64_t grant_core_status(const struct grant_domain *g, uint64_t ref);
/* Check the grantee-side arguments of HC_GRANT_COPY: 0 with *len and
 * *to_grant set, or -PL_EINVAL (offset, length, unknown bits). */
int grant_core_copy_args(uint64_t offset, uint64_t len_flags, uint32_t *len, bool *to_grant);
/* May domain `caller` use ref of granter g (for writing, when write)? 0
 * with *gfn set, or -PL_EINVAL (ref out of range), -PL_ESRCH (g NULL),
 * -PL_ENOENT (not in use), -PL_EPERM (another grantee, or a write to a
 * read-only grant). */
int grant_core_access(const struct grant_domain *g, uint64_t ref, uint32_t caller, bool write, uint32_t *gfn);
/* HC_GRANT_MAP bookkeeping: reserve a slot of mapper m for (g, ref) at gpa.
 * The slot index with *gfn and *writable set (the caller then maps the
 * page; if that fails it calls grant_core_release), or -PL_EINVAL (flags,
 * gpa, ref range), -PL_ESRCH (g NULL), -PL_ENOENT, -PL_EPERM, -PL_EBUSY (that
 * grant is mapped already), -PL_EEXIST (a mapping at gpa), -PL_ENOSPC. */
int grant_core_map(struct grant_domain *m, struct grant_domain *g, uint64_t ref, uint64_t gpa, uint64_t flags,
                   uint32_t *gfn, bool *writable);
/* HC_GRANT_UNMAP lookup: the slot of m mapped at gpa, or -PL_EINVAL (not a
 * window page), -PL_ENOENT. m may be NULL. */
int grant_core_find_map(const struct grant_domain *m, uint64_t gpa);
/* Free slot `slot` of m after its translation is gone: the granter's entry
 * is no longer mapped. */
void grant_core_release(struct grant_domain *m, unsigned slot);

/* Called (lock held) to remove holder's translation at gpa. */
typedef void (*grant_unmap_fn)(struct grant_domain *holder, uint64_t gpa, void *ctx);
/* Called once per holder after its translations were removed (make sure
 * no vCPU of it still uses them). */
typedef void (*grant_sync_fn)(struct grant_domain *holder, void *ctx);
/* Domain g is going away. Every mapping of g's pages held by another table
 * is removed (unmap for each, then sync once per holder) and its slot
 * freed; g's own mappings are removed (unmap, no sync: its vCPUs are
 * gone) and the granters' entries no longer mapped; g leaves the registry.
 * Afterwards no table points at g. Returns the number of mappings of g's
 * pages that were torn down. */
unsigned grant_core_destroy(struct grant_registry *r, struct grant_domain *g, grant_unmap_fn unmap,
                            grant_sync_fn sync, void *ctx);

#endif
