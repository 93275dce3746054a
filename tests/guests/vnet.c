/* SPDX-License-Identifier: MIT */
/*
 * virtio-net frontend test (tests/guests/lib/virtio.h) against dom0's
 * virtual switch (docs/vswitch.md). The mode comes from the command line
 * (start information; the first word is the image name):
 *
 *   vnet pong [count=N]         answer N pings (EtherType 0x88B5), then expect a "bye"
 *   vnet ping [count=N]         send N pings, each answered by a pong with the same
 *                               sequence number and the payload inverted; the payload
 *                               length varies 46..1489 bytes. Before "bye", one frame
 *                               with a forged source MAC (the switch must drop it: the
 *                               pong side fails if it ever sees it).
 *   vnet udp-echo HOST PORT [ip=A.B.C.D] [count=N]
 *                               ARP for the gateway 10.0.2.2, then N UDP datagrams to
 *                               HOST:PORT, each echoed back (QEMU user networking
 *                               forwards 10.0.2.2:PORT to the host's 127.0.0.1:PORT)
 *   vnet vlan-send id=V [count=N]  N broadcasts saying "from VLAN V", then an end frame
 *   vnet vlan-listen want=V     take broadcasts until an end frame from V's sender:
 *                               every frame must say V (none may come from another VLAN)
 *   vnet rtt [count=N] [size=S] ping-pong benchmark against a "pong" peer: one ping to learn
 *                               the peer's MAC, then N round trips of S-byte frames
 *                               (default 64) timed with the TSC; prints the mean round-trip
 *                               time, and this vCPU's VM exits (HC_EXIT_STATS), device
 *                               interrupts and notifications per round trip; then "bye"
 *   vnet sink [window=W]        stream receiver: answers pings (so the sender learns its MAC),
 *                               counts data frames from the first to an end frame, answers the
 *                               end frame with its count; with window=W, a credit (its count)
 *                               to the sender every W/2 frames; prints frames/s, bytes/s and its
 *                               exits and interrupts per frame received
 *   vnet stream [count=N] [size=S] [window=W]
 *                               stream sender: finds the sink, sends N data frames of S bytes
 *                               (default 1514) back to back, then an end frame until the sink
 *                               answers; prints its offered rate and exits per frame sent.
 *                               window=W: at most W frames beyond the sink's last credit (the
 *                               sink sends one every W/2 frames; a credit not seen within
 *                               200 ms opens the window again and counts a stall), so the
 *                               sink's 32 receive buffers do not overflow
 *   timeout-ms=N                per wait (default 20000)
 * Times are guest TSC time (start information's tsc_khz); under -icount
 * they are instruction counts, not host time.
 */
#include "guest.h"
#include "virtio.h"

#include <plinth/hypercall.h>
#include <plinth/start_info.h>

GUEST("vnet");

#define ETH_P_TEST 0x88B5   /* IEEE 802 local experimental */
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define MAGIC 0x544e4c50u   /* "PLNT" */
enum { T_PING = 1, T_PONG, T_BYE, T_SPOOF, T_VLAN, T_VLAN_END, T_DATA, T_END, T_END_ACK, T_CREDIT };

static struct vnet net;
static uint8_t rx[2048] __attribute__((aligned(64)));
static uint8_t tx[2048] __attribute__((aligned(64)));
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static struct {
    char mode[16];
    uint64_t count, timeout_ms, id, want, port, size, window;
    uint32_t host_ip, my_ip;
} opt = {.count = 100, .timeout_ms = 20000, .my_ip = 0x0A00020F /* 10.0.2.15 */};

