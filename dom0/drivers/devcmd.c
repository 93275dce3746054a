/* Shell commands of the device drivers: lspci, blk, net. */
#include "dom0/drivers/dev.h"
#include "dom0/drivers/drivers.h"
#include "dom0/drivers/drvutil.h"
#include "dom0/kernel/dom0.h"
#include "dom0/kernel/shell.h"

#define CMD_BUF_SECTORS 128u      /* 64 KiB working buffer */
#define ARP_TIMEOUT_US 2000000u

static uint8_t *cmd_buf;

static uint8_t *get_buf(void)
{
    if (!cmd_buf)
        cmd_buf = kalloc(CMD_BUF_SECTORS * BLK_SECTOR, 4096);
    if (!cmd_buf)
        kprintf("out of memory\n");
    return cmd_buf;
}

static void print_irq_line(unsigned irq, uint64_t count, uint64_t unclaimed)
{
    kprintf("irq %u: %llu interrupts, %llu unclaimed\n", irq, (unsigned long long)count,
            (unsigned long long)unclaimed);
}

static int cmd_lspci(int argc, char **argv)
{
    bool verbose = argc == 2 && strcmp(argv[1], "-v") == 0;
    if (argc != 1 && !verbose) {
        kprintf("usage: lspci [-v]\n");
        return 1;
    }
    for (unsigned i = 0; i < pci_count(); i++) {
        pci_print(pci_get(i));
        if (verbose)
            pci_print_caps(pci_get(i));
    }
    kprintf("%u functions\n", pci_count());
    drv_irq_stats(print_irq_line);
    return 0;
}

/* ---- blk ---- */
static void list_disks(void)
{
    if (!blkdev_count())
        kprintf("no block devices\n");
    for (unsigned i = 0; i < blkdev_count(); i++) {
        struct blkdev *b = blkdev_get(i);
        kprintf("%s: %s, %llu sectors (%llu MiB)%s\n", b->name, b->driver,
                (unsigned long long)b->sectors, (unsigned long long)(b->sectors >> 11),
                b->read_only ? ", read-only" : "");
    }
}

static bool arg_u64(const char *cmd, const char *what, const char *s, uint64_t *v)
{
    if (!parse_u64(s, v)) {
        kprintf("%s: bad %s '%s' (decimal or 0x hex)\n", cmd, what, s);
        return false;
    }
    return true;
}

static bool blk_range(struct blkdev *b, uint64_t lba, uint64_t count)
{
    if (count == 0) {
        kprintf("blk: count must be at least 1\n");
        return false;
    }
    if (lba >= b->sectors || count > b->sectors - lba) {
        kprintf("blk: sectors %llu..%llu beyond the end of %s (%llu sectors)\n",
                (unsigned long long)lba, (unsigned long long)(lba + count - 1), b->name,
                (unsigned long long)b->sectors);
        return false;
    }
    return true;
}

static void hexdump(const uint8_t *p, unsigned len)
{
    for (unsigned off = 0; off < len; off += 16) {
        char line[96];
        size_t n = (size_t)ksnprintf(line, sizeof line, "%04x:", off);
        for (unsigned i = 0; i < 16; i++)
            n += (size_t)ksnprintf(line + n, sizeof line - n, " %02x", p[off + i]);
        n += (size_t)ksnprintf(line + n, sizeof line - n, "  ");
        for (unsigned i = 0; i < 16 && n + 1 < sizeof line; i++) {
            uint8_t c = p[off + i];
            line[n++] = (c >= 32 && c < 127) ? (char)c : '.';
        }
        line[n] = 0;
        kprintf("%s\n", line);
    }
}

static int blk_err(struct blkdev *b, const char *what, int r)
{
    kprintf("%s: %s failed (%d)\n", b->name, what, r);
    return 1;
}

/* blk <disk> bench seq|rand <count> [<first> <sectors>]: <count> reads of
 * BENCH_BYTES, one at a time, inside sectors [first, first + sectors) (the
 * whole disk by default): in order from first (wrapping), or at
 * BENCH_BYTES-aligned offsets from xorshift64 with a fixed seed (the same
 * sequence as tests/guests/vblkbench.c). Timed with time_ns(). */
