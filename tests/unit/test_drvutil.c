/* dom0 driver helpers: BAR decoding, virtqueue layout and index arithmetic,
 * ARP frames, FNV-1a, argument parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dom0/drivers/drvutil.h"

static void test_bar_io(void **state)
{
    (void)state;
    struct pci_bar b;
    /* QEMU virtio legacy BAR0: 32 ports at 0xC040; upper 16 bits read 0. */
    assert_int_equal(pci_bar_decode(0xC041, 0, 0x0000FFE1, 0, &b), 1);
    assert_true(b.io);
    assert_int_equal(b.base, 0xC040);
    assert_int_equal(b.size, 32);
    /* 32-bit I/O decoder reading back all upper ones. */
    assert_int_equal(pci_bar_decode(0x1001, 0, 0xFFFFFF01, 0, &b), 1);
    assert_int_equal(b.size, 256);
    /* Not implemented. */
    assert_int_equal(pci_bar_decode(0, 0, 0, 0, &b), 1);
    assert_int_equal(b.size, 0);
}

static void test_bar_mem32(void **state)
{
    (void)state;
    struct pci_bar b;
    /* e1000 BAR0: 128 KiB at 0xFEBC0000. */
    assert_int_equal(pci_bar_decode(0xFEBC0000u, 0, 0xFFFE0000u, 0, &b), 1);
    assert_false(b.io);
    assert_false(b.is64);
    assert_false(b.prefetch);
    assert_int_equal(b.base, 0xFEBC0000u);
    assert_int_equal(b.size, 0x20000);
    /* Prefetchable 16 MiB. */
    assert_int_equal(pci_bar_decode(0xFD000008u, 0, 0xFF000008u, 0, &b), 1);
    assert_true(b.prefetch);
    assert_int_equal(b.size, 0x1000000);
    /* Below-1M type (1) decodes as 32-bit. */
    assert_int_equal(pci_bar_decode(0x000A0002u, 0, 0xFFFE0002u, 0, &b), 1);
    assert_int_equal(b.size, 0x20000);
    /* Reserved type 3. */
    assert_int_equal(pci_bar_decode(0x6u, 0, 0xFFFFFFF6u, 0, &b), 0);
}

static void test_bar_mem64(void **state)
{
    (void)state;
    struct pci_bar b;
    /* 16 KiB 64-bit prefetchable BAR at 0x8_0000_0000. */
    assert_int_equal(pci_bar_decode(0x0000000Cu, 0x8, 0xFFFFC00Cu, 0xFFFFFFFFu, &b), 2);
    assert_true(b.is64);
    assert_true(b.prefetch);
    assert_int_equal(b.base, 0x800000000ull);
    assert_int_equal(b.size, 0x4000);
    /* 8 GiB BAR: the size lives in the upper half. */
    assert_int_equal(pci_bar_decode(0x4u, 0x10, 0x4u, 0xFFFFFFFEu, &b), 2);
    assert_int_equal(b.size, 0x200000000ull);
    assert_int_equal(b.base, 0x1000000000ull);
}

static void test_vq_layout(void **state)
{
    (void)state;
    struct vq_layout l;
    vq_layout_compute(256, &l);
    assert_int_equal(l.desc, 0);
    assert_int_equal(l.avail, 4096);
    assert_int_equal(l.used, 8192);
    assert_int_equal(l.total, 12288);
    vq_layout_compute(128, &l);
    assert_int_equal(l.avail, 2048);
    assert_int_equal(l.used, 4096);         /* 2048 + 6 + 256 fits */
    assert_int_equal(l.total, 8192);
    vq_layout_compute(1024, &l);
    assert_int_equal(l.avail, 16384);
    assert_int_equal(l.used, 20480);        /* 16384 + 2054 rounded */
    assert_int_equal(l.total, 20480 + 12288);
    assert_true(vq_size_valid(256));
    assert_false(vq_size_valid(0));
    assert_false(vq_size_valid(96));
}

static void test_vq_index(void **state)
{
    (void)state;
    assert_int_equal(vq_pending(5, 3), 2);
    assert_int_equal(vq_pending(3, 3), 0);
    assert_int_equal(vq_pending(1, 65535), 2);      /* wraps */
    assert_int_equal(vq_slot(257, 256), 1);
    assert_int_equal(vq_slot(65535, 128), 127);
    assert_int_equal(vq_slot((uint16_t)(65535 + 1), 128), 0);
}

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void test_arp_build(void **state)
{
    (void)state;
    uint8_t f[ARP_FRAME_LEN];
    memset(f, 0xAA, sizeof f);
    assert_int_equal(arp_build_request(f, mac, 0x0A00020F, 0x0A000202), 60);
    static const uint8_t want[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15,
        0, 0, 0, 0, 0, 0, 10, 0, 2, 2,
    };
    assert_memory_equal(f, want, sizeof want);
    for (size_t i = 42; i < 60; i++)
        assert_int_equal(f[i], 0);
}

