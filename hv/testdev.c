/* Test MMIO device at TESTDEV_BASE: 0x0 magic (32-bit), 0x8..0xF a 64-bit
 * scratch register accessible as any little-endian slice, 0x10 the number
 * of accesses so far. Exercises the MMIO path at every access size. */
#include "hv/guest.h"
#include "hv/mmio.h"

#define TESTDEV_MAGIC_OFF 0x0
#define TESTDEV_SCRATCH_OFF 0x8
#define TESTDEV_COUNT_OFF 0x10

static uint64_t slice(uint64_t reg, uint64_t byte_off, unsigned size)
{
    uint64_t v = reg >> (8 * byte_off);
    return size == 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static uint64_t testdev_read(struct guest *g, uint64_t off, unsigned size)
{
    g->testdev_accesses++;
    if (off < TESTDEV_MAGIC_OFF + 4)
        return slice(TESTDEV_MAGIC, off, size);
    if (off >= TESTDEV_SCRATCH_OFF && off + size <= TESTDEV_SCRATCH_OFF + 8)
        return slice(g->testdev_scratch, off - TESTDEV_SCRATCH_OFF, size);
    if (off == TESTDEV_COUNT_OFF)
        return slice(g->testdev_accesses, 0, size);
    return 0;
}

static void testdev_write(struct guest *g, uint64_t off, unsigned size, uint64_t val)
{
    g->testdev_accesses++;
    if (off >= TESTDEV_SCRATCH_OFF && off + size <= TESTDEV_SCRATCH_OFF + 8) {
        unsigned shift = 8 * (unsigned)(off - TESTDEV_SCRATCH_OFF);
        uint64_t mask = (size == 8 ? ~0ull : (1ull << (8 * size)) - 1) << shift;
        g->testdev_scratch = (g->testdev_scratch & ~mask) | ((val << shift) & mask);
    }
}

const struct mmio_region testdev_region = {
    .name = "testdev",
    .base = TESTDEV_BASE,
    .len = TESTDEV_SIZE,
    .read = testdev_read,
    .write = testdev_write,
};
