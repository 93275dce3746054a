/* Event channels: the port state machine and the event bitmaps (see
 * hv/evtchn_core.h). Pure: compiles for the hypervisor and the host. */
#include "hv/evtchn_core.h"

#include <stddef.h>

#include "plinth/errno.h"

#define BIT(p) (1ull << (p))

_Static_assert(EVTCHN_MAX_PORTS == 64, "one 64-bit word of pending and mask bits");

void evtchn_core_init(struct evtchn_domain *e, uint32_t domid, void *owner)
{
    e->domid = domid;
    e->owner = owner;
    e->vector = 0;
    e->page = NULL;
    e->early = 0;
    for (unsigned p = 0; p < EVTCHN_MAX_PORTS; p++)
        e->ports[p] = (struct evtchn_port){ .state = EVTCHN_STATE_CLOSED };
}

static int find_free(const struct evtchn_domain *e)
{
    for (unsigned p = 1; p < EVTCHN_MAX_PORTS; p++)
        if (e->ports[p].state == EVTCHN_STATE_CLOSED)
            return (int)p;
    return -PL_ENOSPC;
}

int evtchn_core_alloc_unbound(struct evtchn_domain *e, uint32_t remote_dom)
{
    int p = find_free(e);
    if (p < 0)
        return p;
    struct evtchn_port *port = &e->ports[p];
    port->state = remote_dom == EVTCHN_DOMID_HYPERVISOR ? EVTCHN_STATE_HYPERVISOR : EVTCHN_STATE_UNBOUND;
    port->remote_dom = remote_dom;
    port->remote_port = 0;
    port->peer = NULL;
    return p;
}

int evtchn_core_bind(struct evtchn_domain *local, struct evtchn_domain *remote, uint64_t rport)
{
    if (!evtchn_port_valid(rport))
        return -PL_EINVAL;
    if (!remote || remote->ports[rport].state == EVTCHN_STATE_CLOSED)
        return -PL_ENOENT;
    struct evtchn_port *rp = &remote->ports[rport];
    if (rp->state != EVTCHN_STATE_UNBOUND || rp->remote_dom != local->domid)
        return -PL_EINVAL; /* connected, gone, a hypervisor port, or meant for another domain */
    int lp = find_free(local);
    if (lp < 0)
        return lp;
    local->ports[lp] = (struct evtchn_port){
        .state = EVTCHN_STATE_CONNECTED, .remote_port = (uint8_t)rport, .remote_dom = remote->domid, .peer = remote
    };
    rp->state = EVTCHN_STATE_CONNECTED;
    rp->remote_port = (uint8_t)lp;
    rp->remote_dom = local->domid;
    rp->peer = local;
    return lp;
}

/* Drop port's event: remembered, or pending in the page. */
static void drop_pending(struct evtchn_domain *e, unsigned port)
{
    e->early &= ~BIT(port);
    if (e->page)
        __atomic_fetch_and(&e->page->pending, ~BIT(port), __ATOMIC_SEQ_CST);
}

/* The peer of a connected port loses it: PEER_GONE (remote_dom and
 * remote_port stay for STATUS) and one last event, so a peer waiting for
 * events wakes up and finds out (its sends get -PL_ENOTCONN). Not for a
 * loopback port of a dying domain (dying: the table being destroyed). */
static void hang_up(const struct evtchn_domain *dying, struct evtchn_port *p, evtchn_raise_fn raise)
{
    struct evtchn_domain *peer = p->peer;
    struct evtchn_port *rp = &peer->ports[p->remote_port];
    rp->state = EVTCHN_STATE_PEER_GONE;
    rp->peer = NULL;
    if (peer != dying && evtchn_core_deliver(peer, p->remote_port) && raise)
        raise(peer);
}

int evtchn_core_close(struct evtchn_domain *e, uint64_t port, evtchn_raise_fn raise)
{
    if (!evtchn_port_valid(port))
        return -PL_EINVAL;
    if (!e || e->ports[port].state == EVTCHN_STATE_CLOSED)
        return -PL_ENOENT;
    struct evtchn_port *p = &e->ports[port];
    if (p->state == EVTCHN_STATE_CONNECTED)
        hang_up(NULL, p, raise);
    *p = (struct evtchn_port){ .state = EVTCHN_STATE_CLOSED };
    drop_pending(e, (unsigned)port);
    return 0;
}

