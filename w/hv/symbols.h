/* Symbol table of the hypervisor's own functions, generated at link time by
 * tools/gensyms.py (second link pass), for symbolised backtraces. */
#ifndef HV_SYMBOLS_H
#define HV_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

extern const uint64_t ksym_count;
extern const uint64_t ksym_addrs[];     /* sorted ascending */
extern const uint32_t ksym_name_offs[]; /* into ksym_names */
extern const char ksym_names[];

/* Name of the function containing addr and the offset into it; NULL when
 * addr is outside every known function. */
const char *symbol_lookup(uint64_t addr, uint64_t *offset);

#endif
