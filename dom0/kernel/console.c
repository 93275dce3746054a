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

/* "\n" only: the hypervisor's serial driver sends "\r\n" for it (also
 * with console=direct), and its log drops '\r'. */
void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        putc_raw(s[i]);
}

void console_write_untrusted(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        putc_raw(c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f) ? (char)c : '?');
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
