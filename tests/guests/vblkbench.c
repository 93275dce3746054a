/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk read benchmark (bench/pv_blk.py): 4 KiB reads through the
 * first virtio-blk device, sequential and random, at queue depth 1 and 32
 * (up to that many requests in flight, refilled as they complete), sleeping
 * for the device's interrupt with VIRTIO_F_EVENT_IDX negotiated. For each
 * run it prints the elapsed time (TSC, converted with the start
 * information's tsc_khz), its own counts of notifications (QueueNotify
 * writes) and device interrupts taken, and the hypervisor's exit counts for
 * this vCPU (HC_EXIT_STATS, before and after).
 *
 * The offsets are those of dom0's `blk <disk> bench seq|rand` over the same
 * sectors (dom0/drivers/devcmd.c): slot i (sequential, wrapping) or
 * xorshift64 from the same seed, times 8 sectors.
 *
 * Command line: count=N (reads per run, default 1024), depth=N (the deep
 * run's depth, default 32, at most 32).
 */
#include "guest.h"
#include "virtio.h"

#include <plinth/hypercall.h>
#include <plinth/start_info.h>

GUEST("vblkbench");

#define BENCH_BYTES 4096u
#define BENCH_SECTORS (BENCH_BYTES / VIRTIO_BLK_SECTOR_SIZE)
#define BENCH_SEED 0x9E3779B97F4A7C15ull
#define MAX_DEPTH 32

struct slot {
    struct virtio_blk_req_hdr hdr;  /* 16 bytes */
    volatile uint8_t status;
    uint8_t pad[15];
};

static struct vblk blk;
static struct slot slots[MAX_DEPTH] __attribute__((aligned(64)));
static uint8_t data[MAX_DEPTH][BENCH_BYTES] __attribute__((aligned(4096)));
static struct plinth_exit_stats st0, st1;

static uint64_t opt_num(const char *key, uint64_t dflt)
{
    const struct plinth_start_info *si = (const struct plinth_start_info *)boot_reg_a;
    if (!boot_reg_a || boot_reg_a >= 0x100000 || si->magic != PLINTH_START_MAGIC)
        return dflt;
    const char *s = si->cmdline;
    size_t k = strlen(key);
    for (size_t i = 0; i < PLINTH_START_CMDLINE_MAX && s[i]; i++) {
        if ((i == 0 || s[i - 1] == ' ') && memcmp(s + i, key, k) == 0) {
            uint64_t v = 0;
            bool any = false;
            for (size_t j = i + k; s[j] >= '0' && s[j] <= '9'; j++, any = true)
                v = v * 10 + (uint64_t)(s[j] - '0');
            return any ? v : dflt;
        }
    }
    return dflt;
}

/* Called where each measured span starts and ends: a fixed address that
 * tools/prof/tbprof.so can cut its profile at (trigger=). */
__attribute__((noinline)) void vblkbench_mark(void) { __asm__ volatile("" ::: "memory"); }

static int run(bool rnd, unsigned depth, uint64_t count, bool report)
{
    struct virtq *q = blk.vq;
    uint64_t slots_n = blk.capacity / BENCH_SECTORS, x = BENCH_SEED;
    uint64_t issued = 0, done = 0, bad = 0;
    unsigned free_slots[MAX_DEPTH], nfree = depth;
    for (unsigned i = 0; i < depth; i++)
        free_slots[i] = depth - 1 - i;
    unsigned long notifies0 = q->notifies, suppressed0 = q->notifies_suppressed, irqs0 = blk.dev.irqs;
    unsigned long polled0 = q->completions_polled, waits0 = q->waits;

    hc_exit_stats(&st0);
    vblkbench_mark();
    uint64_t t0 = rdtsc();
    while (done < count) {
        while (nfree && issued < count) {
            uint64_t slot = issued % slots_n;
            if (rnd) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                slot = x % slots_n;
            }
            unsigned s = free_slots[--nfree];
            slots[s].hdr = (struct virtio_blk_req_hdr){VIRTIO_BLK_T_IN, 0, slot * BENCH_SECTORS};
            slots[s].status = 0xFF;
            struct virtq_buf bufs[3] = {{&slots[s].hdr, sizeof(slots[s].hdr), false},
                                        {data[s], BENCH_BYTES, true},
                                        {(void *)&slots[s].status, 1, true}};
            if (virtq_add(q, bufs, 3, &slots[s]) != 0)
                return -PL_ENOSPC;
            issued++;
        }
        virtq_kick(q);
        int rc = virtq_wait(q);
        if (rc)
            return rc;
        void *t;
        uint32_t len;
        while ((t = virtq_get_used(q, &len)) != NULL) {
            struct slot *sl = t;
            if (len != BENCH_BYTES + 1 || sl->status != VIRTIO_BLK_S_OK)
                bad++;
            free_slots[nfree++] = (unsigned)(sl - slots);
            done++;
        }
    }
    uint64_t t1 = rdtsc();
    vblkbench_mark();
    hc_exit_stats(&st1);

    uint64_t ticks = t1 - t0, khz = virtio_tsc_khz();
    uint64_t ns = ticks / khz * 1000000ull + ticks % khz * 1000000ull / khz;
#define D(r) ((unsigned long long)(st1.count[r] - st0.count[r]))
    /* The HC_EXIT_STATS call that takes st1 is itself one hypercall exit. */
    /* Two lines: the hypervisor's log splits long lines of guest output. */
    if (report) {
        printf("vblkbench: %s depth=%u requests=%llu bytes=%llu elapsed_ns=%llu notifies=%lu suppressed=%lu "
               "irqs=%lu waits=%lu polled=%lu bad=%llu\n",
               rnd ? "rand" : "seq", depth, (unsigned long long)count, (unsigned long long)(count * BENCH_BYTES),
               (unsigned long long)ns, q->notifies - notifies0, q->notifies_suppressed - suppressed0,
               blk.dev.irqs - irqs0, q->waits - waits0, q->completions_polled - polled0, (unsigned long long)bad);
        printf("vblkbench: %s depth=%u exits=%llu memory=%llu hypercall=%llu hlt=%llu extint=%llu intr_window=%llu "
               "io=%llu\n",
               rnd ? "rand" : "seq", depth, (unsigned long long)(st1.total - st0.total), D(PLINTH_EXIT_MEMORY),
               D(PLINTH_EXIT_HYPERCALL), D(PLINTH_EXIT_HLT), D(PLINTH_EXIT_EXTINT), D(PLINTH_EXIT_INTR_WINDOW),
               D(PLINTH_EXIT_IO));
    }
#undef D
    return bad ? -PL_EIO : 0;
}