#define BENCH_BYTES 4096u
#define BENCH_SECTORS (BENCH_BYTES / BLK_SECTOR)
#define BENCH_SEED 0x9E3779B97F4A7C15ull

static int blk_bench(struct blkdev *b, int argc, char **argv, uint8_t *buf)
{
    uint64_t count, first = 0, sectors = b->sectors;
    bool rnd = argc >= 4 && strcmp(argv[3], "rand") == 0;
    if ((argc != 5 && argc != 7) || (!rnd && strcmp(argv[3], "seq") != 0)) {
        kprintf("usage: blk <disk> bench seq|rand <count> [<first> <sectors>]\n");
        return 1;
    }
    if (!arg_u64("blk", "count", argv[4], &count) ||
        (argc == 7 && (!arg_u64("blk", "first", argv[5], &first) || !arg_u64("blk", "sectors", argv[6], &sectors))) ||
        !blk_range(b, first, sectors))
        return 1;
    uint64_t slots = sectors / BENCH_SECTORS;
    if (count == 0 || slots == 0) {
        kprintf("blk: bench needs a count and at least %u sectors\n", BENCH_SECTORS);
        return 1;
    }
    uint64_t x = BENCH_SEED, bytes = 0, t0 = time_ns();
    for (uint64_t i = 0; i < count; i++) {
        uint64_t slot = i % slots;
        if (rnd) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            slot = x % slots;
        }
        int r = b->read(b, first + slot * BENCH_SECTORS, BENCH_SECTORS, buf);
        if (r)
            return blk_err(b, "read", r);
        bytes += BENCH_BYTES;
    }
    uint64_t ns = time_ns() - t0;
    kprintf("%s: bench %s: requests=%llu bytes=%llu elapsed_ns=%llu (%llu KiB/s, %u-byte reads in sectors "
            "%llu+%llu)\n",
            b->name, rnd ? "rand" : "seq", (unsigned long long)count, (unsigned long long)bytes,
            (unsigned long long)ns, (unsigned long long)(ns ? bytes / 1024 * 1000000000ull / ns : 0), BENCH_BYTES,
            (unsigned long long)first, (unsigned long long)sectors);
    return 0;
}

