/* SPDX-License-Identifier: MIT */
/* HC_SHUTDOWN: a bad reason is refused; reboot starts the guest again from
 * a fresh image (the test device says which start this is); power off ends
 * it cleanly. */
#include "guest.h"

GUEST("shutdown");

#define TESTDEV_REG_BOOT_COUNT 0x28
#define MARKER_ADDR 0x800000ul /* RAM the image does not load: zero at start */
#define MARKER 0x5ca1ab1eu

int main(void)
{
    uint32_t boots = *(volatile uint32_t *)(TESTDEV_BASE + TESTDEV_REG_BOOT_COUNT);
    volatile uint32_t *marker = (volatile uint32_t *)MARKER_ADDR;
    printf("shutdown: start %u\n", boots + 1);
    CHECK_EQ(*marker, 0, "memory is fresh at every start");
    *marker = MARKER;
    CHECK_EQ(hypercall(HC_SHUTDOWN, 99, 0, 0, 0, 0), -PL_EINVAL, "HC_SHUTDOWN with a bad reason: -EINVAL");
    if (tests_failed())
        return tests_failed();
    if (boots == 0) {
        printf("shutdown: rebooting\n");
        hypercall(HC_SHUTDOWN, SHUTDOWN_REBOOT, 0, 0, 0, 0);
        CHECK(0, "HC_SHUTDOWN(reboot) does not return");
        return tests_failed();
    }
    CHECK_EQ(boots, 1, "second start after one reboot");
    printf("guest shutdown: %u passed, %u failed\n", tests_passed(), tests_failed());
    hypercall(HC_SHUTDOWN, SHUTDOWN_POWEROFF, 0, 0, 0, 0);
    CHECK(0, "HC_SHUTDOWN(power off) does not return");
    return tests_failed();
}
