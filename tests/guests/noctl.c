/* SPDX-License-Identifier: MIT */
/* A domain that is not the control domain: every management hypercall
 * must be refused with -PL_EPERM, whatever its arguments. */
#include "guest.h"

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
    return tests_failed();
}
