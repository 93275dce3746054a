/* libFuzzer target: sequences of virtio-mmio register accesses (and guest
 * RAM stores, so the fuzzer can build rings) against a virtio-blk device.
 * Each 12-byte record: op, offset (2), size, value (8). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_virtio_drv.h"

#define RAM 65536u

static uint8_t ram[RAM];
static struct vblk_dev vb;

static void irq(void *ctx, uint32_t status)
{
    (void)status;
    (*(unsigned *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fakedisk disk;
    if (!disk.data)
        fakedisk_init(&disk, "disk0", 64);
    memset(ram, 0, RAM);
    struct guestmem gm = {ram, RAM};
    unsigned irqs = 0;
    if (vblk_create(&vb, &gm, &disk.b, 0, 64, size & 1) != 0)
        __builtin_trap();
    vblk_set_irq(&vb, irq, &irqs);
    static const unsigned sizes[4] = {1, 2, 4, 8};
    for (size_t i = 0; i + 12 <= size; i += 12) {
        const uint8_t *r = data + i;
        uint64_t off = (r[1] | r[2] << 8) % 0x240;
        unsigned sz = sizes[r[3] & 3];
        uint64_t v;
        memcpy(&v, r + 4, 8);
        switch (r[0] % 4) {
        case 0:
            (void)vblk_mmio_read(&vb, off, sz);
            break;
        case 1:
            vblk_mmio_write(&vb, off, sz, v);
            break;
        case 2: {                    /* guest stores 8 bytes */
            uint64_t a = ((uint64_t)(r[1] | r[2] << 8) << 3) % (RAM - 8);
            memcpy(ram + a, &v, 8);
            break;
        }
        default:
            (void)vblk_notify(&vb, r[1] & 1);
            break;
        }
    }
    return 0;
}
