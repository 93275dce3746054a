/* vCPU scheduling policy: proportional share with caps, per-CPU run queues,
 * hard affinity and work stealing. Pure logic: no allocation, no locks, no
 * clock. The hypervisor embeds struct sched_vcpu in its vCPU and struct
 * sched_dom in its domain (recover the outer object with offsetof), holds one
 * scheduler lock around every call, and passes the time `now` in nanoseconds
 * from a monotonic clock shared by all CPUs.
 *
 * Policy (credit scheduling in the spirit of Xen's credit scheduler):
 *
 * - Accounting periods. Time is cut into periods of period_ns, starting at
 *   the first call that passes a time. At every period boundary each active
 *   domain (one with a vCPU that is runnable or running now, or that was
 *   runnable at some point in the ending period) earns a share of the
 *   machine's capacity (ncpus * period_ns) in proportion to its weight. A
 *   domain cannot earn more than it could use (min(active vCPUs, CPUs its
 *   vCPUs may use) * period_ns, and its cap budget); the surplus is shared
 *   among the others by weight ("water filling"). A domain's earnings are
 *   split equally among its active vCPUs. Blocked vCPUs earn nothing.
 * - Charging. Running consumes credit at the rate of real time. The exact
 *   time since the vCPU was last charged is charged on every sched_pick,
 *   sched_tick, sched_block and sched_cpu_yield, and at period boundaries (a
 *   vCPU running across a boundary is charged up to the boundary first).
 *   Nobody is ever charged for a whole tick it did not use, so yielding or
 *   blocking just before a tick gains nothing.
 * - Banked credit. At each boundary the credit carried into the next period
 *   is clamped to [-period_ns, +period_ns] before the new earnings are
 *   added, so a vCPU never holds more than one period of carried credit plus
 *   one period's earnings (<= 2 * period_ns) and a long sleeper cannot
 *   monopolise a CPU when it wakes; debt is bounded the same way.
 * - Standing. A vCPU with credit >= 0 is UNDER, one with credit < 0 is OVER.
 *   On a CPU, any UNDER vCPU runs before any OVER vCPU; among vCPUs of equal
 *   standing the run queue is served round robin (FIFO). A running vCPU
 *   keeps its CPU for one time slice (slice_ns) unless a vCPU of better
 *   standing waits for it (then sched_tick asks for preemption at once).
 * - Wakes. A woken UNDER vCPU is queued ahead of the preempted ones (behind
 *   earlier wakers): it runs when the current slice ends at the latest, or
 *   at once if the current vCPU is OVER. This costs nobody their share:
 *   it is still charged for every nanosecond and loses the privilege once
 *   OVER.
 * - Stealing. When a CPU would otherwise go idle, or would run an OVER vCPU,
 *   sched_pick takes a waiting vCPU of better standing allowed on this CPU
 *   from another CPU's run queue: the best standing found first, then the
 *   queue with the most waiters. Running vCPUs are never stolen. No cache
 *   affinity is considered.
 * - Caps. A domain with cap C (percent of one CPU) may run at most
 *   C * period_ns / 100 per period across all its vCPUs. Once reached its
 *   vCPUs are parked (kept in their run queues, never picked) until the next
 *   period, even if CPUs are idle. Overrun (e.g. from a late timer) is
 *   carried into the next period as debt (at most one period's budget), so
 *   the long-run average stays within the cap.
 * - Affinity. A vCPU only ever runs on, is queued on, or is stolen by a CPU
 *   in its hard affinity mask.
 *
 * Driving it (per CPU):
 * - Before entering a guest, and whenever a call below says so, call
 *   sched_pick(); run what it returns (NULL: idle).
 * - Arm a one-shot timer for sched_next_event() after every pick and tick,
 *   or call sched_tick() periodically (e.g. every 1 ms; at least once per
 *   period on a busy CPU); call sched_pick() when sched_tick() returns true.
 * - A vCPU that halts: sched_block() then sched_pick(). One that yields
 *   (PAUSE loop, HC_YIELD): sched_cpu_yield() then sched_pick().
 * - Send a reschedule IPI to the CPU returned by sched_wake(),
 *   sched_unpause() and sched_pause(), and to every CPU in
 *   sched_take_kicks(); a CPU receiving one calls sched_tick() (or directly
 *   sched_pick()).
 *
 * What it achieves (tests/unit/test_sched.c, 10 s simulated): domains that
 * always want CPU get their weighted share of the machine, limited to what
 * their vCPUs can use (one CPU per vCPU, the cap, the affinity) with the
 * remainder shared by weight (max-min fairness), to within ~1 %; caps hold
 * to within 0.1 % of a CPU; no CPU idles while a vCPU allowed on it is
 * runnable and not capped. Hard affinity can make the weighted shares
 * infeasible (e.g. two heavy domains pinned to one CPU): then each CPU is
 * shared by weight among what it may run, best effort.
 *
 * Limits: CPUs 0..ncpus-1 are online for the life of the scheduler (no
 * hotplug). New vCPUs start with credit 0 and earn from the first period
 * boundary on. A caller that neither ticks nor picks on a busy CPU for more
 * than 8 periods has the remainder folded into one period. Accounting work
 * is O(vCPUs); pick/tick are O(queued vCPUs x CPUs) at worst. Intended for
 * tens of vCPUs, not thousands.
 */
