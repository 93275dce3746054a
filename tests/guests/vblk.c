/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk frontend test (tests/guests/lib/virtio.h): finds the first
 * virtio-blk device among the domain's virtio-mmio windows, writes a
 * pattern derived from the sector number and a seed, flushes, reads it back
 * and verifies it, and checks that requests beyond the capacity fail.
 *
 * Command line (start information), space-separated options:
 *   verify-only           only read and verify a pattern an earlier run wrote
 *                         (the seed comes from the record sector; seed= must match if given)
 *   crash-after-flush     write, flush, then crash at once (HC_SHUTDOWN crash)
 *   crash-after-flush=triple   ... by a triple fault instead
 *   poll                  poll the used ring instead of sleeping for interrupts
 *   no-event-idx          do not negotiate VIRTIO_F_EVENT_IDX
 *   seed=N start=N sectors=N timeout-ms=N   (decimal or 0x hex)
 *
 * Layout on the disk: sector `start` holds a record (magic, seed, first
 * sector, count); the pattern fills sectors start+1 .. start+count.
 */
#include "guest.h"
#include "virtio.h"

#include <plinth/start_info.h>

GUEST("vblk");

#define RECORD_MAGIC 0x31304B4C4256504Cull /* "LPVBLK01" */
#define DEFAULT_START 8
#define DEFAULT_SECTORS 64
#define BUF_SECTORS 64

static struct vblk blk;
static uint8_t buf[BUF_SECTORS * VIRTIO_BLK_SECTOR_SIZE] __attribute__((aligned(4096)));
static uint8_t expect[VIRTIO_BLK_SECTOR_SIZE] __attribute__((aligned(64)));

static struct {
    bool verify_only, crash, crash_triple, poll, no_event_idx, have_seed;
    uint64_t seed, start, sectors, timeout_ms;
} opt = {.start = DEFAULT_START, .sectors = DEFAULT_SECTORS};

/* ---------------------------------------------------------------- options */
static bool parse_num(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        n -= 2;
    }
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

static bool token_is(const char *t, size_t n, const char *word)
{
    size_t w = strlen(word);
    return n == w && memcmp(t, word, w) == 0;
}

static bool token_num(const char *t, size_t n, const char *key, uint64_t *out, bool *ok)
{
    size_t k = strlen(key);
    if (n <= k || memcmp(t, key, k) != 0)
        return false;
    *ok = parse_num(t + k, n - k, out);
    return true;
}

static const char *cmdline(void)
{
    const struct plinth_start_info *si = (const struct plinth_start_info *)boot_reg_a;
    if (boot_reg_a && boot_reg_a < 0x100000 && si->magic == PLINTH_START_MAGIC)
        return si->cmdline;
    return "";
}

static void parse_options(const char *s)
{
    /* The first word is the image (the module line); the rest are options. */
    bool first = true;
    for (size_t i = 0; i < PLINTH_START_CMDLINE_MAX && s[i];) {
        if (s[i] == ' ' || s[i] == '\t') {
            i++;
            continue;
        }
        size_t n = 0;
        while (i + n < PLINTH_START_CMDLINE_MAX && s[i + n] && s[i + n] != ' ' && s[i + n] != '\t')
            n++;
        const char *t = s + i;
        bool ok = true;
        i += n;
        if (first) {
            first = false;
            continue;
        }
        if (token_is(t, n, "verify-only"))
            opt.verify_only = true;
        else if (token_is(t, n, "crash-after-flush"))
            opt.crash = true;
        else if (token_is(t, n, "crash-after-flush=triple"))
            opt.crash = opt.crash_triple = true;
        else if (token_is(t, n, "poll"))
            opt.poll = true;
        else if (token_is(t, n, "no-event-idx"))
            opt.no_event_idx = true;
        else if (token_num(t, n, "seed=", &opt.seed, &ok))
            opt.have_seed = ok;
        else if (token_num(t, n, "start=", &opt.start, &ok) || token_num(t, n, "sectors=", &opt.sectors, &ok) ||
                 token_num(t, n, "timeout-ms=", &opt.timeout_ms, &ok))
            ;
        else if (n >= 4 && memcmp(t, "mem=", 4) == 0)
            ; /* the loader's option */
        else
            ok = false;
        if (!ok) {
            char word[64];
            size_t m = n < sizeof(word) - 1 ? n : sizeof(word) - 1;
            memcpy(word, t, m);
            word[m] = 0;
            printf("vblk: ignoring option '%s'\n", word);
        }
    }
}

