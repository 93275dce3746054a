#include "arch/x86/platform.h"

#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/tsc.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/string.h"

#define DEFAULT_LAPIC_PHYS 0xFEE00000ull /* SDM Vol. 3A 11.4.1 */
#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1
#define FOUR_GIB (4ull << 30)
#define GAS_SYSTEM_MEMORY 0   /* ACPI 5.2.3.2 */
#define GAS_SYSTEM_IO 1
#define PCI_RESET_PORT 0xCF9  /* PIIX/ICH reset control register */
#define PCI_RESET_FULL 0x06   /* system reset + reset CPU */
#define KBC_COMMAND 0x64
#define KBC_PULSE_RESET 0xFE
#define RESET_SETTLE_US 50000

static struct acpi_info *platform_acpi;

static const void *acpi_map(uint64_t phys, size_t len, void *ctx)
{
    (void)ctx;
    uint64_t limit = MAX(mm_phys_limit(), FOUR_GIB);
    if (phys + len < phys || phys + len > limit)
        return NULL;
    return phys_to_virt(phys);
}

void platform_discover(const struct boot_info *bi, struct acpi_info *acpi)
{
    char err[128];
    uint8_t rsdp_copy[BOOT_RSDP_MAX];
    size_t rsdp_len = bi->rsdp_len;
    const char *source = "boot information";

    memset(acpi, 0, sizeof(*acpi));
    acpi->lapic_phys = DEFAULT_LAPIC_PHYS;
    platform_acpi = acpi;
    if (rsdp_len) {
        memcpy(rsdp_copy, bi->rsdp, rsdp_len);
    } else {
        uint64_t phys = acpi_find_rsdp_bios(acpi_map, NULL);
        if (!phys) {
            pr_warn("acpi: no RSDP found; running on the boot CPU only");
            return;
        }
        const uint8_t *r = acpi_map(phys, BOOT_RSDP_MAX, NULL);
        rsdp_len = r[15] >= 2 ? BOOT_RSDP_MAX : 20;
        memcpy(rsdp_copy, r, rsdp_len);
        source = "BIOS area scan";
    }
    if (acpi_parse(rsdp_copy, rsdp_len, acpi_map, NULL, acpi, err, sizeof(err))) {
        pr_err("%s; running on the boot CPU only", err);
        memset(acpi, 0, sizeof(*acpi));
        acpi->lapic_phys = DEFAULT_LAPIC_PHYS;
        return;
    }
    pr_info("acpi: RSDP rev %u (%s), OEM \"%s\", %s at %#lx, %u tables", acpi->rsdp_revision, source, acpi->oem_id,
            acpi->root_is_xsdt ? "XSDT" : "RSDT", acpi->root_phys, acpi->table_count);
    for (unsigned i = 0; i < acpi->table_count; i++)
        pr_debug("acpi:   %s at %#lx, %u bytes%s", acpi->tables[i].signature, acpi->tables[i].phys,
                 acpi->tables[i].length, acpi->tables[i].checksum_ok ? "" : " (bad checksum, ignored)");
    for (unsigned i = 0; i < acpi->warning_count && i < ACPI_MAX_WARNINGS; i++)
        pr_warn("%s", acpi->warnings[i]);
    unsigned enabled = 0;
    for (unsigned i = 0; i < acpi->cpu_count; i++)
        enabled += acpi->cpus[i].enabled;
    pr_info("acpi: MADT: %u CPUs (%u enabled), %u I/O APICs, %u overrides, LAPIC at %#lx", acpi->cpu_count, enabled,
            acpi->ioapic_count, acpi->override_count, acpi->lapic_phys);
    for (unsigned i = 0; i < acpi->ioapic_count; i++)
        pr_info("acpi:   I/O APIC id %u at %#x, GSI base %u", acpi->ioapics[i].id, acpi->ioapics[i].address,
                acpi->ioapics[i].gsi_base);
    if (acpi->has_fadt)
        pr_info("acpi: FADT rev %u%s, reset register %s", acpi->fadt_revision,
                acpi->hw_reduced ? " (hardware-reduced)" : "", acpi->reset_supported ? "present" : "absent");
    if (acpi->has_hpet)
        pr_info("acpi: HPET at %#lx", acpi->hpet_phys);
    if (acpi->has_mcfg)
        pr_info("acpi: PCIe ECAM at %#lx, buses %u-%u", acpi->mcfg_base, acpi->mcfg_bus_start, acpi->mcfg_bus_end);
    pr_info("acpi: IOMMU: %s%s", acpi->has_dmar ? "Intel VT-d (DMAR) " : "",
            acpi->has_ivrs ? "AMD-Vi (IVRS)" : (acpi->has_dmar ? "" : "none"));
}

void platform_mask_legacy_pic(void)
{
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
}

static void acpi_reset_register(const struct acpi_info *a)
{
    const struct acpi_gas *r = &a->reset_reg;
    if (r->space_id == GAS_SYSTEM_IO && r->address <= 0xFFFF) {
        pr_info("reboot: writing %#x to the ACPI reset register (I/O port %#lx)", a->reset_value, r->address);
        log_drain();
        outb((uint16_t)r->address, a->reset_value);
    } else if (r->space_id == GAS_SYSTEM_MEMORY) {
        volatile uint8_t *reg = ioremap(r->address, 1);
        pr_info("reboot: writing %#x to the ACPI reset register (memory %#lx)", a->reset_value, r->address);
        log_drain();
        if (reg)
            *reg = a->reset_value;
    } else {
        pr_warn("reboot: ACPI reset register in address space %u is not supported", r->space_id);
    }
}

NORETURN void platform_reset(void)
{
    irq_disable();
    if (platform_acpi && platform_acpi->reset_supported) {
        acpi_reset_register(platform_acpi);
        tsc_delay_us(RESET_SETTLE_US);
    }
    pr_info("reboot: trying the PCI reset control register (port 0xcf9)");
    log_drain();
    outb(PCI_RESET_PORT, PCI_RESET_FULL);
    tsc_delay_us(RESET_SETTLE_US);
    pr_info("reboot: trying the keyboard controller");
    log_drain();
    outb(KBC_COMMAND, KBC_PULSE_RESET);
    tsc_delay_us(RESET_SETTLE_US);
    pr_err("reboot: no reset method worked; forcing a triple fault");
    log_drain();
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } empty_idt = { 0, 0 };
    __asm__ volatile("lidt %0; int3" ::"m"(empty_idt));
    for (;;)
        cpu_halt();
}
