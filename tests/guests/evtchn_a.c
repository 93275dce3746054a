/* SPDX-License-Identifier: MIT */
/* Event channels, side A (dom1; evtchn_b is dom2). Argument errors before
 * and after HC_EVTCHN_INIT; its ports, in this order (deterministic, so B
 * knows the numbers): 1 unbound for dom2 (the ping-pong channel), 2 unbound
 * for itself and 3 bound to it (a loopback pair for the mask tests), 4 a
 * hypervisor port, 5 unbound for dom2 (the channel B dies on), 6 unbound
 * for itself (B's BIND to it must fail). Then 1000
 * events each way on port 1 with upcalls; B closes its end: A, halted,
 * wakes from the hang-up event, sees PEER_GONE and -ENOTCONN. Finally A
 * keeps sending on port 5 while B exits: the sends turn into -ENOTCONN and
 * nothing hangs. A watchdog timer (HC_SET_TIMER) bounds every wait. */
#include "guest.h"
#include "plinth/evtchn.h"
#include "plinth/ioreq.h"

GUEST("evtchn_a");

#define B_DOM 2
#define SELF_DOM 1
#define VEC_EVT 0x60
#define VEC_WATCHDOG 0x61
#define ROUNDS 1000
#define WATCHDOG_NS (300ull * 1000 * 1000 * 1000)
#define POLLS 2000000
#define OUTSIDE 0xC0000000ull

#define P_PING 1
#define P_LOOP_A 2
#define P_LOOP_B 3
#define P_HV 4
#define P_DEATH 5
#define P_OTHER 6

static struct plinth_evtchn_page page __attribute__((aligned(4096)));
static volatile unsigned events[EVTCHN_MAX_PORTS];
static volatile unsigned upcalls, watchdog_fired;

/* Take every unmasked pending event (atomically: the hypervisor sets bits
 * concurrently), count it per port. */
static void on_upcall(struct int_frame *f)
{
    (void)f;
    upcalls++;
    uint64_t mask = __atomic_load_n(&page.mask, __ATOMIC_SEQ_CST);
    uint64_t seen = __atomic_fetch_and(&page.pending, mask, __ATOMIC_SEQ_CST) & ~mask;
    for (unsigned p = 0; p < EVTCHN_MAX_PORTS; p++)
        if (seen & (1ull << p))
            events[p]++;
    lapic_eoi();
}

static void on_watchdog(struct int_frame *f)
{
    (void)f;
    watchdog_fired = 1;
    lapic_eoi();
}

static long ev_init(uint64_t gpa, uint64_t vector) { return hypercall(HC_EVTCHN_INIT, gpa, vector, 0, 0, 0); }
static long ev_alloc(uint64_t dom) { return hypercall(HC_EVTCHN_ALLOC_UNBOUND, dom, 0, 0, 0, 0); }
static long ev_bind(uint64_t dom, uint64_t port) { return hypercall(HC_EVTCHN_BIND, dom, port, 0, 0, 0); }
static long ev_send(uint64_t port) { return hypercall(HC_EVTCHN_SEND, port, 0, 0, 0, 0); }
static long ev_close(uint64_t port) { return hypercall(HC_EVTCHN_CLOSE, port, 0, 0, 0, 0); }
static long ev_unmask(uint64_t port) { return hypercall(HC_EVTCHN_UNMASK, port, 0, 0, 0, 0); }
static long ev_status(uint64_t port) { return hypercall(HC_EVTCHN_STATUS, port, 0, 0, 0, 0); }
static long status_word(unsigned state, uint64_t dom, uint64_t port) { return (long)(state | dom << 8 | port << 32); }

/* Halt until *ctr reaches target (or the watchdog fires); returns with IF=0. */
static bool wait_until(volatile unsigned *ctr, unsigned target)
{
    for (;;) {
        cli();
        if (*ctr >= target)
            return true;
        if (watchdog_fired)
            return false;
        sti_hlt();
    }
}

/* Let pending interrupts in for a while (IF=1, exits), then IF=0 again. */
static void open_window(void)
{
    sti();
    for (unsigned i = 0; i < 200; i++)
        cpuid(0, 0);
    cli();
}