int64_t evtchn_core_status(const struct evtchn_domain *e, uint64_t port)
{
    if (!evtchn_port_valid(port))
        return -PL_EINVAL;
    if (!e)
        return EVTCHN_STATE_CLOSED;
    const struct evtchn_port *p = &e->ports[port];
    if (p->state == EVTCHN_STATE_CLOSED)
        return EVTCHN_STATE_CLOSED;
    return (int64_t)((uint64_t)p->state | (uint64_t)(p->remote_dom & EVTCHN_DOMID_MASK) << 8 |
                     (uint64_t)p->remote_port << 32);
}

int evtchn_core_send_target(const struct evtchn_domain *e, uint64_t port, struct evtchn_domain **to,
                            unsigned *to_port)
{
    if (!evtchn_port_valid(port))
        return -PL_EINVAL;
    if (!e)
        return -PL_ENOENT;
    const struct evtchn_port *p = &e->ports[port];
    switch (p->state) {
    case EVTCHN_STATE_CONNECTED:
        *to = p->peer;
        *to_port = p->remote_port;
        return 0;
    case EVTCHN_STATE_UNBOUND:
    case EVTCHN_STATE_PEER_GONE:
        return -PL_ENOTCONN;
    case EVTCHN_STATE_HYPERVISOR:
        return -PL_EINVAL;
    default:
        return -PL_ENOENT;
    }
}

bool evtchn_core_deliver(struct evtchn_domain *e, unsigned port)
{
    uint64_t bit = BIT(port);
    if (!e->page) {
        e->early |= bit;
        return false;
    }
    uint64_t old = __atomic_fetch_or(&e->page->pending, bit, __ATOMIC_SEQ_CST);
    if (old & bit)
        return false; /* already pending: the guest has not handled the last one yet */
    return !(__atomic_load_n(&e->page->mask, __ATOMIC_SEQ_CST) & bit);
}

int evtchn_core_set_page(struct evtchn_domain *e, struct plinth_evtchn_page *page, uint8_t vector)
{
    if (e->page)
        return -PL_EBUSY;
    e->page = page;
    e->vector = vector;
    uint64_t early = e->early;
    e->early = 0;
    if (!early)
        return 0;
    uint64_t old = __atomic_fetch_or(&page->pending, early, __ATOMIC_SEQ_CST);
    uint64_t fresh = early & ~old & ~__atomic_load_n(&page->mask, __ATOMIC_SEQ_CST);
    return fresh != 0;
}

int evtchn_core_unmask(struct evtchn_domain *e, uint64_t port)
{
    if (!evtchn_port_valid(port))
        return -PL_EINVAL;
    if (!e || e->ports[port].state == EVTCHN_STATE_CLOSED)
        return -PL_ENOENT;
    if (!e->page)
        return 0;
    uint64_t bit = BIT(port);
    __atomic_fetch_and(&e->page->mask, ~bit, __ATOMIC_SEQ_CST);
    return (__atomic_load_n(&e->page->pending, __ATOMIC_SEQ_CST) & bit) != 0;
}

bool evtchn_core_is_hypervisor_port(const struct evtchn_domain *e, uint64_t port)
{
    return e && evtchn_port_valid(port) && e->ports[port].state == EVTCHN_STATE_HYPERVISOR;
}

void evtchn_core_destroy(struct evtchn_domain *e, evtchn_raise_fn raise)
{
    for (unsigned p = 1; p < EVTCHN_MAX_PORTS; p++) {
        struct evtchn_port *port = &e->ports[p];
        if (port->state == EVTCHN_STATE_CONNECTED)
            hang_up(e, port, raise);
        *port = (struct evtchn_port){ .state = EVTCHN_STATE_CLOSED };
    }
    e->page = NULL;
    e->early = 0;
}
