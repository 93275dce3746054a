/* Physical devices and the control domain: which ports, memory ranges and
 * PCI configuration accesses it gets, and which the hypervisor keeps
 * (docs/devices.md). */
#ifndef HV_DEVICES_H
#define HV_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

struct acpi_info;
struct boot_info;
struct domain;
struct vcpu;

/* Remember the machine's RAM ranges and the hypervisor's own devices. */
void devices_init(const struct boot_info *bi, const struct acpi_info *acpi, uint16_t console_port);

/* Give the control domain its port permissions (all ports but the
 * hypervisor's and the emulated ones) on every vCPU. 0 or -PL_ENOMEM. */
int devices_attach(struct domain *d);
void devices_detach(struct domain *d);

/* A control-domain access to guest-physical gpa above its RAM: true when
 * that page is device memory it may use; it is then mapped 1:1 uncached
 * and the access is retried. */
bool devices_map_mmio(struct domain *d, uint64_t gpa);

/* PCI configuration mechanism #1 (0xCF8 address, 0xCFC-0xCFF data) for
 * the control domain: true when port is one of these (the access is then
 * done, *val set for reads). */
bool devices_pci_config(struct domain *d, uint16_t port, unsigned size, bool in, uint32_t *val);

/* The hypervisor's own PCI configuration accesses (serialised with the
 * control domain's). bdf = bus << 8 | device << 3 | function. */
uint32_t pci_cfg_read(uint16_t bdf, unsigned off, unsigned size);
void pci_cfg_write(uint16_t bdf, unsigned off, unsigned size, uint32_t val);
/* Offset of capability id in the device's list, 0 if it has none. */
unsigned pci_find_cap(uint16_t bdf, uint8_t id);

#endif
