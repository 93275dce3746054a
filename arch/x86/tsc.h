#ifndef ARCH_X86_TSC_H
#define ARCH_X86_TSC_H

#include <stdint.h>

extern uint64_t tsc_hz;

enum tsc_source { TSC_SOURCE_AUTO, TSC_SOURCE_PIT, TSC_SOURCE_HPET, TSC_SOURCE_CPUID };

/* Work out the TSC frequency. AUTO tries PIT channel 2, then the HPET at
 * hpet_phys (0: none), then CPUID leaves 15h/16h; any other value insists on
 * that source and panics with the reason when it is unusable. */
void tsc_calibrate(enum tsc_source want, uint64_t hpet_phys);
/* Busy-wait (used only during bring-up, e.g. INIT-SIPI-SIPI delays). */
void tsc_delay_us(uint64_t us);
uint64_t tsc_us_to_cycles(uint64_t us);

#endif
