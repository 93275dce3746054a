/* Byte ring holding the most recent hypervisor log output, so it can be read
 * later (by dom0's `dmesg`) after the console has scrolled away. Readers keep
 * a position in the stream of all bytes ever written; a reader that falls
 * more than the ring's size behind is told how much it lost. Pure logic,
 * unlocked. */
#ifndef HV_LOGRING_H
#define HV_LOGRING_H

#include <stddef.h>
#include <stdint.h>

struct logring {
    char *buf;
    size_t size;   /* power of two */
    uint64_t head; /* bytes ever written */
};

/* size must be a power of two; returns 0 or -PL_EINVAL. */
int logring_init(struct logring *r, char *buf, size_t size);
void logring_write(struct logring *r, const char *s, size_t n);
/* Oldest position still held. */
uint64_t logring_tail(const struct logring *r);
/* Copy up to n bytes from stream position *pos into out and advance *pos.
 * A position older than the tail is moved to the tail first and the number
 * of bytes skipped is stored in *lost (0 otherwise). A position beyond the
 * head reads nothing. Returns the number of bytes copied. */
size_t logring_read(const struct logring *r, uint64_t *pos, char *out, size_t n, uint64_t *lost);

#endif
