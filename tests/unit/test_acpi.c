#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hv/acpi.h"
#include "plinth/errno.h"

/* ------------------------------------------------------------------ fake physical memory
 *
 * mem[] is indexed by physical address. The map callback hands out a fresh
 * heap copy of exactly the requested range and frees the previous one, so
 * AddressSanitizer catches both a read past the mapped length and a use of a
 * pointer after the next map call (the contract: a mapping lives until the
 * next call). */

#define MEM_SIZE 0x100000u

static uint8_t mem[MEM_SIZE];

struct fake {
    void *window;        /* current mapping */
    unsigned calls;
    size_t max_len;      /* largest length requested */
    uint64_t fail_phys;  /* a request for exactly (fail_phys, fail_len) gets NULL */
    size_t fail_len;
};

static struct fake fake;
static struct acpi_info info;
static char err[128];

static const void *fake_map(uint64_t phys, size_t len, void *ctx)
{
    struct fake *f = ctx;
    f->calls++;
    if (len > f->max_len)
        f->max_len = len;
    free(f->window);
    f->window = NULL;
    if (phys >= MEM_SIZE || len > MEM_SIZE - phys)
        return NULL;
    if (f->fail_len && phys == f->fail_phys && len == f->fail_len)
        return NULL;
    f->window = malloc(len ? len : 1);
    assert_non_null(f->window);
    memcpy(f->window, mem + phys, len);
    return f->window;
}

static int setup(void **state)
{
    (void)state;
    memset(mem, 0, sizeof(mem));
    memset(&fake, 0, sizeof(fake));
    memset(&info, 0xA5, sizeof(info)); /* acpi_parse must reset it */
    memset(err, 0, sizeof(err));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fake.window);
    fake.window = NULL;
    return 0;
}

/* ------------------------------------------------------------------ table builders */

static void put8(uint64_t a, uint8_t v) { mem[a] = v; }
static void put16(uint64_t a, uint16_t v) { memcpy(mem + a, &v, 2); }
static void put32(uint64_t a, uint32_t v) { memcpy(mem + a, &v, 4); }
static void put64(uint64_t a, uint64_t v) { memcpy(mem + a, &v, 8); }

static uint32_t get32(uint64_t a)
{
    uint32_t v;
    memcpy(&v, mem + a, 4);
    return v;
}

/* Make bytes [a, a+len) sum to zero by adjusting the byte at a+csum_off. */
static void fix_checksum(uint64_t a, size_t len, size_t csum_off)
{
    uint8_t s = 0;
    mem[a + csum_off] = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + mem[a + i]);
    mem[a + csum_off] = (uint8_t)(0x100 - s);
}

static void sdt_header(uint64_t a, const char *sig, uint8_t rev, uint32_t len)
{
    memcpy(mem + a, sig, 4);
    put32(a + 4, len);
    put8(a + 8, rev);
    memcpy(mem + a + 10, "PLINTH", 6);
    memcpy(mem + a + 16, "TESTTBL ", 8);
    put32(a + 24, 1);
    put32(a + 28, 0x54534554);
    put32(a + 32, 1);
}

/* Checksum the table at a over its Length field. */
static void sdt_finish(uint64_t a)
{
    fix_checksum(a, get32(a + 4), 9);
}

static void make_rsdp(uint64_t a, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
    memcpy(mem + a, "RSD PTR ", 8);
    memcpy(mem + a + 9, "PLNTHX", 6);
    put8(a + 15, rev);
    put32(a + 16, rsdt);
    fix_checksum(a, 20, 8);
    if (rev >= 2) {
        put32(a + 20, 36);
        put64(a + 24, xsdt);
        fix_checksum(a, 36, 32);
    }
}

static void make_root(uint64_t a, bool xsdt, const uint64_t *tables, unsigned n)
{
    size_t esz = xsdt ? 8 : 4;
    sdt_header(a, xsdt ? "XSDT" : "RSDT", 1, (uint32_t)(36 + n * esz));
    for (unsigned i = 0; i < n; i++) {
        if (xsdt)
            put64(a + 36 + i * 8, tables[i]);
        else
            put32(a + 36 + i * 4, (uint32_t)tables[i]);
    }
    sdt_finish(a);
}

/* A table with no content of interest. */
static void make_plain(uint64_t a, const char *sig, uint32_t len)
{
    sdt_header(a, sig, 1, len);
    sdt_finish(a);
}

struct madt_b {
    uint64_t a;
    uint32_t off;
};

static struct madt_b madt_begin(uint64_t a, uint32_t lapic, uint32_t flags)
{
    sdt_header(a, "APIC", 5, 0);
    put32(a + 36, lapic);
    put32(a + 40, flags);
    return (struct madt_b){ a, 44 };
}

static uint64_t madt_entry(struct madt_b *b, uint8_t type, uint8_t len)
{
    uint64_t e = b->a + b->off;
    put8(e, type);
    put8(e + 1, len);
    b->off += len;
    return e;
}

static void madt_lapic(struct madt_b *b, uint8_t uid, uint8_t id, uint32_t flags)
{
    uint64_t e = madt_entry(b, 0, 8);
    put8(e + 2, uid);
    put8(e + 3, id);
    put32(e + 4, flags);
}

static void madt_ioapic(struct madt_b *b, uint8_t id, uint32_t addr, uint32_t gsi_base)
{
    uint64_t e = madt_entry(b, 1, 12);
    put8(e + 2, id);
    put32(e + 4, addr);
    put32(e + 8, gsi_base);
}

static void madt_iso(struct madt_b *b, uint8_t src, uint32_t gsi, uint16_t flags)
{
    uint64_t e = madt_entry(b, 2, 10);
    put8(e + 2, 0);
    put8(e + 3, src);
    put32(e + 4, gsi);
    put16(e + 8, flags);
}

static void madt_nmi(struct madt_b *b, uint8_t uid, uint16_t flags, uint8_t lint)
{
    uint64_t e = madt_entry(b, 4, 6);
    put8(e + 2, uid);
    put16(e + 3, flags);
    put8(e + 5, lint);
}

static void madt_lapic_override(struct madt_b *b, uint64_t addr)
{
    uint64_t e = madt_entry(b, 5, 12);
    put64(e + 4, addr);
}

static void madt_x2apic(struct madt_b *b, uint32_t id, uint32_t flags, uint32_t uid)
{
    uint64_t e = madt_entry(b, 9, 16);
    put32(e + 4, id);
    put32(e + 8, flags);
    put32(e + 12, uid);
}

