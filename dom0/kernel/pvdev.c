/* dom0 as the device model of domUs. For each domU with devices: one ioreq
 * ring (a page of ours the hypervisor fills), one event port the hypervisor
 * raises, a foreign mapping of all its RAM, and the backends
 * (dom0/virtio). Requests are served from pvdev_poll, which the kernel
 * calls before every sleep: the event upcall only wakes us. */
#include "dom0/kernel/pvdev.h"

#include "dom0/domcfg.h"
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/util.h"
#include "dom0/virtio/blk_backend.h"
#include "plinth/evtchn.h"
#include "plinth/ioreq.h"

#define PV_MAX_DOMS 8
#define PV_MAX_DISKS 4
/* Foreign mappings: domU slot k at 64 GiB + k GiB of our address space
 * (a domU has at most 1 GiB). */
#define FOREIGN_BASE (64ull << 30)
#define GIB (1ull << 30)
#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_PS 0x80ull

struct pv_disk {
    struct vblk_dev *vb;
    struct pv_dom *pd;
    unsigned window;       /* virtio-mmio device number in the domU */
    char target[24];
};

struct pv_dom {
    bool used;
    uint32_t domid;
    unsigned port;
    struct plinth_ioreq_ring *ring;
    uint64_t *pd;          /* page directory of its foreign-mapping GiB */
    struct guestmem gm;
    struct pv_disk disks[PV_MAX_DISKS];
    unsigned ndisks;
    uint64_t requests, notifies, irqs;
};

static struct pv_dom doms[PV_MAX_DOMS];
static struct plinth_evtchn_page *evpage;
static bool evtchn_ready;

static int init_evtchn(void)
{
    if (evtchn_ready)
        return 0;
    if (!evpage && !(evpage = kalloc(sizeof(*evpage), 4096)))
        return -PL_ENOMEM;
    long rc = hc2(HC_EVTCHN_INIT, HC_PTR(evpage), EVTCHN_VECTOR);
    if (rc < 0) {
        kprintf("pv: %s: %s (%ld)\n", hc_name(HC_EVTCHN_INIT), errno_name(rc), rc);
        return (int)rc;
    }
    evtchn_ready = true;
    return 0;
}

/* Map [FOREIGN_BASE + slot GiB, +1 GiB) identity in our own page tables
 * (the loader's cover only the first 4 GiB). */
static int map_window(struct pv_dom *pd, unsigned slot)
{
    if (!pd->pd && !(pd->pd = kalloc(4096, 4096)))
        return -PL_ENOMEM;
    uint64_t base = FOREIGN_BASE + (uint64_t)slot * GIB;
    for (unsigned i = 0; i < 512; i++)
        pd->pd[i] = (base + ((uint64_t)i << 21)) | PTE_P | PTE_W | PTE_PS;
    uint64_t cr3;
    __asm__ __volatile__("mov %%cr3, %0" : "=r"(cr3));
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(cr3 & ~0xFFFull);
    uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0x000FFFFFFFFFF000ull);
    pdpt[base / GIB] = (uint64_t)(uintptr_t)pd->pd | PTE_P | PTE_W;
    __asm__ __volatile__("mov %0, %%cr3" ::"r"(cr3) : "memory"); /* drop stale entries */
    return 0;
}

static void raise_irq(void *ctx)
{
    struct pv_disk *d = ctx;
    d->pd->irqs++;
    long rc = hc2(HC_DOMAIN_IRQ, d->pd->domid, PLINTH_VIRTIO_MMIO_IRQ_BASE + d->window);
    if (rc < 0 && rc != -PL_ENOENT)
        kprintf("pv: dom%u: %s: %s\n", d->pd->domid, hc_name(HC_DOMAIN_IRQ), errno_name(rc));
}

/* "phy:disk0,xvda,w" or "phy:disk0@2048+4096,xvda,r": a whole disk of ours
 * or sectors [first, first + count) of it. */
static int parse_disk(const char *spec, char *target, size_t tlen, uint64_t *first, uint64_t *count, bool *ro)
{
    if (strncmp(spec, "phy:", 4) != 0)
        return -PL_EINVAL;
    const char *p = spec + 4;
    size_t n = 0;
    while (p[n] && p[n] != ',' && p[n] != '@')
        n++;
    if (n == 0 || n >= tlen)
        return -PL_EINVAL;
    memcpy(target, p, n);
    target[n] = 0;
    p += n;
    *first = 0;
    *count = 0;
    if (*p == '@') {
        char num[24];
        size_t k = 0;
        p++;
        while (*p && *p != '+' && k < sizeof(num) - 1)
            num[k++] = *p++;
        num[k] = 0;
        if (*p != '+' || parse_uint(num, ~0ull, first) < 0)
            return -PL_EINVAL;
        p++;
        k = 0;
        while (*p && *p != ',' && k < sizeof(num) - 1)
            num[k++] = *p++;
        num[k] = 0;
        if (parse_uint(num, ~0ull, count) < 0 || *count == 0)
            return -PL_EINVAL;
    }
    if (*p != ',')
        return -PL_EINVAL;
    const char *mode = p + 1;
    while (*mode && *mode != ',')
        mode++; /* skip the vdev name */
    if (*mode != ',')
        return -PL_EINVAL;
    mode++;
    if (strcmp(mode, "r") == 0 || strcmp(mode, "ro") == 0)
        *ro = true;
    else if (strcmp(mode, "w") == 0 || strcmp(mode, "rw") == 0)
        *ro = false;
    else
        return -PL_EINVAL;
    return 0;
}

