/* SPDX-License-Identifier: MIT */
/* Serial output (16550 at 0x3F8) and a small printf. */
#include "guest.h"

void serial_putc(char c)
{
    while (!(inb(SERIAL_LSR) & LSR_THRE))
        pause();
    outb(SERIAL_PORT, (uint8_t)c);
}

void serial_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        serial_putc(s[i]);
}

/* *v /= base, returning the remainder; bitwise, as i386 has no 64-bit divide
 * without libgcc. */
static unsigned divmod(unsigned long long *v, unsigned base)
{
    unsigned long long q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = r << 1 | (*v >> i & 1);
        if (r >= base) {
            r -= base;
            q |= 1ull << i;
        }
    }
    *v = q;
    return (unsigned)r;
}

static void put_num(unsigned long long v, unsigned base, int width, char pad, bool neg)
{
    char buf[24];
    int n = 0;

    do {
        buf[n++] = "0123456789abcdef"[divmod(&v, base)];
    } while (v);
    if (neg && pad == '0')
        serial_putc('-');
    for (int w = n + (neg ? 1 : 0); w < width; w++)
        serial_putc(pad);
    if (neg && pad != '0')
        serial_putc('-');
    while (n)
        serial_putc(buf[--n]);
}

/* Supports %d %i %u %x %c %s %p %%, the l and ll modifiers, a width and 0-padding. */
int vprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            serial_putc(*fmt);
            continue;
        }
        char pad = ' ';
        int width = 0, longs = 0;
        if (*++fmt == '0')
            pad = '0';
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            long long v = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
            put_num(v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, 10, width, pad, v < 0);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = longs >= 2 ? va_arg(ap, unsigned long long)
                                   : longs  ? va_arg(ap, unsigned long)
                                            : va_arg(ap, unsigned);
            put_num(v, *fmt == 'u' ? 10 : 16, width, pad, false);
            break;
        }
        case 'p':
            serial_write("0x", 2);
            put_num((uintptr_t)va_arg(ap, void *), 16, width, pad, false);
            break;
        case 'c':
            serial_putc((char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            serial_write(s ? s : "(null)", s ? strlen(s) : 6);
            break;
        }
        case '%':
            serial_putc('%');
            break;
        case '\0':
            return 0;
        default:
            serial_putc('%');
            serial_putc(*fmt);
        }
    }
    return 0;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    return 0;
}
