/* Physical frame allocator (see hv/pmm.h).
 *
 * Metadata, laid out in the caller's buffer (each part 8-byte aligned):
 *   bitmap      nframes bits, 1 = frame in use (reserved or handed out)
 *   allocated   nframes bits, 1 = frame handed out by pmm_alloc (4K or 2M)
 *   chunk_free  uint16_t per 2 MiB chunk: clear bits of the chunk in bitmap
 *   chunk_large uint8_t per chunk: 1 = chunk is a live 2 MiB allocation
 * The limit is a multiple of 2 MiB, so every chunk is complete and owns
 * exactly PMM_CHUNK_WORDS bitmap words.
 *
 * Invariants: a frame with an allocated bit also has its bitmap bit set;
 * stats.free_frames = sum(chunk_free); stats.free_large = number of chunks
 * with chunk_free == 512; managed_frames = free_frames + alloc_4k +
 * 512 * alloc_2m (reserving a free frame takes it out of management).
 *
 * Placement policy: memory is handed out from the top down, so low frames
 * (below 1 MiB, below 4 GiB), which only bounded requests need, last
 * longest. A 4 KiB request first takes the lowest free frame of a partially
 * free chunk, scanning chunks downwards from hint_partial and wrapping
 * round; only if no partial chunk qualifies does it break up the highest
 * wholly free chunk. A 2 MiB request takes the highest wholly free chunk.
 * Every search is bounded by the number of chunks plus 8 bitmap words.
 *
 * pmm_add_free and pmm_reserve leave frames that are currently handed out
 * alone: such frames stay allocated and must be released with pmm_free.
 */
#include "hv/pmm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/compiler.h"
#include "hv/string.h"
#include "plinth/errno.h"

#define PMM_CHUNK_WORDS (PMM_FRAMES_PER_LARGE / 64u) /* bitmap words per chunk */
#define PMM_MAX_LIMIT (1ull << 52)                   /* x86-64 physical address width */

struct pmm_layout {
    size_t bitmap_off, alloc_off, chunk_free_off, chunk_large_off, total;
};

static uint64_t round_limit(uint64_t phys_limit)
{
    return ALIGN_UP(phys_limit, PMM_LARGE_SIZE);
}

/* phys_limit already validated and rounded. */
static struct pmm_layout layout_for(uint64_t limit)
{
    struct pmm_layout l;
    size_t nchunks = (size_t)(limit / PMM_LARGE_SIZE);
    size_t map_bytes = nchunks * PMM_CHUNK_WORDS * sizeof(uint64_t);
    l.bitmap_off = 0;
    l.alloc_off = l.bitmap_off + map_bytes;
    l.chunk_free_off = l.alloc_off + map_bytes;
    l.chunk_large_off = l.chunk_free_off + ALIGN_UP(nchunks * sizeof(uint16_t), (size_t)8);
    l.total = l.chunk_large_off + ALIGN_UP(nchunks, (size_t)8);
    return l;
}

size_t pmm_metadata_bytes(uint64_t phys_limit)
{
    if (phys_limit == 0 || phys_limit > PMM_MAX_LIMIT)
        return 0;
    return layout_for(round_limit(phys_limit)).total;
}

