/* dom0's console: the 16550 at 0x3F8 that the hypervisor emulates. Output
 * is written to THR byte by byte (the emulated transmitter is always
 * ready); input is polled from LSR bit 0 / RBR. */
#include "dom0/kernel/kernel.h"

#define COM1 0x3F8
#define UART_THR 0
#define UART_RBR 0
#define UART_LSR 5
#define LSR_DR 0x01

void console_init(void)
{
    outb(COM1 + 1, 0x00); /* IER: no interrupts */
    outb(COM1 + 3, 0x03); /* LCR: 8N1, DLAB off */
}

static void putc_raw(char c)
{
    outb(COM1 + UART_THR, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            putc_raw('\r'); /* raw serial terminals; the hypervisor's log drops it */
        putc_raw(s[i]);
    }
}

void console_puts(const char *s)
{
    console_write(s, strlen(s));
}

int console_getc(void)
{
    if (!(inb(COM1 + UART_LSR) & LSR_DR))
        return -1;
    return inb(COM1 + UART_RBR);
}
