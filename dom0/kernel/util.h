/* Pure helpers of dom0's shell: number and CPU-list parsing, argument
 * splitting, domain-name resolution, module names, error names. No
 * hypercalls and no global state, so they compile in host unit tests too
 * (tests/unit/test_dom0_util.c). */
#ifndef DOM0_KERNEL_UTIL_H
#define DOM0_KERNEL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "EPERM", "ENOENT", ... for a PL_E* code given either sign; "E?" for an
 * unknown one. */
const char *errno_name(long err);

/* A whole unsigned number: decimal, or hex with 0x. No sign, no spaces,
 * nothing after it. 0 with *out set, or -PL_EINVAL (not a number) or
 * -PL_ERANGE (above max). */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/* CPU list: "all", or comma-separated CPUs and ranges of CPUs 0..63, such
 * as "0-1,3". 0 with *mask set, or -PL_EINVAL with a reason in err. */
int parse_cpulist(const char *s, uint64_t *mask, char *err, size_t errlen);
/* The inverse: "0-1,3"; "all" for ~0, "none" for 0. Returns buf. */
char *format_cpulist(uint64_t mask, char *buf, size_t len);

/* Split line in place into words separated by spaces or tabs; "..." groups
 * a word with spaces (the quotes are removed). Returns the number of words
 * (argv[argc] = NULL), or -PL_E2BIG if more than max - 1 words, or
 * -PL_EINVAL for an unterminated quote. */
int split_args(char *line, char **argv, int max);

/* A domain as the shell knows it. */
struct dom_ref {
    uint32_t id;
    const char *name;
};

/* Resolve a <dom> argument against the live domains doms[0..n): a number
 * is a domain id, anything else a name (exact match). Returns the index
 * into doms, or -PL_ENOENT (no such domain), -PL_EEXIST (the name is used
 * by several domains: use the id); err holds a one-line reason. */
int dom_resolve(const char *arg, const struct dom_ref *doms, unsigned n, char *err, size_t errlen);

/* The name of a boot module from its command line: the first word without
 * '=', else "" (out holds at most outlen - 1 characters). */
void module_name(const char *cmdline, char *out, size_t outlen);
/* Whether a module named `name` (a name or a path) answers to `want`: the
 * same string, or want equals its last path component. */
bool module_matches(const char *name, const char *want);
/* The value of word `key=value` in a command line (first match), copied to
 * out; false if absent. Quotes around the value are removed. */
bool cmdline_value(const char *cmdline, const char *key, char *out, size_t outlen);

/* Where a bump allocator with free space [next, end) places size bytes
 * aligned to align (a power of two): a request of at most 2 MiB never
 * crosses a 2 MiB boundary. 0 with *addr set, or -PL_EINVAL (align not a
 * power of two), -PL_ENOMEM (does not fit). size 0 counts as 1. */
int bump_place(uint64_t next, uint64_t end, uint64_t size, uint64_t align, uint64_t *addr);

#endif
