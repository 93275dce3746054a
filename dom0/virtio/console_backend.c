/* SPDX-License-Identifier: MIT */
/* virtio-console backend (see console_backend.h). */
#include "dom0/virtio/console_backend.h"

#include "hv/string.h"
#include "plinth/errno.h"

_Static_assert((VCONS_OUT_SIZE & (VCONS_OUT_SIZE - 1)) == 0, "output ring size is a power of two");

static struct vcons_dev *from_mmio(struct vmmio_dev *d) { return (struct vcons_dev *)d->priv; }

/* Append n bytes to the output ring (only the last VCONS_OUT_SIZE matter). */
static void out_put(struct vcons_dev *vc, const uint8_t *p, uint64_t n)
{
    if (n > VCONS_OUT_SIZE) {
        vc->out_pos += n - VCONS_OUT_SIZE;
        p += n - VCONS_OUT_SIZE;
        n = VCONS_OUT_SIZE;
    }
    while (n) {
        uint32_t at = (uint32_t)(vc->out_pos % VCONS_OUT_SIZE);
        uint32_t k = VCONS_OUT_SIZE - at;
        if (k > n)
            k = (uint32_t)n;
        memcpy(vc->out + at, p, k);
        vc->out_pos += k;
        p += k;
        n -= k;
    }
}

size_t vcons_out_read(const struct vcons_dev *vc, uint64_t *pos, void *buf, size_t len, uint64_t *lost)
{
    uint64_t start = vcons_out_start(vc), p = *pos;
    if (lost)
        *lost = p < start ? start - p : 0;
    if (p < start)
        p = start;
    if (p > vc->out_pos)
        p = vc->out_pos;
    uint8_t *b = buf;
    size_t done = 0;
    while (done < len && p < vc->out_pos) {
        uint32_t at = (uint32_t)(p % VCONS_OUT_SIZE);
        uint64_t k = VCONS_OUT_SIZE - at;
        if (k > vc->out_pos - p)
            k = vc->out_pos - p;
        if (k > len - done)
            k = len - done;
        memcpy(b + done, vc->out + at, (size_t)k);
        done += (size_t)k;
        p += k;
    }
    *pos = p;
    return done;
}

/* transmitq0: every chain wholly device-readable; its bytes go to the ring. */
static int tx_chain(struct vcons_dev *vc, const struct vq_chain *c)
{
    if (c->nread != c->nseg || c->write_len != 0)
        return -VCONS_EMALFORMED;
    /* Only the last VCONS_OUT_SIZE bytes of a chain can survive. */
    uint64_t skip = c->read_len > VCONS_OUT_SIZE ? c->read_len - VCONS_OUT_SIZE : 0;
    vc->out_pos += skip;
    for (uint32_t i = 0; i < c->nseg; i++) {
        uint64_t len = vc->segs[i].len, off = 0;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        off = skip;
        skip = 0;
        /* vq_pop checked the range; gm_ptr checks again so a bug here cannot leave guest RAM. */
        const uint8_t *g = gm_ptr(vc->gm, vc->segs[i].gpa + off, len - off);
        if (!g)
            return -VQ_EBUFRANGE;
        out_put(vc, g, len - off);
    }
    vc->tx_bytes += c->read_len;
    vc->tx_chains++;
    return 0;
}

static int process_tx(struct vcons_dev *vc, struct vq *vq)
{
    struct vmmio_dev *d = &vc->mmio;
    unsigned served = 0;
    int more = 0;
    for (unsigned iter = 0; iter < 2 * VCONS_BUDGET; iter++) {
        struct vq_chain c;
        int r = vq_pop(vq, &c, vc->segs, VCONS_MAX_SEGS);
        if (r == 0) {
            if (!vq_enable_notify(vq))
                break;
            continue;
        }
        if (r > 0)
            r = tx_chain(vc, &c);
        if (r >= 0)
            r = vq_push(vq, c.head, 0);
        if (r < 0) {
            vmmio_fail(d, r);
            break;
        }
        if (++served >= VCONS_BUDGET) {
            more = vq_avail_count(vq) != 0;
            break;
        }
    }
    if (served)
        vmmio_queue_done(d, VCONS_TXQ);
    return more && vmmio_live(d);
}

