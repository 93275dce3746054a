/* libFuzzer target: the virtio-console backend. A driver brings the device
 * up (queue sizes and features from the input), then the rest of the input
 * becomes guest RAM (both rings, descriptors, buffers) and the device is
 * driven through transmit and receive notifies, dom0 input and emergency
 * writes. The output ring and the input queue must stay consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dom0/virtio/console_backend.h"
#include "tests/unit/test_virtio_drv.h"

#define RAM (256u * 1024)
#define TX_DESC 0xA000u
#define TX_AVAIL 0xB000u
#define TX_USED 0xC000u
#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static uint8_t ram[RAM];
static struct vcons_dev vc;

static void consistent(void)
{
    CHECK(vc.out_pos == vc.tx_bytes + vc.emerg_bytes);
    CHECK(vc.in_len <= VCONS_IN_SIZE && vc.in_head < VCONS_IN_SIZE);
    CHECK(vc.in_bytes == vc.rx_bytes + vc.in_len);
    CHECK(vcons_out_pos(&vc) - vcons_out_start(&vc) <= VCONS_OUT_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t flags = data[0];
    uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE);
    if (flags & 1)
        want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    if (flags & 2)
        want |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    struct guestmem gm = {ram, RAM};
    memset(ram, 0, RAM);
    CHECK(vcons_create(&vc, &gm) == 0);
    struct tdrv rx, tx;
    CHECK(tdrv_negotiate(&rx, &vc.mmio, &gm, want));
    tx = rx;
    tdrv_queue(&rx, VCONS_RXQ, 1u << (data[1] % 7), T_DESC, T_AVAIL, T_USED);        /* 1..64 */
    tdrv_queue(&tx, VCONS_TXQ, 1u << ((data[1] >> 4) % 7), TX_DESC, TX_AVAIL, TX_USED);
    tdrv_driver_ok(&rx);
    CHECK(vmmio_live(&vc.mmio));
    memcpy(ram, data + 3, size - 3 < RAM ? size - 3 : RAM);

    static const char typed[] = "typed input\r";
    static uint8_t big[VCONS_IN_SIZE + 64];
    for (unsigned round = 0; round < 3; round++) {
        if (flags & 4)
            vcons_input(&vc, typed, sizeof typed - 1);
        if (flags & 8 && round == 1)
            vcons_input(&vc, big, (size_t)data[2] * 17 + (data[2] & 1) * VCONS_IN_SIZE);
        consistent();
        while (vcons_notify(&vc, VCONS_TXQ) > 0)
            ;
        consistent();
        vcons_notify(&vc, VCONS_RXQ);
        consistent();
        if (flags & 16)
            vcons_mmio_write(&vc, VMMIO_CONFIG + VIRTIO_CONSOLE_CFG_EMERG_WR, 4, 'e');
        /* The driver may have moved its indices: a fresh look each round. */
        if (flags & 32 && round == 1) {
            vcons_mmio_write(&vc, VMMIO_STATUS, 4, 0);   /* reset: input and output survive */
            consistent();
        }
    }
    /* Readers anywhere: never more than what is kept, never past the end. */
    static uint8_t out[VCONS_OUT_SIZE + 8];
    uint64_t pos = data[2] * 1000ull, lost = 0;
    size_t n = vcons_out_read(&vc, &pos, out, sizeof out, &lost);
    CHECK(n <= VCONS_OUT_SIZE && pos == vcons_out_pos(&vc));
    CHECK(n == vcons_out_pos(&vc) - (data[2] * 1000ull > vcons_out_pos(&vc) ? vcons_out_pos(&vc)
                                     : data[2] * 1000ull < vcons_out_start(&vc) ? vcons_out_start(&vc)
                                                                                : data[2] * 1000ull));
    return 0;
}
