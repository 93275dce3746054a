#ifndef HV_DOMAIN_BOOT_H
#define HV_DOMAIN_BOOT_H

#include "hv/mb2.h"

#include "plinth/hypercall.h"

struct domain;

struct domain_boot_summary {
    unsigned modules, files, exited_ok, exited_error, crashed, rejected, destroyed;
    unsigned created_ended;   /* domains created by the control domain that ended */
    unsigned created_destroyed, created_crashed;
    uint64_t leaked_frames;
};

struct domain_boot_params {
    uint64_t dom0_mem;        /* 0: the module's mem= or the default */
    unsigned dom0_vcpus;      /* 0: the module's vcpus= or 1 */
};

/* Start every boot module as a domain (type=file ones are handed to the
 * first, the control domain), run them all under the scheduler until each
 * has stopped (restarting boot modules that reboot) along with the domains
 * the control domain creates, and report. */
void domain_boot_all(const struct boot_info *bi, const struct domain_boot_params *params,
                     struct domain_boot_summary *sum);

/* HC_DOMAIN_CREATE for `parent` (privileged): validate, create, load from
 * the parent's RAM and start. The new domain id, or -PL_E* (the reason is
 * logged). */
int domain_boot_create(struct domain *parent, const struct plinth_domain_create *req);

#endif
