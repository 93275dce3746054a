/* Scheduling policy tests. Most run a small discrete-event simulator: ncpus
 * CPUs, vCPUs with behaviours, a periodic 1 ms tick per CPU (optionally
 * plus the one-shot timer from sched_next_event), reschedule IPIs delivered
 * at once. The simulator measures CPU time itself (the ground truth) and
 * checks invariants after every event: a vCPU runs on one CPU at a time,
 * only on CPUs in its affinity, the scheduler's idea of the current vCPU
 * matches, credit stays within the documented bounds; at the end the
 * scheduler's runtime stats must equal the measured time exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "hv/sched.h"
#include "plinth/errno.h"

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull
#define NEVER UINT64_MAX
#define SIM_MAX_V 16
#define TICK (1 * MS)
#define EPS (20 * US) /* how long before a tick the cheaters act */

enum behav {
    SPIN,              /* never blocks */
    YIELD_BEFORE_TICK, /* spins, but yields EPS before every tick */
    BLOCK_BEFORE_TICK, /* spins, but blocks EPS before every tick, wakes EPS after */
    SLEEPER,           /* runs run_ns (CPU time), sleeps sleep_ns, repeat */
};

struct svcpu {
    struct sched_vcpu sv;
    enum behav b;
    uint64_t run_ns, sleep_ns;
    uint64_t burst_left; /* SLEEPER: CPU time left before it blocks */
    uint64_t wake_at;    /* blocked by the simulator: when it wakes */
    uint64_t action_at;  /* running: when it yields/blocks */
    uint64_t truth;      /* measured CPU time */
    uint64_t ran_on;     /* CPUs it ran on */
    uint64_t migrations;
    uint64_t woke;       /* time of the last wake not yet followed by a run */
    bool waiting;
    uint64_t max_latency, wakeups;
    uint64_t last_stop;  /* for progress gaps */
    uint64_t max_gap;
    bool ever_ran;
    bool running;
};

struct sim {
    struct sched s;
    uint32_t ncpus;
    struct svcpu *v[SIM_MAX_V];
    unsigned nv;
    struct svcpu *running[SCHED_MAX_CPUS];
    uint64_t now;
    uint64_t next_tick[SCHED_MAX_CPUS];
    uint64_t oneshot[SCHED_MAX_CPUS];
    bool use_oneshot;
    uint64_t busy[SCHED_MAX_CPUS];
    uint64_t picks, switches;
};

static struct svcpu *S(struct sched_vcpu *v)
{
    return v ? (struct svcpu *)((char *)v - offsetof(struct svcpu, sv)) : NULL;
}

static void sim_init(struct sim *m, uint32_t ncpus, bool oneshot)
{
    memset(m, 0, sizeof(*m));
    assert_int_equal(sched_init(&m->s, ncpus, SCHED_SLICE_DEFAULT_NS, SCHED_PERIOD_DEFAULT_NS), 0);
    m->ncpus = ncpus;
    m->use_oneshot = oneshot;
    for (uint32_t c = 0; c < ncpus; c++) {
        m->next_tick[c] = TICK;
        m->oneshot[c] = NEVER;
    }
}

static void dom(struct sim *m, struct sched_dom *d, uint32_t weight, uint32_t cap)
{
    assert_int_equal(sched_dom_init(&m->s, d, weight, cap), 0);
}

/* Add a vCPU; it is attached and (unless start_blocked) woken at once. */
static void add(struct sim *m, struct svcpu *sv, struct sched_dom *d, uint64_t affinity, enum behav b)
{
    memset(sv, 0, sizeof(*sv));
    assert_int_equal(sched_vcpu_init(&m->s, &sv->sv, d, affinity), 0);
    assert_int_equal(sched_vcpu_attach(&m->s, &sv->sv), 0);
    assert_int_equal(sv->sv.state, SCHED_BLOCKED);
    sv->b = b;
    sv->wake_at = NEVER;
    sv->action_at = NEVER;
    assert_true(m->nv < SIM_MAX_V);
    m->v[m->nv++] = sv;
}

static uint64_t next_grid(uint64_t t)
{
    return (t / TICK + 1) * TICK;
}

static void arm_oneshot(struct sim *m, uint32_t cpu)
{
    if (!m->use_oneshot)
        return;
    uint64_t d = sched_next_event(&m->s, cpu, m->now);
    m->oneshot[cpu] = d == SCHED_NO_EVENT ? NEVER : m->now + d;
}

static void check_invariants(struct sim *m)
{
    int64_t bound = 2 * (int64_t)m->s.period_ns;
    for (uint32_t c = 0; c < m->ncpus; c++) {
        assert_ptr_equal(m->s.cpu[c].curr, m->running[c] ? &m->running[c]->sv : NULL);
        if (m->running[c]) {
            assert_int_equal(m->running[c]->sv.state, SCHED_RUNNING);
            assert_int_equal(m->running[c]->sv.cpu, c);
        }
    }
    for (unsigned i = 0; i < m->nv; i++) {
        struct svcpu *v = m->v[i];
        assert_true(v->sv.credit <= bound);
        assert_true(v->sv.credit >= -bound);
        if (v->sv.state == SCHED_RUNNABLE)
            assert_true(v->sv.affinity & (1ull << v->sv.cpu));
        if (v->sv.state == SCHED_RUNNING)
            assert_true(v->running);
        else
            assert_false(v->running);
    }
}

/* The CPU calls sched_pick (after an IPI, a tick asking for it, a block or
 * a yield). */
static void resched(struct sim *m, uint32_t cpu)
{
    struct svcpu *prev = m->running[cpu];
    struct svcpu *v = S(sched_pick(&m->s, cpu, m->now));
    m->picks++;
    if (prev && prev != v) {
        prev->running = false;
        prev->last_stop = m->now;
        assert_int_not_equal(prev->sv.state, SCHED_RUNNING);
    }
    m->running[cpu] = v;
    if (v) {
        assert_true(v->sv.affinity & (1ull << cpu));
        for (uint32_t o = 0; o < m->ncpus; o++)
            if (o != cpu)
                assert_ptr_not_equal(m->running[o], v);
        assert_int_equal(v->sv.cpu, cpu);
        if (v != prev) {
            m->switches++;
            v->ran_on |= 1ull << cpu;
            if (v->sv.last_cpu >= 0 && v->sv.last_cpu != (int)cpu)
                v->migrations++;
            if (v->ever_ran && m->now - v->last_stop > v->max_gap && !v->waiting)
                v->max_gap = m->now - v->last_stop;
            v->ever_ran = true;
            v->running = true;
        }
        if (v->waiting) {
            v->waiting = false;
            if (m->now - v->woke > v->max_latency)
                v->max_latency = m->now - v->woke;
        }
        switch (v->b) {
        case SPIN:
            v->action_at = NEVER;
            break;
        case SLEEPER:
            v->action_at = m->now + v->burst_left;
            break;
        case YIELD_BEFORE_TICK:
        case BLOCK_BEFORE_TICK: {
            uint64_t t = next_grid(m->now) - EPS;
            if (t <= m->now)
                t += TICK;
            v->action_at = t;
            break;
        }
        }
    }
    arm_oneshot(m, cpu);
}

