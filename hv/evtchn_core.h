/* Event channels: the pure port state machine (no locks, no domains, no
 * scheduler), shared by the hypervisor (hv/evtchn.c) and the host unit tests
 * (tests/unit/test_evtchn.c). ABI: include/plinth/evtchn.h, docs/evtchn.md.
 *
 * Every function here must be called with the one event-channel lock held
 * (hv/evtchn.c): a port of one table may point at the table of the peer
 * domain, and evtchn_core_destroy clears those pointers on both sides, so a
 * table is never reachable from another one after it was destroyed. */
#ifndef HV_EVTCHN_CORE_H
#define HV_EVTCHN_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "plinth/evtchn.h"

/* DOMID_HYPERVISOR as in include/plinth/ioreq.h (kept here so the core
 * needs only the event-channel header). */
#define EVTCHN_DOMID_HYPERVISOR 0x7FF0u
/* STATUS packs the remote domid into bits 8..31. */
#define EVTCHN_DOMID_MASK 0xFFFFFFu

struct evtchn_domain;

struct evtchn_port {
    uint8_t state;                /* EVTCHN_STATE_* */
    uint8_t remote_port;          /* CONNECTED, PEER_GONE: the peer's port */
    uint32_t remote_dom;          /* UNBOUND: who may bind; CONNECTED, PEER_GONE: the peer;
                                   * HYPERVISOR: EVTCHN_DOMID_HYPERVISOR */
    struct evtchn_domain *peer;   /* CONNECTED only: the peer's table (may be this one) */
};

/* The event-channel state of one domain (d->evtchn). */
struct evtchn_domain {
    uint32_t domid;
    void *owner;                  /* the struct domain (hv/evtchn.c), opaque here */
    uint8_t vector;               /* upcall vector, valid once page is set */
    struct plinth_evtchn_page *page; /* host pointer to the guest's event page, NULL before HC_EVTCHN_INIT */
    uint64_t early;               /* events that arrived before the page was registered */
    struct evtchn_port ports[EVTCHN_MAX_PORTS];
};

void evtchn_core_init(struct evtchn_domain *e, uint32_t domid, void *owner);
/* Ports 1..EVTCHN_MAX_PORTS-1. */
static inline bool evtchn_port_valid(uint64_t port) { return port >= 1 && port < EVTCHN_MAX_PORTS; }

/* Open the lowest free port, UNBOUND for remote_dom, or a HYPERVISOR port
 * when remote_dom is EVTCHN_DOMID_HYPERVISOR: the port, or -PL_ENOSPC. */
int evtchn_core_alloc_unbound(struct evtchn_domain *e, uint32_t remote_dom);
/* Connect a new port of local with remote's port rport, which must be
 * UNBOUND and waiting for local->domid. remote is NULL when that domain has
 * no event-channel state. local == remote is a loopback channel. The new
 * local port, or -PL_EINVAL (bad rport; rport not UNBOUND, or waiting for
 * another domain), -PL_ENOENT (rport not open), -PL_ENOSPC (local full). */
int evtchn_core_bind(struct evtchn_domain *local, struct evtchn_domain *remote, uint64_t rport);
/* Called (lock held) for a table whose upcall must be raised. */
typedef void (*evtchn_raise_fn)(struct evtchn_domain *e);
/* Close the port: a connected peer's port becomes PEER_GONE and gets one
 * last event (the hang-up: raise(peer) when that needs the upcall; raise
 * may be NULL); the port's own pending event (in the page or remembered) is
 * dropped. 0, -PL_EINVAL, -PL_ENOENT. e may be NULL (nothing is open). */
int evtchn_core_close(struct evtchn_domain *e, uint64_t port, evtchn_raise_fn raise);
/* HC_EVTCHN_STATUS: EVTCHN_STATE_* | remote domid << 8 | remote port << 32
 * (EVTCHN_STATE_CLOSED, 0, for a port that is not open), or -PL_EINVAL. */
int64_t evtchn_core_status(const struct evtchn_domain *e, uint64_t port);
/* Where an event sent on port goes: 0 with *to and *to_port set, or
 * -PL_EINVAL (bad port, or a HYPERVISOR port: nothing to send to),
 * -PL_ENOENT (not open), -PL_ENOTCONN (UNBOUND or PEER_GONE). */
int evtchn_core_send_target(const struct evtchn_domain *e, uint64_t port, struct evtchn_domain **to,
                            unsigned *to_port);
/* Mark port pending in e: in the page (atomically, the guest clears bits
 * concurrently), or remembered in e->early before the page exists. True when
 * the upcall must be raised: the bit was clear and the port is not masked. */
bool evtchn_core_deliver(struct evtchn_domain *e, unsigned port);
/* HC_EVTCHN_INIT after the caller checked the address and vector: register
 * the page and move the remembered events into it. 1 if the upcall must be
 * raised now, 0 if not, -PL_EBUSY if a page is registered already. */
int evtchn_core_set_page(struct evtchn_domain *e, struct plinth_evtchn_page *page, uint8_t vector);
/* HC_EVTCHN_UNMASK: clear the mask bit. 1 if the port is pending (raise the
 * upcall again), 0 if not, -PL_EINVAL, -PL_ENOENT (port not open). e may be
 * NULL. Before HC_EVTCHN_INIT there is no mask: 0. */
int evtchn_core_unmask(struct evtchn_domain *e, uint64_t port);
/* Whether port is an open HYPERVISOR port of e (e may be NULL). */
bool evtchn_core_is_hypervisor_port(const struct evtchn_domain *e, uint64_t port);
/* The domain is going away: every connected peer port becomes PEER_GONE
 * and gets the hang-up event as in evtchn_core_close, and no table points
 * at e any more. e's ports are all CLOSED afterwards, its page forgotten. */
void evtchn_core_destroy(struct evtchn_domain *e, evtchn_raise_fn raise);

#endif
