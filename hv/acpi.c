/* ACPI static table parser. See hv/acpi.h for the contract.
 *
 * Every byte of physical memory is read through the caller's map callback.
 * A pointer returned by map is only used until the next call to map (so a
 * single temporary mapping window is enough): whatever is needed from a
 * mapping is copied out before mapping something else. Multi-byte fields are
 * read with memcpy because ACPI structures are packed and unaligned. */
#include "hv/acpi.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/compiler.h"
#include "hv/format.h"
#include "hv/string.h"
#include "plinth/errno.h"

#define SDT_HDR_LEN 36u
#define RSDP_V1_LEN 20u
#define RSDP_V2_LEN 36u
#define RSDP_MAX_LEN 1024u /* sanity bound on the RSDP Length field when scanning */

#define MADT_ENTRIES_OFF 44u
#define MCFG_ENTRIES_OFF 44u
#define MCFG_ENTRY_LEN 16u

#define FADT_SCI_INT_OFF 46u
#define FADT_PM_TMR_BLK_OFF 76u
#define FADT_IAPC_BOOT_ARCH_OFF 109u
#define FADT_FLAGS_OFF 112u
#define FADT_RESET_REG_OFF 116u
#define FADT_RESET_VALUE_OFF 128u
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define FADT_FLAG_HW_REDUCED (1u << 20)

#define HPET_BASE_GAS_OFF 40u
#define HPET_NUMBER_OFF 52u
#define HPET_MIN_TICK_OFF 53u
#define HPET_MIN_LEN 55u /* through the minimum tick field */

#define BDA_EBDA_SEG 0x40Eu
#define EBDA_SEARCH_LEN 1024u
#define EBDA_LIMIT 0xA0000u
#define BIOS_AREA_BASE 0xE0000u
#define BIOS_AREA_LEN 0x20000u

#define MADT_CPU_ENABLED (1u << 0)
#define MADT_CPU_ONLINE_CAPABLE (1u << 1)

static const char rsdp_sig[8] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' };

/* ------------------------------------------------------------ helpers */

static uint16_t rd16(const uint8_t *p, size_t off)
{
    uint16_t v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
    uint64_t v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}

