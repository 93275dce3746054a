/* Pure helpers of dom0's shell; see util.h. */
#include "dom0/kernel/util.h"

#include "hv/format.h"
#include "hv/string.h"
#include "plinth/errno.h"

const char *errno_name(long err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0: return "OK";
    case PL_EPERM: return "EPERM";
    case PL_ENOENT: return "ENOENT";
    case PL_EIO: return "EIO";
    case PL_E2BIG: return "E2BIG";
    case PL_ENOMEM: return "ENOMEM";
    case PL_EFAULT: return "EFAULT";
    case PL_EBUSY: return "EBUSY";
    case PL_EEXIST: return "EEXIST";
    case PL_EINVAL: return "EINVAL";
    case PL_ENOSPC: return "ENOSPC";
    case PL_ERANGE: return "ERANGE";
    case PL_ENOSYS: return "ENOSYS";
    case PL_ETIMEDOUT: return "ETIMEDOUT";
    default: return "E?";
    }
}

static int digit(char c, unsigned base)
{
    unsigned d;
    if (c >= '0' && c <= '9')
        d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
        d = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
        d = (unsigned)(c - 'A' + 10);
    else
        return -1;
    return d < base ? (int)d : -1;
}

/* Parse a number at *sp, moving *sp past it. */
static int parse_num(const char **sp, uint64_t max, uint64_t *out)
{
    const char *s = *sp;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (digit(*s, base) < 0)
        return -PL_EINVAL;
    uint64_t v = 0;
    bool over = false;
    int d;
    for (; (d = digit(*s, base)) >= 0; s++) {
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            over = true;
        else
            v = v * base + (uint64_t)d;
    }
    *sp = s;
    if (over || v > max)
        return -PL_ERANGE;
    *out = v;
    return 0;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (!s)
        return -PL_EINVAL;
    uint64_t v;
    int rc = parse_num(&s, max, &v);
    if (rc == -PL_EINVAL || *s)
        return -PL_EINVAL; /* not a number, or something after it */
    if (rc)
        return rc;
    *out = v;
    return 0;
}

int parse_cpulist(const char *s, uint64_t *mask, char *err, size_t errlen)
{
    if (!s || !*s) {
        hv_snprintf(err, errlen, "empty CPU list");
        return -PL_EINVAL;
    }
    if (strcmp(s, "all") == 0) {
        *mask = ~0ull;
        return 0;
    }
    uint64_t m = 0;
    const char *p = s;
    for (;;) {
        uint64_t lo, hi;
        const char *start = p;
        int rc = parse_num(&p, 63, &lo);
        if (rc == 0 && *p == '-') {
            p++;
            start = p;
            rc = parse_num(&p, 63, &hi);
            if (rc == 0 && hi < lo) {
                hv_snprintf(err, errlen, "\"%s\": range %llu-%llu goes backwards", s, (unsigned long long)lo,
                            (unsigned long long)hi);
                return -PL_EINVAL;
            }
        } else {
            hi = lo;
        }
        if (rc == -PL_EINVAL) {
            hv_snprintf(err, errlen, "\"%s\": expected a CPU number at \"%s\"", s, start);
            return -PL_EINVAL;
        }
        if (rc == -PL_ERANGE) {
            hv_snprintf(err, errlen, "\"%s\": CPU %.*s is above 63", s, (int)(p - start), start);
            return -PL_EINVAL;
        }
        for (uint64_t c = lo; c <= hi; c++)
            m |= 1ull << c;
        if (*p == 0)
            break;
        if (*p != ',') {
            hv_snprintf(err, errlen, "\"%s\": unexpected \"%c\"", s, *p);
            return -PL_EINVAL;
        }
        p++;
    }
    *mask = m;
    return 0;
}

