/* What the arch-neutral core needs from the physical CPUs: identity, time,
 * a periodic tick, reschedule IPIs and idling. Implemented by
 * arch/x86/cpu_iface.c. */
#ifndef HV_ARCH_CPU_H
#define HV_ARCH_CPU_H

#include <stdbool.h>
#include <stdint.h>

unsigned arch_cpu_id(void);
/* CPUs 0..n-1 are online (ids are dense). */
unsigned arch_cpu_count(void);
/* Bit n set for each online CPU n (CPUs 64 and up are not expressible). */
uint64_t arch_cpu_online_mask(void);
/* Monotonic time in nanoseconds, the same on every CPU. */
uint64_t arch_time_ns(void);
/* fn runs in interrupt context on every CPU at each timer tick. */
void arch_set_tick_handler(void (*fn)(void));
/* Make cpu look at its scheduler soon (interrupt it if it runs a guest). */
void arch_cpu_kick(unsigned cpu);
/* Reschedule request for this CPU, set by a kick: test and clear. */
bool arch_cpu_take_resched(void);
/* Wait for an interrupt with interrupts enabled; returns with them on. */
void arch_cpu_idle(void);

/* Physical interrupt lines (arch/x86/ioapic.c). An ISA IRQ number mapped
 * through the firmware's overrides; false if it is not one. */
bool arch_irq_isa_to_gsi(unsigned isa, unsigned *gsi, bool *level, bool *active_low);
bool arch_irq_gsi_exists(unsigned gsi);
/* Deliver line gsi to handler (interrupt context, CPU 0, EOI done after
 * it), unmasked. 0 or -PL_ENOENT. */
int arch_irq_route(unsigned gsi, bool level, bool active_low, void (*handler)(unsigned gsi));
void arch_irq_mask(unsigned gsi, bool masked);
void arch_irq_unroute(unsigned gsi);
/* Program PCI function bdf's MSI capability to interrupt CPU 0; handler(id)
 * then runs for each message. The host vector, or -PL_ENOENT (no MSI
 * capability), -PL_ENOSPC (no vector left). */
int arch_msi_enable(uint16_t bdf, void (*handler)(unsigned id), unsigned id);
void arch_msi_disable(uint16_t bdf);

#endif
