/* SPDX-License-Identifier: MIT */
/* A domain with two vCPUs: HC_VCPU_UP starts the second one, both make
 * progress at the same time, and bad HC_VCPU_UP calls are refused. */
#include "guest.h"

GUEST("smp");

#define AP_STACK_SIZE 8192
#define ROUNDS 200000

static uint8_t ap_stack[AP_STACK_SIZE] __attribute__((aligned(16)));
static volatile uint64_t ap_progress, bsp_progress, ap_arg;
static volatile unsigned ap_seen_bsp_running;

static void ap_entry(uint64_t arg)
{
    ap_arg = arg;
    for (uint64_t i = 0; i < ROUNDS; i++) {
        ap_progress++;
        if (bsp_progress)
            ap_seen_bsp_running = 1;
        cpuid(0, 0); /* exits: both vCPUs go through the hypervisor at once */
    }
    for (;;)
        pause(); /* until the domain ends */
}

int main(void)
{
    uint64_t top = (uint64_t)(ap_stack + AP_STACK_SIZE);
    CHECK_EQ(hypercall(HC_VCPU_UP, 0, (uint64_t)ap_entry, top, 0, 0), -PL_EINVAL, "HC_VCPU_UP vCPU 0: -EINVAL");
    CHECK_EQ(hypercall(HC_VCPU_UP, 2, (uint64_t)ap_entry, top, 0, 0), -PL_EINVAL,
             "HC_VCPU_UP beyond the domain's vCPUs: -EINVAL");
    CHECK_EQ(hypercall(HC_VCPU_UP, 1, (uint64_t)ap_entry, top, 0xabc, 0), 0, "HC_VCPU_UP vCPU 1");
    CHECK_EQ(hypercall(HC_VCPU_UP, 1, (uint64_t)ap_entry, top, 0, 0), -PL_EBUSY, "HC_VCPU_UP twice: -EBUSY");
    for (uint64_t i = 0; i < ROUNDS && ap_progress < ROUNDS; i++) {
        bsp_progress++;
        cpuid(0, 0);
    }
    while (ap_progress < ROUNDS)
        pause();
    printf("smp: vCPU 0 made %lu rounds, vCPU 1 made %lu\n", bsp_progress, ap_progress);
    CHECK_EQ(ap_arg, 0xabc, "vCPU 1 started with its argument in RDI");
    CHECK_EQ(ap_progress, ROUNDS, "vCPU 1 ran to the end");
    CHECK(ap_seen_bsp_running, "vCPU 1 saw vCPU 0 making progress at the same time");
    return tests_failed();
}
