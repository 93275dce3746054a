/* Event channels between domains (ABI: include/plinth/evtchn.h, model and
 * rules: docs/evtchn.md). The port state machine is hv/evtchn_core.c; this
 * file adds the hypercalls, the per-domain state and upcall delivery.
 *
 * Locking: one spinlock, evtchn_lock, guards every domain's event-channel
 * state (d->evtchn and the tables it points to). A connected port points at
 * the peer's table; evtchn_domain_destroy clears those pointers on both
 * sides under the lock before it frees a table, and it runs after the
 * domain left the registry but before its vCPUs and RAM are freed. So while
 * the lock is held, any table reachable from a port belongs to a domain
 * whose vCPUs and RAM (the event page) still exist: delivery sets the bit
 * in the page and raises the upcall (virq_raise, schedule_notify) under the
 * lock. Lock order: registry lock (domain_with) -> evtchn_lock -> scheduler
 * lock; nothing here calls domain_with or allocates with evtchn_lock held. */
#include "hv/evtchn.h"

#include "arch/x86/spinlock.h"
#include "hv/domain.h"
#include "hv/evtchn_core.h"
#include "hv/mm.h"
#include "hv/schedule.h"
#include "plinth/errno.h"
#include "plinth/evtchn.h"
#include "plinth/ioreq.h"

#define EVTCHN_PAGE_SIZE 4096u
#define FIRST_UPCALL_VECTOR 32

_Static_assert(sizeof(struct evtchn_domain) <= 2048, "kmalloc's largest object");
_Static_assert(sizeof(struct plinth_evtchn_page) == EVTCHN_PAGE_SIZE, "the event page is one page");
_Static_assert(EVTCHN_DOMID_HYPERVISOR == DOMID_HYPERVISOR, "the core's copy of DOMID_HYPERVISOR");

static spinlock_t evtchn_lock = SPINLOCK_INIT;

/* Raise the upcall of e's domain on its vCPU 0 (evtchn_lock held). */
static void raise_upcall(struct evtchn_domain *e)
{
    struct domain *d = e->owner;
    struct vcpu *v = d->vcpus[0];
    virq_raise(v, e->vector);
    schedule_notify(v);
}

/* d's state, created on first use; NULL when out of memory. Only for the
 * calling domain (or one that cannot be destroyed meanwhile). */
static struct evtchn_domain *state_of(struct domain *d)
{
    struct evtchn_domain *fresh = NULL;
    if (!__atomic_load_n(&d->evtchn, __ATOMIC_ACQUIRE)) {
        fresh = kmalloc(sizeof(*fresh));
        if (!fresh)
            return NULL;
        evtchn_core_init(fresh, d->id, d);
    }
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    if (!d->evtchn && fresh) {
        __atomic_store_n(&d->evtchn, fresh, __ATOMIC_RELEASE);
        fresh = NULL;
    }
    struct evtchn_domain *e = d->evtchn;
    spin_unlock_irqrestore(&evtchn_lock, flags);
    if (fresh)
        kfree(fresh); /* another vCPU of d was faster */
    return e;
}

static int64_t hc_init(struct domain *d, uint64_t gpa, uint64_t vector)
{
    if (vector < FIRST_UPCALL_VECTOR || vector > 255 || gpa % EVTCHN_PAGE_SIZE)
        return -PL_EINVAL;
    struct plinth_evtchn_page *page = domain_ram_ptr(d, gpa, EVTCHN_PAGE_SIZE);
    if (!page)
        return -PL_EFAULT;
    struct evtchn_domain *e = state_of(d);
    if (!e)
        return -PL_ENOMEM;
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    int rc = evtchn_core_set_page(e, page, (uint8_t)vector);
    if (rc > 0)
        raise_upcall(e); /* events sent before the page existed */
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return rc < 0 ? rc : 0;
}

static int exists(struct domain *d, void *arg)
{
    (void)d, (void)arg;
    return 0;
}

static int64_t hc_alloc_unbound(struct domain *d, uint64_t remote)
{
    if (remote != DOMID_HYPERVISOR && remote != d->id &&
        (remote > UINT32_MAX || domain_with((unsigned)remote, exists, NULL) != 0))
        return -PL_ESRCH;
    struct evtchn_domain *e = state_of(d);
    if (!e)
        return -PL_ENOMEM;
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    int rc = evtchn_core_alloc_unbound(e, (uint32_t)remote);
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return rc;
}

struct bind_call {
    struct evtchn_domain *local;
    uint64_t rport;
    bool found;
};

