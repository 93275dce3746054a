#include "hv/domain.h"

#include <stdarg.h>

#include "arch/x86/paging.h"
#include "hv/devices.h"
#include "hv/format.h"
#include "hv/evtchn.h"
#include "hv/grant.h"
#include "hv/ioreq.h"
#include "hv/irq.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "hv/schedule.h"
#include "hv/string.h"
#include "plinth/errno.h"

static unsigned next_domain_id = 1;

#define REGISTRY_SIZE 64
static struct domain *registry[REGISTRY_SIZE];
static spinlock_t registry_lock = SPINLOCK_INIT;

bool domain_publish(struct domain *d)
{
    bool added = false;
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    for (unsigned i = 0; i < REGISTRY_SIZE && !added; i++)
        if (!registry[i]) {
            registry[i] = d;
            added = true;
        }
    spin_unlock_irqrestore(&registry_lock, flags);
    return added;
}

unsigned domain_next_id(unsigned after)
{
    unsigned best = 0;
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    for (unsigned i = 0; i < REGISTRY_SIZE; i++)
        if (registry[i] && registry[i]->id > after && (best == 0 || registry[i]->id < best))
            best = registry[i]->id;
    spin_unlock_irqrestore(&registry_lock, flags);
    return best;
}

void domain_for_each(void (*fn)(struct domain *d, void *arg), void *arg)
{
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    for (unsigned i = 0; i < REGISTRY_SIZE; i++)
        if (registry[i])
            fn(registry[i], arg);
    spin_unlock_irqrestore(&registry_lock, flags);
}

unsigned domain_count(void)
{
    unsigned n = 0;
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    for (unsigned i = 0; i < REGISTRY_SIZE; i++)
        n += registry[i] != NULL;
    spin_unlock_irqrestore(&registry_lock, flags);
    return n;
}

static void registry_remove(struct domain *d)
{
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    for (unsigned i = 0; i < REGISTRY_SIZE; i++)
        if (registry[i] == d)
            registry[i] = NULL;
    spin_unlock_irqrestore(&registry_lock, flags);
}

int domain_with(unsigned id, int (*fn)(struct domain *d, void *arg), void *arg)
{
    int rc = -PL_ENOENT;
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    for (unsigned i = 0; i < REGISTRY_SIZE; i++)
        if (registry[i] && registry[i]->id == id) {
            rc = fn(registry[i], arg);
            break;
        }
    spin_unlock_irqrestore(&registry_lock, flags);
    return rc;
}

void domain_log(struct domain *d, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    hv_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pr_info("dom%u(%s): %s", d->id, d->name, msg);
}

void domain_stop(struct domain *d, bool crashed, uint32_t code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    hv_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    uint64_t flags = spin_lock_irqsave(&d->lock);
    if (d->state == DOMAIN_STOPPED) {
        spin_unlock_irqrestore(&d->lock, flags);
        return; /* another vCPU got there first */
    }
    domain_console_flush(d); /* its last words come before the verdict */
    d->state = DOMAIN_STOPPED;
    d->crashed = crashed;
    d->exit_code = code;
    spin_unlock_irqrestore(&d->lock, flags);
    if (crashed)
        pr_warn("dom%u(%s): stopped: %s", d->id, d->name, msg);
    else
        pr_info("dom%u(%s): %s", d->id, d->name, msg);
    /* Its other vCPUs leave their CPUs at their next exit: make it soon.
     * Then the housekeeping CPU frees it. */
    if (d->vcpu_count > 1)
        schedule_kick_all();
    schedule_request_housekeeping();
}

/* Frees RAM, the chunk table and the structure. */
static void free_domain_memory(struct domain *d)
{
    for (uint64_t i = 0; i < d->mem_size / DOMAIN_CHUNK; i++)
        if (d->chunk_hpa[i])
            mm_free(d->chunk_hpa[i], PMM_2M);
    mm_free(virt_to_phys_direct(d->chunk_hpa), PMM_4K);
    mm_free(virt_to_phys_direct(d->conring.buf), PMM_4K);
    kfree(d);
}

struct domain *domain_create(const char *name, uint64_t mem, unsigned id, char *err, size_t errlen)
{
    mem = ALIGN_UP(mem, DOMAIN_CHUNK);
    if (mem < DOMAIN_MEM_MIN || mem > DOMAIN_MEM_MAX) {
        hv_snprintf(err, errlen, "memory size %lu MiB is outside %llu..%llu MiB", mem >> 20, DOMAIN_MEM_MIN >> 20,
                    DOMAIN_MEM_MAX >> 20);
        return NULL;
    }
    _Static_assert(DOMAIN_MAX_CHUNKS * sizeof(uint64_t) == PAGE_SIZE, "chunk table is one page");
    struct domain *d = kmalloc(sizeof(*d));
    uint64_t table = mm_alloc(PMM_4K, PMM_NO_FRAME);
    uint64_t conring = mm_alloc(PMM_4K, PMM_NO_FRAME);
    _Static_assert(DOMAIN_CONRING_SIZE == PAGE_SIZE, "console ring is one page");
    if (!d || table == PMM_NO_FRAME || conring == PMM_NO_FRAME) {
        kfree(d);
        if (table != PMM_NO_FRAME)
            mm_free(table, PMM_4K);
        if (conring != PMM_NO_FRAME)
            mm_free(conring, PMM_4K);
        hv_snprintf(err, errlen, "out of memory for the guest structure");
        return NULL;
    }
    d->chunk_hpa = phys_to_virt(table);
    memset(d->chunk_hpa, 0, PAGE_SIZE);
    logring_init(&d->conring, phys_to_virt(conring), DOMAIN_CONRING_SIZE);
    d->uart_rx = -1;
    d->id = id ? id : __atomic_fetch_add(&next_domain_id, 1, __ATOMIC_RELAXED);
    hv_snprintf(d->name, sizeof(d->name), "%s", name);
    d->state = DOMAIN_RUNNING;
    d->mem_size = mem;

