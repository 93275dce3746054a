/* Internal interface between the dom0 drivers (not for the kernel). */
#ifndef DOM0_DRIVERS_DRIVERS_H
#define DOM0_DRIVERS_DRIVERS_H

#include <stdbool.h>
#include <stdint.h>

#include "dom0/drivers/pci.h"

/* PCI drivers: take d (return true) if they drive it. */
bool virtio_blk_probe(struct pci_dev *d);
bool virtio_net_probe(struct pci_dev *d);
bool e1000_probe(struct pci_dev *d);
/* Legacy IDE channels at their fixed ports. */
void ata_init(void);

/* Shared interrupt lines: several devices may sit on one ISA IRQ (PCI INTx
 * lines are shared), so the drivers attach handlers here and dev.c binds
 * each line once. A handler returns true if its device had raised the
 * interrupt. Returns 0 or the irq_bind error (then the driver polls). */
int drv_irq_attach(unsigned isa_irq, bool (*handler)(void *arg), void *arg, const char *who);
/* The function's MSI instead of its INTx line; -PL_ENOENT if it has none. */
int drv_msi_attach(uint8_t bus, uint8_t dev, uint8_t fn, bool (*handler)(void *arg), void *arg, const char *who);

/* Per bound line: interrupts delivered and those no handler claimed. */
void drv_irq_stats(void (*out)(unsigned irq, uint64_t count, uint64_t unclaimed));

/* Wait for cond(arg) up to timeout_us (wait_until, which also polls). */
bool drv_wait(bool (*cond)(void *arg), void *arg, uint64_t timeout_us);

#endif