static void do_wake(struct sim *m, struct svcpu *v)
{
    v->wake_at = NEVER;
    v->woke = m->now;
    v->waiting = true;
    v->wakeups++;
    int k = sched_wake(&m->s, &v->sv, m->now);
    if (k >= 0)
        resched(m, (uint32_t)k);
}

static void do_kicks(struct sim *m)
{
    for (int round = 0; round < 8; round++) {
        uint64_t k = sched_take_kicks(&m->s);
        if (!k)
            return;
        for (uint32_t c = 0; c < m->ncpus; c++)
            if (k & (1ull << c))
                resched(m, c);
    }
    fail_msg("kicks do not settle");
}

static void tick(struct sim *m, uint32_t c)
{
    if (sched_tick(&m->s, c, m->now)) {
        resched(m, c);
    } else {
        arm_oneshot(m, c);
        if (m->use_oneshot)
            assert_true(m->oneshot[c] > m->now); /* no timer storm */
    }
}

static void sim_run(struct sim *m, uint64_t end)
{
    while (m->now < end) {
        uint64_t t = end;
        for (uint32_t c = 0; c < m->ncpus; c++) {
            t = t < m->next_tick[c] ? t : m->next_tick[c];
            t = t < m->oneshot[c] ? t : m->oneshot[c];
            if (m->running[c])
                t = t < m->running[c]->action_at ? t : m->running[c]->action_at;
        }
        for (unsigned i = 0; i < m->nv; i++)
            t = t < m->v[i]->wake_at ? t : m->v[i]->wake_at;
        assert_true(t >= m->now);
        uint64_t dt = t - m->now;
        for (uint32_t c = 0; c < m->ncpus; c++) {
            struct svcpu *r = m->running[c];
            if (!r)
                continue;
            r->truth += dt;
            m->busy[c] += dt;
            if (r->b == SLEEPER)
                r->burst_left -= dt;
        }
        m->now = t;
        if (t == end)
            break;

        for (unsigned i = 0; i < m->nv; i++)
            if (m->v[i]->wake_at <= m->now)
                do_wake(m, m->v[i]);
        for (uint32_t c = 0; c < m->ncpus; c++) {
            struct svcpu *r = m->running[c];
            if (!r || r->action_at > m->now)
                continue;
            r->action_at = NEVER;
            switch (r->b) {
            case SLEEPER:
                assert_int_equal(sched_block(&m->s, &r->sv, m->now), 0);
                r->burst_left = r->run_ns;
                r->wake_at = m->now + r->sleep_ns;
                break;
            case BLOCK_BEFORE_TICK:
                assert_int_equal(sched_block(&m->s, &r->sv, m->now), 0);
                r->wake_at = m->now + 2 * EPS;
                break;
            case YIELD_BEFORE_TICK:
                assert_int_equal(sched_cpu_yield(&m->s, c, m->now), 0);
                break;
            case SPIN:
                break;
            }
            resched(m, c);
        }
        for (uint32_t c = 0; c < m->ncpus; c++) {
            if (m->next_tick[c] <= m->now) {
                m->next_tick[c] += TICK;
                tick(m, c);
            }
            if (m->oneshot[c] <= m->now) {
                m->oneshot[c] = NEVER;
                tick(m, c);
            }
        }
        do_kicks(m);
        check_invariants(m);
    }
}

/* Start: wake every vCPU that is blocked (not by its behaviour). */
static void sim_start(struct sim *m)
{
    for (unsigned i = 0; i < m->nv; i++) {
        struct svcpu *v = m->v[i];
        v->burst_left = v->run_ns;
        if (v->sv.state == SCHED_BLOCKED)
            do_wake(m, v);
    }
    do_kicks(m);
    check_invariants(m);
}

/* The scheduler's stats must equal the measured CPU time exactly. */
static void check_stats(struct sim *m)
{
    for (unsigned i = 0; i < m->nv; i++)
        assert_int_equal(sched_vcpu_runtime(&m->s, &m->v[i]->sv, m->now), m->v[i]->truth);
}

static uint64_t dom_truth(struct sim *m, const struct sched_dom *d)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < m->nv; i++)
        if (m->v[i]->sv.dom == d)
            t += m->v[i]->truth;
    return t;
}

/* CPUs' worth of time used over the window. */
static double cpus(uint64_t t, uint64_t window)
{
    return (double)t / (double)window;
}

static void assert_near(double got, double want, double rel, const char *what)
{
    double lo = want * (1.0 - rel), hi = want * (1.0 + rel);
    if (got < lo || got > hi)
        fail_msg("%s: %.4f CPUs, want %.4f +- %.1f%%", what, got, want, rel * 100);
}

/* ------------------------------------------------------------ tests */

/* 1. Weights 1:2:1, one vCPU each, 2 CPUs. Capacity is split 25/50/25 %,
 * i.e. 0.5 / 1.0 / 0.5 CPU: the heavy domain can use its whole share with
 * its single vCPU. Guarantee checked: each within 5 % (relative) of that,
 * and no CPU time is wasted. */
static void test_weights_1_2_1(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom da, db, dc;
    struct svcpu a, b, c;
    sim_init(&m, 2, true);
    dom(&m, &da, 256, 0);
    dom(&m, &db, 512, 0);
    dom(&m, &dc, 256, 0);
    add(&m, &a, &da, ~0ull, SPIN);
    add(&m, &b, &db, ~0ull, SPIN);
    add(&m, &c, &dc, ~0ull, SPIN);
    sim_start(&m);
    sim_run(&m, 10 * SEC);
    check_stats(&m);
    double ca = cpus(a.truth, m.now), cb = cpus(b.truth, m.now), cc = cpus(c.truth, m.now);
    print_message("weights 1:2:1 on 2 CPUs: %.3f / %.3f / %.3f CPU (%.1f/%.1f/%.1f %% of capacity)\n", ca, cb, cc,
                  ca * 50, cb * 50, cc * 50);
    assert_near(ca, 0.5, 0.05, "weight 1 (a)");
    assert_near(cb, 1.0, 0.05, "weight 2");
    assert_near(cc, 0.5, 0.05, "weight 1 (c)");
    assert_true(m.busy[0] + m.busy[1] == 2 * m.now); /* work conserving */
    assert_int_equal(sched_dom_runtime(&m.s, &db, m.now), b.truth);
}

