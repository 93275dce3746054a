/* SPDX-License-Identifier: MIT */
/* Virtio frontend for 64-bit test guests: virtio-mmio, split virtqueues, virtio-blk (see virtio.h). */
#include "guest.h"
#include "virtio.h"

#include <plinth/start_info.h>

#define DEFAULT_TIMEOUT_MS 10000
/* Wake-up period while sleeping for an interrupt: bounds the cost of a lost one. */
#define WAIT_SLICE_NS (10ull * 1000 * 1000)

/* ---------------------------------------------------------------- register access */
/* One plain mov each, never folded into another instruction (the hypervisor
 * decodes the instruction of every access to a virtio-mmio window). */
static inline uint32_t mmio_read32(uintptr_t a)
{
    uint32_t v;
    __asm__ __volatile__("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
    return v;
}

static inline uint16_t mmio_read16(uintptr_t a)
{
    uint16_t v;
    __asm__ __volatile__("movw (%1), %0" : "=r"(v) : "r"(a) : "memory");
    return v;
}

static inline uint8_t mmio_read8(uintptr_t a)
{
    uint8_t v;
    __asm__ __volatile__("movb (%1), %0" : "=q"(v) : "r"(a) : "memory");
    return v;
}

static inline void mmio_write32(uintptr_t a, uint32_t v)
{
    __asm__ __volatile__("movl %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

/* Full barrier: orders our ring stores before the loads that decide
 * whether to notify or sleep (store-load ordering is not free on x86). */
static inline void mb(void) { __asm__ __volatile__("mfence" : : : "memory"); }
/* Compiler barrier: x86 keeps stores in order and loads in order. */
static inline void cbarrier(void) { __asm__ __volatile__("" : : : "memory"); }

uint32_t virtio_read32(const struct virtio_dev *d, unsigned off) { return mmio_read32(d->base + off); }
void virtio_write32(const struct virtio_dev *d, unsigned off, uint32_t v) { mmio_write32(d->base + off, v); }
uint8_t virtio_config8(const struct virtio_dev *d, unsigned off) { return mmio_read8(d->base + VIRTIO_MMIO_CONFIG + off); }
uint16_t virtio_config16(const struct virtio_dev *d, unsigned off)
{
    return mmio_read16(d->base + VIRTIO_MMIO_CONFIG + off);
}
uint32_t virtio_config32(const struct virtio_dev *d, unsigned off)
{
    return mmio_read32(d->base + VIRTIO_MMIO_CONFIG + off);
}

/* 4.2.2.2: 64-bit fields as two 32-bit reads; 2.5.1: retry while ConfigGeneration changes. */
uint64_t virtio_config64(const struct virtio_dev *d, unsigned off)
{
    uint32_t gen, lo, hi;
    int tries = 0;
    do {
        gen = virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION);
        lo = virtio_config32(d, off);
        hi = virtio_config32(d, off + 4);
    } while (gen != virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION) && ++tries < 100);
    return (uint64_t)hi << 32 | lo;
}

/* ---------------------------------------------------------------- time */
uint64_t virtio_tsc_khz(void)
{
    static uint64_t khz;
    if (!khz) {
        const struct plinth_start_info *si = (const struct plinth_start_info *)boot_reg_a;
        if (boot_reg_a && boot_reg_a < 0x100000 && si->magic == PLINTH_START_MAGIC && si->tsc_khz)
            khz = si->tsc_khz;
        else
            khz = 1000000;
    }
    return khz;
}

/* ---------------------------------------------------------------- interrupts */
static struct virtio_dev *dev_by_vector[256];
static volatile unsigned long timer_wakeups;
static volatile uint64_t wait_timer_until; /* TSC by which our armed timer fires; 0: none armed */

static void virtio_isr(struct int_frame *f)
{
    struct virtio_dev *d = dev_by_vector[f->vector & 255];
    if (d) {
        uint32_t isr = virtio_read32(d, VIRTIO_MMIO_INTERRUPT_STATUS);
        d->irqs++;
        d->isr_seen |= isr;
        if (!isr)
            d->irqs_spurious++;
        if (isr & VIRTIO_INT_CONFIG_CHANGE)
            d->config_changes++;
        if (isr)
            virtio_write32(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
    }
    lapic_eoi();
}

static void timer_isr(struct int_frame *f)
{
    (void)f;
    timer_wakeups++;
    wait_timer_until = 0;
    lapic_eoi();
}

/* ---------------------------------------------------------------- discovery */
bool virtio_probe(unsigned n, struct virtio_dev *d)
{
    if (n >= VIRTIO_PLATFORM_COUNT)
        return false;
    uintptr_t base = (uintptr_t)(VIRTIO_PLATFORM_BASE + (uint64_t)n * VIRTIO_PLATFORM_STRIDE);
    if (mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
        return false;
    uint32_t id = mmio_read32(base + VIRTIO_MMIO_DEVICE_ID);
    if (id == 0)
        return false; /* a transport with no device behind it */
    memset(d, 0, sizeof(*d));
    d->base = base;
    d->index = n;
    d->vector = VIRTIO_PLATFORM_VECTOR(n);
    d->device_id = id;
    d->version = mmio_read32(base + VIRTIO_MMIO_VERSION);
    d->vendor_id = mmio_read32(base + VIRTIO_MMIO_VENDOR_ID);
    return true;
}

int virtio_find(uint32_t device_id, unsigned nth, struct virtio_dev *d)
{
    struct virtio_dev tmp;
    for (unsigned n = 0; n < VIRTIO_PLATFORM_COUNT; n++) {
        if (!virtio_probe(n, &tmp) || tmp.device_id != device_id)
            continue;
        if (nth-- == 0) {
            *d = tmp;
            return 0;
        }
    }
    return -PL_ENOENT;
}

unsigned virtio_list(void)
{
    struct virtio_dev tmp;
    unsigned found = 0;
    for (unsigned n = 0; n < VIRTIO_PLATFORM_COUNT; n++) {
        if (!virtio_probe(n, &tmp))
            continue;
        found++;
        printf("virtio: window %u at 0x%lx: device id %u, version %u, vendor 0x%x, vector 0x%x\n", n,
               (unsigned long)tmp.base, tmp.device_id, tmp.version, tmp.vendor_id, tmp.vector);
    }
    return found;
}

/* ---------------------------------------------------------------- device initialisation (3.1.1, 4.2.3.1) */
void virtio_reset(struct virtio_dev *d)
{
    virtio_write32(d, VIRTIO_MMIO_STATUS, 0);
    /* 2.4.2: the reset is complete once Status reads 0. */
    for (int i = 0; i < 1000 && virtio_read32(d, VIRTIO_MMIO_STATUS) != 0; i++)
        pause();
}

void virtio_fail(struct virtio_dev *d)
{
    virtio_write32(d, VIRTIO_MMIO_STATUS, virtio_read32(d, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FAILED);
}

int virtio_dev_init(struct virtio_dev *d, uint64_t wanted, enum virtio_wait_mode mode)
{
    if (mmio_read32(d->base + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC || d->device_id == 0)
        return -PL_ENOENT;
    if (d->version != VIRTIO_MMIO_VERSION_MODERN) {
        printf("virtio: window %u: version %u (legacy), only version 2 is supported\n", d->index, d->version);
        return -PL_EINVAL;
    }
    d->wait_mode = mode;

    virtio_reset(d);
    if (virtio_read32(d, VIRTIO_MMIO_STATUS) != 0) {
        printf("virtio: window %u: Status still 0x%x after reset\n", d->index, virtio_read32(d, VIRTIO_MMIO_STATUS));
        return -PL_EIO;
    }
    uint32_t status = VIRTIO_STATUS_ACKNOWLEDGE;
    virtio_write32(d, VIRTIO_MMIO_STATUS, status);
    status |= VIRTIO_STATUS_DRIVER;
    virtio_write32(d, VIRTIO_MMIO_STATUS, status);

    virtio_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t lo = virtio_read32(d, VIRTIO_MMIO_DEVICE_FEATURES);
    virtio_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t hi = virtio_read32(d, VIRTIO_MMIO_DEVICE_FEATURES);
    d->device_features = hi << 32 | lo;
    if (!(d->device_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
        printf("virtio: window %u: VIRTIO_F_VERSION_1 not offered (features 0x%llx)\n", d->index,
               (unsigned long long)d->device_features);
        virtio_fail(d);
        return -PL_EINVAL;
    }
    d->features = d->device_features & (wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1));
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));

    status |= VIRTIO_STATUS_FEATURES_OK;
    virtio_write32(d, VIRTIO_MMIO_STATUS, status);
    uint32_t back = virtio_read32(d, VIRTIO_MMIO_STATUS);
    if (!(back & VIRTIO_STATUS_FEATURES_OK)) {
        printf("virtio: window %u: device refused features 0x%llx (Status 0x%x)\n", d->index,
               (unsigned long long)d->features, back);
        virtio_fail(d);
        return -PL_EINVAL;
    }

    dev_by_vector[d->vector & 255] = d;
    set_int_handler(d->vector, virtio_isr);
    set_int_handler(VIRTIO_TIMER_VECTOR, timer_isr);
    return 0;
}

int virtio_driver_ok(struct virtio_dev *d)
{
    uint32_t status = virtio_read32(d, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK;
    virtio_write32(d, VIRTIO_MMIO_STATUS, status);
    status = virtio_read32(d, VIRTIO_MMIO_STATUS);
    if (status & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED) || !(status & VIRTIO_STATUS_DRIVER_OK)) {
        printf("virtio: window %u: Status 0x%x after DRIVER_OK\n", d->index, status);
        return -PL_EIO;
    }
    return 0;
}

/* ---------------------------------------------------------------- split virtqueues (2.7) */
/* Per queue: page 0 = descriptor table (16-aligned) then the driver area
 * (avail, 2-aligned); page 1 = the device area (used, 4-aligned). */
_Static_assert(VIRTQ_MAX_SIZE * 16 + 6 + 2 * VIRTQ_MAX_SIZE <= 4096, "desc + avail fit a page");
_Static_assert(6 + 8 * VIRTQ_MAX_SIZE <= 4096, "used fits a page");
_Static_assert((VIRTQ_MAX_SIZE & (VIRTQ_MAX_SIZE - 1)) == 0, "power of two");

static uint8_t queue_mem[VIRTQ_POOL][2][4096] __attribute__((aligned(4096)));
static struct virtq queue_pool[VIRTQ_POOL];
static unsigned queues_used;

int virtq_setup(struct virtio_dev *d, uint16_t index, uint16_t max_size, struct virtq **out)
{
    virtio_write32(d, VIRTIO_MMIO_QUEUE_SEL, index);
    if (virtio_read32(d, VIRTIO_MMIO_QUEUE_READY) != 0)
        return -PL_EBUSY;
    uint32_t max = virtio_read32(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max == 0)
        return -PL_ENOENT; /* no such queue */
    if (queues_used >= VIRTQ_POOL)
        return -PL_ENOMEM;
    uint32_t size = max;
    if (max_size && size > max_size)
        size = max_size;
    if (size > VIRTQ_MAX_SIZE)
        size = VIRTQ_MAX_SIZE;
    while (size & (size - 1))
        size &= size - 1; /* round down to a power of two */

    unsigned slot = queues_used++;
    struct virtq *q = &queue_pool[slot];
    memset(q, 0, sizeof(*q));
    memset(queue_mem[slot], 0, sizeof(queue_mem[slot]));
    q->dev = d;
    q->index = index;
    q->size = (uint16_t)size;
    q->desc = (struct virtq_desc *)queue_mem[slot][0];
    q->avail = (struct virtq_avail *)(queue_mem[slot][0] + VIRTQ_MAX_SIZE * 16);
    q->used = (struct virtq_used *)queue_mem[slot][1];
    q->used_event = &q->avail->ring[size];
    q->avail_event = (volatile uint16_t *)&q->used->ring[size];
    q->event_idx = virtio_has(d, VIRTIO_F_EVENT_IDX);
    q->num_free = (uint16_t)size;
    for (uint32_t i = 0; i < size; i++)
        q->next[i] = (uint16_t)(i + 1);
    if (d->wait_mode == VIRTIO_WAIT_POLL) {
        /* Hints only: we never sleep for these interrupts. */
        q->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
        *q->used_event = 0xFFFF;
    }

    uint64_t desc = (uintptr_t)q->desc, drv = (uintptr_t)q->avail, dev = (uintptr_t)q->used;
    virtio_write32(d, VIRTIO_MMIO_QUEUE_NUM, size);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)drv);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(drv >> 32));
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)dev);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(dev >> 32));
    cbarrier();
    virtio_write32(d, VIRTIO_MMIO_QUEUE_READY, 1);
    if (virtio_read32(d, VIRTIO_MMIO_QUEUE_READY) != 1) {
        printf("virtio: window %u: queue %u not ready after QueueReady = 1\n", d->index, index);
        return -PL_EIO;
    }
    if (index < sizeof(d->queues) / sizeof(d->queues[0]))
        d->queues[index] = q;
    *out = q;
    return 0;
}

