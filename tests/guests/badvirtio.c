/* SPDX-License-Identifier: MIT */
/*
 * A misbehaving virtio-blk driver (tests/guests/lib/virtio.h): on its own
 * device it posts malformed requests one kind at a time and checks, after
 * each, that the device (dom0's backend, dom0/virtio/) refused it the way
 * docs/virtio-backend.md says:
 *   - Status reports DEVICE_NEEDS_RESET (0x40);
 *   - a configuration-change interrupt arrives (DRIVER_OK was set);
 *   - nothing of the bad chain was consumed (used->idx unchanged) and no
 *     buffer of it was written;
 *   - a well-formed request posted before the reset is ignored;
 *   - after a reset (Status 0) and re-initialisation, a normal read works
 *     and returns what was written at the start.
 * dom0 logs one line per violation ("pv: domN virtio-blk 0: needs reset:
 * <reason>"); the integration case checks those and that another domain on
 * the same disk is unaffected.
 *
 * The kinds: a descriptor loop; a chain longer than the queue (every
 * descriptor, then around again); a buffer outside the domain's RAM; a
 * buffer of 2^32-1 bytes; an avail index that jumps by more than the queue
 * size; an avail entry (head) beyond the queue; a request without a status
 * byte (no device-writable buffer); and, when VIRTIO_F_INDIRECT_DESC is
 * offered, an indirect table of 300 descriptors (more than the queue size
 * and than the device's 256 segments).
 */
#include "guest.h"
#include "virtio.h"

GUEST("badvirtio");

#define SECTORS 8                      /* the pattern: sectors 0..7 of our disk */
#define WAIT_MS 2000
#define INDIRECT_ENTRIES 300

static struct vblk blk;
static uint8_t buf[SECTORS * VIRTIO_BLK_SECTOR_SIZE] __attribute__((aligned(4096)));
static uint8_t pattern[SECTORS * VIRTIO_BLK_SECTOR_SIZE] __attribute__((aligned(4096)));
static struct virtio_blk_req_hdr hdr __attribute__((aligned(16)));
static volatile uint8_t status;
static struct virtq_desc indirect[INDIRECT_ENTRIES] __attribute__((aligned(16)));

