/* Multiboot2 boot information parser. Pure logic: every field is read with
 * memcpy (a hostile producer may misalign tags) and only after checking that
 * it lies inside [mbi, mbi + total_size), which is itself checked against
 * avail. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/compiler.h"
#include "hv/format.h"
#include "hv/mb2.h"
#include "hv/memmap.h"
#include "hv/string.h"
#include "plinth/errno.h"

#define TAG_HDR 8u          /* u32 type, u32 size */
#define MBI_MIN_SIZE 16u    /* fixed part + end tag */
#define MMAP_HDR 16u        /* tag header + entry_size + entry_version */
#define MMAP_ENTRY_MIN 24u
#define EFI_MMAP_HDR 16u    /* tag header + descriptor_size + descriptor_version */
#define EFI_DESC_MIN 40u
#define MODULE_HDR 16u      /* tag header + mod_start + mod_end */
#define FB_MIN 30u          /* through framebuffer_type */
#define RSDP_V1_LEN 20u
#define RSDP_V2_LEN 36u
#define EFI_PAGE_SHIFT 12

struct parser {
    const uint8_t *mbi;
    uint32_t total;
    struct boot_info *out;
    char *err;
    size_t errlen;
    bool have_rsdp_new;
    bool have_efi64;
    bool efi_overflow;     /* the EFI map held in out->mmap is incomplete */
    size_t efi_off;
};

static int fail(struct parser *p, int code, const char *fmt, ...) PRINTF_LIKE(3, 4);