static void release(struct pv_dom *pd)
{
    /* The ring page and page directory stay with the slot for reuse. */
    pd->used = false;
    pd->ndisks = 0;
}

int pvdev_attach(uint32_t domid, const struct domcfg *cfg)
{
    if (cfg->disk_count == 0)
        return 0;
    if (cfg->disk_count > PV_MAX_DISKS) {
        kprintf("pv: %s: at most %d disks\n", cfg->name, PV_MAX_DISKS);
        return -PL_E2BIG;
    }
    int rc = init_evtchn();
    if (rc)
        return rc;
    unsigned slot = 0;
    while (slot < PV_MAX_DOMS && doms[slot].used)
        slot++;
    if (slot == PV_MAX_DOMS) {
        kprintf("pv: already serving %d domains\n", PV_MAX_DOMS);
        return -PL_ENOSPC;
    }
    struct pv_dom *pd = &doms[slot];
    pd->used = true;
    pd->domid = domid;
    pd->ndisks = 0;
    pd->requests = pd->notifies = pd->irqs = 0;
    if (!pd->ring && !(pd->ring = kalloc(sizeof(*pd->ring), 4096))) {
        release(pd);
        return -PL_ENOMEM;
    }
    for (unsigned i = 0; i < cfg->disk_count; i++) {
        struct pv_disk *d = &pd->disks[i];
        uint64_t first, count;
        bool ro;
        if (parse_disk(cfg->disks[i], d->target, sizeof(d->target), &first, &count, &ro) < 0) {
            kprintf("pv: %s: disk \"%s\": expected phy:<disk>[@<first>+<count>],<vdev>,<r|w>\n", cfg->name,
                    cfg->disks[i]);
            release(pd);
            return -PL_EINVAL;
        }
        struct blkdev *b = blkdev_find(d->target);
        if (!b) {
            kprintf("pv: %s: disk \"%s\": dom0 has no block device %s (see `devices`)\n", cfg->name, cfg->disks[i],
                    d->target);
            release(pd);
            return -PL_ENOENT;
        }
        if (count == 0)
            count = b->sectors - first;
        if (!d->vb && !(d->vb = kalloc(sizeof(*d->vb), 64))) {
            release(pd);
            return -PL_ENOMEM;
        }
        rc = vblk_create(d->vb, &pd->gm, b, first, count, ro);
        if (rc < 0) {
            kprintf("pv: %s: disk \"%s\": %s (sectors %llu+%llu of %s's %llu)\n", cfg->name, cfg->disks[i],
                    errno_name(rc), (unsigned long long)first, (unsigned long long)count, b->name,
                    (unsigned long long)b->sectors);
            release(pd);
            return rc;
        }
        d->pd = pd;
        d->window = i;
        vblk_set_irq(d->vb, raise_irq, d);
        pd->ndisks++;
    }
    long port = hc1(HC_EVTCHN_ALLOC_UNBOUND, DOMID_HYPERVISOR);
    if (port < 0) {
        kprintf("pv: %s: %s: %s\n", cfg->name, hc_name(HC_EVTCHN_ALLOC_UNBOUND), errno_name(port));
        release(pd);
        return (int)port;
    }
    pd->port = (unsigned)port;
    if ((rc = map_window(pd, slot)) < 0) {
        release(pd);
        return rc;
    }
    uint64_t where = FOREIGN_BASE + (uint64_t)slot * GIB;
    long mapped = hc2(HC_FOREIGN_MAP, domid, where);
    if (mapped < 0) {
        kprintf("pv: %s: %s: %s\n", cfg->name, hc_name(HC_FOREIGN_MAP), errno_name(mapped));
        hc1(HC_EVTCHN_CLOSE, pd->port);
        release(pd);
        return (int)mapped;
    }
    pd->gm.base = (uint8_t *)(uintptr_t)where;
    pd->gm.size = (uint64_t)mapped;
    long r = hc3(HC_IOREQ_REGISTER, domid, HC_PTR(pd->ring), pd->port);
    if (r < 0) {
        kprintf("pv: %s: %s: %s\n", cfg->name, hc_name(HC_IOREQ_REGISTER), errno_name(r));
        hc1(HC_FOREIGN_UNMAP, domid);
        hc1(HC_EVTCHN_CLOSE, pd->port);
        release(pd);
        return (int)r;
    }
    for (unsigned i = 0; i < pd->ndisks; i++)
        kprintf("pv: dom%u: virtio-blk %u at %#llx <- %s sectors %llu+%llu%s\n", domid, i,
                (unsigned long long)(PLINTH_VIRTIO_MMIO_BASE + i * PLINTH_VIRTIO_MMIO_STRIDE), pd->disks[i].target,
                (unsigned long long)pd->disks[i].vb->first_sector, (unsigned long long)pd->disks[i].vb->sectors,
                pd->disks[i].vb->ro ? " read-only" : "");
    return 0;
}

