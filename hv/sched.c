/* vCPU scheduling policy (see hv/sched.h for the policy and the contract).
 *
 * Internals: every CPU has a FIFO run queue of RUNNABLE vCPUs; its current
 * vCPU is not on the queue while it runs. Standing (UNDER/OVER) is derived
 * from credit when needed rather than kept sorted, so a pick scans the
 * queue for the first vCPU of the best standing that is not parked by a
 * cap. Credit only changes for a queued vCPU at period boundaries, and the
 * scan makes FIFO order within a standing the round robin order. */
#include "hv/sched.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/compiler.h"
#include "hv/string.h"
#include "plinth/errno.h"

/* Standing: higher is better. */
enum { CLS_NONE = 0, CLS_OVER = 1, CLS_UNDER = 2 };

/* Bounded catch-up when the caller did not call for several periods. */
#define SCHED_MAX_CATCHUP 8u

#define VCPU_OF(l, member) ((struct sched_vcpu *)((char *)(l) - offsetof(struct sched_vcpu, member)))
#define DOM_OF(l) ((struct sched_dom *)((char *)(l) - offsetof(struct sched_dom, link)))

/* ------------------------------------------------------------ lists */

static void link_init(struct sched_link *h)
{
    h->next = h;
    h->prev = h;
}

static void link_insert(struct sched_link *prev, struct sched_link *n)
{
    n->prev = prev;
    n->next = prev->next;
    prev->next->prev = n;
    prev->next = n;
}

static void link_del(struct sched_link *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    link_init(n);
}

/* ------------------------------------------------------------ helpers */

static uint64_t cpu_bit(uint32_t cpu)
{
    return 1ull << cpu;
}

static unsigned popcount64(uint64_t x)
{
    unsigned n = 0;
    while (x) {
        x &= x - 1;
        n++;
    }
    return n;
}

static int cls_of(const struct sched_vcpu *v)
{
    return v->credit >= 0 ? CLS_UNDER : CLS_OVER;
}

static uint64_t cap_budget(const struct sched *s, const struct sched_dom *d)
{
    return (uint64_t)d->cap * s->period_ns / 100u;
}

/* The domain reached its cap in this period: its vCPUs are not run. */
static bool dom_parked(const struct sched *s, const struct sched_dom *d)
{
    return d->cap != 0 && d->period_runtime >= cap_budget(s, d);
}

static bool cpu_valid(const struct sched *s, uint32_t cpu)
{
    return cpu < s->ncpus;
}

/* Time the current vCPU of c has used of its slice (0 if the clock of the
 * calling CPU lags the one that started it). */
static uint64_t slice_used(const struct sched_cpu *c, uint64_t now)
{
    return now > c->slice_start ? now - c->slice_start : 0;
}

/* Charge a running vCPU for [charged_to, until). */
static void charge(struct sched_vcpu *v, uint64_t until)
{
    if (until <= v->charged_to)
        return;
    uint64_t delta = until - v->charged_to;
    v->charged_to = until;
    v->runtime += delta;
    v->credit -= (int64_t)delta;
    v->dom->runtime += delta;
    v->dom->period_runtime += delta;
}

static void enqueue_tail(struct sched *s, uint32_t cpu, struct sched_vcpu *v)
{
    struct sched_cpu *c = &s->cpu[cpu];
    link_insert(c->runq.prev, &v->q_link);
    c->nr_queued++;
    v->cpu = (int)cpu;
    v->state = SCHED_RUNNABLE;
}

static void enqueue_head(struct sched *s, uint32_t cpu, struct sched_vcpu *v)
{
    struct sched_cpu *c = &s->cpu[cpu];
    link_insert(&c->runq, &v->q_link);
    c->nr_queued++;
    v->cpu = (int)cpu;
    v->state = SCHED_RUNNABLE;
}

static void dequeue(struct sched *s, struct sched_vcpu *v)
{
    v->woken = false;
    link_del(&v->q_link);
    s->cpu[v->cpu].nr_queued--;
}

/* First queued vCPU on `cpu` that may run there now, allowed on `on` (for
 * stealing), of standing > min_cls; best standing first, FIFO within it.
 * *cls_out gets its standing. */
