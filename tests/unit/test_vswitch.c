/* The learning switch of dom0's virtual network (dom0/virtio/vswitch.c):
 * learning, flooding, VLAN membership and tagging, anti-spoofing, ageing,
 * the bounded table, port removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dom0/virtio/vswitch.h"
#include "plinth/errno.h"

#define SEC 1000000000ull

struct sink {
    unsigned frames;
    uint8_t last[2048];
    size_t last_len;
    int fail;      /* return this from deliver when nonzero */
};

static int deliver(void *ctx, const uint8_t *frame, size_t len)
{
    struct sink *s = ctx;
    if (s->fail)
        return s->fail;
    s->frames++;
    memcpy(s->last, frame, len);
    s->last_len = len;
    return 0;
}

static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MAC_A[6] = {0x00, 0x16, 0x3e, 0, 0, 1};
static const uint8_t MAC_B[6] = {0x00, 0x16, 0x3e, 0, 0, 2};
static const uint8_t MAC_C[6] = {0x00, 0x16, 0x3e, 0, 0, 3};
static const uint8_t MAC_D[6] = {0x00, 0x16, 0x3e, 0, 0, 4};
static const uint8_t MAC_EXT[6] = {0x52, 0x55, 0x0a, 0, 2, 2};

static size_t frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, size_t len, uint8_t seed)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x88;
    f[13] = 0xB5;
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seed ^ i);
    return len;
}

static size_t tagged(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t vid, size_t len, uint8_t seed)
{
    uint8_t plain[2048];
    frame(plain, dst, src, len, seed);
    memcpy(f, plain, 12);
    f[12] = 0x81;
    f[13] = 0x00;
    f[14] = (uint8_t)(0x20 | (vid >> 8)); /* priority 1 */
    f[15] = (uint8_t)vid;
    memcpy(f + 16, plain + 12, len - 12);
    return len + 4;
}

struct world {
    struct vswitch sw;
    struct sink s[5];     /* a, b, c, d, uplink */
    int p[5];
};

/* a, b untagged; c, d on VLAN 10; uplink. */
static struct world *world_new(void)
{
    struct world *w = calloc(1, sizeof *w);
    vsw_init(&w->sw, "br0");
    w->p[0] = vsw_add_port(&w->sw, "a", false, MAC_A, 0, deliver, &w->s[0]);
    w->p[1] = vsw_add_port(&w->sw, "b", false, MAC_B, 0, deliver, &w->s[1]);
    w->p[2] = vsw_add_port(&w->sw, "c", false, MAC_C, 10, deliver, &w->s[2]);
    w->p[3] = vsw_add_port(&w->sw, "d", false, MAC_D, 10, deliver, &w->s[3]);
    w->p[4] = vsw_add_port(&w->sw, "net0", true, NULL, 0, deliver, &w->s[4]);
    for (int i = 0; i < 5; i++)
        assert_true(w->p[i] >= 0);
    return w;
}

static unsigned total(struct world *w)
{
    unsigned n = 0;
    for (int i = 0; i < 5; i++)
        n += w->s[i].frames;
    return n;
}

static void test_ports(void **state)
{
    (void)state;
    struct vswitch *sw = calloc(1, sizeof *sw);
    struct sink s = {0};
    vsw_init(sw, "a-very-long-bridge-name");
    assert_int_equal(strlen(sw->name), VSW_NAME_MAX);
    uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0};
    for (int i = 0; i < VSW_MAX_PORTS; i++) {
        mac[5] = (uint8_t)i;
        assert_int_equal(vsw_add_port(sw, "v", false, mac, 0, deliver, &s), i);
    }
    assert_int_equal(vsw_add_port(sw, "v", false, mac, 0, deliver, &s), -PL_ENOSPC);
    vsw_remove_port(sw, 3);
    assert_int_equal(vsw_port_count(sw), VSW_MAX_PORTS - 1);
    assert_int_equal(vsw_add_port(sw, "up", true, NULL, 0, deliver, &s), 3);
    assert_int_equal(vsw_add_port(sw, "up2", true, NULL, 0, deliver, &s), -PL_EEXIST);
    assert_int_equal(vsw_add_port(sw, "m", false, BCAST, 0, deliver, &s), -PL_EINVAL);  /* multicast MAC */
    assert_int_equal(vsw_add_port(sw, "m", false, mac, 4095, deliver, &s), -PL_EINVAL); /* VLAN range */
    assert_int_equal(vsw_add_port(sw, "m", false, mac, 0, NULL, &s), -PL_EINVAL);
    uint8_t f[64];
    assert_int_equal(vsw_input(sw, 3 + 100, f, sizeof f, 0), -VSW_DROP_BADPORT);
    free(sw);
}

