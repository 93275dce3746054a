#include "hv/guest.h"

#include <stdarg.h>

#include "arch/x86/paging.h"
#include "hv/format.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "hv/string.h"
#include "plinth/errno.h"

static unsigned next_guest_id = 1;

void guest_log(struct guest *g, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    hv_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pr_info("dom%u(%s): %s", g->id, g->name, msg);
}

void guest_stop(struct guest *g, bool crashed, uint32_t code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    hv_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (g->state == GUEST_STOPPED)
        return;
    guest_console_flush(g); /* its last words come before the verdict */
    g->state = GUEST_STOPPED;
    g->crashed = crashed;
    g->exit_code = code;
    if (crashed)
        pr_warn("dom%u(%s): stopped: %s", g->id, g->name, msg);
    else
        pr_info("dom%u(%s): %s", g->id, g->name, msg);
}

/* Frees RAM, the chunk table and the structure. */
static void free_guest_memory(struct guest *g)
{
    for (uint64_t i = 0; i < g->mem_size / GUEST_CHUNK; i++)
        if (g->chunk_hpa[i])
            mm_free(g->chunk_hpa[i], PMM_2M);
    mm_free(virt_to_phys_direct(g->chunk_hpa), PMM_4K);
    kfree(g);
}

struct guest *guest_create(const char *name, uint64_t mem, unsigned id, char *err, size_t errlen)
{
    mem = ALIGN_UP(mem, GUEST_CHUNK);
    if (mem < GUEST_MEM_MIN || mem > GUEST_MEM_MAX) {
        hv_snprintf(err, errlen, "memory size %lu MiB is outside %llu..%llu MiB", mem >> 20, GUEST_MEM_MIN >> 20,
                    GUEST_MEM_MAX >> 20);
        return NULL;
    }
    _Static_assert(GUEST_MAX_CHUNKS * sizeof(uint64_t) == PAGE_SIZE, "chunk table is one page");
    struct guest *g = kmalloc(sizeof(*g));
    uint64_t table = mm_alloc(PMM_4K, PMM_NO_FRAME);
    if (!g || table == PMM_NO_FRAME) {
        kfree(g);
        if (table != PMM_NO_FRAME)
            mm_free(table, PMM_4K);
        hv_snprintf(err, errlen, "out of memory for the guest structure");
        return NULL;
    }
    g->chunk_hpa = phys_to_virt(table);
    memset(g->chunk_hpa, 0, PAGE_SIZE);
    g->id = id ? id : next_guest_id++;
    hv_snprintf(g->name, sizeof(g->name), "%s", name);
    g->state = GUEST_RUNNING;
    g->mem_size = mem;

    for (uint64_t i = 0; i < mem / GUEST_CHUNK; i++) {
        uint64_t pa = mm_alloc(PMM_2M, PMM_NO_FRAME);
        if (pa == PMM_NO_FRAME) {
            hv_snprintf(err, errlen, "out of memory: %lu MiB of guest RAM wanted", mem >> 20);
            free_guest_memory(g);
            return NULL;
        }
        /* Never hand a guest another tenant's (or our own) old data. */
        memset(phys_to_virt(pa), 0, GUEST_CHUNK);
        g->chunk_hpa[i] = pa;
    }

    int rc = arch_aspace_create(&g->as);
    for (uint64_t i = 0; rc == 0 && i < mem / GUEST_CHUNK; i++)
        rc = arch_aspace_map(&g->as, i * GUEST_CHUNK, g->chunk_hpa[i], GUEST_CHUNK, ASPACE_RWX, MEMTYPE_WB);
    if (rc == 0)
        rc = arch_vcpu_create(&g->vcpu, &g->as);
    if (rc) {
        hv_snprintf(err, errlen, "cannot set up the guest's address space or vCPU (error %d)", rc);
        arch_aspace_destroy(&g->as);
        free_guest_memory(g);
        return NULL;
    }
    g->vcpu.id = 0;
    return g;
}

void guest_destroy(struct guest *g)
{
    arch_vcpu_destroy(&g->vcpu);
    arch_aspace_destroy(&g->as);
    free_guest_memory(g);
}

bool guest_ram_contains(const struct guest *g, uint64_t gpa, uint64_t len)
{
    return gpa < g->mem_size && len <= g->mem_size - gpa;
}

void *guest_ram_ptr(struct guest *g, uint64_t gpa, uint64_t len)
{
    if (!guest_ram_contains(g, gpa, len) || len == 0)
        return NULL;
    uint64_t chunk = gpa / GUEST_CHUNK;
    if ((gpa + len - 1) / GUEST_CHUNK != chunk)
        return NULL;
    return (uint8_t *)phys_to_virt(g->chunk_hpa[chunk]) + (gpa % GUEST_CHUNK);
}

static bool copy(struct guest *g, uint64_t gpa, void *buf, uint64_t len, bool to_guest)
{
    if (!guest_ram_contains(g, gpa, len))
        return false;
    uint8_t *b = buf;
    while (len) {
        uint64_t n = MIN(len, GUEST_CHUNK - gpa % GUEST_CHUNK);
        uint8_t *h = guest_ram_ptr(g, gpa, n);
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

bool guest_write(struct guest *g, uint64_t gpa, const void *src, uint64_t len)
{
    return copy(g, gpa, (void *)src, len, true);
}

bool guest_read(struct guest *g, uint64_t gpa, void *dst, uint64_t len) { return copy(g, gpa, dst, len, false); }
