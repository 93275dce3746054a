/* Legacy IDE (ATA) in PIO mode on the primary (0x1F0/0x3F6, IRQ 14) and
 * secondary (0x170/0x376, IRQ 15) channels: IDENTIFY, READ/WRITE SECTORS
 * (EXT for LBA48), FLUSH CACHE, completion by interrupt with a timeout.
 * ATAPI devices (the boot CD-ROM) are recognised by their signature and
 * left alone. */
#include "dom0/drivers/dev.h"
#include "dom0/drivers/drivers.h"
#include "dom0/kernel/dom0.h"

#define ATA_DATA 0
#define ATA_ERROR 1
#define ATA_FEATURES 1
#define ATA_SECCOUNT 2
#define ATA_LBA0 3
#define ATA_LBA1 4
#define ATA_LBA2 5
#define ATA_DRIVE 6
#define ATA_STATUS 7
#define ATA_COMMAND 7

#define ST_ERR 0x01u
#define ST_DRQ 0x08u
#define ST_DF 0x20u
#define ST_DRDY 0x40u
#define ST_BSY 0x80u

#define CTL_NIEN 0x02u
#define CTL_SRST 0x04u

#define CMD_READ 0x20u
#define CMD_READ_EXT 0x24u
#define CMD_WRITE 0x30u
#define CMD_WRITE_EXT 0x34u
#define CMD_FLUSH 0xE7u
#define CMD_FLUSH_EXT 0xEAu
#define CMD_IDENTIFY 0xECu

#define ATA_TIMEOUT_US 5000000u
#define ATA_LBA28_MAX 0x0FFFFFFFull

struct ata_disk;

struct ata_chan {
    const char *name;
    uint16_t base, ctrl;
    unsigned irq;
    bool irq_ok;
    volatile bool irq_seen;
    struct ata_disk *active;    /* disk of the command in progress */
    uint64_t missed;            /* completions found by polling after a timeout */
};

struct ata_disk {
    struct blkdev b;
    struct ata_chan *ch;
    unsigned slave;
    bool lba48;
    char model[41];
};

static struct ata_chan chans[2] = {
    { "ata0", 0x1F0, 0x3F6, 14, false, false, NULL, 0 },
    { "ata1", 0x170, 0x376, 15, false, false, NULL, 0 },
};

static uint8_t alt_status(struct ata_chan *c)
{
    return inb(c->ctrl);
}

static void delay400ns(struct ata_chan *c)
{
    for (int i = 0; i < 4; i++)
        (void)alt_status(c);
}

static bool not_busy(void *arg)
{
    return !(alt_status(arg) & ST_BSY);
}

static bool data_ready(void *arg)
{
    uint8_t s = alt_status(arg);
    return !(s & ST_BSY) && (s & (ST_DRQ | ST_ERR | ST_DF));
}

static bool irq_seen(void *arg)
{
    return ((struct ata_chan *)arg)->irq_seen;
}

static bool ata_irq(void *arg)
{
    struct ata_chan *c = arg;
    uint8_t s = inb(c->base + ATA_STATUS);      /* reading acknowledges */
    if (s & ST_BSY)
        return false;
    c->irq_seen = true;
    if (c->active)
        c->active->b.irqs++;
    return true;
}

/* Wait for the interrupt that ends a phase (or, without one, for the
 * status to say so); want_data: a data phase (DRQ) rather than the end. */
static bool wait_phase(struct ata_chan *c, bool want_data)
{
    bool (*cond)(void *) = want_data ? data_ready : not_busy;
    if (c->irq_ok) {
        if (wait_until(irq_seen, c, ATA_TIMEOUT_US))
            return true;
        if (!cond(c))
            return false;
        if (c->missed++ == 0)
            kprintf("%s: completion without an interrupt (irq %u)\n", c->name, c->irq);
        return true;
    }
    return drv_wait(cond, c, ATA_TIMEOUT_US);
}

static void select_drive(struct ata_chan *c, uint8_t v)
{
    outb(c->base + ATA_DRIVE, v);
    delay400ns(c);
}

