/* Device models in another domain. A domain's virtio-mmio windows have no
 * backing in the hypervisor: each access is decoded and queued on the ring
 * of the domain's device model (dom0), which is notified through an event
 * channel; for a read the vCPU waits until dom0 completes it, writes are
 * posted. dom0 reaches the domain's memory through a foreign
 * mapping and raises its interrupts with HC_DOMAIN_IRQ. */
#include "hv/ioreq.h"

#include "arch/x86/insn_decode.h"
#include "hv/compiler.h"
#include "hv/domain.h"
#include "hv/evtchn.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/mmio.h"
#include "hv/schedule.h"
#include "hv/string.h"
#include "plinth/errno.h"
#include "plinth/evtchn.h"

#define CHUNK DOMAIN_CHUNK
/* Foreign mappings live at or above this guest-physical address of the
 * mapper, far above any RAM a domain can have (1 GiB) and the 4 GiB MMIO
 * hole. */
#define FOREIGN_MIN_GPA (64ull << 30)
#define FOREIGN_MAX_GPA (1ull << 46)
#define MAX_IRQ_LINE 63
#define READ_NO_DEVICE_MODEL ~0ull

struct post {
    struct domain *client;
    struct plinth_ioreq req;
    int rc;
};

/* Runs with the registry lock held, on the server (so it cannot go). */
static int post_request(struct domain *server, void *arg)
{
    struct post *p = arg;
    struct domain *c = p->client;
    if (server->state != DOMAIN_RUNNING)
        return -PL_ENOENT;
    struct plinth_ioreq_ring *ring = domain_ram_ptr(server, c->ioreq_ring_gpa, sizeof(*ring));
    if (!ring)
        return -PL_EFAULT;
    uint32_t prod = __atomic_load_n(&ring->prod, __ATOMIC_RELAXED);
    uint32_t cons = __atomic_load_n(&ring->cons, __ATOMIC_ACQUIRE);
    if (prod - cons >= IOREQ_RING_SIZE)
        return -PL_EBUSY; /* full: the vCPU retries the access later */
    ring->req[prod % IOREQ_RING_SIZE] = p->req;
    __atomic_store_n(&ring->prod, prod + 1, __ATOMIC_RELEASE);
    evtchn_notify_from_hypervisor(server, c->ioreq_port);
    return 0;
}

void ioreq_handle(struct vcpu *v, const struct vcpu_exit *e)
{
    struct domain *d = v->dom;
    uint64_t gpa = e->mem.gpa;
    if (!v->ioreq_insn && !(v->ioreq_insn = kmalloc(sizeof(struct insn)))) {
        domain_stop(d, true, 0, "out of memory for a device access");
        return;
    }
    struct insn *in = v->ioreq_insn;
    if (!mmio_decode(v, gpa, "virtio-mmio", in))
        return;
    uint64_t off = (gpa - PLINTH_VIRTIO_MMIO_BASE) % PLINTH_VIRTIO_MMIO_STRIDE;
    if (in->size > PLINTH_VIRTIO_MMIO_STRIDE - off) {
        domain_stop(d, true, 0, "virtio-mmio access of %u bytes at %#lx crosses into the next window", in->size, gpa);
        return;
    }
    unsigned server = __atomic_load_n(&d->ioreq_server, __ATOMIC_ACQUIRE);
    if (!server) {
        /* No device model: nothing is there (DeviceID 0 reads as "no
         * device", virtio 1.2 4.2.2). */
        mmio_finish(v, in, 0);
        return;
    }
    unsigned window = (unsigned)((gpa - PLINTH_VIRTIO_MMIO_BASE) / PLINTH_VIRTIO_MMIO_STRIDE);
    if (in->size == 4 && !in->write && off == VIRTIO_MMIO_INTERRUPT_STATUS) {
        mmio_finish(v, in, virtio_isr_read(&d->virtio_isr[window]));
        return;
    }
    if (in->size == 4 && in->write && off == VIRTIO_MMIO_INTERRUPT_ACK) {
        virtio_isr_ack(&d->virtio_isr[window], (uint32_t)insn_write_value(in, v->gprs));
        mmio_finish(v, in, 0);
        return;
    }
    struct post p = { .client = d };
    p.req.addr = gpa;
    p.req.size = in->size;
    p.req.dir = in->write ? IOREQ_WRITE : IOREQ_READ;
    p.req.data = in->write ? insn_write_value(in, v->gprs) : 0;
    p.req.vcpu = v->id;
    /* Writes are posted: the device model serves the ring in order, so a
     * later read is answered after the write took effect, and nothing
     * else in the guest can observe a write to a device register. */
    bool notify = in->write && off == VIRTIO_MMIO_QUEUE_NOTIFY;
    p.req.type = notify ? IOREQ_TYPE_NOTIFY : in->write ? IOREQ_TYPE_POSTED_WRITE : IOREQ_TYPE_MMIO;
    p.req.seq = __atomic_add_fetch(&d->ioreq_seq, 1, __ATOMIC_RELAXED);
    if (in->write && in->size == 4 && off == VIRTIO_MMIO_STATUS && p.req.data == 0) {
        /* A device reset (registers take 4-byte accesses only; the device
         * model ignores others): its interrupt status starts again from nothing,
         * and what the device model raises before it sees this request is
         * for the device as it was (HC_DOMAIN_IRQ drops that). */
        spin_lock(&d->virtio_lock);
        virtio_isr_reset(&d->virtio_isr[window], p.req.seq);
        spin_unlock(&d->virtio_lock);
    }
    if (!in->write) {
        /* Waiting before the request is visible, so a completion cannot
         * come first and be refused. */
        v->ioreq_seq = p.req.seq;
        __atomic_store_n(&v->ioreq_state, VCPU_IOREQ_WAITING, __ATOMIC_RELEASE);
    }
    int rc = domain_with(server, post_request, &p);
    if (rc == 0) {
        if (in->write)
            mmio_finish(v, in, 0);
        return;
    }
    v->ioreq_state = VCPU_IOREQ_NONE;
    if (rc == -PL_EBUSY) {
        v->yielded = true; /* the ring is full: let dom0 run, then the access exits again */
        return;
    }
    /* The device model is gone or broke its ring: the device is absent. */
    mmio_finish(v, in, in->write ? 0 : READ_NO_DEVICE_MODEL);
}