static void madt_x2nmi(struct madt_b *b, uint16_t flags, uint32_t uid, uint8_t lint)
{
    uint64_t e = madt_entry(b, 0xA, 12);
    put16(e + 2, flags);
    put32(e + 4, uid);
    put8(e + 8, lint);
}

static void madt_end(struct madt_b *b)
{
    put32(b->a + 4, b->off);
    sdt_finish(b->a);
}

struct fadt_desc {
    uint8_t rev;
    uint32_t len;
    uint32_t flags;
    uint8_t reset_space, reset_width, reset_offset, reset_access;
    uint64_t reset_addr;
    uint8_t reset_value;
    uint16_t sci;
    uint32_t pm_tmr;
    uint16_t boot_arch;
};

static void make_fadt(uint64_t a, const struct fadt_desc *d)
{
    sdt_header(a, "FACP", d->rev, d->len);
    put16(a + 46, d->sci);
    put32(a + 76, d->pm_tmr);
    put16(a + 109, d->boot_arch);
    put32(a + 112, d->flags);
    if (d->len >= 129) {
        put8(a + 116, d->reset_space);
        put8(a + 117, d->reset_width);
        put8(a + 118, d->reset_offset);
        put8(a + 119, d->reset_access);
        put64(a + 120, d->reset_addr);
        put8(a + 128, d->reset_value);
    }
    sdt_finish(a);
}

static void make_hpet(uint64_t a, uint64_t base, uint8_t number, uint16_t min_tick)
{
    sdt_header(a, "HPET", 1, 56);
    put32(a + 36, 0x8086a201);
    put8(a + 40, 0);     /* system memory */
    put8(a + 41, 64);
    put64(a + 44, base);
    put8(a + 52, number);
    put16(a + 53, min_tick);
    sdt_finish(a);
}

static void mcfg_entry(uint64_t a, unsigned i, uint64_t base, uint16_t seg, uint8_t b0, uint8_t b1)
{
    uint64_t e = a + 44 + i * 16;
    put64(e, base);
    put16(e + 8, seg);
    put8(e + 10, b0);
    put8(e + 11, b1);
}

/* ------------------------------------------------------------------ layout */

#define RSDP_ADDR 0xF0000u
#define RSDT_ADDR 0x80000u
#define XSDT_ADDR 0x80100u
#define MADT_ADDR 0x81000u
#define FADT_ADDR 0x82000u
#define HPET_ADDR 0x83000u
#define MCFG_ADDR 0x84000u
#define DMAR_ADDR 0x85000u
#define IVRS_ADDR 0x86000u
#define MISC_ADDR 0x87000u

/* Parse with the RSDP copied into a buffer of exactly len bytes. */
static int parse_rsdp(uint64_t a, size_t len)
{
    void *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, mem + a, len);
    int rc = acpi_parse(copy, len, fake_map, &fake, &info, err, sizeof(err));
    free(copy);
    return rc;
}

/* RSDT (ACPI 1.0 RSDP) listing the given tables, then parse. */
static int parse_rsdt(const uint64_t *tables, unsigned n)
{
    make_root(RSDT_ADDR, false, tables, n);
    make_rsdp(RSDP_ADDR, 0, RSDT_ADDR, 0);
    return parse_rsdp(RSDP_ADDR, 20);
}

static const struct fadt_desc fadt_v6 = {
    .rev = 6, .len = 276, .flags = (1u << 10) | (1u << 20),
    .reset_space = 1, .reset_width = 8, .reset_offset = 2, .reset_access = 3,
    .reset_addr = 0xCF9, .reset_value = 6, .sci = 0x115, .pm_tmr = 0x608, .boot_arch = 3,
};

/* ------------------------------------------------------------------ RSDP validation */

