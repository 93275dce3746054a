/* PCI configuration mechanism #1 and enumeration (see pci.h). */
#include "dom0/drivers/pci.h"
#include "dom0/kernel/dom0.h"

#define PCI_ADDR 0xCF8
#define PCI_DATA 0xCFC

static struct pci_dev devs[PCI_MAX_DEVS];
static unsigned ndevs;
static bool scanned;

static uint32_t cfg_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
    return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)(dev & 31) << 11 |
           (uint32_t)(fn & 7) << 8 | (off & 0xFCu);
}

uint32_t pci_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
    outl(PCI_ADDR, cfg_addr(bus, dev, fn, off));
    return inl(PCI_DATA);
}

uint16_t pci_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
    return (uint16_t)(pci_read32(bus, dev, fn, off) >> ((off & 2) * 8));
}

uint8_t pci_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
    return (uint8_t)(pci_read32(bus, dev, fn, off) >> ((off & 3) * 8));
}

void pci_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v)
{
    outl(PCI_ADDR, cfg_addr(bus, dev, fn, off));
    outl(PCI_DATA, v);
}

/* Narrow writes as read-modify-write of the dword: every hypervisor
 * forwarding path handles 32-bit accesses to 0xCFC. None of the registers
 * written this way (command, interrupt line, bridge bus numbers) has
 * write-one-to-clear bits next to it except the status register, whose
 * bits we write back as zero. */
void pci_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint16_t v)
{
    uint32_t old = pci_read32(bus, dev, fn, off);
    unsigned sh = (off & 2) * 8;
    if ((off & 0xFC) == PCI_COMMAND)
        old &= 0x0000FFFFu;     /* status: RW1C, leave alone */
    pci_write32(bus, dev, fn, off, (old & ~(0xFFFFu << sh)) | (uint32_t)v << sh);
}

void pci_write8(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint8_t v)
{
    uint32_t old = pci_read32(bus, dev, fn, off);
    unsigned sh = (off & 3) * 8;
    if ((off & 0xFC) == PCI_COMMAND)
        old &= 0x0000FFFFu;
    pci_write32(bus, dev, fn, off, (old & ~(0xFFu << sh)) | (uint32_t)v << sh);
}

const char *pci_class_name(uint8_t c, uint8_t s)
{
    switch (c) {
    case 0x01:
        switch (s) {
        case 0x01: return "storage/IDE";
        case 0x06: return "storage/SATA";
        case 0x08: return "storage/NVMe";
        default: return "storage";
        }
    case 0x02: return s == 0 ? "network/Ethernet" : "network";
    case 0x03: return "display";
    case 0x04: return "multimedia";
    case 0x05: return "memory";
    case 0x06:
        switch (s) {
        case 0x00: return "bridge/host";
        case 0x01: return "bridge/ISA";
        case 0x04: return "bridge/PCI";
        case 0x80: return "bridge/other";
        default: return "bridge";
        }
    case 0x07: return "communication";
    case 0x08: return "system";
    case 0x0C: return s == 0x03 ? "serial/USB" : s == 0x05 ? "serial/SMBus" : "serial";
    case 0xFF: return "unassigned";
    default: return "other";
    }
}

/* Size the BARs: decoding off while all ones sit in a BAR (the device
 * would otherwise answer at a bogus address), then restore. */
static void probe_bars(struct pci_dev *d)
{
    unsigned nbars = d->header_type == 0 ? 6 : d->header_type == 1 ? 2 : 0;
    uint16_t cmd = pci_cfg_read16(d, PCI_COMMAND);
    pci_cfg_write16(d, PCI_COMMAND, cmd & (uint16_t)~(PCI_CMD_IO | PCI_CMD_MEM));
    for (unsigned i = 0; i < nbars;) {
        uint8_t off = (uint8_t)(PCI_BAR0 + 4 * i);
        uint32_t lo = pci_cfg_read32(d, off), hi = 0, slo, shi = 0;
        pci_write32(d->bus, d->dev, d->fn, off, 0xFFFFFFFFu);
        slo = pci_cfg_read32(d, off);
        pci_write32(d->bus, d->dev, d->fn, off, lo);
        bool is64 = !(lo & 1) && ((lo >> 1) & 3) == 2 && i + 1 < nbars;
        if (is64) {
            hi = pci_cfg_read32(d, (uint8_t)(off + 4));
            pci_write32(d->bus, d->dev, d->fn, (uint8_t)(off + 4), 0xFFFFFFFFu);
            shi = pci_cfg_read32(d, (uint8_t)(off + 4));
            pci_write32(d->bus, d->dev, d->fn, (uint8_t)(off + 4), hi);
        }
        int used = pci_bar_decode(lo, hi, slo, shi, &d->bar[i]);
        i += used > 0 ? (unsigned)used : 1;
    }
    pci_cfg_write16(d, PCI_COMMAND, cmd);
}

void pci_print(const struct pci_dev *d)
{
    char line[256];
    size_t n = 0;
    n += (size_t)ksnprintf(line, sizeof line, "pci %02x:%02x.%x %04x:%04x class %02x%02x%02x (%s)",
                           d->bus, d->dev, d->fn, d->vendor, d->device, d->class_code, d->subclass,
                           d->prog_if, pci_class_name(d->class_code, d->subclass));
    for (unsigned i = 0; i < 6 && n < sizeof line; i++) {
        const struct pci_bar *b = &d->bar[i];
        if (!b->size)
            continue;
        if (b->io)
            n += (size_t)ksnprintf(line + n, sizeof line - n, " bar%u=io:%llx+%llx", i,
                                   (unsigned long long)b->base, (unsigned long long)b->size);
        else
            n += (size_t)ksnprintf(line + n, sizeof line - n, " bar%u=mem%s:%llx+%llx", i,
                                   b->is64 ? "64" : "32", (unsigned long long)b->base,
                                   (unsigned long long)b->size);
    }
    if (d->irq_pin && n < sizeof line)
        n += (size_t)ksnprintf(line + n, sizeof line - n, " irq %u", d->irq_line);
    if (d->driver && n < sizeof line)
        n += (size_t)ksnprintf(line + n, sizeof line - n, " -> %s", d->driver);
    kprintf("%s\n", line);
}