#ifndef HV_SCHED_H
#define HV_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHED_MAX_CPUS 64
#define SCHED_WEIGHT_MIN 1u
#define SCHED_WEIGHT_MAX 65535u
#define SCHED_WEIGHT_DEFAULT 256u
#define SCHED_SLICE_DEFAULT_NS 10000000ull    /* 10 ms */
#define SCHED_PERIOD_DEFAULT_NS 30000000ull   /* 30 ms */
#define SCHED_SLICE_MIN_NS 100000ull          /* 100 us */
#define SCHED_PERIOD_MAX_NS 10000000000ull    /* 10 s (keeps the share
                                                 arithmetic within 64 bits) */
#define SCHED_NO_EVENT UINT64_MAX             /* sched_next_event: no timer needed */
#define SCHED_NO_CPU (-1)

/* Intrusive doubly linked list node / head. */
struct sched_link {
    struct sched_link *next, *prev;
};

enum sched_state {
    SCHED_OFFLINE = 0, /* initialised, not attached */
    SCHED_BLOCKED,     /* attached, waiting for an event (sched_wake) */
    SCHED_RUNNABLE,    /* on a run queue */
    SCHED_RUNNING,     /* returned by sched_pick, current on its CPU */
    SCHED_PAUSED,      /* administratively stopped (sched_unpause) */
};

/* A domain: the unit that weights and caps apply to. Fields are read-only
 * for callers (use sched_dom_set to change weight or cap). */
struct sched_dom {
    uint32_t weight;          /* SCHED_WEIGHT_MIN..SCHED_WEIGHT_MAX */
    uint32_t cap;             /* percent of one CPU, 0 = uncapped */
    struct sched_link vcpus;  /* attached vCPUs (sched_vcpu.dom_link) */
    struct sched_link link;   /* in sched.doms while nr_vcpus > 0 */
    uint32_t nr_vcpus;        /* attached vCPUs */
    uint64_t runtime;         /* ns charged to its vCPUs, ever (stats) */
    uint64_t period_runtime;  /* ns charged in the current period, plus
                                 carried cap overrun (cap enforcement) */
    /* accounting scratch */
    uint32_t nr_active;
    uint64_t earn, max_earn;
    bool settled;
};

/* Scheduler state of one vCPU. Fields are read-only for callers. */
struct sched_vcpu {
    struct sched_dom *dom;
    uint64_t affinity;        /* hard affinity: bit n = may run on CPU n */
    enum sched_state state;
    int cpu;                  /* CPU whose queue holds it / that runs it /
                                 it last ran on (SCHED_NO_CPU before that) */
    int last_cpu;             /* valid after sched_pick returned it: the
                                 CPU it ran on before this run, SCHED_NO_CPU
                                 if never. != the picking CPU means it
                                 migrated: move its hardware state. */
    int ran_cpu;              /* CPU it most recently ran on */
    int64_t credit;           /* ns; >= 0 UNDER, < 0 OVER */
    uint64_t runtime;         /* ns charged, ever (stats) */
    uint64_t charged_to;      /* while running: time charged up to */
    bool active;              /* was runnable during this period */
    bool pause_pending;       /* RUNNING, pause requested */
    bool wake_pending;        /* PAUSED: runnable (not blocked) once unpaused */
    bool woken;               /* queued ahead by a wake (UNDER) */
    struct sched_link q_link;   /* in a run queue while RUNNABLE */
    struct sched_link dom_link; /* in dom->vcpus while attached */
};

