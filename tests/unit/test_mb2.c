#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/mb2.h"
#include "plinth/errno.h"

/* ---------------------------------------------------------------- fixture builder
 * Builds a Multiboot2 information structure the way a boot loader does: an
 * 8-byte fixed part, then tags each starting on an 8-byte boundary, each
 * size field excluding the zero padding that follows. */

#define MBB_CAP (64 * 1024)

struct mbb {
    _Alignas(8) uint8_t buf[MBB_CAP];
    size_t len;
};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void mbb_init(struct mbb *b)
{
    memset(b->buf, 0, sizeof(b->buf));
    b->len = 8;
}

/* Append a tag; returns its offset. */
static size_t mbb_tag(struct mbb *b, uint32_t type, const void *payload, size_t plen)
{
    size_t off = b->len;
    assert_true(off % 8 == 0);
    assert_true(off + 8 + plen + 8 <= MBB_CAP);
    put32(b->buf + off, type);
    put32(b->buf + off + 4, (uint32_t)(8 + plen));
    if (plen)
        memcpy(b->buf + off + 8, payload, plen);
    b->len = (off + 8 + plen + 7) & ~(size_t)7;
    return off;
}

/* Append the end tag and set total_size. */
static void mbb_end(struct mbb *b)
{
    mbb_tag(b, MB2_TAG_END, NULL, 0);
    put32(b->buf, (uint32_t)b->len);
}

static size_t tag_str(struct mbb *b, uint32_t type, const char *s)
{
    return mbb_tag(b, type, s, strlen(s) + 1);
}

static size_t tag_module(struct mbb *b, uint32_t start, uint32_t end, const char *s)
{
    uint8_t p[600];
    size_t n = strlen(s) + 1;
    assert_true(8 + n <= sizeof(p));
    put32(p, start);
    put32(p + 4, end);
    memcpy(p + 8, s, n);
    return mbb_tag(b, MB2_TAG_MODULE, p, 8 + n);
}

static size_t tag_u32(struct mbb *b, uint32_t type, uint32_t v)
{
    uint8_t p[4];
    put32(p, v);
    return mbb_tag(b, type, p, 4);
}

static size_t tag_u64(struct mbb *b, uint32_t type, uint64_t v)
{
    uint8_t p[8];
    put64(p, v);
    return mbb_tag(b, type, p, 8);
}

struct e820 {
    uint64_t base, len;
    uint32_t type;
};

static size_t tag_mmap(struct mbb *b, const struct e820 *e, unsigned n, uint32_t esize)
{
    static uint8_t p[MBB_CAP];
    size_t len = 8 + (size_t)n * esize;
    assert_true(len <= sizeof(p));
    memset(p, 0xee, len); /* filler beyond the 24 known bytes of an entry */
    put32(p, esize);
    put32(p + 4, 0);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *q = p + 8 + (size_t)i * esize;
        put64(q, e[i].base);
        put64(q + 8, e[i].len);
        put32(q + 16, e[i].type);
        put32(q + 20, 0);
    }
    return mbb_tag(b, MB2_TAG_MMAP, p, len);
}

struct efid {
    uint32_t type;
    uint64_t start, pages;
};

static size_t tag_efi_mmap(struct mbb *b, const struct efid *d, unsigned n, uint32_t dsize)
{
    static uint8_t p[MBB_CAP];
    size_t len = 8 + (size_t)n * dsize;
    assert_true(len <= sizeof(p));
    memset(p, 0x5a, len);
    put32(p, dsize);
    put32(p + 4, 1);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *q = p + 8 + (size_t)i * dsize;
        put32(q, d[i].type);
        put32(q + 4, 0);
        put64(q + 8, d[i].start);
        put64(q + 16, 0xffff800000000000ull + d[i].start); /* VirtualStart: ignored */
        put64(q + 24, d[i].pages);
        put64(q + 32, 0xf); /* Attribute: ignored */
    }
    return mbb_tag(b, MB2_TAG_EFI_MMAP, p, len);
}

static size_t tag_fb(struct mbb *b, uint64_t addr, uint32_t pitch, uint32_t w, uint32_t h, uint8_t bpp, uint8_t type)
{
    uint8_t p[24 + 6] = { 0 };
    put64(p, addr);
    put32(p + 8, pitch);
    put32(p + 12, w);
    put32(p + 16, h);
    p[20] = bpp;
    p[21] = type;
    /* RGB colour info: red pos/size, green pos/size, blue pos/size */
    p[24] = 16, p[25] = 8, p[26] = 8, p[27] = 8, p[28] = 0, p[29] = 8;
    return mbb_tag(b, MB2_TAG_FRAMEBUFFER, p, sizeof(p));
}

static const uint8_t rsdp_v1[20] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ', 0x4e, 'B', 'O', 'C', 'H', 'S', ' ', 0,
                                     0x00, 0x10, 0xfe, 0x07 };
static const uint8_t rsdp_v2[36] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ', 0x77, 'O', 'V', 'M', 'F', ' ', ' ', 2,
                                     0x14, 0xe0, 0x7f, 0x7f, 36, 0, 0, 0, 0x98, 0xe0, 0x7f, 0x7f, 0, 0, 0, 0, 0xaa,
                                     0, 0, 0 };

/* ---------------------------------------------------------------- parse helpers */

static struct boot_info bi;
static char err[256];

/* Parse the first avail bytes of the fixture from a heap copy of exactly that
 * size, so AddressSanitizer reports any read past avail. */
