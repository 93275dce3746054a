#ifndef ARCH_X86_TSC_H
#define ARCH_X86_TSC_H

#include <stdint.h>

extern uint64_t tsc_hz;

/* Work out the TSC frequency: calibrate against PIT channel 2, falling back
 * to CPUID leaves 15h/16h when there is no PIT. Panics if nothing works. */
void tsc_calibrate(void);
/* Busy-wait (used only during bring-up, e.g. INIT-SIPI-SIPI delays). */
void tsc_delay_us(uint64_t us);
uint64_t tsc_us_to_cycles(uint64_t us);

#endif