static void test_rsdp_validate_ok(void **state)
{
    (void)state;
    make_rsdp(0x1000, 0, 0x80000, 0);
    assert_int_equal(acpi_rsdp_validate(mem + 0x1000, 20, err, sizeof(err)), 0);
    make_rsdp(0x2000, 2, 0x80000, 0x80100);
    assert_int_equal(acpi_rsdp_validate(mem + 0x2000, 36, err, sizeof(err)), 0);
    /* A revision-2 RSDP needs all 36 bytes readable. */
    assert_int_equal(acpi_rsdp_validate(mem + 0x2000, 20, err, sizeof(err)), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP revision 2 too short (20 bytes, need 36)");
    /* err may be omitted. */
    assert_int_equal(acpi_rsdp_validate(mem + 0x2000, 20, NULL, 0), -PL_EINVAL);
    assert_int_equal(acpi_rsdp_validate(mem + 0x1000, 20, NULL, 0), 0);
}

static void test_rsdp_validate_bad(void **state)
{
    (void)state;
    /* Wrong signature (checksum still valid). */
    make_rsdp(0x1000, 0, 0x80000, 0);
    mem[0x1000 + 3] = 'X';
    fix_checksum(0x1000, 20, 8);
    assert_int_equal(acpi_rsdp_validate(mem + 0x1000, 20, err, sizeof(err)), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP has wrong signature");

    /* ACPI 1.0 checksum. */
    make_rsdp(0x1100, 0, 0x80000, 0);
    mem[0x1100 + 16] ^= 1;
    assert_int_equal(acpi_rsdp_validate(mem + 0x1100, 20, err, sizeof(err)), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP has checksum error");

    /* Extended checksum: corrupt the XSDT address, fix only the 20-byte sum. */
    make_rsdp(0x1200, 2, 0x80000, 0x80100);
    mem[0x1200 + 25] ^= 0x10;
    assert_int_equal(acpi_rsdp_validate(mem + 0x1200, 36, err, sizeof(err)), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP has extended checksum error");

    /* Length field smaller than a revision-2 RSDP, or larger than readable. */
    make_rsdp(0x1300, 2, 0x80000, 0x80100);
    put32(0x1300 + 20, 20);
    fix_checksum(0x1300, 20, 8);
    fix_checksum(0x1300, 36, 32);
    assert_int_equal(acpi_rsdp_validate(mem + 0x1300, 36, err, sizeof(err)), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP has bad length 20 (36 bytes readable)");
    put32(0x1300 + 20, 40);
    fix_checksum(0x1300, 20, 8);
    fix_checksum(0x1300, 36, 32);
    assert_int_equal(acpi_rsdp_validate(mem + 0x1300, 36, err, sizeof(err)), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP has bad length 40 (36 bytes readable)");

    /* Too short to hold an RSDP at all, and NULL. */
    make_rsdp(0x1400, 0, 0x80000, 0);
    assert_int_equal(acpi_rsdp_validate(mem + 0x1400, 19, err, sizeof(err)), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP too short (19 bytes, need 20)");
    assert_int_equal(acpi_rsdp_validate(NULL, 36, err, sizeof(err)), -PL_EINVAL);
}

static void test_parse_bad_rsdp(void **state)
{
    (void)state;
    make_root(RSDT_ADDR, false, NULL, 0);

    make_rsdp(RSDP_ADDR, 0, RSDT_ADDR, 0);
    mem[RSDP_ADDR + 8] ^= 1;
    assert_int_equal(parse_rsdp(RSDP_ADDR, 20), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP has checksum error");
    assert_int_equal(fake.calls, 0);

    make_rsdp(RSDP_ADDR, 2, RSDT_ADDR, XSDT_ADDR);
    mem[RSDP_ADDR + 32] ^= 1;
    assert_int_equal(parse_rsdp(RSDP_ADDR, 36), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP has extended checksum error");

    make_rsdp(RSDP_ADDR, 0, RSDT_ADDR, 0);
    memcpy(mem + RSDP_ADDR, "RSD PTX ", 8);
    fix_checksum(RSDP_ADDR, 20, 8);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 20), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP has wrong signature");
    assert_int_equal(info.table_count, 0);
    assert_false(info.has_madt);

    /* Neither root address. */
    make_rsdp(RSDP_ADDR, 2, 0, 0);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 36), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDP has no RSDT or XSDT address");
    assert_int_equal(fake.calls, 0);
}

/* ------------------------------------------------------------------ root tables */

static void test_acpi1_rsdt(void **state)
{
    (void)state;
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    madt_lapic(&b, 0, 0, 1);
    madt_end(&b);
    struct fadt_desc fd = { .rev = 1, .len = 116, .sci = 9, .pm_tmr = 0xB008 };
    make_fadt(FADT_ADDR, &fd);

    uint64_t t[] = { FADT_ADDR, MADT_ADDR };
    assert_int_equal(parse_rsdt(t, 2), 0);
    assert_int_equal(info.rsdp_revision, 0);
    assert_string_equal(info.oem_id, "PLNTHX");
    assert_false(info.root_is_xsdt);
    assert_int_equal(info.root_phys, RSDT_ADDR);
    assert_int_equal(info.table_count, 2);
    assert_string_equal(info.tables[0].signature, "FACP");
    assert_int_equal(info.tables[0].phys, FADT_ADDR);
    assert_int_equal(info.tables[0].length, 116);
    assert_true(info.tables[0].checksum_ok);
    assert_string_equal(info.tables[1].signature, "APIC");
    assert_int_equal(info.tables[1].phys, MADT_ADDR);
    assert_int_equal(info.tables[1].length, 52);
    assert_true(info.tables[1].checksum_ok);
    assert_true(info.has_madt);
    assert_int_equal(info.cpu_count, 1);
    assert_true(info.has_fadt);
    assert_int_equal(info.sci_irq, 9);
    assert_false(info.has_hpet);
    assert_false(info.has_mcfg);
    assert_false(info.has_dmar);
    assert_false(info.has_ivrs);
    assert_int_equal(info.warning_count, 0);
}

static void test_acpi2_xsdt_preferred(void **state)
{
    (void)state;
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 0);
    madt_lapic(&b, 0, 0, 1);
    madt_end(&b);
    make_fadt(FADT_ADDR, &fadt_v6);
    make_hpet(HPET_ADDR, 0xFED00000, 0, 0x80);

    uint64_t rsdt_tables[] = { FADT_ADDR };
    uint64_t xsdt_tables[] = { MADT_ADDR, HPET_ADDR };
    make_root(RSDT_ADDR, false, rsdt_tables, 1);
    make_root(XSDT_ADDR, true, xsdt_tables, 2);
    make_rsdp(RSDP_ADDR, 2, RSDT_ADDR, XSDT_ADDR);

    assert_int_equal(parse_rsdp(RSDP_ADDR, 36), 0);
    assert_int_equal(info.rsdp_revision, 2);
    assert_true(info.root_is_xsdt);
    assert_int_equal(info.root_phys, XSDT_ADDR);
    assert_int_equal(info.table_count, 2);
    assert_string_equal(info.tables[0].signature, "APIC");
    assert_string_equal(info.tables[1].signature, "HPET");
    assert_true(info.has_madt);
    assert_true(info.has_hpet);
    assert_false(info.has_fadt); /* only in the RSDT */
    assert_int_equal(info.warning_count, 0);

    /* Revision 2 without an XSDT address falls back to the RSDT. */
    make_rsdp(RSDP_ADDR, 2, RSDT_ADDR, 0);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 36), 0);
    assert_false(info.root_is_xsdt);
    assert_int_equal(info.root_phys, RSDT_ADDR);
    assert_int_equal(info.table_count, 1);
    assert_true(info.has_fadt);
    assert_false(info.has_madt);
}

static void test_bad_root(void **state)
{
    (void)state;
    make_fadt(FADT_ADDR, &fadt_v6);
    uint64_t t[] = { FADT_ADDR };

    /* XSDT checksum. */
    make_root(XSDT_ADDR, true, t, 1);
    mem[XSDT_ADDR + 36] ^= 0x40;
    make_rsdp(RSDP_ADDR, 2, 0, XSDT_ADDR);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 36), -PL_EINVAL);
    assert_string_equal(err, "acpi: XSDT at 0x80100 has checksum error");
    assert_false(info.has_fadt);

    /* RSDT with the wrong signature. */
    make_root(RSDT_ADDR, false, t, 1);
    memcpy(mem + RSDT_ADDR, "XSDT", 4);
    sdt_finish(RSDT_ADDR);
    make_rsdp(RSDP_ADDR, 0, RSDT_ADDR, 0);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 20), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDT at 0x80000 has wrong signature 'XSDT'");

    /* Root length below the header size, and absurd. */
    make_root(RSDT_ADDR, false, t, 1);
    put32(RSDT_ADDR + 4, 20);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 20), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDT at 0x80000 has bad length 20");
    put32(RSDT_ADDR + 4, 0xFFFFFFF0u);
    fake.max_len = 0;
    assert_int_equal(parse_rsdp(RSDP_ADDR, 20), -PL_EINVAL);
    assert_string_equal(err, "acpi: RSDT at 0x80000 has bad length 4294967280");
    assert_true(fake.max_len <= 36);

    /* Root outside mappable memory. */
    make_rsdp(RSDP_ADDR, 0, 0x7fe10000u, 0);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 20), -PL_EINVAL);
    assert_string_equal(err, "acpi: cannot map RSDT at 0x7fe10000");

    /* Header mappable, body not (runs off the end of memory). */
    sdt_header(MEM_SIZE - 36, "RSDT", 1, 64);
    make_rsdp(RSDP_ADDR, 0, MEM_SIZE - 36, 0);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 20), -PL_EINVAL);
    assert_string_equal(err, "acpi: cannot map RSDT at 0xfffdc (64 bytes)");
}