static void test_before_init(void)
{
    CHECK_EQ(ev_status(1), EVTCHN_STATE_CLOSED, "before anything: STATUS(1) is CLOSED");
    CHECK_EQ(ev_send(1), -PL_ENOENT, "before anything: SEND(1): -ENOENT");
    CHECK_EQ(ev_close(1), -PL_ENOENT, "before anything: CLOSE(1): -ENOENT");
    CHECK_EQ(ev_unmask(1), -PL_ENOENT, "before anything: UNMASK(1): -ENOENT");
    CHECK_EQ(ev_init((uint64_t)&page, 31), -PL_EINVAL, "INIT with vector 31: -EINVAL");
    CHECK_EQ(ev_init((uint64_t)&page, 256), -PL_EINVAL, "INIT with vector 256: -EINVAL");
    CHECK_EQ(ev_init((uint64_t)&page + 8, VEC_EVT), -PL_EINVAL, "INIT with an unaligned page: -EINVAL");
    CHECK_EQ(ev_init(OUTSIDE, VEC_EVT), -PL_EFAULT, "INIT with a page outside RAM: -EFAULT");
    CHECK_EQ(ev_init(-4096ull, VEC_EVT), -PL_EFAULT, "INIT with the last page of the address space: -EFAULT");
    CHECK_EQ(ev_alloc(999), -PL_ESRCH, "ALLOC_UNBOUND for dom999: -ESRCH");
    CHECK_EQ(ev_alloc((1ull << 32) | B_DOM), -PL_ESRCH, "ALLOC_UNBOUND for 2^32 + 2, not truncated: -ESRCH");
    CHECK_EQ(ev_bind(B_DOM, 0), -PL_EINVAL, "BIND to port 0: -EINVAL");
    CHECK_EQ(ev_bind(B_DOM, 64), -PL_EINVAL, "BIND to port 64: -EINVAL");
    CHECK_EQ(ev_bind(DOMID_HYPERVISOR, 1), -PL_EINVAL, "BIND to DOMID_HYPERVISOR: -EINVAL");
    CHECK_EQ(ev_bind(999, 1), -PL_ESRCH, "BIND to dom999: -ESRCH");
}

static void test_ports(void)
{
    long r = 0;
    for (unsigned i = 0; i < POLLS && (r = ev_alloc(B_DOM)) == -PL_ESRCH; i++)
        hc_yield(); /* dom2 may not be started yet */
    CHECK_EQ(r, P_PING, "ALLOC_UNBOUND for dom2: port 1");
    CHECK_EQ(ev_alloc(SELF_DOM), P_LOOP_A, "ALLOC_UNBOUND for itself: port 2");
    CHECK_EQ(ev_bind(SELF_DOM, P_LOOP_A), P_LOOP_B, "BIND to its own port 2: port 3 (loopback)");
    CHECK_EQ(ev_alloc(DOMID_HYPERVISOR), P_HV, "ALLOC_UNBOUND for DOMID_HYPERVISOR: port 4");
    CHECK_EQ(ev_alloc(B_DOM), P_DEATH, "ALLOC_UNBOUND for dom2 again: port 5");
    CHECK_EQ(ev_alloc(SELF_DOM), P_OTHER, "ALLOC_UNBOUND for itself again: port 6");
    /* dom2 binds ports 1 and 5 as soon as they exist: no SEND on them yet */
    long st = ev_status(P_PING);
    CHECKF(st == status_word(EVTCHN_STATE_UNBOUND, B_DOM, 0) || st == status_word(EVTCHN_STATE_CONNECTED, B_DOM, 1),
           "STATUS(1): UNBOUND for dom2 (or already CONNECTED to dom2 port 1)", "0x%lx", st);
    CHECK_EQ(ev_status(P_LOOP_A), status_word(EVTCHN_STATE_CONNECTED, SELF_DOM, P_LOOP_B),
             "STATUS(2): CONNECTED to dom1 port 3");
    CHECK_EQ(ev_status(P_LOOP_B), status_word(EVTCHN_STATE_CONNECTED, SELF_DOM, P_LOOP_A),
             "STATUS(3): CONNECTED to dom1 port 2");
    CHECK_EQ(ev_status(P_HV), status_word(EVTCHN_STATE_HYPERVISOR, DOMID_HYPERVISOR, 0),
             "STATUS(4): HYPERVISOR");
    CHECK_EQ(ev_status(P_OTHER), status_word(EVTCHN_STATE_UNBOUND, SELF_DOM, 0), "STATUS(6): UNBOUND for dom1");
    CHECK_EQ(ev_status(7), EVTCHN_STATE_CLOSED, "STATUS(7): CLOSED");
    CHECK_EQ(ev_send(P_OTHER), -PL_ENOTCONN, "SEND on an unbound port: -ENOTCONN");
    CHECK_EQ(ev_send(P_HV), -PL_EINVAL, "SEND on a hypervisor port: -EINVAL");
    CHECK_EQ(ev_bind(SELF_DOM, P_LOOP_A), -PL_EINVAL, "BIND to a connected port: -EINVAL");
    CHECK_EQ(ev_bind(SELF_DOM, P_HV), -PL_EINVAL, "BIND to a hypervisor port: -EINVAL");
    CHECK_EQ(ev_bind(SELF_DOM, P_PING), -PL_EINVAL, "BIND to its own port meant for dom2: -EINVAL");
    CHECK_EQ(ev_bind(SELF_DOM, 40), -PL_ENOENT, "BIND to its own closed port 40: -ENOENT");
}