static struct acpi_gas rd_gas(const uint8_t *p, size_t off)
{
    struct acpi_gas g;
    g.space_id = p[off];
    g.bit_width = p[off + 1];
    g.bit_offset = p[off + 2];
    g.access_size = p[off + 3];
    g.address = rd64(p, off + 4);
    return g;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* Copy a 4-byte signature as a printable NUL-terminated string. */
static void sig_copy(char dst[5], const uint8_t *src)
{
    for (int i = 0; i < 4; i++) {
        uint8_t c = src[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[4] = '\0';
}

static void PRINTF_LIKE(3, 4) set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    hv_vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Store a warning if there is room; always count it. */
static void PRINTF_LIKE(2, 3) warn(struct acpi_info *out, const char *fmt, ...)
{
    if (out->warning_count < ACPI_MAX_WARNINGS) {
        va_list ap;
        va_start(ap, fmt);
        hv_vsnprintf(out->warnings[out->warning_count], ACPI_WARNING_LEN, fmt, ap);
        va_end(ap);
    }
    if (out->warning_count != ~0u)
        out->warning_count++;
}

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

/* ------------------------------------------------------------ RSDP */

int acpi_rsdp_validate(const void *rsdp, size_t len, char *err, size_t errlen)
{
    const uint8_t *p = rsdp;

    if (!p) {
        set_err(err, errlen, "acpi: no RSDP");
        return -PL_EINVAL;
    }
    if (len < RSDP_V1_LEN) {
        set_err(err, errlen, "acpi: RSDP too short (%zu bytes, need %u)", len, RSDP_V1_LEN);
        return -PL_EINVAL;
    }
    if (memcmp(p, rsdp_sig, sizeof(rsdp_sig)) != 0) {
        set_err(err, errlen, "acpi: RSDP has wrong signature");
        return -PL_EINVAL;
    }
    if (sum8(p, RSDP_V1_LEN) != 0) {
        set_err(err, errlen, "acpi: RSDP has checksum error");
        return -PL_EINVAL;
    }
    uint8_t rev = p[15];
    if (rev >= 2) {
        if (len < RSDP_V2_LEN) {
            set_err(err, errlen, "acpi: RSDP revision %u too short (%zu bytes, need %u)",
                    (unsigned)rev, len, RSDP_V2_LEN);
            return -PL_EINVAL;
        }
        uint32_t length = rd32(p, 20);
        if (length < RSDP_V2_LEN || length > len) {
            set_err(err, errlen, "acpi: RSDP has bad length %u (%zu bytes readable)",
                    (unsigned)length, len);
            return -PL_EINVAL;
        }
        if (sum8(p, length) != 0) {
            set_err(err, errlen, "acpi: RSDP has extended checksum error");
            return -PL_EINVAL;
        }
    }
    return 0;
}

/* Check the candidate RSDP at phys, mapping only what it needs. */
static bool rsdp_candidate_ok(acpi_map_fn map, void *ctx, uint64_t phys)
{
    const uint8_t *p = map(phys, RSDP_V1_LEN, ctx);
    if (!p)
        return false;
    if (p[15] < 2)
        return acpi_rsdp_validate(p, RSDP_V1_LEN, NULL, 0) == 0;

    p = map(phys, RSDP_V2_LEN, ctx);
    if (!p)
        return false;
    uint32_t length = rd32(p, 20);
    if (length < RSDP_V2_LEN || length > RSDP_MAX_LEN)
        return false;
    if (length > RSDP_V2_LEN) {
        p = map(phys, length, ctx);
        if (!p)
            return false;
    }
    return acpi_rsdp_validate(p, length, NULL, 0) == 0;
}

static uint64_t rsdp_scan(acpi_map_fn map, void *ctx, uint64_t base, size_t size)
{
    const uint8_t *p = map(base, size, ctx);
    if (!p)
        return 0;
    for (size_t off = 0; off + sizeof(rsdp_sig) <= size; off += 16) {
        if (memcmp(p + off, rsdp_sig, sizeof(rsdp_sig)) != 0)
            continue;
        if (rsdp_candidate_ok(map, ctx, base + off))
            return base + off;
        /* The candidate check mapped other ranges: map the area again. */
        p = map(base, size, ctx);
        if (!p)
            return 0;
    }
    return 0;
}

uint64_t acpi_find_rsdp_bios(acpi_map_fn map, void *ctx)
{
    if (!map)
        return 0;

    const uint8_t *bda = map(BDA_EBDA_SEG, 2, ctx);
    if (bda) {
        uint64_t ebda = (uint64_t)rd16(bda, 0) << 4;
        /* Same plausibility window as ACPICA: above the BDA, below VGA. */
        if (ebda > 0x400 && ebda < EBDA_LIMIT) {
            size_t len = (size_t)MIN((uint64_t)EBDA_SEARCH_LEN, EBDA_LIMIT - ebda);
            uint64_t r = rsdp_scan(map, ctx, ebda, len);
            if (r)
                return r;
        }
    }
    return rsdp_scan(map, ctx, BIOS_AREA_BASE, BIOS_AREA_LEN);
}

/* ------------------------------------------------------------ tables */

struct sdt {
    const uint8_t *p; /* whole table, valid until the next map call */
    uint32_t len;
    uint8_t rev;
    char sig[5];
};

enum sdt_status {
    SDT_OK,
    SDT_NO_HEADER, /* nothing known about the table */
    SDT_BAD,       /* signature and length known, table unusable */
};

/* Map the table at phys: header first, length check, whole table, checksum.
 * expect, if non-NULL, is the required signature. On failure a one-line
 * reason goes to msg. */
static enum sdt_status sdt_load(acpi_map_fn map, void *ctx, uint64_t phys, const char *expect,
                                struct sdt *t, char *msg, size_t msglen)
{
    memset(t, 0, sizeof(*t));
    memcpy(t->sig, expect ? expect : "????", 5);

    const uint8_t *h = NULL;
    if (phys <= UINT64_MAX - SDT_HDR_LEN)
        h = map(phys, SDT_HDR_LEN, ctx);
    if (!h) {
        set_err(msg, msglen, "acpi: cannot map %s at 0x%llx", expect ? expect : "table", ull(phys));
        return SDT_NO_HEADER;
    }

    char found[5];
    sig_copy(found, h);
    uint32_t len = rd32(h, 4);
    t->len = len;
    t->rev = h[8];
    if (expect && memcmp(h, expect, 4) != 0) {
        set_err(msg, msglen, "acpi: %s at 0x%llx has wrong signature '%s'", expect, ull(phys), found);
        return SDT_BAD;
    }
    memcpy(t->sig, found, sizeof(found));

    if (len < SDT_HDR_LEN || len > ACPI_MAX_TABLE_LEN) {
        set_err(msg, msglen, "acpi: %s at 0x%llx has bad length %u", t->sig, ull(phys), (unsigned)len);
        return SDT_BAD;
    }
    const uint8_t *p = NULL;
    if (phys <= UINT64_MAX - len)
        p = map(phys, len, ctx);
    if (!p) {
        set_err(msg, msglen, "acpi: cannot map %s at 0x%llx (%u bytes)", t->sig, ull(phys), (unsigned)len);
        return SDT_BAD;
    }
    if (sum8(p, len) != 0) {
        set_err(msg, msglen, "acpi: %s at 0x%llx has checksum error", t->sig, ull(phys));
        return SDT_BAD;
    }
    t->p = p;
    return SDT_OK;
}

/* ------------------------------------------------------------ MADT */

struct madt_drops {
    unsigned cpus, ioapics, overrides, nmis;
};

/* A CPU listed both by a type 0 and a type 9 entry with the same APIC id is
 * recorded once (the first entry wins). xAPIC id 0xFF is the broadcast id,
 * which firmware uses for placeholder entries, so it never matches. */
static void madt_add_cpu(struct acpi_info *out, struct madt_drops *drops, uint32_t apic_id,
                         uint32_t uid, uint32_t flags, bool x2)
{
    if (x2 || apic_id != 0xFF) {
        for (unsigned i = 0; i < out->cpu_count; i++) {
            const struct acpi_cpu *c = &out->cpus[i];
            if (c->apic_id == apic_id && c->from_x2apic_entry != x2 &&
                (c->from_x2apic_entry || c->apic_id != 0xFF))
                return;
        }
    }
    if (out->cpu_count >= ACPI_MAX_CPUS) {
        drops->cpus++;
        return;
    }
    struct acpi_cpu *c = &out->cpus[out->cpu_count++];
    c->apic_id = apic_id;
    c->acpi_uid = uid;
    c->enabled = (flags & MADT_CPU_ENABLED) != 0;
    c->online_capable = (flags & MADT_CPU_ONLINE_CAPABLE) != 0;
    c->from_x2apic_entry = x2;
}

static void madt_add_nmi(struct acpi_info *out, struct madt_drops *drops, uint32_t uid,
                         uint16_t flags, uint8_t lint)
{
    if (out->lapic_nmi_count >= ACPI_MAX_LAPIC_NMIS) {
        drops->nmis++;
        return;
    }
    struct acpi_lapic_nmi *n = &out->lapic_nmis[out->lapic_nmi_count++];
    n->acpi_uid = uid;
    n->flags = flags;
    n->lint = lint;
}

/* Minimum entry length per known MADT type; 0 = not parsed. */
static uint8_t madt_min_len(uint8_t type)
{
    switch (type) {
    case 0: return 8;
    case 1: return 12;
    case 2: return 10;
    case 4: return 6;
    case 5: return 12;
    case 9: return 16;
    case 0xA: return 12;
    default: return 0;
    }
}

static void parse_madt(struct acpi_info *out, const struct sdt *t, uint64_t phys)
{
    const uint8_t *p = t->p;
    uint32_t len = t->len;

    if (len < MADT_ENTRIES_OFF) {
        warn(out, "acpi: MADT at 0x%llx too short (%u bytes)", ull(phys), (unsigned)len);
        return;
    }
    out->has_madt = true;
    out->lapic_phys = rd32(p, 36);
    out->pcat_compat = (rd32(p, 40) & 1u) != 0;

    struct madt_drops drops = { 0, 0, 0, 0 };
    uint32_t off = MADT_ENTRIES_OFF;
    while (off < len) {
        if (len - off < 2) {
            warn(out, "acpi: MADT has a stray byte at offset %u", (unsigned)off);
            break;
        }
        const uint8_t *e = p + off;
        uint8_t type = e[0], elen = e[1];
        if (elen < 2 || elen > len - off) {
            warn(out, "acpi: MADT entry type %u at offset %u has bad length %u", (unsigned)type,
                 (unsigned)off, (unsigned)elen);
            break;
        }
        uint8_t need = madt_min_len(type);
        if (need && elen < need) {
            warn(out, "acpi: MADT entry type %u at offset %u too short (%u < %u)", (unsigned)type,
                 (unsigned)off, (unsigned)elen, (unsigned)need);
            off += elen;
            continue;
        }

        switch (type) {
        case 0: /* Processor Local APIC */
            madt_add_cpu(out, &drops, e[3], e[2], rd32(e, 4), false);
            break;
        case 1: /* I/O APIC */
            if (out->ioapic_count >= ACPI_MAX_IOAPICS) {
                drops.ioapics++;
            } else {
                struct acpi_ioapic *io = &out->ioapics[out->ioapic_count++];
                io->id = e[2];
                io->address = rd32(e, 4);
                io->gsi_base = rd32(e, 8);
            }
            break;
        case 2: /* Interrupt Source Override */
            if (out->override_count >= ACPI_MAX_OVERRIDES) {
                drops.overrides++;
            } else {
                struct acpi_irq_override *o = &out->overrides[out->override_count++];
                o->bus = e[2];
                o->source_irq = e[3];
                o->gsi = rd32(e, 4);
                o->flags = rd16(e, 8);
            }
            break;
        case 4: /* Local APIC NMI */
            madt_add_nmi(out, &drops, e[2], rd16(e, 3), e[5]);
            break;
        case 5: /* Local APIC Address Override */
            out->lapic_phys = rd64(e, 4);
            break;
        case 9: /* Processor Local x2APIC */
            madt_add_cpu(out, &drops, rd32(e, 4), rd32(e, 12), rd32(e, 8), true);
            break;
        case 0xA: /* Local x2APIC NMI */
            madt_add_nmi(out, &drops, rd32(e, 4), rd16(e, 2), e[8]);
            break;
        default: /* type 3 (NMI source) and others (GIC, ...) are not used */
            break;
        }
        off += elen;
    }

    if (drops.cpus)
        warn(out, "acpi: MADT has more than %u CPUs, %u not recorded", ACPI_MAX_CPUS, drops.cpus);
    if (drops.ioapics)
        warn(out, "acpi: MADT has more than %u I/O APICs, %u not recorded", ACPI_MAX_IOAPICS,
             drops.ioapics);
    if (drops.overrides)
        warn(out, "acpi: MADT has more than %u IRQ overrides, %u not recorded", ACPI_MAX_OVERRIDES,
             drops.overrides);
    if (drops.nmis)
        warn(out, "acpi: MADT has more than %u LAPIC NMIs, %u not recorded", ACPI_MAX_LAPIC_NMIS,
             drops.nmis);
}

/* ------------------------------------------------------------ FADT, HPET, MCFG */

static void parse_fadt(struct acpi_info *out, const struct sdt *t, uint64_t phys)
{
    const uint8_t *p = t->p;
    uint32_t len = t->len;

    out->has_fadt = true;
    out->fadt_revision = t->rev;
    if (len < FADT_FLAGS_OFF + 4)
        warn(out, "acpi: FADT at 0x%llx too short (%u bytes)", ull(phys), (unsigned)len);

    if (len >= FADT_SCI_INT_OFF + 2)
        out->sci_irq = rd16(p, FADT_SCI_INT_OFF);
    if (len >= FADT_PM_TMR_BLK_OFF + 4)
        out->pm_timer_port = rd32(p, FADT_PM_TMR_BLK_OFF);
    /* IAPC_BOOT_ARCH is reserved in revision 1 (ACPI 1.0). */
    if (t->rev >= 2 && len >= FADT_IAPC_BOOT_ARCH_OFF + 2)
        out->iapc_boot_arch = rd16(p, FADT_IAPC_BOOT_ARCH_OFF);

    uint32_t flags = 0;
    if (len >= FADT_FLAGS_OFF + 4) {
        flags = rd32(p, FADT_FLAGS_OFF);
        out->hw_reduced = (flags & FADT_FLAG_HW_REDUCED) != 0;
    }
    if (len >= FADT_RESET_VALUE_OFF + 1) {
        out->reset_reg = rd_gas(p, FADT_RESET_REG_OFF);
        out->reset_value = p[FADT_RESET_VALUE_OFF];
        out->reset_supported = (flags & FADT_FLAG_RESET_REG_SUP) && out->reset_reg.address != 0;
    }
}

static void parse_hpet(struct acpi_info *out, const struct sdt *t, uint64_t phys)
{
    const uint8_t *p = t->p;

    if (t->len < HPET_MIN_LEN) {
        warn(out, "acpi: HPET at 0x%llx too short (%u bytes)", ull(phys), (unsigned)t->len);
        return;
    }
    struct acpi_gas base = rd_gas(p, HPET_BASE_GAS_OFF);
    if (base.address == 0) {
        warn(out, "acpi: HPET at 0x%llx has no base address", ull(phys));
        return;
    }
    out->has_hpet = true;
    out->hpet_phys = base.address;
    out->hpet_number = p[HPET_NUMBER_OFF];
    out->hpet_min_tick = rd16(p, HPET_MIN_TICK_OFF);
}

static void parse_mcfg(struct acpi_info *out, const struct sdt *t, uint64_t phys)
{
    const uint8_t *p = t->p;

    if (t->len < MCFG_ENTRIES_OFF + MCFG_ENTRY_LEN) {
        warn(out, "acpi: MCFG at 0x%llx has no entries", ull(phys));
        return;
    }
    out->has_mcfg = true;
    out->mcfg_base = rd64(p, MCFG_ENTRIES_OFF);
    out->mcfg_segment = rd16(p, MCFG_ENTRIES_OFF + 8);
    out->mcfg_bus_start = p[MCFG_ENTRIES_OFF + 10];
    out->mcfg_bus_end = p[MCFG_ENTRIES_OFF + 11];
}

/* ------------------------------------------------------------ root */

struct parse_state {
    struct acpi_info *out;
    acpi_map_fn map;
    void *ctx;
    unsigned dropped_tables;
};

static void record_table(struct parse_state *st, const struct sdt *t, uint64_t phys, bool ok)
{
    struct acpi_info *out = st->out;
    if (out->table_count >= ACPI_MAX_TABLES) {
        st->dropped_tables++;
        return;
    }
    struct acpi_table_ref *r = &out->tables[out->table_count++];
    memcpy(r->signature, t->sig, sizeof(r->signature));
    r->phys = phys;
    r->length = t->len;
    r->checksum_ok = ok;
}

static void handle_table(struct parse_state *st, uint64_t phys)
{
    struct acpi_info *out = st->out;
    struct sdt t;
    char msg[ACPI_WARNING_LEN];

    enum sdt_status s = sdt_load(st->map, st->ctx, phys, NULL, &t, msg, sizeof(msg));
    if (s != SDT_NO_HEADER)
        record_table(st, &t, phys, s == SDT_OK);
    if (s != SDT_OK) {
        warn(out, "%s", msg);
        return;
    }

    /* t.p is valid until the next map call; the parsers below make none. */
    if (memcmp(t.sig, "APIC", 4) == 0) {
        if (out->has_madt)
            warn(out, "acpi: ignoring second MADT at 0x%llx", ull(phys));
        else
            parse_madt(out, &t, phys);
    } else if (memcmp(t.sig, "FACP", 4) == 0) {
        if (out->has_fadt)
            warn(out, "acpi: ignoring second FADT at 0x%llx", ull(phys));
        else
            parse_fadt(out, &t, phys);
    } else if (memcmp(t.sig, "HPET", 4) == 0) {
        if (!out->has_hpet) /* further HPET blocks are legitimate; first one used */
            parse_hpet(out, &t, phys);
    } else if (memcmp(t.sig, "MCFG", 4) == 0) {
        if (!out->has_mcfg)
            parse_mcfg(out, &t, phys);
    } else if (memcmp(t.sig, "DMAR", 4) == 0) {
        if (!out->has_dmar) {
            out->has_dmar = true;
            out->dmar_phys = phys;
        }
    } else if (memcmp(t.sig, "IVRS", 4) == 0) {
        if (!out->has_ivrs) {
            out->has_ivrs = true;
            out->ivrs_phys = phys;
        }
    }
}

int acpi_parse(const void *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
               struct acpi_info *out, char *err, size_t errlen)
{
    if (!out || !map) {
        set_err(err, errlen, "acpi: no output or map function");
        return -PL_EINVAL;
    }
    memset(out, 0, sizeof(*out));

    int rc = acpi_rsdp_validate(rsdp, rsdp_len, err, errlen);
    if (rc)
        return rc;

    const uint8_t *r = rsdp;
    out->rsdp_revision = r[15];
    memcpy(out->oem_id, r + 9, 6);
    out->oem_id[6] = '\0';

    uint32_t rsdt = rd32(r, 16);
    uint64_t xsdt = out->rsdp_revision >= 2 ? rd64(r, 24) : 0;
    const char *name;
    size_t esz;
    if (xsdt) {
        out->root_phys = xsdt;
        out->root_is_xsdt = true;
        name = "XSDT";
        esz = 8;
    } else if (rsdt) {
        out->root_phys = rsdt;
        name = "RSDT";
        esz = 4;
    } else {
        set_err(err, errlen, "acpi: RSDP has no RSDT or XSDT address");
        return -PL_EINVAL;
    }

    struct sdt root;
    if (sdt_load(map, ctx, out->root_phys, name, &root, err, errlen) != SDT_OK)
        return -PL_EINVAL;

    uint32_t body = root.len - SDT_HDR_LEN;
    if (body % esz)
        warn(out, "acpi: %s length %u is not a whole number of entries", name, (unsigned)root.len);
    size_t n = body / esz;

    struct parse_state st = { out, map, ctx, 0 };
    for (size_t i = 0; i < n; i++) {
        /* Re-map each entry: loading a table replaces the previous mapping. */
        uint64_t ephys = out->root_phys + SDT_HDR_LEN + i * esz;
        const uint8_t *e = map(ephys, esz, ctx);
        if (!e) {
            warn(out, "acpi: cannot map %s entry %zu at 0x%llx", name, i, ull(ephys));
            continue;
        }
        uint64_t phys = esz == 8 ? rd64(e, 0) : rd32(e, 0);
        if (!phys) {
            warn(out, "acpi: %s entry %zu is null", name, i);
            continue;
        }
        handle_table(&st, phys);
    }
    if (st.dropped_tables)
        warn(out, "acpi: more than %u tables, %u not recorded", ACPI_MAX_TABLES, st.dropped_tables);
    return 0;
}
