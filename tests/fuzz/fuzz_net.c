/* libFuzzer target: virtio-net transmit and receive, through the switch.
 * A driver brings the device up (queue sizes and features from the
 * input), then the first part of the input becomes guest RAM (both rings,
 * descriptors, headers, frames; its length in 64-byte units in the header) and the transmit queue is kicked: every transmitted
 * frame goes into a vswitch (the device is a vif on VLAN 0 or 7 with a
 * fixed MAC, beside another vif and an uplink). Then frames cut from the
 * rest of the input (16-bit big-endian length, bytes) arrive on the uplink and are delivered to the device's receive
 * buffers. Nothing may leave guest RAM (ASan: RAM is exactly the buffer),
 * delivered frames must be within bounds, and a spoofed source never
 * reaches another port. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dom0/virtio/net_backend.h"
#include "dom0/virtio/vswitch.h"
#include "tests/unit/test_virtio_drv.h"

#define RAM (256u * 1024)
#define TX_DESC 0x3000u
#define TX_AVAIL 0x4000u
#define TX_USED 0x5000u
#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static const uint8_t MAC[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x01};
static const uint8_t OTHER[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x02};

static uint8_t *ram;
static struct vnet_dev vn;
static struct vswitch sw;
static int vif_port, other_port, up_port;
static unsigned passes;
static bool in_tx;     /* inside the device's transmit path */

static void on_tx(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    CHECK(len >= VNET_ETH_MIN && len <= VNET_FRAME_MAX);
    in_tx = true;
    vsw_input(&sw, vif_port, frame, len, passes);
    in_tx = false;
}

static int to_vif(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    return vnet_rx(&vn, frame, len);
}

static int to_sink(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    CHECK(len >= 14 && len <= VSW_FRAME_MAX);
    volatile uint8_t x = frame[len - 1];
    (void)x;
    /* Anything from the vif carries its own MAC (anti-spoofing). */
    CHECK(!in_tx || memcmp(frame + 6, MAC, 6) == 0);
    return 0;
}

static int to_other(void *ctx, const uint8_t *frame, size_t len)
{
    return to_sink(ctx, frame, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    if (!ram)
        ram = malloc(RAM);
    passes++;
    struct guestmem gm = {ram, RAM};
    memset(ram, 0, RAM);
    uint16_t vlan = (data[0] & 0x10) ? 7 : 0;
    vsw_init(&sw, "fuzz");
    vif_port = vsw_add_port(&sw, "vif", false, MAC, vlan, to_vif, NULL);
    other_port = vsw_add_port(&sw, "other", false, OTHER, vlan, to_other, NULL);
    up_port = vsw_add_port(&sw, "up", true, NULL, 0, to_sink, NULL);
    CHECK(vif_port >= 0 && other_port >= 0 && up_port >= 0);
    CHECK(vnet_create(&vn, &gm, MAC) == 0);
    vnet_set_tx(&vn, on_tx, NULL);
    uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
    if (data[0] & 0x40)
        want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    if (data[0] & 0x20)
        want |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    struct tdrv rx, tx;
    CHECK(tdrv_negotiate(&rx, &vn.mmio, &gm, want));
    tx = rx;
    tdrv_queue(&rx, VNET_RXQ, 1u << (data[1] % 9), T_DESC, T_AVAIL, T_USED);
    tdrv_queue(&tx, VNET_TXQ, 1u << (data[2] % 9), TX_DESC, TX_AVAIL, TX_USED);
    tdrv_driver_ok(&rx);
    CHECK(vmmio_live(&vn.mmio));
    unsigned nframes = data[3] & 15;
    size_t img = ((size_t)data[4] | (size_t)data[5] << 8) * 64;
    data += 6;
    size -= 6;
    if (img > size)
        img = size;
    if (img > RAM)
        img = RAM;
    memcpy(ram, data, img);
    for (int i = 0; i < 3; i++)
        if (vnet_notify(&vn, VNET_TXQ) == 0)
            break;
    /* Frames from outside, cut from the end of the input. */
    const uint8_t *p = data + img;
    size_t left = size - img;
    if (left == 0) {
        p = data;
        left = size;
    }
    for (unsigned i = 0; i < nframes && left >= 2; i++) {
        size_t len = ((size_t)p[0] << 8 | p[1]) % (VSW_FRAME_MAX + 8);
        p += 2;
        left -= 2;
        if (len > left)
            len = left;
        vsw_input(&sw, up_port, p, len, passes);
        p += len;
        left -= len;
    }
    vnet_notify(&vn, VNET_RXQ);
    return 0;
}