static struct sched_vcpu *queue_best(const struct sched *s, uint32_t cpu, uint32_t on, int min_cls, int *cls_out)
{
    const struct sched_cpu *c = &s->cpu[cpu];
    struct sched_vcpu *over = NULL;
    for (struct sched_link *l = c->runq.next; l != &c->runq; l = l->next) {
        struct sched_vcpu *v = VCPU_OF(l, q_link);
        if (!(v->affinity & cpu_bit(on)) || dom_parked(s, v->dom))
            continue;
        int cls = cls_of(v);
        if (cls <= min_cls)
            continue;
        if (cls == CLS_UNDER) {
            *cls_out = CLS_UNDER;
            return v;
        }
        if (!over)
            over = v;
    }
    *cls_out = over ? CLS_OVER : CLS_NONE;
    return over;
}

/* A vCPU of standing > min_cls queued on another CPU that `cpu` may take:
 * the best standing wins, then the CPU with the most queued vCPUs. */
static struct sched_vcpu *steal_candidate(const struct sched *s, uint32_t cpu, int min_cls, int *cls_out)
{
    struct sched_vcpu *best = NULL;
    int best_cls = CLS_NONE;
    uint32_t best_len = 0;
    for (uint32_t o = 0; o < s->ncpus; o++) {
        if (o == cpu || s->cpu[o].nr_queued == 0)
            continue;
        int cls;
        struct sched_vcpu *v = queue_best(s, o, cpu, min_cls, &cls);
        if (!v)
            continue;
        if (cls > best_cls || (cls == best_cls && s->cpu[o].nr_queued > best_len)) {
            best = v;
            best_cls = cls;
            best_len = s->cpu[o].nr_queued;
        }
    }
    *cls_out = best_cls;
    return best;
}

/* Nothing runs on the CPU and nothing runnable waits in its queue. */
static bool cpu_idle(const struct sched *s, uint32_t cpu)
{
    int cls;
    return s->cpu[cpu].curr == NULL && queue_best(s, cpu, cpu, CLS_NONE, &cls) == NULL;
}

/* vCPUs running or waiting to run on the CPU (parked ones excluded). */
static uint32_t cpu_load(const struct sched *s, uint32_t cpu)
{
    const struct sched_cpu *c = &s->cpu[cpu];
    uint32_t n = c->curr ? 1u : 0u;
    for (const struct sched_link *l = c->runq.next; l != &c->runq; l = l->next)
        if (!dom_parked(s, VCPU_OF(l, q_link)->dom))
            n++;
    return n;
}

/* Where a vCPU becoming runnable should be queued. */
static uint32_t place(const struct sched *s, const struct sched_vcpu *v)
{
    uint64_t allowed = v->affinity & s->online;
    int pref = v->ran_cpu >= 0 ? v->ran_cpu : v->cpu;
    if (pref >= 0 && (allowed & cpu_bit((uint32_t)pref)) && cpu_idle(s, (uint32_t)pref))
        return (uint32_t)pref;
    for (uint32_t c = 0; c < s->ncpus; c++)
        if ((allowed & cpu_bit(c)) && cpu_idle(s, c))
            return c;
    /* Least loaded; among CPUs running something of worse standing first
     * (v preempts there), then the preferred CPU, then the lowest. */
    int cls = cls_of(v);
    uint32_t best = 0;
    uint32_t best_load = UINT32_MAX;
    bool best_preempts = false;
    for (uint32_t c = 0; c < s->ncpus; c++) {
        if (!(allowed & cpu_bit(c)))
            continue;
        const struct sched_vcpu *cur = s->cpu[c].curr;
        bool preempts = cur && cls > cls_of(cur);
        uint32_t load = cpu_load(s, c);
        bool better;
        if (preempts != best_preempts)
            better = preempts;
        else if (load != best_load)
            better = load < best_load;
        else
            better = (int)c == pref;
        if (best_load == UINT32_MAX || better) {
            best = c;
            best_load = load;
            best_preempts = preempts;
        }
    }
    return best;
}

