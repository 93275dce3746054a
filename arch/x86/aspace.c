/* Guest-physical address spaces on the page-table builder: Intel EPT or
 * AMD NPT tables, whichever aspace_set_format() chose for this CPU. Table
 * pages come from the frame allocator and are reached through the direct
 * map. Each space has a lock: map, unmap, protect and lookup may come from
 * any CPU (a domain's vCPUs faulting in device pages, dom0 mapping grants
 * or a foreign domain). */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeature.h"
#include "arch/x86/pagetable.h"
#include "arch/x86/paging.h"
#include "arch/x86/virt.h"
#include "hv/aspace.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "hv/string.h"
#include "plinth/errno.h"

/* IA32_VMX_EPT_VPID_CAP, SDM Vol. 3D appendix A.10 */
#define MSR_VMX_EPT_VPID_CAP 0x48C
#define EPT_CAP_EXEC_ONLY (1ull << 0)
#define EPT_CAP_2M (1ull << 16)
#define EPT_CAP_1G (1ull << 17)

/* The core's permissions and memory types are the builder's flags. */
_Static_assert(ASPACE_R == PT_PERM_R && ASPACE_W == PT_PERM_W && ASPACE_X == PT_PERM_X, "permission bits");
_Static_assert(MEMTYPE_UC == PT_MT_UC && MEMTYPE_WC == PT_MT_WC && MEMTYPE_WT == PT_MT_WT &&
                   MEMTYPE_WP == PT_MT_WP && MEMTYPE_WB == PT_MT_WB,
               "memory-type encodings");

/* Set once at boot by the virtualization backend, before any space exists. */
static bool format_chosen;
static enum aspace_format chosen;
static bool allow_1g, no_2m, exec_only;
static uint64_t nx_mask;

void aspace_set_format(enum aspace_format f)
{
    chosen = f;
    format_chosen = true;
    if (f == ASPACE_FORMAT_EPT) {
        uint64_t cap = rdmsr(MSR_VMX_EPT_VPID_CAP);
        no_2m = !(cap & EPT_CAP_2M);
        /* a 1 GiB page split into 2 MiB leaves needs both */
        allow_1g = cpu_features.page_1g && (cap & EPT_CAP_1G) && !no_2m;
        exec_only = (cap & EPT_CAP_EXEC_ONLY) != 0;
        nx_mask = 0;
    } else {
        /* Long-mode nested tables always allow 2 MiB pages; bit 63 is NX
         * only while the host's EFER.NXE is on, and reserved otherwise (APM
         * Vol. 2 15.25). */
        allow_1g = cpu_features.page_1g;
        no_2m = false;
        exec_only = false;
        nx_mask = (rdmsr(MSR_EFER) & EFER_NXE) ? PTE_NX : 0;
    }
}

static struct pt *space_pt(const struct aspace *as) { return as->arch; }

static uint64_t table_alloc(void *ctx)
{
    (void)ctx;
    /* not mm_alloc_frame(): running out must fail the map, not panic */
    uint64_t pa = mm_alloc(PMM_4K, PMM_NO_FRAME);
    if (pa == PMM_NO_FRAME)
        return 0; /* frame 0 is never handed out, so 0 is free to mean none */
    memset(phys_to_virt(pa), 0, PAGE_SIZE);
    return pa;
}

static void table_free(void *ctx, uint64_t phys)
{
    (void)ctx;
    mm_free(phys, PMM_4K);
}

static uint64_t *table_ptr(void *ctx, uint64_t phys)
{
    (void)ctx;
    return phys_to_virt(phys);
}

/* The builder calls this whenever a translation shrank or a table is about
 * to be freed; the backends do the INVEPT / ASID flush before the next
 * entry, so any range means the whole space. */
static void table_flush(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)gpa;
    (void)len;
    arch_aspace_flush(ctx);
}