struct sched_cpu {
    struct sched_link runq;     /* RUNNABLE vCPUs, FIFO */
    struct sched_vcpu *curr;    /* RUNNING here, or NULL (idle) */
    uint64_t slice_start;       /* when curr's time slice began */
    uint32_t nr_queued;
    bool resched;               /* must call sched_pick */
    bool yielded;               /* curr yielded; goes behind its equals */
};

/* The scheduler. Contains self-referencing list heads: do not copy. */
struct sched {
    uint32_t ncpus;
    uint64_t online;            /* CPUs 0..ncpus-1 */
    uint64_t slice_ns, period_ns;
    bool started;               /* period_start valid */
    uint64_t period_start;
    uint64_t periods;           /* boundaries processed (stats) */
    uint64_t kick;              /* CPUs to send a reschedule IPI */
    struct sched_link doms;     /* domains with attached vCPUs */
    struct sched_cpu cpu[SCHED_MAX_CPUS];
};

/* Initialise for CPUs 0..ncpus-1 (1..SCHED_MAX_CPUS), time slice slice_ns
 * (>= SCHED_SLICE_MIN_NS) and accounting period period_ns (slice_ns..
 * SCHED_PERIOD_MAX_NS; SCHED_*_DEFAULT_NS are 10 ms and 30 ms). The first
 * period starts at the first time passed to any call. Returns 0 or
 * -PL_EINVAL (s is left untouched then). */
int sched_init(struct sched *s, uint32_t ncpus, uint64_t slice_ns, uint64_t period_ns);

/* Initialise a domain with weight (1..65535, SCHED_WEIGHT_DEFAULT = 256) and
 * cap (0 = none, else 1..100 * s->ncpus percent of one CPU). s is only used
 * to validate the cap. Returns 0 or -PL_EINVAL (d untouched). */
int sched_dom_init(const struct sched *s, struct sched_dom *d, uint32_t weight, uint32_t cap);

/* Change weight and cap (same ranges). A new weight counts from the next
 * period boundary; a new cap at once (time already run in this period
 * counts against it). Returns 0 or -PL_EINVAL (nothing changed). */
int sched_dom_set(struct sched *s, struct sched_dom *d, uint32_t weight, uint32_t cap);

/* Initialise v for domain d with hard affinity mask `affinity`, which must
 * contain an online CPU (bits beyond ncpus are kept but ignored). State:
 * OFFLINE, credit 0, runtime 0. Returns 0 or -PL_EINVAL. */
int sched_vcpu_init(const struct sched *s, struct sched_vcpu *v, struct sched_dom *d, uint64_t affinity);

/* Add an OFFLINE vCPU to the system: it becomes BLOCKED (call sched_wake to
 * make it runnable) and its domain joins the scheduler. Returns 0,
 * -PL_EEXIST if already attached. */
int sched_vcpu_attach(struct sched *s, struct sched_vcpu *v);

/* Remove a vCPU from the system (BLOCKED, RUNNABLE or PAUSED -> OFFLINE).
 * A RUNNING vCPU is refused with -PL_EBUSY: sched_pause it, let its CPU
 * call sched_pick (it becomes PAUSED), then detach. -PL_EINVAL if not
 * attached. Its runtime stays in v->runtime and the domain's. */
int sched_vcpu_detach(struct sched *s, struct sched_vcpu *v);

/* Set the hard affinity mask. -PL_EINVAL (nothing changed) if the mask has
 * no online CPU. A queued vCPU on a CPU no longer allowed moves to the best
 * allowed CPU's queue; a running one is taken off its CPU at that CPU's
 * next sched_pick (the CPU is flagged for rescheduling and added to the
 * kick mask) and then queued on an allowed CPU. Blocked and paused vCPUs
 * are placed when they wake. Returns 0. */
int sched_set_affinity(struct sched *s, struct sched_vcpu *v, uint64_t affinity);

/* A BLOCKED vCPU becomes RUNNABLE and is queued on the best allowed CPU:
 * its last CPU if that is idle, else an idle allowed CPU, else the least
 * loaded allowed CPU (preferring one whose current vCPU it would preempt).
 * Returns the CPU to send a reschedule IPI to (it is idle, or it runs a vCPU
 * of worse standing, which sched_tick will now preempt), or -1. A wake of a
 * PAUSED vCPU is remembered (it becomes runnable when unpaused) and returns
 * -1; waking a RUNNABLE, RUNNING or OFFLINE vCPU does nothing (-1). */
