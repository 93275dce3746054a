/* printf-style formatting without libc. Supports %d %i %u %x %X %o %p %s %c
 * %%, the length modifiers hh h l ll z, flags '-' '0' ' ' '+' '#', field
 * width and precision (also as '*'). Pure logic. */
#ifndef HV_FORMAT_H
#define HV_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

#include "hv/compiler.h"

/* Output sink: called with each run of characters. */
typedef void (*fmt_sink_fn)(void *ctx, const char *s, size_t n);

/* Format to a sink; returns the number of characters produced. */
int fmt_format(fmt_sink_fn sink, void *ctx, const char *fmt, va_list ap);

/* Like C's vsnprintf/snprintf: always NUL-terminates when size > 0 and
 * returns the length the full output would have had, so callers detect
 * truncation by comparing with size. */
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int hv_snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif
