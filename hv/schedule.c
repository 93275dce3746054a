/* The scheduler's mechanism: one policy instance (hv/sched.c) under one
 * lock, a loop on every CPU that picks a vCPU and runs it until it blocks,
 * is preempted or its domain stops, and a per-CPU tick that charges time,
 * preempts and wakes halted vCPUs whose timers expired. */
#include "hv/schedule.h"

#include "arch/x86/spinlock.h"
#include "hv/arch_cpu.h"
#include "hv/domain.h"
#include "hv/log.h"
#include "plinth/errno.h"

#define SCHED_MAX_VCPUS 256

static struct sched sched;
static spinlock_t lock = SPINLOCK_INIT;
static volatile bool ready;
/* Every attached vCPU, for the timer scan of halted ones. */
static struct vcpu *attached[SCHED_MAX_VCPUS];
/* Stopped domains wait for the housekeeping CPU (0) to reap them; while a
 * request is not done, its tick makes it leave whatever vCPU it runs. A
 * counter, so a request made while housekeeping runs is not lost. */
static volatile uint64_t housekeeping_requests, housekeeping_done;

void schedule_request_housekeeping(void)
{
    __atomic_add_fetch(&housekeeping_requests, 1, __ATOMIC_ACQ_REL);
    arch_cpu_kick(0);
}

uint64_t schedule_housekeeping_begin(void) { return __atomic_load_n(&housekeeping_requests, __ATOMIC_ACQUIRE); }

void schedule_housekeeping_done(uint64_t seen) { __atomic_store_n(&housekeeping_done, seen, __ATOMIC_RELEASE); }

bool schedule_ready(void) { return ready; }

static struct vcpu *vcpu_of(struct sched_vcpu *sv)
{
    return (struct vcpu *)((char *)sv - __builtin_offsetof(struct vcpu, sv));
}

static void kick_mask(uint64_t mask)
{
    for (unsigned cpu = 0; mask; cpu++, mask >>= 1)
        if (mask & 1)
            arch_cpu_kick(cpu);
}

static void kick(int cpu)
{
    if (cpu >= 0)
        arch_cpu_kick((unsigned)cpu);
}

void schedule_kick_all(void)
{
    for (unsigned cpu = 0; cpu < arch_cpu_count(); cpu++)
        if (cpu != arch_cpu_id())
            arch_cpu_kick(cpu);
}

/* A halted vCPU wakes when an interrupt is pending for it, at the latest
 * when one of its timers fires. Called with the lock held. */
static void wake_expired_halted(uint64_t now_ns)
{
    for (unsigned i = 0; i < SCHED_MAX_VCPUS; i++) {
        struct vcpu *v = attached[i];
        if (!v || !v->halted)
            continue;
        virq_fire_timers(v);
        if (virq_pending(v)) {
            v->halted = false;
            kick(sched_wake(&sched, &v->sv, now_ns));
        }
    }
}

static void tick(void)
{
    if (!ready)
        return;
    unsigned cpu = arch_cpu_id();
    uint64_t now = arch_time_ns();
    spin_lock(&lock);
    bool preempt = sched_tick(&sched, cpu, now);
    wake_expired_halted(now);
    uint64_t kicks = sched_take_kicks(&sched);
    spin_unlock(&lock);
    if (preempt || (cpu == 0 && __atomic_load_n(&housekeeping_done, __ATOMIC_ACQUIRE) !=
                                    __atomic_load_n(&housekeeping_requests, __ATOMIC_ACQUIRE)))
        arch_cpu_kick(cpu);
    kick_mask(kicks);
}

int schedule_init(void)
{
    int rc = sched_init(&sched, arch_cpu_count(), SCHED_SLICE_DEFAULT_NS, SCHED_PERIOD_DEFAULT_NS);
    if (rc)
        return rc;
    arch_set_tick_handler(tick);
    __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
    pr_info("sched: credit scheduler on %u CPUs, %llu ms slice, %llu ms accounting period", arch_cpu_count(),
            SCHED_SLICE_DEFAULT_NS / 1000000, SCHED_PERIOD_DEFAULT_NS / 1000000);
    return 0;
}

int schedule_add_domain(struct domain *d)
{
    uint64_t flags = spin_lock_irqsave(&lock);
    int rc = sched_dom_init(&sched, &d->sd, d->weight ? d->weight : SCHED_WEIGHT_DEFAULT, d->cap);
    for (unsigned i = 0; rc == 0 && i < d->vcpu_count; i++) {
        struct vcpu *v = d->vcpus[i];
        unsigned slot = 0;
        while (slot < SCHED_MAX_VCPUS && attached[slot])
            slot++;
        if (slot == SCHED_MAX_VCPUS) {
            rc = -PL_ENOSPC;
            break;
        }
        rc = sched_vcpu_init(&sched, &v->sv, &d->sd, d->affinity ? d->affinity : ~0ull);
        if (rc == 0)
            rc = sched_vcpu_attach(&sched, &v->sv);
        if (rc == 0)
            attached[slot] = v;
    }
    /* Only a fully attached domain starts running; one created paused
     * keeps the wake for its unpause. */
    uint64_t kicks = 0;
    for (unsigned i = 0; rc == 0 && d->paused && i < d->vcpu_count; i++)
        sched_pause(&sched, &d->vcpus[i]->sv);
    for (unsigned i = 0; rc == 0 && i < d->vcpu_count; i++) {
        int cpu = d->vcpus[i]->started ? sched_wake(&sched, &d->vcpus[i]->sv, arch_time_ns()) : -1;
        if (cpu >= 0)
            kicks |= 1ull << cpu;
    }
    spin_unlock_irqrestore(&lock, flags);
    kick_mask(kicks);
    return rc;
}

void schedule_wake(struct vcpu *v)
{
    uint64_t flags = spin_lock_irqsave(&lock);
    int cpu = sched_wake(&sched, &v->sv, arch_time_ns());
    spin_unlock_irqrestore(&lock, flags);
    kick(cpu);
}

static void forget(struct vcpu *v)
{
    for (unsigned i = 0; i < SCHED_MAX_VCPUS; i++)
        if (attached[i] == v)
            attached[i] = NULL;
}

bool schedule_reap(struct domain *d)
{
    bool all_gone = true;
    uint64_t flags = spin_lock_irqsave(&lock);
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        struct vcpu *v = d->vcpus[i];
        if (v->sv.state == SCHED_OFFLINE)
            continue;
        if (v->sv.state == SCHED_RUNNING) {
            all_gone = false; /* its CPU drops it at its next exit */
            continue;
        }
        sched_block(&sched, &v->sv, arch_time_ns());
        if (sched_vcpu_detach(&sched, &v->sv) == 0)
            forget(v);
        else
            all_gone = false;
    }
    spin_unlock_irqrestore(&lock, flags);
    return all_gone;
}

/* Run v on this CPU until it blocks, its domain stops, or the CPU must
 * pick again. */
static void run_slice(struct vcpu *v)
{
    struct domain *d = v->dom;
    v->runs++;
    while (d->state == DOMAIN_RUNNING && !v->halted && !v->yielded && v->ioreq_state != VCPU_IOREQ_WAITING) {
        if (!vcpu_run_once(v))
            break;
        if (arch_cpu_take_resched())
            break;
    }
    arch_vcpu_put(v);
}

void schedule_loop(void (*housekeeping)(void), bool (*until)(void))
{
    unsigned cpu = arch_cpu_id();
    for (;;) {
        if (housekeeping)
            housekeeping();
        if (until && until())
            return;
        if (!ready) {
            arch_cpu_idle();
            continue;
        }
        uint64_t flags = spin_lock_irqsave(&lock);
        struct sched_vcpu *sv = sched_pick(&sched, cpu, arch_time_ns());
        uint64_t kicks = sched_take_kicks(&sched);
        spin_unlock_irqrestore(&lock, flags);
        kick_mask(kicks & ~(1ull << cpu));
        if (!sv) {
            arch_cpu_idle();
            continue;
        }
        struct vcpu *v = vcpu_of(sv);
        if (v->dom->state == DOMAIN_RUNNING)
            run_slice(v);
        /* Decided under the lock, as the tick's wake-up of halted vCPUs
         * is: a wake cannot slip in between. */
        flags = spin_lock_irqsave(&lock);
        if (v->dom->state != DOMAIN_RUNNING || v->halted || v->ioreq_state == VCPU_IOREQ_WAITING)
            sched_block(&sched, &v->sv, arch_time_ns()); /* off the CPU until woken, or for good */
        else if (v->yielded)
            sched_cpu_yield(&sched, cpu, arch_time_ns()); /* behind its equals; gains nothing */
        v->yielded = false;
        spin_unlock_irqrestore(&lock, flags);
    }
}

uint64_t schedule_domain_runtime_ns(struct domain *d)
{
    uint64_t flags = spin_lock_irqsave(&lock);
    uint64_t ns = sched_dom_runtime(&sched, &d->sd, arch_time_ns());
    spin_unlock_irqrestore(&lock, flags);
    return ns;
}

/* Pause or unpause every vCPU of d. A running vCPU leaves its CPU at that
 * CPU's next pick, which the kick makes prompt. */
static void pause_all(struct domain *d, bool pause)
{
    uint64_t kicks = 0;
    uint64_t flags = spin_lock_irqsave(&lock);
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        struct sched_vcpu *sv = &d->vcpus[i]->sv;
        if (sv->state == SCHED_OFFLINE)
            continue;
        int cpu = pause ? sched_pause(&sched, sv) : sched_unpause(&sched, sv);
        if (cpu >= 0)
            kicks |= 1ull << cpu;
    }
    kicks |= sched_take_kicks(&sched);
    spin_unlock_irqrestore(&lock, flags);
    kick_mask(kicks);
}

void schedule_pause_domain(struct domain *d) { pause_all(d, true); }
void schedule_unpause_domain(struct domain *d) { pause_all(d, false); }

int schedule_set_params(struct domain *d, uint32_t weight, uint32_t cap)
{
    uint64_t flags = spin_lock_irqsave(&lock);
    int rc = sched_dom_set(&sched, &d->sd, weight, cap);
    spin_unlock_irqrestore(&lock, flags);
    return rc;
}

int schedule_set_affinity(struct vcpu *v, uint64_t affinity)
{
    uint64_t flags = spin_lock_irqsave(&lock);
    int rc = sched_set_affinity(&sched, &v->sv, affinity);
    uint64_t kicks = sched_take_kicks(&sched);
    spin_unlock_irqrestore(&lock, flags);
    kick_mask(kicks);
    return rc;
}

void schedule_vcpu_info(struct vcpu *v, struct schedule_vcpu_info *out)
{
    uint64_t flags = spin_lock_irqsave(&lock);
    out->state = v->sv.state;
    out->cpu = v->sv.ran_cpu < 0 ? -1 : v->sv.ran_cpu;
    out->affinity = v->sv.affinity;
    out->runtime_ns = v->sv.runtime;
    uint64_t now = arch_time_ns();
    if (v->sv.state == SCHED_RUNNING && now > v->sv.charged_to)
        out->runtime_ns += now - v->sv.charged_to;
    spin_unlock_irqrestore(&lock, flags);
}

void schedule_notify(struct vcpu *v)
{
    int cpu = -1;
    uint64_t flags = spin_lock_irqsave(&lock);
    if (v->halted) {
        v->halted = false;
        cpu = sched_wake(&sched, &v->sv, arch_time_ns());
    } else if (v->sv.state == SCHED_RUNNING) {
        cpu = v->sv.cpu; /* in the guest now: make it exit and take the interrupt */
    }
    spin_unlock_irqrestore(&lock, flags);
    if (cpu >= 0 && (unsigned)cpu != arch_cpu_id())
        arch_cpu_kick((unsigned)cpu);
}

bool schedule_ioreq_done(struct vcpu *v, uint32_t seq, uint64_t value)
{
    int cpu = -1;
    bool done = false;
    uint64_t flags = spin_lock_irqsave(&lock);
    if (v->ioreq_state == VCPU_IOREQ_WAITING && v->ioreq_seq == seq) {
        v->ioreq_value = value;
        v->ioreq_state = VCPU_IOREQ_DONE;
        cpu = sched_wake(&sched, &v->sv, arch_time_ns());
        done = true;
    }
    spin_unlock_irqrestore(&lock, flags);
    kick(cpu);
    return done;
}

void schedule_sync_domain(struct domain *d)
{
    uint64_t seen[DOMAIN_MAX_VCPUS];
    for (unsigned i = 0; i < d->vcpu_count; i++)
        seen[i] = __atomic_load_n(&d->vcpus[i]->entries, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        struct vcpu *v = d->vcpus[i];
        int cpu = v->sv.ran_cpu;
        if (__atomic_load_n(&v->in_guest, __ATOMIC_ACQUIRE) && cpu >= 0 && (unsigned)cpu != arch_cpu_id())
            arch_cpu_kick((unsigned)cpu);
        /* In the guest with translations from before: wait for its exit
         * (or a new entry, which flushes). */
        for (uint64_t spins = 0; __atomic_load_n(&v->in_guest, __ATOMIC_ACQUIRE) &&
                                 __atomic_load_n(&v->entries, __ATOMIC_ACQUIRE) == seen[i];
             spins++) {
            __builtin_ia32_pause();
            if (spins == 1000000000ull) {
                pr_err("sched: dom%u vCPU %u did not leave the guest", d->id, v->id);
                break;
            }
        }
    }
}
