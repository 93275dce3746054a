/* Ticket spinlock: FIFO, so no CPU starves under contention. */
#ifndef ARCH_X86_SPINLOCK_H
#define ARCH_X86_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu.h"

typedef struct {
    volatile uint32_t next;
    volatile uint32_t owner;
} spinlock_t;

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(spinlock_t *l)
{
    uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
        cpu_relax();
}

/* Gives up after spins polls; used only where waiting forever would be
 * worse than proceeding unlocked (the panic path). */
static inline bool spin_trylock_bounded(spinlock_t *l, uint64_t spins)
{
    for (uint64_t i = 0; i < spins; i++) {
        uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
        uint32_t expected = owner;
        if (__atomic_compare_exchange_n(&l->next, &expected, owner + 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return true;
        cpu_relax();
    }
    return false;
}

static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

static inline uint64_t spin_lock_irqsave(spinlock_t *l)
{
    uint64_t flags = read_rflags();
    irq_disable();
    spin_lock(l);
    return flags;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, uint64_t flags)
{
    spin_unlock(l);
    if (flags & RFLAGS_IF)
        irq_enable();
}

#endif
