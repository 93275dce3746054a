/* Physical memory map sanitiser. Pure logic: no allocation, no recursion.
 *
 * Method. After clipping, dropping empty ranges and normalising unknown types
 * to MEM_RESERVED, the ranges are insertion-sorted by base. While sanitising,
 * the .len field of every element holds the exclusive END address (clipping
 * guarantees base + len fits in 64 bits); it is turned back into a length at
 * the end.
 *
 * A sweep then walks the sorted array. Elements before index i are final:
 * disjoint, and ending at or below the base of every later element. The
 * element at i (A) is compared with its successor (B, base >= A.base): if
 * they overlap, either they are of one type and merge, or the lower-priority
 * one loses the overlap. When B beats A and lies strictly inside it, A splits
 * and its tail piece needs a new slot.
 *
 * Every step preserves the "type at each address" function (the
 * highest-priority type of the ranges covering it), which is what the result
 * must describe. When the array is full and a tail piece needs a slot, the
 * array is compacted first (same-type overlapping or adjacent elements merged,
 * elements wholly covered by others of at least their priority dropped); after
 * that every element, and the tail piece, owns an address no other element of
 * its type or a higher one covers, so each maps to a distinct range of the
 * final map: -PL_ENOSPC is then only returned when the result really has more
 * than cap ranges. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/compiler.h"
#include "hv/memmap.h"
#include "hv/string.h"
#include "plinth/errno.h"

static bool type_known(uint32_t type)
{
    return type >= MEM_AVAILABLE && type <= MEM_BAD;
}

/* Larger wins. Only called on normalised (known) types. */
static unsigned type_prio(uint32_t type)
{
    switch (type) {
    case MEM_BAD:
        return 5;
    case MEM_RESERVED:
        return 4;
    case MEM_ACPI_NVS:
        return 3;
    case MEM_ACPI_RECLAIM:
        return 2;
    case MEM_AVAILABLE:
        return 1;
    default:
        return 4; /* unknown counts as reserved */
    }
}

/* In the helpers below, .len is the exclusive end address. */

static void remove_at(struct mem_range *r, unsigned *n, unsigned idx)
{
    memmove(&r[idx], &r[idx + 1], (size_t)(*n - idx - 1) * sizeof(*r));
    (*n)--;
}

/* Insert keeping the array sorted by base; caller guarantees *n < cap. */
static void insert_sorted(struct mem_range *r, unsigned *n, struct mem_range e)
{
    unsigned pos = *n;
    while (pos > 0 && r[pos - 1].base > e.base)
        pos--;
    memmove(&r[pos + 1], &r[pos], (size_t)(*n - pos) * sizeof(*r));
    r[pos] = e;
    (*n)++;
}

/* Restore sorted order after r[idx].base changed. */
static void reposition(struct mem_range *r, unsigned n, unsigned idx)
{
    struct mem_range e = r[idx];
    while (idx + 1 < n && r[idx + 1].base < e.base) {
        r[idx] = r[idx + 1];
        idx++;
    }
    while (idx > 0 && r[idx - 1].base > e.base) {
        r[idx] = r[idx - 1];
        idx--;
    }
    r[idx] = e;
}

/* Is [base, end) wholly covered by elements of priority >= prio, other than
 * r[skip], together with *extra (may be NULL)? The array is sorted by base,
 * so one forward walk suffices. */
static bool covered(const struct mem_range *r, unsigned n, unsigned skip, const struct mem_range *extra,
                    uint64_t base, uint64_t end, unsigned prio)
{
    uint64_t x = base;
    bool extra_done = extra == NULL || type_prio(extra->type) < prio;

    for (unsigned k = 0;; k++) {
        /* Visit the extra range at its place in base order. */
        if (!extra_done && (k >= n || extra->base <= r[k].base)) {
            extra_done = true;
            if (extra->base > x)
                return false;
            if (extra->len > x)
                x = extra->len;
            if (x >= end)
                return true;
        }
        if (k >= n)
            return false;
        if (k == skip || type_prio(r[k].type) < prio)
            continue;
        if (r[k].base > x)
            return false;
        if (r[k].len > x)
            x = r[k].len;
        if (x >= end)
            return true;
    }
}

/* Merge same-type elements that overlap or touch, then drop elements wholly
 * covered by others of at least their priority (counting *extra, the pending
 * tail piece, as one of the others). */
