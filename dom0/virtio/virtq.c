/* SPDX-License-Identifier: MIT */
/* Device side of a split virtqueue (see virtq.h). */
#include "dom0/virtio/virtq.h"

#include "hv/string.h"

/*
 * Guest memory is shared with a running (and possibly hostile) driver.
 * Each field is copied into dom0 once; the fences keep the compiler from
 * re-reading guest memory instead of the local copy and order the ring
 * accesses. x86 is TSO, so only the store->load case needs a real fence.
 */
#define COMPILER_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define RMB() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define WMB() __atomic_thread_fence(__ATOMIC_RELEASE)
#define MB() __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* Callers checked the range at vq_setup (rings) or just before (buffers). */
static uint16_t ld16(const struct guestmem *gm, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, gm->base + gpa, sizeof v);
    COMPILER_FENCE();
    return v;
}

static void st16(const struct guestmem *gm, uint64_t gpa, uint16_t v)
{
    COMPILER_FENCE();
    memcpy(gm->base + gpa, &v, sizeof v);
    COMPILER_FENCE();
}

static void st32(const struct guestmem *gm, uint64_t gpa, uint32_t v)
{
    COMPILER_FENCE();
    memcpy(gm->base + gpa, &v, sizeof v);
    COMPILER_FENCE();
}

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* Descriptor i of the table at gpa (range checked by the caller). */
static void ld_desc(const struct guestmem *gm, uint64_t table, uint32_t i, struct desc *d)
{
    const uint8_t *p = gm->base + table + (uint64_t)i * VQ_DESC_BYTES;
    memcpy(&d->addr, p, 8);
    memcpy(&d->len, p + 8, 4);
    memcpy(&d->flags, p + 12, 2);
    memcpy(&d->next, p + 14, 2);
    COMPILER_FENCE();
}

static const char *const vq_errs[VQ_ERR_COUNT] = {
    [VQ_OK] = "ok",
    [VQ_EBADSIZE] = "bad queue size",
    [VQ_EALIGN] = "misaligned ring",
    [VQ_ERINGRANGE] = "ring outside guest RAM",
    [VQ_EIDXJUMP] = "avail index jumped beyond queue size",
    [VQ_EHEAD] = "avail entry out of range",
    [VQ_ENEXT] = "descriptor next out of range",
    [VQ_ELOOP] = "descriptor chain loops or exceeds queue size",
    [VQ_EBUFRANGE] = "buffer outside guest RAM",
    [VQ_ETOOBIG] = "chain longer than 16 MiB",
    [VQ_EINDIRECT] = "indirect descriptor not allowed here",
    [VQ_EINDLEN] = "bad indirect table length",
    [VQ_EORDER] = "readable buffer after writable one",
    [VQ_ETOOMANY] = "too many segments",
    [VQ_ENOTREADY] = "queue not ready",
    [VQ_EUSEDID] = "used id out of range",
    [VQ_EOVERRUN] = "more used than popped",
};

const char *vq_strerror(int err)
{
    if (err < 0)
        err = -err;
    if (err >= VQ_ERR_COUNT)
        return "unknown error";
    return vq_errs[err];
}

void vq_disable(struct vq *q)
{
    memset(q, 0, sizeof *q);
}

int vq_setup(struct vq *q, const struct guestmem *gm, uint32_t size, uint64_t desc, uint64_t avail,
             uint64_t used, bool event_idx, bool indirect)
{
    vq_disable(q);
    if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1)) != 0)
        return -VQ_EBADSIZE;
    if ((desc & 15) != 0 || (avail & 1) != 0 || (used & 3) != 0)
        return -VQ_EALIGN;
    /* 2.7: desc 16*n; avail flags, idx, ring[n], used_event; used flags,
     * idx, ring[n] of 8 bytes, avail_event. The event words are counted
     * even without EVENT_IDX (drivers always allocate them). */
    if (!gm_range_ok(gm, desc, (uint64_t)size * VQ_DESC_BYTES) ||
        !gm_range_ok(gm, avail, 6 + 2 * (uint64_t)size) || !gm_range_ok(gm, used, 6 + 8 * (uint64_t)size))
        return -VQ_ERINGRANGE;
    q->gm = gm;
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    q->event_idx = event_idx;
    q->indirect = indirect;
    q->size = (uint16_t)size;
    return 0;
}

int vq_avail_count(struct vq *q)
{
    if (!vq_ready(q))
        return -VQ_ENOTREADY;
    uint16_t idx = ld16(q->gm, q->avail + 2);
    uint16_t pending = (uint16_t)(idx - q->last_avail);
    if (pending > q->size)
        return -VQ_EIDXJUMP;
    return pending;
}

/* Append one buffer to the chain after checking it. */
static int add_seg(struct vq *q, const struct desc *d, struct vq_chain *out, struct vq_seg *segs,
                   uint32_t cap, bool *seen_write)
{
    bool w = (d->flags & VIRTQ_F_WRITE) != 0;
    if (!gm_range_ok(q->gm, d->addr, d->len))
        return -VQ_EBUFRANGE;
    if (!w && *seen_write)
        return -VQ_EORDER;
    if (w)
        *seen_write = true;
    if (out->read_len + out->write_len + d->len > VQ_MAX_TOTAL)
        return -VQ_ETOOBIG;
    if (d->len == 0)
        return 0;
    if (out->nseg >= cap)
        return -VQ_ETOOMANY;
    segs[out->nseg].gpa = d->addr;
    segs[out->nseg].len = d->len;
    segs[out->nseg].write = w;
    out->nseg++;
    if (w) {
        out->write_len += d->len;
    } else {
        out->read_len += d->len;
        out->nread++;
    }
    return 0;
}

