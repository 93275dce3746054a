/* Unit tests of the event-channel state machine (hv/evtchn_core.c): every
 * port transition and error, the pending and mask bitmaps, events before
 * the page exists, hang-up events, and the destroy invariant (no table
 * points at a destroyed one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hv/evtchn_core.h"
#include "plinth/errno.h"

#define A_ID 1
#define B_ID 2
#define C_ID 3

static struct evtchn_domain a, b, c;
static struct plinth_evtchn_page pa, pb;
static unsigned raised_a, raised_b, raised_c;

static void count_raise(struct evtchn_domain *e)
{
    if (e == &a)
        raised_a++;
    else if (e == &b)
        raised_b++;
    else if (e == &c)
        raised_c++;
    else
        fail_msg("raise for an unknown table");
}

static int setup(void **state)
{
    (void)state;
    evtchn_core_init(&a, A_ID, &a);
    evtchn_core_init(&b, B_ID, &b);
    evtchn_core_init(&c, C_ID, &c);
    memset(&pa, 0, sizeof(pa));
    memset(&pb, 0, sizeof(pb));
    raised_a = raised_b = raised_c = 0;
    return 0;
}

static uint64_t st(const struct evtchn_domain *e, uint64_t port) { return (uint64_t)evtchn_core_status(e, port); }
static uint64_t status_word(unsigned state, unsigned dom, unsigned port)
{
    return state | (uint64_t)dom << 8 | (uint64_t)port << 32;
}

/* Every table's connected ports point back at them (the symmetry the
 * destroy relies on). */
static void check_symmetry(struct evtchn_domain *const *tabs, unsigned n)
{
    for (unsigned t = 0; t < n; t++)
        for (unsigned p = 1; p < EVTCHN_MAX_PORTS; p++) {
            const struct evtchn_port *port = &tabs[t]->ports[p];
            if (port->state != EVTCHN_STATE_CONNECTED) {
                assert_null(port->peer);
                continue;
            }
            assert_non_null(port->peer);
            const struct evtchn_port *back = &port->peer->ports[port->remote_port];
            assert_int_equal(back->state, EVTCHN_STATE_CONNECTED);
            assert_ptr_equal(back->peer, tabs[t]);
            assert_int_equal(back->remote_port, p);
            assert_int_equal(back->remote_dom, tabs[t]->domid);
            assert_int_equal(port->remote_dom, port->peer->domid);
        }
}

static void test_port_range(void **state)
{
    (void)state;
    assert_false(evtchn_port_valid(0));
    assert_true(evtchn_port_valid(1));
    assert_true(evtchn_port_valid(63));
    assert_false(evtchn_port_valid(64));
    assert_false(evtchn_port_valid(UINT64_MAX));
    assert_false(evtchn_port_valid(1ull << 32 | 1)); /* not truncated */
    assert_int_equal(evtchn_core_status(&a, 0), -PL_EINVAL);
    assert_int_equal(evtchn_core_status(&a, 64), -PL_EINVAL);
    assert_int_equal(evtchn_core_close(&a, 0, NULL), -PL_EINVAL);
    assert_int_equal(evtchn_core_close(&a, 64, NULL), -PL_EINVAL);
    assert_int_equal(evtchn_core_unmask(&a, 0), -PL_EINVAL);
    assert_int_equal(evtchn_core_unmask(&a, 64), -PL_EINVAL);
    assert_int_equal(evtchn_core_bind(&b, &a, 0), -PL_EINVAL);
    assert_int_equal(evtchn_core_bind(&b, &a, 64), -PL_EINVAL);
    struct evtchn_domain *to;
    unsigned tp;
    assert_int_equal(evtchn_core_send_target(&a, 0, &to, &tp), -PL_EINVAL);
    assert_int_equal(evtchn_core_send_target(&a, 64, &to, &tp), -PL_EINVAL);
    assert_false(evtchn_core_is_hypervisor_port(&a, 0));
    assert_false(evtchn_core_is_hypervisor_port(&a, 64));
}

static void test_no_state(void **state)
{
    (void)state;
    struct evtchn_domain *to;
    unsigned tp;
    assert_int_equal(evtchn_core_status(NULL, 1), EVTCHN_STATE_CLOSED);
    assert_int_equal(evtchn_core_status(NULL, 0), -PL_EINVAL);
    assert_int_equal(evtchn_core_send_target(NULL, 1, &to, &tp), -PL_ENOENT);
    assert_int_equal(evtchn_core_close(NULL, 1, NULL), -PL_ENOENT);
    assert_int_equal(evtchn_core_unmask(NULL, 1), -PL_ENOENT);
    assert_false(evtchn_core_is_hypervisor_port(NULL, 1));
    assert_int_equal(evtchn_core_bind(&b, NULL, 1), -PL_ENOENT); /* remote has no state: nothing open */
}