/* ---------------------------------------------------------------- options */
static bool parse_num(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_ip(const char *s, size_t n, uint32_t *out)
{
    uint32_t ip = 0;
    unsigned parts = 0;
    size_t i = 0;
    while (parts < 4) {
        size_t k = i;
        while (k < n && s[k] != '.')
            k++;
        uint64_t v;
        if (!parse_num(s + i, k - i, &v) || v > 255)
            return false;
        ip = ip << 8 | (uint32_t)v;
        parts++;
        if (k == n)
            break;
        i = k + 1;
    }
    if (parts != 4)
        return false;
    *out = ip;
    return true;
}

static bool key(const char *t, size_t n, const char *k, const char **v, size_t *vn)
{
    size_t l = strlen(k);
    if (n <= l || memcmp(t, k, l) != 0)
        return false;
    *v = t + l;
    *vn = n - l;
    return true;
}

static bool parse_options(void)
{
    const struct plinth_start_info *si = (const struct plinth_start_info *)boot_reg_a;
    const char *s = (boot_reg_a && boot_reg_a < 0x100000 && si->magic == PLINTH_START_MAGIC) ? si->cmdline : "";
    unsigned word = 0, positional = 0;
    bool ok = true;
    for (size_t i = 0; i < PLINTH_START_CMDLINE_MAX && s[i];) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        size_t n = 0;
        while (i + n < PLINTH_START_CMDLINE_MAX && s[i + n] && s[i + n] != ' ')
            n++;
        const char *t = s + i, *v;
        size_t vn;
        i += n;
        if (word++ == 0)
            continue; /* the image name */
        if (word == 2) {
            if (n >= sizeof(opt.mode))
                return false;
            memcpy(opt.mode, t, n);
            opt.mode[n] = 0;
        } else if (key(t, n, "count=", &v, &vn)) {
            ok &= parse_num(v, vn, &opt.count);
        } else if (key(t, n, "timeout-ms=", &v, &vn)) {
            ok &= parse_num(v, vn, &opt.timeout_ms);
        } else if (key(t, n, "window=", &v, &vn)) {
            ok &= parse_num(v, vn, &opt.window);
        } else if (key(t, n, "size=", &v, &vn)) {
            ok &= parse_num(v, vn, &opt.size);
        } else if (key(t, n, "id=", &v, &vn)) {
            ok &= parse_num(v, vn, &opt.id);
        } else if (key(t, n, "want=", &v, &vn)) {
            ok &= parse_num(v, vn, &opt.want);
        } else if (key(t, n, "ip=", &v, &vn)) {
            ok &= parse_ip(v, vn, &opt.my_ip);
        } else if (positional == 0 && parse_ip(t, n, &opt.host_ip)) {
            positional++;
        } else if (positional == 1 && parse_num(t, n, &opt.port) && opt.port < 65536) {
            positional++;
        } else {
            char w[32];
            size_t k = n < sizeof w - 1 ? n : sizeof w - 1;
            memcpy(w, t, k);
            w[k] = 0;
            printf("vnet: unknown option '%s'\n", w);
            ok = false;
        }
    }
    return ok;
}

