/* SPDX-License-Identifier: MIT */
/* The smallest 64-bit guest: serial output, one console hypercall, the ABI version. */
#include "guest.h"

GUEST("hello64");

int main(void)
{
    static const char msg[] = "hello from a 64-bit guest (via HC_CONSOLE_WRITE)\n";

    printf("hello from a 64-bit guest\n");
    CHECK_EQ(boot_reg_a, 0, "entry: RDI = 0");
    CHECK(!(boot_rflags & RFLAGS_IF), "entry: interrupts disabled");
    CHECK_EQ(hc_console_write(msg, sizeof(msg) - 1), sizeof(msg) - 1, "HC_CONSOLE_WRITE returns the length");
    CHECK_EQ(hc_version(), 0x10000, "HC_VERSION is 1.0");
    return tests_failed();
}
