/* ACPI static table parser (ACPI 6.5: 5.2.5 RSDP, 5.2.7 RSDT, 5.2.8 XSDT,
 * 5.2.9 FADT, 5.2.12 MADT; HPET: IA-PC HPET spec 3.2.4; DMAR: Intel VT-d
 * spec 8.1; IVRS: AMD IOMMU spec 5.2). Pure logic: physical memory is read
 * only through the map callback, and every length is bounds-checked before
 * a byte is read. */
#ifndef HV_ACPI_H
#define HV_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS 256
#define ACPI_MAX_IOAPICS 16
#define ACPI_MAX_OVERRIDES 32
#define ACPI_MAX_LAPIC_NMIS 32
#define ACPI_MAX_TABLES 64
#define ACPI_MAX_WARNINGS 8
#define ACPI_WARNING_LEN 96
#define ACPI_MAX_TABLE_LEN (16u << 20) /* refuse absurd table lengths */

/* Return a pointer through which len bytes at physical address phys can be
 * read, or NULL if that range cannot be mapped. The parser uses a returned
 * pointer only until its next call to map, so one reusable mapping window is
 * enough. */
typedef const void *(*acpi_map_fn)(uint64_t phys, size_t len, void *ctx);

/* Generic Address Structure (ACPI 5.2.3.2). */
struct acpi_gas {
    uint8_t space_id;   /* 0 system memory, 1 system I/O */
    uint8_t bit_width, bit_offset, access_size;
    uint64_t address;
};

struct acpi_cpu {
    uint32_t apic_id;
    uint32_t acpi_uid;
    bool enabled;         /* flags bit 0 */
    bool online_capable;  /* flags bit 1 (ACPI 6.3+) */
    bool from_x2apic_entry;
};

struct acpi_ioapic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;
};

struct acpi_irq_override {
    uint8_t bus, source_irq;
    uint32_t gsi;
    uint16_t flags;  /* MPS INTI flags: polarity bits 0-1, trigger bits 2-3 */
};

struct acpi_lapic_nmi {
    uint32_t acpi_uid;  /* 0xFF (or 0xFFFFFFFF for x2APIC) means all */
    uint16_t flags;
    uint8_t lint;
};

/* A table listed by the RSDT/XSDT (the root itself is not listed). Non-
 * printable signature bytes are shown as '?'. checksum_ok false means the
 * table was not parsed: bad checksum, bad length, or body unmappable. */
struct acpi_table_ref {
    char signature[5];
    uint64_t phys;
    uint32_t length;
    bool checksum_ok;
};

struct acpi_info {
    uint8_t rsdp_revision;     /* 0 = ACPI 1.0 (RSDT), 2+ = XSDT */
    char oem_id[7];
    uint64_t root_phys;        /* the RSDT or XSDT used */
    bool root_is_xsdt;

    unsigned table_count;
    struct acpi_table_ref tables[ACPI_MAX_TABLES];

    /* MADT */
    bool has_madt;
    uint64_t lapic_phys;       /* after any LAPIC address override (type 5) */
    bool pcat_compat;          /* MADT flags bit 0: dual 8259s present */
    unsigned cpu_count;        /* entries, enabled or online-capable or not;
                                  a CPU given by both a type 0 and a type 9
                                  entry (same APIC id, other than xAPIC id
                                  0xFF) is listed once, as the first entry */
    struct acpi_cpu cpus[ACPI_MAX_CPUS];
    unsigned ioapic_count;
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    unsigned override_count;
    struct acpi_irq_override overrides[ACPI_MAX_OVERRIDES];
    unsigned lapic_nmi_count;
    struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_LAPIC_NMIS];

    /* FADT */
    bool has_fadt;
    uint8_t fadt_revision;
    bool hw_reduced;           /* flags bit 20 */
    bool reset_supported;      /* flags bit 10, a non-zero reset register,
                                  and an FADT long enough (>= 129 bytes) */
    struct acpi_gas reset_reg;
    uint8_t reset_value;
    uint16_t sci_irq;
    uint16_t iapc_boot_arch;   /* bit 0 legacy devices, bit 1 8042; 0 when
                                  fadt_revision < 2 (reserved in ACPI 1.0) */
    uint32_t pm_timer_port;    /* PM_TMR_BLK, 0 if none */

    /* HPET (the first table with a base address) */
    bool has_hpet;
    uint64_t hpet_phys;
    uint8_t hpet_number;
    uint16_t hpet_min_tick;

    /* IOMMU tables, parsed by a later issue: recorded only */
    bool has_dmar;
    uint64_t dmar_phys;
    bool has_ivrs;
    uint64_t ivrs_phys;

    /* PCI Express ECAM (MCFG), first segment only */
    bool has_mcfg;
    uint64_t mcfg_base;
    uint16_t mcfg_segment;
    uint8_t mcfg_bus_start, mcfg_bus_end;

    /* Problems that do not stop parsing (a table with a bad checksum is
     * skipped, a malformed MADT entry, an array is full). Unknown MADT entry
     * types are skipped silently. warning_count counts every warning; only
     * the first ACPI_MAX_WARNINGS are stored, each truncated to
     * ACPI_WARNING_LEN - 1 characters. */
    unsigned warning_count;
    char warnings[ACPI_MAX_WARNINGS][ACPI_WARNING_LEN];
};

/* Validate an RSDP held in memory (signature "RSD PTR ", the ACPI 1.0
 * checksum over 20 bytes, and for revision >= 2 the length field and the
 * extended checksum; len is how many bytes are readable). Returns 0 or
 * -PL_EINVAL with a reason in err. */
int acpi_rsdp_validate(const void *rsdp, size_t len, char *err, size_t errlen);

/* Find the RSDP the legacy-BIOS way (ACPI 5.2.5.1): the first KiB of the
 * EBDA (segment at physical 0x40E; searched only if the EBDA lies above
 * 0x400 and below 0xA0000), then 0xE0000-0xFFFFF, on 16-byte boundaries; a
 * candidate must pass acpi_rsdp_validate. Returns its physical address, or 0
 * if none is found. */
uint64_t acpi_find_rsdp_bios(acpi_map_fn map, void *ctx);

/* Parse every table reachable from a validated RSDP copy (XSDT when revision
 * >= 2 and its address is non-zero, else RSDT). *out is zeroed first.
 * Returns 0, or -PL_EINVAL with a reason in err (may be NULL) when the RSDP
 * or the root table is unusable (no fallback from a bad XSDT to the RSDT); a
 * bad secondary table only adds a warning. Of the MADT and FADT the first
 * valid one is parsed (a second one adds a warning); of HPET, MCFG, DMAR and
 * IVRS the first one is recorded. */
int acpi_parse(const void *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
               struct acpi_info *out, char *err, size_t errlen);

#endif