static void test_flood_then_learn(void **state)
{
    (void)state;
    struct world *w = world_new();
    uint8_t f[128];
    /* Unknown destination: flooded to b and the uplink (VLAN 0), not back to a, not to c/d. */
    size_t n = frame(f, MAC_B, MAC_A, 100, 1);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, n, 1 * SEC), 2);
    assert_int_equal(w->s[0].frames, 0);
    assert_int_equal(w->s[1].frames, 1);
    assert_int_equal(w->s[2].frames + w->s[3].frames, 0);
    assert_int_equal(w->s[4].frames, 1);
    assert_memory_equal(w->s[1].last, f, n);
    assert_memory_equal(w->s[4].last, f, n); /* VLAN 0 leaves untagged */
    assert_int_equal(vsw_lookup(&w->sw, MAC_A, 0, 1 * SEC), w->p[0]);
    assert_int_equal(vsw_lookup(&w->sw, MAC_A, 10, 1 * SEC), -1);  /* learnt per VLAN */
    /* b answers a: known, unicast to a only. */
    n = frame(f, MAC_A, MAC_B, 60, 2);
    assert_int_equal(vsw_input(&w->sw, w->p[1], f, n, 2 * SEC), 1);
    assert_int_equal(w->s[0].frames, 1);
    assert_int_equal(w->s[4].frames, 1);
    /* and a to b, now known too. */
    n = frame(f, MAC_B, MAC_A, 60, 3);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, n, 3 * SEC), 1);
    assert_int_equal(w->s[1].frames, 2);
    assert_int_equal(total(w), 4);
    assert_int_equal(w->sw.forwarded, 2);
    assert_int_equal(w->sw.flooded, 1);
    assert_int_equal(vsw_fdb_count(&w->sw, 3 * SEC), 2);
    free(w);
}

static void test_broadcast_stays_in_vlan(void **state)
{
    (void)state;
    struct world *w = world_new();
    uint8_t f[128];
    size_t n = frame(f, BCAST, MAC_C, 80, 4);
    /* c (VLAN 10) broadcasts: d and the uplink (tagged 10); never a or b. */
    assert_int_equal(vsw_input(&w->sw, w->p[2], f, n, SEC), 2);
    assert_int_equal(w->s[0].frames + w->s[1].frames + w->s[2].frames, 0);
    assert_int_equal(w->s[3].frames, 1);
    assert_memory_equal(w->s[3].last, f, n);     /* untagged to the access port */
    assert_int_equal(w->s[4].last_len, n + 4);   /* tagged to the uplink */
    assert_memory_equal(w->s[4].last, f, 12);
    assert_int_equal(w->s[4].last[12], 0x81);
    assert_int_equal(w->s[4].last[13], 0x00);
    assert_int_equal(((w->s[4].last[14] << 8) | w->s[4].last[15]) & 0xFFF, 10);
    assert_memory_equal(w->s[4].last + 16, f + 12, n - 12);
    /* a (untagged) broadcasts: b and the uplink untagged; not c, d. */
    n = frame(f, BCAST, MAC_A, 80, 5);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, n, SEC), 2);
    assert_int_equal(w->s[1].frames, 1);
    assert_int_equal(w->s[2].frames, 0);
    assert_int_equal(w->s[3].frames, 1);
    assert_int_equal(w->s[4].last_len, n);
    /* Unicast to a MAC known in another VLAN is not forwarded across: c
     * addressing a (VLAN 0) floods in VLAN 10 only. */
    n = frame(f, MAC_A, MAC_C, 60, 6);
    assert_int_equal(vsw_input(&w->sw, w->p[2], f, n, SEC), 2);
    assert_int_equal(w->s[0].frames, 0);
    assert_int_equal(w->s[3].frames, 2);
    free(w);
}