void ioreq_resume(struct vcpu *v)
{
    uint64_t val = v->ioreq_value;
    v->ioreq_state = VCPU_IOREQ_NONE;
    uint64_t mask = v->ioreq_insn->size == 8 ? ~0ull : (1ull << (8 * v->ioreq_insn->size)) - 1;
    mmio_finish(v, v->ioreq_insn, val & mask);
}

/* ---- hypercalls ---- */

struct op {
    struct domain *caller;
    uint64_t a[4];
    uint64_t nr;
};

static bool foreign_overlaps(const struct domain *d, uint64_t gpa, uint64_t size)
{
    for (unsigned i = 0; i < DOMAIN_MAX_FOREIGN; i++)
        if (d->foreign[i].domid && gpa < d->foreign[i].gpa + d->foreign[i].size && d->foreign[i].gpa < gpa + size)
            return true;
    return false;
}

static int foreign_map(struct domain *caller, struct domain *t, uint64_t dst)
{
    if (t == caller)
        return -PL_EINVAL;
    if (dst % CHUNK || dst < FOREIGN_MIN_GPA || dst >= FOREIGN_MAX_GPA || t->mem_size > FOREIGN_MAX_GPA - dst)
        return -PL_EINVAL;
    if (foreign_overlaps(caller, dst, t->mem_size))
        return -PL_EINVAL;
    int slot = -1;
    for (unsigned i = 0; i < DOMAIN_MAX_FOREIGN; i++) {
        if (caller->foreign[i].domid == t->id)
            return -PL_EBUSY;
        if (!caller->foreign[i].domid && slot < 0)
            slot = (int)i;
    }
    if (slot < 0)
        return -PL_ENOSPC;
    if (t->state != DOMAIN_RUNNING)
        return -PL_ENOENT;
    for (uint64_t i = 0; i < t->mem_size / CHUNK; i++) {
        int rc = arch_aspace_map(&caller->as, dst + i * CHUNK, t->chunk_hpa[i], CHUNK, ASPACE_R | ASPACE_W,
                                 MEMTYPE_WB);
        if (rc) {
            arch_aspace_unmap(&caller->as, dst, i * CHUNK);
            arch_aspace_flush(&caller->as);
            return rc;
        }
    }
    caller->foreign[slot] = (struct foreign_map){ t->id, dst, t->mem_size };
    domain_log(caller, "maps dom%u's %lu MiB of RAM at %#lx", t->id, t->mem_size >> 20, dst);
    return (int)MIN(t->mem_size, (uint64_t)INT32_MAX);
}

/* Remove the mapper's view of domain `domid`; then make sure no vCPU of
 * the mapper still uses the old translations. */
static void foreign_drop(struct domain *mapper, unsigned domid)
{
    for (unsigned i = 0; i < DOMAIN_MAX_FOREIGN; i++) {
        struct foreign_map *m = &mapper->foreign[i];
        if (m->domid != domid)
            continue;
        arch_aspace_unmap(&mapper->as, m->gpa, m->size);
        arch_aspace_flush(&mapper->as);
        schedule_sync_domain(mapper);
        *m = (struct foreign_map){ 0 };
    }
}

static bool set_interrupt_status(struct domain *t, unsigned window, uint32_t bits, uint32_t seen_seq)
{
    spin_lock(&t->virtio_lock);
    bool current = virtio_isr_raise(&t->virtio_isr[window], bits, seen_seq);
    spin_unlock(&t->virtio_lock);
    return current;
}

