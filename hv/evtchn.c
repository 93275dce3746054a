/* Event channels: not implemented yet (being written). */
#include "hv/evtchn.h"

#include "hv/domain.h"
#include "plinth/errno.h"

int64_t evtchn_hypercall(struct vcpu *v, uint64_t nr, const uint64_t *args)
{
    (void)v, (void)nr, (void)args;
    return -PL_ENOSYS;
}

void evtchn_domain_destroy(struct domain *d) { (void)d; }

bool evtchn_is_hypervisor_port(struct domain *d, unsigned port)
{
    (void)d, (void)port;
    return false;
}

int evtchn_notify_from_hypervisor(struct domain *d, unsigned port)
{
    (void)d, (void)port;
    return -PL_ENOSYS;
}