/* Under the registry lock: the remote domain cannot be destroyed meanwhile. */
static int bind_with(struct domain *remote, void *arg)
{
    struct bind_call *c = arg;
    c->found = true;
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    int rc = evtchn_core_bind(c->local, remote->evtchn, c->rport);
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return rc;
}

static int64_t hc_bind(struct domain *d, uint64_t remote, uint64_t rport)
{
    if (!evtchn_port_valid(rport) || remote == DOMID_HYPERVISOR)
        return -PL_EINVAL;
    if (remote > UINT32_MAX)
        return -PL_ESRCH;
    struct evtchn_domain *e = state_of(d);
    if (!e)
        return -PL_ENOMEM;
    if (remote == d->id) { /* loopback: d may not be in the registry yet */
        uint64_t flags = spin_lock_irqsave(&evtchn_lock);
        int rc = evtchn_core_bind(e, e, rport);
        spin_unlock_irqrestore(&evtchn_lock, flags);
        return rc;
    }
    struct bind_call c = { .local = e, .rport = rport, .found = false };
    int rc = domain_with((unsigned)remote, bind_with, &c);
    return c.found ? rc : -PL_ESRCH;
}

static int64_t hc_send(struct domain *d, uint64_t port)
{
    struct evtchn_domain *to;
    unsigned to_port;
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    int rc = evtchn_core_send_target(d->evtchn, port, &to, &to_port);
    if (rc == 0 && evtchn_core_deliver(to, to_port))
        raise_upcall(to);
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return rc;
}

static int64_t hc_close(struct domain *d, uint64_t port)
{
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    int rc = evtchn_core_close(d->evtchn, port, raise_upcall);
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return rc;
}

static int64_t hc_unmask(struct domain *d, uint64_t port)
{
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    int rc = evtchn_core_unmask(d->evtchn, port);
    if (rc > 0)
        raise_upcall(d->evtchn);
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return rc < 0 ? rc : 0;
}

static int64_t hc_status(struct domain *d, uint64_t port)
{
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    int64_t r = evtchn_core_status(d->evtchn, port);
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return r;
}

int64_t evtchn_hypercall(struct vcpu *v, uint64_t nr, const uint64_t *args)
{
    struct domain *d = v->dom;
    switch (nr) {
    case HC_EVTCHN_INIT: return hc_init(d, args[0], args[1]);
    case HC_EVTCHN_ALLOC_UNBOUND: return hc_alloc_unbound(d, args[0]);
    case HC_EVTCHN_BIND: return hc_bind(d, args[0], args[1]);
    case HC_EVTCHN_SEND: return hc_send(d, args[0]);
    case HC_EVTCHN_CLOSE: return hc_close(d, args[0]);
    case HC_EVTCHN_UNMASK: return hc_unmask(d, args[0]);
    case HC_EVTCHN_STATUS: return hc_status(d, args[0]);
    default: return -PL_ENOSYS;
    }
}

void evtchn_domain_destroy(struct domain *d)
{
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    struct evtchn_domain *e = d->evtchn;
    d->evtchn = NULL;
    if (e)
        evtchn_core_destroy(e, raise_upcall); /* peers: PEER_GONE and a hang-up event */
    spin_unlock_irqrestore(&evtchn_lock, flags);
    if (e)
        kfree(e);
}

bool evtchn_is_hypervisor_port(struct domain *d, unsigned port)
{
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    bool r = evtchn_core_is_hypervisor_port(d->evtchn, port);
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return r;
}

int evtchn_notify_from_hypervisor(struct domain *d, unsigned port)
{
    if (!evtchn_port_valid(port))
        return -PL_EINVAL;
    int rc = 0;
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    struct evtchn_domain *e = d->evtchn;
    if (!e || e->ports[port].state == EVTCHN_STATE_CLOSED)
        rc = -PL_ENOENT;
    else if (e->ports[port].state != EVTCHN_STATE_HYPERVISOR)
        rc = -PL_EINVAL;
    else if (evtchn_core_deliver(e, port))
        raise_upcall(e);
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return rc;
}

bool evtchn_may_wake(struct domain *d)
{
    bool r = false;
    uint64_t flags = spin_lock_irqsave(&evtchn_lock);
    struct evtchn_domain *e = d->evtchn;
    for (unsigned p = 1; e && e->page && !r && p < EVTCHN_MAX_PORTS; p++)
        r = e->ports[p].state != EVTCHN_STATE_CLOSED;
    spin_unlock_irqrestore(&evtchn_lock, flags);
    return r;
}