static void test_alloc_unbound(void **state)
{
    (void)state;
    assert_int_equal(st(&a, 1), EVTCHN_STATE_CLOSED);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 1);
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_UNBOUND, B_ID, 0));
    assert_int_equal(evtchn_core_alloc_unbound(&a, C_ID), 2);
    assert_int_equal(st(&a, 2), status_word(EVTCHN_STATE_UNBOUND, C_ID, 0));
    struct evtchn_domain *to;
    unsigned tp;
    assert_int_equal(evtchn_core_send_target(&a, 1, &to, &tp), -PL_ENOTCONN);
    assert_int_equal(evtchn_core_send_target(&a, 3, &to, &tp), -PL_ENOENT);
    /* the lowest free port is reused */
    assert_int_equal(evtchn_core_close(&a, 1, NULL), 0);
    assert_int_equal(st(&a, 1), EVTCHN_STATE_CLOSED);
    assert_int_equal(evtchn_core_close(&a, 1, NULL), -PL_ENOENT);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 1);
}

static void test_alloc_until_full(void **state)
{
    (void)state;
    for (int p = 1; p < EVTCHN_MAX_PORTS; p++)
        assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), p);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), -PL_ENOSPC);
    assert_int_equal(evtchn_core_alloc_unbound(&a, EVTCHN_DOMID_HYPERVISOR), -PL_ENOSPC);
    /* b's bind to a's port 5 works; then a is full for binds too */
    assert_int_equal(evtchn_core_bind(&b, &a, 5), 1);
    assert_int_equal(evtchn_core_alloc_unbound(&c, A_ID), 1);
    assert_int_equal(evtchn_core_bind(&a, &c, 1), -PL_ENOSPC);
    assert_int_equal(st(&c, 1), status_word(EVTCHN_STATE_UNBOUND, A_ID, 0)); /* untouched by the failure */
    assert_int_equal(evtchn_core_close(&a, 63, NULL), 0);
    assert_int_equal(evtchn_core_bind(&a, &c, 1), 63);
    struct evtchn_domain *tabs[] = { &a, &b, &c };
    check_symmetry(tabs, 3);
}

static void test_bind_connects_both(void **state)
{
    (void)state;
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 1);
    assert_int_equal(evtchn_core_alloc_unbound(&b, C_ID), 1); /* b's port 1 is taken */
    assert_int_equal(evtchn_core_bind(&b, &a, 1), 2);
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_CONNECTED, B_ID, 2));
    assert_int_equal(st(&b, 2), status_word(EVTCHN_STATE_CONNECTED, A_ID, 1));
    struct evtchn_domain *to;
    unsigned tp;
    assert_int_equal(evtchn_core_send_target(&a, 1, &to, &tp), 0);
    assert_ptr_equal(to, &b);
    assert_int_equal(tp, 2);
    assert_int_equal(evtchn_core_send_target(&b, 2, &to, &tp), 0);
    assert_ptr_equal(to, &a);
    assert_int_equal(tp, 1);
    struct evtchn_domain *tabs[] = { &a, &b, &c };
    check_symmetry(tabs, 3);
}

static void test_bind_errors(void **state)
{
    (void)state;
    assert_int_equal(evtchn_core_bind(&b, &a, 1), -PL_ENOENT); /* not open */
    assert_int_equal(evtchn_core_alloc_unbound(&a, C_ID), 1);
    assert_int_equal(evtchn_core_bind(&b, &a, 1), -PL_EINVAL); /* meant for dom3 */
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_UNBOUND, C_ID, 0));
    assert_int_equal(evtchn_core_bind(&c, &a, 1), 1);
    assert_int_equal(evtchn_core_bind(&c, &a, 1), -PL_EINVAL); /* connected already */
    assert_int_equal(evtchn_core_bind(&b, &a, 1), -PL_EINVAL);
    assert_int_equal(evtchn_core_alloc_unbound(&a, EVTCHN_DOMID_HYPERVISOR), 2);
    assert_int_equal(evtchn_core_bind(&b, &a, 2), -PL_EINVAL); /* a hypervisor port */
    assert_int_equal(evtchn_core_close(&c, 1, NULL), 0);
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_PEER_GONE, C_ID, 1));
    assert_int_equal(evtchn_core_bind(&c, &a, 1), -PL_EINVAL); /* gone: not bindable again */
    /* failures allocated nothing */
    for (unsigned p = 1; p < EVTCHN_MAX_PORTS; p++)
        assert_int_equal(b.ports[p].state, EVTCHN_STATE_CLOSED);
}

