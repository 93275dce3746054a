/* Grant tables: entries, mapping slots and the teardown rules (see
 * hv/grant_core.h). Pure: compiles for the hypervisor and the host. */
#include "hv/grant_core.h"

#include <stddef.h>

#include "plinth/errno.h"

#define GRANT_ENTRY_FLAGS (GRANT_VALID | GRANT_READONLY | GRANT_MAPPED)
#define MAX_LEN_FLAGS (GRANT_COPY_TO_GRANT | 0xFFFFFFFFull)

_Static_assert(GRANT_MAX_MAPS < 512, "fewer mappings than a 2 MiB table holds: the window never merges into "
                                     "large pages, so unmapping one page never splits (allocates)");

void grant_core_init(struct grant_domain *g, uint32_t domid, uint64_t ram_bytes, void *owner)
{
    g->domid = domid;
    uint64_t pages = ram_bytes / GRANT_PAGE_SIZE;
    g->ram_pages = pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
    g->owner = owner;
    g->next = NULL;
    for (unsigned i = 0; i < GRANT_MAX_REFS; i++)
        g->entries[i] = (struct grant_entry){ 0 };
    for (unsigned i = 0; i < GRANT_MAX_MAPS; i++)
        g->maps[i] = (struct grant_map){ 0 };
}

void grant_core_register(struct grant_registry *r, struct grant_domain *g)
{
    g->next = r->head;
    r->head = g;
}

struct grant_domain *grant_core_find(const struct grant_registry *r, uint64_t domid)
{
    for (struct grant_domain *g = r->head; g; g = g->next)
        if (g->domid == domid)
            return g;
    return NULL;
}

int grant_core_offer(struct grant_domain *g, uint64_t grantee, uint64_t gfn, uint64_t flags)
{
    if (flags & ~(uint64_t)GRANT_READONLY)
        return -PL_EINVAL;
    if (grantee == 0 || grantee >= GRANT_DOMID_LIMIT || grantee == g->domid)
        return -PL_EINVAL;
    if (gfn >= g->ram_pages)
        return -PL_EFAULT;
    for (unsigned i = 0; i < GRANT_MAX_REFS; i++) {
        struct grant_entry *e = &g->entries[i];
        if (e->flags & GRANT_VALID)
            continue;
        e->gfn = (uint32_t)gfn;
        e->grantee = (uint32_t)grantee;
        e->flags = GRANT_VALID | (uint32_t)flags;
        return (int)i;
    }
    return -PL_ENOSPC;
}

int grant_core_revoke(struct grant_domain *g, uint64_t ref)
{
    if (ref >= GRANT_MAX_REFS)
        return -PL_EINVAL;
    if (!g || !(g->entries[ref].flags & GRANT_VALID))
        return -PL_ENOENT;
    if (g->entries[ref].flags & GRANT_MAPPED)
        return -PL_EBUSY;
    g->entries[ref] = (struct grant_entry){ 0 };
    return 0;
}

int64_t grant_core_status(const struct grant_domain *g, uint64_t ref)
{
    if (ref >= GRANT_MAX_REFS)
        return -PL_EINVAL;
    if (!g || !(g->entries[ref].flags & GRANT_VALID))
        return 0;
    const struct grant_entry *e = &g->entries[ref];
    return (int64_t)((e->flags & GRANT_ENTRY_FLAGS) | (uint64_t)e->grantee << 32);
}

int grant_core_copy_args(uint64_t offset, uint64_t len_flags, uint32_t *len, bool *to_grant)
{
    if (len_flags & ~MAX_LEN_FLAGS)
        return -PL_EINVAL;
    uint64_t n = len_flags & 0xFFFFFFFFull;
    if (n == 0 || n > GRANT_PAGE_SIZE || offset >= GRANT_PAGE_SIZE || n > GRANT_PAGE_SIZE - offset)
        return -PL_EINVAL;
    *len = (uint32_t)n;
    *to_grant = (len_flags & GRANT_COPY_TO_GRANT) != 0;
    return 0;
}