static void serve(struct pv_dom *pd, const struct plinth_ioreq *rq)
{
    uint64_t rel = rq->addr - PLINTH_VIRTIO_MMIO_BASE;
    unsigned n = (unsigned)(rel / PLINTH_VIRTIO_MMIO_STRIDE);
    uint64_t off = rel % PLINTH_VIRTIO_MMIO_STRIDE;
    struct vblk_dev *vb = n < pd->ndisks ? pd->disks[n].vb : NULL;
    pd->requests++;
    if (rq->type == IOREQ_TYPE_NOTIFY) {
        pd->notifies++;
        if (vb)
            while (vblk_notify(vb, (unsigned)rq->data) > 0)
                ;
        return;
    }
    uint64_t val = 0;
    if (vb && off < PLINTH_VIRTIO_MMIO_SIZE) {
        if (rq->dir == IOREQ_READ)
            val = vblk_mmio_read(vb, off, rq->size);
        else
            vblk_mmio_write(vb, off, rq->size, rq->data);
    }
    long rc = hc4(HC_IOREQ_COMPLETE, pd->domid, rq->vcpu, rq->seq, val);
    if (rc < 0 && rc != -PL_ENOENT)
        kprintf("pv: dom%u: %s: %s\n", pd->domid, hc_name(HC_IOREQ_COMPLETE), errno_name(rc));
}

void pvdev_poll(void)
{
    if (!evtchn_ready)
        return;
    /* Clear our pending bits first: an event after this is seen next time. */
    __atomic_store_n(&evpage->pending, 0, __ATOMIC_SEQ_CST);
    for (unsigned s = 0; s < PV_MAX_DOMS; s++) {
        struct pv_dom *pd = &doms[s];
        if (!pd->used)
            continue;
        struct plinth_ioreq_ring *r = pd->ring;
        uint32_t cons = r->cons;
        uint32_t prod = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE);
        if (prod - cons > IOREQ_RING_SIZE) {
            kprintf("pv: dom%u: ring indices %u/%u make no sense; dropping the device model\n", pd->domid, prod,
                    cons);
            release(pd);
            continue;
        }
        while (cons != prod) {
            struct plinth_ioreq rq = r->req[cons % IOREQ_RING_SIZE];
            serve(pd, &rq);
            cons++;
            __atomic_store_n(&r->cons, cons, __ATOMIC_RELEASE);
            prod = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE);
        }
        /* A domain that has gone (the hypervisor dropped our mapping of
         * it with its memory): stop serving it. */
        static struct plinth_domain_info info;
        if (hc2(HC_DOMAIN_INFO, pd->domid, HC_PTR(&info)) == -PL_ENOENT) {
            hc1(HC_EVTCHN_CLOSE, pd->port);
            release(pd);
        }
    }
}

void pvdev_list(void)
{
    unsigned shown = 0;
    for (unsigned s = 0; s < PV_MAX_DOMS; s++) {
        struct pv_dom *pd = &doms[s];
        if (!pd->used)
            continue;
        for (unsigned i = 0; i < pd->ndisks; i++) {
            struct vblk_dev *vb = pd->disks[i].vb;
            kprintf("dom%u virtio-blk %u: %s sectors %llu+%llu%s, %llu requests (%llu sectors read, %llu written, "
                    "%llu flushes, %llu I/O errors)%s\n",
                    pd->domid, i, pd->disks[i].target, (unsigned long long)vb->first_sector,
                    (unsigned long long)vb->sectors, vb->ro ? " ro" : "", (unsigned long long)vb->reqs,
                    (unsigned long long)vb->rd_sectors, (unsigned long long)vb->wr_sectors,
                    (unsigned long long)vb->flushes, (unsigned long long)vb->ioerrs,
                    vblk_needs_reset(vb) ? " NEEDS RESET" : "");
        }
        kprintf("dom%u: %llu register accesses, %llu notifications, %llu interrupts\n", pd->domid,
                (unsigned long long)pd->requests, (unsigned long long)pd->notifies, (unsigned long long)pd->irqs);
        shown++;
    }
    if (!shown)
        kprintf("no paravirtual devices\n");
}
