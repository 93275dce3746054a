/* Event channels between domains (ABI: include/plinth/evtchn.h, rules:
 * docs/evtchn.md). Implemented in hv/evtchn.c on the pure state machine of
 * hv/evtchn_core.c.
 *
 * Locking: the functions below take the event-channel lock and, to raise an
 * upcall, the scheduler's lock (schedule_notify). Callers may hold the
 * registry lock (inside domain_with) or a lock of their own, but never the
 * scheduler's lock. */
#ifndef HV_EVTCHN_H
#define HV_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct vcpu;

/* HC_EVTCHN_* (numbers 22..28) for any domain. */
int64_t evtchn_hypercall(struct vcpu *v, uint64_t nr, const uint64_t *args);
/* The domain is going away (called by domain_destroy after it left the
 * registry, before its vCPUs and RAM are freed): close every port and free
 * its state; connected peers see EVTCHN_STATE_PEER_GONE (their sends get
 * -PL_ENOTCONN) and get one last event on that port, so nothing waits. */
void evtchn_domain_destroy(struct domain *d);
/* Whether port of d is open for events from the hypervisor
 * (HC_EVTCHN_ALLOC_UNBOUND with DOMID_HYPERVISOR). */
bool evtchn_is_hypervisor_port(struct domain *d, unsigned port);
/* Raise such a port: 0, or -PL_EINVAL (port out of range, or not a
 * hypervisor port), -PL_ENOENT (not open). d must stay alive during the
 * call (the caller holds the registry lock or is d's own vCPU). */
int evtchn_notify_from_hypervisor(struct domain *d, unsigned port);
/* Whether an event channel could still wake the domain from HLT: it has
 * registered its event page and has an open port. (For the HLT handler,
 * which stops a domain that halts with nothing able to wake it.) */
bool evtchn_may_wake(struct domain *d);

#endif
