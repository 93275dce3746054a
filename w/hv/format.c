#include "hv/format.h"

#include <stdbool.h>
#include <stdint.h>

#include "hv/string.h"

struct fmt_spec {
    bool left, zero, plus, space, alt;
    int width;
    int precision; /* -1: none */
};

static void emit_padding(fmt_sink_fn sink, void *ctx, char c, int n, int *count)
{
    char pad[16];
    memset(pad, c, sizeof(pad));
    while (n > 0) {
        int chunk = n > (int)sizeof(pad) ? (int)sizeof(pad) : n;
        sink(ctx, pad, (size_t)chunk);
        *count += chunk;
        n -= chunk;
    }
}

static void emit_str(fmt_sink_fn sink, void *ctx, const struct fmt_spec *sp, const char *s, int *count)
{
    size_t len = sp->precision >= 0 ? strnlen(s, (size_t)sp->precision) : strlen(s);
    int pad = sp->width > (int)len ? sp->width - (int)len : 0;
    if (!sp->left)
        emit_padding(sink, ctx, ' ', pad, count);
    sink(ctx, s, len);
    *count += (int)len;
    if (sp->left)
        emit_padding(sink, ctx, ' ', pad, count);
}

static void emit_num(fmt_sink_fn sink, void *ctx, const struct fmt_spec *sp, uint64_t v, bool negative,
                     unsigned base, bool upper, const char *prefix, int *count)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    int n = 0;
    do {
        buf[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (sp->precision == 0 && n == 1 && buf[0] == '0')
        n = 0;

    char sign = negative ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
    int zeros = sp->precision > n ? sp->precision - n : 0;
    int plen = (int)strlen(prefix);
    int total = n + zeros + plen + (sign ? 1 : 0);
    int pad = sp->width > total ? sp->width - total : 0;
    if (sp->zero && !sp->left && sp->precision < 0) {
        zeros += pad;
        pad = 0;
    }
    if (!sp->left)
        emit_padding(sink, ctx, ' ', pad, count);
    if (sign) {
        sink(ctx, &sign, 1);
        (*count)++;
    }
    sink(ctx, prefix, (size_t)plen);
    *count += plen;
    emit_padding(sink, ctx, '0', zeros, count);
    for (int i = n - 1; i >= 0; i--)
        sink(ctx, &buf[i], 1);
    *count += n;
    if (sp->left)
        emit_padding(sink, ctx, ' ', pad, count);
}

int fmt_format(fmt_sink_fn sink, void *ctx, const char *fmt, va_list ap)
{
    int count = 0;
    va_list args;
    va_copy(args, ap);

    while (*fmt) {
        if (*fmt != '%') {
            const char *run = fmt;
            while (*fmt && *fmt != '%')
                fmt++;
            sink(ctx, run, (size_t)(fmt - run));
            count += (int)(fmt - run);
            continue;
        }
        fmt++;
        struct fmt_spec sp = { .precision = -1 };
        for (;; fmt++) {
            if (*fmt == '-') sp.left = true;
            else if (*fmt == '0') sp.zero = true;
            else if (*fmt == '+') sp.plus = true;
            else if (*fmt == ' ') sp.space = true;
            else if (*fmt == '#') sp.alt = true;
            else break;
        }
        if (*fmt == '*') {
            sp.width = va_arg(args, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = -sp.width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                sp.width = sp.width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            sp.precision = 0;
            if (*fmt == '*') {
                sp.precision = va_arg(args, int);
                if (sp.precision < 0)
                    sp.precision = -1;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    sp.precision = sp.precision * 10 + (*fmt++ - '0');
            }
        }
        int lmod = 0; /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t */
        if (*fmt == 'h') {
            lmod = -1;
            if (*++fmt == 'h') { lmod = -2; fmt++; }
        } else if (*fmt == 'l') {
            lmod = 1;
            if (*++fmt == 'l') { lmod = 2; fmt++; }
        } else if (*fmt == 'z') {
            lmod = 3;
            fmt++;
        }

        char conv = *fmt ? *fmt++ : 0;
        switch (conv) {
        case 'd':
        case 'i': {
            int64_t v;
            if (lmod == 1) v = va_arg(args, long);
            else if (lmod == 2) v = va_arg(args, long long);
            else if (lmod == 3) v = (int64_t)va_arg(args, size_t);
            else v = va_arg(args, int);
            if (lmod == -1) v = (short)v;
            if (lmod == -2) v = (signed char)v;
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            emit_num(sink, ctx, &sp, mag, v < 0, 10, false, "", &count);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v;
            if (lmod == 1) v = va_arg(args, unsigned long);
            else if (lmod == 2) v = va_arg(args, unsigned long long);
            else if (lmod == 3) v = va_arg(args, size_t);
            else v = va_arg(args, unsigned int);
            if (lmod == -1) v = (unsigned short)v;
            if (lmod == -2) v = (unsigned char)v;
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            const char *prefix = "";
            if (sp.alt && v != 0)
                prefix = conv == 'x' ? "0x" : conv == 'X' ? "0X" : conv == 'o' ? "0" : "";
            emit_num(sink, ctx, &sp, v, false, base, conv == 'X', prefix, &count);
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(args, void *);
            emit_num(sink, ctx, &sp, v, false, 16, false, "0x", &count);
            break;
        }
        case 's': {
            const char *s = va_arg(args, const char *);
            emit_str(sink, ctx, &sp, s ? s : "(null)", &count);
            break;
        }
        case 'c': {
            char c = (char)va_arg(args, int);
            char s[2] = { c, 0 };
            sp.precision = 1;
            emit_str(sink, ctx, &sp, s, &count);
            break;
        }
        case '%':
            sink(ctx, "%", 1);
            count++;
            break;
        default:
            /* Unknown conversion: print it literally so the bug is visible. */
            sink(ctx, "%?", 2);
            count += 2;
            if (!conv)
                goto out;
            break;
        }
    }
out:
    va_end(args);
    return count;
}

struct buf_sink {
    char *buf;
    size_t size, used;
};

static void buf_sink_write(void *ctx, const char *s, size_t n)
{
    struct buf_sink *b = ctx;
    if (b->size && b->used < b->size - 1) {
        size_t room = b->size - 1 - b->used;
        size_t k = n < room ? n : room;
        memcpy(b->buf + b->used, s, k);
        b->used += k;
    }
}

int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct buf_sink b = { buf, size, 0 };
    int n = fmt_format(buf_sink_write, &b, fmt, ap);
    if (size)
        buf[b.used] = 0;
    return n;
}

int hv_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = hv_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