static int parse_avail(const struct mbb *b, size_t avail)
{
    uint8_t *copy = malloc(avail ? avail : 1);
    assert_non_null(copy);
    memcpy(copy, b->buf, avail);
    memset(err, 'x', sizeof(err));
    int rc = mb2_parse(copy, avail, &bi, err, sizeof(err));
    free(copy);
    if (rc == 0)
        assert_string_equal(err, "");
    else {
        assert_true(strlen(err) > 0 && strlen(err) < sizeof(err) - 1);
        assert_null(strchr(err, '\n'));
        assert_true(strncmp(err, "multiboot2: ", 12) == 0);
    }
    return rc;
}

static int parse(const struct mbb *b)
{
    return parse_avail(b, b->len);
}

static void assert_err_names(uint32_t type, size_t off)
{
    char want[64];
    snprintf(want, sizeof(want), "tag type %u at offset %#zx", (unsigned)type, off);
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void assert_range(unsigned i, uint64_t base, uint64_t len, uint32_t type)
{
    assert_int_equal(bi.mmap[i].base, base);
    assert_int_equal(bi.mmap[i].len, len);
    assert_int_equal(bi.mmap[i].type, type);
}

static struct mbb b;

/* ---------------------------------------------------------------- fixtures */

static const struct e820 bios_map[] = {
    { 0x0, 0x9fc00, 1 },
    { 0x9fc00, 0x400, 2 },
    { 0xf0000, 0x10000, 2 },
    { 0x100000, 0x7ee0000, 1 },
    { 0x7fe0000, 0x20000, 3 },
    { 0x8000000, 0x1000, 4 },
    { 0x8001000, 0x1000, 5 },
    { 0xfffc0000, 0x40000, 12 }, /* unknown e820 type: reserved */
    { 0x100000000ull, 0x40000000, 1 },
};

static void build_bios(struct mbb *m)
{
    mbb_init(m);
    tag_str(m, MB2_TAG_CMDLINE, "console=com1 dom0_mem=512M");
    tag_str(m, MB2_TAG_LOADER_NAME, "GRUB 2.12");
    tag_module(m, 0x200000, 0x5f1234, "dom0 root=/dev/vda");
    tag_module(m, 0x600000, 0x7a0000, "initrd");
    uint8_t mi[8];
    put32(mi, 639);
    put32(mi + 4, 129920);
    mbb_tag(m, MB2_TAG_BASIC_MEMINFO, mi, 8);
    uint8_t bootdev[12] = { 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    mbb_tag(m, MB2_TAG_BOOTDEV, bootdev, sizeof(bootdev));
    tag_mmap(m, bios_map, sizeof(bios_map) / sizeof(bios_map[0]), 24);
    mbb_tag(m, MB2_TAG_ACPI_OLD, rsdp_v1, sizeof(rsdp_v1));
    tag_fb(m, 0xfd000000, 4096, 1024, 768, 32, 1);
    tag_u32(m, MB2_TAG_LOAD_BASE_ADDR, 0x100000);
    mbb_end(m);
}

static const struct efid uefi_map[] = {
    { 3, 0x0, 1 },              /* BS code */
    { 7, 0x1000, 0x9f },        /* conventional, adjacent: merged with the above */
    { 0, 0xa0000, 0x60 },       /* reserved */
    { 7, 0x100000, 0x700 },     /* conventional */
    { 2, 0x800000, 0x100 },     /* loader data, adjacent: merged */
    { 1, 0x900000, 0x80 },      /* loader code, adjacent: merged */
    { 4, 0x980000, 0x1680 },    /* BS data, adjacent: merged -> ends 0x2000000 */
    { 9, 0x2000000, 0x10 },     /* ACPI reclaim */
    { 10, 0x2010000, 0x10 },    /* ACPI NVS */
    { 5, 0x2020000, 0x20 },     /* runtime code: reserved */
    { 6, 0x2040000, 0x20 },     /* runtime data: reserved, adjacent: merged */
    { 8, 0x2060000, 0x1 },      /* unusable: bad */
    { 7, 0x2061000, 0 },        /* empty: skipped */
    { 7, 0x2100000, 0x100 },    /* conventional after a gap */
    { 11, 0xfec00000, 1 },      /* MMIO: reserved */
    { 12, 0xfee00000, 1 },      /* MMIO port space: reserved */
    { 13, 0xfef00000, 1 },      /* PAL code: reserved */
    { 14, 0x180000000ull, 0x100 }, /* persistent: reserved */
    { 0x70000000, 0x190000000ull, 1 }, /* OEM type: reserved */
};

static void build_uefi(struct mbb *m)
{
    mbb_init(m);
    tag_str(m, MB2_TAG_CMDLINE, "");
    tag_str(m, MB2_TAG_LOADER_NAME, "Limine");
    tag_u64(m, MB2_TAG_EFI64, 0x7fe8f018);
    tag_u64(m, MB2_TAG_EFI64_IH, 0x7e2f4a98);
    mbb_tag(m, MB2_TAG_ACPI_NEW, rsdp_v2, sizeof(rsdp_v2));
    tag_efi_mmap(m, uefi_map, sizeof(uefi_map) / sizeof(uefi_map[0]), 48);
    mbb_tag(m, MB2_TAG_EFI_BS, NULL, 0);
    tag_u32(m, MB2_TAG_LOAD_BASE_ADDR, 0x7c00000);
    mbb_end(m);
}

/* ---------------------------------------------------------------- tests */

static void test_bios_style(void **state)
{
    (void)state;
    build_bios(&b);
    assert_int_equal(parse(&b), 0);

    assert_int_equal(bi.mbi_size, b.len);
    assert_true(bi.has_cmdline);
    assert_string_equal(bi.cmdline, "console=com1 dom0_mem=512M");
    assert_string_equal(bi.loader_name, "GRUB 2.12");

    assert_int_equal(bi.module_count, 2);
    assert_int_equal(bi.modules[0].start, 0x200000);
    assert_int_equal(bi.modules[0].end, 0x5f1234);
    assert_string_equal(bi.modules[0].cmdline, "dom0 root=/dev/vda");
    assert_int_equal(bi.modules[1].start, 0x600000);
    assert_int_equal(bi.modules[1].end, 0x7a0000);
    assert_string_equal(bi.modules[1].cmdline, "initrd");

    assert_true(bi.has_basic_meminfo);
    assert_int_equal(bi.mem_lower_kib, 639);
    assert_int_equal(bi.mem_upper_kib, 129920);

    assert_int_equal(bi.mmap_source, BOOT_MMAP_E820);
    assert_int_equal(bi.e820_entries, 9);
    assert_int_equal(bi.efi_entries, 0);
    assert_int_equal(bi.mmap_count, 9);
    for (unsigned i = 0; i < 9; i++)
        assert_range(i, bios_map[i].base, bios_map[i].len, bios_map[i].type == 12 ? MEM_RESERVED : bios_map[i].type);
    assert_int_equal(bi.mmap[4].type, MEM_ACPI_RECLAIM);
    assert_int_equal(bi.mmap[5].type, MEM_ACPI_NVS);
    assert_int_equal(bi.mmap[6].type, MEM_BAD);

    assert_int_equal(bi.rsdp_len, 20);
    assert_memory_equal(bi.rsdp, rsdp_v1, 20);

    assert_true(bi.fb.present);
    assert_int_equal(bi.fb.addr, 0xfd000000);
    assert_int_equal(bi.fb.pitch, 4096);
    assert_int_equal(bi.fb.width, 1024);
    assert_int_equal(bi.fb.height, 768);
    assert_int_equal(bi.fb.bpp, 32);
    assert_int_equal(bi.fb.type, 1);

    assert_false(bi.efi_boot);
    assert_int_equal(bi.efi_system_table, 0);
    assert_false(bi.efi_boot_services_active);
    assert_true(bi.has_load_base);
    assert_int_equal(bi.load_base, 0x100000);
    assert_int_equal(bi.unknown_tags, 0); /* boot device is known, just unused */
}

static void test_bios_parse_is_fresh(void **state)
{
    (void)state;
    /* Leftovers from an earlier parse must not survive. */
    build_bios(&b);
    assert_int_equal(parse(&b), 0);
    mbb_init(&b);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.mbi_size, 16);
    assert_false(bi.has_cmdline);
    assert_string_equal(bi.cmdline, "");
    assert_string_equal(bi.loader_name, "");
    assert_int_equal(bi.module_count, 0);
    assert_int_equal(bi.mmap_source, BOOT_MMAP_NONE);
    assert_int_equal(bi.mmap_count, 0);
    assert_int_equal(bi.rsdp_len, 0);
    assert_false(bi.fb.present);
    assert_false(bi.has_basic_meminfo);
    assert_false(bi.has_load_base);
}

static void test_uefi_style(void **state)
{
    (void)state;
    build_uefi(&b);
    assert_int_equal(parse(&b), 0);

    assert_true(bi.has_cmdline);
    assert_string_equal(bi.cmdline, "");
    assert_string_equal(bi.loader_name, "Limine");
    assert_true(bi.efi_boot);
    assert_int_equal(bi.efi_system_table, 0x7fe8f018);
    assert_true(bi.efi_boot_services_active);
    assert_true(bi.has_load_base);
    assert_int_equal(bi.load_base, 0x7c00000);
    assert_int_equal(bi.rsdp_len, 36);
    assert_memory_equal(bi.rsdp, rsdp_v2, 36);
    assert_false(bi.fb.present);
    assert_int_equal(bi.module_count, 0);
    assert_int_equal(bi.unknown_tags, 0);

    assert_int_equal(bi.mmap_source, BOOT_MMAP_EFI);
    assert_int_equal(bi.e820_entries, 0);
    assert_int_equal(bi.efi_entries, 19);
    /* 19 descriptors: 5 merged into their predecessor, 1 empty skipped. */
    assert_int_equal(bi.mmap_count, 13);
    assert_range(0, 0x0, 0xa0000, MEM_AVAILABLE);
    assert_range(1, 0xa0000, 0x60000, MEM_RESERVED);
    assert_range(2, 0x100000, 0x1f00000, MEM_AVAILABLE);
    assert_range(3, 0x2000000, 0x10000, MEM_ACPI_RECLAIM);
    assert_range(4, 0x2010000, 0x10000, MEM_ACPI_NVS);
    assert_range(5, 0x2020000, 0x40000, MEM_RESERVED);
    assert_range(6, 0x2060000, 0x1000, MEM_BAD);
    assert_range(7, 0x2100000, 0x100000, MEM_AVAILABLE);
    assert_range(8, 0xfec00000, 0x1000, MEM_RESERVED);
    assert_range(9, 0xfee00000, 0x1000, MEM_RESERVED);
    assert_range(10, 0xfef00000, 0x1000, MEM_RESERVED);
    assert_range(11, 0x180000000ull, 0x100000, MEM_RESERVED);
    assert_range(12, 0x190000000ull, 0x1000, MEM_RESERVED);
}

static void test_efi_type_conversion_and_merge(void **state)
{
    (void)state;
    /* Every EFI type, each after a gap so nothing merges. */
    static const uint32_t want[16] = { MEM_RESERVED, MEM_AVAILABLE, MEM_AVAILABLE, MEM_AVAILABLE,
                                       MEM_AVAILABLE, MEM_RESERVED, MEM_RESERVED, MEM_AVAILABLE,
                                       MEM_BAD, MEM_ACPI_RECLAIM, MEM_ACPI_NVS, MEM_RESERVED,
                                       MEM_RESERVED, MEM_RESERVED, MEM_RESERVED, MEM_RESERVED };
    struct efid d[16];
    for (unsigned t = 0; t < 16; t++)
        d[t] = (struct efid){ t, (uint64_t)t * 0x10000, 1 };
    mbb_init(&b);
    tag_efi_mmap(&b, d, 16, 40); /* the minimum descriptor size */
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.efi_entries, 16);
    assert_int_equal(bi.mmap_count, 16);
    for (unsigned t = 0; t < 16; t++)
        assert_range(t, (uint64_t)t * 0x10000, 0x1000, want[t]);

    /* Merging: only consecutive, physically adjacent, same converted type. */
    const struct efid m[] = {
        { 7, 0x0, 2 },
        { 3, 0x2000, 3 },      /* adjacent, both available: merged */
        { 9, 0x5000, 1 },      /* adjacent, other type: new range */
        { 7, 0x7000, 1 },      /* gap: new range */
        { 4, 0x8000, 1 },      /* adjacent: merged */
        { 7, 0x20000, 1 },     /* not adjacent: new range */
        { 7, 0x9000, 1 },      /* adjacent to 0x8000's range but not consecutive: new range */
    };
    mbb_init(&b);
    tag_efi_mmap(&b, m, 7, 48);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.efi_entries, 7);
    assert_int_equal(bi.mmap_count, 5);
    assert_range(0, 0x0, 0x5000, MEM_AVAILABLE);
    assert_range(1, 0x5000, 0x1000, MEM_ACPI_RECLAIM);
    assert_range(2, 0x7000, 0x2000, MEM_AVAILABLE);
    assert_range(3, 0x20000, 0x1000, MEM_AVAILABLE);
    assert_range(4, 0x9000, 0x1000, MEM_AVAILABLE);
}

