/* Device ownership. The hypervisor keeps the CPUs' local APICs, the
 * IOAPICs, the HPET it calibrates with, its console UART, the PICs and the
 * PIT, the PCI configuration mechanism (forwarded, so it can later watch
 * MSI programming) and the machine's reset and emulator-exit ports. All
 * other ports and every physical address that is not RAM belong to the
 * control domain. Domains other than the control domain get no device at
 * all. */
#include "hv/devices.h"

#include "arch/x86/cpu.h"
#include "arch/x86/spinlock.h"
#include "hv/acpi.h"
#include "hv/compiler.h"
#include "hv/domain.h"
#include "hv/log.h"
#include "hv/mb2.h"
#include "plinth/errno.h"

#define PAGE 4096ull
#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_CONFIG_ENABLE 0x80000000u
#define MAX_PROTECTED 40

struct port_range {
    uint16_t first, count;
    const char *owner;
};

/* Ports that always exit for the control domain: emulated for it, or the
 * hypervisor's. */
static const struct port_range kept_ports[] = {
    { 0x20, 2, "master PIC" },
    { 0xA0, 2, "slave PIC" },
    { 0x40, 4, "PIT" },
    { 0x92, 1, "system control port A (fast reset)" },
    { 0xF4, 1, "exit port (emulated)" },
    { 0x3F8, 8, "console 16550 (emulated)" },
    { PCI_CONFIG_ADDRESS, 8, "PCI configuration (forwarded)" },
    { 0xCF9, 1, "reset control" },
    { 0x8900, 1, "Bochs shutdown port" },
    { 0x604, 1, "QEMU ACPI power-off" },
};

struct phys_range {
    uint64_t base, len;
};

static struct phys_range protected_ranges[MAX_PROTECTED];
static unsigned protected_count;
static uint16_t hv_console_port;
static spinlock_t pci_lock = SPINLOCK_INIT;

static void protect(uint64_t base, uint64_t len)
{
    if (protected_count < MAX_PROTECTED)
        protected_ranges[protected_count++] = (struct phys_range){ base, len };
    else
        pr_err("devices: too many protected ranges; %#lx not recorded", base);
}

void devices_init(const struct boot_info *bi, const struct acpi_info *acpi, uint16_t console_port)
{
    hv_console_port = console_port;
    /* Every RAM-like range of the memory map: the hypervisor's and the
     * domains' memory, ACPI tables and firmware state. */
    for (unsigned i = 0; i < bi->mmap_count; i++)
        if (bi->mmap[i].type != MEM_RESERVED)
            protect(bi->mmap[i].base, bi->mmap[i].len);
    protect(acpi->lapic_phys & ~(PAGE - 1), PAGE);
    for (unsigned i = 0; i < acpi->ioapic_count; i++)
        protect(acpi->ioapics[i].address & ~(PAGE - 1), PAGE);
    if (acpi->has_hpet)
        protect(acpi->hpet_phys & ~(PAGE - 1), PAGE);
    /* ECAM would bypass the forwarded configuration mechanism. */
    if (acpi->has_mcfg)
        protect(acpi->mcfg_base + ((uint64_t)acpi->mcfg_bus_start << 20),
                ((uint64_t)acpi->mcfg_bus_end - acpi->mcfg_bus_start + 1) << 20);
}

int devices_attach(struct domain *d)
{
    struct io_perm *p = arch_io_perm_create();
    if (!p)
        return -PL_ENOMEM;
    arch_io_perm_allow(p, 0, 0x10000, true);
    for (unsigned i = 0; i < ARRAY_SIZE(kept_ports); i++)
        arch_io_perm_allow(p, kept_ports[i].first, kept_ports[i].count, false);
    if (hv_console_port)
        arch_io_perm_allow(p, hv_console_port, 8, false);
    d->io_perm = p;
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        arch_vcpu_set_io_perm(d->vcpus[i], p);
        arch_vcpu_put(d->vcpus[i]);
    }
    return 0;
}

void devices_detach(struct domain *d)
{
    /* The vCPUs are gone (or never ran) when this is called. */
    arch_io_perm_destroy(d->io_perm);
    d->io_perm = NULL;
}

bool devices_map_mmio(struct domain *d, uint64_t gpa)
{
    if (!d->privileged || gpa < d->mem_size)
        return false;
    uint64_t page = gpa & ~(PAGE - 1);
    for (unsigned i = 0; i < protected_count; i++)
        if (page < protected_ranges[i].base + protected_ranges[i].len && page + PAGE > protected_ranges[i].base)
            return false;
    if (page >= (1ull << 52))
        return false;
    return arch_aspace_map(&d->as, page, page, PAGE, ASPACE_R | ASPACE_W, MEMTYPE_UC) == 0;
}

/* ---- PCI configuration (mechanism #1), for the hypervisor's own use ---- */

