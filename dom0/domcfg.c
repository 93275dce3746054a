/* SPDX-License-Identifier: MIT */
/* Domain configuration file parser; see dom0/domcfg.h for the format. */
#include "dom0/domcfg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/compiler.h"
#include "hv/format.h"
#include "hv/string.h"
#include "plinth/errno.h"

enum vtype { V_INT, V_STR, V_CPUS, V_LIST };

struct keydef {
    const char *name;
    enum vtype type;
    uint32_t min, max; /* V_INT range; V_STR maximum length */
    const char *unit;  /* V_INT, for messages */
};

static const struct keydef keys[DOMCFG_KEY_COUNT] = {
    [DOMCFG_KEY_NAME] = { "name", V_STR, 1, DOMCFG_NAME_MAX, "" },
    [DOMCFG_KEY_MEMORY] = { "memory", V_INT, 4, 1024, " MiB" },
    [DOMCFG_KEY_VCPUS] = { "vcpus", V_INT, 1, 8, "" },
    [DOMCFG_KEY_KERNEL] = { "kernel", V_STR, 1, DOMCFG_STR_MAX, "" },
    [DOMCFG_KEY_CMDLINE] = { "cmdline", V_STR, 0, DOMCFG_CMDLINE_MAX, "" },
    [DOMCFG_KEY_WEIGHT] = { "weight", V_INT, 1, 65535, "" },
    [DOMCFG_KEY_CAP] = { "cap", V_INT, 0, 6400, " percent" },
    [DOMCFG_KEY_CPUS] = { "cpus", V_CPUS, 0, 0, "" },
    [DOMCFG_KEY_AUTOSTART] = { "autostart", V_INT, 0, 1, "" },
    [DOMCFG_KEY_DISK] = { "disk", V_LIST, 0, 0, "" },
    [DOMCFG_KEY_VIF] = { "vif", V_LIST, 0, 0, "" },
    [DOMCFG_KEY_CONSOLE] = { "console", V_STR, 1, 15, "" },
};

#define NO_KEY (-1)

struct parser {
    const char *file;
    const char *text;
    size_t len;
    size_t pos;   /* start of the next line */
    unsigned line; /* number of the current line, from 1 */
    const char *l; /* current line, without its line ending */
    size_t ll;
    char *err;
    size_t errlen;
    struct domcfg *out;
    unsigned set_line[DOMCFG_KEY_COUNT];
    int list_key;       /* key of the open list, NO_KEY if none */
    unsigned list_line; /* where it was opened */
    bool list_want_entry; /* after '[' or ',' */
};

const char *domcfg_key_name(enum domcfg_key key)
{
    return (unsigned)key < DOMCFG_KEY_COUNT ? keys[key].name : NULL;
}