/* ---------------------------------------------------------------- helpers */
static bool streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static void print_mac(const char *what, const uint8_t *m)
{
    printf("vnet: %s %02x:%02x:%02x:%02x:%02x:%02x\n", what, m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Test frame: dst, src, 0x88B5, "PLNT", type, seq (be32), payload length (be16), payload. */
#define TEST_HDR 25
static uint32_t test_frame(const uint8_t *dst, const uint8_t *src, uint8_t type, uint32_t seq, uint16_t plen,
                           uint8_t fill)
{
    memcpy(tx, dst, 6);
    memcpy(tx + 6, src, 6);
    put16(tx + 12, ETH_P_TEST);
    put32(tx + 14, MAGIC);
    tx[18] = type;
    put32(tx + 19, seq);
    put16(tx + 23, plen);
    for (uint16_t i = 0; i < plen; i++)
        tx[TEST_HDR + i] = (uint8_t)(fill + seq * 7 + i);
    return TEST_HDR + plen;
}

/* Next test frame (others skipped): its length, 0 on timeout. */
static int recv_test(uint64_t timeout_ms)
{
    for (;;) {
        int len = vnet_recv(&net, rx, sizeof rx, timeout_ms);
        if (len <= 0)
            return 0;
        if (len >= TEST_HDR && get16(rx + 12) == ETH_P_TEST && get32(rx + 14) == MAGIC)
            return len;
    }
}

static bool payload_ok(const uint8_t *f, int len, uint32_t seq, uint8_t fill)
{
    uint16_t plen = get16(f + 23);
    if (TEST_HDR + plen > len)
        return false;
    for (uint16_t i = 0; i < plen; i++)
        if (f[TEST_HDR + i] != (uint8_t)(fill + seq * 7 + i))
            return false;
    return true;
}

/* ---------------------------------------------------------------- peer */
static void run_pong(void)
{
    printf("vnet: pong: ready for %llu pings\n", (unsigned long long)opt.count);
    uint64_t answered = 0, bad = 0, spoofed = 0;
    bool bye = false;
    while (!bye) {
        int len = recv_test(opt.timeout_ms);
        if (!len) {
            printf("vnet: pong: nothing for %llu ms\n", (unsigned long long)opt.timeout_ms);
            break;
        }
        uint8_t type = rx[18];
        uint32_t seq = get32(rx + 19);
        if (type == T_BYE) {
            bye = true;
        } else if (type == T_SPOOF) {
            spoofed++;
        } else if (type == T_PING) {
            if (!payload_ok(rx, len, seq, 0x11)) {
                bad++;
                continue;
            }
            uint8_t peer[6];
            memcpy(peer, rx + 6, 6);
            uint32_t n = test_frame(peer, net.mac, T_PONG, seq, get16(rx + 23), 0xEE);
            if (vnet_send(&net, tx, n) == 0)
                answered++;
        }
    }
    CHECK(bye, "ping side said bye");
    CHECKF(answered >= opt.count, "pings answered", "%llu of %llu", (unsigned long long)answered,
           (unsigned long long)opt.count);
    CHECK_EQ(bad, 0, "every ping's payload intact");
    CHECK_EQ(spoofed, 0, "the frame with a forged source MAC never arrived");
    printf("vnet: pong: %llu pings answered, %lu frames received\n", (unsigned long long)answered, net.rx_frames);
}

static void run_ping(void)
{
    uint8_t peer[6];
    memcpy(peer, BCAST, 6); /* until the first pong tells us who answers */
    uint64_t ok = 0, bad = 0, dups = 0, lost = 0;
    for (uint32_t seq = 0; seq < opt.count; seq++) {
        uint16_t plen = (uint16_t)(46 + (seq * 577u) % (1489 - 46 + 1));
        bool done = false;
        for (int attempt = 0; attempt < 20 && !done; attempt++) {
            uint32_t n = test_frame(peer, net.mac, T_PING, seq, plen, 0x11);
            if (vnet_send(&net, tx, n) != 0)
                break;
            uint64_t wait = seq == 0 ? 500 : opt.timeout_ms;
            for (;;) {
                int len = recv_test(wait);
                if (!len) {
                    lost++;
                    break;
                }
                uint32_t s = get32(rx + 19);
                if (rx[18] != T_PONG || s < seq) {
                    dups++;
                    continue;
                }
                if (s == seq && get16(rx + 23) == plen && payload_ok(rx, len, seq, 0xEE)) {
                    ok++;
                    memcpy(peer, rx + 6, 6);
                } else {
                    bad++;
                }
                done = true;
                break;
            }
        }
        if (!done)
            break;
    }
    print_mac("ping: peer", peer);
    /* A frame pretending to come from the peer: the switch drops it. */
    uint32_t n = test_frame(BCAST, peer, T_SPOOF, 0, 46, 0);
    CHECK_EQ(vnet_send(&net, tx, n), 0, "forged frame handed to the device");
    n = test_frame(peer, net.mac, T_BYE, 0, 46, 0);
    CHECK_EQ(vnet_send(&net, tx, n), 0, "bye sent");
    CHECKF(ok == opt.count, "pings answered in order with the payload inverted", "%llu of %llu",
           (unsigned long long)ok, (unsigned long long)opt.count);
    CHECK_EQ(bad, 0, "no pong with a wrong payload");
    printf("vnet: ping: %llu round trips, %llu lost and resent, %llu duplicates, payloads 46..1489 bytes\n",
           (unsigned long long)ok, (unsigned long long)lost, (unsigned long long)dups);
}

/* ---------------------------------------------------------------- VLANs */
static void run_vlan_send(void)
{
    uint64_t sent = 0;
    for (uint32_t i = 0; i < opt.count; i++) {
        uint32_t n = test_frame(BCAST, net.mac, T_VLAN, (uint32_t)opt.id, 64, (uint8_t)i);
        sent += vnet_send(&net, tx, n) == 0;
    }
    uint32_t n = test_frame(BCAST, net.mac, T_VLAN_END, (uint32_t)opt.id, 64, 0);
    CHECK_EQ(vnet_send(&net, tx, n), 0, "end frame sent");
    CHECK_EQ(sent, opt.count, "broadcasts sent");
    printf("vnet: vlan-send: %llu broadcasts from VLAN %llu\n", (unsigned long long)sent, (unsigned long long)opt.id);
}

static void run_vlan_listen(void)
{
    printf("vnet: vlan-listen: listening for VLAN %llu\n", (unsigned long long)opt.want);
    uint64_t mine = 0, other = 0;
    bool end = false;
    while (!end) {
        int len = recv_test(opt.timeout_ms);
        if (!len)
            break;
        uint32_t id = get32(rx + 19);
        if (id != opt.want) {
            other++;
            printf("vnet: vlan-listen: got a frame from VLAN %u\n", id);
            continue;
        }
        if (rx[18] == T_VLAN_END)
            end = true;
        else if (rx[18] == T_VLAN)
            mine++;
    }
    CHECK(end, "end frame of our VLAN's sender");
    CHECKF(mine >= 1, "broadcasts from our VLAN", "%llu", (unsigned long long)mine);
    CHECK_EQ(other, 0, "no frame from another VLAN");
    printf("vnet: vlan-listen: %llu broadcasts from VLAN %llu, %llu from other VLANs\n", (unsigned long long)mine,
           (unsigned long long)opt.want, (unsigned long long)other);
}

/* ---------------------------------------------------------------- benchmarks */
static struct plinth_exit_stats st0, st1;

static uint64_t tsc_ns(uint64_t ticks)
{
    uint64_t khz = virtio_tsc_khz();
    return khz ? ticks / khz * 1000000ull + ticks % khz * 1000000ull / khz : 0;
}

/* Frame length from size= (or dflt), within TEST_HDR..VNET_FRAME_MAX. */
static uint16_t bench_plen(uint64_t dflt)
{
    uint64_t len = opt.size ? opt.size : dflt;
    if (len < TEST_HDR + 1)
        len = TEST_HDR + 1;
    if (len > VNET_FRAME_MAX)
        len = VNET_FRAME_MAX;
    return (uint16_t)(len - TEST_HDR);
}

/* The exit counts between st0 and st1 (st1's own HC_EXIT_STATS call included). */
#define XD(r) ((unsigned long long)(st1.count[r] - st0.count[r]))
static void print_exits(const char *who, uint64_t per)
{
    unsigned long long total = (unsigned long long)(st1.total - st0.total);
    printf("vnet: %s: exits=%llu memory=%llu hypercall=%llu hlt=%llu extint=%llu intr_window=%llu io=%llu "
           "(%llu.%03llu per %s)\n",
           who, total, XD(PLINTH_EXIT_MEMORY), XD(PLINTH_EXIT_HYPERCALL), XD(PLINTH_EXIT_HLT), XD(PLINTH_EXIT_EXTINT),
           XD(PLINTH_EXIT_INTR_WINDOW), XD(PLINTH_EXIT_IO), per ? total / per : 0,
           per ? total * 1000 / per % 1000 : 0, streq(who, "rtt") ? "round trip" : "frame");
}

/* Ping until someone answers: its MAC in peer. */
static bool find_peer(uint8_t *peer, uint16_t plen)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        uint32_t n = test_frame(BCAST, net.mac, T_PING, 0xFFFFFFFFu, plen, 0x11);
        if (vnet_send(&net, tx, n) != 0)
            return false;
        int len = recv_test(200);
        if (len && rx[18] == T_PONG && get32(rx + 19) == 0xFFFFFFFFu) {
            memcpy(peer, rx + 6, 6);
            return true;
        }
    }
    return false;
}

