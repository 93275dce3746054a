/* SPDX-License-Identifier: MIT */
/* Port I/O: unknown ports read as all ones and ignore writes; the UART is ready. */
#include "guest.h"

GUEST("io");

static void check_port(uint16_t port)
{
    printf("io: port 0x%x\n", port);
    CHECK_EQ(inb(port), 0xFF, "inb from an unknown port reads 0xFF");
    CHECK_EQ(inw(port), 0xFFFF, "inw from an unknown port reads 0xFFFF");
    CHECK_EQ(inl(port), 0xFFFFFFFF, "inl from an unknown port reads 0xFFFFFFFF");
    outb(port, 0x12);
    outw(port, 0x3456);
    outl(port, 0x789abcde);
    CHECK_EQ(inl(port), 0xFFFFFFFF, "writes to an unknown port are ignored");
}

int main(void)
{
    check_port(0x2F0);
    check_port(UNUSED_PORT);
    CHECK(inb(SERIAL_LSR) & LSR_THRE, "UART LSR (0x3FD) has THRE set");
    return tests_failed();
}