static void test_close_makes_peer_gone(void **state)
{
    (void)state;
    evtchn_core_set_page(&a, &pa, 0x40);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 1);
    assert_int_equal(evtchn_core_bind(&b, &a, 1), 1);
    assert_int_equal(evtchn_core_close(&b, 1, count_raise), 0);
    assert_int_equal(st(&b, 1), EVTCHN_STATE_CLOSED);
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_PEER_GONE, B_ID, 1));
    assert_int_equal(raised_a, 1); /* the hang-up event */
    assert_int_equal(pa.pending, 1ull << 1);
    struct evtchn_domain *to;
    unsigned tp;
    assert_int_equal(evtchn_core_send_target(&a, 1, &to, &tp), -PL_ENOTCONN);
    assert_int_equal(evtchn_core_send_target(&b, 1, &to, &tp), -PL_ENOENT);
    assert_int_equal(evtchn_core_unmask(&a, 1), 1); /* open (gone) ports may still be unmasked */
    /* b's port 1 is free again: a new unbound port there is not connected */
    assert_int_equal(evtchn_core_alloc_unbound(&b, A_ID), 1);
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_PEER_GONE, B_ID, 1));
    assert_int_equal(evtchn_core_close(&a, 1, count_raise), 0);
    assert_int_equal(pa.pending, 0); /* closing drops the port's event */
    assert_int_equal(st(&b, 1), status_word(EVTCHN_STATE_UNBOUND, A_ID, 0));
    assert_int_equal(raised_b, 0);
    struct evtchn_domain *tabs[] = { &a, &b };
    check_symmetry(tabs, 2);
}

static void test_close_hang_up_masked_or_pending(void **state)
{
    (void)state;
    evtchn_core_set_page(&a, &pa, 0x40);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 1);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 2);
    assert_int_equal(evtchn_core_bind(&b, &a, 1), 1);
    assert_int_equal(evtchn_core_bind(&b, &a, 2), 2);
    pa.mask = 1ull << 1;
    pa.pending = 1ull << 2;
    assert_int_equal(evtchn_core_close(&b, 1, count_raise), 0); /* masked: bit set, no upcall */
    assert_int_equal(evtchn_core_close(&b, 2, count_raise), 0); /* already pending: no upcall */
    assert_int_equal(raised_a, 0);
    assert_int_equal(pa.pending, 3ull << 1);
}

static void test_hypervisor_port(void **state)
{
    (void)state;
    assert_int_equal(evtchn_core_alloc_unbound(&a, EVTCHN_DOMID_HYPERVISOR), 1);
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_HYPERVISOR, EVTCHN_DOMID_HYPERVISOR, 0));
    assert_true(evtchn_core_is_hypervisor_port(&a, 1));
    assert_false(evtchn_core_is_hypervisor_port(&a, 2));
    assert_false(evtchn_core_is_hypervisor_port(&b, 1));
    struct evtchn_domain *to;
    unsigned tp;
    assert_int_equal(evtchn_core_send_target(&a, 1, &to, &tp), -PL_EINVAL); /* nobody to send to */
    assert_int_equal(evtchn_core_close(&a, 1, NULL), 0);
    assert_false(evtchn_core_is_hypervisor_port(&a, 1));
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 1);
    assert_false(evtchn_core_is_hypervisor_port(&a, 1));
}

static void test_loopback(void **state)
{
    (void)state;
    evtchn_core_set_page(&a, &pa, 0x40);
    assert_int_equal(evtchn_core_alloc_unbound(&a, A_ID), 1);
    assert_int_equal(evtchn_core_bind(&a, &a, 1), 2);
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_CONNECTED, A_ID, 2));
    assert_int_equal(st(&a, 2), status_word(EVTCHN_STATE_CONNECTED, A_ID, 1));
    struct evtchn_domain *tabs[] = { &a };
    check_symmetry(tabs, 1);
    struct evtchn_domain *to;
    unsigned tp;
    assert_int_equal(evtchn_core_send_target(&a, 2, &to, &tp), 0);
    assert_ptr_equal(to, &a);
    assert_int_equal(tp, 1);
    assert_int_equal(evtchn_core_close(&a, 2, count_raise), 0);
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_PEER_GONE, A_ID, 2));
    assert_int_equal(raised_a, 1);
    evtchn_core_destroy(&a, count_raise);
}

