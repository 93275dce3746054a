/* Per-CPU periodic tick from the local APIC timer. */
#ifndef ARCH_X86_TIMER_H
#define ARCH_X86_TIMER_H

#include <stdint.h>

#define TIMER_DEFAULT_HZ 100

/* Measure the LAPIC timer rate against the TSC (BSP, once). */
void timer_calibrate(void);
/* Start this CPU's periodic tick. */
void timer_start_local(unsigned hz);
uint64_t timer_lapic_hz(void);

#endif