static unsigned popcount64(uint64_t x)
{
    /* Bit trick rather than __builtin_popcountll, which may call into libgcc
     * when the kernel is built without -mpopcnt. */
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

static bool test_bit(const uint64_t *map, uint64_t bit)
{
    return (map[bit / 64] >> (bit % 64)) & 1;
}

/* Adjust a chunk's free counter, keeping free_frames and free_large exact. */
static void chunk_adjust(struct pmm *p, uint64_t c, int64_t delta)
{
    uint16_t old = p->chunk_free[c];
    uint16_t new = (uint16_t)((int64_t)old + delta);
    if (old == PMM_FRAMES_PER_LARGE)
        p->stats.free_large--;
    if (new == PMM_FRAMES_PER_LARGE)
        p->stats.free_large++;
    p->chunk_free[c] = new;
    p->stats.free_frames = (uint64_t)((int64_t)p->stats.free_frames + delta);
}

int pmm_init(struct pmm *p, void *meta, size_t meta_bytes, uint64_t phys_limit)
{
    if (!p || !meta || !IS_ALIGNED((uintptr_t)meta, (uintptr_t)8))
        return -PL_EINVAL;
    if (phys_limit == 0 || phys_limit > PMM_MAX_LIMIT)
        return -PL_EINVAL;
    uint64_t limit = round_limit(phys_limit);
    struct pmm_layout l = layout_for(limit);
    if (meta_bytes < l.total)
        return -PL_EINVAL;

    uint8_t *base = meta;
    p->limit = limit;
    p->nframes = limit / PMM_PAGE_SIZE;
    p->nchunks = limit / PMM_LARGE_SIZE;
    p->bitmap = (uint64_t *)(void *)(base + l.bitmap_off);
    p->allocated = (uint64_t *)(void *)(base + l.alloc_off);
    p->chunk_free = (uint16_t *)(void *)(base + l.chunk_free_off);
    p->chunk_large = base + l.chunk_large_off;
    p->hint_partial = p->nchunks - 1;
    memset(&p->stats, 0, sizeof(p->stats));

    memset(p->bitmap, 0xff, l.alloc_off - l.bitmap_off); /* all reserved */
    memset(p->allocated, 0, l.chunk_free_off - l.alloc_off);
    memset(p->chunk_free, 0, l.total - l.chunk_free_off); /* and chunk_large */
    return 0;
}

/* Walk frames [f0, f1) a bitmap word at a time, freeing (make_free) or
 * reserving them. Returns the number of frames whose state changed. */
static uint64_t update_range(struct pmm *p, uint64_t f0, uint64_t f1, bool make_free)
{
    uint64_t changed = 0;
    if (f0 >= f1)
        return 0;
    uint64_t w_first = f0 / 64, w_last = (f1 - 1) / 64;
    for (uint64_t w = w_first; w <= w_last; w++) {
        unsigned lo = w == w_first ? (unsigned)(f0 % 64) : 0;
        unsigned hi = w == w_last ? (unsigned)((f1 - 1) % 64) : 63;
        uint64_t mask = (~0ull << lo) & (~0ull >> (63 - hi));
        uint64_t bits;
        if (make_free) {
            bits = p->bitmap[w] & ~p->allocated[w] & mask;
            p->bitmap[w] &= ~bits;
        } else {
            bits = ~p->bitmap[w] & mask;
            p->bitmap[w] |= bits;
        }
        if (!bits)
            continue;
        unsigned n = popcount64(bits);
        chunk_adjust(p, w / PMM_CHUNK_WORDS, make_free ? (int64_t)n : -(int64_t)n);
        changed += n;
    }
    return changed;
}

/* Clip [base, base+len) to [0, limit) without overflowing. Returns false if
 * nothing is left. */
static bool clip_range(const struct pmm *p, uint64_t base, uint64_t len, uint64_t *end)
{
    if (len == 0 || base >= p->limit)
        return false;
    *end = len > p->limit - base ? p->limit : base + len;
    return true;
}

uint64_t pmm_add_free(struct pmm *p, uint64_t base, uint64_t len)
{
    uint64_t end;
    if (!clip_range(p, base, len, &end))
        return 0;
    uint64_t start = ALIGN_UP(base, PMM_PAGE_SIZE); /* base < limit: no overflow */
    end = ALIGN_DOWN(end, PMM_PAGE_SIZE);
    if (start >= end)
        return 0;
    uint64_t n = update_range(p, start / PMM_PAGE_SIZE, end / PMM_PAGE_SIZE, true);
    p->stats.managed_frames += n;
    return n;
}

uint64_t pmm_reserve(struct pmm *p, uint64_t base, uint64_t len)
{
    uint64_t end;
    if (!clip_range(p, base, len, &end))
        return 0;
    uint64_t start = ALIGN_DOWN(base, PMM_PAGE_SIZE);
    end = ALIGN_UP(end, PMM_PAGE_SIZE); /* end <= limit, limit aligned */
    uint64_t n = update_range(p, start / PMM_PAGE_SIZE, end / PMM_PAGE_SIZE, false);
    p->stats.managed_frames -= n;
    return n;
}

/* Lowest free frame of chunk c below frame fmax, or PMM_NO_FRAME. */
static uint64_t find_in_chunk(const struct pmm *p, uint64_t c, uint64_t fmax)
{
    for (uint64_t w = c * PMM_CHUNK_WORDS; w < (c + 1) * PMM_CHUNK_WORDS; w++) {
        uint64_t first = w * 64;
        if (first >= fmax)
            break;
        uint64_t avail = ~p->bitmap[w];
        if (fmax - first < 64)
            avail &= (1ull << (fmax - first)) - 1;
        if (avail)
            return first + (uint64_t)__builtin_ctzll(avail);
    }
    return PMM_NO_FRAME;
}

static uint64_t alloc_4k(struct pmm *p, uint64_t max_phys)
{
    uint64_t fmax = MIN(p->nframes, max_phys / PMM_PAGE_SIZE);
    if (fmax == 0 || p->stats.free_frames == 0)
        return PMM_NO_FRAME;
    uint64_t cmax = (fmax + PMM_FRAMES_PER_LARGE - 1) / PMM_FRAMES_PER_LARGE;
    uint64_t start = p->hint_partial < cmax ? p->hint_partial : cmax - 1;
    uint64_t frame = PMM_NO_FRAME;

    /* Pass 1: partially free chunks, downwards from the hint, wrapping. */
    for (uint64_t i = 0; i < cmax && frame == PMM_NO_FRAME; i++) {
        uint64_t c = start >= i ? start - i : start + cmax - i;
        uint16_t nf = p->chunk_free[c];
        if (nf != 0 && nf != PMM_FRAMES_PER_LARGE)
            frame = find_in_chunk(p, c, fmax);
    }
    /* Pass 2: break up the highest wholly free chunk. */
    for (uint64_t c = cmax; c-- > 0 && frame == PMM_NO_FRAME;) {
        if (p->chunk_free[c] == PMM_FRAMES_PER_LARGE)
            frame = find_in_chunk(p, c, fmax);
    }
    if (frame == PMM_NO_FRAME)
        return PMM_NO_FRAME;

    uint64_t c = frame / PMM_FRAMES_PER_LARGE;
    p->bitmap[frame / 64] |= 1ull << (frame % 64);
    p->allocated[frame / 64] |= 1ull << (frame % 64);
    chunk_adjust(p, c, -1);
    p->stats.alloc_4k++;
    p->hint_partial = c;
    return frame * PMM_PAGE_SIZE;
}

static uint64_t alloc_2m(struct pmm *p, uint64_t max_phys)
{
    if (p->stats.free_large == 0)
        return PMM_NO_FRAME;
    uint64_t cmax = MIN(p->nchunks, max_phys / PMM_LARGE_SIZE);
    for (uint64_t c = cmax; c-- > 0;) {
        if (p->chunk_free[c] != PMM_FRAMES_PER_LARGE)
            continue;
        for (uint64_t w = c * PMM_CHUNK_WORDS; w < (c + 1) * PMM_CHUNK_WORDS; w++) {
            p->bitmap[w] = ~0ull;
            p->allocated[w] = ~0ull;
        }
        chunk_adjust(p, c, -(int64_t)PMM_FRAMES_PER_LARGE);
        p->chunk_large[c] = 1;
        p->stats.alloc_2m++;
        return c * PMM_LARGE_SIZE;
    }
    return PMM_NO_FRAME;
}

uint64_t pmm_alloc(struct pmm *p, enum pmm_order order, uint64_t max_phys)
{
    if (order == PMM_4K)
        return alloc_4k(p, max_phys);
    if (order == PMM_2M)
        return alloc_2m(p, max_phys);
    return PMM_NO_FRAME;
}

int pmm_free(struct pmm *p, uint64_t phys, enum pmm_order order)
{
    if (phys >= p->limit)
        return -PL_EINVAL;
    uint64_t frame = phys / PMM_PAGE_SIZE;
    uint64_t c = phys / PMM_LARGE_SIZE;

    if (order == PMM_4K) {
        if (!IS_ALIGNED(phys, PMM_PAGE_SIZE) || p->chunk_large[c] || !test_bit(p->allocated, frame))
            return -PL_EINVAL;
        p->allocated[frame / 64] &= ~(1ull << (frame % 64));
        p->bitmap[frame / 64] &= ~(1ull << (frame % 64));
        chunk_adjust(p, c, 1);
        p->stats.alloc_4k--;
        return 0;
    }
    if (order == PMM_2M) {
        if (!IS_ALIGNED(phys, PMM_LARGE_SIZE) || !p->chunk_large[c])
            return -PL_EINVAL;
        for (uint64_t w = c * PMM_CHUNK_WORDS; w < (c + 1) * PMM_CHUNK_WORDS; w++) {
            p->bitmap[w] = 0;
            p->allocated[w] = 0;
        }
        p->chunk_large[c] = 0;
        chunk_adjust(p, c, PMM_FRAMES_PER_LARGE);
        p->stats.alloc_2m--;
        return 0;
    }
    return -PL_EINVAL;
}

bool pmm_is_free(const struct pmm *p, uint64_t phys)
{
    if (phys >= p->limit)
        return false;
    return !test_bit(p->bitmap, phys / PMM_PAGE_SIZE);
}

void pmm_get_stats(const struct pmm *p, struct pmm_stats *out)
{
    *out = p->stats;
}

void pmm_relocate(struct pmm *p, intptr_t delta)
{
    p->bitmap = (uint64_t *)((uintptr_t)p->bitmap + (uintptr_t)delta);
    p->allocated = (uint64_t *)((uintptr_t)p->allocated + (uintptr_t)delta);
    p->chunk_free = (uint16_t *)((uintptr_t)p->chunk_free + (uintptr_t)delta);
    p->chunk_large = (uint8_t *)((uintptr_t)p->chunk_large + (uintptr_t)delta);
}