int sched_wake(struct sched *s, struct sched_vcpu *v, uint64_t now);

/* The vCPU waits for an event. RUNNING: charged up to now, it leaves its
 * CPU at once (state BLOCKED, or PAUSED if a pause was pending) and that
 * CPU must call sched_pick before entering any guest. RUNNABLE: removed
 * from its queue. PAUSED: a pending wake is forgotten. BLOCKED: nothing.
 * Returns 0, or -PL_EINVAL for an OFFLINE vCPU. */
int sched_block(struct sched *s, struct sched_vcpu *v, uint64_t now);

/* Administrative pause: a paused vCPU never runs until sched_unpause (pauses
 * do not nest). RUNNABLE/BLOCKED: PAUSED at once. RUNNING: the pause takes
 * effect at its CPU's next sched_pick (sched_tick returns true there until
 * then; until then its state stays RUNNING); returns that CPU, to be sent a
 * reschedule IPI. Otherwise returns -1. */
int sched_pause(struct sched *s, struct sched_vcpu *v);

/* Undo sched_pause. A PAUSED vCPU becomes RUNNABLE (placed as by
 * sched_wake, return value as for sched_wake), or BLOCKED if it was blocked
 * when paused and has not been woken since (-1). A pending pause of a
 * RUNNING vCPU is cancelled (-1). Otherwise -1. */
int sched_unpause(struct sched *s, struct sched_vcpu *v);

/* (Not called sched_yield: that is a C library function, which the host
 * test build, and the sanitizer runtime in it, must keep.)
 * The current vCPU of `cpu` gives way: charged up to now, it will go behind
 * every queued vCPU of equal standing at the next sched_pick (which the
 * caller must call now). It gains nothing: its slice ends, its credit is
 * charged exactly, and it is picked again only if nothing of equal or
 * better standing waits. Returns 0, -PL_EINVAL if the CPU is idle/invalid. */
int sched_cpu_yield(struct sched *s, uint32_t cpu, uint64_t now);

/* Choose what `cpu` runs next. Charges the current vCPU (if any) up to now;
 * a current vCPU that is still runnable is requeued (behind its equals if
 * its slice is used up or it yielded, else in front of them so it resumes
 * its slice) unless it was paused, is no longer allowed here (moved to an
 * allowed CPU), or its domain hit its cap (parked). Then returns the first
 * vCPU of the best standing in the local queue; if that is not UNDER,
 * steals a better one allowed here from the busiest other queue. The
 * returned vCPU is RUNNING, v->cpu == cpu, and v->last_cpu tells where it
 * ran before (migration). NULL: idle (returned also for an invalid cpu). */
struct sched_vcpu *sched_pick(struct sched *s, uint32_t cpu, uint64_t now);

/* Periodic/one-shot timer on `cpu`: charges the current vCPU up to now and
 * returns true if the CPU should call sched_pick now: its slice is used up
 * and another vCPU of equal or better standing could run here; a vCPU of
 * better standing waits (locally, or stealable); it was paused, lost
 * affinity for this CPU, or its domain reached its cap; or, when idle, a
 * runnable vCPU could run here. When the slice is used up and nothing else
 * could run, the current vCPU simply starts a new slice (false). */
bool sched_tick(struct sched *s, uint32_t cpu, uint64_t now);

/* Nanoseconds from now until `cpu` must call sched_tick: the end of the
 * current slice, the end of the accounting period, or the moment its
 * domain's cap budget runs out, whichever is first (0 if already due).
 * An idle CPU gets the period end if some vCPU is parked by a cap (it may
 * become runnable then), else SCHED_NO_EVENT (it will be kicked). */
uint64_t sched_next_event(const struct sched *s, uint32_t cpu, uint64_t now);

/* Returns and clears the set of CPUs (bit n = CPU n) that should be sent a
 * reschedule IPI because of earlier calls (a queued vCPU could use an idle
 * CPU, a running vCPU lost affinity, parked vCPUs became runnable). */
uint64_t sched_take_kicks(struct sched *s);

/* Runtime stats in ns, including the not yet charged part of a current run
 * up to now. */
uint64_t sched_vcpu_runtime(const struct sched *s, const struct sched_vcpu *v, uint64_t now);
uint64_t sched_dom_runtime(const struct sched *s, const struct sched_dom *d, uint64_t now);

#endif
