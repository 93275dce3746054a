/* Grant tables (ABI: include/plinth/grant.h, model and rules:
 * docs/grants.md). The bookkeeping is hv/grant_core.c; this file adds the
 * hypercalls, the per-domain state, the copies and the second-level
 * mappings.
 *
 * Locking: one spinlock, grant_lock, guards every domain's grant state
 * (d->grant and the registry of all of them). A domain's state is
 * registered on its first grant call and leaves the registry in
 * grant_domain_destroy, which domain_destroy calls before it frees the
 * domain's vCPUs, address space and RAM. So while the lock is held, every
 * state reachable (through the registry or a mapping slot) belongs to a
 * domain whose vCPUs, address space and RAM still exist: copies and map
 * changes happen under the lock, a revoke waits for a copy in progress, and
 * a mapping is removed from the grantee's tables, flushed and waited for
 * (schedule_sync_domain) before its slot and the granter's entry are freed.
 * All changes to the grant window of any space are made under the lock.
 * Lock order: grant_lock -> frame allocator (table pages); nothing here
 * takes the registry or the scheduler's lock, and nothing allocates the
 * state itself with grant_lock held. */
#include "hv/grant.h"

#include "arch/x86/paging.h"
#include "arch/x86/spinlock.h"
#include "hv/domain.h"
#include "hv/grant_core.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "hv/schedule.h"
#include "hv/string.h"
#include "plinth/errno.h"
#include "plinth/grant.h"
#include "plinth/ioreq.h"

_Static_assert(sizeof(struct grant_domain) <= PAGE_SIZE, "the grant state is one page");
_Static_assert(GRANT_DOMID_LIMIT == DOMID_HYPERVISOR, "the core's copy of DOMID_HYPERVISOR");
_Static_assert(GRANT_MAP_BASE >= (4ull << 30) && GRANT_MAP_BASE > DOMAIN_MEM_MAX, "the window is above RAM and MMIO");
_Static_assert(GRANT_MAP_BASE + GRANT_MAP_SIZE <= (64ull << 30), "the window is below the foreign mappings");
_Static_assert(DOMAIN_CHUNK % GRANT_PAGE_SIZE == 0, "pages do not cross RAM chunks");

#define PAGES_PER_CHUNK (DOMAIN_CHUNK / GRANT_PAGE_SIZE)

static spinlock_t grant_lock = SPINLOCK_INIT;
static struct grant_registry registry;

/* Host-physical address of page gfn of d (inside its RAM: checked by the
 * core against the size it had when the state was made, which never
 * changes). */
static uint64_t page_hpa(const struct domain *d, uint32_t gfn)
{
    return d->chunk_hpa[gfn / PAGES_PER_CHUNK] + (uint64_t)(gfn % PAGES_PER_CHUNK) * GRANT_PAGE_SIZE;
}

/* d's state, created on first use; NULL when out of memory. Only for the
 * calling domain (which cannot be destroyed meanwhile). */
static struct grant_domain *state_of(struct domain *d)
{
    struct grant_domain *fresh = NULL;
    uint64_t pa = PMM_NO_FRAME;
    if (!__atomic_load_n(&d->grant, __ATOMIC_ACQUIRE)) {
        pa = mm_alloc(PMM_4K, PMM_NO_FRAME);
        if (pa == PMM_NO_FRAME)
            return NULL;
        fresh = phys_to_virt(pa);
        grant_core_init(fresh, d->id, d->mem_size, d);
    }
    uint64_t flags = spin_lock_irqsave(&grant_lock);
    if (!d->grant && fresh) {
        grant_core_register(&registry, fresh);
        __atomic_store_n(&d->grant, fresh, __ATOMIC_RELEASE);
        fresh = NULL;
    }
    struct grant_domain *g = d->grant;
    spin_unlock_irqrestore(&grant_lock, flags);
    if (fresh)
        mm_free(pa, PMM_4K); /* another vCPU of d was faster */
    return g;
}

static int64_t hc_offer(struct domain *d, uint64_t grantee, uint64_t gfn, uint64_t fl)
{
    /* argument errors first, without allocating (the core checks again) */
    if (fl & ~(uint64_t)GRANT_READONLY || grantee == 0 || grantee >= GRANT_DOMID_LIMIT || grantee == d->id)
        return -PL_EINVAL;
    if (gfn >= d->mem_size / GRANT_PAGE_SIZE)
        return -PL_EFAULT;
    struct grant_domain *g = state_of(d);
    if (!g)
        return -PL_ENOMEM;
    uint64_t flags = spin_lock_irqsave(&grant_lock);
    int rc = grant_core_offer(g, grantee, gfn, fl);
    spin_unlock_irqrestore(&grant_lock, flags);
    return rc;
}

static int64_t hc_revoke(struct domain *d, uint64_t ref)
{
    uint64_t flags = spin_lock_irqsave(&grant_lock);
    int rc = grant_core_revoke(d->grant, ref);
    spin_unlock_irqrestore(&grant_lock, flags);
    return rc;
}

static int64_t hc_status(struct domain *d, uint64_t ref)
{
    uint64_t flags = spin_lock_irqsave(&grant_lock);
    int64_t r = grant_core_status(d->grant, ref);
    spin_unlock_irqrestore(&grant_lock, flags);
    return r;
}

