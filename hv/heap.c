/* Small-object slab heap (see hv/heap.h).
 *
 * Every slab is one 4 KiB page from the page source holding objects of one
 * size class (16 << cls bytes). The page starts with a 64-byte header
 * (struct heap_slab); objects follow from the first multiple of the class
 * size at or after the header, so each object is aligned to its class
 * size. Objects per page: 16 B: 252, 32 B: 126, 64 B: 63, 128 B: 31,
 * 256 B: 15, 512 B: 7, 1024 B: 3, 2048 B: 1 (the header takes the first
 * 2 KiB slot; accepted waste for the largest class).
 *
 * The header's free bitmap has a bit set for every free slot. Slabs with at
 * least one free slot are on the doubly linked partial list of their class;
 * full slabs are on no list (heap_free reaches them through ptr & ~4095).
 * A slab whose last object is freed goes back to the page source at once.
 * Objects are zeroed when handed out.
 */
#include "hv/heap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/compiler.h"
#include "hv/string.h"
#include "plinth/errno.h"

#define HEAP_SLAB_MAGIC 0x42414c53u /* "SLAB" */
#define HEAP_HDR_SIZE 64u
#define HEAP_MAP_WORDS 4u /* up to 256 slots; the 16-byte class needs 252 */

struct heap_slab {
    uint32_t magic;
    uint8_t cls;
    uint8_t reserved;
    uint16_t nfree;
    struct heap *owner;
    struct heap_slab *next, *prev; /* partial list links */
    uint64_t free_map[HEAP_MAP_WORDS]; /* 1 = slot free */
};

_Static_assert(sizeof(struct heap_slab) == HEAP_HDR_SIZE, "slab header must be 64 bytes");

static size_t class_size(unsigned cls)
{
    return (size_t)HEAP_MIN_OBJECT << cls;
}

static size_t class_first(unsigned cls)
{
    return ALIGN_UP((size_t)HEAP_HDR_SIZE, class_size(cls));
}

static unsigned class_nobj(unsigned cls)
{
    return (unsigned)((HEAP_PAGE_SIZE - class_first(cls)) / class_size(cls));
}

_Static_assert((HEAP_PAGE_SIZE - HEAP_HDR_SIZE) / HEAP_MIN_OBJECT <= HEAP_MAP_WORDS * 64,
               "free bitmap too small for the smallest class");

void heap_init(struct heap *h, const struct heap_page_source *src)
{
    h->src = *src;
    for (unsigned i = 0; i < HEAP_NCLASSES; i++)
        h->partial[i] = NULL;
    memset(&h->stats, 0, sizeof(h->stats));
}

static void list_push(struct heap *h, struct heap_slab *s)
{
    s->prev = NULL;
    s->next = h->partial[s->cls];
    if (s->next)
        s->next->prev = s;
    h->partial[s->cls] = s;
}

static void list_remove(struct heap *h, struct heap_slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        h->partial[s->cls] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static struct heap_slab *slab_new(struct heap *h, unsigned cls)
{
    void *page = h->src.alloc_page(h->src.ctx);
    if (!page)
        return NULL;
    if (!IS_ALIGNED((uintptr_t)page, (uintptr_t)HEAP_PAGE_SIZE)) {
        h->src.free_page(h->src.ctx, page);
        return NULL;
    }
    struct heap_slab *s = page;
    unsigned nobj = class_nobj(cls);
    memset(s, 0, sizeof(*s));
    s->magic = HEAP_SLAB_MAGIC;
    s->cls = (uint8_t)cls;
    s->nfree = (uint16_t)nobj;
    s->owner = h;
    for (unsigned i = 0; i < nobj; i++)
        s->free_map[i / 64] |= 1ull << (i % 64);
    list_push(h, s);
    h->stats.pages++;
    return s;
}

void *heap_alloc(struct heap *h, size_t size)
{
    if (size == 0 || size > HEAP_MAX_OBJECT)
        return NULL;
    unsigned cls = 0;
    while (class_size(cls) < size)
        cls++;

    struct heap_slab *s = h->partial[cls];
    if (!s && !(s = slab_new(h, cls)))
        return NULL;

    unsigned idx = 0;
    for (unsigned w = 0; w < HEAP_MAP_WORDS; w++) {
        if (s->free_map[w]) {
            idx = w * 64 + (unsigned)__builtin_ctzll(s->free_map[w]);
            break;
        }
    }
    /* A slab on the partial list always has a free slot, so idx is valid. */
    s->free_map[idx / 64] &= ~(1ull << (idx % 64));
    if (--s->nfree == 0)
        list_remove(h, s);

    size_t csize = class_size(cls);
    void *obj = (uint8_t *)s + class_first(cls) + (size_t)idx * csize;
    memset(obj, 0, csize);
    h->stats.live_objects++;
    h->stats.live_bytes += csize;
    return obj;
}

int heap_free(struct heap *h, void *ptr)
{
    if (!ptr)
        return 0;
    uintptr_t addr = (uintptr_t)ptr;
    struct heap_slab *s = (struct heap_slab *)(addr & ~(uintptr_t)(HEAP_PAGE_SIZE - 1));
    if (s->magic != HEAP_SLAB_MAGIC || s->owner != h || s->cls >= HEAP_NCLASSES)
        return -PL_EINVAL;

    unsigned cls = s->cls;
    size_t csize = class_size(cls);
    size_t off = addr - (uintptr_t)s;
    if (off < class_first(cls) || (off - class_first(cls)) % csize != 0)
        return -PL_EINVAL;
    size_t idx = (off - class_first(cls)) / csize;
    unsigned nobj = class_nobj(cls);
    if (idx >= nobj || (s->free_map[idx / 64] >> (idx % 64)) & 1)
        return -PL_EINVAL;

    s->free_map[idx / 64] |= 1ull << (idx % 64);
    s->nfree++;
    h->stats.live_objects--;
    h->stats.live_bytes -= csize;

    if (s->nfree == nobj) {
        if (nobj > 1) /* a one-slot slab was full, so on no list */
            list_remove(h, s);
        s->magic = 0; /* stale pointers into the page no longer validate */
        h->stats.pages--;
        h->src.free_page(h->src.ctx, s);
    } else if (s->nfree == 1) {
        list_push(h, s); /* was full */
    }
    return 0;
}

void heap_get_stats(const struct heap *h, struct heap_stats *out)
{
    *out = h->stats;
}