static void test_uplink_tags(void **state)
{
    (void)state;
    struct world *w = world_new();
    uint8_t f[2048], t[2048];
    /* Tagged 10 from outside: to c and d untagged, not a, b. */
    size_t n = tagged(t, BCAST, MAC_EXT, 10, 100, 7);
    assert_int_equal(vsw_input(&w->sw, w->p[4], t, n, SEC), 2);
    frame(f, BCAST, MAC_EXT, 100, 7);
    assert_int_equal(w->s[2].last_len, 100);
    assert_memory_equal(w->s[2].last, f, 100);
    assert_memory_equal(w->s[3].last, f, 100);
    assert_int_equal(w->s[0].frames + w->s[1].frames + w->s[4].frames, 0);
    assert_int_equal(vsw_lookup(&w->sw, MAC_EXT, 10, SEC), w->p[4]);
    /* Untagged from outside: VLAN 0 ports only. */
    n = frame(f, BCAST, MAC_EXT, 100, 8);
    assert_int_equal(vsw_input(&w->sw, w->p[4], f, n, SEC), 2);
    assert_int_equal(w->s[0].frames, 1);
    assert_int_equal(w->s[1].frames, 1);
    assert_int_equal(w->s[2].frames, 1);
    /* Priority tag (VID 0) counts as untagged. */
    n = tagged(t, MAC_A, MAC_EXT, 0, 100, 9);
    assert_int_equal(vsw_input(&w->sw, w->p[4], t, n, SEC), 2);  /* a not learnt yet: a and b */
    assert_int_equal(w->s[0].frames, 2);
    assert_int_equal(w->s[0].last_len, 100);
    /* A VLAN nobody is in: delivered nowhere, still fine. */
    n = tagged(t, BCAST, MAC_EXT, 99, 100, 9);
    assert_int_equal(vsw_input(&w->sw, w->p[4], t, n, SEC), 0);
    /* VID 4095 is reserved; a truncated tag is malformed. */
    n = tagged(t, BCAST, MAC_EXT, 4095, 100, 9);
    assert_int_equal(vsw_input(&w->sw, w->p[4], t, n, SEC), -VSW_DROP_BADTAG);
    assert_int_equal(vsw_input(&w->sw, w->p[4], t, 15, SEC), -VSW_DROP_BADTAG);
    /* c answers the external host: unicast to the uplink, tagged 10. */
    n = frame(f, MAC_EXT, MAC_C, 1514, 10);
    assert_int_equal(vsw_input(&w->sw, w->p[2], f, n, SEC), 1);
    assert_int_equal(w->s[4].last_len, 1518);
    /* A 1518-byte tagged frame from outside comes in as 1514. */
    n = tagged(t, MAC_C, MAC_EXT, 10, 1514, 11);
    assert_int_equal(n, 1518);
    assert_int_equal(vsw_input(&w->sw, w->p[4], t, n, SEC), 1);
    assert_int_equal(w->s[2].last_len, 1514);
    free(w);
}

static void test_antispoof_and_bad_frames(void **state)
{
    (void)state;
    struct world *w = world_new();
    uint8_t f[2048];
    size_t n = frame(f, BCAST, MAC_B, 60, 1);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, n, SEC), -VSW_DROP_SPOOF);  /* a claims b's MAC */
    assert_int_equal(w->sw.ports[w->p[0]].spoofed, 1);
    assert_int_equal(vsw_lookup(&w->sw, MAC_B, 0, SEC), -1);  /* not learnt */
    assert_int_equal(total(w), 0);
    n = frame(f, BCAST, BCAST, 60, 1);
    assert_int_equal(vsw_input(&w->sw, w->p[4], f, n, SEC), -VSW_DROP_SRCMCAST);
    n = tagged(f, BCAST, MAC_A, 20, 60, 1);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, n, SEC), -VSW_DROP_TAGGED);  /* access port */
    n = frame(f, BCAST, MAC_A, 60, 1);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, 13, SEC), -VSW_DROP_LENGTH);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, VSW_FRAME_MAX + 1, SEC), -VSW_DROP_LENGTH);
    assert_int_equal(w->sw.ports[w->p[0]].in_dropped, 3);
    assert_int_equal(total(w), 0);
    /* The uplink cannot take over a vif's address. */
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, n, SEC), 2);
    n = frame(f, BCAST, MAC_A, 60, 2);
    assert_int_equal(vsw_input(&w->sw, w->p[4], f, n, SEC), 2);
    assert_int_equal(vsw_lookup(&w->sw, MAC_A, 0, SEC), w->p[0]);
    free(w);
}