static void test_both_maps_e820_used(void **state)
{
    (void)state;
    const struct e820 e[] = { { 0x0, 0x9f000, 1 }, { 0x100000, 0x3ff00000, 1 } };
    const struct efid d[] = { { 7, 0x0, 0x9f }, { 0, 0xa0000, 0x60 }, { 7, 0x100000, 0x3ff00 } };
    for (int efi_first = 0; efi_first < 2; efi_first++) {
        mbb_init(&b);
        if (efi_first)
            tag_efi_mmap(&b, d, 3, 48);
        tag_mmap(&b, e, 2, 24);
        if (!efi_first)
            tag_efi_mmap(&b, d, 3, 48);
        mbb_end(&b);
        assert_int_equal(parse(&b), 0);
        assert_int_equal(bi.mmap_source, BOOT_MMAP_E820);
        assert_int_equal(bi.e820_entries, 2);
        assert_int_equal(bi.efi_entries, 3);
        assert_int_equal(bi.mmap_count, 2);
        assert_range(0, 0x0, 0x9f000, MEM_AVAILABLE);
        assert_range(1, 0x100000, 0x3ff00000, MEM_AVAILABLE);
    }
}

static void test_e820_entry_size_larger(void **state)
{
    (void)state;
    /* A future entry_size of 32: the extra bytes are skipped. */
    const struct e820 e[] = { { 0x1000, 0x2000, 1 }, { 0x5000, 0x1000, 4 }, { 0x9000, 0x1000, 2 } };
    mbb_init(&b);
    tag_mmap(&b, e, 3, 32);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.e820_entries, 3);
    assert_range(0, 0x1000, 0x2000, MEM_AVAILABLE);
    assert_range(1, 0x5000, 0x1000, MEM_ACPI_NVS);
    assert_range(2, 0x9000, 0x1000, MEM_RESERVED);
}

