#ifndef ARCH_X86_PLATFORM_H
#define ARCH_X86_PLATFORM_H

#include "hv/acpi.h"
#include "hv/compiler.h"
#include "hv/mb2.h"

/* Find and parse the ACPI tables (RSDP from the boot information, else the
 * legacy BIOS areas) and log what the platform has. Without usable ACPI the
 * hypervisor runs on the boot CPU alone. */
void platform_discover(const struct boot_info *bi, struct acpi_info *acpi);
/* Map the I/O APICs and mask every line (arch/x86/ioapic.c). */
void ioapic_init(const struct acpi_info *info);
/* Reset the machine: the FADT reset register when there is one, then the
 * PCI reset control register (0xCF9), the 8042 keyboard controller, and a
 * triple fault. Never returns. */
NORETURN void platform_reset(void);
/* Mask both 8259 PICs: the hypervisor uses the local APIC only. */
void platform_mask_legacy_pic(void);

#endif