static size_t make_reply(uint8_t *f, uint16_t oper, uint32_t sender_ip, uint32_t target_ip)
{
    static const uint8_t gw[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
    memset(f, 0, 60);
    memcpy(f, mac, 6);
    memcpy(f + 6, gw, 6);
    f[12] = 0x08; f[13] = 0x06; f[14] = 0; f[15] = 1; f[16] = 8; f[17] = 0; f[18] = 6; f[19] = 4;
    f[20] = (uint8_t)(oper >> 8); f[21] = (uint8_t)oper;
    memcpy(f + 22, gw, 6);
    f[28] = (uint8_t)(sender_ip >> 24); f[29] = (uint8_t)(sender_ip >> 16);
    f[30] = (uint8_t)(sender_ip >> 8); f[31] = (uint8_t)sender_ip;
    memcpy(f + 32, mac, 6);
    f[38] = (uint8_t)(target_ip >> 24); f[39] = (uint8_t)(target_ip >> 16);
    f[40] = (uint8_t)(target_ip >> 8); f[41] = (uint8_t)target_ip;
    return 60;
}

static void test_arp_parse(void **state)
{
    (void)state;
    uint8_t f[60], out[6];
    size_t len = make_reply(f, 2, 0x0A000202, 0x0A00020F);
    assert_true(arp_parse_reply(f, len, 0x0A000202, 0x0A00020F, out));
    static const uint8_t gw[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
    assert_memory_equal(out, gw, 6);
    /* A request is not a reply. */
    make_reply(f, 1, 0x0A000202, 0x0A00020F);
    assert_false(arp_parse_reply(f, len, 0x0A000202, 0x0A00020F, out));
    /* From someone else, or to someone else. */
    make_reply(f, 2, 0x0A000203, 0x0A00020F);
    assert_false(arp_parse_reply(f, len, 0x0A000202, 0x0A00020F, out));
    make_reply(f, 2, 0x0A000202, 0x0A000210);
    assert_false(arp_parse_reply(f, len, 0x0A000202, 0x0A00020F, out));
    /* Truncated, and not ARP at all. */
    make_reply(f, 2, 0x0A000202, 0x0A00020F);
    assert_false(arp_parse_reply(f, 41, 0x0A000202, 0x0A00020F, out));
    f[13] = 0x00;
    assert_false(arp_parse_reply(f, len, 0x0A000202, 0x0A00020F, out));
    /* Round trip: our request, turned into a reply by hand. */
    uint8_t req[ARP_FRAME_LEN];
    arp_build_request(req, mac, 0xC0A80A02, 0xC0A80A01);
    assert_false(arp_parse_reply(req, sizeof req, 0xC0A80A01, 0xC0A80A02, out));
}

static void test_fnv(void **state)
{
    (void)state;
    assert_int_equal(fnv1a64(FNV1A64_INIT, "", 0), 0xcbf29ce484222325ull);
    assert_int_equal(fnv1a64(FNV1A64_INIT, "a", 1), 0xaf63dc4c8601ec8cull);
    assert_int_equal(fnv1a64(FNV1A64_INIT, "foobar", 6), 0x85944171f73967e8ull);
    /* Incremental equals one shot. */
    uint64_t h = fnv1a64(FNV1A64_INIT, "foo", 3);
    assert_int_equal(fnv1a64(h, "bar", 3), 0x85944171f73967e8ull);
}

static void test_parse(void **state)
{
    (void)state;
    uint64_t v;
    uint32_t ip;
    assert_true(parse_u64("0", &v)); assert_int_equal(v, 0);
    assert_true(parse_u64("12345", &v)); assert_int_equal(v, 12345);
    assert_true(parse_u64("0x1F", &v)); assert_int_equal(v, 31);
    assert_true(parse_u64("18446744073709551615", &v)); assert_int_equal(v, UINT64_MAX);
    assert_false(parse_u64("18446744073709551616", &v));
    assert_false(parse_u64("", &v));
    assert_false(parse_u64("0x", &v));
    assert_false(parse_u64("12a", &v));
    assert_false(parse_u64("-1", &v));
    assert_true(parse_ipv4("10.0.2.2", &ip)); assert_int_equal(ip, 0x0A000202);
    assert_true(parse_ipv4("255.255.255.255", &ip)); assert_int_equal(ip, 0xFFFFFFFFu);
    assert_false(parse_ipv4("256.0.0.1", &ip));
    assert_false(parse_ipv4("10.0.2", &ip));
    assert_false(parse_ipv4("10.0.2.2.1", &ip));
    assert_false(parse_ipv4("10..2.2", &ip));
    assert_false(parse_ipv4("1000.0.2.2", &ip));
    assert_false(parse_ipv4("10.0.2.2x", &ip));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bar_io),     cmocka_unit_test(test_bar_mem32), cmocka_unit_test(test_bar_mem64),
        cmocka_unit_test(test_vq_layout),  cmocka_unit_test(test_vq_index),  cmocka_unit_test(test_arp_build),
        cmocka_unit_test(test_arp_parse),  cmocka_unit_test(test_fnv),       cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