/* ---------------------------------------------------------------- pattern */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

/* Sector s: word 0 = s, word 1 = seed (readable in a hex dump), then words
 * that depend on seed, s and the word's position. */
static void fill_sector(uint8_t *p, uint64_t seed, uint64_t s)
{
    uint64_t *w = (uint64_t *)p;
    w[0] = s;
    w[1] = seed;
    for (unsigned i = 2; i < VIRTIO_BLK_SECTOR_SIZE / 8; i++)
        w[i] = mix(seed ^ mix(s * 0x9E3779B97F4A7C15ull + i));
}

static void fill_record(uint8_t *p, uint64_t seed)
{
    fill_sector(p, seed, opt.start);
    uint64_t *w = (uint64_t *)p;
    w[2] = RECORD_MAGIC;
    w[3] = opt.start + 1;
    w[4] = opt.sectors;
}

/* ---------------------------------------------------------------- steps */
static void crash_now(void)
{
    if (opt.crash_triple) {
        printf("vblk: crashing now (triple fault)\n");
        load_empty_idt();
        __asm__ __volatile__("int3");
    } else {
        printf("vblk: crashing now (HC_SHUTDOWN crash)\n");
        hypercall(HC_SHUTDOWN, SHUTDOWN_CRASH, 0, 0, 0, 0);
    }
    CHECK(false, "still running after the deliberate crash");
    tests_finish(1);
}

/* Writes the record and the pattern in requests of 1, 2, 3, ... sectors. */
static void write_pattern(uint64_t seed)
{
    fill_record(buf, seed);
    int rc = vblk_write(&blk, opt.start, buf, 1);
    CHECK_EQ(rc, VIRTIO_BLK_S_OK, "write the record sector");

    uint64_t s = opt.start + 1, end = opt.start + 1 + opt.sectors;
    unsigned requests = 0, size = 1;
    rc = 0;
    while (s < end && rc == 0) {
        uint32_t n = (uint32_t)(end - s < size ? end - s : size);
        for (uint32_t k = 0; k < n; k++)
            fill_sector(buf + k * VIRTIO_BLK_SECTOR_SIZE, seed, s + k);
        rc = vblk_write(&blk, s, buf, n);
        if (rc)
            printf("vblk: write of sectors %llu..%llu: %d\n", (unsigned long long)s,
                   (unsigned long long)(s + n - 1), rc);
        s += n;
        requests++;
        size = size % 8 + 1;
    }
    CHECKF(rc == 0, "write the pattern", "%llu sectors in %u writes, last result %d", (unsigned long long)opt.sectors,
           requests, rc);
}

/* Reads the pattern back 16 sectors at a time (not the writes' sizes) and compares. */
static void verify_pattern(uint64_t seed)
{
    uint64_t s = opt.start + 1, end = opt.start + 1 + opt.sectors, bad = 0, first_bad = 0;
    unsigned bad_word = 0;
    int rc = 0;
    while (s < end) {
        uint32_t n = (uint32_t)(end - s < 16 ? end - s : 16);
        memset(buf, 0xA5, n * VIRTIO_BLK_SECTOR_SIZE);
        rc = vblk_read(&blk, s, buf, n);
        if (rc) {
            printf("vblk: read of sectors %llu..%llu: %d\n", (unsigned long long)s, (unsigned long long)(s + n - 1),
                   rc);
            break;
        }
        for (uint32_t k = 0; k < n; k++) {
            fill_sector(expect, seed, s + k);
            const uint64_t *got = (const uint64_t *)(buf + k * VIRTIO_BLK_SECTOR_SIZE), *want = (const uint64_t *)expect;
            for (unsigned i = 0; i < VIRTIO_BLK_SECTOR_SIZE / 8; i++)
                if (got[i] != want[i]) {
                    if (!bad++) {
                        first_bad = s + k;
                        bad_word = i;
                        printf("vblk: sector %llu word %u: 0x%llx, expected 0x%llx (word 0 = 0x%llx)\n",
                               (unsigned long long)(s + k), i, (unsigned long long)got[i],
                               (unsigned long long)want[i], (unsigned long long)got[0]);
                    }
                    break;
                }
        }
        s += n;
    }
    CHECKF(rc == 0, "read the pattern back", "result %d at sector %llu", rc, (unsigned long long)s);
    CHECKF(rc == 0 && bad == 0, "pattern matches", "%llu of %llu sectors differ, first %llu (word %u)",
           (unsigned long long)bad, (unsigned long long)opt.sectors, (unsigned long long)first_bad, bad_word);

    /* One more single-sector read of the last sector. */
    memset(buf, 0, VIRTIO_BLK_SECTOR_SIZE);
    rc = vblk_read(&blk, end - 1, buf, 1);
    fill_sector(expect, seed, end - 1);
    CHECKF(rc == 0 && memcmp(buf, expect, VIRTIO_BLK_SECTOR_SIZE) == 0, "single-sector read of the last sector",
           "result %d, sector word 0 = 0x%llx", rc, (unsigned long long)((uint64_t *)buf)[0]);
}