static int cmd_blk(int argc, char **argv)
{
    if (argc == 1) {
        list_disks();
        return 0;
    }
    if (argc < 3) {
        kprintf("usage: blk <disk> info|read <lba> [count]|write <lba> <count> <byte>|"
                "sum <lba> <count>|flush|bench seq|rand <count> [<first> <sectors>]\n");
        return 1;
    }
    struct blkdev *b = blkdev_find(argv[1]);
    if (!b) {
        kprintf("blk: no block device '%s'\n", argv[1]);
        list_disks();
        return 1;
    }
    const char *op = argv[2];
    uint64_t lba = 0, count = 1, byte = 0;
    if (strcmp(op, "info") == 0) {
        if (argc != 3) {
            kprintf("usage: blk <disk> info\n");
            return 1;
        }
        kprintf("%s: driver %s, %llu sectors of %u bytes (%llu MiB), %s, %llu interrupts\n",
                b->name, b->driver, (unsigned long long)b->sectors, BLK_SECTOR,
                (unsigned long long)(b->sectors >> 11), b->read_only ? "read-only" : "read-write",
                (unsigned long long)b->irqs);
        return 0;
    }
    if (strcmp(op, "flush") == 0) {
        if (argc != 3) {
            kprintf("usage: blk <disk> flush\n");
            return 1;
        }
        int r = b->flush(b);
        if (r)
            return blk_err(b, "flush", r);
        kprintf("%s: flushed\n", b->name);
        return 0;
    }
    uint8_t *buf = get_buf();
    if (!buf)
        return 1;
    if (strcmp(op, "read") == 0) {
        if (argc != 4 && argc != 5) {
            kprintf("usage: blk <disk> read <lba> [count]\n");
            return 1;
        }
        if (!arg_u64("blk", "lba", argv[3], &lba) ||
            (argc == 5 && !arg_u64("blk", "count", argv[4], &count)) || !blk_range(b, lba, count))
            return 1;
        uint64_t t0 = time_ns();
        for (uint64_t done = 0; done < count;) {
            uint32_t n = (uint32_t)(count - done < CMD_BUF_SECTORS ? count - done : CMD_BUF_SECTORS);
            int r = b->read(b, lba + done, n, buf);
            if (r)
                return blk_err(b, "read", r);
            if (done == 0)
                hexdump(buf, BLK_SECTOR);
            done += n;
        }
        kprintf("%s: read %llu sector(s) at %llu in %llu us\n", b->name, (unsigned long long)count,
                (unsigned long long)lba, (unsigned long long)((time_ns() - t0) / 1000));
        return 0;
    }
    if (strcmp(op, "write") == 0) {
        if (argc != 6) {
            kprintf("usage: blk <disk> write <lba> <count> <byte>\n");
            return 1;
        }
        if (!arg_u64("blk", "lba", argv[3], &lba) || !arg_u64("blk", "count", argv[4], &count) ||
            !arg_u64("blk", "byte", argv[5], &byte))
            return 1;
        if (byte > 255) {
            kprintf("blk: byte must be 0..255\n");
            return 1;
        }
        if (!blk_range(b, lba, count))
            return 1;
        if (b->read_only) {
            kprintf("%s: read-only\n", b->name);
            return 1;
        }
        memset(buf, (int)byte, CMD_BUF_SECTORS * BLK_SECTOR);
        uint64_t t0 = time_ns();
        for (uint64_t done = 0; done < count;) {
            uint32_t n = (uint32_t)(count - done < CMD_BUF_SECTORS ? count - done : CMD_BUF_SECTORS);
            int r = b->write(b, lba + done, n, buf);
            if (r)
                return blk_err(b, "write", r);
            done += n;
        }
        kprintf("%s: wrote %llu sector(s) of 0x%02x at %llu in %llu us\n", b->name,
                (unsigned long long)count, (unsigned)byte, (unsigned long long)lba,
                (unsigned long long)((time_ns() - t0) / 1000));
        return 0;
    }
    if (strcmp(op, "sum") == 0) {
        if (argc != 5) {
            kprintf("usage: blk <disk> sum <lba> <count>\n");
            return 1;
        }
        if (!arg_u64("blk", "lba", argv[3], &lba) || !arg_u64("blk", "count", argv[4], &count) ||
            !blk_range(b, lba, count))
            return 1;
        uint64_t h = FNV1A64_INIT, t0 = time_ns();
        for (uint64_t done = 0; done < count;) {
            uint32_t n = (uint32_t)(count - done < CMD_BUF_SECTORS ? count - done : CMD_BUF_SECTORS);
            int r = b->read(b, lba + done, n, buf);
            if (r)
                return blk_err(b, "read", r);
            h = fnv1a64(h, buf, (size_t)n * BLK_SECTOR);
            done += n;
        }
        kprintf("%s: fnv1a64 %016llx over %llu sector(s) at %llu (%llu us)\n", b->name,
                (unsigned long long)h, (unsigned long long)count, (unsigned long long)lba,
                (unsigned long long)((time_ns() - t0) / 1000));
        return 0;
    }
    if (strcmp(op, "bench") == 0)
        return blk_bench(b, argc, argv, buf);
    kprintf("blk: unknown operation '%s' (info, read, write, sum, flush, bench)\n", op);
    return 1;
}

/* ---- net ---- */
static void list_nics(void)
{
    if (!netdev_count())
        kprintf("no network devices\n");
    for (unsigned i = 0; i < netdev_count(); i++) {
        struct netdev *n = netdev_get(i);
        kprintf("%s: %s, mac %02x:%02x:%02x:%02x:%02x:%02x, link %s\n", n->name, n->driver,
                n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
                n->link_up ? "up" : "down");
    }
}

struct arp_wait {
    struct netdev *n;
    uint32_t target, src;
    uint8_t mac[6];
    uint8_t frame[1536];
    unsigned seen;
};

static bool arp_reply_seen(void *arg)
{
    struct arp_wait *w = arg;
    int len;
    while ((len = w->n->recv(w->n, w->frame, sizeof w->frame)) != 0) {
        if (len < 0)
            continue;
        w->seen++;
        if (arp_parse_reply(w->frame, (size_t)len, w->target, w->src, w->mac))
            return true;
    }
    return false;
}