/* ------------------------------------------------------------------ MADT */

static void test_madt_qemu(void **state)
{
    (void)state;
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    madt_lapic(&b, 0, 0, 1);
    madt_lapic(&b, 1, 1, 1);
    madt_ioapic(&b, 0, 0xFEC00000, 0);
    madt_iso(&b, 0, 2, 0);
    madt_iso(&b, 9, 9, 0xD); /* active high, level */
    uint64_t e = madt_entry(&b, 3, 8); /* NMI source: ignored */
    put32(e + 4, 0);
    madt_nmi(&b, 0xFF, 0, 1);
    madt_entry(&b, 0xB, 80); /* GICC: not ours, skipped silently */
    madt_end(&b);
    uint64_t t[] = { MADT_ADDR };
    assert_int_equal(parse_rsdt(t, 1), 0);

    assert_true(info.has_madt);
    assert_int_equal(info.lapic_phys, 0xFEE00000);
    assert_true(info.pcat_compat);
    assert_int_equal(info.cpu_count, 2);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(info.cpus[i].apic_id, i);
        assert_int_equal(info.cpus[i].acpi_uid, i);
        assert_true(info.cpus[i].enabled);
        assert_false(info.cpus[i].online_capable);
        assert_false(info.cpus[i].from_x2apic_entry);
    }
    assert_int_equal(info.ioapic_count, 1);
    assert_int_equal(info.ioapics[0].id, 0);
    assert_int_equal(info.ioapics[0].address, 0xFEC00000);
    assert_int_equal(info.ioapics[0].gsi_base, 0);
    assert_int_equal(info.override_count, 2);
    assert_int_equal(info.overrides[0].bus, 0);
    assert_int_equal(info.overrides[0].source_irq, 0);
    assert_int_equal(info.overrides[0].gsi, 2);
    assert_int_equal(info.overrides[0].flags, 0);
    assert_int_equal(info.overrides[1].source_irq, 9);
    assert_int_equal(info.overrides[1].gsi, 9);
    assert_int_equal(info.overrides[1].flags, 0xD);
    assert_int_equal(info.lapic_nmi_count, 1);
    assert_int_equal(info.lapic_nmis[0].acpi_uid, 0xFF);
    assert_int_equal(info.lapic_nmis[0].flags, 0);
    assert_int_equal(info.lapic_nmis[0].lint, 1);
    assert_int_equal(info.warning_count, 0);
}

static void test_madt_ioapic_gsi_fields(void **state)
{
    (void)state;
    /* Distinct values in every field so swapped offsets would show. */
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 0);
    madt_ioapic(&b, 2, 0xFEC01000, 24);
    uint64_t e = madt_entry(&b, 2, 10);
    put8(e + 2, 3);         /* bus */
    put8(e + 3, 5);         /* source */
    put32(e + 4, 0x10005);  /* gsi */
    put16(e + 8, 0x030D);   /* reserved high bits set: the field is 16 bits */
    madt_nmi(&b, 7, 0x0105, 0);
    madt_end(&b);
    uint64_t t[] = { MADT_ADDR };
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_false(info.pcat_compat);
    assert_int_equal(info.ioapics[0].id, 2);
    assert_int_equal(info.ioapics[0].address, 0xFEC01000);
    assert_int_equal(info.ioapics[0].gsi_base, 24);
    assert_int_equal(info.overrides[0].bus, 3);
    assert_int_equal(info.overrides[0].source_irq, 5);
    assert_int_equal(info.overrides[0].gsi, 0x10005);
    assert_int_equal(info.overrides[0].flags, 0x030D);
    assert_int_equal(info.lapic_nmis[0].acpi_uid, 7);
    assert_int_equal(info.lapic_nmis[0].flags, 0x0105);
    assert_int_equal(info.lapic_nmis[0].lint, 0);
}

static void test_madt_x2apic(void **state)
{
    (void)state;
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 0);
    madt_lapic(&b, 0, 0, 1);
    madt_lapic(&b, 1, 1, 1);
    madt_x2apic(&b, 1, 1, 1);           /* same CPU as the type 0 above */
    madt_x2apic(&b, 300, 1, 300);
    madt_x2apic(&b, 0x1000, 0, 7);      /* disabled */
    madt_x2apic(&b, 5, 1, 5);
    madt_lapic(&b, 5, 5, 1);            /* same CPU as the type 9 above */
    madt_lapic(&b, 0xFE, 0xFF, 0);      /* placeholder with the broadcast id */
    madt_x2apic(&b, 0xFF, 1, 0xFF);     /* real CPU 255: not a duplicate */
    madt_x2apic(&b, 0xFFFFFFFF, 0, 0x100); /* placeholders of one type are */
    madt_x2apic(&b, 0xFFFFFFFF, 0, 0x101); /* all kept: only cross-type dedup */
    madt_x2nmi(&b, 0x0105, 0xFFFFFFFF, 1);
    madt_end(&b);
    uint64_t t[] = { MADT_ADDR };
    assert_int_equal(parse_rsdt(t, 1), 0);

    assert_int_equal(info.cpu_count, 9);
    static const struct { uint32_t id, uid; bool en, x2; } want[] = {
        { 0, 0, true, false },       { 1, 1, true, false },   { 300, 300, true, true },
        { 0x1000, 7, false, true },  { 5, 5, true, true },    { 0xFF, 0xFE, false, false },
        { 0xFF, 0xFF, true, true },  { 0xFFFFFFFF, 0x100, false, true },
        { 0xFFFFFFFF, 0x101, false, true },
    };
    for (unsigned i = 0; i < 9; i++) {
        assert_int_equal(info.cpus[i].apic_id, want[i].id);
        assert_int_equal(info.cpus[i].acpi_uid, want[i].uid);
        assert_int_equal(info.cpus[i].enabled, want[i].en);
        assert_int_equal(info.cpus[i].from_x2apic_entry, want[i].x2);
    }
    assert_int_equal(info.lapic_nmi_count, 1);
    assert_int_equal(info.lapic_nmis[0].acpi_uid, 0xFFFFFFFFu);
    assert_int_equal(info.lapic_nmis[0].flags, 0x0105);
    assert_int_equal(info.lapic_nmis[0].lint, 1);
    assert_int_equal(info.warning_count, 0);
}