static int target_op(struct domain *t, void *arg)
{
    struct op *o = arg;
    struct domain *c = o->caller;
    switch (o->nr) {
    case HC_IOREQ_REGISTER: {
        uint64_t ring = o->a[1], port = o->a[2];
        if (t == c)
            return -PL_EINVAL;
        if (ring % 4096 || !domain_ram_contains(c, ring, sizeof(struct plinth_ioreq_ring)))
            return -PL_EFAULT;
        if (port >= EVTCHN_MAX_PORTS || !evtchn_is_hypervisor_port(c, (unsigned)port))
            return -PL_EINVAL;
        if (t->ioreq_server && t->ioreq_server != c->id)
            return -PL_EBUSY;
        struct plinth_ioreq_ring *r = domain_ram_ptr(c, ring, sizeof(*r));
        r->prod = r->cons = 0;
        r->domid = t->id;
        r->client_gone = 0;
        t->ioreq_ring_gpa = ring;
        t->ioreq_port = (unsigned)port;
        __atomic_store_n(&t->ioreq_server, c->id, __ATOMIC_RELEASE);
        domain_log(t, "device model: dom%u (ring at %#lx, port %lu)", c->id, ring, port);
        return 0;
    }
    case HC_IOREQ_COMPLETE: {
        if (t->ioreq_server != c->id)
            return -PL_EPERM;
        if (o->a[1] >= t->vcpu_count || o->a[2] > UINT32_MAX)
            return -PL_ENOENT;
        return schedule_ioreq_done(t->vcpus[o->a[1]], (uint32_t)o->a[2], o->a[3]) ? 0 : -PL_ENOENT;
    }
    case HC_FOREIGN_MAP:
        return foreign_map(c, t, o->a[1]);
    case HC_DOMAIN_IRQ: {
        uint64_t line = o->a[1], status = o->a[2];
        uint64_t window = line - PLINTH_VIRTIO_MMIO_IRQ_BASE; /* wraps for lower lines */
        if (line > MAX_IRQ_LINE || status & ~(uint64_t)(VIRTIO_INT_USED_BUFFER | VIRTIO_INT_CONFIG_CHANGE) ||
            (status && window >= PLINTH_VIRTIO_MMIO_MAX) || o->a[3] > UINT32_MAX)
            return -PL_EINVAL;
        if (t->state != DOMAIN_RUNNING)
            return -PL_ENOENT;
        if (t->ioreq_server != c->id && status)
            return -PL_EPERM;
        if (status && !set_interrupt_status(t, (unsigned)window, (uint32_t)status, (uint32_t)o->a[3]))
            return 0; /* for the device before its reset: dropped */
        struct vcpu *v = t->vcpus[0];
        virq_raise(v, (uint8_t)(PLINTH_IRQ_VECTOR_BASE + o->a[1]));
        schedule_notify(v);
        return 0;
    }
    default:
        return -PL_ENOSYS;
    }
}

int64_t ioreq_hypercall(struct vcpu *v, uint64_t nr, const uint64_t *a)
{
    struct domain *c = v->dom;
    if (nr == HC_FOREIGN_UNMAP) {
        bool found = false;
        for (unsigned i = 0; i < DOMAIN_MAX_FOREIGN; i++)
            found |= a[0] && c->foreign[i].domid == a[0];
        if (!found)
            return -PL_ENOENT;
        foreign_drop(c, (unsigned)a[0]);
        return 0;
    }
    if (a[0] > UINT32_MAX)
        return -PL_ENOENT;
    struct op o = { .caller = c, .a = { a[0], a[1], a[2], a[3] }, .nr = nr };
    return domain_with((unsigned)a[0], target_op, &o);
}

/* ---- the end of a domain ---- */

static void forget_dying(struct domain *other, void *arg)
{
    struct domain *dying = arg;
    /* It mapped us: our RAM is about to be freed. */
    foreign_drop(other, dying->id);
    /* It was our device model: tell it we are gone (it stops serving us
     * when it sees the flag, with no need to ask after us). */
    if (dying->ioreq_server == other->id) {
        struct plinth_ioreq_ring *ring = domain_ram_ptr(other, dying->ioreq_ring_gpa, sizeof(*ring));
        if (ring) {
            __atomic_store_n(&ring->client_gone, 1, __ATOMIC_RELEASE);
            evtchn_notify_from_hypervisor(other, dying->ioreq_port);
        }
    }
    /* We served it: its waiting vCPUs read all ones and go on. */
    if (other->ioreq_server == dying->id) {
        __atomic_store_n(&other->ioreq_server, 0, __ATOMIC_RELEASE);
        for (unsigned i = 0; i < other->vcpu_count; i++) {
            struct vcpu *w = other->vcpus[i];
            if (w->ioreq_state == VCPU_IOREQ_WAITING)
                schedule_ioreq_done(w, w->ioreq_seq, READ_NO_DEVICE_MODEL);
        }
        domain_log(other, "device model dom%u ended: its devices are gone", dying->id);
    }
}

void ioreq_domain_destroy(struct domain *d)
{
    domain_for_each(forget_dying, d);
    /* Its own mappings of others: just the entries (its tables go too). */
    for (unsigned i = 0; i < DOMAIN_MAX_FOREIGN; i++)
        d->foreign[i] = (struct foreign_map){ 0 };
}