/* Set the kick bit of an idle CPU that may run v (queued elsewhere). */
static void kick_idle_for(struct sched *s, const struct sched_vcpu *v)
{
    uint64_t allowed = v->affinity & s->online;
    for (uint32_t c = 0; c < s->ncpus; c++) {
        if (!(allowed & cpu_bit(c)) || (int)c == v->cpu)
            continue;
        if (cpu_idle(s, c)) {
            s->kick |= cpu_bit(c);
            return;
        }
    }
}

/* Queue a vCPU that became runnable on the best allowed CPU. A woken UNDER
 * vCPU goes in front of the queue, behind earlier wakers only (it runs as
 * soon as the current slice ends, or at once if the current vCPU is OVER):
 * low latency for vCPUs that mostly sleep, at no cost in share since every
 * nanosecond is charged and it still has to be UNDER.
 * Returns the CPU that should reschedule now, or -1. */
static int enqueue_placed(struct sched *s, struct sched_vcpu *v, bool woken)
{
    uint32_t cpu = place(s, v);
    if (woken && cls_of(v) == CLS_UNDER) {
        /* behind vCPUs woken before it (FIFO among wakers), ahead of the
         * rest */
        struct sched_cpu *c = &s->cpu[cpu];
        struct sched_link *at = &c->runq;
        while (at->next != &c->runq && VCPU_OF(at->next, q_link)->woken)
            at = at->next;
        link_insert(at, &v->q_link);
        c->nr_queued++;
        v->cpu = (int)cpu;
        v->state = SCHED_RUNNABLE;
        v->woken = true;
    } else {
        enqueue_tail(s, cpu, v);
    }
    if (dom_parked(s, v->dom))
        return -1;
    struct sched_cpu *c = &s->cpu[cpu];
    if (c->curr == NULL)
        return (int)cpu;
    if (cls_of(v) > cls_of(c->curr)) {
        c->resched = true;
        return (int)cpu;
    }
    kick_idle_for(s, v);
    return -1;
}

/* Water filling: split `total` among domains not yet settled in proportion
 * to weight, but never more than a domain's max_earn; what a domain cannot
 * use goes to the others. */
static void share_out(struct sched *s, uint64_t total)
{
    uint64_t wsum = 0;
    for (struct sched_link *l = s->doms.next; l != &s->doms; l = l->next) {
        struct sched_dom *d = DOM_OF(l);
        if (!d->settled)
            wsum += d->weight;
    }
    bool changed = true;
    while (changed && wsum) {
        changed = false;
        for (struct sched_link *l = s->doms.next; l != &s->doms; l = l->next) {
            struct sched_dom *d = DOM_OF(l);
            if (d->settled || wsum == 0)
                continue;
            /* total <= 64 * SCHED_PERIOD_MAX_NS < 2^40, weight < 2^16 */
            uint64_t fair = total * d->weight / wsum;
            if (fair >= d->max_earn) {
                d->earn = d->max_earn;
                d->settled = true;
                total -= d->max_earn;
                wsum -= d->weight;
                changed = true;
            }
        }
    }
    for (struct sched_link *l = s->doms.next; l != &s->doms; l = l->next) {
        struct sched_dom *d = DOM_OF(l);
        if (!d->settled)
            d->earn = wsum ? total * d->weight / wsum : 0;
    }
}

static bool vcpu_active(const struct sched_vcpu *v)
{
    return v->active || v->state == SCHED_RUNNABLE || v->state == SCHED_RUNNING;
}