static void test_madt_lapic_override(void **state)
{
    (void)state;
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    madt_lapic_override(&b, 0x10000F000ull);
    madt_lapic(&b, 0, 0, 1);
    madt_end(&b);
    uint64_t t[] = { MADT_ADDR };
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_int_equal(info.lapic_phys, 0x10000F000ull);
    assert_int_equal(info.cpu_count, 1);
}

static void test_madt_disabled_cpu(void **state)
{
    (void)state;
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    madt_lapic(&b, 0, 0, 1);
    madt_lapic(&b, 1, 1, 0);
    madt_lapic(&b, 2, 2, 2);
    madt_x2apic(&b, 400, 2, 3);
    madt_end(&b);
    uint64_t t[] = { MADT_ADDR };
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_int_equal(info.cpu_count, 4);
    assert_true(info.cpus[0].enabled);
    assert_false(info.cpus[0].online_capable);
    assert_false(info.cpus[1].enabled);
    assert_false(info.cpus[1].online_capable);
    assert_int_equal(info.cpus[1].apic_id, 1);
    assert_false(info.cpus[2].enabled);
    assert_true(info.cpus[2].online_capable);
    assert_false(info.cpus[3].enabled);
    assert_true(info.cpus[3].online_capable);
    assert_int_equal(info.cpus[3].apic_id, 400);
    assert_int_equal(info.cpus[3].acpi_uid, 3);
}

static void test_madt_bad_entries(void **state)
{
    (void)state;
    uint64_t t[] = { MADT_ADDR };

    /* Length 0 in the middle: stop, keep what came before. */
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    madt_lapic(&b, 0, 0, 1);
    madt_entry(&b, 1, 0);
    b.off += 10;
    madt_lapic(&b, 1, 1, 1);
    madt_end(&b);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_true(info.has_madt);
    assert_int_equal(info.cpu_count, 1);
    assert_int_equal(info.ioapic_count, 0);
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: MADT entry type 1 at offset 52 has bad length 0");

    /* Length 1 likewise. */
    memset(mem + MADT_ADDR, 0, 0x1000);
    b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    madt_entry(&b, 0, 1);
    b.off += 7;
    madt_end(&b);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_int_equal(info.cpu_count, 0);
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: MADT entry type 0 at offset 44 has bad length 1");

    /* Last entry runs past the end of the table. */
    memset(mem + MADT_ADDR, 0, 0x1000);
    b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    madt_lapic(&b, 0, 0, 1);
    madt_ioapic(&b, 0, 0xFEC00000, 0);
    b.off -= 6; /* table ends half way through the I/O APIC entry */
    madt_end(&b);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_int_equal(info.cpu_count, 1);
    assert_int_equal(info.ioapic_count, 0);
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: MADT entry type 1 at offset 52 has bad length 12");

    /* A known type shorter than its structure: skipped, parsing goes on. */
    memset(mem + MADT_ADDR, 0, 0x1000);
    b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    uint64_t e = madt_entry(&b, 0, 4);
    put8(e + 2, 9);
    put8(e + 3, 9);
    madt_x2apic(&b, 7, 1, 7);
    madt_end(&b);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_int_equal(info.cpu_count, 1);
    assert_int_equal(info.cpus[0].apic_id, 7);
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: MADT entry type 0 at offset 44 too short (4 < 8)");

    /* One stray byte after the last entry. */
    memset(mem + MADT_ADDR, 0, 0x1000);
    b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    madt_lapic(&b, 0, 0, 1);
    b.off += 1;
    madt_end(&b);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_int_equal(info.cpu_count, 1);
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: MADT has a stray byte at offset 52");

    /* Too short to hold the fixed fields. */
    memset(mem + MADT_ADDR, 0, 0x1000);
    sdt_header(MADT_ADDR, "APIC", 5, 40);
    sdt_finish(MADT_ADDR);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_false(info.has_madt);
    assert_int_equal(info.lapic_phys, 0);
    assert_int_equal(info.table_count, 1);
    assert_true(info.tables[0].checksum_ok);
    assert_string_equal(info.warnings[0], "acpi: MADT at 0x81000 too short (40 bytes)");
}

static void test_madt_array_limits(void **state)
{
    (void)state;
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 0);
    for (uint32_t i = 0; i < 300; i++)
        madt_x2apic(&b, 1000 + i, 1, i);
    for (uint8_t i = 0; i < ACPI_MAX_IOAPICS + 1; i++)
        madt_ioapic(&b, i, 0xFEC00000u + i * 0x1000u, i * 24u);
    for (uint8_t i = 0; i < ACPI_MAX_OVERRIDES + 2; i++)
        madt_iso(&b, i, i, 0);
    for (uint8_t i = 0; i < ACPI_MAX_LAPIC_NMIS + 3; i++)
        madt_nmi(&b, i, 0, 1);
    madt_end(&b);
    uint64_t t[] = { MADT_ADDR };
    assert_int_equal(parse_rsdt(t, 1), 0);

    assert_int_equal(info.cpu_count, ACPI_MAX_CPUS);
    assert_int_equal(info.cpus[ACPI_MAX_CPUS - 1].apic_id, 1000 + ACPI_MAX_CPUS - 1);
    assert_int_equal(info.ioapic_count, ACPI_MAX_IOAPICS);
    assert_int_equal(info.ioapics[ACPI_MAX_IOAPICS - 1].id, ACPI_MAX_IOAPICS - 1);
    assert_int_equal(info.override_count, ACPI_MAX_OVERRIDES);
    assert_int_equal(info.lapic_nmi_count, ACPI_MAX_LAPIC_NMIS);
    assert_int_equal(info.warning_count, 4);
    assert_string_equal(info.warnings[0], "acpi: MADT has more than 256 CPUs, 44 not recorded");
    assert_string_equal(info.warnings[1], "acpi: MADT has more than 16 I/O APICs, 1 not recorded");
    assert_string_equal(info.warnings[2], "acpi: MADT has more than 32 IRQ overrides, 2 not recorded");
    assert_string_equal(info.warnings[3], "acpi: MADT has more than 32 LAPIC NMIs, 3 not recorded");
}