static void test_unknown_tags_skipped_and_counted(void **state)
{
    (void)state;
    const uint8_t junk[13] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
    mbb_init(&b);
    mbb_tag(&b, 0x1234, junk, sizeof(junk));
    mbb_tag(&b, MB2_TAG_ELF_SECTIONS, junk, sizeof(junk)); /* known, unused: not counted */
    mbb_tag(&b, MB2_TAG_SMBIOS, junk, 8);
    mbb_tag(&b, 22, NULL, 0);
    tag_str(&b, MB2_TAG_CMDLINE, "after the unknown ones");
    mbb_tag(&b, 0xffffffffu, junk, 3);
    tag_u32(&b, MB2_TAG_EFI32, 0x7f9ee018);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.unknown_tags, 3);
    assert_string_equal(bi.cmdline, "after the unknown ones");
    assert_true(bi.efi_boot);
    assert_int_equal(bi.efi_system_table, 0x7f9ee018);
}

static void test_efi64_preferred_over_efi32(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        mbb_init(&b);
        if (order)
            tag_u64(&b, MB2_TAG_EFI64, 0x17fe8f018ull);
        tag_u32(&b, MB2_TAG_EFI32, 0x7f9ee018);
        if (!order)
            tag_u64(&b, MB2_TAG_EFI64, 0x17fe8f018ull);
        mbb_end(&b);
        assert_int_equal(parse(&b), 0);
        assert_int_equal(bi.efi_system_table, 0x17fe8f018ull);
    }
}

