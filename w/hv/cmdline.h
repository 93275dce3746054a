/* Hypervisor command line tokenizer: space-separated "key" or "key=value"
 * words (values may be quoted with "..."). Pure logic. */
#ifndef HV_CMDLINE_H
#define HV_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmdline_opt {
    const char *key;
    size_t key_len;
    const char *val; /* NULL when the word has no '=' */
    size_t val_len;
};

/* Take the next word from *cursor. Returns false at the end, or -1 via
 * *error for an unterminated quote (the rest of the line is then skipped). */
bool cmdline_next(const char **cursor, struct cmdline_opt *opt, bool *error);

bool cmdline_key_is(const struct cmdline_opt *o, const char *key);
bool cmdline_val_is(const struct cmdline_opt *o, const char *val);

/* Parse an unsigned number: decimal, or hex with 0x; an optional K, M or G
 * suffix (binary multiples) when allow_suffix. Rejects empty strings,
 * trailing junk and overflow. */
bool cmdline_parse_u64(const char *s, size_t len, bool allow_suffix, uint64_t *out);

#endif