/* End of an accounting period: hand out credit, reset cap budgets. */
static void account(struct sched *s)
{
    int64_t bank = (int64_t)s->period_ns;
    for (struct sched_link *l = s->doms.next; l != &s->doms; l = l->next) {
        struct sched_dom *d = DOM_OF(l);
        uint64_t cpus = 0;
        d->nr_active = 0;
        d->earn = 0;
        for (struct sched_link *m = d->vcpus.next; m != &d->vcpus; m = m->next) {
            struct sched_vcpu *v = VCPU_OF(m, dom_link);
            if (vcpu_active(v)) {
                d->nr_active++;
                cpus |= v->affinity;
            }
        }
        unsigned ncpu = popcount64(cpus & s->online);
        d->max_earn = (uint64_t)MIN(d->nr_active, ncpu) * s->period_ns;
        if (d->cap)
            d->max_earn = MIN(d->max_earn, cap_budget(s, d));
        d->settled = d->nr_active == 0;
    }
    share_out(s, (uint64_t)s->ncpus * s->period_ns);
    for (struct sched_link *l = s->doms.next; l != &s->doms; l = l->next) {
        struct sched_dom *d = DOM_OF(l);
        int64_t each = d->nr_active ? (int64_t)(d->earn / d->nr_active) : 0;
        for (struct sched_link *m = d->vcpus.next; m != &d->vcpus; m = m->next) {
            struct sched_vcpu *v = VCPU_OF(m, dom_link);
            int64_t carry = v->credit;
            if (carry > bank)
                carry = bank;
            if (carry < -bank)
                carry = -bank;
            v->credit = carry + (vcpu_active(v) ? each : 0);
            v->active = v->state == SCHED_RUNNABLE || v->state == SCHED_RUNNING;
        }
        if (d->cap) {
            uint64_t budget = cap_budget(s, d);
            uint64_t debt = d->period_runtime > budget ? d->period_runtime - budget : 0;
            d->period_runtime = MIN(debt, budget);
        } else {
            d->period_runtime = 0;
        }
    }
    s->periods++;
}

/* Kick idle CPUs whose queue holds something runnable now (e.g. vCPUs
 * that were parked by a cap). */
static void kick_idle_with_work(struct sched *s)
{
    for (uint32_t c = 0; c < s->ncpus; c++)
        if (s->cpu[c].curr == NULL && !cpu_idle(s, c))
            s->kick |= cpu_bit(c);
}

/* Process every period boundary up to now. */
static void advance(struct sched *s, uint64_t now)
{
    if (!s->started) {
        s->started = true;
        s->period_start = now;
        return;
    }
    if (now < s->period_start + s->period_ns)
        return;
    bool any_parked_before = false;
    for (struct sched_link *l = s->doms.next; l != &s->doms; l = l->next)
        any_parked_before |= dom_parked(s, DOM_OF(l));
    for (unsigned i = 0; i < SCHED_MAX_CATCHUP && now >= s->period_start + s->period_ns; i++) {
        uint64_t boundary = s->period_start + s->period_ns;
        for (uint32_t c = 0; c < s->ncpus; c++)
            if (s->cpu[c].curr)
                charge(s->cpu[c].curr, boundary);
        account(s);
        s->period_start = boundary;
    }
    if (now >= s->period_start + s->period_ns) {
        /* The caller was away for many periods: fold the rest into one
         * (running vCPUs are charged for all of it; the clamps bound the
         * effect on credit). */
        uint64_t boundary = now - (now - s->period_start) % s->period_ns;
        for (uint32_t c = 0; c < s->ncpus; c++)
            if (s->cpu[c].curr)
                charge(s->cpu[c].curr, boundary);
        account(s);
        s->period_start = boundary;
    }
    /* Credit changed: CPUs running OVER vCPUs may now have UNDER ones
     * waiting (their own timer at the period end notices); idle CPUs with
     * parked vCPUs queued must be kicked. */
    if (any_parked_before)
        kick_idle_with_work(s);
}

/* ------------------------------------------------------------ API */

int sched_init(struct sched *s, uint32_t ncpus, uint64_t slice_ns, uint64_t period_ns)
{
    if (!s || ncpus == 0 || ncpus > SCHED_MAX_CPUS || slice_ns < SCHED_SLICE_MIN_NS || period_ns < slice_ns ||
        period_ns > SCHED_PERIOD_MAX_NS)
        return -PL_EINVAL;
    memset(s, 0, sizeof(*s));
    s->ncpus = ncpus;
    s->online = ncpus == 64 ? ~0ull : (1ull << ncpus) - 1;
    s->slice_ns = slice_ns;
    s->period_ns = period_ns;
    link_init(&s->doms);
    for (uint32_t c = 0; c < SCHED_MAX_CPUS; c++)
        link_init(&s->cpu[c].runq);
    return 0;
}

static bool dom_params_ok(const struct sched *s, uint32_t weight, uint32_t cap)
{
    return s && weight >= SCHED_WEIGHT_MIN && weight <= SCHED_WEIGHT_MAX && cap <= 100u * s->ncpus;
}

