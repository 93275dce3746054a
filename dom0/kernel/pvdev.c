/* dom0 as the device model of domUs: the transport-level core. For each
 * domU with devices: one ioreq ring (a page of ours the hypervisor fills),
 * one event port the hypervisor raises, a foreign mapping of all its RAM,
 * and up to PLINTH_VIRTIO_MMIO_MAX devices, one per virtio-mmio window,
 * served by their kind's ops. Requests are served from pvdev_poll, which
 * the kernel calls before every sleep: the event upcall only wakes us. */
#include "dom0/kernel/pvdev.h"

#include "dom0/domcfg.h"
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/util.h"
#include "plinth/evtchn.h"
#include "plinth/ioreq.h"

#define PV_MAX_DOMS 8
/* Foreign mappings: domU slot k at 64 GiB + k GiB of our address space
 * (a domU has at most 1 GiB). */
#define FOREIGN_BASE (64ull << 30)
#define GIB (1ull << 30)
#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_PS 0x80ull

struct pv_dev {
    const struct pv_devops *ops;
    void *dev;
};

struct pv_dom {
    bool used;
    uint32_t domid;
    char name[32];
    unsigned port;
    struct plinth_ioreq_ring *ring;
    uint64_t *pd;          /* page directory of its foreign-mapping GiB */
    struct guestmem gm;
    struct pv_dev devs[PLINTH_VIRTIO_MMIO_MAX];
    unsigned ndevs;
    uint64_t requests, notifies, irqs;
    uint32_t last_seq;     /* of the last request taken off its ring */
};

static struct pv_dom doms[PV_MAX_DOMS];
static struct plinth_evtchn_page *evpage;
static bool evtchn_ready;

/* Kinds not built in attach nothing and have nothing to poll. */
__attribute__((weak)) int pvnet_attach(struct pv_dom *pd, const struct domcfg *cfg)
{
    (void)pd;
    if (cfg->vif_count) {
        kprintf("pv: %s: vif: this dom0 has no virtio-net backend\n", cfg->name);
        return -PL_ENOSYS;
    }
    return 0;
}
__attribute__((weak)) int pvcons_attach(struct pv_dom *pd, const struct domcfg *cfg)
{
    (void)pd, (void)cfg;
    return 0;
}
__attribute__((weak)) void pvnet_poll(void) {}
__attribute__((weak)) void pvcons_poll(void) {}

int pvdev_add(struct pv_dom *pd, const struct pv_devops *ops, void *dev)
{
    if (pd->ndevs == PLINTH_VIRTIO_MMIO_MAX)
        return -PL_ENOSPC;
    pd->devs[pd->ndevs] = (struct pv_dev){ ops, dev };
    return (int)pd->ndevs++;
}

const struct guestmem *pvdev_guestmem(struct pv_dom *pd) { return &pd->gm; }
uint32_t pvdev_domid(const struct pv_dom *pd) { return pd->domid; }
const char *pvdev_name(const struct pv_dom *pd) { return pd->name; }

void pvdev_raise(struct pv_dom *pd, unsigned window, uint32_t status)
{
    pd->irqs++;
    /* last_seq lets the hypervisor drop an interrupt of the device as it
     * was before a reset we have not taken off the ring yet. */
    long rc = hc4(HC_DOMAIN_IRQ, pd->domid, PLINTH_VIRTIO_MMIO_IRQ_BASE + window, status, pd->last_seq);
    if (rc < 0 && rc != -PL_ENOENT)
        kprintf("pv: dom%u: %s: %s\n", pd->domid, hc_name(HC_DOMAIN_IRQ), errno_name(rc));
}

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

static void release(struct pv_dom *pd)
{
    for (unsigned i = 0; i < pd->ndevs; i++)
        if (pd->devs[i].ops->release)
            pd->devs[i].ops->release(pd->devs[i].dev);
    /* The ring page and page directory stay with the slot for reuse. */
    pd->used = false;
    pd->ndevs = 0;
}

bool pvdev_wanted(const struct domcfg *cfg)
{
    return cfg->disk_count || cfg->vif_count || cfg->console == DOMCFG_CONSOLE_VIRTIO;
}