int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *token)
{
    if (n == 0 || !token)
        return -PL_EINVAL;
    if (n > q->num_free)
        return -PL_ENOSPC;
    uint16_t head = q->free_head, i = head, last = head;
    for (unsigned k = 0; k < n; k++) {
        struct virtq_desc *dsc = &q->desc[i];
        dsc->addr = (uintptr_t)bufs[k].addr;
        dsc->len = bufs[k].len;
        dsc->flags = (uint16_t)((bufs[k].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
                                (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        dsc->next = k + 1 < n ? q->next[i] : 0;
        last = i;
        i = q->next[i];
    }
    q->free_head = q->next[last];
    q->num_free = (uint16_t)(q->num_free - n);
    q->token[head] = token;
    q->chain_len[head] = (uint16_t)n;

    q->avail->ring[q->avail_idx % q->size] = head;
    cbarrier(); /* descriptors and ring entry before the index (x86: stores stay in order) */
    q->avail_idx++;
    *(volatile uint16_t *)&q->avail->idx = q->avail_idx;
    q->added++;
    return 0;
}

/* 2.7.10: true if event is in [old, new) modulo 2^16. */
static inline bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_kick(struct virtq *q)
{
    mb(); /* the new avail->idx must be visible before we read the device's suppression state */
    uint16_t old = q->kicked_idx, now = q->avail_idx;
    bool notify;
    if (q->event_idx)
        notify = need_event(*q->avail_event, now, old);
    else
        notify = !(*(volatile uint16_t *)&q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
    q->kicked_idx = now;
    if (!notify || old == now) {
        q->notifies_suppressed++;
        return false;
    }
    virtio_write32(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
    q->notifies++;
    return true;
}

bool virtq_has_used(const struct virtq *q)
{
    return *(volatile const uint16_t *)&q->used->idx != q->last_used;
}

void *virtq_get_used(struct virtq *q, uint32_t *len)
{
    for (;;) {
        if (!virtq_has_used(q))
            return NULL;
        cbarrier(); /* the entry after the index (x86: loads stay in order) */
        volatile struct virtq_used_elem *e = &q->used->ring[q->last_used % q->size];
        uint32_t id = e->id, l = e->len;
        q->last_used++;
        if (q->event_idx && q->dev->wait_mode == VIRTIO_WAIT_IRQ)
            *q->used_event = q->last_used; /* interrupt us for the next one */
        if (id >= q->size || !q->token[id]) {
            q->bad_used++;
            printf("virtio: window %u queue %u: used entry with bad id %u (len %u)\n", q->dev->index, q->index,
                   id, l);
            continue;
        }
        void *token = q->token[id];
        q->token[id] = NULL;
        uint16_t last = (uint16_t)id;
        for (unsigned k = 1; k < q->chain_len[id]; k++)
            last = q->next[last];
        q->next[last] = q->free_head;
        q->free_head = (uint16_t)id;
        q->num_free = (uint16_t)(q->num_free + q->chain_len[id]);
        q->completions++;
        if (len)
            *len = l;
        return token;
    }
}

static void wait_diagnostic(struct virtq *q)
{
    struct virtio_dev *d = q->dev;
    printf("virtio: window %u queue %u: timed out after %llu ms: Status 0x%x, InterruptStatus 0x%x, "
           "avail idx %u, used idx %u (expected > %u), interrupts %lu\n",
           d->index, q->index, (unsigned long long)(d->timeout_ms ? d->timeout_ms : DEFAULT_TIMEOUT_MS),
           virtio_read32(d, VIRTIO_MMIO_STATUS), virtio_read32(d, VIRTIO_MMIO_INTERRUPT_STATUS), q->avail_idx,
           *(volatile uint16_t *)&q->used->idx, q->last_used, d->irqs);
}

void virtio_arm_wait_timer(void)
{
    uint64_t now = rdtsc();
    if (wait_timer_until && now < wait_timer_until)
        return;
    hc_set_timer(WAIT_SLICE_NS, VIRTIO_TIMER_VECTOR);
    wait_timer_until = now + WAIT_SLICE_NS / 1000000 * virtio_tsc_khz();
}

/* Until q has a used buffer (true) or limit TSC ticks after start have
 * passed (false): spinning in polling mode, else sleeping for the
 * interrupt (with EVENT_IDX, asking for one at the next used entry).
 * *slept tells whether it halted at all. */
static bool wait_used(struct virtq *q, uint64_t start, uint64_t limit, bool *slept)
{
    if (virtq_has_used(q))
        return true;
    if (q->dev->wait_mode == VIRTIO_WAIT_POLL) {
        while (rdtsc() - start < limit) {
            if (virtq_has_used(q))
                return true;
            pause();
        }
        return virtq_has_used(q);
    }
    if (q->event_idx) {
        *q->used_event = q->last_used;
        mb(); /* publish used_event before the last look at used->idx */
    }
    while (rdtsc() - start < limit) {
        if (virtq_has_used(q))
            return true;
        virtio_arm_wait_timer();
        if (virtq_has_used(q))
            return true;
        sti_hlt(); /* atomic: an interrupt after the check still wakes us */
        cli();
        *slept = true;
    }
    return virtq_has_used(q);
}

int virtq_wait(struct virtq *q)
{
    struct virtio_dev *d = q->dev;
    uint64_t limit = (d->timeout_ms ? d->timeout_ms : DEFAULT_TIMEOUT_MS) * virtio_tsc_khz();
    unsigned long irqs0 = d->irqs;
    bool slept = false;

    q->waits++;
    if (wait_used(q, rdtsc(), limit, &slept)) {
        if (slept && d->irqs == irqs0)
            q->completions_polled++;
        return 0;
    }
    q->timeouts++;
    wait_diagnostic(q);
    return -PL_ETIMEDOUT;
}

int virtq_transfer(struct virtq *q, const struct virtq_buf *bufs, unsigned n, uint32_t *len)
{
    char cookie;
    int rc = virtq_add(q, bufs, n, &cookie);
    if (rc)
        return rc;
    virtq_kick(q);
    for (;;) {
        rc = virtq_wait(q);
        if (rc)
            return rc; /* the chain stays in flight: the queue is unusable until a reset */
        unsigned long bad = q->bad_used;
        void *t = virtq_get_used(q, len);
        if (t == &cookie)
            return 0;
        if (t || q->bad_used != bad)
            return -PL_EIO;
    }
}

void virtio_print_stats(const struct virtio_dev *d, const char *prefix)
{
    printf("%s: device %u: features 0x%llx of 0x%llx, %s mode, interrupts %lu (spurious %lu, config %lu, "
           "InterruptStatus bits seen 0x%x)\n",
           prefix, d->index, (unsigned long long)d->features, (unsigned long long)d->device_features,
           d->wait_mode == VIRTIO_WAIT_IRQ ? "interrupt" : "polling", d->irqs, d->irqs_spurious, d->config_changes,
           d->isr_seen);
    for (unsigned i = 0; i < sizeof(d->queues) / sizeof(d->queues[0]); i++) {
        const struct virtq *q = d->queues[i];
        if (!q)
            continue;
        printf("%s: queue %u: size %u, event_idx %d, chains %lu, notifications %lu (suppressed %lu), "
               "completions %lu (found without an interrupt %lu), waits %lu, timeouts %lu, bad used %lu\n",
               prefix, q->index, q->size, q->event_idx, q->added, q->notifies, q->notifies_suppressed,
               q->completions, q->completions_polled, q->waits, q->timeouts, q->bad_used);
    }
}

/* ---------------------------------------------------------------- virtio-blk (5.2) */
int vblk_open(struct vblk *b, unsigned nth, enum virtio_wait_mode mode, bool event_idx)
{
    memset(b, 0, sizeof(*b));
    int rc = virtio_find(VIRTIO_ID_BLOCK, nth, &b->dev);
    if (rc)
        return rc;
    uint64_t wanted = VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
                      VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
                      VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | (event_idx ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
    rc = virtio_dev_init(&b->dev, wanted, mode);
    if (rc)
        return rc;

    b->capacity = virtio_config64(&b->dev, VIRTIO_BLK_CFG_CAPACITY);
    b->size_max = VBLK_MAX_REQUEST;
    if (virtio_has(&b->dev, VIRTIO_BLK_F_SIZE_MAX)) {
        uint32_t sm = virtio_config32(&b->dev, VIRTIO_BLK_CFG_SIZE_MAX);
        if (sm < b->size_max)
            b->size_max = sm;
    }
    b->size_max &= ~(uint32_t)(VIRTIO_BLK_SECTOR_SIZE - 1);
    if (b->size_max < VIRTIO_BLK_SECTOR_SIZE)
        b->size_max = VIRTIO_BLK_SECTOR_SIZE;
    b->blk_size = virtio_has(&b->dev, VIRTIO_BLK_F_BLK_SIZE) ? virtio_config32(&b->dev, VIRTIO_BLK_CFG_BLK_SIZE)
                                                              : VIRTIO_BLK_SECTOR_SIZE;
    b->read_only = virtio_has(&b->dev, VIRTIO_BLK_F_RO);
    b->flush = virtio_has(&b->dev, VIRTIO_BLK_F_FLUSH);

    rc = virtq_setup(&b->dev, 0, VIRTQ_MAX_SIZE, &b->vq);
    if (rc) {
        virtio_fail(&b->dev);
        return rc;
    }
    return virtio_driver_ok(&b->dev);
}

int vblk_request(struct vblk *b, uint32_t type, uint64_t sector, void *data, uint32_t len, bool device_writes)
{
    struct virtq_buf bufs[3];
    unsigned n = 0;

    b->hdr.type = type;
    b->hdr.reserved = 0;
    b->hdr.sector = sector;
    b->status = 0xFF; /* no valid status: tells us whether the device wrote it */
    bufs[n++] = (struct virtq_buf){&b->hdr, sizeof(b->hdr), false};
    if (data && len)
        bufs[n++] = (struct virtq_buf){data, len, device_writes};
    bufs[n++] = (struct virtq_buf){&b->status, 1, true};

    b->requests++;
    uint32_t used_len = 0;
    int rc = virtq_transfer(b->vq, bufs, n, &used_len);
    b->last_len = used_len;
    if (rc) {
        b->errors++;
        return rc;
    }
    uint8_t st = *(volatile uint8_t *)&b->status;
    if (st == 0xFF || used_len == 0) {
        printf("vblk: request type %u sector %llu: no status written (status 0x%x, used len %u)\n", type,
               (unsigned long long)sector, st, used_len);
        b->errors++;
        return -PL_EIO;
    }
    if (st != VIRTIO_BLK_S_OK)
        b->errors++;
    return st;
}

/* A transfer in requests of at most size_max bytes. */
static int vblk_rw(struct vblk *b, uint32_t type, uint64_t sector, uint8_t *buf, uint32_t sectors)
{
    if (!sectors)
        return -PL_EINVAL;
    uint32_t per = b->size_max / VIRTIO_BLK_SECTOR_SIZE;
    while (sectors) {
        uint32_t n = sectors < per ? sectors : per;
        uint32_t bytes = n * VIRTIO_BLK_SECTOR_SIZE;
        int rc = vblk_request(b, type, sector, buf, bytes, type == VIRTIO_BLK_T_IN);
        if (rc)
            return rc;
        /* 2.7.8: the used length is what the device wrote: data (reads) and the status byte. */
        uint32_t want = (type == VIRTIO_BLK_T_IN ? bytes : 0) + 1;
        if (b->last_len != want) {
            printf("vblk: %s sector %llu x%u: used length %u, expected %u\n", type == VIRTIO_BLK_T_IN ? "read" : "write",
                   (unsigned long long)sector, n, b->last_len, want);
            return -PL_EIO;
        }
        sector += n;
        buf += bytes;
        sectors -= n;
    }
    return 0;
}

int vblk_read(struct vblk *b, uint64_t sector, void *buf, uint32_t sectors)
{
    return vblk_rw(b, VIRTIO_BLK_T_IN, sector, buf, sectors);
}

int vblk_write(struct vblk *b, uint64_t sector, const void *buf, uint32_t sectors)
{
    return vblk_rw(b, VIRTIO_BLK_T_OUT, sector, (uint8_t *)(uintptr_t)buf, sectors);
}

int vblk_flush(struct vblk *b)
{
    if (!b->flush)
        return VIRTIO_BLK_S_UNSUPP;
    return vblk_request(b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
}

int vblk_get_id(struct vblk *b, char *id)
{
    static char raw[VIRTIO_BLK_ID_BYTES] __attribute__((aligned(16)));
    memset(raw, 0, sizeof(raw));
    int rc = vblk_request(b, VIRTIO_BLK_T_GET_ID, 0, raw, sizeof(raw), true);
    if (rc == VIRTIO_BLK_S_OK) {
        memcpy(id, raw, sizeof(raw));
        id[VIRTIO_BLK_ID_BYTES] = 0; /* not terminated when all 20 bytes are used */
    }
    return rc;
}

/* ---------------------------------------------------------------- re-initialisation after a reset */
int virtq_reinit(struct virtq *q)
{
    struct virtio_dev *d = q->dev;
    uint16_t size = q->size;
    virtio_write32(d, VIRTIO_MMIO_QUEUE_SEL, q->index);
    if (virtio_read32(d, VIRTIO_MMIO_QUEUE_READY) != 0)
        return -PL_EBUSY;
    uint32_t max = virtio_read32(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max < size)
        return -PL_ENOENT;
    memset(q->desc, 0, 16u * VIRTQ_MAX_SIZE);
    memset(q->avail, 0, 6 + 2u * VIRTQ_MAX_SIZE);
    memset(q->used, 0, 6 + 8u * VIRTQ_MAX_SIZE);
    q->event_idx = virtio_has(d, VIRTIO_F_EVENT_IDX);
    q->free_head = 0;
    q->num_free = size;
    q->avail_idx = q->kicked_idx = q->last_used = 0;
    for (uint32_t i = 0; i < size; i++) {
        q->next[i] = (uint16_t)(i + 1);
        q->chain_len[i] = 0;
        q->token[i] = NULL;
    }
    if (d->wait_mode == VIRTIO_WAIT_POLL) {
        q->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
        *q->used_event = 0xFFFF;
    }
    uint64_t desc = (uintptr_t)q->desc, drv = (uintptr_t)q->avail, dev = (uintptr_t)q->used;
    virtio_write32(d, VIRTIO_MMIO_QUEUE_NUM, size);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)drv);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(drv >> 32));
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)dev);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(dev >> 32));
    cbarrier();
    virtio_write32(d, VIRTIO_MMIO_QUEUE_READY, 1);
    if (virtio_read32(d, VIRTIO_MMIO_QUEUE_READY) != 1) {
        printf("virtio: window %u: queue %u not ready after QueueReady = 1 (re-init)\n", d->index, q->index);
        return -PL_EIO;
    }
    return 0;
}

int vblk_reinit(struct vblk *b)
{
    /* virtio_dev_init starts with the reset (Status 0, read back). */
    int rc = virtio_dev_init(&b->dev, b->dev.features, b->dev.wait_mode);
    if (rc)
        return rc;
    rc = virtq_reinit(b->vq);
    if (rc) {
        virtio_fail(&b->dev);
        return rc;
    }
    return virtio_driver_ok(&b->dev);
}

/* ---------------------------------------------------------------- virtio-console (5.3) */
static int vcons_post_rx(struct vcons *c, uint8_t *buf)
{
    struct virtq_buf b = {buf, VCONS_RX_BUF_SIZE, true};
    int rc = virtq_add(c->rxq, &b, 1, buf);
    if (rc == 0)
        virtq_kick(c->rxq);
    return rc;
}

int vcons_open(struct vcons *c, unsigned nth, enum virtio_wait_mode mode, bool event_idx)
{
    memset(c, 0, sizeof(*c));
    int rc = virtio_find(VIRTIO_ID_CONSOLE, nth, &c->dev);
    if (rc)
        return rc;
    uint64_t want = VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    if (event_idx)
        want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    if ((rc = virtio_dev_init(&c->dev, want, mode)))
        return rc;
    c->emerg_write = virtio_has(&c->dev, VIRTIO_CONSOLE_F_EMERG_WRITE);
    if ((rc = virtq_setup(&c->dev, 0, VCONS_RX_BUFS, &c->rxq)) || (rc = virtq_setup(&c->dev, 1, 0, &c->txq))) {
        virtio_fail(&c->dev);
        return rc;
    }
    if ((rc = virtio_driver_ok(&c->dev)))
        return rc;
    for (unsigned i = 0; i < VCONS_RX_BUFS && i < c->rxq->size; i++)
        if ((rc = vcons_post_rx(c, c->rx_buf[i])))
            return rc;
    return 0;
}

int vcons_write(struct vcons *c, const void *buf, uint32_t len)
{
    const uint8_t *p = buf;
    while (len) {
        uint32_t n = len < 4096 ? len : 4096, used = ~0u;
        struct virtq_buf b = {(void *)p, n, false};
        int rc = virtq_transfer(c->txq, &b, 1, &used);
        if (rc)
            return rc;
        if (used != 0)
            return -PL_EIO; /* the device writes nothing into transmit buffers */
        c->tx_bytes += n;
        p += n;
        len -= n;
    }
    return 0;
}

int vcons_puts(struct vcons *c, const char *s) { return vcons_write(c, s, (uint32_t)strlen(s)); }

void vcons_emerg_putc(struct vcons *c, char ch)
{
    virtio_write32(&c->dev, VIRTIO_MMIO_CONFIG + VIRTIO_CONSOLE_CFG_EMERG_WR, (uint8_t)ch);
}

/* Sleeps (IRQ mode) or spins until a receive buffer comes back or the deadline. */
static bool vcons_wait_rx(struct vcons *c, uint64_t timeout_ms)
{
    bool slept = false;
    return wait_used(c->rxq, rdtsc(), timeout_ms * virtio_tsc_khz(), &slept);
}

int vcons_read(struct vcons *c, void *buf, uint32_t len, uint64_t timeout_ms)
{
    uint8_t *out = buf;
    uint32_t got = 0;
    while (got < len) {
        if (!c->rx_cur) {
            if (!virtq_has_used(c->rxq) && (got || !vcons_wait_rx(c, timeout_ms)))
                break;
            uint32_t l = 0;
            uint8_t *b = virtq_get_used(c->rxq, &l);
            if (!b)
                break;
            if (l > VCONS_RX_BUF_SIZE) {
                printf("virtio: window %u: receive buffer used length %u > %u\n", c->dev.index, l,
                       VCONS_RX_BUF_SIZE);
                l = VCONS_RX_BUF_SIZE;
            }
            c->rx_buffers++;
            c->rx_cur = b;
            c->rx_cur_len = l;
            c->rx_cur_off = 0;
        }
        while (got < len && c->rx_cur_off < c->rx_cur_len)
            out[got++] = c->rx_cur[c->rx_cur_off++];
        if (c->rx_cur_off == c->rx_cur_len) {
            uint8_t *b = c->rx_cur;
            c->rx_cur = NULL;
            vcons_post_rx(c, b);
        }
    }
    c->rx_bytes += got;
    return (int)got;
}

/* ---------------------------------------------------------------- virtio-net (5.1) */
static int vnet_post_rx(struct vnet *n, unsigned i)
{
    struct virtq_buf b = {n->rx_buf[i], VNET_BUF_SIZE, true};
    return virtq_add(n->rxq, &b, 1, n->rx_buf[i]);
}

int vnet_open(struct vnet *n, unsigned nth, enum virtio_wait_mode mode, bool event_idx)
{
    memset(n, 0, sizeof(*n));
    int rc = virtio_find(VIRTIO_ID_NET, nth, &n->dev);
    if (rc)
        return rc;
    uint64_t wanted = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
                      (event_idx ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
    rc = virtio_dev_init(&n->dev, wanted, mode);
    if (rc)
        return rc;
    if (virtio_has(&n->dev, VIRTIO_NET_F_MAC)) {
        for (unsigned i = 0; i < 6; i++)
            n->mac[i] = virtio_config8(&n->dev, VIRTIO_NET_CFG_MAC + i);
    } else {
        static const uint8_t local[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}; /* locally administered */
        memcpy(n->mac, local, 6);
    }
    n->link_up = !virtio_has(&n->dev, VIRTIO_NET_F_STATUS) ||
                 (virtio_config16(&n->dev, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP);
    if ((rc = virtq_setup(&n->dev, 0, VIRTQ_MAX_SIZE, &n->rxq)) || (rc = virtq_setup(&n->dev, 1, 16, &n->txq))) {
        virtio_fail(&n->dev);
        return rc;
    }
    /* 5.1.6.3: receive buffers before DRIVER_OK. */
    for (unsigned i = 0; i < VNET_RX_BUFS && i < n->rxq->size; i++)
        if ((rc = vnet_post_rx(n, i)) != 0) {
            virtio_fail(&n->dev);
            return rc;
        }
    rc = virtio_driver_ok(&n->dev);
    if (rc == 0)
        virtq_kick(n->rxq);
    return rc;
}

int vnet_send(struct vnet *n, const void *frame, uint32_t len)
{
    if (len < 14 || len > VNET_FRAME_MAX + 4)
        return -PL_EINVAL;
    memset(n->tx_buf, 0, VIRTIO_NET_HDR_LEN); /* no offloads: flags 0, GSO_NONE */
    memcpy(n->tx_buf + VIRTIO_NET_HDR_LEN, frame, len);
    struct virtq_buf b = {n->tx_buf, VIRTIO_NET_HDR_LEN + len, false};
    uint32_t used = 0;
    int rc = virtq_transfer(n->txq, &b, 1, &used);
    if (rc == 0)
        n->tx_frames++;
    return rc;
}

/* Wait for a used receive buffer without the timeout diagnostic of virtq_wait. */
static bool vnet_wait_rx(struct virtq *q, uint64_t timeout_ms)
{
    bool slept = false;
    return wait_used(q, rdtsc(), timeout_ms * virtio_tsc_khz(), &slept);
}

int vnet_recv(struct vnet *n, void *buf, uint32_t cap, uint64_t timeout_ms)
{
    for (;;) {
        if (!virtq_has_used(n->rxq) && (timeout_ms == 0 || !vnet_wait_rx(n->rxq, timeout_ms)))
            return 0;
        uint32_t len = 0;
        uint8_t *b = virtq_get_used(n->rxq, &len);
        if (!b)
            continue;
        int flen = 0;
        if (len < VIRTIO_NET_HDR_LEN + 14 || len > VNET_BUF_SIZE)
            n->rx_bad++; /* an empty (dropped) or impossible frame: skip it */
        else
            flen = (int)(len - VIRTIO_NET_HDR_LEN);
        if (flen)
            memcpy(buf, b + VIRTIO_NET_HDR_LEN, (uint32_t)flen < cap ? (uint32_t)flen : cap);
        unsigned i = (unsigned)((b - n->rx_buf[0]) / VNET_BUF_SIZE);
        vnet_post_rx(n, i);
        virtq_kick(n->rxq);
        if (flen) {
            n->rx_frames++;
            return flen;
        }
    }
}