static void test_deliver_and_mask(void **state)
{
    (void)state;
    assert_int_equal(evtchn_core_set_page(&a, &pa, 0x40), 0);
    assert_int_equal(a.vector, 0x40);
    assert_true(evtchn_core_deliver(&a, 3));
    assert_int_equal(pa.pending, 1ull << 3);
    assert_false(evtchn_core_deliver(&a, 3)); /* already pending: one upcall */
    pa.pending = 0;                           /* the guest handled it */
    assert_true(evtchn_core_deliver(&a, 3));
    assert_true(evtchn_core_deliver(&a, 63));
    assert_int_equal(pa.pending, 1ull << 3 | 1ull << 63);
    pa.pending = 0;
    pa.mask = 1ull << 5;
    assert_false(evtchn_core_deliver(&a, 5)); /* masked: pending, no upcall */
    assert_int_equal(pa.pending, 1ull << 5);
    assert_true(evtchn_core_deliver(&a, 6)); /* other ports are not masked */
    /* unmask re-raises a pending port, not a clear one */
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 1);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 2);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 3);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 4);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 5);
    assert_int_equal(evtchn_core_unmask(&a, 5), 1);
    assert_int_equal(pa.mask, 0);
    assert_int_equal(pa.pending & (1ull << 5), 1ull << 5);
    pa.mask = 1ull << 4;
    assert_int_equal(evtchn_core_unmask(&a, 4), 0);
    assert_int_equal(pa.mask, 0);
    assert_int_equal(evtchn_core_unmask(&a, 6), -PL_ENOENT); /* pending but not open */
    /* the reserved words are never touched */
    for (unsigned i = 0; i < 510; i++)
        assert_int_equal(pa.reserved[i], 0);
}

static void test_events_before_the_page(void **state)
{
    (void)state;
    assert_int_equal(evtchn_core_alloc_unbound(&b, A_ID), 1);
    assert_int_equal(evtchn_core_bind(&a, &b, 1), 1);
    assert_int_equal(evtchn_core_unmask(&b, 1), 0); /* no page, no mask */
    assert_false(evtchn_core_deliver(&b, 1));
    assert_false(evtchn_core_deliver(&b, 1));
    assert_int_equal(b.early, 1ull << 1);
    pb.mask = 0;
    assert_int_equal(evtchn_core_set_page(&b, &pb, 0x50), 1); /* delivered now, upcall raised */
    assert_int_equal(pb.pending, 1ull << 1);
    assert_int_equal(b.early, 0);
    assert_int_equal(evtchn_core_set_page(&b, &pb, 0x50), -PL_EBUSY);
    assert_int_equal(evtchn_core_set_page(&b, &pa, 0x60), -PL_EBUSY);
    assert_ptr_equal(b.page, &pb);
    assert_int_equal(b.vector, 0x50);
    /* nothing remembered: no upcall at registration */
    assert_int_equal(evtchn_core_set_page(&c, &pa, 0x40), 0);
}

static void test_events_before_the_page_masked(void **state)
{
    (void)state;
    assert_false(evtchn_core_deliver(&b, 7));
    assert_false(evtchn_core_deliver(&b, 8));
    pb.mask = 1ull << 7 | 1ull << 8;
    assert_int_equal(evtchn_core_set_page(&b, &pb, 0x50), 0); /* both masked: pending, no upcall */
    assert_int_equal(pb.pending, 1ull << 7 | 1ull << 8);
    /* already pending in the page: no new upcall either */
    evtchn_core_init(&c, C_ID, &c);
    assert_false(evtchn_core_deliver(&c, 9));
    struct plinth_evtchn_page pc;
    memset(&pc, 0, sizeof(pc));
    pc.pending = 1ull << 9;
    assert_int_equal(evtchn_core_set_page(&c, &pc, 0x50), 0);
}

static void test_close_drops_remembered_event(void **state)
{
    (void)state;
    assert_int_equal(evtchn_core_alloc_unbound(&b, A_ID), 1);
    assert_int_equal(evtchn_core_bind(&a, &b, 1), 1);
    assert_false(evtchn_core_deliver(&b, 1));
    assert_int_equal(evtchn_core_close(&b, 1, count_raise), 0);
    assert_int_equal(b.early, 0);
    assert_int_equal(evtchn_core_set_page(&b, &pb, 0x50), 0);
    assert_int_equal(pb.pending, 0);
    assert_int_equal(a.early, 1ull << 1); /* a's hang-up, remembered (a has no page) */
    assert_int_equal(raised_a, 0);
}