static void test_madt_duplicate_table(void **state)
{
    (void)state;
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 0);
    madt_lapic(&b, 0, 0, 1);
    madt_end(&b);
    b = madt_begin(MISC_ADDR, 0xFEE00000, 0);
    madt_lapic(&b, 1, 1, 1);
    madt_lapic(&b, 2, 2, 1);
    madt_end(&b);
    uint64_t t[] = { MADT_ADDR, MISC_ADDR };
    assert_int_equal(parse_rsdt(t, 2), 0);
    assert_int_equal(info.cpu_count, 1);
    assert_int_equal(info.table_count, 2);
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: ignoring second MADT at 0x87000");
}

/* ------------------------------------------------------------------ FADT */

static void test_fadt_full(void **state)
{
    (void)state;
    make_fadt(FADT_ADDR, &fadt_v6);
    uint64_t t[] = { FADT_ADDR };
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_true(info.has_fadt);
    assert_int_equal(info.fadt_revision, 6);
    assert_true(info.hw_reduced);
    assert_true(info.reset_supported);
    assert_int_equal(info.reset_reg.space_id, 1);
    assert_int_equal(info.reset_reg.bit_width, 8);
    assert_int_equal(info.reset_reg.bit_offset, 2);
    assert_int_equal(info.reset_reg.access_size, 3);
    assert_int_equal(info.reset_reg.address, 0xCF9);
    assert_int_equal(info.reset_value, 6);
    assert_int_equal(info.sci_irq, 0x115);
    assert_int_equal(info.pm_timer_port, 0x608);
    assert_int_equal(info.iapc_boot_arch, 3);
    assert_int_equal(info.warning_count, 0);

    /* RESET_REG_SUP clear: register recorded, reset not supported. */
    struct fadt_desc d = fadt_v6;
    d.flags = 0;
    make_fadt(FADT_ADDR, &d);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_false(info.reset_supported);
    assert_false(info.hw_reduced);
    assert_int_equal(info.reset_reg.address, 0xCF9);

    /* RESET_REG_SUP set but the register address is zero. */
    d.flags = 1u << 10;
    d.reset_addr = 0;
    make_fadt(FADT_ADDR, &d);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_false(info.reset_supported);
}

static void test_fadt_rev1_short(void **state)
{
    (void)state;
    struct fadt_desc d = { .rev = 1, .len = 116, .flags = 1u << 10, .sci = 9,
                           .pm_tmr = 0xB008, .boot_arch = 3 };
    make_fadt(FADT_ADDR, &d);
    /* Bytes just past the table look like a reset register: not part of it. */
    put8(FADT_ADDR + 116, 1);
    put64(FADT_ADDR + 120, 0xCF9);
    put8(FADT_ADDR + 128, 6);
    uint64_t t[] = { FADT_ADDR };
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_true(info.has_fadt);
    assert_int_equal(info.fadt_revision, 1);
    assert_false(info.reset_supported);
    assert_int_equal(info.reset_reg.address, 0);
    assert_int_equal(info.reset_value, 0);
    assert_int_equal(info.sci_irq, 9);
    assert_int_equal(info.pm_timer_port, 0xB008);
    assert_int_equal(info.iapc_boot_arch, 0); /* reserved in ACPI 1.0 */
    assert_int_equal(info.warning_count, 0);

    /* Truncated below the flags field: what is present is used, plus a warning. */
    d.len = 80;
    make_fadt(FADT_ADDR, &d);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_true(info.has_fadt);
    assert_int_equal(info.sci_irq, 9);
    assert_int_equal(info.pm_timer_port, 0xB008);
    assert_false(info.reset_supported);
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: FADT at 0x82000 too short (80 bytes)");
}

/* ------------------------------------------------------------------ HPET, MCFG, DMAR, IVRS */

static void test_hpet(void **state)
{
    (void)state;
    make_hpet(HPET_ADDR, 0xFED00000, 2, 0x37EE);
    make_hpet(MISC_ADDR, 0xFED80000, 3, 0x80); /* a second block: first one wins */
    uint64_t t[] = { HPET_ADDR, MISC_ADDR };
    assert_int_equal(parse_rsdt(t, 2), 0);
    assert_int_equal(info.table_count, 2);
    assert_true(info.has_hpet);
    assert_int_equal(info.hpet_phys, 0xFED00000);
    assert_int_equal(info.hpet_number, 2);
    assert_int_equal(info.hpet_min_tick, 0x37EE);
    assert_int_equal(info.warning_count, 0);

    make_hpet(HPET_ADDR, 0, 0, 0x80);
    t[1] = 0;
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_false(info.has_hpet);
    assert_string_equal(info.warnings[0], "acpi: HPET at 0x83000 has no base address");

    sdt_header(HPET_ADDR, "HPET", 1, 50);
    sdt_finish(HPET_ADDR);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_false(info.has_hpet);
    assert_string_equal(info.warnings[0], "acpi: HPET at 0x83000 too short (50 bytes)");
}

static void test_mcfg(void **state)
{
    (void)state;
    sdt_header(MCFG_ADDR, "MCFG", 1, 44 + 2 * 16);
    mcfg_entry(MCFG_ADDR, 0, 0xB0000000, 0, 0, 255);
    mcfg_entry(MCFG_ADDR, 1, 0xC0000000, 1, 0, 63);
    sdt_finish(MCFG_ADDR);
    sdt_header(MISC_ADDR, "MCFG", 1, 44 + 16); /* a second MCFG is ignored */
    mcfg_entry(MISC_ADDR, 0, 0xD0000000, 2, 1, 2);
    sdt_finish(MISC_ADDR);
    uint64_t t[] = { MCFG_ADDR, MISC_ADDR };
    assert_int_equal(parse_rsdt(t, 2), 0);
    assert_true(info.has_mcfg);
    assert_int_equal(info.mcfg_base, 0xB0000000);
    assert_int_equal(info.mcfg_segment, 0);
    assert_int_equal(info.mcfg_bus_start, 0);
    assert_int_equal(info.mcfg_bus_end, 255);

    memset(mem + MCFG_ADDR, 0, 0x100);
    sdt_header(MCFG_ADDR, "MCFG", 1, 44 + 16);
    mcfg_entry(MCFG_ADDR, 0, 0xE0000000ull, 3, 16, 31);
    sdt_finish(MCFG_ADDR);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_int_equal(info.mcfg_base, 0xE0000000ull);
    assert_int_equal(info.mcfg_segment, 3);
    assert_int_equal(info.mcfg_bus_start, 16);
    assert_int_equal(info.mcfg_bus_end, 31);

    /* No room for an entry. */
    memset(mem + MCFG_ADDR, 0, 0x100);
    sdt_header(MCFG_ADDR, "MCFG", 1, 44 + 15);
    sdt_finish(MCFG_ADDR);
    assert_int_equal(parse_rsdt(t, 1), 0);
    assert_false(info.has_mcfg);
    assert_string_equal(info.warnings[0], "acpi: MCFG at 0x84000 has no entries");
}

