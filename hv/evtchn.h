/* Event channels between domains (ABI: include/plinth/evtchn.h). */
#ifndef HV_EVTCHN_H
#define HV_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct vcpu;

/* HC_EVTCHN_* (numbers 22..28) for any domain. */
int64_t evtchn_hypercall(struct vcpu *v, uint64_t nr, const uint64_t *args);
/* The domain is going away: close every port; connected peers see
 * EVTCHN_STATE_PEER_GONE (their sends get -PL_ENOTCONN), nothing waits. */
void evtchn_domain_destroy(struct domain *d);
/* Whether port of d is open for events from the hypervisor
 * (HC_EVTCHN_ALLOC_UNBOUND with DOMID_HYPERVISOR). */
bool evtchn_is_hypervisor_port(struct domain *d, unsigned port);
/* Raise such a port: 0, or -PL_E* (closed, not a hypervisor port). */
int evtchn_notify_from_hypervisor(struct domain *d, unsigned port);

#endif