    for (uint64_t i = 0; i < mem / DOMAIN_CHUNK; i++) {
        uint64_t pa = mm_alloc(PMM_2M, PMM_NO_FRAME);
        if (pa == PMM_NO_FRAME) {
            hv_snprintf(err, errlen, "out of memory: %lu MiB of guest RAM wanted", mem >> 20);
            free_domain_memory(d);
            return NULL;
        }
        /* Never hand a guest another tenant's (or our own) old data. */
        memset(phys_to_virt(pa), 0, DOMAIN_CHUNK);
        d->chunk_hpa[i] = pa;
    }

    int rc = arch_aspace_create(&d->as);
    for (uint64_t i = 0; rc == 0 && i < mem / DOMAIN_CHUNK; i++)
        rc = arch_aspace_map(&d->as, i * DOMAIN_CHUNK, d->chunk_hpa[i], DOMAIN_CHUNK, ASPACE_RWX, MEMTYPE_WB);
    if (rc == 0)
        rc = domain_add_vcpu(d) ? 0 : -PL_ENOMEM;
    if (rc) {
        hv_snprintf(err, errlen, "cannot set up the guest's address space or vCPU (error %d)", rc);
        domain_destroy(d);
        return NULL;
    }
    return d;
}

struct vcpu *domain_add_vcpu(struct domain *d)
{
    if (d->vcpu_count == DOMAIN_MAX_VCPUS)
        return NULL;
    struct vcpu *v = kmalloc(sizeof(*v));
    if (!v)
        return NULL;
    v->id = d->vcpu_count;
    v->dom = d;
    if (arch_vcpu_create(v, &d->as)) {
        kfree(v);
        return NULL;
    }
    arch_vcpu_put(v); /* created here, but it may be set up and run anywhere */
    d->vcpus[d->vcpu_count++] = v;
    return v;
}

void domain_destroy(struct domain *d)
{
    registry_remove(d); /* first: nobody may find it while it goes */
    irq_release_domain(d);
    ioreq_domain_destroy(d); /* before its RAM goes: nobody maps it any more */
    evtchn_domain_destroy(d);
    grant_domain_destroy(d); /* before its RAM goes: grantees' mappings of its pages are removed */
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        arch_vcpu_destroy(d->vcpus[i]);
        kfree(d->vcpus[i]->ioreq_insn);
        kfree(d->vcpus[i]->fetch_memo);
        kfree(d->vcpus[i]);
    }
    if (d->io_perm)
        devices_detach(d);
    if (d->as.root)
        arch_aspace_destroy(&d->as);
    free_domain_memory(d);
}

bool domain_ram_contains(const struct domain *d, uint64_t gpa, uint64_t len)
{
    return gpa < d->mem_size && len <= d->mem_size - gpa;
}

void *domain_ram_ptr(struct domain *d, uint64_t gpa, uint64_t len)
{
    if (!domain_ram_contains(d, gpa, len) || len == 0)
        return NULL;
    uint64_t chunk = gpa / DOMAIN_CHUNK;
    if ((gpa + len - 1) / DOMAIN_CHUNK != chunk)
        return NULL;
    return (uint8_t *)phys_to_virt(d->chunk_hpa[chunk]) + (gpa % DOMAIN_CHUNK);
}

static bool copy(struct domain *d, uint64_t gpa, void *buf, uint64_t len, bool to_guest)
{
    if (!domain_ram_contains(d, gpa, len))
        return false;
    uint8_t *b = buf;
    while (len) {
        uint64_t n = MIN(len, DOMAIN_CHUNK - gpa % DOMAIN_CHUNK);
        uint8_t *h = domain_ram_ptr(d, gpa, n);
        if (to_guest)
            memcpy(h, b, n);
        else
            memcpy(b, h, n);
        gpa += n;
        b += n;
        len -= n;
    }
    return true;
}

bool domain_write(struct domain *d, uint64_t gpa, const void *src, uint64_t len)
{
    return copy(d, gpa, (void *)src, len, true);
}

bool domain_read(struct domain *d, uint64_t gpa, void *dst, uint64_t len) { return copy(d, gpa, dst, len, false); }
