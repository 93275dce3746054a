/* SPDX-License-Identifier: MIT */
/* Misbehaving but must survive: 100,000 hypercalls with random numbers and
 * arguments (pointers into and outside its memory, wrapping and
 * non-canonical values). 70 % of the calls use a real hypercall number, so
 * the argument checks are what is fuzzed. Every result must be >= 0 or a
 * negated PL_E* code, and unknown numbers must return -PL_ENOSYS.
 * HC_SHUTDOWN is never called. The seed and count are printed; set SEED to
 * replay a run. */
#include "guest.h"
#include "plinth/version.h"

GUEST("bad_hypercall");

#define CALLS 100000
#define SEED 0x5eed0f91a7ull

static uint64_t lcg_state = SEED;

static uint64_t rnd(void)
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull; /* Knuth's MMIX LCG */
    return lcg_state >> 16 ^ lcg_state << 48;
}

/* HC_EXIT_STATS may write through any argument. The RAM addresses passed are
 * into this buffer, below 1 MiB (unused) or multiples of 1,000,000 above 1 MiB
 * (beyond this small image): none of them is code or data in use. */
static char scratch[16384] __attribute__((aligned(64)));

static uint64_t random_arg(void)
{
    switch (rnd() % 10) {
    case 0:
        return 0;
    case 1:
        return rnd() % 300; /* small: lengths, vectors */
    case 2:
        return rnd() % 8000 + 1000; /* around HC_CONSOLE_MAX */
    case 3:
        return rnd(); /* anything, often non-canonical */
    case 4:
        return (uintptr_t)scratch + rnd() % 4096; /* in RAM */
    case 5:
        return 0xC0000000ull + rnd() % 0x40000000; /* gpa above RAM, below 4 GiB */
    case 6:
        return TESTDEV_BASE + rnd() % 4096; /* the MMIO device: not RAM */
    case 7:
        return 0x100000000ull << (rnd() % 16); /* above 4 GiB */
    case 8:
        return -(rnd() % 4096); /* just below 2^64: wraps */
    default:
        return 1000000ull * (rnd() % 100); /* timer-like nanoseconds */
    }
}

int main(void)
{
    unsigned bad = 0, enosys = 0, ok = 0;

    for (size_t i = 0; i < sizeof(scratch); i++)
        scratch[i] = (i % 64 == 63) ? '\n' : '.';
    printf("bad_hypercall: seed 0x%lx, %u calls with IF=0\n", (uint64_t)SEED, CALLS);

    for (unsigned i = 0; i < CALLS; i++) {
        uint64_t nr;
        do
            nr = rnd() % 10 < 7 ? rnd() % HC_COUNT : rnd() % 1001;
        while (nr == HC_SHUTDOWN);
        uint64_t a[5];
        for (int j = 0; j < 5; j++)
            a[j] = random_arg();
        if (nr == HC_CONSOLE_WRITE && a[0] < 0x1000000) {
            /* In RAM: print a few dots from scratch (not random RAM, and
             * not megabytes of log); out of RAM: any length. */
            a[0] = (uintptr_t)scratch + a[0] % 4096;
            if (rnd() % 10)
                a[1] = a[1] > HC_CONSOLE_MAX ? a[1] : a[1] % 9;
        }
        enum hc_insn insn = rnd() & 1 ? HC_INSN_VMMCALL : HC_INSN_VMCALL;
        long r = hypercall_insn(insn, nr, a[0], a[1], a[2], a[3], a[4]);
        bool valid = hc_result_valid(r) && (nr < HC_COUNT || r == -PL_ENOSYS);
        enosys += r == -PL_ENOSYS;
        ok += r >= 0;
        if (!valid && ++bad <= 10)
            printf("bad_hypercall: call %u: nr %lu (0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx) -> %ld\n", i, nr, a[0], a[1],
                   a[2], a[3], a[4], r);
    }
    hc_set_timer(0, 32); /* cancel any timer a random call armed */
    /* The random console writes may have left a partial line. */
    printf("\nbad_hypercall: %u succeeded, %u -ENOSYS, %u invalid results\n", ok, enosys, bad);
    CHECKF(bad == 0, "random hypercalls return valid results", "%u invalid results", bad);
    CHECK_EQ(hc_version(), (PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR, "hypercalls still work afterwards");
    return tests_failed();
}