int arch_aspace_create(struct aspace *as)
{
    as->lock = (spinlock_t)SPINLOCK_INIT;
    as->root = 0;
    as->tables = 0;
    as->arch = NULL;
    /* Starts at 1 so that a vCPU whose flushed generation starts at 0
     * flushes first: a root page may be reused from a destroyed space
     * whose translations are still cached under the same EPTP or ASID. */
    as->generation = 1;
    if (!format_chosen)
        return -PL_ENOSYS;
    struct pt *pt = kmalloc(sizeof(*pt));
    if (!pt)
        return -PL_ENOMEM;
    struct pt_ops ops = {
        .alloc_table = table_alloc,
        .free_table = table_free,
        .table_ptr = table_ptr,
        .flush = table_flush,
        .ctx = as,
        .allow_1g = allow_1g,
        .nx_mask = nx_mask,
        .format = chosen == ASPACE_FORMAT_EPT ? PT_FORMAT_EPT : PT_FORMAT_NPT,
        .merge = true,
        .no_2m = no_2m,
        .exec_only = exec_only,
    };
    int rc = pt_init(pt, &ops);
    if (rc) {
        kfree(pt);
        return rc;
    }
    as->root = pt->root;
    as->tables = pt->tables;
    as->arch = pt;
    return 0;
}

void arch_aspace_destroy(struct aspace *as)
{
    struct pt *pt = space_pt(as);
    if (!pt)
        return;
    pt_destroy(pt);
    kfree(pt);
    as->arch = NULL;
    as->root = 0;
    as->tables = 0;
}

static bool valid_perms(unsigned perms) { return perms != 0 && (perms & ~ASPACE_RWX) == 0; }

int arch_aspace_map(struct aspace *as, uint64_t gpa, uint64_t hpa, uint64_t len, unsigned perms,
                    enum mem_cache_type type)
{
    struct pt *pt = space_pt(as);
    if (!pt || !valid_perms(perms))
        return -PL_EINVAL;
    /* NPT with the host's PAT can express WB, WT and UC only (see
     * pagetable.c); UC is a correct, if slower, stand-in for the weaker
     * orderings of WC and WP, so the core need not know the format. */
    if (chosen == ASPACE_FORMAT_NPT && (type == MEMTYPE_WC || type == MEMTYPE_WP))
        type = MEMTYPE_UC;
    /* Address bits at or above MAXPHYADDR are reserved in EPT and NPT
     * entries: the guest would take misconfiguration or reserved-bit
     * exits instead of this mapping (SDM Vol. 3C 29.3.3.1). */
    uint64_t limit = 1ull << (cpu_features.phys_addr_bits ? cpu_features.phys_addr_bits : 52);
    if (len > limit || hpa > limit - len)
        return -PL_EINVAL;
    uint64_t flags = spin_lock_irqsave(&as->lock);
    int rc = pt_map(pt, gpa, hpa, len, perms | PT_MEMTYPE(type));
    as->tables = pt->tables;
    spin_unlock_irqrestore(&as->lock, flags);
    return rc;
}

int arch_aspace_unmap(struct aspace *as, uint64_t gpa, uint64_t len)
{
    struct pt *pt = space_pt(as);
    if (!pt)
        return -PL_EINVAL;
    uint64_t flags = spin_lock_irqsave(&as->lock);
    int rc = pt_unmap(pt, gpa, len);
    as->tables = pt->tables;
    spin_unlock_irqrestore(&as->lock, flags);
    return rc;
}

int arch_aspace_protect(struct aspace *as, uint64_t gpa, uint64_t len, unsigned perms)
{
    struct pt *pt = space_pt(as);
    if (!pt || !valid_perms(perms))
        return -PL_EINVAL;
    uint64_t flags = spin_lock_irqsave(&as->lock);
    int rc = pt_protect(pt, gpa, len, perms);
    as->tables = pt->tables;
    spin_unlock_irqrestore(&as->lock, flags);
    return rc;
}

bool arch_aspace_lookup(const struct aspace *as, uint64_t gpa, uint64_t *hpa, unsigned *perms, uint64_t *page_size)
{
    const struct pt *pt = space_pt(as);
    uint64_t pa, flags, size;
    if (!pt)
        return false;
    uint64_t irqf = spin_lock_irqsave((spinlock_t *)&as->lock);
    bool found = pt_lookup(pt, gpa, &pa, &flags, &size);
    spin_unlock_irqrestore((spinlock_t *)&as->lock, irqf);
    if (!found)
        return false;
    if (hpa)
        *hpa = pa;
    if (perms)
        *perms = (unsigned)(flags & ASPACE_RWX);
    if (page_size)
        *page_size = size;
    return true;
}

void arch_aspace_flush(struct aspace *as)
{
    /* read by the backends on other CPUs before they enter a guest */
    __atomic_add_fetch(&as->generation, 1, __ATOMIC_RELEASE);
}
