/* Grant tables: a domain offers pages of its RAM to another domain, which
 * copies from or into them or maps them (ABI: include/plinth/grant.h, rules:
 * docs/grants.md). Implemented in hv/grant.c on the pure bookkeeping of
 * hv/grant_core.c.
 *
 * Locking: the functions below take the grant lock; with it held they
 * change other domains' second-level tables and wait for those domains'
 * vCPUs to leave the guest (schedule_sync_domain). Callers must not hold
 * the scheduler's lock or the grant lock. */
#ifndef HV_GRANT_H
#define HV_GRANT_H

#include <stdint.h>

struct domain;
struct vcpu;

/* HC_GRANT_* (numbers 35..40) for any domain. */
int64_t grant_hypercall(struct vcpu *v, uint64_t nr, const uint64_t *args);
/* The domain is going away (called by domain_destroy before its vCPUs,
 * address space and RAM are freed): every mapping of its pages held by
 * another domain is removed from that domain's address space (and no vCPU
 * of it can still use the old translation) before this returns; its own
 * mappings and offers are dropped and its state freed. */
void grant_domain_destroy(struct domain *d);

#endif