static int64_t hc_copy(struct domain *d, uint64_t domid, uint64_t ref, uint64_t offset, uint64_t gpa,
                       uint64_t len_flags)
{
    uint32_t len, gfn;
    bool to_grant;
    int rc = grant_core_copy_args(offset, len_flags, &len, &to_grant);
    if (rc)
        return rc;
    if (ref >= GRANT_MAX_REFS || domid == d->id)
        return -PL_EINVAL;
    if (!domain_ram_contains(d, gpa, len))
        return -PL_EFAULT;
    uint64_t flags = spin_lock_irqsave(&grant_lock);
    struct grant_domain *g = grant_core_find(&registry, domid);
    rc = grant_core_access(g, ref, d->id, to_grant, &gfn);
    if (rc == 0) {
        /* g is registered: its domain's RAM exists until we unlock */
        uint8_t *page = (uint8_t *)phys_to_virt(page_hpa(g->owner, gfn)) + offset;
        bool ok = to_grant ? domain_read(d, gpa, page, len) : domain_write(d, gpa, page, len);
        rc = ok ? (int)len : -PL_EFAULT;
    }
    spin_unlock_irqrestore(&grant_lock, flags);
    return rc;
}

/* Remove the translation of one window page of holder's space (lock held). */
static void unmap_page(struct grant_domain *holder, uint64_t gpa, void *ctx)
{
    (void)ctx;
    struct domain *h = holder->owner;
    arch_aspace_unmap(&h->as, gpa, GRANT_PAGE_SIZE);
    arch_aspace_flush(&h->as);
}

/* No vCPU of holder may still use a removed translation (lock held). */
static void sync_holder(struct grant_domain *holder, void *ctx)
{
    (void)ctx;
    schedule_sync_domain(holder->owner);
}

static int64_t hc_map(struct domain *d, uint64_t domid, uint64_t ref, uint64_t gpa, uint64_t fl)
{
    if (fl & ~(uint64_t)GRANT_MAP_READONLY || !grant_window_page(gpa) || ref >= GRANT_MAX_REFS || domid == d->id)
        return -PL_EINVAL;
    struct grant_domain *m = state_of(d);
    if (!m)
        return -PL_ENOMEM;
    uint32_t gfn;
    bool writable;
    uint64_t flags = spin_lock_irqsave(&grant_lock);
    struct grant_domain *g = grant_core_find(&registry, domid);
    int rc = grant_core_map(m, g, ref, gpa, fl, &gfn, &writable);
    if (rc >= 0) {
        unsigned slot = (unsigned)rc;
        rc = arch_aspace_map(&d->as, gpa, page_hpa(g->owner, gfn), GRANT_PAGE_SIZE,
                             ASPACE_R | (writable ? ASPACE_W : 0), MEMTYPE_WB);
        if (rc) {
            /* nothing or a partial table: take it out again */
            arch_aspace_unmap(&d->as, gpa, GRANT_PAGE_SIZE);
            arch_aspace_flush(&d->as);
            grant_core_release(m, slot);
        }
    }
    spin_unlock_irqrestore(&grant_lock, flags);
    return rc;
}

static int64_t hc_unmap(struct domain *d, uint64_t gpa)
{
    uint64_t flags = spin_lock_irqsave(&grant_lock);
    struct grant_domain *m = d->grant;
    int rc = grant_core_find_map(m, gpa);
    if (rc >= 0) {
        unmap_page(m, gpa, NULL);
        schedule_sync_domain(d); /* its other vCPUs: before the granter may revoke */
        grant_core_release(m, (unsigned)rc);
        rc = 0;
    }
    spin_unlock_irqrestore(&grant_lock, flags);
    return rc;
}

int64_t grant_hypercall(struct vcpu *v, uint64_t nr, const uint64_t *a)
{
    struct domain *d = v->dom;
    switch (nr) {
    case HC_GRANT_OFFER: return hc_offer(d, a[0], a[1], a[2]);
    case HC_GRANT_REVOKE: return hc_revoke(d, a[0]);
    case HC_GRANT_STATUS: return hc_status(d, a[0]);
    case HC_GRANT_COPY: return hc_copy(d, a[0], a[1], a[2], a[3], a[4]);
    case HC_GRANT_MAP: return hc_map(d, a[0], a[1], a[2], a[3]);
    case HC_GRANT_UNMAP: return hc_unmap(d, a[0]);
    default: return -PL_ENOSYS;
    }
}

void grant_domain_destroy(struct domain *d)
{
    uint64_t flags = spin_lock_irqsave(&grant_lock);
    struct grant_domain *g = d->grant;
    d->grant = NULL;
    unsigned torn = 0;
    if (g)
        torn = grant_core_destroy(&registry, g, unmap_page, sync_holder, NULL);
    spin_unlock_irqrestore(&grant_lock, flags);
    if (torn)
        domain_log(d, "grants: %u mapping(s) of its pages removed from their grantees", torn);
    if (g)
        mm_free(virt_to_phys_direct(g), PMM_4K);
}
