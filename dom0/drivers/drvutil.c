/* Pure helpers of the dom0 drivers (see drvutil.h). */
#include "dom0/drivers/drvutil.h"

int pci_bar_decode(uint32_t lo, uint32_t hi, uint32_t size_lo, uint32_t size_hi,
                   struct pci_bar *out)
{
    out->base = out->size = 0;
    out->io = out->is64 = out->prefetch = false;
    if (lo & 1u) {
        out->io = true;
        out->base = lo & ~3u;
        uint32_t mask = size_lo & ~3u;
        if (mask == 0)
            return 1;
        /* Many devices implement only 16 address bits for I/O. */
        if ((mask & 0xFFFF0000u) == 0)
            mask |= 0xFFFF0000u;
        out->size = (uint32_t)(~mask + 1u);
        return 1;
    }
    unsigned type = (lo >> 1) & 3u;
    if (type == 3)
        return 0;
    out->prefetch = (lo & 8u) != 0;
    uint64_t mask;
    if (type == 2) {
        out->is64 = true;
        out->base = ((uint64_t)hi << 32) | (lo & ~0xFull);
        mask = ((uint64_t)size_hi << 32) | (size_lo & ~0xFull);
    } else {
        out->base = lo & ~0xFull;
        mask = size_lo & ~0xFull;
        if (mask)
            mask |= 0xFFFFFFFF00000000ull;
    }
    out->size = mask ? ~mask + 1 : 0;
    return type == 2 ? 2 : 1;
}

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

void vq_layout_compute(uint16_t qsize, struct vq_layout *l)
{
    l->desc = 0;
    l->avail = 16u * qsize;
    /* flags, idx, ring[qsize], used_event */
    l->used = align_up(l->avail + 2u * (3u + qsize), VQ_ALIGN);
    /* flags, idx, ring[qsize] of {id, len}, avail_event */
    l->total = align_up(l->used + 6u + 8u * qsize, VQ_ALIGN);
}

bool vq_size_valid(uint16_t qsize)
{
    return qsize != 0 && (qsize & (qsize - 1u)) == 0;
}

static void put16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get16be(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define ETHERTYPE_ARP 0x0806u

size_t arp_build_request(uint8_t *f, const uint8_t mac[6], uint32_t src_ip, uint32_t target_ip)
{
    for (size_t i = 0; i < ARP_FRAME_LEN; i++)
        f[i] = 0;
    for (int i = 0; i < 6; i++) {
        f[i] = 0xFF;             /* broadcast */
        f[6 + i] = mac[i];
        f[22 + i] = mac[i];      /* sender hardware address */
    }
    put16be(f + 12, ETHERTYPE_ARP);
    put16be(f + 14, 1);          /* hardware: Ethernet */
    put16be(f + 16, 0x0800);     /* protocol: IPv4 */
    f[18] = 6;
    f[19] = 4;
    put16be(f + 20, 1);          /* request */
    put32be(f + 28, src_ip);
    /* target hardware address (32..37) stays zero */
    put32be(f + 38, target_ip);
    return ARP_FRAME_LEN;
}

bool arp_parse_reply(const uint8_t *f, size_t len, uint32_t target_ip, uint32_t src_ip,
                     uint8_t mac_out[6])
{
    if (len < 42)
        return false;
    if (get16be(f + 12) != ETHERTYPE_ARP || get16be(f + 14) != 1 || get16be(f + 16) != 0x0800 ||
        f[18] != 6 || f[19] != 4 || get16be(f + 20) != 2)
        return false;
    if (get32be(f + 28) != target_ip || get32be(f + 38) != src_ip)
        return false;
    for (int i = 0; i < 6; i++)
        mac_out[i] = f[22 + i];
    return true;
}

uint64_t fnv1a64(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (!s || !*s)
        return false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!*s)
            return false;
    }
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

bool parse_ipv4(const char *s, uint32_t *out)
{
    uint32_t ip = 0;
    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (unsigned)(*s - '0');
            if (++digits > 3 || v > 255)
                return false;
            s++;
        }
        if (digits == 0)
            return false;
        ip = ip << 8 | v;
        if (part < 3) {
            if (*s != '.')
                return false;
            s++;
        }
    }
    if (*s)
        return false;
    *out = ip;
    return true;
}
