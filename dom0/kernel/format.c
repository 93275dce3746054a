/* kprintf and friends (dom0.h) on top of the hypervisor's formatter
 * (hv/format.c, shared source). */
#include <stdarg.h>
#include <stddef.h>

#include "dom0/kernel/dom0.h"
#include "hv/format.h"

void console_write(const char *s, size_t n);

static void console_sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    console_write(s, n);
}

int kvsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
    return hv_vsnprintf(buf, len, fmt, ap);
}

int ksnprintf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = hv_vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_format(console_sink, NULL, fmt, ap);
    va_end(ap);
    return n;
}