static void test_rsdp_new_preferred(void **state)
{
    (void)state;
    for (int new_first = 0; new_first < 2; new_first++) {
        mbb_init(&b);
        if (new_first)
            mbb_tag(&b, MB2_TAG_ACPI_NEW, rsdp_v2, sizeof(rsdp_v2));
        mbb_tag(&b, MB2_TAG_ACPI_OLD, rsdp_v1, sizeof(rsdp_v1));
        if (!new_first)
            mbb_tag(&b, MB2_TAG_ACPI_NEW, rsdp_v2, sizeof(rsdp_v2));
        mbb_end(&b);
        assert_int_equal(parse(&b), 0);
        assert_int_equal(bi.rsdp_len, 36);
        assert_memory_equal(bi.rsdp, rsdp_v2, 36);
    }
    /* A new RSDP with a longer (extended) copy: only BOOT_RSDP_MAX bytes. */
    uint8_t big[48];
    memcpy(big, rsdp_v2, 36);
    memset(big + 36, 0xcc, 12);
    mbb_init(&b);
    mbb_tag(&b, MB2_TAG_ACPI_NEW, big, sizeof(big));
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.rsdp_len, BOOT_RSDP_MAX);
    assert_memory_equal(bi.rsdp, rsdp_v2, 36);

    /* An old-style tag carrying more than 20 bytes: the v1 RSDP only. */
    memcpy(big, rsdp_v1, 20);
    mbb_init(&b);
    mbb_tag(&b, MB2_TAG_ACPI_OLD, big, 24);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.rsdp_len, 20);
    assert_memory_equal(bi.rsdp, rsdp_v1, 20);

    /* Too short for its type. */
    mbb_init(&b);
    size_t off = mbb_tag(&b, MB2_TAG_ACPI_OLD, rsdp_v1, 19);
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_EINVAL);
    assert_err_names(MB2_TAG_ACPI_OLD, off);
    mbb_init(&b);
    off = mbb_tag(&b, MB2_TAG_ACPI_NEW, rsdp_v2, 20);
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_EINVAL);
    assert_err_names(MB2_TAG_ACPI_NEW, off);
}

static void test_bad_total_size(void **state)
{
    (void)state;
    build_bios(&b);
    size_t len = b.len;

    /* avail smaller than total_size */
    assert_int_equal(parse_avail(&b, len - 1), -PL_EINVAL);
    assert_non_null(strstr(err, "total_size"));
    assert_int_equal(parse_avail(&b, 7), -PL_EINVAL);
    assert_int_equal(parse_avail(&b, 0), -PL_EINVAL);

    /* total_size below the minimum or above the limit */
    mbb_init(&b);
    mbb_end(&b);
    put32(b.buf, 15);
    assert_int_equal(parse(&b), -PL_EINVAL);
    assert_non_null(strstr(err, "minimum"));
    put32(b.buf, 0);
    assert_int_equal(parse(&b), -PL_EINVAL);
    put32(b.buf, BOOT_MBI_MAX_SIZE + 8);
    assert_int_equal(parse_avail(&b, MBB_CAP), -PL_EINVAL);
    assert_non_null(strstr(err, "limit"));

    /* Plenty of avail beyond total_size is fine and is not read. */
    build_bios(&b);
    assert_int_equal(parse_avail(&b, MBB_CAP), 0);
    assert_int_equal(bi.mbi_size, len);
}

static void test_total_size_cuts_tags(void **state)
{
    (void)state;
    /* Every total_size short of the real one cuts a tag or the end tag off,
     * and must be refused, reading nothing past it. */
    build_bios(&b);
    size_t len = b.len;
    for (size_t cut = 16; cut < len; cut++) {
        put32(b.buf, (uint32_t)cut);
        if (parse_avail(&b, cut) != -PL_EINVAL)
            fail_msg("total_size %zu of %zu accepted", cut, len);
    }
    /* Cut in the middle of the mmap tag: the error names it. */
    mbb_init(&b);
    tag_str(&b, MB2_TAG_CMDLINE, "x");
    const struct e820 e[] = { { 0, 0x1000, 1 }, { 0x1000, 0x1000, 1 } };
    size_t off = tag_mmap(&b, e, 2, 24);
    mbb_end(&b);
    put32(b.buf, (uint32_t)(off + 20));
    assert_int_equal(parse_avail(&b, off + 20), -PL_EINVAL);
    assert_err_names(MB2_TAG_MMAP, off);
    assert_non_null(strstr(err, "past total_size"));
}

static void test_missing_end_tag(void **state)
{
    (void)state;
    mbb_init(&b);
    tag_str(&b, MB2_TAG_CMDLINE, "no end");
    tag_u32(&b, MB2_TAG_LOAD_BASE_ADDR, 0x100000);
    put32(b.buf, (uint32_t)b.len); /* ends exactly after the last tag */
    assert_int_equal(parse(&b), -PL_EINVAL);
    assert_non_null(strstr(err, "end tag"));

    /* Last tag's padding runs past total_size, leaving no room for more. */
    mbb_init(&b);
    mbb_tag(&b, MB2_TAG_CMDLINE, "abc", 4);
    put32(b.buf, 8 + 12);
    assert_int_equal(parse_avail(&b, 8 + 12), -PL_EINVAL);
    assert_non_null(strstr(err, "end tag"));
}

static void test_tag_size_below_header(void **state)
{
    (void)state;
    for (uint32_t size = 0; size < 8; size++) {
        mbb_init(&b);
        tag_str(&b, MB2_TAG_CMDLINE, "x");
        size_t off = mbb_tag(&b, MB2_TAG_MODULE, NULL, 0);
        put32(b.buf + off + 4, size);
        mbb_end(&b);
        assert_int_equal(parse(&b), -PL_EINVAL);
        assert_err_names(MB2_TAG_MODULE, off);
        char want[128];
        snprintf(want, sizeof(want),
                 "multiboot2: tag type 3 at offset %#zx has size %u, shorter than the 8-byte tag header", off, size);
        assert_string_equal(err, want);
    }
    /* An end tag of size 0 must not be taken as an end tag. */
    mbb_init(&b);
    mbb_tag(&b, MB2_TAG_END, NULL, 0);
    put32(b.buf + 12, 0);
    put32(b.buf, (uint32_t)b.len);
    assert_int_equal(parse(&b), -PL_EINVAL);
}

