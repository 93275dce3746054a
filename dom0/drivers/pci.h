/* PCI configuration access (mechanism #1, ports 0xCF8/0xCFC), enumeration
 * of bus 0 and everything behind PCI-PCI bridges, BAR decoding. */
#ifndef DOM0_DRIVERS_PCI_H
#define DOM0_DRIVERS_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "dom0/drivers/drvutil.h"

#define PCI_MAX_DEVS 64

#define PCI_VENDOR 0x00
#define PCI_DEVICE 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYS_ID 0x2E
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_MSI 0x05   /* PCI 3.0 6.8.1 */
#define PCI_INT_LINE 0x3C
#define PCI_INT_PIN 0x3D

#define PCI_CMD_IO (1u << 0)
#define PCI_CMD_MEM (1u << 1)
#define PCI_CMD_MASTER (1u << 2)
#define PCI_CMD_INTX_DISABLE (1u << 10)
#define PCI_STATUS_CAPS (1u << 4)

struct pci_dev {
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint8_t class_code, subclass, prog_if, revision;
    uint8_t header_type;        /* without the multi-function bit */
    uint8_t irq_line, irq_pin;  /* Interrupt Line (ISA IRQ), pin 1..4 (0: none) */
    struct pci_bar bar[6];
    const char *driver;         /* the driver that took it, or NULL */
};

uint32_t pci_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
uint16_t pci_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
uint8_t pci_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
void pci_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v);
void pci_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint16_t v);
void pci_write8(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint8_t v);

static inline uint32_t pci_cfg_read32(const struct pci_dev *d, uint8_t off) { return pci_read32(d->bus, d->dev, d->fn, off); }
static inline uint16_t pci_cfg_read16(const struct pci_dev *d, uint8_t off) { return pci_read16(d->bus, d->dev, d->fn, off); }
static inline uint8_t pci_cfg_read8(const struct pci_dev *d, uint8_t off) { return pci_read8(d->bus, d->dev, d->fn, off); }
static inline void pci_cfg_write16(const struct pci_dev *d, uint8_t off, uint16_t v) { pci_write16(d->bus, d->dev, d->fn, off, v); }

/* Enumerate (once) and log one line per function. */
void pci_scan(void);
unsigned pci_count(void);
struct pci_dev *pci_get(unsigned i);
/* Set bits (PCI_CMD_*) in the command register, clearing INTx disable. */
void pci_enable(struct pci_dev *d, uint16_t cmd_bits);
/* Config offset of the first capability with this id, 0 if none. */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t cap_id);
/* Short class description ("storage/IDE"). */
const char *pci_class_name(uint8_t class_code, uint8_t subclass);
/* Print one device line (lspci, boot log). */
void pci_print(const struct pci_dev *d);
/* Print its interrupt pin and capability list (id@offset), indented. */
void pci_print_caps(const struct pci_dev *d);

#endif