static void ip_str(char *buf, size_t len, uint32_t ip)
{
    ksnprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static int net_arp(struct netdev *n, int argc, char **argv)
{
    uint32_t target, src = 0x0A00020Fu;     /* 10.0.2.15, QEMU user networking */
    if (argc != 4 && argc != 5) {
        kprintf("usage: net <nic> arp <ipv4> [src-ipv4]\n");
        return 1;
    }
    if (!parse_ipv4(argv[3], &target)) {
        kprintf("net: bad IPv4 address '%s'\n", argv[3]);
        return 1;
    }
    if (argc == 5 && !parse_ipv4(argv[4], &src)) {
        kprintf("net: bad source IPv4 address '%s'\n", argv[4]);
        return 1;
    }
    static struct arp_wait wait; /* kalloc'd memory is never freed: not one per call */
    struct arp_wait *w = &wait;
    *w = (struct arp_wait){ 0 };
    w->n = n;
    w->target = target;
    w->src = src;
    /* Drop whatever was waiting. */
    while (n->recv(n, w->frame, sizeof w->frame) != 0)
        ;
    uint8_t req[ARP_FRAME_LEN];
    size_t len = arp_build_request(req, n->mac, src, target);
    int r = n->send(n, req, len);
    if (r) {
        kprintf("%s: send failed (%d)\n", n->name, r);
        return 1;
    }
    char tip[16], sip[16];
    ip_str(tip, sizeof tip, target);
    ip_str(sip, sizeof sip, src);
    uint64_t t0 = time_ns();
    if (!wait_until(arp_reply_seen, w, ARP_TIMEOUT_US)) {
        kprintf("%s: no ARP reply from %s (src %s) within 2 s, %u other frame(s)\n", n->name, tip,
                sip, w->seen);
        return 1;
    }
    kprintf("%s: %s is at %02x:%02x:%02x:%02x:%02x:%02x (%llu us)\n", n->name, tip, w->mac[0],
            w->mac[1], w->mac[2], w->mac[3], w->mac[4], w->mac[5],
            (unsigned long long)((time_ns() - t0) / 1000));
    return 0;
}

static int cmd_net(int argc, char **argv)
{
    if (argc == 1) {
        list_nics();
        return 0;
    }
    if (argc < 3) {
        kprintf("usage: net <nic> info|arp <ipv4> [src-ipv4]|stats\n");
        return 1;
    }
    struct netdev *n = netdev_find(argv[1]);
    if (!n) {
        kprintf("net: no network device '%s'\n", argv[1]);
        list_nics();
        return 1;
    }
    const char *op = argv[2];
    if (strcmp(op, "arp") == 0)
        return net_arp(n, argc, argv);
    if (strcmp(op, "info") == 0 || strcmp(op, "stats") == 0) {
        if (argc != 3) {
            kprintf("usage: net <nic> %s\n", op);
            return 1;
        }
        if (op[0] == 'i')
            kprintf("%s: driver %s, mac %02x:%02x:%02x:%02x:%02x:%02x, link %s\n", n->name,
                    n->driver, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
                    n->link_up ? "up" : "down");
        else
            kprintf("%s: tx %llu frames, rx %llu frames, %llu interrupts\n", n->name,
                    (unsigned long long)n->tx_frames, (unsigned long long)n->rx_frames,
                    (unsigned long long)n->irqs);
        return 0;
    }
    kprintf("net: unknown operation '%s' (info, arp, stats)\n", op);
    return 1;
}

const struct shell_cmd driver_shell_cmds[] = {
    { "lspci", "lspci [-v]", "list PCI functions (-v: interrupt pins, capabilities) and interrupt lines", cmd_lspci },
    { "blk", "blk [<disk> info|read <lba> [count]|write <lba> <count> <byte>|sum <lba> <count>|flush|"
      "bench seq|rand <count> [<first> <sectors>]]",
      "block devices: list, inspect, read (hex dump), write, FNV-1a checksum, flush, 4 KiB read benchmark", cmd_blk },
    { "net", "net [<nic> info|arp <ipv4> [src-ipv4]|stats]",
      "network devices: list, inspect, ARP request/reply test, counters", cmd_net },
};
const unsigned driver_shell_cmd_count = sizeof driver_shell_cmds / sizeof driver_shell_cmds[0];
