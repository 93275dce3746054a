#include "drivers/uart16550.h"

#include "arch/x86/cpu.h"

/* Register offsets and bits, PC16550D datasheet table 2. */
#define UART_THR 0
#define UART_RBR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS_OUT2 0x0B
#define LSR_DATA_READY 0x01 /* PC16550D table 2, LSR bit 0 */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

/* A wedged or absent UART must not hang the hypervisor: give up waiting
 * after this many polls (far longer than one character at 9600 baud). */
#define UART_POLL_LIMIT 1000000

bool uart_init(struct uart *u, uint16_t port, uint32_t baud)
{
    u->port = port;
    u->baud = baud;
    u->present = false;

    outb(port + UART_SCR, 0x5A);
    if (inb(port + UART_SCR) != 0x5A)
        return false;
    outb(port + UART_SCR, 0xA5);
    if (inb(port + UART_SCR) != 0xA5)
        return false;

    uint32_t divisor = UART_CLOCK_HZ / (baud ? baud : UART_DEFAULT_BAUD);
    if (divisor == 0)
        divisor = 1;
    outb(port + UART_IER, 0);
    outb(port + UART_LCR, LCR_DLAB);
    outb(port + UART_DLL, divisor & 0xFF);
    outb(port + UART_DLM, (divisor >> 8) & 0xFF);
    outb(port + UART_LCR, LCR_8N1);
    outb(port + UART_FCR, FCR_ENABLE_CLEAR);
    outb(port + UART_MCR, MCR_DTR_RTS_OUT2);
    u->present = true;
    return true;
}

static void uart_wait(struct uart *u, uint8_t bit)
{
    for (unsigned i = 0; i < UART_POLL_LIMIT; i++) {
        if (inb(u->port + UART_LSR) & bit)
            return;
        cpu_relax();
    }
}

void uart_putc(struct uart *u, char c)
{
    if (!u->present)
        return;
    uart_wait(u, LSR_THRE);
    outb(u->port + UART_THR, (uint8_t)c);
}

void uart_write(struct uart *u, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            uart_putc(u, '\r');
        uart_putc(u, s[i]);
    }
}

int uart_getc(struct uart *u)
{
    if (!u->present || !(inb(u->port + UART_LSR) & LSR_DATA_READY))
        return -1;
    return inb(u->port + UART_RBR);
}

void uart_drain(struct uart *u)
{
    if (u->present)
        uart_wait(u, LSR_TEMT);
}