static void run_rtt(void)
{
    uint16_t plen = bench_plen(64);
    uint8_t peer[6];
    bool found = find_peer(peer, plen);
    CHECK(found, "rtt: the pong side answered");
    if (!found)
        return;
    unsigned long irqs0 = net.dev.irqs, kicks0 = net.txq->notifies + net.rxq->notifies;
    uint64_t ok = 0, lost = 0;
    hc_exit_stats(&st0);
    uint64_t t0 = rdtsc();
    for (uint32_t seq = 0; seq < opt.count; seq++) {
        uint32_t n = test_frame(peer, net.mac, T_PING, seq, plen, 0x11);
        if (vnet_send(&net, tx, n) != 0)
            break;
        int len;
        while ((len = recv_test(opt.timeout_ms)) != 0 && (rx[18] != T_PONG || get32(rx + 19) != seq))
            ;
        if (!len) {
            lost++;
            break;
        }
        ok++;
    }
    uint64_t t1 = rdtsc();
    hc_exit_stats(&st1);
    unsigned long irqs = net.dev.irqs - irqs0, kicks = net.txq->notifies + net.rxq->notifies - kicks0;
    uint64_t ns = tsc_ns(t1 - t0);
    uint32_t n = test_frame(peer, net.mac, T_BYE, 0, 46, 0);
    CHECK_EQ(vnet_send(&net, tx, n), 0, "bye sent");
    CHECKF(ok == opt.count, "rtt: every ping answered", "%llu of %llu", (unsigned long long)ok,
           (unsigned long long)opt.count);
    printf("vnet: rtt: round_trips=%llu frame_bytes=%u elapsed_ns=%llu mean_rtt_ns=%llu irqs=%lu notifies=%lu "
           "lost=%llu\n",
           (unsigned long long)ok, TEST_HDR + plen, (unsigned long long)ns,
           (unsigned long long)(ok ? ns / ok : 0), irqs, kicks, (unsigned long long)lost);
    print_exits("rtt", ok);
}

