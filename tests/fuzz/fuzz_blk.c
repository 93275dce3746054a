/* libFuzzer target: virtio-blk request processing. A driver brings the
 * device up (queue size from the input), then the input becomes guest RAM
 * (rings, descriptors, headers, data) and the queue is kicked. The disk
 * region is sectors [8, 40) of a 48-sector disk; the guard sectors must
 * never change, nor anything of a read-only device. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_virtio_drv.h"

#define RAM (256u * 1024)
#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static uint8_t ram[RAM];
static struct vblk_dev vb;
static uint8_t guard[48 * 512];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static struct fakedisk disk;
    if (!disk.data)
        fakedisk_init(&disk, "disk0", 48);
    memcpy(guard, disk.data, sizeof guard);
    bool ro = data[0] & 0x80;
    uint64_t want = TBLK_FEATURES | (data[0] & 0x40 ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
    if (data[0] & 0x20)
        want &= ~VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    disk.fail = (data[0] & 0x1F) == 0x1F;
    struct guestmem gm = {ram, RAM};
    memset(ram, 0, RAM);
    CHECK(vblk_create(&vb, &gm, &disk.b, 8, 32, ro) == 0);
    struct tdrv t;
    uint32_t qsize = 1u << (data[1] % 9);    /* 1..256 */
    CHECK(tdrv_up(&t, &vb.mmio, &gm, want, qsize));
    memcpy(ram, data + 2, size - 2 < RAM ? size - 2 : RAM);
    for (int i = 0; i < 3; i++)
        if (vblk_notify(&vb, 0) == 0)
            break;
    CHECK(memcmp(disk.data, guard, 8 * 512) == 0);
    CHECK(memcmp(disk.data + 40 * 512, guard + 40 * 512, 8 * 512) == 0);
    if (ro)
        CHECK(memcmp(disk.data, guard, sizeof guard) == 0);
    return 0;
}