static void scan_bus(uint8_t bus, unsigned depth);

static void scan_fn(uint8_t bus, uint8_t dev, uint8_t fn, unsigned depth)
{
    uint32_t id = pci_read32(bus, dev, fn, PCI_VENDOR);
    if ((id & 0xFFFF) == 0xFFFF || (id & 0xFFFF) == 0)
        return;
    if (ndevs == PCI_MAX_DEVS) {
        kprintf("pci: more than %u functions, ignoring %02x:%02x.%x\n", PCI_MAX_DEVS, bus, dev, fn);
        return;
    }
    struct pci_dev *d = &devs[ndevs++];
    d->bus = bus;
    d->dev = dev;
    d->fn = fn;
    d->vendor = (uint16_t)id;
    d->device = (uint16_t)(id >> 16);
    uint32_t cls = pci_read32(bus, dev, fn, PCI_REVISION);
    d->revision = (uint8_t)cls;
    d->prog_if = (uint8_t)(cls >> 8);
    d->subclass = (uint8_t)(cls >> 16);
    d->class_code = (uint8_t)(cls >> 24);
    d->header_type = pci_read8(bus, dev, fn, PCI_HEADER_TYPE) & 0x7F;
    d->irq_line = pci_read8(bus, dev, fn, PCI_INT_LINE);
    d->irq_pin = pci_read8(bus, dev, fn, PCI_INT_PIN);
    if (d->irq_pin > 4)
        d->irq_pin = 0;
    probe_bars(d);
    pci_print(d);
    if (d->header_type == 1 && depth < 8) {
        /* PCI-PCI bridge: the firmware assigned its secondary bus. */
        uint8_t secondary = pci_read8(bus, dev, fn, 0x19);
        if (secondary > bus)
            scan_bus(secondary, depth + 1);
        else
            kprintf("pci: bridge %02x:%02x.%x has no secondary bus assigned\n", bus, dev, fn);
    }
}

static void scan_bus(uint8_t bus, unsigned depth)
{
    for (uint8_t dev = 0; dev < 32; dev++) {
        uint32_t id = pci_read32(bus, dev, 0, PCI_VENDOR);
        if ((id & 0xFFFF) == 0xFFFF || (id & 0xFFFF) == 0)
            continue;
        bool multi = pci_read8(bus, dev, 0, PCI_HEADER_TYPE) & 0x80;
        for (uint8_t fn = 0; fn < (multi ? 8 : 1); fn++)
            scan_fn(bus, dev, fn, depth);
    }
}

void pci_scan(void)
{
    if (scanned)
        return;
    scanned = true;
    /* Mechanism #1 present? The address register reads back what was
     * written. */
    outl(PCI_ADDR, 0x80000000u);
    if (inl(PCI_ADDR) != 0x80000000u) {
        kprintf("pci: no configuration mechanism #1\n");
        return;
    }
    scan_bus(0, 0);
    kprintf("pci: %u functions\n", ndevs);
}

unsigned pci_count(void)
{
    return ndevs;
}

struct pci_dev *pci_get(unsigned i)
{
    return i < ndevs ? &devs[i] : NULL;
}

void pci_enable(struct pci_dev *d, uint16_t bits)
{
    uint16_t cmd = pci_cfg_read16(d, PCI_COMMAND);
    cmd = (uint16_t)((cmd | bits) & ~PCI_CMD_INTX_DISABLE);
    pci_cfg_write16(d, PCI_COMMAND, cmd);
}

void pci_print_caps(const struct pci_dev *d)
{
    char line[128];
    size_t n = (size_t)ksnprintf(line, sizeof line, "    INT%c, capabilities:",
                                 d->irq_pin ? 'A' + d->irq_pin - 1 : '-');
    unsigned count = 0;
    if (pci_cfg_read16(d, PCI_STATUS) & PCI_STATUS_CAPS) {
        uint8_t off = pci_cfg_read8(d, PCI_CAP_PTR) & 0xFC;
        for (unsigned guard = 0; off >= 0x40 && guard < 48 && n + 8 < sizeof line; guard++) {
            n += (size_t)ksnprintf(line + n, sizeof line - n, " %02x@%02x", pci_cfg_read8(d, off), off);
            off = pci_cfg_read8(d, (uint8_t)(off + 1)) & 0xFC;
            count++;
        }
    }
    kprintf("%s%s\n", line, count ? "" : " none");
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t cap_id)
{
    if (!(pci_cfg_read16(d, PCI_STATUS) & PCI_STATUS_CAPS))
        return 0;
    uint8_t off = pci_cfg_read8(d, PCI_CAP_PTR) & 0xFC;
    for (unsigned guard = 0; off >= 0x40 && guard < 48; guard++) {
        if (pci_cfg_read8(d, off) == cap_id)
            return off;
        off = pci_cfg_read8(d, (uint8_t)(off + 1)) & 0xFC;
    }
    return 0;
}