static void run_stream(void)
{
    uint16_t plen = bench_plen(VNET_FRAME_MAX);
    uint8_t peer[6];
    bool found = find_peer(peer, 46);
    CHECK(found, "stream: the sink answered");
    if (!found)
        return;
    uint32_t n = test_frame(peer, net.mac, T_DATA, 0, plen, 0x33);
    unsigned long irqs0 = net.dev.irqs, kicks0 = net.txq->notifies + net.rxq->notifies;
    uint64_t sent = 0, credit = 0, stalls = 0;
    hc_exit_stats(&st0);
    uint64_t t0 = rdtsc();
    for (uint32_t seq = 0; seq < opt.count; seq++) {
        while (opt.window && sent - credit >= opt.window) {
            int len = recv_test(200);
            if (!len) {
                stalls++;
                credit = sent;
            } else if (rx[18] == T_CREDIT && get32(rx + 19) > credit) {
                credit = get32(rx + 19);
            }
        }
        memcpy(tx, peer, 6);          /* recv_test used rx only: tx still holds the data frame */
        tx[18] = T_DATA;
        put32(tx + 19, seq);          /* same payload every time: only the sequence number changes */
        if (vnet_send(&net, tx, n) != 0)
            break;
        sent++;
    }
    uint64_t t1 = rdtsc();
    hc_exit_stats(&st1);
    unsigned long irqs = net.dev.irqs - irqs0, kicks = net.txq->notifies + net.rxq->notifies - kicks0;
    uint64_t ns = tsc_ns(t1 - t0);
    CHECK_EQ(sent, opt.count, "stream: every frame handed to the device");
    /* The end frame, until the sink answers with its count. */
    uint32_t got = 0;
    bool acked = false;
    for (int attempt = 0; attempt < 50 && !acked; attempt++) {
        uint32_t e = test_frame(peer, net.mac, T_END, (uint32_t)sent, 46, 0);
        if (vnet_send(&net, tx, e) != 0)
            break;
        int len;
        while ((len = recv_test(200)) != 0 && rx[18] != T_END_ACK)
            ;
        if (len) {
            acked = true;
            got = get32(rx + 19);
        }
    }
    CHECK(acked, "stream: the sink answered the end frame");
    printf("vnet: stream: sent=%llu frame_bytes=%u elapsed_ns=%llu frames_per_s=%llu bytes_per_s=%llu irqs=%lu "
           "notifies=%lu\n",
           (unsigned long long)sent, (unsigned)n, (unsigned long long)ns,
           (unsigned long long)(ns ? sent * 1000000000ull / ns : 0),
           (unsigned long long)(ns ? sent * n * 1000000000ull / ns : 0), irqs, kicks);
    /* Separate lines: the hypervisor's log splits long lines of guest output. */
    printf("vnet: stream: received_by_sink=%u window=%llu stalls=%llu\n", got, (unsigned long long)opt.window,
           (unsigned long long)stalls);
    print_exits("stream", sent);
}