int pvdev_attach(uint32_t domid, const struct domcfg *cfg)
{
    if (!pvdev_wanted(cfg))
        return 0;
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
    memcpy(pd->name, cfg->name, strlen(cfg->name) + 1);
    pd->ndevs = 0;
    pd->requests = pd->notifies = pd->irqs = 0;
    pd->last_seq = 0;
    if (!pd->ring && !(pd->ring = kalloc(sizeof(*pd->ring), 4096))) {
        release(pd);
        return -PL_ENOMEM;
    }
    /* A reused page still holds the last client's indices and flag. */
    memset(pd->ring, 0, sizeof *pd->ring);
    if ((rc = map_window(pd, slot)) < 0) {
        release(pd);
        return rc;
    }
    uint64_t where = FOREIGN_BASE + (uint64_t)slot * GIB;
    long mapped = hc2(HC_FOREIGN_MAP, domid, where);
    if (mapped < 0) {
        kprintf("pv: %s: %s: %s\n", cfg->name, hc_name(HC_FOREIGN_MAP), errno_name(mapped));
        release(pd);
        return (int)mapped;
    }
    pd->gm.base = (uint8_t *)(uintptr_t)where;
    pd->gm.size = (uint64_t)mapped;
    /* The devices, before the domain can see them. */
    if ((rc = pvblk_attach(pd, cfg)) < 0 || (rc = pvnet_attach(pd, cfg)) < 0 || (rc = pvcons_attach(pd, cfg)) < 0) {
        hc1(HC_FOREIGN_UNMAP, domid);
        release(pd);
        return rc;
    }
    long port = hc1(HC_EVTCHN_ALLOC_UNBOUND, DOMID_HYPERVISOR);
    if (port < 0) {
        kprintf("pv: %s: %s: %s\n", cfg->name, hc_name(HC_EVTCHN_ALLOC_UNBOUND), errno_name(port));
        hc1(HC_FOREIGN_UNMAP, domid);
        release(pd);
        return (int)port;
    }
    pd->port = (unsigned)port;
    long r = hc3(HC_IOREQ_REGISTER, domid, HC_PTR(pd->ring), pd->port);
    if (r < 0) {
        kprintf("pv: %s: %s: %s\n", cfg->name, hc_name(HC_IOREQ_REGISTER), errno_name(r));
        hc1(HC_FOREIGN_UNMAP, domid);
        hc1(HC_EVTCHN_CLOSE, pd->port);
        release(pd);
        return (int)r;
    }
    for (unsigned i = 0; i < pd->ndevs; i++) {
        kprintf("pv: dom%u: %s %u at %#llx: ", domid, pd->devs[i].ops->kind, i,
                (unsigned long long)(PLINTH_VIRTIO_MMIO_BASE + i * PLINTH_VIRTIO_MMIO_STRIDE));
        pd->devs[i].ops->describe(pd->devs[i].dev);
        kprintf("\n");
    }
    return 0;
}

static void serve(struct pv_dom *pd, const struct plinth_ioreq *rq)
{
    uint64_t rel = rq->addr - PLINTH_VIRTIO_MMIO_BASE;
    unsigned n = (unsigned)(rel / PLINTH_VIRTIO_MMIO_STRIDE);
    uint64_t off = rel % PLINTH_VIRTIO_MMIO_STRIDE;
    struct pv_dev *d = n < pd->ndevs ? &pd->devs[n] : NULL;
    pd->requests++;
    if (rq->type == IOREQ_TYPE_NOTIFY) {
        pd->notifies++;
        if (d)
            d->ops->notify(d->dev, (unsigned)rq->data);
        return;
    }
    if (rq->type == IOREQ_TYPE_POSTED_WRITE) {
        if (d && off < PLINTH_VIRTIO_MMIO_SIZE)
            d->ops->write(d->dev, off, rq->size, rq->data);
        return; /* the vCPU did not wait */
    }
    uint64_t val = 0;
    if (d && off < PLINTH_VIRTIO_MMIO_SIZE) {
        if (rq->dir == IOREQ_READ)
            val = d->ops->read(d->dev, off, rq->size);
        else
            d->ops->write(d->dev, off, rq->size, rq->data);
    }
    long rc = hc4(HC_IOREQ_COMPLETE, pd->domid, rq->vcpu, rq->seq, val);
    if (rc < 0 && rc != -PL_ENOENT)
        kprintf("pv: dom%u: %s: %s\n", pd->domid, hc_name(HC_IOREQ_COMPLETE), errno_name(rc));
}

void pvdev_poll(void)
{
    /* Not re-entrant: serving a request can wait for a physical device
     * (blkdev read -> wait_until -> nap -> pvdev_poll). A nested call would
     * start a second request on the same disk while the first is in flight
     * and serve ring entries the outer loop then serves again. Requests that
     * arrive meanwhile wait for the outer call's next look at the ring. */
    static bool polling;
    if (!evtchn_ready || polling)
        return;
    polling = true;
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
            pd->last_seq = rq.seq;
            serve(pd, &rq);
            cons++;
            __atomic_store_n(&r->cons, cons, __ATOMIC_RELEASE);
            prod = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE);
        }
        /* A domain that has gone (the hypervisor dropped our mapping of
         * it with its memory, then said so on the ring): stop serving it. */
        if (__atomic_load_n(&r->client_gone, __ATOMIC_ACQUIRE)) {
            hc1(HC_EVTCHN_CLOSE, pd->port);
            release(pd);
        }
    }
    pvnet_poll();
    pvcons_poll();
    polling = false;
}

void pvdev_list(void)
{
    unsigned shown = 0;
    for (unsigned s = 0; s < PV_MAX_DOMS; s++) {
        struct pv_dom *pd = &doms[s];
        if (!pd->used)
            continue;
        for (unsigned i = 0; i < pd->ndevs; i++) {
            kprintf("dom%u %s %u: ", pd->domid, pd->devs[i].ops->kind, i);
            pd->devs[i].ops->describe(pd->devs[i].dev);
            kprintf("\n");
        }
        kprintf("dom%u: %llu register accesses, %llu notifications, %llu interrupts\n", pd->domid,
                (unsigned long long)pd->requests, (unsigned long long)pd->notifies, (unsigned long long)pd->irqs);
        shown++;
    }
    if (!shown)
        kprintf("no paravirtual devices\n");
}
