/* virtio-blk devices of domUs: a config's disk = [ "phy:<disk>[@<first>+
 * <count>],<vdev>,<r|w>" ] entries, each a region of one of dom0's block
 * devices served by the backend in dom0/virtio/blk_backend.c. */
#include "dom0/domcfg.h"
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/pvdev.h"
#include "dom0/kernel/util.h"
#include "dom0/virtio/blk_backend.h"
#include "plinth/ioreq.h"

struct pvblk {
    struct vblk_dev vb;       /* first: kalloc alignment */
    struct pv_dom *pd;
    unsigned window;
    char target[24];
    bool in_use;
    unsigned violations_logged;
};

#define PVBLK_POOL 16
/* kalloc never frees: devices are reused once their domain is gone. */
static struct pvblk *pool[PVBLK_POOL];

static struct pvblk *get_dev(void)
{
    for (unsigned i = 0; i < PVBLK_POOL; i++) {
        if (!pool[i] && !(pool[i] = kalloc(sizeof(struct pvblk), 64)))
            return NULL;
        if (!pool[i]->in_use) {
            pool[i]->in_use = true;
            return pool[i];
        }
    }
    return NULL;
}

static void raise_irq(void *ctx, uint32_t status)
{
    struct pvblk *b = ctx;
    pvdev_raise(b->pd, b->window, status);
}

/* One log line per violation (the device entered NEEDS_RESET during this
 * access), at most PVBLK_VIOLATION_LOG per device: a driver can provoke one
 * per reset. */
#define PVBLK_VIOLATION_LOG 64
static void log_violation(struct pvblk *b, uint64_t errors_before)
{
    const struct vmmio_dev *m = &b->vb.mmio;
    if (m->errors == errors_before || b->violations_logged > PVBLK_VIOLATION_LOG)
        return;
    if (++b->violations_logged > PVBLK_VIOLATION_LOG) {
        kprintf("pv: dom%u virtio-blk %u: more violations, not logged\n", pvdev_domid(b->pd), b->window);
        return;
    }
    int e = m->last_error;
    kprintf("pv: dom%u virtio-blk %u: needs reset: %s\n", pvdev_domid(b->pd), b->window,
            e == -VBLK_EMALFORMED ? "malformed request (no 16-byte header or no status byte)" : vq_strerror(e));
}

static uint64_t blk_read(void *dev, uint64_t off, unsigned size) { return vblk_mmio_read(dev, off, size); }
static void blk_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    struct pvblk *b = dev;
    uint64_t errors = b->vb.mmio.errors;
    vblk_mmio_write(dev, off, size, v);
    log_violation(b, errors);
}

static void blk_notify(void *dev, unsigned q)
{
    struct pvblk *b = dev;
    uint64_t errors = b->vb.mmio.errors;
    while (vblk_notify(dev, q) > 0)
        ;
    log_violation(b, errors);
}

static void blk_describe(void *dev)
{
    struct pvblk *b = dev;
    struct vblk_dev *vb = &b->vb;
    kprintf("%s sectors %llu+%llu%s, %llu requests (%llu sectors read, %llu written, %llu flushes, %llu I/O "
            "errors)%s",
            b->target, (unsigned long long)vb->first_sector, (unsigned long long)vb->sectors, vb->ro ? " ro" : "",
            (unsigned long long)vb->reqs, (unsigned long long)vb->rd_sectors, (unsigned long long)vb->wr_sectors,
            (unsigned long long)vb->flushes, (unsigned long long)vb->ioerrs,
            vblk_needs_reset(vb) ? ", NEEDS RESET" : "");
}

static void blk_release(void *dev) { ((struct pvblk *)dev)->in_use = false; }

static const struct pv_devops blk_ops = {
    .kind = "virtio-blk",
    .read = blk_read,
    .write = blk_write,
    .notify = blk_notify,
    .describe = blk_describe,
    .release = blk_release,
};

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

int pvblk_attach(struct pv_dom *pd, const struct domcfg *cfg)
{
    for (unsigned i = 0; i < cfg->disk_count; i++) {
        uint64_t first, count;
        bool ro;
        char target[24];
        if (parse_disk(cfg->disks[i], target, sizeof(target), &first, &count, &ro) < 0) {
            kprintf("pv: %s: disk \"%s\": expected phy:<disk>[@<first>+<count>],<vdev>,<r|w>\n", cfg->name,
                    cfg->disks[i]);
            return -PL_EINVAL;
        }
        struct blkdev *b = blkdev_find(target);
        if (!b) {
            kprintf("pv: %s: disk \"%s\": dom0 has no block device %s (see `devices`)\n", cfg->name, cfg->disks[i],
                    target);
            return -PL_ENOENT;
        }
        if (count == 0)
            count = first < b->sectors ? b->sectors - first : 0;
        struct pvblk *d = get_dev();
        if (!d) {
            kprintf("pv: %s: out of virtio-blk devices\n", cfg->name);
            return -PL_ENOMEM;
        }
        int rc = vblk_create(&d->vb, pvdev_guestmem(pd), b, first, count, ro);
        if (rc < 0) {
            kprintf("pv: %s: disk \"%s\": %s (sectors %llu+%llu of %s's %llu)\n", cfg->name, cfg->disks[i],
                    errno_name(rc), (unsigned long long)first, (unsigned long long)count, b->name,
                    (unsigned long long)b->sectors);
            d->in_use = false;
            return rc;
        }
        memcpy(d->target, target, sizeof(target));
        d->pd = pd;
        d->violations_logged = 0;
        int w = pvdev_add(pd, &blk_ops, d);
        if (w < 0) {
            kprintf("pv: %s: more than %d devices\n", cfg->name, PLINTH_VIRTIO_MMIO_MAX);
            d->in_use = false;
            return w;
        }
        d->window = (unsigned)w;
        vblk_set_irq(&d->vb, raise_irq, d);
    }
    return 0;
}