static void run_sink(void)
{
    printf("vnet: sink: ready\n");
    uint64_t frames = 0, bytes = 0, t_first = 0, t_last = 0;
    unsigned long irqs0 = 0, kicks0 = 0;
    bool end = false;
    while (!end) {
        int len = recv_test(opt.timeout_ms);
        if (!len) {
            printf("vnet: sink: nothing for %llu ms\n", (unsigned long long)opt.timeout_ms);
            break;
        }
        uint8_t type = rx[18];
        if (type == T_DATA) {
            t_last = rdtsc();
            if (frames++ == 0) {
                hc_exit_stats(&st0);
                t_first = t_last;
                irqs0 = net.dev.irqs;
                kicks0 = net.txq->notifies + net.rxq->notifies;
            }
            bytes += (uint64_t)len;
            if (opt.window >= 2 && frames % (opt.window / 2) == 0) {
                uint8_t peer[6];
                memcpy(peer, rx + 6, 6);
                uint32_t n = test_frame(peer, net.mac, T_CREDIT, (uint32_t)frames, 46, 0);
                vnet_send(&net, tx, n);
            }
        } else if (type == T_PING || type == T_END) {
            uint8_t peer[6];
            memcpy(peer, rx + 6, 6);
            if (type == T_END && !end) {
                end = true;
                hc_exit_stats(&st1);
            }
            uint32_t n = test_frame(peer, net.mac, type == T_PING ? T_PONG : T_END_ACK,
                                    type == T_PING ? get32(rx + 19) : (uint32_t)frames, 46, 0xEE);
            vnet_send(&net, tx, n);
        }
    }
    unsigned long irqs = net.dev.irqs - irqs0, kicks = net.txq->notifies + net.rxq->notifies - kicks0;
    CHECK(end, "sink: end frame");
    CHECKF(frames > 1, "sink: data frames", "%llu", (unsigned long long)frames);
    /* Rate over the frames after the first: the first starts the clock. */
    uint64_t ns = tsc_ns(t_last - t_first);
    printf("vnet: sink: received=%llu bytes=%llu elapsed_ns=%llu frames_per_s=%llu bytes_per_s=%llu irqs=%lu "
           "notifies=%lu\n",
           (unsigned long long)frames, (unsigned long long)bytes, (unsigned long long)ns,
           (unsigned long long)(ns && frames > 1 ? (frames - 1) * 1000000000ull / ns : 0),
           (unsigned long long)(ns && frames > 1 ? bytes / frames * (frames - 1) * 1000000000ull / ns : 0), irqs,
           kicks);
    print_exits("sink", frames);
}