static void test_destroy(void **state)
{
    (void)state;
    evtchn_core_set_page(&a, &pa, 0x40);
    evtchn_core_set_page(&b, &pb, 0x40);
    /* a: 1 connected to b, 2 connected to c, 3 unbound for b, 4 hypervisor,
     * 5/6 loopback; b: 2 unbound for a (b's 1 is a's peer) */
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 1);
    assert_int_equal(evtchn_core_bind(&b, &a, 1), 1);
    assert_int_equal(evtchn_core_alloc_unbound(&c, A_ID), 1);
    assert_int_equal(evtchn_core_bind(&a, &c, 1), 2);
    assert_int_equal(evtchn_core_alloc_unbound(&a, B_ID), 3);
    assert_int_equal(evtchn_core_alloc_unbound(&a, EVTCHN_DOMID_HYPERVISOR), 4);
    assert_int_equal(evtchn_core_alloc_unbound(&a, A_ID), 5);
    assert_int_equal(evtchn_core_bind(&a, &a, 5), 6);
    assert_int_equal(evtchn_core_alloc_unbound(&b, A_ID), 2);
    pb.mask = 0;
    evtchn_core_destroy(&a, count_raise);
    for (unsigned p = 0; p < EVTCHN_MAX_PORTS; p++)
        assert_int_equal(a.ports[p].state, EVTCHN_STATE_CLOSED);
    assert_null(a.page);
    assert_int_equal(st(&b, 1), status_word(EVTCHN_STATE_PEER_GONE, A_ID, 1));
    assert_int_equal(st(&c, 1), status_word(EVTCHN_STATE_PEER_GONE, A_ID, 2));
    assert_int_equal(st(&b, 2), status_word(EVTCHN_STATE_UNBOUND, A_ID, 0)); /* waits, harmlessly */
    assert_int_equal(raised_a, 0);
    assert_int_equal(raised_b, 1); /* page: upcall */
    assert_int_equal(raised_c, 0); /* no page yet: remembered */
    assert_int_equal(c.early, 1ull << 1);
    assert_int_equal(pb.pending, 1ull << 1);
    struct evtchn_domain *tabs[] = { &b, &c };
    check_symmetry(tabs, 2);
    for (unsigned p = 1; p < EVTCHN_MAX_PORTS; p++) {
        assert_true(b.ports[p].peer != &a);
        assert_true(c.ports[p].peer != &a);
    }
    struct evtchn_domain *to;
    unsigned tp;
    assert_int_equal(evtchn_core_send_target(&b, 1, &to, &tp), -PL_ENOTCONN);
    assert_int_equal(evtchn_core_send_target(&c, 1, &to, &tp), -PL_ENOTCONN);
}

static void test_status_of_wide_domid(void **state)
{
    (void)state;
    evtchn_core_init(&c, 0x123456, &c);
    assert_int_equal(evtchn_core_alloc_unbound(&a, 0x123456), 1);
    assert_int_equal(evtchn_core_bind(&c, &a, 1), 1);
    assert_int_equal(st(&a, 1), status_word(EVTCHN_STATE_CONNECTED, 0x123456, 1));
    assert_int_equal(st(&c, 1), status_word(EVTCHN_STATE_CONNECTED, A_ID, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_port_range, setup),
        cmocka_unit_test_setup(test_no_state, setup),
        cmocka_unit_test_setup(test_alloc_unbound, setup),
        cmocka_unit_test_setup(test_alloc_until_full, setup),
        cmocka_unit_test_setup(test_bind_connects_both, setup),
        cmocka_unit_test_setup(test_bind_errors, setup),
        cmocka_unit_test_setup(test_close_makes_peer_gone, setup),
        cmocka_unit_test_setup(test_close_hang_up_masked_or_pending, setup),
        cmocka_unit_test_setup(test_hypervisor_port, setup),
        cmocka_unit_test_setup(test_loopback, setup),
        cmocka_unit_test_setup(test_deliver_and_mask, setup),
        cmocka_unit_test_setup(test_events_before_the_page, setup),
        cmocka_unit_test_setup(test_events_before_the_page_masked, setup),
        cmocka_unit_test_setup(test_close_drops_remembered_event, setup),
        cmocka_unit_test_setup(test_destroy, setup),
        cmocka_unit_test_setup(test_status_of_wide_domid, setup),
    };
    return cmocka_run_group_tests_name("evtchn", tests, NULL, NULL);
}