char *format_cpulist(uint64_t mask, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = 0;
    if (mask == ~0ull) {
        hv_snprintf(buf, len, "all");
        return buf;
    }
    if (mask == 0) {
        hv_snprintf(buf, len, "none");
        return buf;
    }
    size_t n = 0;
    for (unsigned c = 0; c < 64;) {
        if (!(mask >> c & 1)) {
            c++;
            continue;
        }
        unsigned e = c;
        while (e + 1 < 64 && (mask >> (e + 1) & 1))
            e++;
        int w;
        if (e == c)
            w = hv_snprintf(buf + n, len - n, "%s%u", n ? "," : "", c);
        else
            w = hv_snprintf(buf + n, len - n, "%s%u-%u", n ? "," : "", c, e);
        if (w < 0 || (size_t)w >= len - n)
            break; /* truncated, still NUL-terminated */
        n += (size_t)w;
        c = e + 1;
    }
    return buf;
}

int split_args(char *line, char **argv, int max)
{
    int argc = 0;
    char *r = line, *w = line;
    for (;;) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (!*r)
            break;
        if (argc >= max - 1)
            return -PL_E2BIG;
        argv[argc++] = w;
        bool quoted = false;
        while (*r && (quoted || (*r != ' ' && *r != '\t'))) {
            if (*r == '"')
                quoted = !quoted;
            else
                *w++ = *r;
            r++;
        }
        if (quoted)
            return -PL_EINVAL;
        bool end = !*r;
        if (!end)
            r++;
        *w++ = 0;
        if (end)
            break;
    }
    if (max > 0)
        argv[argc] = NULL;
    return argc;
}

int dom_resolve(const char *arg, const struct dom_ref *doms, unsigned n, char *err, size_t errlen)
{
    uint64_t id;
    if (!arg || !*arg) {
        hv_snprintf(err, errlen, "empty domain name");
        return -PL_ENOENT;
    }
    if (parse_uint(arg, UINT32_MAX, &id) == 0) {
        for (unsigned i = 0; i < n; i++)
            if (doms[i].id == id)
                return (int)i;
        hv_snprintf(err, errlen, "no domain with id %s", arg);
        return -PL_ENOENT;
    }
    int found = -1;
    for (unsigned i = 0; i < n; i++) {
        if (doms[i].name && strcmp(doms[i].name, arg) == 0) {
            if (found >= 0) {
                hv_snprintf(err, errlen, "several domains are called \"%s\" (ids %u and %u): use the id", arg,
                            doms[found].id, doms[i].id);
                return -PL_EEXIST;
            }
            found = (int)i;
        }
    }
    if (found < 0) {
        hv_snprintf(err, errlen, "no domain called \"%s\"", arg);
        return -PL_ENOENT;
    }
    return found;
}

void module_name(const char *cmdline, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    out[0] = 0;
    const char *p = cmdline;
    while (p && *p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *s = p;
        bool eq = false;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '=')
                eq = true;
            p++;
        }
        if (p > s && !eq) {
            size_t n = (size_t)(p - s);
            if (n > outlen - 1)
                n = outlen - 1;
            memcpy(out, s, n);
            out[n] = 0;
            return;
        }
    }
}

bool module_matches(const char *name, const char *want)
{
    if (!name || !want || !*want)
        return false;
    if (strcmp(name, want) == 0)
        return true;
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/')
            base = p + 1;
    return strcmp(base, want) == 0;
}

bool cmdline_value(const char *cmdline, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    const char *p = cmdline;
    while (p && *p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - s) > klen && memcmp(s, key, klen) == 0 && s[klen] == '=') {
            const char *v = s + klen + 1;
            size_t n = (size_t)(p - v);
            if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
                v++;
                n -= 2;
            }
            if (outlen == 0)
                return true;
            if (n > outlen - 1)
                n = outlen - 1;
            memcpy(out, v, n);
            out[n] = 0;
            return true;
        }
    }
    return false;
}

int bump_place(uint64_t next, uint64_t end, uint64_t size, uint64_t align, uint64_t *addr)
{
    const uint64_t two_mib = 2ull << 20;
    if (align == 0 || (align & (align - 1)))
        return -PL_EINVAL;
    if (size == 0)
        size = 1;
    uint64_t p = (next + align - 1) & ~(align - 1);
    if (p < next)
        return -PL_ENOMEM;
    if (size <= two_mib && (p & ~(two_mib - 1)) != ((p + size - 1) & ~(two_mib - 1)))
        p = (p + two_mib - 1) & ~(two_mib - 1);
    if (p < next || p > end || size > end - p)
        return -PL_ENOMEM;
    *addr = p;
    return 0;
}
