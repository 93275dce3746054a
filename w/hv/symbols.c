#include "hv/symbols.h"

extern const char __text_start[], __text_end[];

const char *symbol_lookup(uint64_t addr, uint64_t *offset)
{
    if (addr < (uint64_t)__text_start || addr >= (uint64_t)__text_end || ksym_count == 0)
        return NULL;
    uint64_t lo = 0, hi = ksym_count; /* find the last entry <= addr */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (ksym_addrs[mid] <= addr)
            lo = mid;
        else
            hi = mid;
    }
    if (ksym_addrs[lo] > addr)
        return NULL;
    *offset = addr - ksym_addrs[lo];
    return ksym_names + ksym_name_offs[lo];
}
