#include "hv/cmdline.h"

#include "hv/string.h"

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool cmdline_next(const char **cursor, struct cmdline_opt *opt, bool *error)
{
    const char *p = *cursor;
    *error = false;
    while (*p && is_space(*p))
        p++;
    if (!*p) {
        *cursor = p;
        return false;
    }
    opt->key = p;
    while (*p && !is_space(*p) && *p != '=')
        p++;
    opt->key_len = (size_t)(p - opt->key);
    opt->val = NULL;
    opt->val_len = 0;
    if (*p == '=') {
        p++;
        if (*p == '"') {
            opt->val = ++p;
            while (*p && *p != '"')
                p++;
            if (!*p) {
                *error = true;
                opt->val_len = (size_t)(p - opt->val);
                *cursor = p;
                return true;
            }
            opt->val_len = (size_t)(p - opt->val);
            p++;
        } else {
            opt->val = p;
            while (*p && !is_space(*p))
                p++;
            opt->val_len = (size_t)(p - opt->val);
        }
    }
    *cursor = p;
    return true;
}

bool cmdline_key_is(const struct cmdline_opt *o, const char *key)
{
    return strlen(key) == o->key_len && strncmp(o->key, key, o->key_len) == 0;
}

bool cmdline_val_is(const struct cmdline_opt *o, const char *val)
{
    return o->val && strlen(val) == o->val_len && strncmp(o->val, val, o->val_len) == 0;
}

bool cmdline_parse_u64(const char *s, size_t len, bool allow_suffix, uint64_t *out)
{
    unsigned base = 10;
    size_t i = 0;
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == len)
        return false;
    uint64_t v = 0;
    unsigned shift = 0;
    for (; i < len; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else if (allow_suffix && i == len - 1 && i > (base == 16 ? 2u : 0u) &&
                 (c == 'K' || c == 'k' || c == 'M' || c == 'm' || c == 'G' || c == 'g')) {
            shift = (c == 'K' || c == 'k') ? 10 : (c == 'M' || c == 'm') ? 20 : 30;
            break;
        } else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return false;
    *out = v << shift;
    return true;
}