/* Weights that a single vCPU cannot use up: 1:1:2 with the heavy domain
 * having two vCPUs on 2 CPUs -> 0.5 / 0.5 / 1.0, and 3:1 with one vCPU each
 * on 1 CPU -> 0.75 / 0.25. */
static void test_weights_other_mixes(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom da, db;
    struct svcpu a, b;
    sim_init(&m, 1, false);
    dom(&m, &da, 768, 0);
    dom(&m, &db, 256, 0);
    add(&m, &a, &da, ~0ull, SPIN);
    add(&m, &b, &db, ~0ull, SPIN);
    sim_start(&m);
    sim_run(&m, 10 * SEC);
    check_stats(&m);
    print_message("weights 3:1 on 1 CPU: %.3f / %.3f CPU\n", cpus(a.truth, m.now), cpus(b.truth, m.now));
    assert_near(cpus(a.truth, m.now), 0.75, 0.05, "weight 3");
    assert_near(cpus(b.truth, m.now), 0.25, 0.05, "weight 1");

    static struct sim m2;
    struct sched_dom d1, d2, d3;
    struct svcpu x, y, z1, z2;
    sim_init(&m2, 2, true);
    dom(&m2, &d1, 100, 0);
    dom(&m2, &d2, 100, 0);
    dom(&m2, &d3, 200, 0);
    add(&m2, &x, &d1, ~0ull, SPIN);
    add(&m2, &y, &d2, ~0ull, SPIN);
    add(&m2, &z1, &d3, ~0ull, SPIN);
    add(&m2, &z2, &d3, ~0ull, SPIN);
    sim_start(&m2);
    sim_run(&m2, 10 * SEC);
    check_stats(&m2);
    double c1 = cpus(dom_truth(&m2, &d1), m2.now), c2 = cpus(dom_truth(&m2, &d2), m2.now),
           c3 = cpus(dom_truth(&m2, &d3), m2.now);
    print_message("weights 1:1:2 (2 vCPUs) on 2 CPUs: %.3f / %.3f / %.3f CPU\n", c1, c2, c3);
    assert_near(c1, 0.5, 0.05, "d1");
    assert_near(c2, 0.5, 0.05, "d2");
    assert_near(c3, 1.0, 0.05, "d3");
    assert_near(cpus(z1.truth, m2.now), 0.5, 0.05, "d3 vcpu 0");
    assert_near(cpus(z2.truth, m2.now), 0.5, 0.05, "d3 vcpu 1");
}

/* 2. Four spinning domains, equal weights, 2 CPUs: 0.5 CPU each. */
static void test_equal_weights_four_on_two(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom d[4];
    struct svcpu v[4];
    sim_init(&m, 2, false);
    for (int i = 0; i < 4; i++) {
        dom(&m, &d[i], SCHED_WEIGHT_DEFAULT, 0);
        add(&m, &v[i], &d[i], ~0ull, SPIN);
    }
    sim_start(&m);
    sim_run(&m, 10 * SEC);
    check_stats(&m);
    print_message("4 x weight 1 on 2 CPUs: %.3f %.3f %.3f %.3f CPU\n", cpus(v[0].truth, m.now),
                  cpus(v[1].truth, m.now), cpus(v[2].truth, m.now), cpus(v[3].truth, m.now));
    for (int i = 0; i < 4; i++)
        assert_near(cpus(v[i].truth, m.now), 0.5, 0.05, "equal share");
    assert_true(m.busy[0] + m.busy[1] == 2 * m.now);
}

/* 3a. The yield game: yielding EPS before every tick (and so before every
 * slice end) against an honest spinner of equal weight on one CPU. The
 * yielder gets no more than its half (5 % tolerance); the spinner no less. */
static void test_yield_game(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom dy, dh;
    struct svcpu y, h;
    sim_init(&m, 1, false);
    dom(&m, &dy, 256, 0);
    dom(&m, &dh, 256, 0);
    add(&m, &y, &dy, ~0ull, YIELD_BEFORE_TICK);
    add(&m, &h, &dh, ~0ull, SPIN);
    sim_start(&m);
    sim_run(&m, 10 * SEC);
    check_stats(&m);
    double cy = cpus(y.truth, m.now), ch = cpus(h.truth, m.now);
    print_message("yield game on 1 CPU: yielder %.3f, spinner %.3f CPU\n", cy, ch);
    assert_true(cy <= 0.5 * 1.05);
    assert_true(ch >= 0.5 * 0.95);
    assert_true(y.truth + h.truth == m.now);
}

/* 3b. The tick game: sleeping across every tick (block EPS before, wake EPS
 * after), which beats a scheduler that charges whoever is running at the
 * tick. Exact charging: no more than half. */
static void test_tick_game(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom dy, dh;
    struct svcpu y, h;
    sim_init(&m, 1, false);
    dom(&m, &dy, 256, 0);
    dom(&m, &dh, 256, 0);
    add(&m, &y, &dy, ~0ull, BLOCK_BEFORE_TICK);
    add(&m, &h, &dh, ~0ull, SPIN);
    sim_start(&m);
    sim_run(&m, 10 * SEC);
    check_stats(&m);
    double cy = cpus(y.truth, m.now), ch = cpus(h.truth, m.now);
    print_message("tick game on 1 CPU: cheater %.3f, spinner %.3f CPU\n", cy, ch);
    assert_true(cy <= 0.5 * 1.05);
    assert_true(ch >= 0.5 * 0.95);
}

/* 4. Caps: 25 % on an otherwise idle 2-CPU machine, 150 % with two vCPUs,
 * and 30 % against a competitor. Never above cap + 1 % of a CPU; not far
 * below it either (the cap is not a starvation). */
