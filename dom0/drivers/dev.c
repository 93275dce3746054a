/* Device registry, shared interrupt lines and drivers_init(). */
#include "dom0/drivers/dev.h"
#include "dom0/drivers/drivers.h"
#include "dom0/kernel/dom0.h"
#include "plinth/hypercall.h"

static struct blkdev *blkdevs[MAX_BLKDEVS];
static struct netdev *netdevs[MAX_NETDEVS];
static unsigned nblk, nnet;

int blkdev_register(struct blkdev *b)
{
    if (nblk == MAX_BLKDEVS)
        return -PL_ENOSPC;
    if (!b->name[0])
        ksnprintf(b->name, sizeof b->name, "disk%u", nblk);
    blkdevs[nblk++] = b;
    kprintf("%s: %s, %llu sectors (%llu MiB)%s\n", b->name, b->driver,
            (unsigned long long)b->sectors, (unsigned long long)(b->sectors >> 11),
            b->read_only ? ", read-only" : "");
    return 0;
}

int netdev_register(struct netdev *n)
{
    if (nnet == MAX_NETDEVS)
        return -PL_ENOSPC;
    ksnprintf(n->name, sizeof n->name, "net%u", nnet);
    netdevs[nnet++] = n;
    kprintf("%s: %s, mac %02x:%02x:%02x:%02x:%02x:%02x, link %s\n", n->name, n->driver,
            n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
            n->link_up ? "up" : "down");
    return 0;
}

unsigned blkdev_count(void) { return nblk; }
unsigned netdev_count(void) { return nnet; }
struct blkdev *blkdev_get(unsigned i) { return i < nblk ? blkdevs[i] : NULL; }
struct netdev *netdev_get(unsigned i) { return i < nnet ? netdevs[i] : NULL; }

struct blkdev *blkdev_find(const char *name)
{
    for (unsigned i = 0; i < nblk; i++)
        if (strcmp(blkdevs[i]->name, name) == 0)
            return blkdevs[i];
    return NULL;
}

struct netdev *netdev_find(const char *name)
{
    for (unsigned i = 0; i < nnet; i++)
        if (strcmp(netdevs[i]->name, name) == 0)
            return netdevs[i];
    return NULL;
}

/* ---- shared interrupt lines ---- */
#define IRQ_LINES 16
#define IRQ_HANDLERS 8

struct irq_line {
    bool bound;
    int bind_err;
    unsigned n;
    bool (*fn[IRQ_HANDLERS])(void *arg);
    void *arg[IRQ_HANDLERS];
    uint64_t count, unclaimed;
};

static struct irq_line lines[IRQ_LINES];

static void irq_dispatch(void *arg)
{
    struct irq_line *l = arg;
    bool claimed = false;
    l->count++;
    for (unsigned i = 0; i < l->n; i++)
        if (l->fn[i](l->arg[i]))
            claimed = true;
    if (!claimed)
        l->unclaimed++;
}

int drv_irq_attach(unsigned irq, bool (*handler)(void *arg), void *arg, const char *who)
{
    if (irq == 0 || irq >= IRQ_LINES || irq == 2) {
        kprintf("%s: no usable interrupt line (%u), polling\n", who, irq);
        return -PL_EINVAL;
    }
    struct irq_line *l = &lines[irq];
    if (l->bound && l->bind_err) {
        kprintf("%s: irq %u unavailable (%d), polling\n", who, irq, l->bind_err);
        return l->bind_err;
    }
    if (l->n == IRQ_HANDLERS) {
        kprintf("%s: irq %u has too many handlers, polling\n", who, irq);
        return -PL_ENOSPC;
    }
    l->fn[l->n] = handler;
    l->arg[l->n] = arg;
    barrier();
    l->n++;
    if (!l->bound) {
        l->bound = true;
        l->bind_err = irq_bind(irq, IRQ_FLAG_ISA, irq_dispatch, l);
        if (l->bind_err) {
            l->n = 0;
            kprintf("%s: irq_bind(%u) failed (%d), polling\n", who, irq, l->bind_err);
            return l->bind_err;
        }
    }
    kprintf("%s: irq %u\n", who, irq);
    return 0;
}

/* Devices often finish within microseconds (an emulated disk, a polled
 * status): spin briefly before sleeping, since wait_until's sleeps last
 * until the next interrupt or the 1 ms tick. */
#define DRV_SPIN_NS 50000u

bool drv_wait(bool (*cond)(void *arg), void *arg, uint64_t timeout_us)
{
    uint64_t t0 = time_ns();
    do {
        if (cond(arg))
            return true;
    } while (time_ns() - t0 < DRV_SPIN_NS);
    return wait_until(cond, arg, timeout_us);
}

void drv_irq_stats(void (*out)(unsigned irq, uint64_t count, uint64_t unclaimed))
{
    for (unsigned i = 0; i < IRQ_LINES; i++)
        if (lines[i].bound && !lines[i].bind_err)
            out(i, lines[i].count, lines[i].unclaimed);
}

/* ---- start-up ---- */
void drivers_init(void)
{
    pci_scan();
    for (unsigned i = 0; i < pci_count(); i++) {
        struct pci_dev *d = pci_get(i);
        if (virtio_blk_probe(d) || virtio_net_probe(d) || e1000_probe(d))
            continue;
    }
    ata_init();
    kprintf("drivers: %u block device(s), %u network device(s)\n", nblk, nnet);
}

struct msi_ctx {
    bool (*fn)(void *arg);
    void *arg;
    uint64_t count;
};

static void msi_dispatch(void *arg)
{
    struct msi_ctx *m = arg;
    m->count++;
    m->fn(m->arg);
}

int drv_msi_attach(uint8_t bus, uint8_t dev, uint8_t fn, bool (*handler)(void *arg), void *arg, const char *who)
{
    struct msi_ctx *m = kalloc(sizeof(*m), 16);
    if (!m)
        return -PL_ENOMEM;
    m->fn = handler;
    m->arg = arg;
    int rc = msi_bind((uint16_t)(bus << 8 | dev << 3 | fn), msi_dispatch, m);
    if (rc == 0)
        kprintf("%s: MSI\n", who);
    return rc;
}
