#include "hv/logring.h"

#include "hv/string.h"
#include "plinth/errno.h"

int logring_init(struct logring *r, char *buf, size_t size)
{
    if (!buf || size == 0 || (size & (size - 1)))
        return -PL_EINVAL;
    r->buf = buf;
    r->size = size;
    r->head = 0;
    return 0;
}

void logring_write(struct logring *r, const char *s, size_t n)
{
    if (n > r->size) { /* only the last size bytes can survive */
        r->head += n - r->size;
        s += n - r->size;
        n = r->size;
    }
    size_t off = r->head & (r->size - 1);
    size_t first = r->size - off < n ? r->size - off : n;
    memcpy(r->buf + off, s, first);
    memcpy(r->buf, s + first, n - first);
    r->head += n;
}

uint64_t logring_tail(const struct logring *r)
{
    return r->head > r->size ? r->head - r->size : 0;
}

size_t logring_read(const struct logring *r, uint64_t *pos, char *out, size_t n, uint64_t *lost)
{
    uint64_t tail = logring_tail(r);
    *lost = 0;
    if (*pos < tail) {
        *lost = tail - *pos;
        *pos = tail;
    }
    if (*pos >= r->head)
        return 0;
    uint64_t avail = r->head - *pos;
    size_t want = avail < n ? (size_t)avail : n;
    size_t off = *pos & (r->size - 1);
    size_t first = r->size - off < want ? r->size - off : want;
    memcpy(out, r->buf + off, first);
    memcpy(out + first, r->buf, want - first);
    *pos += want;
    return want;
}