static void test_caps(void **state)
{
    (void)state;
    /* Alone on idle CPUs, with the one-shot timer (stops exactly at the
     * budget) and with the 1 ms tick only (the 7.5 ms budget ends between
     * ticks: the overrun is carried into the next period as debt). */
    for (int oneshot = 1; oneshot >= 0; oneshot--) {
        static struct sim m;
        struct sched_dom dc;
        struct svcpu c;
        sim_init(&m, 2, oneshot);
        dom(&m, &dc, 256, 25);
        add(&m, &c, &dc, ~0ull, SPIN);
        sim_start(&m);
        sim_run(&m, 10 * SEC);
        check_stats(&m);
        double cc = cpus(c.truth, m.now);
        print_message("cap 25 %% alone on 2 CPUs (%s): %.4f CPU\n", oneshot ? "one-shot timer" : "1 ms tick only",
                      cc);
        assert_true(cc <= 0.25 + 0.01);
        assert_true(cc >= 0.25 - 0.01);
    }

    static struct sim m2;
    struct sched_dom d2;
    struct svcpu v1, v2;
    sim_init(&m2, 2, true);
    dom(&m2, &d2, 256, 150);
    add(&m2, &v1, &d2, ~0ull, SPIN);
    add(&m2, &v2, &d2, ~0ull, SPIN);
    sim_start(&m2);
    sim_run(&m2, 10 * SEC);
    check_stats(&m2);
    double c2 = cpus(dom_truth(&m2, &d2), m2.now);
    print_message("cap 150 %% with 2 vCPUs on 2 CPUs: %.4f CPU\n", c2);
    assert_true(c2 <= 1.5 + 0.01);
    assert_true(c2 >= 1.5 - 0.01);

    /* Capped at 25 % with weight 4x a competitor on 1 CPU (whose share
     * would be 80 %): gets its cap, the rest goes to the competitor. */
    for (int oneshot = 0; oneshot < 2; oneshot++) {
        static struct sim m3;
        struct sched_dom dk, dx;
        struct svcpu k, x;
        sim_init(&m3, 1, oneshot);
        dom(&m3, &dk, 1024, 25);
        dom(&m3, &dx, 256, 0);
        add(&m3, &k, &dk, ~0ull, SPIN);
        add(&m3, &x, &dx, ~0ull, SPIN);
        sim_start(&m3);
        sim_run(&m3, 10 * SEC);
        check_stats(&m3);
        double ck = cpus(k.truth, m3.now), cx = cpus(x.truth, m3.now);
        print_message("cap 25 %% weight 4 vs weight 1 on 1 CPU (%s): %.4f / %.4f CPU\n",
                      oneshot ? "one-shot timer" : "1 ms tick only", ck, cx);
        assert_true(ck <= 0.25 + 0.01);
        assert_true(ck >= 0.25 - 0.01);
        assert_true(k.truth + x.truth == m3.now);
    }
}

/* 5. Affinity: a vCPU pinned to CPU 1 never runs on CPU 0 despite load;
 * re-pinning it to CPU 0 (while it runs) moves it there. */
static void test_affinity(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom dp, d1, d2;
    struct svcpu p, a, b;
    sim_init(&m, 2, false);
    dom(&m, &dp, 256, 0);
    dom(&m, &d1, 256, 0);
    dom(&m, &d2, 256, 0);
    add(&m, &p, &dp, 1ull << 1, SPIN);
    add(&m, &a, &d1, ~0ull, SPIN);
    add(&m, &b, &d2, ~0ull, SPIN);
    sim_start(&m);
    sim_run(&m, 5 * SEC);
    check_stats(&m);
    assert_int_equal(p.ran_on, 1ull << 1);
    assert_true(a.ran_on == 3 || b.ran_on == 3); /* others do move */
    print_message("pinned to CPU 1: %.3f CPU; free: %.3f / %.3f CPU\n", cpus(p.truth, m.now),
                  cpus(a.truth, m.now), cpus(b.truth, m.now));
    /* Equal weights: 2/3 CPU each is feasible (the free vCPUs use CPU 0
     * fully and a third of CPU 1). */
    assert_near(cpus(p.truth, m.now), 2.0 / 3, 0.05, "pinned");

    /* Re-pin while running. */
    while (!p.running)
        sim_run(&m, m.now + 100 * US);
    assert_int_equal(sched_set_affinity(&m.s, &p.sv, 1ull << 0), 0);
    do_kicks(&m);
    assert_false(p.running && p.sv.cpu == 1);
    assert_int_equal(p.sv.cpu, 0);
    p.ran_on = 0;
    uint64_t before = p.truth, t0 = m.now;
    sim_run(&m, m.now + 5 * SEC);
    check_stats(&m);
    assert_int_equal(p.ran_on, 1ull << 0);
    assert_true(p.migrations >= 1);
    assert_near(cpus(p.truth - before, m.now - t0), 2.0 / 3, 0.05, "re-pinned");

    /* Bad masks change nothing. */
    assert_int_equal(sched_set_affinity(&m.s, &p.sv, 0), -PL_EINVAL);
    assert_int_equal(sched_set_affinity(&m.s, &p.sv, 1ull << 5), -PL_EINVAL);
    assert_int_equal(p.sv.affinity, 1ull << 0);
}

/* 6. Load balancing: four vCPUs all queued on CPU 0 (pinned there while
 * woken, then allowed everywhere); the idle CPU 1 steals and both CPUs stay
 * busy. */
static void test_load_balance(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom d[4];
    struct svcpu v[4];
    sim_init(&m, 2, false);
    for (int i = 0; i < 4; i++) {
        dom(&m, &d[i], SCHED_WEIGHT_DEFAULT, 0);
        add(&m, &v[i], &d[i], 1ull << 0, SPIN);
    }
    for (int i = 0; i < 4; i++) {
        int k = sched_wake(&m.s, &v[i].sv, 0);
        assert_true(k == -1 || k == 0);
        assert_int_equal(v[i].sv.cpu, 0);
    }
    assert_int_equal(m.s.cpu[0].nr_queued, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sched_set_affinity(&m.s, &v[i].sv, 3), 0);
    assert_int_equal(m.s.cpu[0].nr_queued, 4); /* still allowed: not moved */
    resched(&m, 0);                             /* CPU 0 runs one; CPU 1 never kicked here */
    (void)sched_take_kicks(&m.s);
    assert_null(m.running[1]);
    /* CPU 1's next tick finds work to steal. */
    assert_true(sched_tick(&m.s, 1, 0));
    resched(&m, 1);
    assert_non_null(m.running[1]);
    assert_int_equal(m.running[1]->sv.cpu, 1);
    sim_run(&m, 10 * SEC);
    check_stats(&m);
    print_message("all queued on CPU 0: busy %.4f / %.4f; shares %.3f %.3f %.3f %.3f CPU\n",
                  cpus(m.busy[0], m.now), cpus(m.busy[1], m.now), cpus(v[0].truth, m.now),
                  cpus(v[1].truth, m.now), cpus(v[2].truth, m.now), cpus(v[3].truth, m.now));
    assert_true(m.busy[0] == m.now && m.busy[1] == m.now);
    int on1 = 0;
    for (int i = 0; i < 4; i++) {
        assert_near(cpus(v[i].truth, m.now), 0.5, 0.05, "balanced share");
        on1 += (v[i].ran_on >> 1) & 1;
    }
    assert_true(on1 >= 2); /* 1 CPU of work at 0.5 CPU each moved over */

    /* An idle CPU is kicked when work queues up behind a busy one. */
    static struct sim m2;
    struct sched_dom e;
    struct svcpu w[2];
    sim_init(&m2, 2, false);
    dom(&m2, &e, 256, 0);
    add(&m2, &w[0], &e, 1ull << 0, SPIN);
    add(&m2, &w[1], &e, 1ull << 0, SPIN);
    sim_start(&m2);
    assert_int_equal(m2.s.cpu[0].nr_queued, 1);
    assert_int_equal(sched_set_affinity(&m2.s, &w[1].sv, 3), 0);
    assert_int_equal(sched_take_kicks(&m2.s), 1ull << 1); /* idle CPU 1 may take it now */
    resched(&m2, 1);
    assert_ptr_equal(m2.running[1], &w[1]);
    assert_int_equal(w[1].sv.last_cpu, SCHED_NO_CPU);
}

