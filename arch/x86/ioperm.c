/* Port-I/O permission bitmaps shared by the vCPUs of a domain. One layout
 * serves both backends: 65536 bits, bit set = the access exits. VT-x takes
 * the two 4 KiB halves as I/O bitmaps A and B (SDM Vol. 3C 25.6.4); AMD-V
 * takes a 12 KiB IOPM whose third page covers accesses that run past port
 * 0xFFFF (APM Vol. 2 15.10.1), kept all ones. Bitmaps are 16 KiB slots of
 * 2 MiB frames, so each is physically contiguous. */
#include "arch/x86/paging.h"
#include "arch/x86/spinlock.h"
#include "arch/x86/virt.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "hv/string.h"
#include "plinth/errno.h"

#define IOPERM_SLOT (16u << 10)
#define IOPERM_BITMAP_BYTES (8u << 10)   /* ports 0..0xFFFF */
#define IOPERM_HW_BYTES (12u << 10)      /* the AMD-V IOPM */
#define IOPERM_SLOTS_PER_FRAME ((2u << 20) / IOPERM_SLOT)
#define IOPERM_MAX_FRAMES 4

struct io_perm {
    uint64_t pa;
};

static struct {
    uint64_t frame_pa[IOPERM_MAX_FRAMES];
    uint8_t used[IOPERM_MAX_FRAMES][IOPERM_SLOTS_PER_FRAME];
} pool;
static spinlock_t pool_lock = SPINLOCK_INIT;

static uint64_t slot_alloc(void)
{
    uint64_t pa = PMM_NO_FRAME;
    uint64_t flags = spin_lock_irqsave(&pool_lock);
    for (unsigned f = 0; f < IOPERM_MAX_FRAMES && pa == PMM_NO_FRAME; f++) {
        if (!pool.frame_pa[f]) {
            /* Below 4 GiB: the IOPM base is a 64-bit field, but keep it
             * where every CPU can reach it, as the backends' own maps. */
            uint64_t frame = mm_alloc(PMM_2M, 4ull << 30);
            if (frame == PMM_NO_FRAME)
                break;
            pool.frame_pa[f] = frame;
        }
        for (unsigned i = 0; i < IOPERM_SLOTS_PER_FRAME; i++)
            if (!pool.used[f][i]) {
                pool.used[f][i] = 1;
                pa = pool.frame_pa[f] + (uint64_t)i * IOPERM_SLOT;
                break;
            }
    }
    spin_unlock_irqrestore(&pool_lock, flags);
    return pa;
}

static void slot_free(uint64_t pa)
{
    uint64_t flags = spin_lock_irqsave(&pool_lock);
    uint64_t empty_frame = PMM_NO_FRAME;
    for (unsigned f = 0; f < IOPERM_MAX_FRAMES; f++) {
        if (!pool.frame_pa[f] || pa < pool.frame_pa[f] || pa >= pool.frame_pa[f] + (2u << 20))
            continue;
        pool.used[f][(pa - pool.frame_pa[f]) / IOPERM_SLOT] = 0;
        bool any = false;
        for (unsigned i = 0; i < IOPERM_SLOTS_PER_FRAME; i++)
            any |= pool.used[f][i];
        if (!any) {
            /* Give the frame back, so a domain's end returns everything. */
            empty_frame = pool.frame_pa[f];
            pool.frame_pa[f] = 0;
        }
    }
    spin_unlock_irqrestore(&pool_lock, flags);
    if (empty_frame != PMM_NO_FRAME)
        mm_free(empty_frame, PMM_2M);
}

struct io_perm *arch_io_perm_create(void)
{
    struct io_perm *p = kmalloc(sizeof(*p));
    if (!p)
        return NULL;
    p->pa = slot_alloc();
    if (p->pa == PMM_NO_FRAME) {
        kfree(p);
        return NULL;
    }
    memset(phys_to_virt(p->pa), 0xFF, IOPERM_HW_BYTES);
    return p;
}

void arch_io_perm_destroy(struct io_perm *p)
{
    if (!p)
        return;
    slot_free(p->pa);
    kfree(p);
}

void arch_io_perm_allow(struct io_perm *p, uint16_t first, uint32_t count, bool allow)
{
    uint8_t *bits = phys_to_virt(p->pa);
    for (uint32_t port = first; port < (uint32_t)first + count && port <= 0xFFFF; port++) {
        if (allow)
            bits[port / 8] &= (uint8_t)~(1u << (port % 8));
        else
            bits[port / 8] |= (uint8_t)(1u << (port % 8));
    }
}

bool arch_io_perm_allowed(const struct io_perm *p, uint16_t port)
{
    const uint8_t *bits = phys_to_virt(p->pa);
    return !(bits[port / 8] & (1u << (port % 8)));
}

uint64_t io_perm_phys(const struct io_perm *p) { return p ? p->pa : 0; }