static uint32_t cfg_address(uint16_t bdf, unsigned off)
{
    return PCI_CONFIG_ENABLE | ((uint32_t)bdf << 8) | (off & 0xFC);
}

static uint32_t cfg_read_locked(uint16_t bdf, unsigned off, unsigned size)
{
    outl(PCI_CONFIG_ADDRESS, cfg_address(bdf, off));
    uint16_t data = (uint16_t)(PCI_CONFIG_DATA + (off & 3));
    return size == 1 ? inb(data) : size == 2 ? inw(data) : inl(data);
}

static void cfg_write_locked(uint16_t bdf, unsigned off, unsigned size, uint32_t val)
{
    outl(PCI_CONFIG_ADDRESS, cfg_address(bdf, off));
    uint16_t data = (uint16_t)(PCI_CONFIG_DATA + (off & 3));
    if (size == 1)
        outb(data, (uint8_t)val);
    else if (size == 2)
        outw(data, (uint16_t)val);
    else
        outl(data, val);
}

uint32_t pci_cfg_read(uint16_t bdf, unsigned off, unsigned size)
{
    uint64_t flags = spin_lock_irqsave(&pci_lock);
    uint32_t v = cfg_read_locked(bdf, off, size);
    spin_unlock_irqrestore(&pci_lock, flags);
    return v;
}

void pci_cfg_write(uint16_t bdf, unsigned off, unsigned size, uint32_t val)
{
    uint64_t flags = spin_lock_irqsave(&pci_lock);
    cfg_write_locked(bdf, off, size, val);
    spin_unlock_irqrestore(&pci_lock, flags);
}

#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_CAP_PTR 0x34
#define PCI_CAP_MSI 0x05
#define PCI_CAP_MSIX 0x11
#define MSI_CAP_BYTES 24  /* the largest form: 64-bit address with per-vector masking */
#define MSIX_CAP_BYTES 12

/* Offset of the device's capability `id`, 0 if none (PCI 3.0 6.7; the walk
 * is bounded so a broken list cannot loop). */
static unsigned find_cap_locked(uint16_t bdf, uint8_t id)
{
    if (cfg_read_locked(bdf, 0, 2) == 0xFFFF || !(cfg_read_locked(bdf, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return 0;
    unsigned off = cfg_read_locked(bdf, PCI_CAP_PTR, 1) & 0xFC;
    for (unsigned n = 0; off >= 0x40 && n < 48; n++) {
        if (cfg_read_locked(bdf, off, 1) == id)
            return off;
        off = cfg_read_locked(bdf, off + 1, 1) & 0xFC;
    }
    return 0;
}

unsigned pci_find_cap(uint16_t bdf, uint8_t id)
{
    uint64_t flags = spin_lock_irqsave(&pci_lock);
    unsigned off = find_cap_locked(bdf, id);
    spin_unlock_irqrestore(&pci_lock, flags);
    return off;
}

/* MSI and MSI-X capabilities are the hypervisor's to program
 * (HC_MSI_BIND): a message dom0 wrote itself could send any vector to any
 * CPU, the hypervisor's IPIs included. */
static bool msi_register_locked(uint16_t bdf, unsigned off, unsigned size)
{
    unsigned msi = find_cap_locked(bdf, PCI_CAP_MSI), msix = find_cap_locked(bdf, PCI_CAP_MSIX);
    return (msi && off + size > msi && off < msi + MSI_CAP_BYTES) ||
           (msix && off + size > msix && off < msix + MSIX_CAP_BYTES);
}

bool devices_pci_config(struct domain *d, uint16_t port, unsigned size, bool in, uint32_t *val)
{
    if (port < PCI_CONFIG_ADDRESS || port >= PCI_CONFIG_ADDRESS + 8 || !d->privileged)
        return false;
    uint64_t flags = spin_lock_irqsave(&pci_lock);
    if (port == PCI_CONFIG_ADDRESS && size == 4) {
        if (in)
            *val = d->pci_address;
        else
            d->pci_address = *val;
    } else if (port >= PCI_CONFIG_DATA && (d->pci_address & PCI_CONFIG_ENABLE)) {
        uint16_t bdf = (uint16_t)(d->pci_address >> 8);
        unsigned off = (d->pci_address & 0xFC) + (port - PCI_CONFIG_DATA);
        if (in)
            *val = cfg_read_locked(bdf, off, size);
        else if (!msi_register_locked(bdf, off, size))
            cfg_write_locked(bdf, off, size, *val);
        else if (!d->msi_write_warned) {
            d->msi_write_warned = true;
            pr_warn("dom%u(%s): write to the MSI capability of %02x:%02x.%x ignored (use HC_MSI_BIND)", d->id,
                    d->name, bdf >> 8, (bdf >> 3) & 31, bdf & 7);
        }
    } else if (in) {
        *val = 0xFFFFFFFFu; /* no configuration cycle: nothing answers */
    }
    spin_unlock_irqrestore(&pci_lock, flags);
    return true;
}