/* 7. Overcommit: 6 vCPUs (3 domains x 2) on 2 CPUs all progress, equally,
 * and none waits long. */
static void test_overcommit(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom d[3];
    struct svcpu v[6];
    sim_init(&m, 2, true);
    for (int i = 0; i < 3; i++)
        dom(&m, &d[i], SCHED_WEIGHT_DEFAULT, 0);
    for (int i = 0; i < 6; i++)
        add(&m, &v[i], &d[i / 2], ~0ull, SPIN);
    sim_start(&m);
    sim_run(&m, 10 * SEC);
    check_stats(&m);
    uint64_t gap = 0;
    for (int i = 0; i < 6; i++) {
        print_message("overcommit vcpu %d: %.3f CPU, longest wait %.1f ms\n", i, cpus(v[i].truth, m.now),
                      (double)v[i].max_gap / MS);
        assert_near(cpus(v[i].truth, m.now), 1.0 / 3, 0.05, "overcommit share");
        gap = v[i].max_gap > gap ? v[i].max_gap : gap;
    }
    /* Round robin among 3 per CPU, 10 ms slices: two slices plus a tick. */
    assert_true(gap <= 2 * m.s.slice_ns + TICK);
}

/* 8a. Blocked vCPUs use nothing and earn nothing; their domain's weight does
 * not dilute the others. */
static void test_blocked_consume_nothing(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom da, db;
    struct svcpu a, b;
    sim_init(&m, 1, false);
    dom(&m, &da, 256, 0);
    dom(&m, &db, 256, 0);
    add(&m, &a, &da, ~0ull, SPIN);
    add(&m, &b, &db, ~0ull, SPIN);
    do_wake(&m, &a); /* b is attached but never woken: blocked forever */
    /* just past a period boundary (periods start at 0) */
    sim_run(&m, 167 * m.s.period_ns + 500 * US);
    check_stats(&m);
    assert_int_equal(b.truth, 0);
    assert_int_equal(b.sv.credit, 0);
    assert_int_equal(sched_dom_runtime(&m.s, &db, m.now), 0);
    assert_int_equal(a.truth, m.now);
    /* a earns the whole machine (one period per period, what it uses), so
     * its credit is back at its starting level (0) at every boundary; had
     * b's weight counted, a would earn half and sit half a period lower. */
    print_message("lone spinner credit just after a boundary: %.3f ms\n", (double)a.sv.credit / MS);
    assert_true(a.sv.credit >= -(int64_t)MS);
}

/* 8b. A sleeper (1 ms of work every 20 ms) among spinners on 2 CPUs gets all
 * it asks for, and runs within one slice of waking. */
static void test_sleeper_latency(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom d[4], ds;
    struct svcpu v[4], sl;
    sim_init(&m, 2, true);
    for (int i = 0; i < 4; i++) {
        dom(&m, &d[i], SCHED_WEIGHT_DEFAULT, 0);
        add(&m, &v[i], &d[i], ~0ull, SPIN);
    }
    dom(&m, &ds, SCHED_WEIGHT_DEFAULT, 0);
    add(&m, &sl, &ds, ~0ull, SLEEPER);
    sl.run_ns = 1 * MS;
    sl.sleep_ns = 20 * MS;
    sim_start(&m);
    sim_run(&m, 10 * SEC);
    check_stats(&m);
    double want = (double)sl.run_ns / (double)(sl.run_ns + sl.sleep_ns);
    print_message("sleeper: %.4f CPU (wants %.4f), %llu wakeups, max wake latency %.3f ms\n",
                  cpus(sl.truth, m.now), want, (unsigned long long)sl.wakeups, (double)sl.max_latency / MS);
    assert_near(cpus(sl.truth, m.now), want, 0.05, "sleeper gets what it asks");
    assert_true(sl.max_latency <= m.s.slice_ns);
    assert_true(sl.wakeups > 400);
    for (int i = 0; i < 4; i++)
        assert_near(cpus(v[i].truth, m.now), (2.0 - want) / 4, 0.05, "spinners share the rest");
}

/* 8c. Queue order (white box: standings set through credit): a woken
 * UNDER vCPU goes ahead of UNDER vCPUs already waiting, so it runs when the
 * current slice ends at the latest; a yielder goes behind its equals. */
static void test_wake_and_yield_order(void **state)
{
    (void)state;
    struct sched s;
    struct sched_dom d;
    struct sched_vcpu a, b, w;
    assert_int_equal(sched_init(&s, 1, 10 * MS, 30 * MS), 0);
    sched_dom_init(&s, &d, 256, 0);
    sched_vcpu_init(&s, &a, &d, 1);
    sched_vcpu_init(&s, &b, &d, 1);
    sched_vcpu_init(&s, &w, &d, 1);
    sched_vcpu_attach(&s, &a);
    sched_vcpu_attach(&s, &b);
    sched_vcpu_attach(&s, &w);
    assert_int_equal(sched_wake(&s, &a, 0), 0);
    assert_int_equal(sched_wake(&s, &b, 0), 0);
    a.credit = b.credit = w.credit = 20 * MS; /* all UNDER */
    assert_ptr_equal(sched_pick(&s, 0, 0), &a);
    /* a yields at 1 ms: still UNDER, but b (equal standing) goes first */
    assert_int_equal(sched_cpu_yield(&s, 0, 1 * MS), 0);
    assert_true(sched_tick(&s, 0, 1 * MS));
    assert_ptr_equal(sched_pick(&s, 0, 1 * MS), &b);
    assert_int_equal(a.runtime, 1 * MS);
    /* w wakes while b runs UNDER with a waiting UNDER: no preemption ... */
    assert_int_equal(sched_wake(&s, &w, 2 * MS), -1);
    assert_false(sched_tick(&s, 0, 5 * MS));
    /* ... but it is next when b's slice ends, ahead of a */
    assert_true(sched_tick(&s, 0, 11 * MS));
    assert_ptr_equal(sched_pick(&s, 0, 11 * MS), &w);
    assert_true(sched_tick(&s, 0, 21 * MS));
    assert_ptr_equal(sched_pick(&s, 0, 21 * MS), &a);
    /* a yielder alone in the best standing keeps the CPU (nothing to give
     * way to), but with a fresh slice it has paid for in full */
    b.credit = w.credit = -(int64_t)MS;
    assert_int_equal(sched_cpu_yield(&s, 0, 22 * MS), 0);
    assert_ptr_equal(sched_pick(&s, 0, 22 * MS), &a);
    assert_int_equal(a.runtime, 2 * MS);
}