/* receiveq0: fill posted buffers with waiting input, one chain at a time. */
size_t vcons_deliver(struct vcons_dev *vc)
{
    struct vmmio_dev *d = &vc->mmio;
    struct vq *vq = vmmio_vq(d, VCONS_RXQ);
    if (!vq || !vmmio_live(d))
        return 0;
    size_t delivered = 0;
    unsigned served = 0;
    for (unsigned iter = 0; vc->in_len && iter < 2 * VCONS_BUDGET && served < VCONS_BUDGET; iter++) {
        struct vq_chain c;
        int r = vq_pop(vq, &c, vc->segs, VCONS_MAX_SEGS);
        if (r == 0) {
            if (!vq_enable_notify(vq))
                break;
            continue;
        }
        uint32_t written = 0;
        if (r > 0 && (c.nread != 0 || c.write_len == 0))
            r = -VCONS_EMALFORMED;
        for (uint32_t i = 0; r > 0 && i < c.nseg && vc->in_len; i++) {
            uint32_t room = vc->segs[i].len;
            while (room && vc->in_len) {
                uint32_t k = VCONS_IN_SIZE - vc->in_head; /* contiguous run */
                if (k > vc->in_len)
                    k = vc->in_len;
                if (k > room)
                    k = room;
                uint8_t *g = gm_ptr(vc->gm, vc->segs[i].gpa + (vc->segs[i].len - room), k);
                if (!g) {
                    r = -VQ_EBUFRANGE;
                    break;
                }
                memcpy(g, vc->in + vc->in_head, k);
                vc->in_head = (vc->in_head + k) % VCONS_IN_SIZE;
                vc->in_len -= k;
                room -= k;
                written += k;
            }
        }
        if (r > 0)
            r = vq_push(vq, c.head, written);
        if (r < 0) {
            vmmio_fail(d, r);
            break;
        }
        served++;
        delivered += written;
        vc->rx_bytes += written;
        vc->rx_chains++;
    }
    if (served)
        vmmio_queue_done(d, VCONS_RXQ);
    return delivered;
}

size_t vcons_input(struct vcons_dev *vc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t room = VCONS_IN_SIZE - vc->in_len, n = len < room ? len : room;
    for (size_t i = 0; i < n; i++)
        vc->in[(vc->in_head + vc->in_len + i) % VCONS_IN_SIZE] = p[i];
    vc->in_len += (uint32_t)n;
    vc->in_bytes += n;
    vc->in_dropped += len - n;
    vcons_deliver(vc);
    return n;
}

int vcons_notify(struct vcons_dev *vc, unsigned q)
{
    struct vmmio_dev *d = &vc->mmio;
    struct vq *vq = vmmio_vq(d, q);
    if (!vq || !vmmio_live(d))
        return 0;
    if (q == VCONS_TXQ)
        return process_tx(vc, vq);
    vcons_deliver(vc);
    return 0;
}

static int vcons_notify_op(struct vmmio_dev *d, unsigned q) { return vcons_notify(from_mmio(d), q); }

static void vcons_reset_op(struct vmmio_dev *d)
{
    (void)d; /* nothing in flight: output and waiting input belong to dom0's side */
}

/* emerg_wr (5.3.4): a write outputs its low byte, whatever the device status. */
static void vcons_config_write(struct vmmio_dev *d, uint32_t off, unsigned size, uint64_t value)
{
    struct vcons_dev *vc = from_mmio(d);
    if (off != VIRTIO_CONSOLE_CFG_EMERG_WR || size > 4)
        return; /* cols, rows, max_nr_ports are read-only */
    uint8_t ch = (uint8_t)value;
    out_put(vc, &ch, 1);
    vc->emerg_bytes++;
}

static const struct vmmio_ops vcons_ops = {
    .notify = vcons_notify_op,
    .reset = vcons_reset_op,
    .config_write = vcons_config_write,
};

void vcons_set_irq(struct vcons_dev *vc, void (*raise)(void *ctx, uint32_t status), void *ctx)
{
    vmmio_set_irq(&vc->mmio, raise, ctx);
}

int vcons_create(struct vcons_dev *vc, const struct guestmem *gm)
{
    if (!vc || !gm)
        return -PL_EINVAL;
    memset(vc, 0, sizeof *vc);
    vc->gm = gm;
    /* cols, rows (meaningful only with F_SIZE), max_nr_ports (only with
     * MULTIPORT) and emerg_wr all read 0. */
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
                        VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE);
    return vmmio_init(&vc->mmio, gm, VIRTIO_ID_CONSOLE, features, VCONS_NUM_QUEUES, VCONS_QUEUE_MAX, vc->config,
                      sizeof vc->config, &vcons_ops, vc);
}

uint64_t vcons_mmio_read(struct vcons_dev *vc, uint64_t offset, unsigned size)
{
    return vmmio_read(&vc->mmio, offset, size);
}

void vcons_mmio_write(struct vcons_dev *vc, uint64_t offset, unsigned size, uint64_t value)
{
    (void)vmmio_write(&vc->mmio, offset, size, value);
}