static int fail(struct parser *p, int code, const char *fmt, ...)
{
    if (p->err != NULL && p->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        hv_vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static uint32_t rd32(const uint8_t *s)
{
    uint32_t v;
    memcpy(&v, s, sizeof(v));
    return v;
}

static uint64_t rd64(const uint8_t *s)
{
    uint64_t v;
    memcpy(&v, s, sizeof(v));
    return v;
}

static int need(struct parser *p, uint32_t type, size_t off, uint32_t size, uint32_t min)
{
    if (size >= min)
        return 0;
    return fail(p, -PL_EINVAL, "multiboot2: tag type %u at offset %#zx has size %u, shorter than its %u-byte header",
                (unsigned)type, off, (unsigned)size, (unsigned)min);
}

/* Copy the NUL-terminated string occupying [soff, end) of the structure. */
static int copy_str(struct parser *p, uint32_t type, size_t off, size_t soff, size_t end, char *dst,
                    size_t dstmax, const char *what)
{
    const char *s = (const char *)(p->mbi + soff);
    size_t max = end - soff;
    size_t len = strnlen(s, max);

    if (len == max)
        return fail(p, -PL_EINVAL, "multiboot2: tag type %u at offset %#zx: %s is not NUL-terminated inside the tag",
                    (unsigned)type, off, what);
    if (len >= dstmax)
        return fail(p, -PL_E2BIG, "multiboot2: tag type %u at offset %#zx: %s is %zu bytes, longer than the %zu-byte limit",
                    (unsigned)type, off, what, len, dstmax - 1);
    memcpy(dst, s, len + 1);
    return 0;
}

static uint32_t e820_type(uint32_t t)
{
    return t >= MEM_AVAILABLE && t <= MEM_BAD ? t : MEM_RESERVED;
}

static uint32_t efi_type(uint32_t t)
{
    switch (t) {
    case 1: /* EfiLoaderCode */
    case 2: /* EfiLoaderData */
    case 3: /* EfiBootServicesCode */
    case 4: /* EfiBootServicesData */
    case 7: /* EfiConventionalMemory */
        return MEM_AVAILABLE;
    case 8: /* EfiUnusableMemory */
        return MEM_BAD;
    case 9: /* EfiACPIReclaimMemory */
        return MEM_ACPI_RECLAIM;
    case 10: /* EfiACPIMemoryNVS */
        return MEM_ACPI_NVS;
    default: /* reserved, runtime services, MMIO, PAL code, persistent, unknown */
        return MEM_RESERVED;
    }
}

static int parse_mmap(struct parser *p, size_t off, uint32_t size)
{
    const uint8_t *t = p->mbi + off;
    struct boot_info *out = p->out;
    int rc = need(p, (unsigned)MB2_TAG_MMAP, off, size, MMAP_HDR);
    if (rc)
        return rc;

    uint32_t esize = rd32(t + 8);
    if (esize < MMAP_ENTRY_MIN || esize % 8 != 0)
        return fail(p, -PL_EINVAL,
                    "multiboot2: tag type %u at offset %#zx has entry_size %u; it must be a multiple of 8 and at least %u",
                    (unsigned)MB2_TAG_MMAP, off, (unsigned)esize, MMAP_ENTRY_MIN);
    uint32_t bytes = size - MMAP_HDR;
    if (bytes % esize != 0)
        return fail(p, -PL_EINVAL, "multiboot2: tag type %u at offset %#zx has %u bytes of entries, not a multiple of entry_size %u",
                    (unsigned)MB2_TAG_MMAP, off, (unsigned)bytes, (unsigned)esize);
    uint32_t n = bytes / esize;
    if (n > BOOT_MAX_MEM_RANGES)
        return fail(p, -PL_ENOSPC, "multiboot2: tag type %u at offset %#zx has %u entries, more than the %u supported",
                    (unsigned)MB2_TAG_MMAP, off, (unsigned)n, (unsigned)BOOT_MAX_MEM_RANGES);

    const uint8_t *e = t + MMAP_HDR;
    for (uint32_t i = 0; i < n; i++, e += esize) {
        out->mmap[i].base = rd64(e);
        out->mmap[i].len = rd64(e + 8);
        out->mmap[i].type = e820_type(rd32(e + 16));
    }
    out->mmap_count = n;
    out->mmap_source = BOOT_MMAP_E820;
    out->e820_entries = n;
    p->efi_overflow = false;
    return 0;
}

static int parse_efi_mmap(struct parser *p, size_t off, uint32_t size)
{
    const uint8_t *t = p->mbi + off;
    struct boot_info *out = p->out;
    int rc = need(p, (unsigned)MB2_TAG_EFI_MMAP, off, size, EFI_MMAP_HDR);
    if (rc)
        return rc;

    uint32_t dsize = rd32(t + 8);
    if (dsize < EFI_DESC_MIN)
        return fail(p, -PL_EINVAL, "multiboot2: tag type %u at offset %#zx has descriptor_size %u, smaller than %u",
                    (unsigned)MB2_TAG_EFI_MMAP, off, (unsigned)dsize, EFI_DESC_MIN);
    uint32_t bytes = size - EFI_MMAP_HDR;
    if (bytes % dsize != 0)
        return fail(p, -PL_EINVAL,
                    "multiboot2: tag type %u at offset %#zx has %u bytes of descriptors, not a multiple of descriptor_size %u",
                    (unsigned)MB2_TAG_EFI_MMAP, off, (unsigned)bytes, (unsigned)dsize);
    uint32_t n = bytes / dsize;
    out->efi_entries = n;
    if (out->mmap_source == BOOT_MMAP_E820)
        return 0; /* tag 6 is the map in use; this one is only counted */

    /* Convert, merging consecutive physically adjacent descriptors of one
     * converted type. Empty descriptors carry nothing and are skipped. */
    struct mem_range *m = out->mmap;
    unsigned cnt = 0;
    bool overflow = false;
    const uint8_t *d = t + EFI_MMAP_HDR;
    for (uint32_t i = 0; i < n; i++, d += dsize) {
        uint32_t type = efi_type(rd32(d));
        uint64_t base = rd64(d + 8);
        uint64_t pages = rd64(d + 24);
        uint64_t len = pages > (UINT64_MAX >> EFI_PAGE_SHIFT) ? UINT64_MAX : pages << EFI_PAGE_SHIFT;
        if (len == 0)
            continue;
        if (cnt > 0) {
            struct mem_range *prev = &m[cnt - 1];
            if (prev->type == type && prev->len <= UINT64_MAX - prev->base && prev->base + prev->len == base) {
                prev->len = len > UINT64_MAX - prev->len ? UINT64_MAX : prev->len + len;
                continue;
            }
        }
        if (cnt == BOOT_MAX_MEM_RANGES) {
            overflow = true;
            break;
        }
        m[cnt].base = base;
        m[cnt].len = len;
        m[cnt].type = type;
        cnt++;
    }
    out->mmap_count = cnt;
    out->mmap_source = BOOT_MMAP_EFI;
    p->efi_overflow = overflow;
    p->efi_off = off;
    return 0;
}

static int parse_tag(struct parser *p, uint32_t type, size_t off, uint32_t size)
{
    struct boot_info *out = p->out;
    const uint8_t *t = p->mbi + off;
    size_t end = off + size;
    int rc = 0;

    switch (type) {
    case MB2_TAG_CMDLINE:
        rc = copy_str(p, type, off, off + TAG_HDR, end, out->cmdline, sizeof(out->cmdline), "command line");
        if (rc == 0)
            out->has_cmdline = true;
        return rc;

    case MB2_TAG_LOADER_NAME:
        return copy_str(p, type, off, off + TAG_HDR, end, out->loader_name, sizeof(out->loader_name),
                        "boot loader name");

    case MB2_TAG_MODULE: {
        if ((rc = need(p, type, off, size, MODULE_HDR)) != 0)
            return rc;
        if (out->module_count >= BOOT_MAX_MODULES)
            return fail(p, -PL_ENOSPC, "multiboot2: tag type %u at offset %#zx: more than %u modules",
                        (unsigned)type, off, (unsigned)BOOT_MAX_MODULES);
        uint32_t start = rd32(t + 8), mend = rd32(t + 12);
        if (mend < start)
            return fail(p, -PL_EINVAL, "multiboot2: tag type %u at offset %#zx: module end %#x is below its start %#x",
                        (unsigned)type, off, (unsigned)mend, (unsigned)start);
        struct boot_module *mod = &out->modules[out->module_count];
        if ((rc = copy_str(p, type, off, off + MODULE_HDR, end, mod->cmdline, sizeof(mod->cmdline),
                           "module string")) != 0)
            return rc;
        mod->start = start;
        mod->end = mend;
        out->module_count++;
        return 0;
    }

    case MB2_TAG_BASIC_MEMINFO:
        if ((rc = need(p, type, off, size, 16)) != 0)
            return rc;
        out->has_basic_meminfo = true;
        out->mem_lower_kib = rd32(t + 8);
        out->mem_upper_kib = rd32(t + 12);
        return 0;

    case MB2_TAG_MMAP:
        return parse_mmap(p, off, size);

    case MB2_TAG_EFI_MMAP:
        return parse_efi_mmap(p, off, size);

    case MB2_TAG_FRAMEBUFFER:
        if ((rc = need(p, type, off, size, FB_MIN)) != 0)
            return rc;
        out->fb.present = true;
        out->fb.addr = rd64(t + 8);
        out->fb.pitch = rd32(t + 16);
        out->fb.width = rd32(t + 20);
        out->fb.height = rd32(t + 24);
        out->fb.bpp = t[28];
        out->fb.type = t[29];
        return 0;

    case MB2_TAG_EFI32:
        if ((rc = need(p, type, off, size, 12)) != 0)
            return rc;
        out->efi_boot = true;
        if (!p->have_efi64)
            out->efi_system_table = rd32(t + 8);
        return 0;

    case MB2_TAG_EFI64:
        if ((rc = need(p, type, off, size, 16)) != 0)
            return rc;
        out->efi_boot = true;
        out->efi_system_table = rd64(t + 8);
        p->have_efi64 = true;
        return 0;

    case MB2_TAG_ACPI_OLD:
    case MB2_TAG_ACPI_NEW: {
        bool is_new = type == MB2_TAG_ACPI_NEW;
        uint32_t want = is_new ? RSDP_V2_LEN : RSDP_V1_LEN;
        if ((rc = need(p, type, off, size, TAG_HDR + want)) != 0)
            return rc;
        if (!is_new && p->have_rsdp_new)
            return 0;
        uint32_t len = MIN(size - TAG_HDR, (uint32_t)BOOT_RSDP_MAX);
        if (!is_new)
            len = MIN(len, RSDP_V1_LEN);
        memset(out->rsdp, 0, sizeof(out->rsdp));
        memcpy(out->rsdp, t + TAG_HDR, len);
        out->rsdp_len = len;
        if (is_new)
            p->have_rsdp_new = true;
        return 0;
    }

    case MB2_TAG_EFI_BS:
        out->efi_boot_services_active = true;
        return 0;

    case MB2_TAG_LOAD_BASE_ADDR:
        if ((rc = need(p, type, off, size, 12)) != 0)
            return rc;
        out->has_load_base = true;
        out->load_base = rd32(t + 8);
        return 0;

    case MB2_TAG_BOOTDEV:
    case MB2_TAG_VBE:
    case MB2_TAG_ELF_SECTIONS:
    case MB2_TAG_APM:
    case MB2_TAG_SMBIOS:
    case MB2_TAG_NETWORK:
    case MB2_TAG_EFI32_IH:
    case MB2_TAG_EFI64_IH:
        return 0; /* known, not needed */

    default:
        out->unknown_tags++;
        return 0;
    }
}

int mb2_parse(const void *mbi, size_t avail, struct boot_info *out, char *err, size_t errlen)
{
    struct parser p = { .mbi = mbi, .out = out, .err = err, .errlen = errlen };

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (mbi == NULL || out == NULL)
        return fail(&p, -PL_EINVAL, "multiboot2: no information structure");
    memset(out, 0, sizeof(*out));
    if (avail < 8)
        return fail(&p, -PL_EINVAL, "multiboot2: only %zu bytes available, fewer than the 8-byte fixed part", avail);

    uint32_t total = rd32(p.mbi);
    if (total < MBI_MIN_SIZE)
        return fail(&p, -PL_EINVAL, "multiboot2: total_size %u is below the %u-byte minimum", (unsigned)total,
                    MBI_MIN_SIZE);
    if (total > BOOT_MBI_MAX_SIZE)
        return fail(&p, -PL_EINVAL, "multiboot2: total_size %u exceeds the %u-byte limit", (unsigned)total,
                    (unsigned)BOOT_MBI_MAX_SIZE);
    if (total > avail)
        return fail(&p, -PL_EINVAL, "multiboot2: total_size %u exceeds the %zu bytes available", (unsigned)total, avail);
    p.total = total;
    out->mbi_size = total;

    size_t off = 8;
    for (;;) {
        if (off > total || total - off < TAG_HDR)
            return fail(&p, -PL_EINVAL, "multiboot2: no end tag before total_size %u (next tag would be at offset %#zx)",
                        (unsigned)total, off);
        uint32_t type = rd32(p.mbi + off);
        uint32_t size = rd32(p.mbi + off + 4);
        if (size < TAG_HDR)
            return fail(&p, -PL_EINVAL, "multiboot2: tag type %u at offset %#zx has size %u, shorter than the %u-byte tag header",
                        (unsigned)type, off, (unsigned)size, TAG_HDR);
        if (size > total - off)
            return fail(&p, -PL_EINVAL, "multiboot2: tag type %u at offset %#zx has size %u, running past total_size %u",
                        (unsigned)type, off, (unsigned)size, (unsigned)total);
        if (type == MB2_TAG_END)
            break;
        int rc = parse_tag(&p, type, off, size);
        if (rc)
            return rc;
        off += ALIGN_UP((size_t)size, (size_t)8);
    }

    if (out->mmap_source == BOOT_MMAP_EFI && p.efi_overflow)
        return fail(&p, -PL_ENOSPC, "multiboot2: tag type %u at offset %#zx: EFI memory map needs more than %u ranges",
                    (unsigned)MB2_TAG_EFI_MMAP, p.efi_off, (unsigned)BOOT_MAX_MEM_RANGES);
    return 0;
}