/* 8d. Banked credit is clamped: a vCPU that used little for 5 s and then
 * spins does not monopolise the CPU: over the next 300 ms it gets at most
 * its half plus the clamp (<= 2 periods) plus a slice. */
static void test_banked_credit_clamped(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom ds, dh;
    struct svcpu sl, h;
    sim_init(&m, 1, true);
    dom(&m, &ds, 256, 0);
    dom(&m, &dh, 256, 0);
    add(&m, &sl, &ds, ~0ull, SLEEPER);
    add(&m, &h, &dh, ~0ull, SPIN);
    sl.run_ns = 500 * US;
    sl.sleep_ns = 10 * MS;
    sim_start(&m);
    sim_run(&m, 5 * SEC);
    check_stats(&m);
    /* it was active every period but used ~5 %: credit sits at the clamp */
    int64_t p = (int64_t)m.s.period_ns;
    assert_true(sl.sv.credit <= 2 * p);
    assert_true(sl.sv.credit > p / 2);
    print_message("sleeper credit after 5 s: %.1f ms (period %.0f ms)\n", (double)sl.sv.credit / MS,
                  (double)p / MS);
    sl.b = SPIN;
    if (sl.running)
        sl.action_at = NEVER;
    uint64_t s0 = sl.truth, t0 = m.now;
    sim_run(&m, m.now + 300 * MS);
    uint64_t got = sl.truth - s0;
    print_message("former sleeper spinning: %.1f ms of the next 300 ms\n", (double)got / MS);
    assert_true(got <= 150 * MS + 2 * m.s.period_ns + m.s.slice_ns);
    assert_true(got >= 150 * MS); /* it did have credit to spend */
    /* and in the long run they are even again */
    s0 = sl.truth;
    t0 = m.now;
    sim_run(&m, m.now + 5 * SEC);
    assert_near(cpus(sl.truth - s0, m.now - t0), 0.5, 0.05, "long run");
    check_stats(&m);
}

/* 9. Pause/unpause. */
static void test_pause_unpause(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom da, db;
    struct svcpu a, b;
    sim_init(&m, 1, false);
    dom(&m, &da, 256, 0);
    dom(&m, &db, 256, 0);
    add(&m, &a, &da, ~0ull, SPIN);
    add(&m, &b, &db, ~0ull, SPIN);
    sim_start(&m);
    sim_run(&m, 1 * SEC);
    /* pause whichever runs: it keeps RUNNING until its CPU picks */
    struct svcpu *r = m.running[0], *o = r == &a ? &b : &a;
    assert_non_null(r);
    assert_int_equal(sched_pause(&m.s, &r->sv), 0);
    assert_int_equal(r->sv.state, SCHED_RUNNING);
    assert_true(sched_tick(&m.s, 0, m.now));
    assert_int_equal(sched_next_event(&m.s, 0, m.now), 0);
    resched(&m, 0);
    assert_int_equal(r->sv.state, SCHED_PAUSED);
    assert_ptr_equal(m.running[0], o);
    uint64_t rt = r->truth, ot = o->truth, t0 = m.now;
    sim_run(&m, m.now + 1 * SEC);
    assert_int_equal(r->truth, rt);
    assert_int_equal(o->truth - ot, m.now - t0);
    /* wake while paused is remembered but does not run it */
    assert_int_equal(sched_wake(&m.s, &r->sv, m.now), -1);
    assert_int_equal(r->sv.state, SCHED_PAUSED);
    /* pausing the queued... unpause -> runnable, runs again */
    int k = sched_unpause(&m.s, &r->sv);
    assert_int_equal(r->sv.state, SCHED_RUNNABLE);
    if (k >= 0)
        resched(&m, (uint32_t)k);
    rt = r->truth;
    t0 = m.now;
    sim_run(&m, m.now + 2 * SEC);
    assert_near(cpus(r->truth - rt, m.now - t0), 0.5, 0.05, "after unpause");
    check_stats(&m);

    /* pause a queued vCPU: off the queue at once */
    struct svcpu *q = m.running[0] == &a ? &b : &a;
    assert_int_equal(q->sv.state, SCHED_RUNNABLE);
    assert_int_equal(sched_pause(&m.s, &q->sv), -1);
    assert_int_equal(q->sv.state, SCHED_PAUSED);
    assert_int_equal(m.s.cpu[0].nr_queued, 0);
    assert_false(sched_tick(&m.s, 0, m.now)); /* nothing to switch to */
    /* double pause is no-op; unpause of a never-blocked paused -> runnable */
    assert_int_equal(sched_pause(&m.s, &q->sv), -1);
    k = sched_unpause(&m.s, &q->sv);
    assert_int_equal(q->sv.state, SCHED_RUNNABLE);
    assert_int_equal(m.s.cpu[0].nr_queued, 1);
    if (k >= 0)
        resched(&m, (uint32_t)k);
    assert_int_equal(sched_unpause(&m.s, &q->sv), -1); /* not paused */

    /* paused while blocked, unpaused without a wake: stays blocked */
    struct sched_dom dz;
    struct svcpu z;
    dom(&m, &dz, 256, 0);
    add(&m, &z, &dz, ~0ull, SPIN);
    assert_int_equal(sched_pause(&m.s, &z.sv), -1);
    assert_int_equal(z.sv.state, SCHED_PAUSED);
    assert_int_equal(sched_unpause(&m.s, &z.sv), -1);
    assert_int_equal(z.sv.state, SCHED_BLOCKED);
    /* blocked -> paused -> woken -> still paused -> unpaused -> runnable */
    sched_pause(&m.s, &z.sv);
    sched_wake(&m.s, &z.sv, m.now);
    assert_int_equal(z.sv.state, SCHED_PAUSED);
    sched_unpause(&m.s, &z.sv);
    assert_int_equal(z.sv.state, SCHED_RUNNABLE);
    /* ... and a block while paused cancels the remembered wake */
    sched_pause(&m.s, &z.sv);
    assert_int_equal(sched_block(&m.s, &z.sv, m.now), 0);
    sched_unpause(&m.s, &z.sv);
    assert_int_equal(z.sv.state, SCHED_BLOCKED);

    /* pause pending then cancelled by unpause keeps it running */
    r = m.running[0];
    assert_int_equal(sched_pause(&m.s, &r->sv), 0);
    assert_int_equal(sched_unpause(&m.s, &r->sv), -1);
    resched(&m, 0);
    assert_int_not_equal(r->sv.state, SCHED_PAUSED);
    check_invariants(&m);

    /* a running vCPU with a pause pending that blocks ends PAUSED, and
     * unpausing it leaves it blocked */
    r = m.running[0];
    sched_pause(&m.s, &r->sv);
    assert_int_equal(sched_block(&m.s, &r->sv, m.now), 0);
    assert_int_equal(r->sv.state, SCHED_PAUSED);
    r->action_at = NEVER;
    resched(&m, 0);
    assert_int_equal(sched_unpause(&m.s, &r->sv), -1);
    assert_int_equal(r->sv.state, SCHED_BLOCKED);
}

