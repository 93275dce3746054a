/* Runs vCPUs on the physical CPUs: one scheduler (hv/sched.c policy) under
 * one lock, a loop per CPU, HLT blocking and timer wake-ups. */
#ifndef HV_SCHEDULE_H
#define HV_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct vcpu;

/* Set up for all online CPUs; the periodic tick drives preemption. */
int schedule_init(void);
bool schedule_ready(void);
/* Attach the domain's vCPUs; started ones become runnable. */
int schedule_add_domain(struct domain *d);
/* Make a started, attached vCPU runnable (e.g. after HC_VCPU_UP). */
void schedule_wake(struct vcpu *v);
/* An interrupt is now pending for v (raised from any CPU): wake it if it
 * is halted, make it exit if it runs in the guest on another CPU. */
void schedule_notify(struct vcpu *v);
/* Complete v's forwarded MMIO request seq with value and make it runnable;
 * false if it has no such request waiting. */
bool schedule_ioreq_done(struct vcpu *v, uint32_t seq, uint64_t value);
/* After d's second-level translations shrank (and were flushed): return
 * once none of its vCPUs can still use the old ones (each has left the
 * guest or entered it anew). */
void schedule_sync_domain(struct domain *d);
/* Detach the vCPUs of a stopped domain that are not running now. Returns
 * true when none is attached any more (the domain can be destroyed). */
bool schedule_reap(struct domain *d);
/* Ask CPU 0, which runs the housekeeping (reaping stopped domains), to do
 * it: until a housekeeping pass marks the request done, CPU 0 leaves its
 * current vCPU at every tick. A pass calls begin() first and done() with
 * that value once nothing it saw is left to do. */
void schedule_request_housekeeping(void);
uint64_t schedule_housekeeping_begin(void);
void schedule_housekeeping_done(uint64_t seen);
/* Ask every CPU to look at its scheduler (e.g. a domain stopped). */
void schedule_kick_all(void);

/* Administrative pause of all the domain's vCPUs, and its undoing. */
void schedule_pause_domain(struct domain *d);
void schedule_unpause_domain(struct domain *d);
/* New weight and cap (ranges as in hv/sched.h); 0 or -PL_EINVAL. */
int schedule_set_params(struct domain *d, uint32_t weight, uint32_t cap);

/* Hard affinity of one vCPU (a CPU mask): 0, or -PL_EINVAL when the mask
 * holds no online CPU. A running vCPU that may no longer run where it is
 * leaves its CPU at once (the CPU is kicked). */
int schedule_set_affinity(struct vcpu *v, uint64_t affinity);

struct schedule_vcpu_info {
    int state;          /* enum sched_state */
    int cpu;            /* CPU it runs on or last ran on, -1 never ran */
    uint64_t affinity;
    uint64_t runtime_ns;
};
void schedule_vcpu_info(struct vcpu *v, struct schedule_vcpu_info *out);

/* CPU time the domain's vCPUs were given so far, in ns. */
uint64_t schedule_domain_runtime_ns(struct domain *d);

/* This CPU's scheduling loop. housekeeping (may be NULL) runs between
 * picks on this CPU; the loop returns when until() (may be NULL: never)
 * is true. */
void schedule_loop(void (*housekeeping)(void), bool (*until)(void));

#endif