/* Program the task file and issue cmd (after BSY clears). */
static int issue(struct ata_disk *d, uint8_t cmd, uint64_t lba, uint32_t count, bool lba48)
{
    struct ata_chan *c = d->ch;
    if (!drv_wait(not_busy, c, ATA_TIMEOUT_US))
        return -PL_EIO;
    if (lba48) {
        select_drive(c, (uint8_t)(0x40u | d->slave << 4));
        outb(c->base + ATA_SECCOUNT, (uint8_t)(count >> 8));
        outb(c->base + ATA_LBA0, (uint8_t)(lba >> 24));
        outb(c->base + ATA_LBA1, (uint8_t)(lba >> 32));
        outb(c->base + ATA_LBA2, (uint8_t)(lba >> 40));
    } else {
        select_drive(c, (uint8_t)(0xE0u | d->slave << 4 | ((lba >> 24) & 0x0F)));
    }
    outb(c->base + ATA_SECCOUNT, (uint8_t)count);
    outb(c->base + ATA_LBA0, (uint8_t)lba);
    outb(c->base + ATA_LBA1, (uint8_t)(lba >> 8));
    outb(c->base + ATA_LBA2, (uint8_t)(lba >> 16));
    if (!drv_wait(not_busy, c, ATA_TIMEOUT_US))
        return -PL_EIO;
    c->active = d;
    c->irq_seen = false;
    outb(c->base + ATA_COMMAND, cmd);
    return 0;
}

static int fail(struct ata_disk *d, const char *what, uint64_t lba)
{
    struct ata_chan *c = d->ch;
    uint8_t s = alt_status(c);
    kprintf("%s: %s at lba %llu failed: status %02x error %02x\n", d->b.name, what,
            (unsigned long long)lba, s, inb(c->base + ATA_ERROR));
    c->active = NULL;
    return -PL_EIO;
}

static int check_range(struct blkdev *b, uint64_t lba, uint32_t count)
{
    if (lba > b->sectors || count > b->sectors - lba)
        return -PL_ERANGE;
    return 0;
}

static int ata_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
    struct ata_disk *d = b->priv;
    struct ata_chan *c = d->ch;
    uint8_t *p = buf;
    int r = check_range(b, lba, count);
    while (r == 0 && count) {
        uint32_t n = count < 256 ? count : 256;
        bool use48 = lba + n - 1 > ATA_LBA28_MAX;
        r = issue(d, use48 ? CMD_READ_EXT : CMD_READ, lba, n == 256 && !use48 ? 0 : n, use48);
        if (r)
            return fail(d, "read", lba);
        for (uint32_t s = 0; s < n; s++) {
            if (!wait_phase(c, true))
                return fail(d, "read (timeout)", lba + s);
            uint8_t st = inb(c->base + ATA_STATUS);
            if ((st & (ST_ERR | ST_DF)) || !(st & ST_DRQ))
                return fail(d, "read", lba + s);
            c->irq_seen = false;    /* before the transfer that triggers the next one */
            for (unsigned w = 0; w < 256; w++) {
                uint16_t v = inw(c->base + ATA_DATA);
                p[2 * w] = (uint8_t)v;
                p[2 * w + 1] = (uint8_t)(v >> 8);
            }
            p += BLK_SECTOR;
        }
        c->active = NULL;
        lba += n;
        count -= n;
    }
    return r;
}

static int ata_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
    struct ata_disk *d = b->priv;
    struct ata_chan *c = d->ch;
    const uint8_t *p = buf;
    if (b->read_only)
        return -PL_EPERM;
    int r = check_range(b, lba, count);
    while (r == 0 && count) {
        uint32_t n = count < 256 ? count : 256;
        bool use48 = lba + n - 1 > ATA_LBA28_MAX;
        r = issue(d, use48 ? CMD_WRITE_EXT : CMD_WRITE, lba, n == 256 && !use48 ? 0 : n, use48);
        if (r)
            return fail(d, "write", lba);
        for (uint32_t s = 0; s < n; s++) {
            /* The first sector's DRQ comes without an interrupt. */
            if (s == 0 && !drv_wait(data_ready, c, ATA_TIMEOUT_US))
                return fail(d, "write (timeout)", lba);
            uint8_t st = alt_status(c);
            if ((st & (ST_ERR | ST_DF)) || !(st & ST_DRQ))
                return fail(d, "write", lba + s);
            c->irq_seen = false;
            for (unsigned w = 0; w < 256; w++)
                outw(c->base + ATA_DATA, (uint16_t)(p[2 * w] | p[2 * w + 1] << 8));
            p += BLK_SECTOR;
            if (!wait_phase(c, s + 1 < n))
                return fail(d, "write (timeout)", lba + s);
            st = inb(c->base + ATA_STATUS);
            if (st & (ST_ERR | ST_DF))
                return fail(d, "write", lba + s);
        }
        c->active = NULL;
        lba += n;
        count -= n;
    }
    return r;
}

static int ata_flush(struct blkdev *b)
{
    struct ata_disk *d = b->priv;
    struct ata_chan *c = d->ch;
    if (issue(d, d->lba48 ? CMD_FLUSH_EXT : CMD_FLUSH, 0, 0, false))
        return fail(d, "flush", 0);
    if (!wait_phase(c, false))
        return fail(d, "flush (timeout)", 0);
    uint8_t st = inb(c->base + ATA_STATUS);
    c->active = NULL;
    if (st & (ST_ERR | ST_DF))
        return fail(d, "flush", 0);
    return 0;
}