/* Detach/attach lifecycle, yield and block error cases. */
static void test_attach_detach(void **state)
{
    (void)state;
    static struct sim m;
    struct sched_dom d;
    struct svcpu a, b;
    sim_init(&m, 1, false);
    dom(&m, &d, 256, 0);
    add(&m, &a, &d, ~0ull, SPIN);
    add(&m, &b, &d, ~0ull, SPIN);
    assert_int_equal(sched_vcpu_attach(&m.s, &a.sv), -PL_EEXIST);
    sim_start(&m);
    sim_run(&m, 100 * MS);
    struct svcpu *r = m.running[0], *q = r == &a ? &b : &a;
    assert_int_equal(sched_vcpu_detach(&m.s, &r->sv), -PL_EBUSY);
    assert_int_equal(sched_vcpu_detach(&m.s, &q->sv), 0); /* queued: fine */
    assert_int_equal(q->sv.state, SCHED_OFFLINE);
    assert_int_equal(m.s.cpu[0].nr_queued, 0);
    assert_int_equal(sched_vcpu_detach(&m.s, &q->sv), -PL_EINVAL);
    assert_int_equal(sched_block(&m.s, &q->sv, m.now), -PL_EINVAL);
    assert_int_equal(sched_wake(&m.s, &q->sv, m.now), -1);
    /* the running one: pause, pick, detach */
    assert_int_equal(sched_pause(&m.s, &r->sv), 0);
    resched(&m, 0);
    assert_null(m.running[0]);
    assert_int_equal(sched_vcpu_detach(&m.s, &r->sv), 0);
    assert_int_equal(d.nr_vcpus, 0);
    assert_int_equal(sched_cpu_yield(&m.s, 0, m.now), -PL_EINVAL); /* idle */
    assert_int_equal(sched_cpu_yield(&m.s, 7, m.now), -PL_EINVAL);
    assert_null(sched_pick(&m.s, 1, m.now));
    assert_false(sched_tick(&m.s, 1, m.now));
    uint64_t total = a.truth + b.truth;
    assert_int_equal(d.runtime, total);
    assert_int_equal(sched_dom_runtime(&m.s, &d, m.now), total);
    assert_int_equal(total, 100 * MS);
    /* attach again */
    assert_int_equal(sched_vcpu_attach(&m.s, &a.sv), 0);
    assert_true(sched_wake(&m.s, &a.sv, m.now) == 0);
    resched(&m, 0);
    assert_ptr_equal(m.running[0], &a);
}

/* 10. Bad arguments. */
static void test_bad_args(void **state)
{
    (void)state;
    struct sched s;
    struct sched_dom d;
    struct sched_vcpu v;
    assert_int_equal(sched_init(&s, 0, SCHED_SLICE_DEFAULT_NS, SCHED_PERIOD_DEFAULT_NS), -PL_EINVAL);
    assert_int_equal(sched_init(&s, 65, SCHED_SLICE_DEFAULT_NS, SCHED_PERIOD_DEFAULT_NS), -PL_EINVAL);
    assert_int_equal(sched_init(&s, 2, 0, SCHED_PERIOD_DEFAULT_NS), -PL_EINVAL);
    assert_int_equal(sched_init(&s, 2, SCHED_SLICE_MIN_NS - 1, SCHED_PERIOD_DEFAULT_NS), -PL_EINVAL);
    assert_int_equal(sched_init(&s, 2, 10 * MS, 9 * MS), -PL_EINVAL);
    assert_int_equal(sched_init(&s, 2, 10 * MS, SCHED_PERIOD_MAX_NS + 1), -PL_EINVAL);
    assert_int_equal(sched_init(NULL, 2, 10 * MS, 30 * MS), -PL_EINVAL);
    assert_int_equal(sched_init(&s, 64, 10 * MS, 10 * MS), 0);
    assert_int_equal(s.online, ~0ull);
    assert_int_equal(sched_init(&s, 2, 10 * MS, 30 * MS), 0);
    assert_int_equal(s.online, 3);

    assert_int_equal(sched_dom_init(&s, &d, 0, 0), -PL_EINVAL);
    assert_int_equal(sched_dom_init(&s, &d, 65536, 0), -PL_EINVAL);
    assert_int_equal(sched_dom_init(&s, &d, 256, 201), -PL_EINVAL); /* > 100 * ncpus */
    assert_int_equal(sched_dom_init(&s, &d, 1, 200), 0);
    assert_int_equal(sched_dom_init(&s, &d, 65535, 0), 0);
    assert_int_equal(sched_dom_set(&s, &d, 0, 0), -PL_EINVAL);
    assert_int_equal(sched_dom_set(&s, &d, 256, 300), -PL_EINVAL);
    assert_int_equal(d.weight, 65535);
    assert_int_equal(d.cap, 0);
    assert_int_equal(sched_dom_set(&s, &d, 128, 50), 0);
    assert_int_equal(d.weight, 128);
    assert_int_equal(d.cap, 50);

    assert_int_equal(sched_vcpu_init(&s, &v, &d, 0), -PL_EINVAL);
    assert_int_equal(sched_vcpu_init(&s, &v, &d, 1ull << 2), -PL_EINVAL); /* CPU 2 offline */
    assert_int_equal(sched_vcpu_init(&s, &v, NULL, 1), -PL_EINVAL);
    assert_int_equal(sched_vcpu_init(&s, &v, &d, 1ull << 1 | 1ull << 40), 0);
    assert_int_equal(v.state, SCHED_OFFLINE);
    assert_int_equal(sched_vcpu_attach(&s, &v), 0);
    assert_int_equal(sched_set_affinity(&s, &v, 0), -PL_EINVAL);
    assert_int_equal(sched_set_affinity(&s, &v, 1ull << 63), -PL_EINVAL);
    assert_int_equal(v.affinity, 1ull << 1 | 1ull << 40);
    /* the stray bit is ignored: it only ever lands on CPU 1 */
    assert_int_equal(sched_wake(&s, &v, 0), 1);
    assert_ptr_equal(sched_pick(&s, 0, 0), NULL);
    assert_ptr_equal(sched_pick(&s, 1, 0), &v);
    assert_int_equal(sched_next_event(&s, 5, 0), SCHED_NO_EVENT);
}

