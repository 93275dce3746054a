/* Pure helpers of the dom0 drivers: no hardware access, no kernel
 * services, so tests/unit builds them on the host. */
#ifndef DOM0_DRIVERS_DRVUTIL_H
#define DOM0_DRIVERS_DRVUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- PCI base address registers ---- */
struct pci_bar {
    uint64_t base;      /* 0: not implemented / not assigned */
    uint64_t size;      /* 0: not implemented */
    bool io;            /* I/O space (else memory) */
    bool is64;          /* 64-bit memory BAR (uses the next BAR slot too) */
    bool prefetch;
};

/* Decode one BAR from its value (lo, and hi for the upper half of a 64-bit
 * memory BAR) and what reads back after writing all ones (size_lo,
 * size_hi). hi and size_hi are ignored unless lo says 64-bit. Returns the
 * number of BAR slots used (1 or 2), or 0 for a reserved memory type. */
int pci_bar_decode(uint32_t lo, uint32_t hi, uint32_t size_lo, uint32_t size_hi,
                   struct pci_bar *out);

/* ---- legacy virtio split virtqueue layout ---- */
#define VQ_ALIGN 4096u
/* Offsets and total size of a legacy virtqueue of qsize entries:
 * descriptors at 0, available ring right after, used ring at the next
 * VQ_ALIGN boundary. */
struct vq_layout {
    size_t desc, avail, used, total;
};
void vq_layout_compute(uint16_t qsize, struct vq_layout *l);
/* Number of entries the device added to the used ring since the driver
 * last looked (indices are free-running 16-bit counters). */
static inline uint16_t vq_pending(uint16_t used_idx, uint16_t last_seen)
{
    return (uint16_t)(used_idx - last_seen);
}
/* Ring slot of a free-running index (qsize a power of two). */
static inline uint16_t vq_slot(uint16_t idx, uint16_t qsize)
{
    return (uint16_t)(idx & (qsize - 1u));
}
bool vq_size_valid(uint16_t qsize);

/* ---- ARP over Ethernet ---- */
#define ARP_FRAME_LEN 60    /* 42 bytes of request, padded to the minimum frame */
/* Build a broadcast ARP request "who has target_ip, tell src_ip" from mac
 * into frame (at least ARP_FRAME_LEN bytes). IPv4 addresses are in host
 * order (10.0.2.2 = 0x0A000202). Returns the frame length. */
size_t arp_build_request(uint8_t *frame, const uint8_t mac[6], uint32_t src_ip, uint32_t target_ip);
/* true if frame is an ARP reply from target_ip addressed to src_ip; then
 * the replying MAC is copied to mac_out. */
bool arp_parse_reply(const uint8_t *frame, size_t len, uint32_t target_ip, uint32_t src_ip,
                     uint8_t mac_out[6]);

/* ---- checksums and parsing ---- */
#define FNV1A64_INIT 0xcbf29ce484222325ull
uint64_t fnv1a64(uint64_t h, const void *data, size_t len);

/* Decimal or 0x-prefixed hexadecimal, the whole string, no overflow. */
bool parse_u64(const char *s, uint64_t *out);
/* Dotted quad "a.b.c.d" into host order. */
bool parse_ipv4(const char *s, uint32_t *out);

#endif
