#include "arch/x86/platform.h"

#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/string.h"

#define DEFAULT_LAPIC_PHYS 0xFEE00000ull /* SDM Vol. 3A 11.4.1 */
#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1
#define FOUR_GIB (4ull << 30)

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