static void test_dmar_ivrs(void **state)
{
    (void)state;
    make_plain(DMAR_ADDR, "DMAR", 48);
    make_plain(DMAR_ADDR + 0x100, "DMAR", 48);
    make_plain(IVRS_ADDR, "IVRS", 48);
    make_plain(IVRS_ADDR + 0x100, "IVRS", 48);
    make_plain(MISC_ADDR, "SSDT", 40);

    /* A second table of a kind is listed but the first one is recorded. */
    uint64_t t1[] = { DMAR_ADDR, DMAR_ADDR + 0x100 };
    assert_int_equal(parse_rsdt(t1, 2), 0);
    assert_true(info.has_dmar);
    assert_int_equal(info.dmar_phys, DMAR_ADDR);
    assert_false(info.has_ivrs);
    assert_int_equal(info.table_count, 2);

    uint64_t t2[] = { MISC_ADDR, IVRS_ADDR, IVRS_ADDR + 0x100 };
    assert_int_equal(parse_rsdt(t2, 3), 0);
    assert_false(info.has_dmar);
    assert_true(info.has_ivrs);
    assert_int_equal(info.ivrs_phys, IVRS_ADDR);
    assert_int_equal(info.table_count, 3);
    assert_string_equal(info.tables[0].signature, "SSDT");
    assert_int_equal(info.warning_count, 0);
}

/* ------------------------------------------------------------------ damaged secondary tables */

static void test_bad_table_checksum(void **state)
{
    (void)state;
    struct madt_b b = madt_begin(MADT_ADDR, 0xFEE00000, 1);
    madt_lapic(&b, 0, 0, 1);
    madt_end(&b);
    mem[MADT_ADDR + 40] ^= 1;
    make_fadt(FADT_ADDR, &fadt_v6);
    make_hpet(HPET_ADDR, 0xFED00000, 0, 0x80);
    uint64_t t[] = { MADT_ADDR, FADT_ADDR, HPET_ADDR };
    assert_int_equal(parse_rsdt(t, 3), 0);

    assert_int_equal(info.table_count, 3);
    assert_string_equal(info.tables[0].signature, "APIC");
    assert_false(info.tables[0].checksum_ok);
    assert_int_equal(info.tables[0].phys, MADT_ADDR);
    assert_true(info.tables[1].checksum_ok);
    assert_true(info.tables[2].checksum_ok);
    assert_false(info.has_madt);
    assert_int_equal(info.cpu_count, 0);
    assert_int_equal(info.lapic_phys, 0);
    assert_true(info.has_fadt);
    assert_true(info.has_hpet);
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: APIC at 0x81000 has checksum error");
}

static void test_table_bad_length(void **state)
{
    (void)state;
    sdt_header(MADT_ADDR, "APIC", 5, 0xFFFFFFFFu);
    sdt_header(HPET_ADDR, "HPET", 1, 10);
    sdt_header(MCFG_ADDR, "MCFG", 1, ACPI_MAX_TABLE_LEN + 1);
    make_fadt(FADT_ADDR, &fadt_v6);
    uint64_t t[] = { MADT_ADDR, HPET_ADDR, MCFG_ADDR, FADT_ADDR };
    assert_int_equal(parse_rsdt(t, 4), 0);

    assert_true(fake.max_len < MEM_SIZE); /* never asked to map the absurd length */
    assert_int_equal(info.table_count, 4);
    assert_false(info.tables[0].checksum_ok);
    assert_int_equal(info.tables[0].length, 0xFFFFFFFFu);
    assert_false(info.tables[1].checksum_ok);
    assert_false(info.tables[2].checksum_ok);
    assert_true(info.tables[3].checksum_ok);
    assert_false(info.has_madt);
    assert_false(info.has_hpet);
    assert_false(info.has_mcfg);
    assert_true(info.has_fadt);
    assert_int_equal(info.warning_count, 3);
    assert_string_equal(info.warnings[0], "acpi: APIC at 0x81000 has bad length 4294967295");
    assert_string_equal(info.warnings[1], "acpi: HPET at 0x83000 has bad length 10");
    assert_string_equal(info.warnings[2], "acpi: MCFG at 0x84000 has bad length 16777217");
}

static void test_map_null(void **state)
{
    (void)state;
    make_fadt(FADT_ADDR, &fadt_v6);
    make_hpet(HPET_ADDR, 0xFED00000, 0, 0x80);
    sdt_header(MEM_SIZE - 40, "SSDT", 1, 100); /* body runs off the end of memory */
    uint64_t t[] = { 0x7fe10000u, MEM_SIZE - 40, HPET_ADDR, FADT_ADDR };

    /* The HPET entry of the RSDT itself cannot be mapped. */
    fake.fail_phys = RSDT_ADDR + 36 + 2 * 4;
    fake.fail_len = 4;
    assert_int_equal(parse_rsdt(t, 4), 0);

    assert_true(info.has_fadt);
    assert_false(info.has_hpet);
    assert_int_equal(info.table_count, 2);
    assert_string_equal(info.tables[0].signature, "SSDT");
    assert_false(info.tables[0].checksum_ok);
    assert_string_equal(info.tables[1].signature, "FACP");
    assert_int_equal(info.warning_count, 3);
    assert_string_equal(info.warnings[0], "acpi: cannot map table at 0x7fe10000");
    assert_string_equal(info.warnings[1], "acpi: cannot map SSDT at 0xfffd8 (100 bytes)");
    assert_string_equal(info.warnings[2], "acpi: cannot map RSDT entry 2 at 0x8002c");
}

static void test_null_entries_and_warning_limit(void **state)
{
    (void)state;
    make_fadt(FADT_ADDR, &fadt_v6);
    uint64_t t[13] = { 0 };
    t[12] = FADT_ADDR;
    assert_int_equal(parse_rsdt(t, 13), 0);
    /* 12 null entries: all counted, the first 8 stored, parsing continues. */
    assert_int_equal(info.warning_count, 12);
    assert_string_equal(info.warnings[0], "acpi: RSDT entry 0 is null");
    assert_string_equal(info.warnings[ACPI_MAX_WARNINGS - 1], "acpi: RSDT entry 7 is null");
    assert_true(info.has_fadt);
    assert_int_equal(info.table_count, 1);
}