static void test_tag_shorter_than_type_needs(void **state)
{
    (void)state;
    /* The exact message for an mmap tag too short for its 16-byte header. */
    mbb_init(&b);
    char pad[40];
    memset(pad, 'a', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = 0;
    tag_str(&b, MB2_TAG_CMDLINE, pad); /* 8 + 40 bytes: next tag at 0x38 */
    tag_u32(&b, MB2_TAG_EFI32, 1);     /* next at 0x48 */
    size_t off = tag_u32(&b, MB2_TAG_MMAP, 24);
    assert_int_equal(off, 0x48);
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_EINVAL);
    assert_string_equal(err, "multiboot2: tag type 6 at offset 0x48 has size 12, shorter than its 16-byte header");

    /* Each fixed-layout tag one byte short of what it needs. */
    static const struct {
        uint32_t type, need;
    } fixed[] = {
        { MB2_TAG_MODULE, 16 },   { MB2_TAG_BASIC_MEMINFO, 16 }, { MB2_TAG_MMAP, 16 },
        { MB2_TAG_FRAMEBUFFER, 30 }, { MB2_TAG_EFI32, 12 },   { MB2_TAG_EFI64, 16 },
        { MB2_TAG_ACPI_OLD, 28 }, { MB2_TAG_ACPI_NEW, 44 },     { MB2_TAG_EFI_MMAP, 16 },
        { MB2_TAG_LOAD_BASE_ADDR, 12 },
    };
    uint8_t zeros[64] = { 0 };
    for (unsigned i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        mbb_init(&b);
        off = mbb_tag(&b, fixed[i].type, zeros, fixed[i].need - 8 - 1);
        mbb_end(&b);
        if (parse(&b) != -PL_EINVAL)
            fail_msg("tag type %u of size %u accepted", fixed[i].type, fixed[i].need - 1);
        assert_err_names(fixed[i].type, off);
    }
}

static void test_string_without_nul(void **state)
{
    (void)state;
    static const uint32_t types[] = { MB2_TAG_CMDLINE, MB2_TAG_LOADER_NAME, MB2_TAG_MODULE };
    for (unsigned i = 0; i < 3; i++) {
        mbb_init(&b);
        size_t off;
        if (types[i] == MB2_TAG_MODULE) {
            uint8_t p[12] = { 0, 0, 0x10, 0, 0, 0, 0x20, 0, 'a', 'b', 'c', 'd' };
            off = mbb_tag(&b, MB2_TAG_MODULE, p, sizeof(p));
        } else {
            /* The zero padding after the tag must not count as the NUL. */
            off = mbb_tag(&b, types[i], "abcd", 4);
        }
        mbb_end(&b);
        assert_int_equal(b.buf[off + b.buf[off + 4]], 0); /* padding is zero */
        assert_int_equal(parse(&b), -PL_EINVAL);
        assert_err_names(types[i], off);
        assert_non_null(strstr(err, "NUL"));
    }
    /* A string tag with no string bytes at all. */
    mbb_init(&b);
    size_t off = mbb_tag(&b, MB2_TAG_CMDLINE, NULL, 0);
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_EINVAL);
    assert_err_names(MB2_TAG_CMDLINE, off);
}

static void test_string_limits(void **state)
{
    (void)state;
    char s[BOOT_CMDLINE_MAX + 1];
    memset(s, 'c', sizeof(s));

    /* 511 characters + NUL fit exactly. */
    s[BOOT_CMDLINE_MAX - 1] = 0;
    mbb_init(&b);
    tag_str(&b, MB2_TAG_CMDLINE, s);
    tag_module(&b, 0x1000, 0x2000, s);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);
    assert_int_equal(strlen(bi.modules[0].cmdline), BOOT_CMDLINE_MAX - 1);

    /* One more is refused, never truncated. */
    s[BOOT_CMDLINE_MAX - 1] = 'c';
    s[BOOT_CMDLINE_MAX] = 0;
    mbb_init(&b);
    size_t off = tag_str(&b, MB2_TAG_CMDLINE, s);
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_E2BIG);
    assert_err_names(MB2_TAG_CMDLINE, off);

    mbb_init(&b);
    off = tag_module(&b, 0x1000, 0x2000, s);
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_E2BIG);
    assert_err_names(MB2_TAG_MODULE, off);

    /* The loader name has its own, smaller limit. */
    s[BOOT_LOADER_NAME_MAX - 1] = 0;
    mbb_init(&b);
    tag_str(&b, MB2_TAG_LOADER_NAME, s);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(strlen(bi.loader_name), BOOT_LOADER_NAME_MAX - 1);
    s[BOOT_LOADER_NAME_MAX - 1] = 'c';
    s[BOOT_LOADER_NAME_MAX] = 0;
    mbb_init(&b);
    off = tag_str(&b, MB2_TAG_LOADER_NAME, s);
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_E2BIG);
    assert_err_names(MB2_TAG_LOADER_NAME, off);
}