/* 11. sched_next_event. */
static void test_next_event(void **state)
{
    (void)state;
    struct sched s;
    struct sched_dom d, dc;
    struct sched_vcpu a, b, c;
    const uint64_t T0 = 1000 * SEC; /* the clock need not start at 0 */
    assert_int_equal(sched_init(&s, 2, 10 * MS, 30 * MS), 0);
    assert_int_equal(sched_next_event(&s, 0, T0), SCHED_NO_EVENT); /* idle */
    sched_dom_init(&s, &d, 256, 0);
    sched_dom_init(&s, &dc, 256, 10);
    sched_vcpu_init(&s, &a, &d, 1);
    sched_vcpu_init(&s, &b, &d, 1);
    sched_vcpu_init(&s, &c, &dc, 2);
    sched_vcpu_attach(&s, &a);
    sched_vcpu_attach(&s, &b);
    sched_vcpu_attach(&s, &c);
    assert_int_equal(sched_wake(&s, &a, T0), 0); /* period starts at T0 */
    assert_ptr_equal(sched_pick(&s, 0, T0), &a);
    assert_int_equal(sched_next_event(&s, 0, T0), 10 * MS);      /* slice */
    assert_int_equal(sched_next_event(&s, 0, T0 + 4 * MS), 6 * MS);
    assert_int_equal(sched_next_event(&s, 0, T0 + 12 * MS), 0);  /* overdue */
    /* alone: at slice end it keeps running with a new slice */
    assert_false(sched_tick(&s, 0, T0 + 10 * MS));
    assert_int_equal(sched_next_event(&s, 0, T0 + 10 * MS), 10 * MS);
    /* b is UNDER (credit 0), a OVER (charged 10 ms, no credit yet): b
     * preempts, the waker is told to kick CPU 0 */
    assert_true(a.credit < 0);
    assert_int_equal(sched_wake(&s, &b, T0 + 15 * MS), 0);
    assert_true(sched_tick(&s, 0, T0 + 15 * MS));
    assert_ptr_equal(sched_pick(&s, 0, T0 + 15 * MS), &b);
    /* slice end at 25 ms, period end at 30 ms */
    assert_int_equal(sched_next_event(&s, 0, T0 + 20 * MS), 5 * MS);
    assert_true(sched_tick(&s, 0, T0 + 25 * MS)); /* slice over, a waits */
    assert_ptr_equal(sched_pick(&s, 0, T0 + 25 * MS), &a);
    assert_int_equal(sched_next_event(&s, 0, T0 + 25 * MS), 5 * MS); /* period end first */
    assert_int_equal(a.runtime, 15 * MS);
    assert_int_equal(b.runtime, 10 * MS);

    /* capped domain (10 % = 3 ms per period) on CPU 1 */
    assert_int_equal(sched_wake(&s, &c, T0 + 25 * MS), 1);
    assert_ptr_equal(sched_pick(&s, 1, T0 + 25 * MS), &c);
    assert_int_equal(sched_next_event(&s, 1, T0 + 25 * MS), 3 * MS);
    assert_int_equal(sched_next_event(&s, 1, T0 + 26 * MS), 2 * MS);
    assert_true(sched_tick(&s, 1, T0 + 28 * MS)); /* budget used */
    assert_null(sched_pick(&s, 1, T0 + 28 * MS)); /* parked, CPU idles */
    assert_int_equal(c.state, SCHED_RUNNABLE);
    assert_int_equal(sched_next_event(&s, 1, T0 + 28 * MS), 2 * MS); /* period end */
    (void)sched_take_kicks(&s);
    assert_int_equal(sched_dom_set(&s, &dc, 256, 0), 0); /* cap lifted: CPU 1 is kicked */
    assert_int_equal(sched_take_kicks(&s), 1ull << 1);
    assert_int_equal(sched_dom_set(&s, &dc, 256, 10), 0); /* and back: parked again */
    assert_int_equal(sched_take_kicks(&s), 0);
    assert_false(sched_tick(&s, 1, T0 + 29 * MS));
    assert_true(sched_tick(&s, 1, T0 + 30 * MS)); /* new period: unparked */
    assert_ptr_equal(sched_pick(&s, 1, T0 + 30 * MS), &c);
    assert_int_equal(c.runtime, 3 * MS);
    assert_int_equal(s.periods, 1);
    /* a pending resched is due at once */
    assert_int_equal(sched_cpu_yield(&s, 1, T0 + 31 * MS), 0);
    assert_int_equal(sched_next_event(&s, 1, T0 + 31 * MS), 0);
    /* a caller away for many periods catches up without looping forever */
    assert_ptr_equal(sched_pick(&s, 1, T0 + 31 * MS), &c);
    sched_block(&s, &c, T0 + 31 * MS);
    assert_null(sched_pick(&s, 1, T0 + 31 * MS));
    sched_tick(&s, 0, T0 + 3600 * SEC);
    assert_true(s.period_start <= T0 + 3600 * SEC && T0 + 3600 * SEC - s.period_start < 30 * MS);
    assert_true(a.credit <= 60 * (int64_t)MS && b.credit <= 60 * (int64_t)MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_1_2_1),
        cmocka_unit_test(test_weights_other_mixes),
        cmocka_unit_test(test_equal_weights_four_on_two),
        cmocka_unit_test(test_yield_game),
        cmocka_unit_test(test_tick_game),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_affinity),
        cmocka_unit_test(test_load_balance),
        cmocka_unit_test(test_overcommit),
        cmocka_unit_test(test_blocked_consume_nothing),
        cmocka_unit_test(test_sleeper_latency),
        cmocka_unit_test(test_wake_and_yield_order),
        cmocka_unit_test(test_banked_credit_clamped),
        cmocka_unit_test(test_pause_unpause),
        cmocka_unit_test(test_attach_detach),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_next_event),
    };
    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