/* Masking on the loopback pair (delivery is the same code as between
 * domains): a masked event is pending without an upcall; UNMASK raises it. */
static void test_mask(void)
{
    unsigned u0 = upcalls;
    page.mask = 1ull << P_LOOP_A;
    CHECK_EQ(ev_send(P_LOOP_B), 0, "SEND on the loopback port while masked");
    CHECK_EQ(ev_send(P_LOOP_B), 0, "SEND again while masked");
    open_window();
    CHECK_EQ(upcalls, u0, "masked: no upcall");
    CHECK(page.pending & (1ull << P_LOOP_A), "masked: the event is pending in the page");
    CHECK_EQ(events[P_LOOP_A], 0, "masked: not handled");
    sti();
    CHECK_EQ(ev_unmask(P_LOOP_A), 0, "UNMASK(2)");
    open_window();
    CHECK_EQ(page.mask, 0, "UNMASK cleared the mask bit");
    CHECK_EQ(upcalls, u0 + 1, "UNMASK raised the upcall for the pending event");
    CHECK_EQ(events[P_LOOP_A], 1, "the two masked events arrived as one");
    CHECK_EQ(page.pending, 0, "nothing left pending");
    CHECK_EQ(ev_unmask(P_LOOP_A), 0, "UNMASK with nothing pending");
    open_window();
    CHECK_EQ(upcalls, u0 + 1, "UNMASK with nothing pending raises nothing");
    sti();
    CHECK_EQ(ev_send(P_LOOP_B), 0, "SEND on the loopback port unmasked");
    open_window();
    CHECK_EQ(events[P_LOOP_A], 2, "unmasked: delivered at once");
    CHECK_EQ(ev_send(P_LOOP_A), 0, "SEND the other way");
    open_window();
    CHECK_EQ(events[P_LOOP_B], 1, "the other way: delivered");
    /* closing one end: the other gets PEER_GONE and a hang-up event */
    CHECK_EQ(ev_close(P_LOOP_B), 0, "CLOSE(3)");
    open_window();
    CHECK_EQ(events[P_LOOP_A], 3, "CLOSE(3): port 2 got the hang-up event");
    CHECK_EQ(ev_status(P_LOOP_A), status_word(EVTCHN_STATE_PEER_GONE, SELF_DOM, P_LOOP_B),
             "STATUS(2): PEER_GONE (was dom1 port 3)");
    CHECK_EQ(ev_send(P_LOOP_A), -PL_ENOTCONN, "SEND on a port whose peer closed: -ENOTCONN");
    CHECK_EQ(ev_status(P_LOOP_B), EVTCHN_STATE_CLOSED, "STATUS(3): CLOSED");
    CHECK_EQ(ev_send(P_LOOP_B), -PL_ENOENT, "SEND on a closed port: -ENOENT");
    CHECK_EQ(ev_close(P_LOOP_B), -PL_ENOENT, "CLOSE on a closed port: -ENOENT");
    CHECK_EQ(ev_unmask(P_LOOP_B), -PL_ENOENT, "UNMASK on a closed port: -ENOENT");
    CHECK_EQ(ev_close(P_LOOP_A), 0, "CLOSE(2)");
}

static void test_bad_ports(void)
{
    static const uint64_t bad[] = { 0, 64, 65, 1ull << 32 | 1, ~0ull };
    bool ok = true;
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok = ok && ev_send(bad[i]) == -PL_EINVAL && ev_close(bad[i]) == -PL_EINVAL &&
             ev_unmask(bad[i]) == -PL_EINVAL && ev_status(bad[i]) == -PL_EINVAL;
    CHECK(ok, "ports 0, 64, 65, 2^32 + 1, 2^64 - 1: SEND, CLOSE, UNMASK, STATUS all -EINVAL");
}