static void test_module_limits(void **state)
{
    (void)state;
    char name[16];
    mbb_init(&b);
    for (unsigned i = 0; i < BOOT_MAX_MODULES; i++) {
        snprintf(name, sizeof(name), "mod%u", i);
        tag_module(&b, 0x100000 * (i + 1), 0x100000 * (i + 1) + i, name);
    }
    struct mbb *full = malloc(sizeof(*full));
    memcpy(full, &b, sizeof(b));
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.module_count, BOOT_MAX_MODULES);
    assert_int_equal(bi.modules[31].start, 0x2000000);
    assert_int_equal(bi.modules[31].end, 0x2000000 + 31);
    assert_string_equal(bi.modules[31].cmdline, "mod31");
    assert_int_equal(bi.modules[0].start, bi.modules[0].end); /* empty module is fine */

    memcpy(&b, full, sizeof(b));
    free(full);
    size_t off = tag_module(&b, 0x9000000, 0x9001000, "one too many");
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_ENOSPC);
    assert_err_names(MB2_TAG_MODULE, off);

    /* end below start */
    mbb_init(&b);
    off = tag_module(&b, 0x200000, 0x1fffff, "backwards");
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_EINVAL);
    assert_err_names(MB2_TAG_MODULE, off);
}

static void test_mmap_entry_size(void **state)
{
    (void)state;
    const struct e820 e[] = { { 0, 0x1000, 1 } };
    static const uint32_t bad_sizes[] = { 0, 8, 16, 20, 28 };
    for (unsigned i = 0; i < 5; i++) {
        mbb_init(&b);
        size_t off;
        if (bad_sizes[i] == 0) {
            uint8_t p[8 + 24] = { 0 }; /* entry_size 0 with an entry's worth of bytes */
            off = mbb_tag(&b, MB2_TAG_MMAP, p, sizeof(p));
        } else {
            off = tag_mmap(&b, e, 1, bad_sizes[i]);
        }
        mbb_end(&b);
        assert_int_equal(parse(&b), -PL_EINVAL);
        assert_err_names(MB2_TAG_MMAP, off);
        assert_non_null(strstr(err, "entry_size"));
    }
    /* Entry bytes not a whole number of entries. */
    mbb_init(&b);
    size_t off = tag_mmap(&b, e, 1, 24);
    put32(b.buf + off + 4, 8 + 8 + 24 + 8);
    b.len += 8;
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_EINVAL);
    assert_err_names(MB2_TAG_MMAP, off);

    /* An empty map is valid and selected. */
    mbb_init(&b);
    tag_mmap(&b, e, 0, 24);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.mmap_source, BOOT_MMAP_E820);
    assert_int_equal(bi.mmap_count, 0);
}

static void test_efi_descriptor_size(void **state)
{
    (void)state;
    const struct efid d[] = { { 7, 0, 1 } };
    static const uint32_t bad[] = { 0, 24, 32, 39 };
    for (unsigned i = 0; i < 4; i++) {
        uint8_t p[8 + 48] = { 0 };
        put32(p, bad[i]);
        mbb_init(&b);
        size_t off = mbb_tag(&b, MB2_TAG_EFI_MMAP, p, bad[i] ? 8 + bad[i] : sizeof(p));
        mbb_end(&b);
        assert_int_equal(parse(&b), -PL_EINVAL);
        assert_err_names(MB2_TAG_EFI_MMAP, off);
        assert_non_null(strstr(err, "descriptor_size"));
    }
    /* 40 and the common 48 are fine. */
    for (uint32_t ds = 40; ds <= 48; ds += 8) {
        mbb_init(&b);
        tag_efi_mmap(&b, d, 1, ds);
        mbb_end(&b);
        assert_int_equal(parse(&b), 0);
        assert_int_equal(bi.mmap_count, 1);
        assert_range(0, 0, 0x1000, MEM_AVAILABLE);
    }
    /* Partial trailing descriptor. */
    mbb_init(&b);
    size_t off = tag_efi_mmap(&b, d, 1, 48);
    put32(b.buf + off + 4, get32(b.buf + off + 4) + 8);
    b.len += 8;
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_EINVAL);
    assert_err_names(MB2_TAG_EFI_MMAP, off);
}

static void test_efi_huge_page_count(void **state)
{
    (void)state;
    /* NumberOfPages * 4096 overflowing 64 bits saturates instead of
     * wrapping to a small length. */
    const struct efid d[] = { { 7, 0x1000, 0x0010000000000001ull }, { 0, 0x0, 1 } };
    mbb_init(&b);
    tag_efi_mmap(&b, d, 2, 48);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.mmap_count, 2);
    assert_range(0, 0x1000, UINT64_MAX, MEM_AVAILABLE);
    assert_range(1, 0x0, 0x1000, MEM_RESERVED);

    /* A descriptor whose end wraps past 2^64 is not "adjacent" to one at
     * the wrapped address. */
    const struct efid w[] = { { 7, 0xfffffffffffff000ull, 2 }, { 7, 0x1000, 1 } };
    mbb_init(&b);
    tag_efi_mmap(&b, w, 2, 48);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.mmap_count, 2);
    assert_range(0, 0xfffffffffffff000ull, 0x2000, MEM_AVAILABLE);
    assert_range(1, 0x1000, 0x1000, MEM_AVAILABLE);
}

