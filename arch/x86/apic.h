/* Local APIC in xAPIC (MMIO) or x2APIC (MSR) mode, SDM Vol. 3A chapter 11. */
#ifndef ARCH_X86_APIC_H
#define ARCH_X86_APIC_H

#include <stdbool.h>
#include <stdint.h>

/* Enable the BSP's local APIC: x2APIC when want_x2apic and the CPU has it,
 * else xAPIC through a mapping of lapic_phys. */
void lapic_init_bsp(uint64_t lapic_phys, bool want_x2apic);
/* Put an AP's local APIC into the mode the BSP chose. */
void lapic_init_ap(void);
bool lapic_x2apic_mode(void);
uint32_t lapic_id(void);
void lapic_eoi(void);

void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_init(uint32_t apic_id);
void lapic_send_startup(uint32_t apic_id, uint8_t page);
/* NMI to every other CPU (panic path). */
void lapic_stop_other_cpus(void);

/* Timer: count at (LAPIC timer input / divider) Hz. */
void lapic_timer_set_periodic(uint8_t vector, uint32_t initial_count);
void lapic_timer_set_oneshot_max(void);
uint32_t lapic_timer_current(void);
void lapic_timer_stop(void);

#endif