static void ident_string(char *out, const uint16_t *id, unsigned first, unsigned words)
{
    unsigned n = 0;
    for (unsigned i = 0; i < words; i++) {
        out[n++] = (char)(id[first + i] >> 8);
        out[n++] = (char)id[first + i];
    }
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == 0))
        n--;
    out[n] = 0;
    for (unsigned i = 0; i < n; i++)
        if (out[i] < 32 || out[i] > 126)
            out[i] = '?';
}

/* IDENTIFY one drive, polling (before its interrupt is bound). */
static void probe_drive(struct ata_chan *c, unsigned slave)
{
    const char *pos = slave ? "slave" : "master";
    select_drive(c, (uint8_t)(0xA0u | slave << 4));
    uint8_t s = alt_status(c);
    if (s == 0xFF || s == 0x7F)
        return;                             /* floating bus: nothing there */
    outb(c->base + ATA_SECCOUNT, 0);
    outb(c->base + ATA_LBA0, 0);
    outb(c->base + ATA_LBA1, 0);
    outb(c->base + ATA_LBA2, 0);
    outb(c->base + ATA_COMMAND, CMD_IDENTIFY);
    delay400ns(c);
    if (alt_status(c) == 0)
        return;                             /* no drive */
    if (!drv_wait(not_busy, c, 1000000)) {
        kprintf("%s %s: busy after IDENTIFY, ignored\n", c->name, pos);
        return;
    }
    uint8_t l1 = inb(c->base + ATA_LBA1), l2 = inb(c->base + ATA_LBA2);
    if ((l1 == 0x14 && l2 == 0xEB) || (l1 == 0x69 && l2 == 0x96)) {
        (void)inb(c->base + ATA_STATUS);
        kprintf("%s %s: ATAPI device (CD-ROM), ignored\n", c->name, pos);
        return;
    }
    if (l1 || l2) {
        (void)inb(c->base + ATA_STATUS);
        kprintf("%s %s: not an ATA disk (signature %02x%02x), ignored\n", c->name, pos, l2, l1);
        return;
    }
    if (!drv_wait(data_ready, c, 1000000) || (inb(c->base + ATA_STATUS) & (ST_ERR | ST_DF))) {
        kprintf("%s %s: IDENTIFY failed, ignored\n", c->name, pos);
        return;
    }
    uint16_t id[256];
    for (unsigned i = 0; i < 256; i++)
        id[i] = inw(c->base + ATA_DATA);
    if (id[0] & 0x8000u) {
        kprintf("%s %s: not an ATA device (word 0 %04x), ignored\n", c->name, pos, id[0]);
        return;
    }
    if (!(id[49] & (1u << 9))) {
        kprintf("%s %s: no LBA support, ignored\n", c->name, pos);
        return;
    }
    struct ata_disk *d = kalloc(sizeof *d, 64);
    if (!d)
        return;
    d->ch = c;
    d->slave = slave;
    d->lba48 = (id[83] & (1u << 10)) != 0;
    uint64_t sectors = id[60] | (uint32_t)id[61] << 16;
    if (d->lba48) {
        uint64_t s48 = id[100] | (uint64_t)id[101] << 16 | (uint64_t)id[102] << 32 |
                       (uint64_t)id[103] << 48;
        if (s48 > sectors)
            sectors = s48;
    }
    ident_string(d->model, id, 27, 20);
    d->b.driver = "ata";
    d->b.sectors = sectors;
    d->b.read = ata_read;
    d->b.write = ata_write;
    d->b.flush = ata_flush;
    d->b.priv = d;
    kprintf("%s %s: \"%s\", %llu sectors, LBA%s\n", c->name, pos, d->model,
            (unsigned long long)sectors, d->lba48 ? "48" : "28");
    blkdev_register(&d->b);
}

void ata_init(void)
{
    for (unsigned i = 0; i < 2; i++) {
        struct ata_chan *c = &chans[i];
        uint8_t s = inb(c->base + ATA_STATUS);
        if (s == 0xFF) {
            kprintf("%s: no channel at %x\n", c->name, c->base);
            continue;
        }
        outb(c->ctrl, 0);                   /* nIEN clear: interrupts on */
        unsigned before = blkdev_count();
        probe_drive(c, 0);
        probe_drive(c, 1);
        if (blkdev_count() == before)
            continue;
        (void)inb(c->base + ATA_STATUS);
        c->irq_ok = drv_irq_attach(c->irq, ata_irq, c, c->name) == 0;
    }
}