int main(void)
{
    uint64_t count = opt_num("count=", 1024);
    unsigned deep = (unsigned)opt_num("depth=", MAX_DEPTH);
    if (deep < 1 || deep > MAX_DEPTH)
        deep = MAX_DEPTH;
    int rc = vblk_open(&blk, 0, VIRTIO_WAIT_IRQ, true);
    CHECKF(rc == 0, "virtio-blk device initialised", "result %d", rc);
    if (rc)
        return 1;
    CHECK(virtio_has(&blk.dev, VIRTIO_F_EVENT_IDX), "VIRTIO_F_EVENT_IDX negotiated");
    CHECKF(blk.vq->size >= 3 * MAX_DEPTH, "queue holds 32 requests of 3 descriptors", "queue size %u", blk.vq->size);
    CHECKF(blk.capacity >= BENCH_SECTORS, "room for one read", "capacity %llu", (unsigned long long)blk.capacity);
    if (blk.capacity < BENCH_SECTORS || blk.vq->size < 3 * MAX_DEPTH)
        return 1;
    printf("vblkbench: capacity %llu sectors, queue size %u, event_idx %d, tsc_khz %llu, %llu reads of %u bytes "
           "per run\n",
           (unsigned long long)blk.capacity, blk.vq->size, blk.vq->event_idx, (unsigned long long)virtio_tsc_khz(),
           (unsigned long long)count, BENCH_BYTES);

    /* Warm-up (not reported): the first requests also touch cold state. */
    rc = run(false, 1, 8, false);
    CHECKF(rc == 0, "warm-up", "result %d", rc);
    const unsigned depths[2] = {1, deep};
    for (int rnd = 0; rnd < 2; rnd++)
        for (int d = 0; d < 2; d++) {
            rc = run(rnd, depths[d], count, true);
            CHECKF(rc == 0, "benchmark run", "%s depth %u: result %d", rnd ? "rand" : "seq", depths[d], rc);
        }
    virtio_print_stats(&blk.dev, "vblkbench");
    return tests_failed();
}
