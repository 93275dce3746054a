/* Emulated MMIO regions: guest-physical ranges with no RAM behind them
 * whose accesses (EPT violations / nested page faults) are decoded and
 * handed to a device model. */
#ifndef HV_MMIO_H
#define HV_MMIO_H

#include <stdbool.h>
#include <stdint.h>

struct domain;

struct mmio_region {
    const char *name;
    uint64_t base, len;
    /* size is 1, 2, 4 or 8 and [off, off+size) lies inside the region */
    uint64_t (*read)(struct domain *d, uint64_t off, unsigned size);
    void (*write)(struct domain *d, uint64_t off, unsigned size, uint64_t val);
};

/* The test device every guest has (hv/testdev.c). */
#define TESTDEV_BASE 0xFEB00000ull
#define TESTDEV_SIZE 0x1000ull
#define TESTDEV_MAGIC 0x504C4E54u /* "TNLP" little endian: 'PLNT' */
extern const struct mmio_region testdev_region;
/* The shared measurement window the test device reports (host TSC). */
extern uint64_t testdev_window_start, testdev_window_end;

const struct mmio_region *mmio_find(uint64_t gpa);

struct insn;
struct vcpu;
/* Decode the instruction of an MMIO access at gpa (what names the device
 * for the diagnostic); false when it cannot be emulated (the domain is
 * stopped). */
bool mmio_decode(struct vcpu *v, uint64_t gpa, const char *what, struct insn *in);
/* Complete it: a read delivers val (into a register or, for cmp/test, the
 * flags); RIP moves past the instruction. On the vCPU's current CPU. */
void mmio_finish(struct vcpu *v, const struct insn *in, uint64_t val);

#endif