/* The spec forbids drivers to send these (5.2.6.1); the device must refuse them with IOERR. */
static void beyond_capacity(void)
{
    uint64_t cap = blk.capacity;
    memset(buf, 0, 2 * VIRTIO_BLK_SECTOR_SIZE);
    CHECK_EQ(vblk_read(&blk, cap, buf, 1), VIRTIO_BLK_S_IOERR, "read of sector = capacity: IOERR");
    CHECK_EQ(vblk_read(&blk, cap - 1, buf, 2), VIRTIO_BLK_S_IOERR, "read across the end of the disk: IOERR");
    CHECK_EQ(vblk_read(&blk, ~0ull - 1, buf, 1), VIRTIO_BLK_S_IOERR, "read of sector 2^64-2: IOERR");
    if (!opt.verify_only && !blk.read_only) {
        fill_sector(buf, 0xBAD, cap);
        CHECK_EQ(vblk_write(&blk, cap, buf, 1), VIRTIO_BLK_S_IOERR, "write of sector = capacity: IOERR");
    }
    /* And the device still works. */
    CHECK_EQ(vblk_read(&blk, 0, buf, 1), VIRTIO_BLK_S_OK, "read of sector 0 after the errors");
}

int main(void)
{
    const char *cl = cmdline();
    printf("vblk: command line '%s'\n", cl);
    parse_options(cl);

    unsigned windows = virtio_list();
    int rc = vblk_open(&blk, 0, opt.poll ? VIRTIO_WAIT_POLL : VIRTIO_WAIT_IRQ, !opt.no_event_idx);
    if (rc == -PL_ENOENT) {
        CHECKF(false, "virtio-blk device found", "no virtio-blk device in the %u virtio-mmio windows at 0x%llx "
               "(%u hold a device)", (unsigned)VIRTIO_PLATFORM_COUNT, (unsigned long long)VIRTIO_PLATFORM_BASE, windows);
        return 1;
    }
    CHECKF(rc == 0, "virtio-blk device initialised", "result %d", rc);
    if (rc)
        return 1;
    blk.dev.timeout_ms = opt.timeout_ms;

    printf("vblk: device %u at 0x%lx (vector 0x%x): capacity %llu sectors (%llu KiB), size_max %u, blk_size %u, "
           "%s, %s, queue size %u, event_idx %d, %s\n",
           blk.dev.index, (unsigned long)blk.dev.base, blk.dev.vector, (unsigned long long)blk.capacity,
           (unsigned long long)(blk.capacity / 2), blk.size_max, blk.blk_size, blk.read_only ? "read-only" : "writable",
           blk.flush ? "FLUSH" : "no FLUSH (write-through)", blk.vq->size, blk.vq->event_idx,
           opt.poll ? "polling" : "interrupts");
    printf("vblk: features offered 0x%llx, negotiated 0x%llx\n", (unsigned long long)blk.dev.device_features,
           (unsigned long long)blk.dev.features);
    CHECK(virtio_has(&blk.dev, VIRTIO_F_VERSION_1), "VIRTIO_F_VERSION_1 negotiated");
    CHECK(blk.capacity > 0, "capacity is not zero");

    char id[VIRTIO_BLK_ID_BYTES + 1] = "";
    rc = vblk_get_id(&blk, id);
    if (rc == VIRTIO_BLK_S_OK)
        printf("vblk: device id '%s'\n", id);
    CHECKF(rc == VIRTIO_BLK_S_OK || rc == VIRTIO_BLK_S_UNSUPP, "GET_ID: OK or UNSUPP", "result %d", rc);

    if (opt.sectors == 0 || opt.start + 1 + opt.sectors > blk.capacity) {
        uint64_t room = blk.capacity > opt.start + 1 ? blk.capacity - opt.start - 1 : 0;
        printf("vblk: %llu sectors from %llu do not fit, using %llu\n", (unsigned long long)opt.sectors,
               (unsigned long long)opt.start + 1, (unsigned long long)room);
        opt.sectors = room;
    }
    CHECKF(opt.sectors > 0, "room for the pattern", "capacity %llu, start %llu", (unsigned long long)blk.capacity,
           (unsigned long long)opt.start);
    if (!opt.sectors)
        return 1;

    uint64_t seed = opt.seed;
    if (!opt.verify_only) {
        if (!opt.have_seed)
            seed = mix(rdtsc()) & 0xFFFFFFFFFFFFull;
        printf("vblk: seed 0x%llx, record at sector %llu, pattern in sectors %llu..%llu\n", (unsigned long long)seed,
               (unsigned long long)opt.start, (unsigned long long)opt.start + 1,
               (unsigned long long)(opt.start + opt.sectors));
        CHECK(!blk.read_only, "device is writable");
        write_pattern(seed);
        if (blk.flush)
            CHECK_EQ(vblk_flush(&blk), VIRTIO_BLK_S_OK, "flush");
        else
            printf("vblk: no VIRTIO_BLK_F_FLUSH: completed writes are already on stable storage\n");
        if (opt.crash) {
            printf("vblk: %u passed, %u failed before the crash; writes acknowledged with seed 0x%llx\n",
                   tests_passed(), tests_failed(), (unsigned long long)seed);
            crash_now();
        }
    }

    /* The record: written above, or by an earlier run for verify-only. */
    memset(buf, 0, VIRTIO_BLK_SECTOR_SIZE);
    rc = vblk_read(&blk, opt.start, buf, 1);
    const uint64_t *rec = (const uint64_t *)buf;
    CHECKF(rc == 0 && rec[2] == RECORD_MAGIC && rec[0] == opt.start, "record sector", "result %d, magic 0x%llx, "
           "sector 0x%llx", rc, (unsigned long long)rec[2], (unsigned long long)rec[0]);
    if (opt.verify_only) {
        seed = rec[1];
        printf("vblk: verify-only: record says seed 0x%llx, sectors %llu..%llu\n", (unsigned long long)seed,
               (unsigned long long)rec[3], (unsigned long long)(rec[3] + rec[4] - 1));
        if (opt.have_seed)
            CHECK_EQ(seed, opt.seed, "record seed is the one given");
        if (rc == 0 && rec[3] == opt.start + 1 && rec[4] && rec[4] < opt.sectors)
            opt.sectors = rec[4]; /* an earlier run with fewer sectors */
    } else {
        CHECK_EQ(rec[1], seed, "record seed");
    }
    fill_record(expect, seed);
    CHECK(rc == 0 && memcmp(buf, expect, VIRTIO_BLK_SECTOR_SIZE) == 0, "record sector matches");
    verify_pattern(seed);

    beyond_capacity();

    CHECK_EQ(blk.vq->bad_used, 0, "no used entries with a bad id");
    CHECK_EQ(blk.vq->timeouts, 0, "no request timed out");
    if (!opt.poll) {
        CHECKF(blk.dev.irqs > 0 && (blk.dev.isr_seen & VIRTIO_INT_USED_BUFFER), "device interrupts taken",
               "%lu interrupts, InterruptStatus bits seen 0x%x", blk.dev.irqs, blk.dev.isr_seen);
    }
    printf("vblk: %lu requests, %lu with an error status (the IOERR checks), seed 0x%llx\n", blk.requests, blk.errors,
           (unsigned long long)seed);
    virtio_print_stats(&blk.dev, "vblk");
    return tests_failed();
}