/* ---------------------------------------------------------------- raw ring access */
static void set_desc(struct virtq *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    q->desc[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

/* Make `head` available at the next ring slot, with avail->idx = the slot + 1 + extra. */
static void publish(struct virtq *q, uint16_t head, uint16_t extra)
{
    q->avail->ring[q->avail_idx % q->size] = head;
    __asm__ __volatile__("" : : : "memory");
    q->avail_idx++;
    *(volatile uint16_t *)&q->avail->idx = (uint16_t)(q->avail_idx + extra);
}

static void notify(struct virtq *q)
{
    __asm__ __volatile__("mfence" : : : "memory");
    virtio_write32(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

static void prepare_read(void)
{
    hdr.type = VIRTIO_BLK_T_IN;
    hdr.reserved = 0;
    hdr.sector = 0;
    status = 0xFF;
    memset(buf, 0xA5, sizeof(buf));
}

/* ---------------------------------------------------------------- the malformed requests */
static void post_loop(struct virtq *q)
{
    set_desc(q, 0, (uintptr_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
    set_desc(q, 1, (uintptr_t)buf, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    set_desc(q, 2, (uintptr_t)&status, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1); /* back to 1 */
    publish(q, 0, 0);
}

static void post_long_chain(struct virtq *q)
{
    set_desc(q, 0, (uintptr_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
    for (unsigned i = 1; i < q->size; i++) /* every descriptor, the last one back to 1 */
        set_desc(q, i, (uintptr_t)buf + 16 * (i % 256), 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
                 (uint16_t)(i + 1 < q->size ? i + 1 : 1));
    publish(q, 0, 0);
}

static void post_three(struct virtq *q, uint64_t data, uint32_t len)
{
    set_desc(q, 0, (uintptr_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
    set_desc(q, 1, data, len, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    set_desc(q, 2, (uintptr_t)&status, 1, VIRTQ_DESC_F_WRITE, 0);
}

static void post_outside_ram(struct virtq *q)
{
    post_three(q, 0x40000000ull, 4096); /* 1 GiB: our RAM is 16 MiB */
    publish(q, 0, 0);
}

static void post_huge_len(struct virtq *q)
{
    post_three(q, (uintptr_t)buf, 0xFFFFFFFFu);
    publish(q, 0, 0);
}

static void post_idx_jump(struct virtq *q)
{
    post_three(q, (uintptr_t)buf, 512); /* a good request, but the index claims size + 1 more */
    publish(q, 0, q->size);
}

static void post_bad_head(struct virtq *q)
{
    post_three(q, (uintptr_t)buf, 512);
    publish(q, q->size, 0);
}

static void post_no_status(struct virtq *q)
{
    set_desc(q, 0, (uintptr_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
    set_desc(q, 1, (uintptr_t)buf, 512, 0, 0); /* device-readable: nowhere to put the status */
    publish(q, 0, 0);
}

static void post_indirect_long(struct virtq *q)
{
    indirect[0] = (struct virtq_desc){(uintptr_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1};
    for (unsigned i = 1; i < INDIRECT_ENTRIES; i++)
        indirect[i] = (struct virtq_desc){(uintptr_t)buf + 8 * (i % 512), 8,
                                          (uint16_t)(VIRTQ_DESC_F_WRITE |
                                                     (i + 1 < INDIRECT_ENTRIES ? VIRTQ_DESC_F_NEXT : 0)),
                                          (uint16_t)(i + 1 < INDIRECT_ENTRIES ? i + 1 : 0)};
    set_desc(q, 0, (uintptr_t)indirect, sizeof(indirect), VIRTQ_DESC_F_INDIRECT, 0);
    publish(q, 0, 0);
}

struct bad_kind {
    const char *name;
    void (*post)(struct virtq *q);
    bool needs_indirect;
};

static const struct bad_kind kinds[] = {
    {"descriptor loop", post_loop, false},
    {"chain longer than the queue", post_long_chain, false},
    {"buffer outside RAM", post_outside_ram, false},
    {"buffer length 2^32-1", post_huge_len, false},
    {"avail index jump", post_idx_jump, false},
    {"head index out of range", post_bad_head, false},
    {"no status byte", post_no_status, false},
    {"indirect table of 300 descriptors", post_indirect_long, true},
};

/* ---------------------------------------------------------------- checks */
static uint64_t ms_ticks(uint64_t ms) { return ms * virtio_tsc_khz(); }

static uint32_t wait_needs_reset(void)
{
    uint64_t t0 = rdtsc();
    uint32_t st;
    do {
        st = virtio_read32(&blk.dev, VIRTIO_MMIO_STATUS);
        if (st & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
            break;
        pause();
    } while (rdtsc() - t0 < ms_ticks(WAIT_MS));
    return st;
}

/* Sleeps until the configuration-change interrupt has been taken. */
static bool wait_config_irq(unsigned long before)
{
    uint64_t t0 = rdtsc();
    while (blk.dev.config_changes == before && rdtsc() - t0 < ms_ticks(WAIT_MS)) {
        virtio_arm_wait_timer();
        if (blk.dev.config_changes != before)
            break;
        sti_hlt();
        cli();
    }
    return blk.dev.config_changes != before;
}

static bool read_matches(void)
{
    memset(buf, 0, sizeof(buf));
    int rc = vblk_read(&blk, 0, buf, SECTORS);
    if (rc)
        printf("badvirtio: read of sectors 0..%u: %d\n", SECTORS - 1, rc);
    return rc == 0 && memcmp(buf, pattern, sizeof(buf)) == 0;
}

static void one_kind(const struct bad_kind *k)
{
    struct virtq *q = blk.vq;
    printf("badvirtio: --- %s\n", k->name);
    unsigned long cfg0 = blk.dev.config_changes;
    uint16_t used0 = *(volatile uint16_t *)&q->used->idx;
    prepare_read();
    k->post(q);
    notify(q);

    uint32_t st = wait_needs_reset();
    CHECKF(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET, "DEVICE_NEEDS_RESET set", "%s: Status 0x%x", k->name, st);
    CHECKF(st & VIRTIO_STATUS_DRIVER_OK, "DRIVER_OK still set", "%s: Status 0x%x", k->name, st);
    CHECKF(wait_config_irq(cfg0), "configuration-change interrupt", "%s: %lu config interrupts, %lu in all",
           k->name, blk.dev.config_changes, blk.dev.irqs);
    uint16_t used = *(volatile uint16_t *)&q->used->idx;
    CHECKF(used == used0 && status == 0xFF && buf[0] == 0xA5, "nothing consumed or written",
           "%s: used idx %u (before %u), status 0x%x, buf[0] 0x%x", k->name, used, used0, status, buf[0]);

    /* A good request now is ignored: the device waits for a reset. */
    unsigned slot = 3; /* descriptors 3..5: in no bad chain but the long one */
    if (q->size > 8) {
        hdr.sector = 0;
        set_desc(q, slot, (uintptr_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, (uint16_t)(slot + 1));
        set_desc(q, slot + 1, (uintptr_t)buf, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(slot + 2));
        set_desc(q, slot + 2, (uintptr_t)&status, 1, VIRTQ_DESC_F_WRITE, 0);
        if (k->post != post_long_chain) { /* that one uses every descriptor */
            publish(q, (uint16_t)slot, 0);
            notify(q);
            st = virtio_read32(&blk.dev, VIRTIO_MMIO_STATUS); /* served after the notify */
            used = *(volatile uint16_t *)&q->used->idx;
            CHECKF(used == used0 && status == 0xFF, "requests ignored until reset",
                   "%s: used idx %u (before %u), status 0x%x", k->name, used, used0, status);
        }
    }

    int rc = vblk_reinit(&blk);
    st = virtio_read32(&blk.dev, VIRTIO_MMIO_STATUS);
    CHECKF(rc == 0 && !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET), "reset and re-initialised",
           "%s: result %d, Status 0x%x", k->name, rc, st);
    CHECKF(read_matches(), "a normal read works after the reset", "%s", k->name);
}

int main(void)
{
    virtio_list();
    int rc = vblk_open(&blk, 0, VIRTIO_WAIT_IRQ, true);
    CHECKF(rc == 0, "virtio-blk device initialised", "result %d", rc);
    if (rc)
        return 1;
    printf("badvirtio: device %u: capacity %llu sectors, queue size %u, features 0x%llx of 0x%llx\n", blk.dev.index,
           (unsigned long long)blk.capacity, blk.vq->size, (unsigned long long)blk.dev.features,
           (unsigned long long)blk.dev.device_features);
    bool indirect_offered = blk.dev.device_features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    if (indirect_offered) {
        blk.dev.features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
        rc = vblk_reinit(&blk);
        CHECKF(rc == 0, "re-initialised with VIRTIO_F_INDIRECT_DESC", "result %d", rc);
    }

    for (unsigned i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 7 + (i >> 9) + 0x3C);
    CHECK_EQ(vblk_write(&blk, 0, pattern, SECTORS), VIRTIO_BLK_S_OK, "write the pattern");
    CHECK(read_matches(), "read the pattern back");

    unsigned ran = 0;
    for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (kinds[i].needs_indirect && !virtio_has(&blk.dev, VIRTIO_F_INDIRECT_DESC)) {
            printf("badvirtio: --- %s: skipped (VIRTIO_F_INDIRECT_DESC not negotiated)\n", kinds[i].name);
            continue;
        }
        one_kind(&kinds[i]);
        ran++;
    }
    CHECK(read_matches(), "the pattern is intact at the end");
    printf("badvirtio: %u kinds of malformed request, %lu configuration-change interrupts\n", ran,
           blk.dev.config_changes);
    virtio_print_stats(&blk.dev, "badvirtio");
    return tests_failed();
}