/* Walk the chain in the table at `table` of `n` entries, starting at `i`. */
static int walk(struct vq *q, uint64_t table, uint32_t n, uint32_t i, bool in_indirect, struct vq_chain *out,
                struct vq_seg *segs, uint32_t cap, bool *seen_write)
{
    for (uint32_t count = 0;; count++) {
        if (count >= n)
            return -VQ_ELOOP;       /* more descriptors than the table holds: a loop */
        if (i >= n)
            return -VQ_ENEXT;
        struct desc d;
        ld_desc(q->gm, table, i, &d);
        if (d.flags & VIRTQ_F_INDIRECT) {
            /* Only as the sole descriptor of a main-table chain. */
            if (in_indirect || !q->indirect || (d.flags & VIRTQ_F_NEXT) || count != 0)
                return -VQ_EINDIRECT;
            if (d.len == 0 || (d.len % VQ_DESC_BYTES) != 0)
                return -VQ_EINDLEN;
            if (!gm_range_ok(q->gm, d.addr, d.len))
                return -VQ_EBUFRANGE;
            /* Bounded by what the caller can hold, not only by guest RAM:
             * zero-length entries take no segment, so a table of millions
             * of them would otherwise be walked for each request. */
            if (d.len / VQ_DESC_BYTES > cap)
                return -VQ_ETOOMANY;
            /* The WRITE flag of the indirect descriptor itself is ignored (2.7.5.3.2). */
            return walk(q, d.addr, d.len / VQ_DESC_BYTES, 0, true, out, segs, cap, seen_write);
        }
        int r = add_seg(q, &d, out, segs, cap, seen_write);
        if (r < 0)
            return r;
        if (!(d.flags & VIRTQ_F_NEXT))
            return 0;
        i = d.next;
    }
}

int vq_pop(struct vq *q, struct vq_chain *out, struct vq_seg *segs, uint32_t cap)
{
    memset(out, 0, sizeof *out);
    int pending = vq_avail_count(q);
    if (pending <= 0)
        return pending;
    RMB(); /* ring entries after the index (2.7.13.3 ordering) */
    uint16_t head = ld16(q->gm, q->avail + 4 + 2 * (uint64_t)(q->last_avail & (q->size - 1)));
    if (head >= q->size)
        return -VQ_EHEAD;
    bool seen_write = false;
    int r = walk(q, q->desc, q->size, head, false, out, segs, cap, &seen_write);
    if (r < 0) {
        memset(out, 0, sizeof *out);
        return r;
    }
    out->head = head;
    q->last_avail++;
    q->inflight++;
    return 1;
}

int vq_push(struct vq *q, uint16_t id, uint32_t len)
{
    if (!vq_ready(q))
        return -VQ_ENOTREADY;
    if (id >= q->size)
        return -VQ_EUSEDID;
    if (q->inflight == 0)
        return -VQ_EOVERRUN;
    uint64_t e = q->used + 4 + 8 * (uint64_t)(q->used_idx & (q->size - 1));
    st32(q->gm, e, id);
    st32(q->gm, e + 4, len);
    WMB(); /* the element before the index */
    q->used_idx++;
    q->inflight--;
    st16(q->gm, q->used + 2, q->used_idx);
    return 0;
}

bool vq_should_notify(struct vq *q)
{
    if (!vq_ready(q))
        return false;
    MB(); /* used->idx store before the used_event / flags load */
    if (!q->event_idx) {
        uint16_t flags = ld16(q->gm, q->avail);
        return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    uint16_t old = q->signalled_used, now = q->used_idx;
    bool valid = q->signalled_valid;
    q->signalled_used = now;
    q->signalled_valid = true;
    if (valid && old == now)
        return false;   /* nothing new since the last decision */
    uint16_t used_event = ld16(q->gm, q->avail + 4 + 2 * (uint64_t)q->size);
    return !valid || vq_need_event(used_event, now, old);
}

bool vq_enable_notify(struct vq *q)
{
    if (!vq_ready(q))
        return false;
    if (q->event_idx) {
        st16(q->gm, q->used + 4 + 8 * (uint64_t)q->size, q->last_avail);
        MB(); /* publish avail_event before re-reading avail->idx */
    }
    return vq_avail_count(q) != 0;
}

uint64_t vq_seg_copy(const struct guestmem *gm, const struct vq_seg *seg, uint32_t n, uint64_t off, void *buf,
                     uint64_t len, bool to_guest)
{
    uint8_t *b = buf;
    uint64_t done = 0;
    for (uint32_t i = 0; i < n && done < len; i++) {
        uint64_t sl = seg[i].len;
        if (off >= sl) {
            off -= sl;
            continue;
        }
        uint64_t k = sl - off;
        if (k > len - done)
            k = len - done;
        uint8_t *g = gm_ptr(gm, seg[i].gpa + off, k);
        if (!g)
            return done;
        if (to_guest)
            memcpy(g, b + done, k);
        else
            memcpy(b + done, g, k);
        done += k;
        off = 0;
    }
    return done;
}
