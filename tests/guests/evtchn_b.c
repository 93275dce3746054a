/* SPDX-License-Identifier: MIT */
/* Event channels, side B (dom2; evtchn_a is dom1, see there for A's ports).
 * Binds A's port 1 (retrying until A allocated it) and port 5, answers
 * 1000 events on port 1 with upcalls, checks the argument errors of BIND
 * and the others, closes its end of port 1, then waits for A's signal on
 * port 5, answers it once and exits while A keeps sending. */
#include "guest.h"
#include "plinth/evtchn.h"
#include "plinth/ioreq.h"

GUEST("evtchn_b");

#define A_DOM 1
#define SELF_DOM 2
#define VEC_EVT 0x70
#define VEC_WATCHDOG 0x71
#define ROUNDS 1000
#define WATCHDOG_NS (300ull * 1000 * 1000 * 1000)
#define POLLS 2000000
#define OUTSIDE 0xC0000000ull

#define A_PING 1     /* A's ports */
#define A_LOOP 2
#define A_HV 4
#define A_DEATH 5
#define A_OTHER 6    /* unbound for dom1 itself */

static struct plinth_evtchn_page page __attribute__((aligned(4096)));
static volatile unsigned events[EVTCHN_MAX_PORTS];
static volatile unsigned upcalls, watchdog_fired;

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

/* BIND to A's port, retrying while A (or its port) does not exist yet. */
static long bind_retrying(uint64_t port)
{
    long r = 0;
    for (unsigned i = 0; i < POLLS; i++) {
        r = ev_bind(A_DOM, port);
        if (r != -PL_ENOENT && r != -PL_ESRCH && r != -PL_ENOTCONN)
            break;
        hc_yield();
    }
    return r;
}

static void test_errors(unsigned ping)
{
    CHECK_EQ(ev_init((uint64_t)&page, VEC_EVT), -PL_EBUSY, "INIT again: -EBUSY");
    CHECK_EQ(ev_init((uint64_t)&page + 4096 * 1024, 300), -PL_EINVAL, "INIT with vector 300: -EINVAL");
    CHECK_EQ(ev_init(OUTSIDE + 4096, VEC_EVT), -PL_EFAULT, "INIT outside RAM: -EFAULT");
    CHECK_EQ(ev_bind(A_DOM, A_OTHER), -PL_EINVAL, "BIND to dom1's port meant for dom1: -EINVAL");
    CHECK_EQ(ev_bind(A_DOM, A_PING), -PL_EINVAL, "BIND to dom1's port 1, already connected: -EINVAL");
    CHECK_EQ(ev_bind(A_DOM, A_HV), -PL_EINVAL, "BIND to dom1's hypervisor port: -EINVAL");
    CHECK_EQ(ev_bind(A_DOM, 40), -PL_ENOENT, "BIND to dom1's closed port 40: -ENOENT");
    CHECK_EQ(ev_bind(A_DOM, 0), -PL_EINVAL, "BIND to dom1's port 0: -EINVAL");
    CHECK_EQ(ev_bind(A_DOM, 64), -PL_EINVAL, "BIND to dom1's port 64: -EINVAL");
    CHECK_EQ(ev_bind(999, 1), -PL_ESRCH, "BIND to dom999: -ESRCH");
    CHECK_EQ(ev_bind((1ull << 32) | A_DOM, A_DEATH), -PL_ESRCH, "BIND to dom 2^32 + 1, not truncated: -ESRCH");
    CHECK_EQ(ev_bind(DOMID_HYPERVISOR, 1), -PL_EINVAL, "BIND to DOMID_HYPERVISOR: -EINVAL");
    CHECK_EQ(ev_alloc(999), -PL_ESRCH, "ALLOC_UNBOUND for dom999: -ESRCH");
    CHECK_EQ(ev_send(0), -PL_EINVAL, "SEND(0): -EINVAL");
    CHECK_EQ(ev_send(64), -PL_EINVAL, "SEND(64): -EINVAL");
    CHECK_EQ(ev_close(0), -PL_EINVAL, "CLOSE(0): -EINVAL");
    CHECK_EQ(ev_unmask(64), -PL_EINVAL, "UNMASK(64): -EINVAL");
    CHECK_EQ(ev_status(0), -PL_EINVAL, "STATUS(0): -EINVAL");
    CHECK_EQ(ev_status(64), -PL_EINVAL, "STATUS(64): -EINVAL");
    CHECK_EQ(ev_send(40), -PL_ENOENT, "SEND on closed port 40: -ENOENT");
    CHECK_EQ(ev_close(40), -PL_ENOENT, "CLOSE of closed port 40: -ENOENT");
    CHECK_EQ(ev_unmask(40), -PL_ENOENT, "UNMASK of closed port 40: -ENOENT");
    CHECK_EQ(ev_status(40), EVTCHN_STATE_CLOSED, "STATUS(40): CLOSED");
    CHECK_EQ(ev_status(ping), status_word(EVTCHN_STATE_CONNECTED, A_DOM, A_PING), "STATUS(1): CONNECTED to dom1 port 1");
}

int main(void)
{
    cli();
    set_int_handler(VEC_EVT, on_upcall);
    set_int_handler(VEC_WATCHDOG, on_watchdog);
    CHECK_EQ(hc_set_timer(WATCHDOG_NS, VEC_WATCHDOG), 0, "watchdog armed");
    CHECK_EQ(ev_init((uint64_t)&page, VEC_EVT), 0, "INIT");

    long ping = bind_retrying(A_PING);
    CHECK_EQ(ping, 1, "BIND to dom1 port 1 (retrying until it exists): port 1");
    long death = bind_retrying(A_DEATH);
    CHECK_EQ(death, 2, "BIND to dom1 port 5: port 2");
    if (ping != 1 || death != 2)
        return tests_failed();

    /* answer every event from A */
    unsigned u0 = upcalls, sent = 0;
    bool in_time = true;
    for (unsigned i = 1; i <= ROUNDS && in_time; i++) {
        in_time = wait_until(&events[ping], i);
        if (in_time)
            sent += ev_send((uint64_t)ping) == 0;
    }
    CHECK(in_time, "ping-pong: every event arrived before the watchdog");
    CHECK_EQ(events[ping], ROUNDS, "ping-pong: 1000 events from dom1");
    CHECK_EQ(sent, ROUNDS, "ping-pong: 1000 answers sent");
    CHECK_EQ(upcalls - u0, ROUNDS, "ping-pong: 1000 upcalls");
    printf("evtchn_b: %u events received, %u answered, %u upcalls\n", events[ping], sent, upcalls - u0);

    test_errors((unsigned)ping);

    CHECK_EQ(ev_close((uint64_t)ping), 0, "CLOSE(1): dom1's port 1 loses its peer");
    CHECK_EQ(ev_status((uint64_t)ping), EVTCHN_STATE_CLOSED, "STATUS(1): CLOSED");
    CHECK_EQ(ev_send((uint64_t)ping), -PL_ENOENT, "SEND(1) after CLOSE: -ENOENT");

    /* A signals on port 5; answer once, then exit while A keeps sending */
    CHECK(wait_until(&events[death], 1), "dom1's signal on port 2 arrived");
    CHECK_EQ(ev_send((uint64_t)death), 0, "SEND(2): the last answer");
    CHECK_EQ(watchdog_fired, 0, "the watchdog never fired");
    printf("evtchn_b: exiting with port 2 connected\n");
    return tests_failed();
}