/* ---------------------------------------------------------------- ARP, IPv4, UDP */
#define GATEWAY 0x0A000202u /* 10.0.2.2 */

static uint16_t ip_csum(const uint8_t *p, unsigned n)
{
    uint32_t s = 0;
    for (unsigned i = 0; i + 1 < n; i += 2)
        s += get16(p + i);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xFFFF) + (s >> 16);
    return (uint16_t)~s;
}

static uint32_t arp_frame(uint16_t op, const uint8_t *dst_mac, const uint8_t *tha, uint32_t tpa)
{
    memcpy(tx, dst_mac, 6);
    memcpy(tx + 6, net.mac, 6);
    put16(tx + 12, ETH_P_ARP);
    uint8_t *a = tx + 14;
    put16(a, 1);            /* Ethernet */
    put16(a + 2, ETH_P_IP);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, net.mac, 6);
    put32(a + 14, opt.my_ip);
    memcpy(a + 18, tha, 6);
    put32(a + 24, tpa);
    return 14 + 28;
}

/* Answer an ARP request for our address; true if rx was one. */
static bool arp_answer(int len)
{
    if (len < 42 || get16(rx + 12) != ETH_P_ARP || get16(rx + 20) != 1 || get32(rx + 38) != opt.my_ip)
        return false;
    uint8_t sha[6];
    memcpy(sha, rx + 22, 6);
    uint32_t n = arp_frame(2, sha, sha, get32(rx + 28));
    vnet_send(&net, tx, n);
    return true;
}

static bool arp_resolve(uint32_t ip, uint8_t *mac)
{
    static const uint8_t zero[6];
    for (int attempt = 0; attempt < 10; attempt++) {
        vnet_send(&net, tx, arp_frame(1, BCAST, zero, ip));
        for (;;) {
            int len = vnet_recv(&net, rx, sizeof rx, 1000);
            if (len <= 0)
                break;
            if (arp_answer(len))
                continue;
            if (len >= 42 && get16(rx + 12) == ETH_P_ARP && get16(rx + 20) == 2 && get32(rx + 28) == ip) {
                memcpy(mac, rx + 22, 6);
                return true;
            }
        }
    }
    return false;
}

static uint32_t udp_frame(const uint8_t *gw, uint16_t sport, const uint8_t *data, uint16_t dlen)
{
    memcpy(tx, gw, 6);
    memcpy(tx + 6, net.mac, 6);
    put16(tx + 12, ETH_P_IP);
    uint8_t *ip = tx + 14, *udp = ip + 20;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + 8 + dlen));
    put16(ip + 4, sport);   /* identification */
    ip[8] = 64;             /* TTL */
    ip[9] = 17;             /* UDP */
    put32(ip + 12, opt.my_ip);
    put32(ip + 16, opt.host_ip);
    put16(ip + 10, ip_csum(ip, 20));
    put16(udp, sport);
    put16(udp + 2, (uint16_t)opt.port);
    put16(udp + 4, (uint16_t)(8 + dlen));
    put16(udp + 6, 0);      /* no checksum (optional over IPv4) */
    memcpy(udp + 8, data, dlen);
    return 14 + 20 + 8 + dlen;
}

