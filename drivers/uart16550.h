/* 16550-compatible UART, polled output (PC16550D datasheet). */
#ifndef DRIVERS_UART16550_H
#define DRIVERS_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_COM1 0x3F8
#define UART_COM2 0x2F8
#define UART_COM3 0x3E8
#define UART_COM4 0x2E8
#define UART_DEFAULT_BAUD 115200
#define UART_CLOCK_HZ 115200 /* divisor-latch base: 1.8432 MHz / 16 */

struct uart {
    uint16_t port;
    uint32_t baud;
    bool present;
};

/* Program 8N1 at baud and check the chip answers (scratch register test).
 * Returns false, and leaves the UART unused, when nothing is there. */
bool uart_init(struct uart *u, uint16_t port, uint32_t baud);
void uart_putc(struct uart *u, char c);
void uart_write(struct uart *u, const char *s, size_t n);
/* A received byte, or -1 when none is waiting (polled). */
int uart_getc(struct uart *u);
/* Wait until the transmitter is empty (LSR.TEMT), so a following power-off
 * or emulator exit loses nothing. */
void uart_drain(struct uart *u);

#endif
