/* Multiboot2 boot information parser (Multiboot2 specification 1.0, 3.6).
 * Pure logic: reads the information structure through a pointer and a byte
 * bound, copies what the hypervisor needs into struct boot_info, and never
 * reads outside [mbi, mbi + avail). */
#ifndef HV_MB2_H
#define HV_MB2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/memmap.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289u /* in EAX at entry (spec 3.3) */

/* Information structure tag types (spec 3.6). */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_BASIC_MEMINFO 4
#define MB2_TAG_BOOTDEV 5
#define MB2_TAG_MMAP 6
#define MB2_TAG_VBE 7
#define MB2_TAG_FRAMEBUFFER 8
#define MB2_TAG_ELF_SECTIONS 9
#define MB2_TAG_APM 10
#define MB2_TAG_EFI32 11
#define MB2_TAG_EFI64 12
#define MB2_TAG_SMBIOS 13
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15
#define MB2_TAG_NETWORK 16
#define MB2_TAG_EFI_MMAP 17
#define MB2_TAG_EFI_BS 18
#define MB2_TAG_EFI32_IH 19
#define MB2_TAG_EFI64_IH 20
#define MB2_TAG_LOAD_BASE_ADDR 21

#define BOOT_CMDLINE_MAX 512      /* bytes including the NUL */
#define BOOT_LOADER_NAME_MAX 64
#define BOOT_MAX_MODULES 32
#define BOOT_MAX_MEM_RANGES 512
#define BOOT_MBI_MAX_SIZE (1u << 20) /* refuse absurd total_size values */
#define BOOT_RSDP_MAX 36             /* ACPI 2.0+ RSDP is 36 bytes */

enum boot_mmap_source { BOOT_MMAP_NONE = 0, BOOT_MMAP_E820 = 1, BOOT_MMAP_EFI = 2 };

struct boot_module {
    uint64_t start;   /* physical, inclusive */
    uint64_t end;     /* physical, exclusive */
    char cmdline[BOOT_CMDLINE_MAX];
};

struct boot_framebuffer {
    bool present;
    uint64_t addr;
    uint32_t pitch, width, height;
    uint8_t bpp, type; /* type: 0 indexed, 1 RGB, 2 EGA text */
};

struct boot_info {
    uint32_t mbi_size;  /* total_size field */

    bool has_cmdline;
    char cmdline[BOOT_CMDLINE_MAX];
    char loader_name[BOOT_LOADER_NAME_MAX]; /* "" if absent */

    bool has_basic_meminfo;
    uint32_t mem_lower_kib, mem_upper_kib;

    /* The map used for memory management: the e820-style tag (6) when
     * present, otherwise the EFI map (17) converted. Not yet sanitised. */
    enum boot_mmap_source mmap_source;
    unsigned mmap_count;
    struct mem_range mmap[BOOT_MAX_MEM_RANGES];
    /* Both maps are parsed and counted even when only one is used. */
    unsigned e820_entries;   /* entries in tag 6, 0 if absent */
    unsigned efi_entries;    /* descriptors in tag 17, 0 if absent */

    unsigned module_count;
    struct boot_module modules[BOOT_MAX_MODULES];

    /* ACPI RSDP as copied into tag 14/15 (the tag holds a copy, not a
     * pointer). The new (tag 15) form is preferred when both exist. */
    unsigned rsdp_len;            /* 0 if no ACPI tag */
    uint8_t rsdp[BOOT_RSDP_MAX];

    struct boot_framebuffer fb;

    bool efi_boot;                /* tag 11 or 12 present */
    uint64_t efi_system_table;
    bool efi_boot_services_active; /* tag 18 */
    bool has_load_base;
    uint64_t load_base;           /* tag 21 */

    unsigned unknown_tags;        /* tags skipped because we do not know them */
};

/* Parse the information structure at mbi, of which at most avail bytes may be
 * read. Returns 0 or a negative PL_E* code; on error a one-line reason
 * (naming the tag type and offset where relevant) is written to err, which
 * has errlen bytes. Errors: -PL_EINVAL for a malformed structure (total_size
 * smaller than 16 or larger than avail or BOOT_MBI_MAX_SIZE, a tag shorter
 * than its type requires, a tag running past total_size, a missing end tag,
 * a module with end < start, a memory map with entry_size too small),
 * -PL_E2BIG for a string (command line, loader name, module string) that
 * does not fit its buffer (never truncated silently), -PL_ENOSPC for more
 * modules or map entries than the arrays hold (for the EFI map: converted
 * ranges, and only when that map is the one used). A map whose entry bytes
 * are not a whole number of entries is malformed too. Tag types this parser
 * does not know (above MB2_TAG_LOAD_BASE_ADDR) are skipped and counted;
 * known but unused ones (boot device, VBE, ELF sections, APM, SMBIOS,
 * network, image handles) are skipped without counting. A repeated tag
 * replaces the earlier one, except that tag 15 beats tag 14 and tag 12 beats
 * tag 11 in either order; modules accumulate. EFI descriptors of zero pages
 * are dropped while converting. Note that EFI loader and boot-services
 * memory is reported as MEM_AVAILABLE even while boot services are active
 * (efi_boot_services_active) and holds this very structure and the modules:
 * the caller must reserve what it still needs. */
int mb2_parse(const void *mbi, size_t avail, struct boot_info *out, char *err, size_t errlen);

#endif