static void test_table_list_full(void **state)
{
    (void)state;
    enum { N = ACPI_MAX_TABLES + 6 };
    uint64_t t[N];
    for (unsigned i = 0; i < N - 1; i++)
        t[i] = MISC_ADDR;
    t[N - 1] = FADT_ADDR;
    make_plain(MISC_ADDR, "SSDT", 40);
    make_fadt(FADT_ADDR, &fadt_v6);

    make_root(XSDT_ADDR, true, t, N);
    make_rsdp(RSDP_ADDR, 2, 0, XSDT_ADDR);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 36), 0);
    assert_int_equal(info.table_count, ACPI_MAX_TABLES);
    assert_true(info.has_fadt); /* still parsed though not listed */
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: more than 64 tables, 6 not recorded");
}

static void test_root_partial_entry(void **state)
{
    (void)state;
    make_fadt(FADT_ADDR, &fadt_v6);
    uint64_t t[] = { FADT_ADDR };
    make_root(XSDT_ADDR, true, t, 1);
    put32(XSDT_ADDR + 4, 36 + 8 + 4);
    sdt_finish(XSDT_ADDR);
    make_rsdp(RSDP_ADDR, 2, 0, XSDT_ADDR);
    assert_int_equal(parse_rsdp(RSDP_ADDR, 36), 0);
    assert_true(info.has_fadt);
    assert_int_equal(info.table_count, 1);
    assert_int_equal(info.warning_count, 1);
    assert_string_equal(info.warnings[0], "acpi: XSDT length 48 is not a whole number of entries");
}

/* ------------------------------------------------------------------ legacy RSDP search */

#define EBDA_SEG 0x9FC0u
#define EBDA_ADDR (EBDA_SEG << 4)

static void test_find_rsdp_ebda(void **state)
{
    (void)state;
    put16(0x40E, EBDA_SEG);
    /* Signature with a bad checksum first, then the real one. */
    memcpy(mem + EBDA_ADDR + 0x10, "RSD PTR ", 8);
    make_rsdp(EBDA_ADDR + 0x40, 2, RSDT_ADDR, XSDT_ADDR);
    make_rsdp(0xF5A40, 0, RSDT_ADDR, 0); /* the BIOS area copy loses */
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), EBDA_ADDR + 0x40);

    /* A revision-2 RSDP in the last slot of the first KiB: its 36 bytes go
     * past the searched KiB and are still read. */
    memset(mem + EBDA_ADDR, 0, 0x400);
    make_rsdp(EBDA_ADDR + 0x3F0, 2, RSDT_ADDR, XSDT_ADDR);
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), EBDA_ADDR + 0x3F0);

    /* Beyond the first KiB of the EBDA: not searched there. */
    memset(mem + EBDA_ADDR, 0, 0x400);
    make_rsdp(EBDA_ADDR + 0x400, 0, RSDT_ADDR, 0);
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), 0xF5A40);
}

static void test_find_rsdp_bios_area(void **state)
{
    (void)state;
    /* EBDA pointer 0: only the BIOS area is searched (not physical 0). */
    make_rsdp(0x100, 0, RSDT_ADDR, 0);
    memcpy(mem + 0xE0000, "RSD PTR ", 8);    /* bad checksum */
    make_rsdp(0xE0108, 0, RSDT_ADDR, 0);     /* valid but not 16-byte aligned */
    make_rsdp(0xF5A40, 0, RSDT_ADDR, 0);
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), 0xF5A40);

    /* Revision 2 with a bad extended checksum is rejected; the next is used. */
    make_rsdp(0xE4000, 2, RSDT_ADDR, XSDT_ADDR);
    mem[0xE4000 + 33] ^= 1;
    make_rsdp(0xFFFD0, 2, RSDT_ADDR, XSDT_ADDR);
    memset(mem + 0xF5A40, 0, 20);
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), 0xFFFD0);

    /* An RSDP whose Length field exceeds 36 is checked over all of it. */
    make_rsdp(0xE8000, 2, RSDT_ADDR, XSDT_ADDR);
    put32(0xE8000 + 20, 48);
    fix_checksum(0xE8000, 48, 32);
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), 0xE8000);
    mem[0xE8000 + 44] ^= 1; /* byte past 36 breaks the extended checksum */
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), 0xFFFD0);

    /* The EBDA holds nothing valid: fall through to the BIOS area. */
    put16(0x40E, EBDA_SEG);
    memcpy(mem + EBDA_ADDR, "RSD PTR ", 8);
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), 0xFFFD0);
}

static void test_find_rsdp_none(void **state)
{
    (void)state;
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), 0);
    put16(0x40E, EBDA_SEG);
    memcpy(mem + EBDA_ADDR, "RSD PTR ", 8);
    memcpy(mem + 0xE0000, "RSD PTR ", 8);
    make_rsdp(0xF0000, 2, RSDT_ADDR, XSDT_ADDR);
    put32(0xF0000 + 20, 0x40000); /* absurd RSDP length: rejected unmapped */
    fix_checksum(0xF0000, 20, 8);
    assert_int_equal(acpi_find_rsdp_bios(fake_map, &fake), 0);
    assert_int_equal(fake.max_len, 0x20000); /* nothing larger than the BIOS area */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_rsdp_validate_ok),
        T(test_rsdp_validate_bad),
        T(test_parse_bad_rsdp),
        T(test_acpi1_rsdt),
        T(test_acpi2_xsdt_preferred),
        T(test_bad_root),
        T(test_madt_qemu),
        T(test_madt_ioapic_gsi_fields),
        T(test_madt_x2apic),
        T(test_madt_lapic_override),
        T(test_madt_disabled_cpu),
        T(test_madt_bad_entries),
        T(test_madt_array_limits),
        T(test_madt_duplicate_table),
        T(test_fadt_full),
        T(test_fadt_rev1_short),
        T(test_hpet),
        T(test_mcfg),
        T(test_dmar_ivrs),
        T(test_bad_table_checksum),
        T(test_table_bad_length),
        T(test_map_null),
        T(test_null_entries_and_warning_limit),
        T(test_table_list_full),
        T(test_root_partial_entry),
        T(test_find_rsdp_ebda),
        T(test_find_rsdp_bios_area),
        T(test_find_rsdp_none),
    };
#undef T
    return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
