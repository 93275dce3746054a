/* libFuzzer target: the split-virtqueue parser. Input: an 8-byte queue
 * state header, then guest RAM (64 KiB, zero-padded). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dom0/virtio/virtq.h"

#define RAM 65536u
#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static uint8_t ram[RAM];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    memset(ram, 0, RAM);
    memcpy(ram, data + 8, size - 8 < RAM ? size - 8 : RAM);
    struct guestmem gm = {ram, RAM};
    uint32_t qsize = 1u << (data[0] % 16);            /* 1..32768: large ones do not fit */
    bool event_idx = data[1] & 1, indirect = data[1] & 2;
    uint64_t desc = (uint64_t)(data[2] & 0x3F) << 10 | (data[1] >> 4);   /* sometimes misaligned */
    uint64_t avail = (uint64_t)data[3] << 8 | (data[1] >> 6 & 1);
    uint64_t used = (uint64_t)data[4] << 8 | (data[1] >> 7 ? 2 : 0);
    uint32_t cap = 1 + data[5] % 64;
    struct vq q;
    if (vq_setup(&q, &gm, qsize, desc, avail, used, event_idx, indirect) < 0)
        return 0;
    q.last_avail = q.used_idx = (uint16_t)(data[6] | data[7] << 8);
    struct vq_seg segs[64];
    for (int i = 0; i < 64; i++) {
        struct vq_chain c;
        int r = vq_pop(&q, &c, segs, cap);
        if (r < 0)
            break;
        if (r == 0) {
            if (!vq_enable_notify(&q))
                break;
            continue;
        }
        CHECK(c.head < qsize && c.nseg <= cap && c.nread <= c.nseg);
        CHECK(c.read_len + c.write_len <= VQ_MAX_TOTAL);
        uint64_t rl = 0, wl = 0;
        for (uint32_t s = 0; s < c.nseg; s++) {
            CHECK(segs[s].len > 0 && gm_ptr(&gm, segs[s].gpa, segs[s].len));
            CHECK(segs[s].write == (s >= c.nread));
            *(segs[s].write ? &wl : &rl) += segs[s].len;
        }
        CHECK(rl == c.read_len && wl == c.write_len);
        CHECK(vq_push(&q, c.head, (uint32_t)c.write_len) == 0);
        (void)vq_should_notify(&q);
    }
    return 0;
}