/* "file:line: key: message"; line 0 and NO_KEY leave those parts out. */
static int PRINTF_LIKE(5, 6) fail(struct parser *p, int rc, unsigned line, int key, const char *fmt, ...)
{
    if (!p->err || !p->errlen)
        return rc;
    int n;
    if (line)
        n = hv_snprintf(p->err, p->errlen, "%s:%u: ", p->file, line);
    else
        n = hv_snprintf(p->err, p->errlen, "%s: ", p->file);
    if (key != NO_KEY && n >= 0 && (size_t)n < p->errlen)
        n += hv_snprintf(p->err + n, p->errlen - (size_t)n, "%s: ", keys[key].name);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        hv_vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Most errors are about the current line. */
#define FAIL(p, rc, key, ...) fail((p), (rc), (p)->line, (key), __VA_ARGS__)

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

static bool is_name_char(char c)
{
    return is_key_char(c) || c == '.' || c == '-';
}

static bool is_printable(char c)
{
    return c >= ' ' && c < 0x7f;
}

static size_t skip_space(const struct parser *p, size_t c)
{
    while (c < p->ll && is_space(p->l[c]))
        c++;
    return c;
}

static bool at_end(const struct parser *p, size_t c)
{
    return c >= p->ll || p->l[c] == '#';
}

/* Length of the token at c: up to a space, '#' or the end of the line. */
static size_t token_len(const struct parser *p, size_t c)
{
    size_t n = 0;
    while (c + n < p->ll && !is_space(p->l[c + n]) && p->l[c + n] != '#')
        n++;
    return n;
}

static int lookup_key(const char *s, size_t n)
{
    for (int k = 0; k < DOMCFG_KEY_COUNT; k++)
        if (strlen(keys[k].name) == n && memcmp(keys[k].name, s, n) == 0)
            return k;
    return NO_KEY;
}

/* Advance to the next line; false at the end of the input. */
static bool next_line(struct parser *p)
{
    if (p->pos >= p->len)
        return false;
    const char *s = p->text + p->pos;
    size_t rem = p->len - p->pos, n = 0;
    while (n < rem && s[n] != '\n')
        n++;
    p->l = s;
    p->ll = n;
    p->pos += n + (n < rem ? 1 : 0);
    p->line++;
    if (p->ll && s[p->ll - 1] == '\r')
        p->ll--;
    return true;
}

/* Unsigned integer: decimal without leading zeros, or 0x hex. */
enum num_result { NUM_OK, NUM_BAD, NUM_OVERFLOW };

static enum num_result parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    bool overflow = false;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (size_t i = 2; i < n; i++) {
            int d = hex_value(s[i]);
            if (d < 0)
                return NUM_BAD;
            if (v >> 60)
                overflow = true;
            v = v << 4 | (uint64_t)d;
        }
    } else {
        if (n == 0 || (n > 1 && s[0] == '0'))
            return NUM_BAD;
        for (size_t i = 0; i < n; i++) {
            if (!is_digit(s[i]))
                return NUM_BAD;
            uint64_t d = (uint64_t)(s[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                overflow = true;
            v = v * 10 + d;
        }
    }
    *out = v;
    return overflow ? NUM_OVERFLOW : NUM_OK;
}

/* Quoted string at *c into buf (NUL-terminated); *c ends after the quote. */
static int parse_string(struct parser *p, size_t *c, int key, char *buf, size_t size, size_t *out_len)
{
    size_t i = *c, n = 0;
    if (i >= p->ll || p->l[i] != '"')
        return FAIL(p, -PL_EINVAL, key, "expected a quoted string");
    i++;
    for (;;) {
        if (i >= p->ll)
            return FAIL(p, -PL_EINVAL, key, "unterminated string");
        char ch = p->l[i++];
        if (ch == '"')
            break;
        if (ch == '\\') {
            if (i >= p->ll)
                return FAIL(p, -PL_EINVAL, key, "unterminated string");
            ch = p->l[i++];
            if (ch != '"' && ch != '\\') {
                if (is_printable(ch))
                    return FAIL(p, -PL_EINVAL, key, "unknown escape '\\%c' (only \\\" and \\\\)", ch);
                return FAIL(p, -PL_EINVAL, key, "unknown escape '\\' + byte 0x%02x (only \\\" and \\\\)",
                            (unsigned char)ch);
            }
        } else if ((unsigned char)ch < 0x20 || ch == 0x7f) {
            return FAIL(p, -PL_EINVAL, key, "control character 0x%02x in a string", (unsigned char)ch);
        }
        if (n + 1 >= size)
            return FAIL(p, -PL_E2BIG, key, "string longer than %zu bytes", size - 1);
        buf[n++] = ch;
    }
    buf[n] = '\0';
    *c = i;
    *out_len = n;
    return 0;
}

/* "0-3,6" -> mask, ORed into *mask. */
static int parse_cpu_list(struct parser *p, int key, const char *s, size_t n, uint64_t *mask)
{
    if (n == 0)
        return FAIL(p, -PL_EINVAL, key, "empty CPU list");
    size_t i = 0;
    for (;;) {
        size_t lo_at = i;
        while (i < n && is_digit(s[i]))
            i++;
        size_t lo_len = i - lo_at, hi_at = i, hi_len = 0;
        if (i < n && s[i] == '-') {
            hi_at = ++i;
            while (i < n && is_digit(s[i]))
                i++;
            hi_len = i - hi_at;
            if (!hi_len)
                lo_len = 0; /* "3-": malformed */
        }
        if (!lo_len || (i < n && s[i] != ','))
            return FAIL(p, -PL_EINVAL, key, "invalid CPU list \"%.*s\" (expected e.g. \"0-3,6\")", (int)n, s);
        uint64_t lo, hi;
        /* Up to 4 digits is plenty to tell "< 64" apart; more is out of range. */
        if (lo_len > 4 || parse_u64(s + lo_at, lo_len, &lo) == NUM_BAD)
            lo = 64;
        if (!hi_len)
            hi = lo;
        else if (hi_len > 4 || parse_u64(s + hi_at, hi_len, &hi) == NUM_BAD)
            hi = 64;
        if (lo >= 64)
            return FAIL(p, -PL_EINVAL, key, "CPU %.*s is outside 0..63", (int)lo_len, s + lo_at);
        if (hi >= 64)
            return FAIL(p, -PL_EINVAL, key, "CPU %.*s is outside 0..63", (int)hi_len, s + hi_at);
        if (lo > hi)
            return FAIL(p, -PL_EINVAL, key, "CPU range %.*s is backwards", (int)(i - lo_at), s + lo_at);
        for (uint64_t cpu = lo; cpu <= hi; cpu++)
            *mask |= 1ull << cpu;
        if (i == n)
            return 0;
        i++; /* ',' */
    }
}

/* backend:target,vdev,mode with mode r or w. */
static int check_disk(struct parser *p, int key, const char *s, size_t n)
{
    size_t colon = 0;
    while (colon < n && s[colon] != ':' && s[colon] != ',')
        colon++;
    size_t field[3], flen[3], f = 0, start = colon + 1;
    bool shape = colon > 0 && colon < n && s[colon] == ':';
    for (size_t i = start; shape && i <= n; i++) {
        if (i == n || s[i] == ',') {
            if (f == 3 || i == start) {
                shape = false;
                break;
            }
            field[f] = start;
            flen[f++] = i - start;
            start = i + 1;
        }
    }
    if (!shape || f != 3)
        return FAIL(p, -PL_EINVAL, key, "\"%.*s\" is not backend:target,vdev,mode", (int)n, s);
    if (flen[2] != 1 || (s[field[2]] != 'r' && s[field[2]] != 'w'))
        return FAIL(p, -PL_EINVAL, key, "mode \"%.*s\" in \"%.*s\" is not r or w", (int)flen[2], s + field[2], (int)n,
                    s);
    return 0;
}

static bool parse_mac(const char *s, size_t n, uint8_t mac[6])
{
    if (n != 17)
        return false;
    for (size_t i = 0; i < 6; i++) {
        int hi = hex_value(s[i * 3]), lo = hex_value(s[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
            return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* mac=XX:XX:XX:XX:XX:XX,bridge=NAME[,vlan=N] in any order. */
static int parse_vif(struct parser *p, int key, const char *s, size_t n, struct domcfg_vif *v)
{
    bool have_mac = false, have_bridge = false, have_vlan = false;
    size_t i = 0;
    for (;;) {
        size_t at = i;
        while (i < n && s[i] != ',')
            i++;
        const char *item = s + at;
        size_t ilen = i - at, eq = 0;
        while (eq < ilen && item[eq] != '=')
            eq++;
        if (eq == 0 || eq == ilen)
            return FAIL(p, -PL_EINVAL, key, "expected setting=value, got \"%.*s\" in \"%.*s\"", (int)ilen, item,
                        (int)n, s);
        const char *val = item + eq + 1;
        size_t vlen = ilen - eq - 1;
        bool dup;
        if (eq == 3 && memcmp(item, "mac", 3) == 0) {
            dup = have_mac;
            have_mac = true;
            if (!dup && !parse_mac(val, vlen, v->mac))
                return FAIL(p, -PL_EINVAL, key, "invalid mac \"%.*s\" (expected six hex pairs like 00:16:3e:00:00:01)",
                            (int)vlen, val);
        } else if (eq == 6 && memcmp(item, "bridge", 6) == 0) {
            dup = have_bridge;
            have_bridge = true;
            if (!dup) {
                if (vlen == 0)
                    return FAIL(p, -PL_EINVAL, key, "empty bridge in \"%.*s\"", (int)n, s);
                if (vlen > DOMCFG_BRIDGE_MAX)
                    return FAIL(p, -PL_E2BIG, key, "bridge \"%.*s\" is longer than %u characters", (int)vlen, val,
                                DOMCFG_BRIDGE_MAX);
                for (size_t j = 0; j < vlen; j++)
                    if (!is_name_char(val[j]))
                        return FAIL(p, -PL_EINVAL, key, "invalid bridge \"%.*s\" (allowed: A-Z a-z 0-9 _ . -)",
                                    (int)vlen, val);
                memcpy(v->bridge, val, vlen);
                v->bridge[vlen] = '\0';
            }
        } else if (eq == 4 && memcmp(item, "vlan", 4) == 0) {
            dup = have_vlan;
            have_vlan = true;
            uint64_t id = 0;
            enum num_result r = dup ? NUM_OK : parse_u64(val, vlen, &id);
            if (r == NUM_BAD)
                return FAIL(p, -PL_EINVAL, key, "vlan \"%.*s\" is not an integer", (int)vlen, val);
            if (!dup && (r == NUM_OVERFLOW || id < 1 || id > 4094))
                return FAIL(p, -PL_EINVAL, key, "vlan %.*s is outside 1..4094", (int)vlen, val);
            if (!dup)
                v->vlan = (uint16_t)id;
        } else {
            return FAIL(p, -PL_EINVAL, key, "unknown setting \"%.*s\" in \"%.*s\" (expected mac, bridge, vlan)",
                        (int)eq, item, (int)n, s);
        }
        if (dup)
            return FAIL(p, -PL_EINVAL, key, "%.*s given twice in \"%.*s\"", (int)eq, item, (int)n, s);
        if (i == n)
            break;
        i++;
    }
    if (!have_mac)
        return FAIL(p, -PL_EINVAL, key, "no mac= in \"%.*s\"", (int)n, s);
    if (!have_bridge)
        return FAIL(p, -PL_EINVAL, key, "no bridge= in \"%.*s\"", (int)n, s);
    return 0;
}

/* One quoted entry of the open list, at *c. */
static int list_entry(struct parser *p, size_t *c)
{
    int key = p->list_key;
    char buf[DOMCFG_LINE_MAX + 1];
    size_t n;
    int rc = parse_string(p, c, key, buf, sizeof(buf), &n);
    if (rc)
        return rc;
    struct domcfg *o = p->out;
    switch (key) {
    case DOMCFG_KEY_CPUS:
        return parse_cpu_list(p, key, buf, n, &o->cpus);
    case DOMCFG_KEY_DISK:
        if (o->disk_count >= DOMCFG_MAX_DISKS)
            return FAIL(p, -PL_ENOSPC, key, "more than %u entries", DOMCFG_MAX_DISKS);
        if ((rc = check_disk(p, key, buf, n)))
            return rc;
        if (n > DOMCFG_STR_MAX)
            return FAIL(p, -PL_E2BIG, key, "entry longer than %u characters", DOMCFG_STR_MAX);
        memcpy(o->disks[o->disk_count++], buf, n + 1);
        return 0;
    default: /* DOMCFG_KEY_VIF */
        if (o->vif_count >= DOMCFG_MAX_VIFS)
            return FAIL(p, -PL_ENOSPC, key, "more than %u entries", DOMCFG_MAX_VIFS);
        if ((rc = parse_vif(p, key, buf, n, &o->vifs[o->vif_count])))
            return rc;
        o->vif_count++;
        return 0;
    }
}

/* Does a "key =" setting start at c, the first non-space of the line? */
static bool starts_setting(const struct parser *p, size_t c)
{
    if (c != skip_space(p, 0) || !is_key_char(p->l[c]))
        return false;
    while (c < p->ll && is_key_char(p->l[c]))
        c++;
    c = skip_space(p, c);
    return c < p->ll && p->l[c] == '=';
}

/* Continue the open list from *c on the current line; closes it at ']'. */
static int list_continue(struct parser *p, size_t *c)
{
    int key = p->list_key;
    for (;;) {
        *c = skip_space(p, *c);
        if (at_end(p, *c))
            return 0; /* continues on the next line */
        char ch = p->l[*c];
        if (ch == ']') {
            (*c)++;
            p->list_key = NO_KEY;
            if (key == DOMCFG_KEY_CPUS && p->out->cpus == 0)
                return FAIL(p, -PL_EINVAL, key, "empty list");
            return 0;
        }
        if (starts_setting(p, *c))
            return FAIL(p, -PL_EINVAL, key, "unterminated list (opened on line %u)", p->list_line);
        if (p->list_want_entry) {
            if (ch != '"')
                return FAIL(p, -PL_EINVAL, key, "expected a quoted string or ']' in the list opened on line %u",
                            p->list_line);
            int rc = list_entry(p, c);
            if (rc)
                return rc;
            p->list_want_entry = false;
        } else {
            if (ch != ',')
                return FAIL(p, -PL_EINVAL, key, "expected ',' or ']' after a list entry");
            (*c)++;
            p->list_want_entry = true;
        }
    }
}

/* Nothing but spaces and a comment may follow a value. */
static int check_trailing(struct parser *p, size_t c, int key)
{
    c = skip_space(p, c);
    if (at_end(p, c))
        return 0;
    size_t n = token_len(p, c);
    if (n == 0) /* cannot happen: at_end is false and the char is not a space */
        n = 1;
    return FAIL(p, -PL_EINVAL, key, "unexpected \"%.*s\" after the value", (int)MIN(n, (size_t)32), p->l + c);
}

static int store_string(struct parser *p, int key, const char *s, size_t n)
{
    const struct keydef *kd = &keys[key];
    struct domcfg *o = p->out;
    if (n < kd->min)
        return FAIL(p, -PL_EINVAL, key, "empty string");
    if (n > kd->max)
        return FAIL(p, -PL_E2BIG, key, "%zu characters, at most %u allowed", n, kd->max);
    switch (key) {
    case DOMCFG_KEY_NAME:
        for (size_t i = 0; i < n; i++) {
            if (is_name_char(s[i]))
                continue;
            if (is_printable(s[i]))
                return FAIL(p, -PL_EINVAL, key, "invalid character '%c' in \"%.*s\" (allowed: A-Z a-z 0-9 _ . -)",
                            s[i], (int)n, s);
            return FAIL(p, -PL_EINVAL, key, "invalid byte 0x%02x in \"%.*s\" (allowed: A-Z a-z 0-9 _ . -)",
                        (unsigned char)s[i], (int)n, s);
        }
        memcpy(o->name, s, n + 1);
        return 0;
    case DOMCFG_KEY_KERNEL:
        memcpy(o->kernel, s, n + 1);
        return 0;
    case DOMCFG_KEY_CONSOLE:
        if (n == 6 && memcmp(s, "virtio", 6) == 0)
            o->console = DOMCFG_CONSOLE_VIRTIO;
        else if (n == 4 && memcmp(s, "none", 4) == 0)
            o->console = DOMCFG_CONSOLE_NONE;
        else
            return FAIL(p, -PL_EINVAL, key, "\"%.*s\" is not \"virtio\" or \"none\"", (int)n, s);
        return 0;
    default: /* DOMCFG_KEY_CMDLINE */
        memcpy(o->cmdline, s, n + 1);
        return 0;
    }
}

static int store_int(struct parser *p, int key, size_t *c)
{
    const struct keydef *kd = &keys[key];
    size_t n = token_len(p, *c);
    const char *tok = p->l + *c;
    uint64_t v = 0;
    enum num_result r = parse_u64(tok, n, &v);
    if (r == NUM_BAD)
        return FAIL(p, -PL_EINVAL, key, "\"%.*s\" is not an integer", (int)MIN(n, (size_t)32), tok);
    if (r == NUM_OVERFLOW || v < kd->min || v > kd->max)
        return FAIL(p, -PL_EINVAL, key, "%.*s is outside %u..%u%s", (int)MIN(n, (size_t)32), tok, kd->min, kd->max,
                    kd->unit);
    *c += n;
    struct domcfg *o = p->out;
    switch (key) {
    case DOMCFG_KEY_MEMORY:
        o->memory_mib = (uint32_t)v;
        break;
    case DOMCFG_KEY_VCPUS:
        o->vcpus = (uint32_t)v;
        break;
    case DOMCFG_KEY_WEIGHT:
        o->weight = (uint32_t)v;
        break;
    case DOMCFG_KEY_CAP:
        o->cap = (uint32_t)v;
        break;
    default: /* DOMCFG_KEY_AUTOSTART */
        o->autostart = v != 0;
        break;
    }
    return 0;
}

/* A line outside a list: blank, comment, or "key = value". */
static int parse_setting(struct parser *p)
{
    size_t c = skip_space(p, 0);
    if (at_end(p, c))
        return 0;
    size_t k0 = c;
    while (c < p->ll && is_key_char(p->l[c]))
        c++;
    if (c == k0)
        return FAIL(p, -PL_EINVAL, NO_KEY, "expected 'key = value'");
    int key = lookup_key(p->l + k0, c - k0);
    if (key == NO_KEY)
        return FAIL(p, -PL_EINVAL, NO_KEY, "unknown key '%.*s'", (int)(c - k0), p->l + k0);
    if (p->set_line[key])
        return FAIL(p, -PL_EINVAL, key, "duplicate key (first set on line %u)", p->set_line[key]);
    p->set_line[key] = p->line;
    p->out->set |= DOMCFG_HAS(key);
    c = skip_space(p, c);
    if (c >= p->ll || p->l[c] != '=')
        return FAIL(p, -PL_EINVAL, key, "expected '=' after the key");
    c = skip_space(p, c + 1);
    if (at_end(p, c))
        return FAIL(p, -PL_EINVAL, key, "missing value");

    enum vtype t = keys[key].type;
    int rc;
    if (t == V_INT) {
        rc = store_int(p, key, &c);
    } else if (t == V_STR || (t == V_CPUS && p->l[c] == '"')) {
        char buf[DOMCFG_LINE_MAX + 1];
        size_t n;
        rc = parse_string(p, &c, key, buf, sizeof(buf), &n);
        if (!rc)
            rc = t == V_STR ? store_string(p, key, buf, n) : parse_cpu_list(p, key, buf, n, &p->out->cpus);
    } else if (p->l[c] == '[') {
        p->list_key = key;
        p->list_line = p->line;
        p->list_want_entry = true;
        c++;
        rc = list_continue(p, &c);
        if (!rc && p->list_key != NO_KEY)
            return 0; /* the list continues on the next line */
    } else {
        rc = FAIL(p, -PL_EINVAL, key, t == V_CPUS ? "expected a quoted string or a list [ \"...\", ... ]"
                                                  : "expected a list [ \"...\", ... ]");
    }
    if (rc)
        return rc;
    return check_trailing(p, c, key);
}

/* Checks on the raw line; errors name the key if one is evident. */
static int check_line(struct parser *p)
{
    int key = p->list_key;
    if (key == NO_KEY) {
        size_t c = skip_space(p, 0), k0 = c;
        while (c < p->ll && c < DOMCFG_LINE_MAX && is_key_char(p->l[c]))
            c++;
        key = lookup_key(p->l + k0, c - k0);
    }
    if (p->ll > DOMCFG_LINE_MAX)
        return FAIL(p, -PL_E2BIG, key, "line is longer than %u bytes", DOMCFG_LINE_MAX);
    for (size_t i = 0; i < p->ll; i++)
        if (p->l[i] == '\0')
            return FAIL(p, -PL_EINVAL, key, "NUL byte in column %zu", i + 1);
    return 0;
}

int domcfg_parse(const char *file_name, const char *text, size_t len, struct domcfg *out, char *err, size_t errlen)
{
    struct parser p = {
        .file = file_name ? file_name : "<config>",
        .text = text,
        .len = len,
        .err = err,
        .errlen = errlen,
        .out = out,
        .list_key = NO_KEY,
    };
    if (err && errlen)
        err[0] = '\0';
    if (!out || (!text && len))
        return fail(&p, -PL_EINVAL, 0, NO_KEY, "no %s", out ? "text" : "output");
    memset(out, 0, sizeof(*out));
    out->memory_mib = DOMCFG_MEMORY_DEFAULT;
    out->vcpus = DOMCFG_VCPUS_DEFAULT;
    out->weight = DOMCFG_WEIGHT_DEFAULT;

    while (next_line(&p)) {
        int rc = check_line(&p);
        if (rc)
            return rc;
        if (p.list_key != NO_KEY) {
            size_t c = 0;
            int key = p.list_key;
            rc = list_continue(&p, &c);
            if (!rc && p.list_key == NO_KEY)
                rc = check_trailing(&p, c, key);
        } else {
            rc = parse_setting(&p);
        }
        if (rc)
            return rc;
    }
    if (p.list_key != NO_KEY)
        return FAIL(&p, -PL_EINVAL, p.list_key, "unterminated list (opened on line %u)", p.list_line);
    if (!p.set_line[DOMCFG_KEY_NAME])
        return fail(&p, -PL_EINVAL, 0, NO_KEY, "missing required key 'name'");
    if (!p.set_line[DOMCFG_KEY_KERNEL])
        return fail(&p, -PL_EINVAL, 0, NO_KEY, "missing required key 'kernel'");
    return 0;
}
