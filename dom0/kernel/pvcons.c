/* virtio-console devices of domUs: a config's console = "virtio" gives the
 * domain one virtio-console device (single port, dom0/virtio/
 * console_backend.c). Its output is kept in the device's ring for the
 * shell's `console <dom>`, which also types into it (pvcons.h). */
#include "dom0/kernel/pvcons.h"

#include "dom0/domcfg.h"
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/pvdev.h"
#include "dom0/kernel/util.h"
#include "dom0/virtio/console_backend.h"
#include "plinth/ioreq.h"

struct pvcons {
    struct vcons_dev vc;      /* first: kalloc alignment */
    struct pv_dom *pd;
    unsigned window;
    uint32_t domid;
    bool in_use;              /* attached to a live domain */
    bool kept;                /* holds the output of domid (live or ended) */
};

#define PVCONS_POOL 8
/* kalloc never frees: devices are reused once their domain is gone; an
 * ended domain's output stays readable until then (never-used and
 * longest-ended devices are taken first). */
static struct pvcons *pool[PVCONS_POOL];
static uint64_t release_seq[PVCONS_POOL], releases;

static struct pvcons *get_dev(void)
{
    int best = -1;
    for (unsigned i = 0; i < PVCONS_POOL; i++) {
        if (!pool[i] && !(pool[i] = kalloc(sizeof(struct pvcons), 64)))
            break;
        if (pool[i]->in_use)
            continue;
        if (!pool[i]->kept) {
            best = (int)i;
            break;
        }
        if (best < 0 || release_seq[i] < release_seq[best])
            best = (int)i;
    }
    if (best < 0)
        return NULL;
    pool[best]->in_use = true;
    pool[best]->kept = false;
    return pool[best];
}

/* The console of domid: the live one first, else the one kept after it ended. */
static struct pvcons *find(uint32_t domid)
{
    struct pvcons *kept = NULL;
    for (unsigned i = 0; i < PVCONS_POOL && pool[i]; i++) {
        struct pvcons *c = pool[i];
        if (c->kept && c->domid == domid) {
            if (c->in_use)
                return c;
            kept = c;
        }
    }
    return kept;
}

static void raise_irq(void *ctx, uint32_t status)
{
    struct pvcons *c = ctx;
    pvdev_raise(c->pd, c->window, status);
}

static uint64_t cons_read(void *dev, uint64_t off, unsigned size) { return vcons_mmio_read(dev, off, size); }
static void cons_write(void *dev, uint64_t off, unsigned size, uint64_t v) { vcons_mmio_write(dev, off, size, v); }

static void cons_notify(void *dev, unsigned q)
{
    while (vcons_notify(dev, q) > 0)
        ;
}

static void cons_describe(void *dev)
{
    struct pvcons *c = dev;
    struct vcons_dev *vc = &c->vc;
    kprintf("%llu bytes out (%llu buffers, %llu emergency), %llu bytes in (%llu typed, %u waiting, %llu "
            "dropped)%s",
            (unsigned long long)vc->out_pos, (unsigned long long)vc->tx_chains,
            (unsigned long long)vc->emerg_bytes, (unsigned long long)vc->rx_bytes,
            (unsigned long long)vc->in_bytes, vcons_in_pending(vc), (unsigned long long)vc->in_dropped,
            vcons_needs_reset(vc) ? ", NEEDS RESET" : "");
    if (vcons_needs_reset(vc))
        kprintf(" (%s)", vc->mmio.last_error == -VCONS_EMALFORMED ? "malformed chain"
                                                                  : vq_strerror(vc->mmio.last_error));
}

static void cons_release(void *dev)
{
    struct pvcons *c = dev;
    c->in_use = false;
    c->pd = NULL;
    for (unsigned i = 0; i < PVCONS_POOL; i++)
        if (pool[i] == c)
            release_seq[i] = ++releases;
}

static const struct pv_devops cons_ops = {
    .kind = "virtio-console",
    .read = cons_read,
    .write = cons_write,
    .notify = cons_notify,
    .describe = cons_describe,
    .release = cons_release,
};

int pvcons_attach(struct pv_dom *pd, const struct domcfg *cfg)
{
    if (cfg->console != DOMCFG_CONSOLE_VIRTIO)
        return 0;
    struct pvcons *c = get_dev();
    if (!c) {
        kprintf("pv: %s: out of virtio-console devices\n", cfg->name);
        return -PL_ENOMEM;
    }
    int rc = vcons_create(&c->vc, pvdev_guestmem(pd));
    if (rc < 0) {
        kprintf("pv: %s: console: %s\n", cfg->name, errno_name(rc));
        c->in_use = false;
        return rc;
    }
    c->pd = pd;
    c->domid = pvdev_domid(pd);
    int w = pvdev_add(pd, &cons_ops, c);
    if (w < 0) {
        kprintf("pv: %s: more than %d devices\n", cfg->name, PLINTH_VIRTIO_MMIO_MAX);
        c->in_use = false;
        return w;
    }
    c->window = (unsigned)w;
    c->kept = true;
    vcons_set_irq(&c->vc, raise_irq, c);
    return 0;
}

/* Input typed while no receive buffer was posted goes in as soon as one is. */
void pvcons_poll(void)
{
    for (unsigned i = 0; i < PVCONS_POOL && pool[i]; i++)
        if (pool[i]->in_use && vcons_in_pending(&pool[i]->vc))
            vcons_deliver(&pool[i]->vc);
}

bool pvcons_has(uint32_t domid) { return find(domid) != NULL; }

bool pvcons_gone(uint32_t domid)
{
    struct pvcons *c = find(domid);
    return !c || !c->in_use;
}

long pvcons_read(uint32_t domid, uint64_t *pos, char *buf, size_t len, uint64_t *lost)
{
    struct pvcons *c = find(domid);
    if (!c)
        return -PL_ENOENT;
    return (long)vcons_out_read(&c->vc, pos, buf, len, lost);
}

long pvcons_write(uint32_t domid, const char *buf, size_t len)
{
    struct pvcons *c = find(domid);
    if (!c || !c->in_use)
        return -PL_ENOENT;
    /* Delivering writes into the domain's RAM: not into one that has
     * stopped and is about to lose (or has lost) our mapping of it. */
    static struct plinth_domain_info info;
    if (hc2(HC_DOMAIN_INFO, domid, HC_PTR(&info)) < 0 || info.state == DOMAIN_STATE_STOPPED)
        return -PL_ENOENT;
    return (long)vcons_input(&c->vc, buf, len);
}