int grant_core_access(const struct grant_domain *g, uint64_t ref, uint32_t caller, bool write, uint32_t *gfn)
{
    if (ref >= GRANT_MAX_REFS)
        return -PL_EINVAL;
    if (!g)
        return -PL_ESRCH;
    const struct grant_entry *e = &g->entries[ref];
    if (!(e->flags & GRANT_VALID))
        return -PL_ENOENT;
    if (e->grantee != caller || (write && (e->flags & GRANT_READONLY)))
        return -PL_EPERM;
    if (e->gfn >= g->ram_pages)
        return -PL_EFAULT; /* cannot happen: checked when offered */
    *gfn = e->gfn;
    return 0;
}

int grant_core_map(struct grant_domain *m, struct grant_domain *g, uint64_t ref, uint64_t gpa, uint64_t flags,
                   uint32_t *gfn, bool *writable)
{
    if (flags & ~(uint64_t)GRANT_MAP_READONLY)
        return -PL_EINVAL;
    if (!grant_window_page(gpa))
        return -PL_EINVAL;
    if (g == m)
        return -PL_EINVAL; /* nobody grants to itself */
    bool want_write = !(flags & GRANT_MAP_READONLY);
    int rc = grant_core_access(g, ref, m->domid, want_write, gfn);
    if (rc)
        return rc;
    if (g->entries[ref].flags & GRANT_MAPPED)
        return -PL_EBUSY;
    int slot = -1;
    for (unsigned i = 0; i < GRANT_MAX_MAPS; i++) {
        if (m->maps[i].gpa == gpa)
            return -PL_EEXIST;
        if (!m->maps[i].gpa && slot < 0)
            slot = (int)i;
    }
    if (slot < 0)
        return -PL_ENOSPC;
    g->entries[ref].flags |= GRANT_MAPPED;
    m->maps[slot] = (struct grant_map){ .gpa = gpa, .granter = g, .ref = (uint32_t)ref, .writable = want_write };
    *writable = want_write;
    return slot;
}

int grant_core_find_map(const struct grant_domain *m, uint64_t gpa)
{
    if (!grant_window_page(gpa))
        return -PL_EINVAL;
    for (unsigned i = 0; m && i < GRANT_MAX_MAPS; i++)
        if (m->maps[i].gpa == gpa)
            return (int)i;
    return -PL_ENOENT;
}

void grant_core_release(struct grant_domain *m, unsigned slot)
{
    struct grant_map *s = &m->maps[slot];
    if (s->gpa && s->granter)
        s->granter->entries[s->ref].flags &= ~(uint32_t)GRANT_MAPPED;
    *s = (struct grant_map){ 0 };
}

unsigned grant_core_destroy(struct grant_registry *r, struct grant_domain *g, grant_unmap_fn unmap,
                            grant_sync_fn sync, void *ctx)
{
    unsigned torn = 0;
    /* Others' mappings of g's pages: out of their spaces, then forgotten. */
    for (struct grant_domain *h = r->head; h; h = h->next) {
        if (h == g)
            continue;
        unsigned here = 0;
        for (unsigned i = 0; i < GRANT_MAX_MAPS; i++) {
            struct grant_map *s = &h->maps[i];
            if (!s->gpa || s->granter != g)
                continue;
            if (unmap)
                unmap(h, s->gpa, ctx);
            *s = (struct grant_map){ 0 };
            here++;
        }
        if (here && sync)
            sync(h, ctx);
        torn += here;
    }
    /* g's own mappings of others' pages. */
    for (unsigned i = 0; i < GRANT_MAX_MAPS; i++) {
        if (!g->maps[i].gpa)
            continue;
        if (unmap)
            unmap(g, g->maps[i].gpa, ctx);
        grant_core_release(g, i);
    }
    for (unsigned i = 0; i < GRANT_MAX_REFS; i++)
        g->entries[i] = (struct grant_entry){ 0 };
    for (struct grant_domain **p = &r->head; *p; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            break;
        }
    g->next = NULL;
    return torn;
}
