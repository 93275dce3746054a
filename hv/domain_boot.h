#ifndef HV_DOMAIN_BOOT_H
#define HV_DOMAIN_BOOT_H

#include "hv/mb2.h"

struct domain_boot_summary {
    unsigned modules, exited_ok, exited_error, crashed, rejected, destroyed;
    uint64_t leaked_frames;
};

/* Start every boot module as a domain, run them all under the scheduler
 * until each has stopped (restarting those that reboot), and report. */
void domain_boot_all(const struct boot_info *bi, struct domain_boot_summary *sum);

#endif
