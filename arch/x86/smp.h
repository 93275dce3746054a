#ifndef ARCH_X86_SMP_H
#define ARCH_X86_SMP_H

#include <stdint.h>

struct acpi_info;

/* Start every enabled CPU the MADT lists (up to max_cpus in all) with
 * INIT-SIPI-SIPI. Returns how many CPUs are online, the BSP included. */
unsigned smp_boot(const struct acpi_info *acpi, unsigned max_cpus, unsigned timer_hz);
unsigned smp_online_count(void);
/* Ping every other online CPU with an IPI and wait for its answering IPI.
 * Returns how many answered within timeout_us. */
unsigned smp_ipi_selftest(uint64_t timeout_us);
/* Wait until every online CPU's timer has ticked at least min_ticks times
 * since the call; returns how many did within timeout_us. */
unsigned smp_timer_selftest(uint64_t min_ticks, uint64_t timeout_us);

#endif