int sched_dom_init(const struct sched *s, struct sched_dom *d, uint32_t weight, uint32_t cap)
{
    if (!d || !dom_params_ok(s, weight, cap))
        return -PL_EINVAL;
    memset(d, 0, sizeof(*d));
    d->weight = weight;
    d->cap = cap;
    link_init(&d->vcpus);
    link_init(&d->link);
    return 0;
}

int sched_dom_set(struct sched *s, struct sched_dom *d, uint32_t weight, uint32_t cap)
{
    if (!d || !dom_params_ok(s, weight, cap))
        return -PL_EINVAL;
    bool was_parked = dom_parked(s, d);
    d->weight = weight;
    d->cap = cap;
    if (was_parked && !dom_parked(s, d))
        kick_idle_with_work(s);
    return 0;
}

int sched_vcpu_init(const struct sched *s, struct sched_vcpu *v, struct sched_dom *d, uint64_t affinity)
{
    if (!s || !v || !d || !(affinity & s->online))
        return -PL_EINVAL;
    memset(v, 0, sizeof(*v));
    v->dom = d;
    v->affinity = affinity;
    v->state = SCHED_OFFLINE;
    v->cpu = SCHED_NO_CPU;
    v->last_cpu = SCHED_NO_CPU;
    v->ran_cpu = SCHED_NO_CPU;
    link_init(&v->q_link);
    link_init(&v->dom_link);
    return 0;
}

int sched_vcpu_attach(struct sched *s, struct sched_vcpu *v)
{
    if (v->state != SCHED_OFFLINE)
        return -PL_EEXIST;
    struct sched_dom *d = v->dom;
    link_insert(d->vcpus.prev, &v->dom_link);
    if (d->nr_vcpus++ == 0)
        link_insert(s->doms.prev, &d->link);
    v->state = SCHED_BLOCKED;
    v->active = false;
    v->pause_pending = false;
    v->wake_pending = false;
    return 0;
}

int sched_vcpu_detach(struct sched *s, struct sched_vcpu *v)
{
    switch (v->state) {
    case SCHED_OFFLINE:
        return -PL_EINVAL;
    case SCHED_RUNNING:
        return -PL_EBUSY;
    case SCHED_RUNNABLE:
        dequeue(s, v);
        break;
    default:
        break;
    }
    struct sched_dom *d = v->dom;
    link_del(&v->dom_link);
    if (--d->nr_vcpus == 0)
        link_del(&d->link);
    v->state = SCHED_OFFLINE;
    v->active = false;
    v->wake_pending = false;
    return 0;
}

int sched_set_affinity(struct sched *s, struct sched_vcpu *v, uint64_t affinity)
{
    if (!(affinity & s->online))
        return -PL_EINVAL;
    v->affinity = affinity;
    if (v->cpu < 0)
        return 0;
    if (affinity & cpu_bit((uint32_t)v->cpu)) {
        /* Still allowed where it is; a newly allowed idle CPU may take it. */
        if (v->state == SCHED_RUNNABLE && s->cpu[v->cpu].curr && !dom_parked(s, v->dom))
            kick_idle_for(s, v);
        return 0;
    }
    if (v->state == SCHED_RUNNABLE) {
        dequeue(s, v);
        int k = enqueue_placed(s, v, false);
        if (k >= 0)
            s->kick |= cpu_bit((uint32_t)k);
    } else if (v->state == SCHED_RUNNING) {
        s->cpu[v->cpu].resched = true;
        s->kick |= cpu_bit((uint32_t)v->cpu);
    }
    return 0;
}

int sched_wake(struct sched *s, struct sched_vcpu *v, uint64_t now)
{
    advance(s, now);
    if (v->state == SCHED_PAUSED) {
        v->wake_pending = true;
        return -1;
    }
    if (v->state != SCHED_BLOCKED)
        return -1;
    v->active = true;
    return enqueue_placed(s, v, true);
}

