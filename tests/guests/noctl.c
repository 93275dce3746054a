/* SPDX-License-Identifier: MIT */
/* A domain that is not the control domain: every management hypercall
 * must be refused with -PL_EPERM, whatever its arguments. */
#include "guest.h"
#include "plinth/ioreq.h"

GUEST("noctl");

int main(void)
{
    static struct plinth_domain_info info;
    CHECK_EQ(hypercall(HC_DOMAIN_INFO, 1, (uint64_t)&info, 0, 0, 0), -PL_EPERM, "HC_DOMAIN_INFO: -EPERM");
    CHECK_EQ(hypercall(HC_DOMAIN_PAUSE, 2, 0, 0, 0, 0), -PL_EPERM, "HC_DOMAIN_PAUSE: -EPERM");
    CHECK_EQ(hypercall(HC_DOMAIN_UNPAUSE, 2, 0, 0, 0, 0), -PL_EPERM, "HC_DOMAIN_UNPAUSE: -EPERM");
    CHECK_EQ(hypercall(HC_DOMAIN_DESTROY, 1, 0, 0, 0, 0), -PL_EPERM, "HC_DOMAIN_DESTROY of dom0: -EPERM");
    CHECK_EQ(hypercall(HC_DOMAIN_SET_SCHED, 2, 512, 0, 0, 0), -PL_EPERM, "HC_DOMAIN_SET_SCHED: -EPERM");
    CHECK_EQ(hypercall(HC_DOMAIN_DESTROY, 99, 0, 0, 0, 0), -PL_EPERM, "-EPERM before any argument check");
    static char buf[64];
    static uint64_t pos;
    CHECK_EQ(hypercall(HC_LOG_READ, (uint64_t)buf, sizeof(buf), (uint64_t)&pos, 0, 0), -PL_EPERM,
             "HC_LOG_READ: -EPERM");
    /* Everything added since: creation, consoles, vCPUs, devices. */
    static const uint64_t later[] = { HC_DOMAIN_CREATE,  HC_CONSOLE_READ,   HC_VCPU_INFO,     HC_VCPU_SET_AFFINITY,
                                      HC_DOMAIN_NEXT,    HC_PLATFORM_INFO,  HC_MEMORY_MAP,    HC_IRQ_BIND,
                                      HC_IRQ_DONE,       HC_IOREQ_REGISTER, HC_IOREQ_COMPLETE, HC_FOREIGN_MAP,
                                      HC_FOREIGN_UNMAP,  HC_DOMAIN_IRQ,     HC_MSI_BIND };
    unsigned refused = 0;
    for (unsigned i = 0; i < sizeof(later) / sizeof(later[0]); i++)
        refused += hypercall(later[i], (uint64_t)buf, 4, 32, 0, 0) == -PL_EPERM;
    CHECK_EQ(refused, sizeof(later) / sizeof(later[0]), "hypercalls 13..21 and 29..34: all -EPERM");
    return tests_failed();
}
