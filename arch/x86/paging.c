#include "arch/x86/paging.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpufeature.h"
#include "arch/x86/pagetable.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/panic.h"
#include "hv/pmm.h"
#include "hv/string.h"

extern char __image_start[], __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[];
extern uint32_t boot_nx_enabled;

#define FOUR_GIB (4ull << 30)
#define CR4_PGE (1ull << 7)
/* Above this many pages a full CR3 reload is cheaper than invlpg each. */
#define FLUSH_PAGES_MAX 64

static struct pt kernel_pt;
static bool ready;
static uint64_t ioremap_next = IOREMAP_BASE;
static uint64_t stack_next = STACK_AREA_BASE;

bool paging_ready(void) { return ready; }
uint64_t paging_root(void) { return kernel_pt.root; }

uint64_t kernel_virt_to_phys(const void *va) { return (uint64_t)va - KERNEL_VMA; }

static uint64_t table_alloc(void *ctx)
{
    /* Every table page below 4 GiB: while the early tables are active only
     * that much is reachable, and APs load CR3 with a 32-bit mov. */
    uint64_t pa = pmm_alloc((struct pmm *)ctx, PMM_4K, FOUR_GIB);
    if (pa == PMM_NO_FRAME)
        return 0;
    memset(ready ? phys_to_virt(pa) : (void *)pa, 0, PAGE_SIZE);
    return pa;
}

static void table_free(void *ctx, uint64_t pa) { pmm_free((struct pmm *)ctx, pa, PMM_4K); }

static uint64_t *table_ptr(void *ctx, uint64_t pa)
{
    (void)ctx;
    return ready ? phys_to_virt(pa) : (uint64_t *)pa;
}

static void tlb_flush(void *ctx, uint64_t va, uint64_t len)
{
    (void)ctx;
    if (!ready)
        return;
    /* Local CPU only: the boot-time changes made after APs start touch
     * mappings no AP uses; cross-CPU shootdown arrives with guest memory. */
    if (len / PAGE_SIZE > FLUSH_PAGES_MAX) {
        uint64_t cr4 = read_cr4();
        write_cr4(cr4 & ~CR4_PGE); /* also drops global entries */
        write_cr4(cr4);
        return;
    }
    for (uint64_t off = 0; off < len; off += PAGE_SIZE)
        invlpg(va + off);
}

static void map_or_panic(uint64_t va, uint64_t pa, uint64_t len, uint64_t flags, const char *what)
{
    int rc = pt_map(&kernel_pt, va, pa, len, flags);
    if (rc)
        panic("paging: cannot map %s (%#lx bytes at %#lx): error %d", what, len, va, rc);
}

static void map_image_section(const char *start, const char *end, uint64_t flags, const char *what)
{
    uint64_t len = (uint64_t)(end - start);
    if (len)
        map_or_panic((uint64_t)start, kernel_virt_to_phys(start), len, flags, what);
}

void paging_init(struct pmm *pmm, uint64_t direct_map_limit)
{
    struct pt_ops ops = {
        .alloc_table = table_alloc,
        .free_table = table_free,
        .table_ptr = table_ptr,
        .flush = tlb_flush,
        .ctx = pmm,
        .allow_1g = cpu_features.page_1g,
        .nx_mask = boot_nx_enabled ? PTE_NX : 0,
    };
    if (pt_init(&kernel_pt, &ops))
        panic("paging: no memory below 4 GiB for the root page table");

    uint64_t global = cpu_features.pge ? PTE_G : 0;
    if (direct_map_limit > DIRECT_MAP_MAX) {
        pr_warn("paging: memory above %llu GiB is not mapped", DIRECT_MAP_MAX >> 30);
        direct_map_limit = DIRECT_MAP_MAX;
    }
    map_or_panic(DIRECT_MAP_BASE, 0, direct_map_limit, PTE_W | PTE_NX | global, "direct map");
    map_image_section(__text_start, __text_end, global, "text");
    map_image_section(__rodata_start, __rodata_end, PTE_NX | global, "rodata");
    map_image_section(__data_start, __data_end, PTE_W | PTE_NX | global, "data");
    /* The direct map must not be a writable alias of the hypervisor's code. */
    uint64_t text_phys = kernel_virt_to_phys(__text_start);
    map_or_panic(DIRECT_MAP_BASE + text_phys, text_phys, (uint64_t)(__rodata_end - __text_start),
                 PTE_NX | global, "direct-map alias of text and rodata");

    if (cpu_features.pge)
        write_cr4(read_cr4() | CR4_PGE);
    write_cr3(kernel_pt.root);
    ready = true;
    pr_info("paging: direct map %lu MiB with %s pages, %lu table pages, NX %s", direct_map_limit >> 20,
            cpu_features.page_1g ? "1 GiB" : "2 MiB", kernel_pt.tables, boot_nx_enabled ? "on" : "off");
}

void *ioremap(uint64_t phys, uint64_t len)
{
    uint64_t base = phys & ~(PAGE_SIZE - 1);
    uint64_t size = ((phys + len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) - base;
    if (ioremap_next + size > IOREMAP_BASE + IOREMAP_SIZE)
        return NULL;
    uint64_t va = ioremap_next;
    if (pt_map(&kernel_pt, va, base, size, PTE_W | PTE_NX | PTE_PCD | PTE_PWT))
        return NULL;
    ioremap_next += size + PAGE_SIZE; /* leave a hole so overruns fault */
    return (void *)(va + (phys - base));
}

uint64_t stack_alloc(unsigned pages)
{
    uint64_t va = stack_next + PAGE_SIZE; /* guard page stays unmapped */
    if (va + pages * PAGE_SIZE > STACK_AREA_BASE + STACK_AREA_SIZE)
        panic("paging: stack area exhausted");
    for (unsigned i = 0; i < pages; i++) {
        uint64_t pa = mm_alloc_frame();
        map_or_panic(va + i * PAGE_SIZE, pa, PAGE_SIZE, PTE_W | PTE_NX, "stack");
    }
    stack_next = va + pages * PAGE_SIZE;
    return stack_next;
}

void paging_map_identity(uint64_t phys) { map_or_panic(phys, phys, PAGE_SIZE, 0, "AP trampoline"); }

void paging_unmap_identity(uint64_t phys)
{
    if (pt_unmap(&kernel_pt, phys, PAGE_SIZE))
        pr_warn("paging: could not unmap identity page %#lx", phys);
}