int sched_block(struct sched *s, struct sched_vcpu *v, uint64_t now)
{
    advance(s, now);
    switch (v->state) {
    case SCHED_OFFLINE:
        return -PL_EINVAL;
    case SCHED_RUNNING: {
        struct sched_cpu *c = &s->cpu[v->cpu];
        charge(v, now);
        c->curr = NULL;
        c->resched = true;
        c->yielded = false;
        if (v->pause_pending) {
            v->pause_pending = false;
            v->wake_pending = false;
            v->state = SCHED_PAUSED;
        } else {
            v->state = SCHED_BLOCKED;
        }
        return 0;
    }
    case SCHED_RUNNABLE:
        dequeue(s, v);
        v->state = SCHED_BLOCKED;
        return 0;
    case SCHED_PAUSED:
        v->wake_pending = false;
        return 0;
    default:
        return 0;
    }
}

int sched_pause(struct sched *s, struct sched_vcpu *v)
{
    switch (v->state) {
    case SCHED_RUNNABLE:
        dequeue(s, v);
        v->state = SCHED_PAUSED;
        v->wake_pending = true;
        return -1;
    case SCHED_BLOCKED:
        v->state = SCHED_PAUSED;
        v->wake_pending = false;
        return -1;
    case SCHED_RUNNING:
        v->pause_pending = true;
        s->cpu[v->cpu].resched = true;
        return v->cpu;
    default:
        return -1;
    }
}

int sched_unpause(struct sched *s, struct sched_vcpu *v)
{
    if (v->state == SCHED_RUNNING) {
        v->pause_pending = false;
        return -1;
    }
    if (v->state != SCHED_PAUSED)
        return -1;
    if (!v->wake_pending) {
        v->state = SCHED_BLOCKED;
        return -1;
    }
    v->wake_pending = false;
    v->active = true;
    return enqueue_placed(s, v, true);
}

int sched_cpu_yield(struct sched *s, uint32_t cpu, uint64_t now)
{
    if (!cpu_valid(s, cpu) || s->cpu[cpu].curr == NULL)
        return -PL_EINVAL;
    advance(s, now);
    struct sched_cpu *c = &s->cpu[cpu];
    charge(c->curr, now);
    c->yielded = true;
    c->resched = true;
    return 0;
}

struct sched_vcpu *sched_pick(struct sched *s, uint32_t cpu, uint64_t now)
{
    if (!cpu_valid(s, cpu))
        return NULL;
    advance(s, now);
    struct sched_cpu *c = &s->cpu[cpu];
    struct sched_vcpu *prev = c->curr;
    bool keep_slice = false;
    c->resched = false;
    if (prev) {
        charge(prev, now);
        c->curr = NULL;
        bool expired = c->yielded || slice_used(c, now) >= s->slice_ns;
        if (prev->pause_pending) {
            prev->pause_pending = false;
            prev->wake_pending = true;
            prev->state = SCHED_PAUSED;
            prev = NULL;
        } else if (!(prev->affinity & cpu_bit(cpu))) {
            int k = enqueue_placed(s, prev, false);
            if (k >= 0)
                s->kick |= cpu_bit((uint32_t)k);
            prev = NULL;
        } else if (expired || dom_parked(s, prev->dom)) {
            enqueue_tail(s, cpu, prev);
        } else {
            enqueue_head(s, cpu, prev); /* resumes its slice unless beaten */
            keep_slice = true;
        }
    }
    c->yielded = false;

    int cls;
    struct sched_vcpu *next = queue_best(s, cpu, cpu, CLS_NONE, &cls);
    if (cls < CLS_UNDER) {
        int scls;
        struct sched_vcpu *st = steal_candidate(s, cpu, cls, &scls);
        if (st)
            next = st;
    }
    if (next) {
        dequeue(s, next);
        next->cpu = (int)cpu;
        next->state = SCHED_RUNNING;
        next->charged_to = now;
        next->active = true;
        next->last_cpu = next->ran_cpu;
        next->ran_cpu = (int)cpu;
        c->curr = next;
        if (!(keep_slice && next == prev))
            c->slice_start = now;
    }
    /* Whatever still waits here could use an idle CPU. */
    if (c->nr_queued) {
        for (struct sched_link *l = c->runq.next; l != &c->runq; l = l->next) {
            struct sched_vcpu *v = VCPU_OF(l, q_link);
            if (!dom_parked(s, v->dom))
                kick_idle_for(s, v);
        }
    }
    return next;
}