static void test_no_hairpin_and_delivery_errors(void **state)
{
    (void)state;
    struct world *w = world_new();
    uint8_t f[128];
    /* The external host is learnt on the uplink; a frame from the uplink to it is filtered. */
    size_t n = frame(f, BCAST, MAC_EXT, 60, 1);
    vsw_input(&w->sw, w->p[4], f, n, SEC);
    unsigned before = total(w);
    n = frame(f, MAC_EXT, (const uint8_t[6]){0x52, 0x55, 0x0a, 0, 2, 3}, 60, 1);
    assert_int_equal(vsw_input(&w->sw, w->p[4], f, n, SEC), 0);
    assert_int_equal(total(w), before);
    assert_int_equal(w->sw.filtered, 1);
    /* A port that refuses (no rx buffer) is counted, the others still get it. */
    w->s[1].fail = -PL_ENOSPC;
    n = frame(f, BCAST, MAC_A, 60, 1);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, n, SEC), 1);
    assert_int_equal(w->sw.ports[w->p[1]].out_errors, 1);
    /* Tagging a 1515..1518-byte frame would exceed the maximum: counted on the uplink. */
    uint8_t big[1600];
    n = frame(big, BCAST, MAC_C, 1516, 1);
    assert_int_equal(vsw_input(&w->sw, w->p[2], big, n, SEC), 1); /* d only */
    assert_int_equal(w->sw.ports[w->p[4]].out_errors, 1);
    free(w);
}

static void test_ageing_and_moves(void **state)
{
    (void)state;
    struct world *w = world_new();
    w->sw.age_ns = 10 * SEC;
    uint8_t f[128];
    size_t n = frame(f, BCAST, MAC_EXT, 60, 1);
    vsw_input(&w->sw, w->p[4], f, n, 100 * SEC);
    assert_int_equal(vsw_lookup(&w->sw, MAC_EXT, 0, 109 * SEC), w->p[4]);
    assert_int_equal(vsw_lookup(&w->sw, MAC_EXT, 0, 110 * SEC), -1);  /* aged out */
    assert_int_equal(vsw_fdb_count(&w->sw, 110 * SEC), 0);
    /* After ageing out, a unicast to it floods again. */
    n = frame(f, MAC_EXT, MAC_A, 60, 2);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, n, 111 * SEC), 2);
    /* Seen again: refreshed; each frame refreshes. */
    n = frame(f, MAC_A, MAC_EXT, 60, 3);
    vsw_input(&w->sw, w->p[4], f, n, 112 * SEC);
    vsw_input(&w->sw, w->p[4], f, n, 120 * SEC);
    assert_int_equal(vsw_lookup(&w->sw, MAC_EXT, 0, 129 * SEC), w->p[4]);
    /* Removing a port forgets what was learnt on it. */
    assert_int_equal(vsw_lookup(&w->sw, MAC_A, 0, 112 * SEC), w->p[0]);
    vsw_remove_port(&w->sw, w->p[0]);
    assert_int_equal(vsw_lookup(&w->sw, MAC_A, 0, 112 * SEC), -1);
    n = frame(f, MAC_A, MAC_B, 60, 4);
    unsigned a_before = w->s[0].frames;
    vsw_input(&w->sw, w->p[1], f, n, 113 * SEC);
    assert_int_equal(w->s[0].frames, a_before);  /* gone: never delivered to again */
    free(w);
}

static void test_table_bounded(void **state)
{
    (void)state;
    struct world *w = world_new();
    uint8_t f[128], mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x00};
    /* 3 * VSW_FDB_SIZE distinct sources from outside. */
    for (unsigned i = 0; i < 3 * VSW_FDB_SIZE; i++) {
        mac[3] = (uint8_t)(i >> 16);
        mac[4] = (uint8_t)(i >> 8);
        mac[5] = (uint8_t)i;
        size_t n = frame(f, MAC_A, mac, 60, 1);
        vsw_input(&w->sw, w->p[4], f, n, SEC + i);
    }
    assert_int_equal(vsw_fdb_count(&w->sw, SEC + 3 * VSW_FDB_SIZE), VSW_FDB_SIZE);
    assert_int_equal(w->sw.evicted, 2 * VSW_FDB_SIZE);
    /* The most recent survive, the oldest went. */
    assert_int_equal(vsw_lookup(&w->sw, mac, 0, SEC + 3 * VSW_FDB_SIZE), w->p[4]);
    mac[4] = 0;
    mac[5] = 0;
    assert_int_equal(vsw_lookup(&w->sw, mac, 0, SEC + 3 * VSW_FDB_SIZE), -1);
    /* Forwarding still works with a full table. */
    size_t n = frame(f, BCAST, MAC_A, 60, 1);
    assert_int_equal(vsw_input(&w->sw, w->p[0], f, n, 2 * SEC), 2);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_flood_then_learn),
        cmocka_unit_test(test_broadcast_stays_in_vlan),
        cmocka_unit_test(test_uplink_tags),
        cmocka_unit_test(test_antispoof_and_bad_frames),
        cmocka_unit_test(test_no_hairpin_and_delivery_errors),
        cmocka_unit_test(test_ageing_and_moves),
        cmocka_unit_test(test_table_bounded),
    };
    return cmocka_run_group_tests_name("vswitch", tests, NULL, NULL);
}