static void test_ping_pong(void)
{
    long st = 0;
    for (unsigned i = 0; i < POLLS && ((st = ev_status(P_PING)) & 0xff) != EVTCHN_STATE_CONNECTED; i++)
        hc_yield();
    CHECK_EQ(st, status_word(EVTCHN_STATE_CONNECTED, B_DOM, 1), "dom2 bound port 1: CONNECTED to dom2 port 1");
    unsigned u0 = upcalls, sent = 0;
    bool in_time = true;
    for (unsigned i = 1; i <= ROUNDS && in_time; i++) {
        sent += ev_send(P_PING) == 0;
        in_time = wait_until(&events[P_PING], i);
    }
    CHECK(in_time, "ping-pong: every reply arrived before the watchdog");
    CHECK_EQ(sent, ROUNDS, "ping-pong: 1000 sends succeeded");
    CHECK_EQ(events[P_PING], ROUNDS, "ping-pong: 1000 events from dom2");
    CHECK_EQ(upcalls - u0, ROUNDS, "ping-pong: 1000 upcalls");
    printf("evtchn_a: %u round trips, %u events received, %u upcalls\n", sent, events[P_PING], upcalls - u0);
    /* dom2 closes its end: halted, we wake from the hang-up event */
    CHECK(wait_until(&events[P_PING], ROUNDS + 1), "dom2 closed: the hang-up event woke us");
    CHECK_EQ(ev_status(P_PING), status_word(EVTCHN_STATE_PEER_GONE, B_DOM, 1), "STATUS(1): PEER_GONE (dom2 port 1)");
    CHECK_EQ(ev_send(P_PING), -PL_ENOTCONN, "SEND after dom2 closed: -ENOTCONN");
    CHECK_EQ(ev_send(P_PING), -PL_ENOTCONN, "SEND again: -ENOTCONN");
    CHECK_EQ(ev_unmask(P_PING), 0, "UNMASK on a PEER_GONE port");
    CHECK_EQ(ev_close(P_PING), 0, "CLOSE(1)");
    CHECK_EQ(ev_status(P_PING), EVTCHN_STATE_CLOSED, "STATUS(1): CLOSED");
}

static void test_peer_dies(void)
{
    long st = ev_status(P_DEATH);
    CHECK_EQ(st, status_word(EVTCHN_STATE_CONNECTED, B_DOM, 2), "STATUS(5): CONNECTED to dom2 port 2");
    CHECK_EQ(ev_send(P_DEATH), 0, "SEND(5): tell dom2 to exit");
    CHECK(wait_until(&events[P_DEATH], 1), "dom2's last event arrived");
    /* dom2 exits now; keep sending meanwhile: its port stays, harmlessly,
     * until its domain is destroyed, then the port is PEER_GONE */
    long r = 0;
    unsigned ok_sends = 0, i;
    for (i = 0; i < POLLS && (r = ev_send(P_DEATH)) == 0; i++) {
        ok_sends++;
        hc_yield();
    }
    printf("evtchn_a: %u sends while dom2 went away, then %ld\n", ok_sends, r);
    CHECK_EQ(r, -PL_ENOTCONN, "sending while dom2 exits: -ENOTCONN once it is gone");
    CHECK_EQ(ev_send(P_DEATH), -PL_ENOTCONN, "and again: -ENOTCONN");
    CHECK_EQ(ev_status(P_DEATH), status_word(EVTCHN_STATE_PEER_GONE, B_DOM, 2), "STATUS(5): PEER_GONE (dom2 port 2)");
    CHECK(wait_until(&events[P_DEATH], 2), "the hang-up event of dom2's end arrived: no hang");
    CHECK_EQ(ev_bind(B_DOM, 2), -PL_ESRCH, "BIND to the gone dom2: -ESRCH");
    CHECK_EQ(ev_alloc(B_DOM), -PL_ESRCH, "ALLOC_UNBOUND for the gone dom2: -ESRCH");
    CHECK_EQ(ev_close(P_DEATH), 0, "CLOSE(5)");
    CHECK_EQ(ev_close(P_HV), 0, "CLOSE(4)");
    CHECK_EQ(ev_close(P_OTHER), 0, "CLOSE(6)");
}

int main(void)
{
    cli();
    set_int_handler(VEC_EVT, on_upcall);
    set_int_handler(VEC_WATCHDOG, on_watchdog);
    CHECK_EQ(hc_set_timer(WATCHDOG_NS, VEC_WATCHDOG), 0, "watchdog armed");
    test_before_init();
    CHECK_EQ(ev_init((uint64_t)&page, VEC_EVT), 0, "INIT");
    CHECK_EQ(ev_init((uint64_t)&page, VEC_EVT), -PL_EBUSY, "INIT again: -EBUSY");
    test_ports();
    test_mask();
    test_bad_ports();
    test_ping_pong();
    test_peer_dies();
    CHECK_EQ(watchdog_fired, 0, "the watchdog never fired");
    hc_set_timer(0, VEC_WATCHDOG);
    return tests_failed();
}