static void compact(struct mem_range *r, unsigned *n, const struct mem_range *extra)
{
    for (unsigned j = 0; j < *n; j++) {
        unsigned k = j + 1;
        while (k < *n && r[k].base <= r[j].len) {
            if (r[k].type == r[j].type) {
                if (r[k].len > r[j].len)
                    r[j].len = r[k].len;
                remove_at(r, n, k);
            } else {
                k++;
            }
        }
    }
    for (unsigned j = 0; j < *n;) {
        if (covered(r, *n, j, extra, r[j].base, r[j].len, type_prio(r[j].type)))
            remove_at(r, n, j);
        else
            j++;
    }
}

/* Add the tail piece t. Returns 0 if simply inserted, 1 if the array was
 * otherwise rearranged (the sweep must restart), or -PL_ENOSPC. */
static int add_piece(struct mem_range *r, unsigned *n, unsigned cap, struct mem_range t)
{
    if (*n < cap) {
        insert_sorted(r, n, t);
        return 0;
    }
    compact(r, n, &t);
    if (*n < cap) {
        insert_sorted(r, n, t);
        return 1;
    }
    if (covered(r, *n, *n, NULL, t.base, t.len, type_prio(t.type)))
        return 1; /* t adds nothing */
    for (unsigned k = 0; k < *n; k++) {
        if (r[k].type == t.type && r[k].base <= t.len && t.base <= r[k].len) {
            r[k].base = MIN(r[k].base, t.base);
            r[k].len = MAX(r[k].len, t.len);
            reposition(r, *n, k);
            return 1;
        }
    }
    /* The array is compact and t owns an address no element covers: the
     * final map has at least cap + 1 ranges. */
    return -PL_ENOSPC;
}

int memmap_sanitize(struct mem_range *ranges, unsigned *count, unsigned cap)
{
    struct mem_range *r = ranges;
    unsigned n = 0;

    if (count == NULL || *count > cap)
        return -PL_EINVAL;
    if (*count == 0)
        return 0;
    if (ranges == NULL)
        return -PL_EINVAL;

    /* Clip, drop empty ranges, normalise types, switch .len to end. */
    for (unsigned j = 0; j < *count; j++) {
        struct mem_range e = r[j];
        if (e.len > UINT64_MAX - e.base)
            e.len = UINT64_MAX - e.base;
        if (e.len == 0)
            continue;
        if (!type_known(e.type))
            e.type = MEM_RESERVED;
        e.len += e.base;
        r[n++] = e;
    }

    /* Insertion sort by base: bounded, no recursion. */
    for (unsigned j = 1; j < n; j++)
        reposition(r, j + 1, j);

    unsigned i = 0;
    while (i + 1 < n) {
        struct mem_range *a = &r[i], *b = &r[i + 1];
        if (b->base >= a->len) {
            i++;
            continue;
        }
        if (a->type == b->type) {
            if (b->len > a->len)
                a->len = b->len;
            remove_at(r, &n, i + 1);
            continue;
        }
        if (type_prio(a->type) > type_prio(b->type)) {
            if (b->len <= a->len) {
                remove_at(r, &n, i + 1);
            } else {
                b->base = a->len;
                reposition(r, n, i + 1);
            }
            continue;
        }
        /* b wins where they overlap: a keeps [a.base, b.base) and
         * [b.end, a.end). */
        bool has_tail = a->len > b->len;
        struct mem_range tail = { .base = b->len, .len = a->len, .type = a->type };
        if (a->base == b->base)
            remove_at(r, &n, i);
        else
            a->len = b->base;
        if (has_tail) {
            int rc = add_piece(r, &n, cap, tail);
            if (rc < 0)
                return rc;
            if (rc > 0)
                i = 0;
        }
    }

    /* Now sorted and disjoint: merge touching same-type neighbours. */
    unsigned w = 0;
    for (unsigned j = 0; j < n; j++) {
        if (w > 0 && r[w - 1].type == r[j].type && r[w - 1].len == r[j].base)
            r[w - 1].len = r[j].len;
        else
            r[w++] = r[j];
    }
    for (unsigned j = 0; j < w; j++)
        r[j].len -= r[j].base;
    *count = w;
    return 0;
}

uint64_t memmap_total(const struct mem_range *ranges, unsigned count, uint32_t type)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < count; i++) {
        if (ranges[i].type != type)
            continue;
        if (ranges[i].len > UINT64_MAX - total)
            return UINT64_MAX; /* only possible for an unsanitised map */
        total += ranges[i].len;
    }
    return total;
}

const char *memmap_type_name(uint32_t type)
{
    switch (type) {
    case MEM_AVAILABLE:
        return "available";
    case MEM_RESERVED:
        return "reserved";
    case MEM_ACPI_RECLAIM:
        return "ACPI reclaim";
    case MEM_ACPI_NVS:
        return "ACPI NVS";
    case MEM_BAD:
        return "bad";
    default:
        return "unknown";
    }
}