bool sched_tick(struct sched *s, uint32_t cpu, uint64_t now)
{
    if (!cpu_valid(s, cpu))
        return false;
    advance(s, now);
    struct sched_cpu *c = &s->cpu[cpu];
    struct sched_vcpu *v = c->curr;
    int cls;
    if (!v)
        return queue_best(s, cpu, cpu, CLS_NONE, &cls) != NULL ||
               steal_candidate(s, cpu, CLS_NONE, &cls) != NULL;
    charge(v, now);
    if (v->dom->cap) {
        /* Cap budgets are per domain: count its other running vCPUs too. */
        struct sched_dom *d = v->dom;
        for (struct sched_link *m = d->vcpus.next; m != &d->vcpus; m = m->next) {
            struct sched_vcpu *w = VCPU_OF(m, dom_link);
            if (w->state == SCHED_RUNNING)
                charge(w, now);
        }
    }
    if (c->resched || v->pause_pending || !(v->affinity & cpu_bit(cpu)) || dom_parked(s, v->dom))
        return true;
    int mine = cls_of(v);
    bool expired = slice_used(c, now) >= s->slice_ns;
    /* Locally, an equal waiter takes over once the slice is used up; from
     * other queues only a better one is taken (as sched_pick does). */
    if (queue_best(s, cpu, cpu, expired ? mine - 1 : mine, &cls) != NULL)
        return true;
    if (mine < CLS_UNDER && steal_candidate(s, cpu, mine, &cls) != NULL)
        return true;
    if (expired)
        c->slice_start = now; /* nobody else: a new slice */
    return false;
}

uint64_t sched_next_event(const struct sched *s, uint32_t cpu, uint64_t now)
{
    if (!cpu_valid(s, cpu))
        return SCHED_NO_EVENT;
    const struct sched_cpu *c = &s->cpu[cpu];
    uint64_t period_end = s->started ? s->period_start + s->period_ns : SCHED_NO_EVENT;
    const struct sched_vcpu *v = c->curr;
    if (!v) {
        for (const struct sched_link *l = s->doms.next; l != &s->doms; l = l->next)
            if (dom_parked(s, DOM_OF(l)))
                return period_end == SCHED_NO_EVENT ? 0 : (period_end > now ? period_end - now : 0);
        return SCHED_NO_EVENT;
    }
    if (c->resched || v->pause_pending)
        return 0;
    uint64_t at = MIN(c->slice_start + s->slice_ns, period_end);
    const struct sched_dom *d = v->dom;
    if (d->cap) {
        uint64_t used = d->period_runtime, n = 0;
        for (const struct sched_link *m = d->vcpus.next; m != &d->vcpus; m = m->next) {
            const struct sched_vcpu *w = VCPU_OF(m, dom_link);
            if (w->state == SCHED_RUNNING) {
                n++;
                if (now > w->charged_to)
                    used += now - w->charged_to;
            }
        }
        uint64_t budget = cap_budget(s, d);
        if (used >= budget)
            return 0;
        uint64_t left = (budget - used + n - 1) / n;
        at = MIN(at, now + left);
    }
    return at > now ? at - now : 0;
}

uint64_t sched_take_kicks(struct sched *s)
{
    uint64_t k = s->kick;
    s->kick = 0;
    return k;
}

uint64_t sched_vcpu_runtime(const struct sched *s, const struct sched_vcpu *v, uint64_t now)
{
    UNUSED(s);
    uint64_t r = v->runtime;
    if (v->state == SCHED_RUNNING && now > v->charged_to)
        r += now - v->charged_to;
    return r;
}

uint64_t sched_dom_runtime(const struct sched *s, const struct sched_dom *d, uint64_t now)
{
    uint64_t r = d->runtime;
    for (const struct sched_link *m = d->vcpus.next; m != &d->vcpus; m = m->next) {
        const struct sched_vcpu *w = VCPU_OF(m, dom_link);
        r += sched_vcpu_runtime(s, w, now) - w->runtime;
    }
    return r;
}