static void test_map_capacity(void **state)
{
    (void)state;
    static struct e820 e[BOOT_MAX_MEM_RANGES + 1];
    for (unsigned i = 0; i <= BOOT_MAX_MEM_RANGES; i++)
        e[i] = (struct e820){ (uint64_t)i * 0x2000, 0x1000, 1 };
    mbb_init(&b);
    tag_mmap(&b, e, BOOT_MAX_MEM_RANGES, 24);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.mmap_count, BOOT_MAX_MEM_RANGES);
    assert_range(BOOT_MAX_MEM_RANGES - 1, (uint64_t)(BOOT_MAX_MEM_RANGES - 1) * 0x2000, 0x1000, MEM_AVAILABLE);

    mbb_init(&b);
    size_t off = tag_mmap(&b, e, BOOT_MAX_MEM_RANGES + 1, 24);
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_ENOSPC);
    assert_err_names(MB2_TAG_MMAP, off);

    /* 600 EFI descriptors that merge into one range fit... */
    static struct efid d[600];
    for (unsigned i = 0; i < 600; i++)
        d[i] = (struct efid){ i % 2 ? 7 : 3, (uint64_t)i * 0x1000, 1 };
    mbb_init(&b);
    tag_efi_mmap(&b, d, 600, 48);
    mbb_end(&b);
    assert_int_equal(parse(&b), 0);
    assert_int_equal(bi.efi_entries, 600);
    assert_int_equal(bi.mmap_count, 1);
    assert_range(0, 0, 600 * 0x1000, MEM_AVAILABLE);

    /* ...600 that do not merge do not... */
    for (unsigned i = 0; i < 600; i++)
        d[i] = (struct efid){ 7, (uint64_t)i * 0x2000, 1 };
    mbb_init(&b);
    off = tag_efi_mmap(&b, d, 600, 48);
    mbb_end(&b);
    assert_int_equal(parse(&b), -PL_ENOSPC);
    assert_err_names(MB2_TAG_EFI_MMAP, off);

    /* ...unless an e820 map is present, before or after, and used instead. */
    for (int e820_first = 0; e820_first < 2; e820_first++) {
        mbb_init(&b);
        if (e820_first)
            tag_mmap(&b, e, 4, 24);
        tag_efi_mmap(&b, d, 600, 48);
        if (!e820_first)
            tag_mmap(&b, e, 4, 24);
        mbb_end(&b);
        assert_int_equal(parse(&b), 0);
        assert_int_equal(bi.mmap_source, BOOT_MMAP_E820);
        assert_int_equal(bi.mmap_count, 4);
        assert_int_equal(bi.efi_entries, 600);
    }
}

static void test_misaligned_structure(void **state)
{
    (void)state;
    /* The parser reads through memcpy, so a structure at an odd address
     * parses the same (UBSan would flag misaligned loads). */
    build_bios(&b);
    uint8_t *raw = malloc(b.len + 1);
    memcpy(raw + 1, b.buf, b.len);
    assert_int_equal(mb2_parse(raw + 1, b.len, &bi, err, sizeof(err)), 0);
    free(raw);
    assert_int_equal(bi.mmap_count, 9);
    assert_int_equal(bi.fb.width, 1024);
    assert_string_equal(bi.modules[1].cmdline, "initrd");
}

static void test_error_buffer_optional(void **state)
{
    (void)state;
    mbb_init(&b);
    mbb_tag(&b, MB2_TAG_CMDLINE, "abcd", 4);
    mbb_end(&b);
    assert_int_equal(mb2_parse(b.buf, b.len, &bi, NULL, 0), -PL_EINVAL);
    char small[8];
    assert_int_equal(mb2_parse(b.buf, b.len, &bi, small, sizeof(small)), -PL_EINVAL);
    assert_string_equal(small, "multibo");
    assert_int_equal(mb2_parse(NULL, 64, &bi, err, sizeof(err)), -PL_EINVAL);
    assert_int_equal(mb2_parse(b.buf, b.len, NULL, err, sizeof(err)), -PL_EINVAL);
}

static void test_mutations_stay_in_bounds(void **state)
{
    (void)state;
    /* Corrupt each 32-bit word of both fixtures in a few ways; whatever the
     * verdict, nothing may be read outside the structure (ASan watches) and
     * a rejection must come with a message. */
    static const uint32_t vals[] = { 0, 1, 7, 8, 9, 0x17, 0x18, 0x28, 0xffff, 0x7fffffff, 0xffffffff };
    struct mbb *orig = malloc(sizeof(*orig));
    for (int f = 0; f < 2; f++) {
        if (f)
            build_uefi(orig);
        else
            build_bios(orig);
        for (size_t pos = 4; pos + 4 <= orig->len; pos += 4) {
            for (unsigned v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
                memcpy(&b, orig, sizeof(b));
                put32(b.buf + pos, vals[v]);
                int rc = parse(&b);
                assert_true(rc == 0 || rc == -PL_EINVAL || rc == -PL_E2BIG || rc == -PL_ENOSPC);
            }
        }
    }
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bios_style),
        cmocka_unit_test(test_bios_parse_is_fresh),
        cmocka_unit_test(test_uefi_style),
        cmocka_unit_test(test_efi_type_conversion_and_merge),
        cmocka_unit_test(test_both_maps_e820_used),
        cmocka_unit_test(test_e820_entry_size_larger),
        cmocka_unit_test(test_unknown_tags_skipped_and_counted),
        cmocka_unit_test(test_efi64_preferred_over_efi32),
        cmocka_unit_test(test_rsdp_new_preferred),
        cmocka_unit_test(test_bad_total_size),
        cmocka_unit_test(test_total_size_cuts_tags),
        cmocka_unit_test(test_missing_end_tag),
        cmocka_unit_test(test_tag_size_below_header),
        cmocka_unit_test(test_tag_shorter_than_type_needs),
        cmocka_unit_test(test_string_without_nul),
        cmocka_unit_test(test_string_limits),
        cmocka_unit_test(test_module_limits),
        cmocka_unit_test(test_mmap_entry_size),
        cmocka_unit_test(test_efi_descriptor_size),
        cmocka_unit_test(test_efi_huge_page_count),
        cmocka_unit_test(test_map_capacity),
        cmocka_unit_test(test_misaligned_structure),
        cmocka_unit_test(test_error_buffer_optional),
        cmocka_unit_test(test_mutations_stay_in_bounds),
    };
    return cmocka_run_group_tests_name("mb2", tests, NULL, NULL);
}
