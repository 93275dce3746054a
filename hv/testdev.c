/* Test MMIO device at TESTDEV_BASE: 0x0 magic (32-bit), 0x8..0xF a 64-bit
 * scratch register accessible as any little-endian slice, 0x10 the number
 * of accesses so far. Exercises the MMIO path at every access size.
 * 0x18 (write, 64-bit): write-protect the guest RAM page at that address in
 * the second-level tables until the guest next writes it; 0x20 (read): how
 * many such writes trapped. Lets a guest make its own event delivery exit
 * (the CPU pushes the frame onto a protected stack) to test re-injection.
 * 0x28 (read): how many times this guest was started before (reboots).
 * 0x30 / 0x38 (read, 64-bit): a measurement window in host TSC cycles
 * shared by all boot domains (0 until they have all started), so CPU-share
 * probes count over exactly the same span. */
#include "hv/domain.h"
#include "hv/mmio.h"

#define TESTDEV_MAGIC_OFF 0x0
#define TESTDEV_SCRATCH_OFF 0x8
#define TESTDEV_COUNT_OFF 0x10
#define TESTDEV_WP_ARM_OFF 0x18
#define TESTDEV_WP_HITS_OFF 0x20
#define TESTDEV_BOOT_COUNT_OFF 0x28
#define TESTDEV_WINDOW_START_OFF 0x30
#define TESTDEV_WINDOW_END_OFF 0x38
#define PAGE_MASK_ 0xFFFull

uint64_t testdev_window_start, testdev_window_end;

static uint64_t slice(uint64_t reg, uint64_t byte_off, unsigned size)
{
    uint64_t v = reg >> (8 * byte_off);
    return size == 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static uint64_t testdev_read(struct domain *d, uint64_t off, unsigned size)
{
    d->testdev_accesses++;
    if (off < TESTDEV_MAGIC_OFF + 4)
        return slice(TESTDEV_MAGIC, off, size);
    if (off >= TESTDEV_SCRATCH_OFF && off + size <= TESTDEV_SCRATCH_OFF + 8)
        return slice(d->testdev_scratch, off - TESTDEV_SCRATCH_OFF, size);
    if (off == TESTDEV_COUNT_OFF)
        return slice(d->testdev_accesses, 0, size);
    if (off == TESTDEV_WP_HITS_OFF)
        return slice(d->wp_hits, 0, size);
    if (off == TESTDEV_BOOT_COUNT_OFF)
        return slice(d->boot_count, 0, size);
    if (off == TESTDEV_WINDOW_START_OFF)
        return slice(__atomic_load_n(&testdev_window_start, __ATOMIC_ACQUIRE), 0, size);
    if (off == TESTDEV_WINDOW_END_OFF)
        return slice(__atomic_load_n(&testdev_window_end, __ATOMIC_ACQUIRE), 0, size);
    return 0;
}

static void testdev_write(struct domain *d, uint64_t off, unsigned size, uint64_t val)
{
    d->testdev_accesses++;
    if (off >= TESTDEV_SCRATCH_OFF && off + size <= TESTDEV_SCRATCH_OFF + 8) {
        unsigned shift = 8 * (unsigned)(off - TESTDEV_SCRATCH_OFF);
        uint64_t mask = (size == 8 ? ~0ull : (1ull << (8 * size)) - 1) << shift;
        d->testdev_scratch = (d->testdev_scratch & ~mask) | ((val << shift) & mask);
    } else if (off == TESTDEV_WP_ARM_OFF && size == 8) {
        uint64_t page = val & ~PAGE_MASK_;
        if (d->wp_page || !domain_ram_contains(d, page, PAGE_MASK_ + 1))
            return; /* one page at a time, and only RAM */
        if (arch_aspace_protect(&d->as, page, PAGE_MASK_ + 1, ASPACE_R | ASPACE_X) == 0)
            d->wp_page = page;
    }
}

const struct mmio_region testdev_region = {
    .name = "testdev",
    .base = TESTDEV_BASE,
    .len = TESTDEV_SIZE,
    .read = testdev_read,
    .write = testdev_write,
};
