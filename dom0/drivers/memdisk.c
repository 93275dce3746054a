/* RAM disks: a file module whose name ends in ".img" (module2 <file>
 * type=file <name>.img) becomes a block device mem0, mem1, ... over the
 * module's bytes in dom0's RAM (the hypervisor copied it there at boot).
 * Reads and writes are memcpy: they complete at once, in instructions,
 * which makes the device a reference for benchmarks and a disk backend
 * where the emulator has no usable one. Writes change dom0's copy only
 * (the file the module came from is never touched); flush succeeds and
 * does nothing. A size that is not a multiple of 512 bytes loses its tail. */
#include "dom0/drivers/dev.h"
#include "dom0/kernel/dom0.h"
#include "plinth/hypercall.h"

struct memdisk {
    struct blkdev b;
    uint8_t *base;
};

static unsigned memdisks;

static int md_range(struct blkdev *b, uint64_t lba, uint32_t count)
{
    if (lba >= b->sectors || count > b->sectors - lba)
        return -PL_ERANGE;
    return 0;
}

static int md_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
    int r = md_range(b, lba, count);
    if (r)
        return r;
    struct memdisk *m = b->priv;
    memcpy(buf, m->base + lba * BLK_SECTOR, (size_t)count * BLK_SECTOR);
    return 0;
}

static int md_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
    int r = md_range(b, lba, count);
    if (r)
        return r;
    if (b->read_only)
        return -PL_EPERM;
    struct memdisk *m = b->priv;
    memcpy(m->base + lba * BLK_SECTOR, buf, (size_t)count * BLK_SECTOR);
    return 0;
}

static int md_flush(struct blkdev *b)
{
    (void)b;
    return 0;
}

int memdisk_add(const char *module, void *data, uint64_t size)
{
    if (size < BLK_SECTOR) {
        kprintf("memdisk: module %s: %llu bytes, less than one sector; no RAM disk\n", module,
                (unsigned long long)size);
        return -PL_EINVAL;
    }
    struct memdisk *m = kalloc(sizeof *m, 64);
    if (!m) {
        kprintf("memdisk: module %s: out of memory\n", module);
        return -PL_ENOMEM;
    }
    m->base = data;
    m->b.driver = "ram (module)";
    m->b.sectors = size / BLK_SECTOR;
    m->b.read = md_read;
    m->b.write = md_write;
    m->b.flush = md_flush;
    m->b.priv = m;
    ksnprintf(m->b.name, sizeof m->b.name, "mem%u", memdisks);
    int r = blkdev_register(&m->b);
    if (r) {
        kprintf("memdisk: module %s: no room for another block device (%d)\n", module, r);
        return r;
    }
    memdisks++;
    kprintf("%s: RAM disk of module %s at 0x%llx\n", m->b.name, module, (unsigned long long)(uintptr_t)data);
    return 0;
}
