/* Physical memory map: the arch-neutral form both the e820-style and the EFI
 * firmware maps are converted into, and its sanitiser. Pure logic. */
#ifndef HV_MEMMAP_H
#define HV_MEMMAP_H

#include <stdint.h>

enum mem_type {
    MEM_AVAILABLE = 1,     /* usable RAM (Multiboot2 type 1) */
    MEM_RESERVED = 2,      /* firmware or device use: never touched */
    MEM_ACPI_RECLAIM = 3,  /* ACPI tables: keep while we parse them */
    MEM_ACPI_NVS = 4,      /* firmware state that must survive sleep */
    MEM_BAD = 5,           /* defective RAM */
};

struct mem_range {
    uint64_t base;
    uint64_t len;
    uint32_t type;  /* enum mem_type */
};

/* Sort ranges by base, drop zero-length ones, resolve overlaps (where two
 * ranges overlap, the more restrictive type wins: BAD > RESERVED > ACPI_NVS >
 * ACPI_RECLAIM > AVAILABLE; unknown types count as RESERVED and come out as
 * MEM_RESERVED) and merge adjacent ranges of one type. Ranges whose base+len
 * wraps past 2^64 are clipped to end (exclusively) at 2^64-1. On return the
 * ranges are sorted, disjoint and non-adjacent-by-type. *count may grow (a
 * range punched into another splits it); cap is the array capacity. No
 * scratch memory is used. Returns 0, -PL_ENOSPC if the result does not fit in
 * cap (exact: never for a result that fits; the array is then unspecified),
 * or -PL_EINVAL if *count > cap. */
int memmap_sanitize(struct mem_range *ranges, unsigned *count, unsigned cap);

/* Total bytes of the given type. */
uint64_t memmap_total(const struct mem_range *ranges, unsigned count, uint32_t type);

/* Human-readable name of a type ("available", "reserved", "ACPI reclaim",
 * "ACPI NVS", "bad", "unknown"). */
const char *memmap_type_name(uint32_t type);

#endif