static void run_udp_echo(void)
{
    CHECK(opt.host_ip && opt.port, "host address and port given");
    if (!opt.host_ip || !opt.port)
        return;
    uint8_t gw[6];
    bool have = arp_resolve(GATEWAY, gw);
    CHECK(have, "ARP reply from the gateway 10.0.2.2");
    if (!have)
        return;
    print_mac("udp-echo: gateway 10.0.2.2 is at", gw);
    uint64_t echoed = 0;
    uint16_t sport = 40000;
    static uint8_t msg[512];
    for (uint32_t i = 0; i < opt.count; i++) {
        uint16_t dlen = (uint16_t)(32 + (i * 61) % 400);
        for (uint16_t k = 0; k < dlen; k++)
            msg[k] = (uint8_t)('a' + (i + k) % 26);
        memcpy(msg, "plinth ", 7);
        bool got = false;
        for (int attempt = 0; attempt < 5 && !got; attempt++) {
            vnet_send(&net, tx, udp_frame(gw, sport, msg, dlen));
            for (;;) {
                int len = vnet_recv(&net, rx, sizeof rx, 2000);
                if (len <= 0)
                    break;
                if (arp_answer(len))
                    continue;
                const uint8_t *ip = rx + 14, *udp = ip + 20;
                if (len < 42 || get16(rx + 12) != ETH_P_IP || ip[9] != 17 || (ip[0] & 0x0F) != 5 ||
                    get32(ip + 12) != opt.host_ip || get16(udp) != opt.port || get16(udp + 2) != sport)
                    continue;
                uint16_t ulen = get16(udp + 4);
                if (ulen == 8 + dlen && len >= 42 + dlen && memcmp(udp + 8, msg, dlen) == 0) {
                    got = true;
                    break;
                }
            }
        }
        echoed += got;
        sport++;
    }
    CHECKF(echoed == opt.count, "UDP datagrams echoed by the host", "%llu of %llu", (unsigned long long)echoed,
           (unsigned long long)opt.count);
    printf("vnet: udp-echo: %llu of %llu datagrams echoed by %u.%u.%u.%u:%llu\n", (unsigned long long)echoed,
           (unsigned long long)opt.count, opt.host_ip >> 24, (opt.host_ip >> 16) & 255, (opt.host_ip >> 8) & 255,
           opt.host_ip & 255, (unsigned long long)opt.port);
}

int main(void)
{
    bool ok = parse_options();
    CHECK(ok, "command line");
    if (!ok)
        return 1;
    int rc = vnet_open(&net, 0, VIRTIO_WAIT_IRQ, true);
    CHECK_EQ(rc, 0, "virtio-net device opened");
    if (rc)
        return 1;
    net.dev.timeout_ms = 5000;
    print_mac("mac", net.mac);
    CHECK(net.link_up, "link up");
    CHECK(!(net.mac[0] & 1), "unicast MAC from the configuration space");
    if (streq(opt.mode, "pong"))
        run_pong();
    else if (streq(opt.mode, "ping"))
        run_ping();
    else if (streq(opt.mode, "vlan-send"))
        run_vlan_send();
    else if (streq(opt.mode, "vlan-listen"))
        run_vlan_listen();
    else if (streq(opt.mode, "udp-echo"))
        run_udp_echo();
    else if (streq(opt.mode, "rtt"))
        run_rtt();
    else if (streq(opt.mode, "stream"))
        run_stream();
    else if (streq(opt.mode, "sink"))
        run_sink();
    else
        CHECKF(false, "mode", "unknown mode '%s'", opt.mode);
    CHECK_EQ(net.txq->bad_used + net.rxq->bad_used, 0, "no used entries with a bad id");
    CHECK_EQ(net.txq->timeouts, 0, "no transmit timed out");
    CHECKF(net.dev.irqs > 0, "device interrupts taken", "%lu", net.dev.irqs);
    virtio_print_stats(&net.dev, "vnet");
    return tests_failed();
}
