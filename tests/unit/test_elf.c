#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hv/elf.h"
#include "plinth/errno.h"

/* ---------------------------------------------------------------- fixture builder
 * Writes ELF64 / ELF32 executables into a buffer: the ELF header (gABI), the
 * program header table right after it (unless moved), and whatever the test
 * puts in the rest of the file. Segment bytes are not needed by the parser,
 * only their file offsets, so the file is mostly zeros. */

#define IMG_CAP (24 * 1024)
#define ET_REL 1
#define ET_EXEC 2
#define ET_DYN 3
#define EM_386 3
#define EM_X86_64 62
#define EM_AARCH64 183
#define PT_NULL 0
#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_NOTE 4
#define PT_PHDR 6
#define PT_GNU_STACK 0x6474e551u
#define EHDR64_SIZE 64
#define EHDR32_SIZE 52
#define PHDR64_SIZE 56
#define PHDR32_SIZE 32
#define VADDR64_DELTA 0xFFFFFFFF80000000ull /* vaddr differs from paddr: the parser must use paddr */
#define VADDR32_DELTA 0x40000000u

struct img {
    _Alignas(8) uint8_t buf[IMG_CAP];
    size_t size;
    bool is64;
    uint64_t phoff;
    uint16_t phentsize, phnum;
};

static void put16(struct img *im, size_t off, uint16_t v) { memcpy(im->buf + off, &v, 2); }
static void put32(struct img *im, size_t off, uint32_t v) { memcpy(im->buf + off, &v, 4); }
static void put64(struct img *im, size_t off, uint64_t v) { memcpy(im->buf + off, &v, 8); }

/* Header fields at their class-specific offsets. */
static void hdr_type(struct img *im, uint16_t t) { put16(im, 16, t); }
static void hdr_machine(struct img *im, uint16_t m) { put16(im, 18, m); }
static void hdr_entry(struct img *im, uint64_t e)
{
    if (im->is64)
        put64(im, 24, e);
    else
        put32(im, 24, (uint32_t)e);
}
static void hdr_phoff(struct img *im, uint64_t off)
{
    im->phoff = off;
    if (im->is64)
        put64(im, 32, off);
    else
        put32(im, 28, (uint32_t)off);
}
static void hdr_phentsize(struct img *im, uint16_t n)
{
    im->phentsize = n;
    put16(im, im->is64 ? 54 : 42, n);
}
static void hdr_phnum(struct img *im, uint16_t n)
{
    im->phnum = n;
    put16(im, im->is64 ? 56 : 44, n);
}

static void img_init(struct img *im, bool is64, uint64_t entry, size_t size)
{
    assert_true(size <= IMG_CAP);
    memset(im->buf, 0, sizeof(im->buf));
    im->size = size;
    im->is64 = is64;
    memcpy(im->buf, "\x7f" "ELF", 4);
    im->buf[4] = is64 ? 2 : 1; /* EI_CLASS */
    im->buf[5] = 1;            /* EI_DATA: little endian */
    im->buf[6] = 1;            /* EI_VERSION */
    hdr_type(im, ET_EXEC);
    hdr_machine(im, is64 ? EM_X86_64 : EM_386);
    put32(im, 20, 1); /* e_version */
    hdr_entry(im, entry);
    put16(im, is64 ? 52 : 40, is64 ? EHDR64_SIZE : EHDR32_SIZE); /* e_ehsize */
    hdr_phoff(im, is64 ? EHDR64_SIZE : EHDR32_SIZE);
    hdr_phentsize(im, is64 ? PHDR64_SIZE : PHDR32_SIZE);
    hdr_phnum(im, 0);
}

/* Append a program header; returns its index. */
static unsigned img_phdr(struct img *im, uint32_t type, uint64_t offset, uint64_t paddr, uint64_t filesz,
                         uint64_t memsz)
{
    unsigned i = im->phnum;
    size_t at = (size_t)(im->phoff + (uint64_t)i * im->phentsize);
    assert_true(at + im->phentsize <= IMG_CAP);
    if (im->is64) {
        put32(im, at, type);
        put32(im, at + 4, 5);                      /* p_flags R+X */
        put64(im, at + 8, offset);
        put64(im, at + 16, paddr + VADDR64_DELTA); /* p_vaddr */
        put64(im, at + 24, paddr);
        put64(im, at + 32, filesz);
        put64(im, at + 40, memsz);
        put64(im, at + 48, 0x1000);                /* p_align */
    } else {
        put32(im, at, type);
        put32(im, at + 4, (uint32_t)offset);
        put32(im, at + 8, (uint32_t)paddr + VADDR32_DELTA);
        put32(im, at + 12, (uint32_t)paddr);
        put32(im, at + 16, (uint32_t)filesz);
        put32(im, at + 20, (uint32_t)memsz);
        put32(im, at + 24, 5);
        put32(im, at + 28, 0x1000);
    }
    hdr_phnum(im, (uint16_t)(i + 1));
    return i;
}

static unsigned img_load(struct img *im, uint64_t offset, uint64_t paddr, uint64_t filesz, uint64_t memsz)
{
    return img_phdr(im, PT_LOAD, offset, paddr, filesz, memsz);
}

/* A Multiboot v1 header (spec 3.1.1): magic, flags, checksum. */
static void img_multiboot(struct img *im, size_t off, uint32_t flags)
{
    put32(im, off, MULTIBOOT1_MAGIC);
    put32(im, off + 4, flags);
    put32(im, off + 8, (uint32_t)-(MULTIBOOT1_MAGIC + flags));
}

/* The standard images: text at 1 MiB, then data with a bss tail. */
#define STD_SIZE 0x3000u
#define STD64_ENTRY 0x100040u
#define STD32_ENTRY 0x100000u

static void make64(struct img *im)
{
    img_init(im, true, STD64_ENTRY, STD_SIZE);
    img_load(im, 0x1000, 0x100000, 0x800, 0x800);
    img_load(im, 0x2000, 0x200000, 0x1000, 0x4000);
}

static void make32(struct img *im)
{
    img_init(im, false, STD32_ENTRY, STD_SIZE);
    img_load(im, 0x1000, 0x100000, 0x1000, 0x1000);
    img_load(im, 0x2000, 0x101000, 0x800, 0x2000);
}

/* ---------------------------------------------------------------- parsing
 * Every parse runs on a malloc'ed copy of exactly the bytes given, so ASan
 * reports any read past the image. */

static struct elf_image out;
static char err[200];
static struct img im;

static int parse_into(const struct img *src, size_t len, char *errbuf, size_t errlen)
{
    uint8_t *copy = malloc(len);
    if (len)
        assert_non_null(copy);
    memcpy(copy, src->buf, len);
    int rc = elf_parse(copy, len, &out, errbuf, errlen);
    free(copy);
    return rc;
}

static int parse_len(const struct img *src, size_t len)
{
    memset(err, 0, sizeof(err));
    return parse_into(src, len, err, sizeof(err));
}

static int parse(const struct img *src) { return parse_len(src, src->size); }

static void assert_err_contains(const char *want)
{
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
    assert_null(strchr(err, '\n')); /* one line */
}

static void expect_error(const struct img *src, int want_rc, const char *want)
{
    assert_int_equal(parse(src), want_rc);
    assert_err_contains(want);
}

static void assert_segment(unsigned i, uint64_t paddr, uint64_t offset, uint64_t filesz, uint64_t memsz)
{
    assert_true(i < out.segment_count);
    assert_int_equal(out.segments[i].paddr, paddr);
    assert_int_equal(out.segments[i].offset, offset);
    assert_int_equal(out.segments[i].filesz, filesz);
    assert_int_equal(out.segments[i].memsz, memsz);
}

/* ---------------------------------------------------------------- valid images */

static void test_elf64_valid(void **state)
{
    (void)state;
    /* Segments out of address order, one with a bss tail (memsz > filesz)
     * and one with no file bytes at all. */
    img_init(&im, true, 0x300010, 0x4000);
    img_load(&im, 0x2000, 0x200000, 0x1000, 0x1000);
    img_load(&im, 0x1000, 0x100000, 0x800, 0x800);
    img_load(&im, 0x3000, 0x300000, 0x100, 0x5000);
    img_load(&im, 0, 0x400000, 0, 0x2000);
    assert_int_equal(parse(&im), 0);
    assert_true(out.is64);
    assert_false(out.multiboot1);
    assert_int_equal(out.multiboot1_flags, 0);
    assert_int_equal(out.entry, 0x300010);
    assert_int_equal(out.segment_count, 4);
    assert_segment(0, 0x200000, 0x2000, 0x1000, 0x1000);
    assert_segment(1, 0x100000, 0x1000, 0x800, 0x800);
    assert_segment(2, 0x300000, 0x3000, 0x100, 0x5000);
    assert_segment(3, 0x400000, 0, 0, 0x2000);
    assert_int_equal(out.lowest, 0x100000);
    assert_int_equal(out.highest, 0x402000);

    make64(&im);
    assert_int_equal(parse(&im), 0);
    assert_int_equal(out.entry, STD64_ENTRY);
    assert_int_equal(out.segment_count, 2);
    assert_int_equal(out.lowest, 0x100000);
    assert_int_equal(out.highest, 0x204000);
}

static void test_elf64_high_addresses(void **state)
{
    (void)state;
    /* 64-bit addresses are kept whole; a segment may end exactly below 2^64. */
    img_init(&im, true, 0x123456789000ull, 0x2000);
    img_load(&im, 0x1000, 0x123456789000ull, 0x1000, 0x2000);
    img_load(&im, 0x1000, UINT64_MAX - 0x1000, 0x100, 0x1000);
    assert_int_equal(parse(&im), 0);
    assert_int_equal(out.lowest, 0x123456789000ull);
    assert_int_equal(out.highest, UINT64_MAX);
}

static void test_phdr_table_layout(void **state)
{
    (void)state;
    /* A program header entry larger than the minimum is stepped over by
     * e_phentsize; the table may sit anywhere, also flush with the end. */
    img_init(&im, true, 0x100000, 0x2000);
    hdr_phentsize(&im, PHDR64_SIZE + 8);
    hdr_phoff(&im, 0x2000 - 3 * (PHDR64_SIZE + 8));
    img_load(&im, 0x1000, 0x100000, 0x100, 0x100);
    img_phdr(&im, PT_NOTE, 0, 0, 0, 0);
    img_load(&im, 0x1100, 0x180000, 0x100, 0x200);
    assert_int_equal(parse(&im), 0);
    assert_int_equal(out.segment_count, 2);
    assert_segment(0, 0x100000, 0x1000, 0x100, 0x100);
    assert_segment(1, 0x180000, 0x1100, 0x100, 0x200);

    img_init(&im, false, 0x100000, 0x2000);
    hdr_phentsize(&im, PHDR32_SIZE + 4);
    hdr_phoff(&im, 0x2000 - 2 * (PHDR32_SIZE + 4));
    img_load(&im, 0x1000, 0x100000, 0x100, 0x100);
    img_load(&im, 0x1100, 0x180000, 0x100, 0x200);
    assert_int_equal(parse(&im), 0);
    assert_int_equal(out.segment_count, 2);
    assert_segment(1, 0x180000, 0x1100, 0x100, 0x200);
}

static void test_elf32_valid_without_multiboot(void **state)
{
    (void)state;
    make32(&im);
    assert_int_equal(parse(&im), 0);
    assert_false(out.is64);
    assert_false(out.multiboot1);
    assert_int_equal(out.entry, STD32_ENTRY);
    assert_int_equal(out.segment_count, 2);
    assert_segment(0, 0x100000, 0x1000, 0x1000, 0x1000);
    assert_segment(1, 0x101000, 0x2000, 0x800, 0x2000);
    assert_int_equal(out.lowest, 0x100000);
    assert_int_equal(out.highest, 0x103000);

    /* 32-bit fields are read as 32-bit: top of the 4 GiB space. */
    img_init(&im, false, 0xFFFFF000u, 0x2000);
    img_load(&im, 0x1000, 0xFFFFF000u, 0x1000, 0x1000);
    assert_int_equal(parse(&im), 0);
    assert_int_equal(out.entry, 0xFFFFF000u);
    assert_int_equal(out.highest, 0x100000000ull);
}

static void test_elf32_multiboot_found(void **state)
{
    (void)state;
    /* The usual place: the start of the text segment. */
    make32(&im);
    img_multiboot(&im, 0x1000, 0x00000003);
    assert_int_equal(parse(&im), 0);
    assert_false(out.is64);
    assert_true(out.multiboot1);
    assert_int_equal(out.multiboot1_flags, 3);
    assert_int_equal(out.entry, STD32_ENTRY);

    /* Flags 0, right after the program headers. */
    make32(&im);
    img_multiboot(&im, EHDR32_SIZE + 2 * PHDR32_SIZE, 0);
    assert_int_equal(parse(&im), 0);
    assert_true(out.multiboot1);
    assert_int_equal(out.multiboot1_flags, 0);

    /* The last position whose 12 bytes fit in the first 8 KiB. */
    make32(&im);
    img_multiboot(&im, MULTIBOOT1_SEARCH_BYTES - 12, 0x10000000);
    assert_int_equal(parse(&im), 0);
    assert_true(out.multiboot1);
    assert_int_equal(out.multiboot1_flags, 0x10000000);

    /* Two headers: the first one counts. */
    make32(&im);
    img_multiboot(&im, 0x1000, 1);
    img_multiboot(&im, 0x1800, 2);
    assert_int_equal(parse(&im), 0);
    assert_int_equal(out.multiboot1_flags, 1);

    /* An image that ends right after the header. */
    img_init(&im, false, 0x100000, 0x100C);
    img_load(&im, 0x1000, 0x100000, 0xC, 0x1000);
    img_multiboot(&im, 0x1000, 0);
    assert_int_equal(parse(&im), 0);
    assert_true(out.multiboot1);
}

static void test_multiboot_not_found(void **state)
{
    (void)state;
    static const size_t beyond[] = {
        MULTIBOOT1_SEARCH_BYTES - 8, /* straddles the 8 KiB limit */
        MULTIBOOT1_SEARCH_BYTES - 4,
        MULTIBOOT1_SEARCH_BYTES,
        MULTIBOOT1_SEARCH_BYTES + 0x100,
    };
    for (size_t i = 0; i < sizeof(beyond) / sizeof(beyond[0]); i++) {
        make32(&im);
        img_multiboot(&im, beyond[i], 0);
        assert_int_equal(parse(&im), 0);
        assert_false(out.multiboot1);
    }

    /* Not 4-byte aligned. */
    make32(&im);
    img_multiboot(&im, 0x1002, 0);
    assert_int_equal(parse(&im), 0);
    assert_false(out.multiboot1);

    /* Bad checksum. */
    make32(&im);
    img_multiboot(&im, 0x1000, 0);
    put32(&im, 0x1008, 1);
    assert_int_equal(parse(&im), 0);
    assert_false(out.multiboot1);

    /* The Multiboot2 magic is not a Multiboot v1 header. */
    make32(&im);
    put32(&im, 0x1000, 0xE85250D6u);
    put32(&im, 0x1004, 0);
    put32(&im, 0x1008, (uint32_t)-0xE85250D6u);
    assert_int_equal(parse(&im), 0);
    assert_false(out.multiboot1);
}

static void test_multiboot_aout_kludge_rejected(void **state)
{
    (void)state;
    make32(&im);
    img_multiboot(&im, 0x1000, 1u << 16);
    expect_error(&im, -PL_EINVAL, "a.out");

    make32(&im);
    img_multiboot(&im, 0x1000, (1u << 16) | 3);
    expect_error(&im, -PL_EINVAL, "a.out");

    /* With a bad checksum it is no header at all, so nothing to reject. */
    make32(&im);
    img_multiboot(&im, 0x1000, 1u << 16);
    put32(&im, 0x1008, 0);
    assert_int_equal(parse(&im), 0);
    assert_false(out.multiboot1);
}

static void test_non_load_headers_skipped(void **state)
{
    (void)state;
    /* Non-PT_LOAD entries are ignored even when their fields would be
     * errors for a PT_LOAD. */
    for (int is64 = 0; is64 <= 1; is64++) {
        img_init(&im, is64, 0x100000, 0x2000);
        img_phdr(&im, PT_PHDR, is64 ? EHDR64_SIZE : EHDR32_SIZE, 0, 0x1000, 0x10);
        img_phdr(&im, PT_NULL, 0xFFFFFFF0u, 0xFFFFFFF0u, 0xFFFF, 0x10);
        img_load(&im, 0x1000, 0x100000, 0x1000, 0x1000);
        img_phdr(&im, PT_NOTE, 0x10000, 0x100000, 0x20, 0x20);
        img_phdr(&im, PT_DYNAMIC, 0x1800, 0, 0x100000, 0x100);
        img_phdr(&im, PT_GNU_STACK, 0, 0, 0, 0);
        assert_int_equal(parse(&im), 0);
        assert_int_equal(out.segment_count, 1);
        assert_segment(0, 0x100000, 0x1000, 0x1000, 0x1000);
        assert_int_equal(out.lowest, 0x100000);
        assert_int_equal(out.highest, 0x101000);
    }
}

static void test_zero_memsz_skipped(void **state)
{
    (void)state;
    /* A PT_LOAD with memsz 0 is skipped before any other check, and takes
     * no part in lowest/highest or the entry check. */
    img_init(&im, true, 0x200000, 0x2000);
    img_load(&im, 0x1000, 0x50000, 0, 0);                  /* below the others */
    img_load(&im, 0x1000, 0x200000, 0x1000, 0x1000);
    img_load(&im, 0xFFFF0000, UINT64_MAX - 0x10, 0x10, 0); /* would fail every check */
    img_load(&im, 0x1000, 0x900000, 0, 0);                 /* above the others */
    assert_int_equal(parse(&im), 0);
    assert_int_equal(out.segment_count, 1);
    assert_segment(0, 0x200000, 0x1000, 0x1000, 0x1000);
    assert_int_equal(out.lowest, 0x200000);
    assert_int_equal(out.highest, 0x201000);

    /* The entry inside a zero-sized segment is not inside any segment. */
    img_init(&im, true, 0x50000, 0x2000);
    img_load(&im, 0x1000, 0x50000, 0, 0);
    img_load(&im, 0x1000, 0x200000, 0x1000, 0x1000);
    expect_error(&im, -PL_EINVAL, "entry point");

    /* Only zero-sized PT_LOADs: nothing to load. */
    img_init(&im, false, 0x100000, 0x2000);
    img_load(&im, 0x1000, 0x100000, 0, 0);
    expect_error(&im, -PL_EINVAL, "no loadable segment");
}

static void test_segment_limit(void **state)
{
    (void)state;
    for (int is64 = 0; is64 <= 1; is64++) {
        /* Exactly ELF_MAX_SEGMENTS, with zero-sized and non-load entries
         * around them that do not count. */
        img_init(&im, is64, 0x100000, 0x2000);
        for (unsigned i = 0; i < ELF_MAX_SEGMENTS; i++) {
            img_load(&im, 0x1000 + i * 0x10, 0x100000 + i * 0x1000, 0x10, 0x1000);
            img_load(&im, 0, 0x800000, 0, 0);
            img_phdr(&im, PT_NOTE, 0, 0, 0, 0);
        }
        assert_int_equal(parse(&im), 0);
        assert_int_equal(out.segment_count, ELF_MAX_SEGMENTS);
        assert_segment(ELF_MAX_SEGMENTS - 1, 0x100000 + (ELF_MAX_SEGMENTS - 1) * 0x1000,
                       0x1000 + (ELF_MAX_SEGMENTS - 1) * 0x10, 0x10, 0x1000);
        assert_int_equal(out.lowest, 0x100000);
        assert_int_equal(out.highest, 0x100000 + ELF_MAX_SEGMENTS * 0x1000);

        /* One more is too many. */
        img_load(&im, 0x1800, 0x200000, 0x10, 0x10);
        expect_error(&im, -PL_ENOSPC, "more than 16 loadable segments");
    }
}

/* ---------------------------------------------------------------- header errors */

static void test_not_elf_or_too_short(void **state)
{
    (void)state;
    /* Too short for any ELF header, even with the right magic. */
    make32(&im);
    static const size_t short_sizes[] = { 0, 1, 4, 16, EHDR32_SIZE - 1 };
    for (size_t i = 0; i < sizeof(short_sizes) / sizeof(short_sizes[0]); i++) {
        assert_int_equal(parse_len(&im, short_sizes[i]), -PL_EINVAL);
        assert_err_contains("not an ELF file");
    }

    /* Wrong magic. */
    static const char *const magics[] = { "\x7f" "ELG", "\x7e" "ELF", "MZ\x90\x00", "\0\0\0\0" };
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
        make64(&im);
        memcpy(im.buf, magics[i], 4);
        expect_error(&im, -PL_EINVAL, "not an ELF file");
    }

    /* Text that starts like nothing in particular. */
    img_init(&im, true, 0, 200);
    memset(im.buf, 'A', 200);
    expect_error(&im, -PL_EINVAL, "not an ELF file");
}

static void test_truncated_elf64_header(void **state)
{
    (void)state;
    /* Long enough for an ELF32 header but not for an ELF64 one. */
    make64(&im);
    for (size_t len = EHDR32_SIZE; len < EHDR64_SIZE; len++) {
        assert_int_equal(parse_len(&im, len), -PL_EINVAL);
        assert_err_contains("truncated ELF64 header");
    }
}

static void test_big_endian_rejected(void **state)
{
    (void)state;
    static const uint8_t encodings[] = { 2 /* ELFDATA2MSB */, 0 /* ELFDATANONE */, 3 };
    for (size_t i = 0; i < sizeof(encodings); i++) {
        make64(&im);
        im.buf[5] = encodings[i];
        expect_error(&im, -PL_EINVAL, "little endian");
        make32(&im);
        im.buf[5] = encodings[i];
        expect_error(&im, -PL_EINVAL, "little endian");
    }
}

static void test_bad_class(void **state)
{
    (void)state;
    static const uint8_t classes[] = { 0 /* ELFCLASSNONE */, 3, 0xFF };
    for (size_t i = 0; i < sizeof(classes); i++) {
        make64(&im);
        im.buf[4] = classes[i];
        expect_error(&im, -PL_EINVAL, "class");
    }
}

static void test_wrong_machine(void **state)
{
    (void)state;
    make64(&im);
    hdr_machine(&im, EM_386);
    expect_error(&im, -PL_EINVAL, "machine 3, expected 62");

    make32(&im);
    hdr_machine(&im, EM_X86_64);
    expect_error(&im, -PL_EINVAL, "machine 62, expected 3");

    make64(&im);
    hdr_machine(&im, EM_AARCH64);
    expect_error(&im, -PL_EINVAL, "machine");

    make32(&im);
    hdr_machine(&im, 0);
    expect_error(&im, -PL_EINVAL, "machine");
}

static void test_not_executable(void **state)
{
    (void)state;
    static const uint16_t types[] = { 0, ET_REL, ET_DYN, 4 /* ET_CORE */, 0xFE00 };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        make64(&im);
        hdr_type(&im, types[i]);
        expect_error(&im, -PL_EINVAL, "executable");
        make32(&im);
        hdr_type(&im, types[i]);
        expect_error(&im, -PL_EINVAL, "executable");
    }
}

static void test_no_program_headers(void **state)
{
    (void)state;
    img_init(&im, true, 0x100000, 0x2000);
    expect_error(&im, -PL_EINVAL, "no program headers");
    img_init(&im, false, 0x100000, 0x2000);
    expect_error(&im, -PL_EINVAL, "no program headers");

    /* phnum 0 wins over a bogus phoff. */
    img_init(&im, true, 0x100000, 0x2000);
    hdr_phoff(&im, UINT64_MAX);
    expect_error(&im, -PL_EINVAL, "no program headers");
}

static void test_phentsize_too_small(void **state)
{
    (void)state;
    make64(&im);
    hdr_phentsize(&im, PHDR64_SIZE - 1);
    expect_error(&im, -PL_EINVAL, "program header size 55, expected at least 56");

    make64(&im);
    hdr_phentsize(&im, PHDR32_SIZE); /* the ELF32 size in an ELF64 file */
    expect_error(&im, -PL_EINVAL, "program header size");

    make32(&im);
    hdr_phentsize(&im, PHDR32_SIZE - 1);
    expect_error(&im, -PL_EINVAL, "program header size 31, expected at least 32");

    make32(&im);
    hdr_phentsize(&im, 0);
    expect_error(&im, -PL_EINVAL, "program header size");
}

static void test_phdrs_past_end(void **state)
{
    (void)state;
    /* The table's last entry one byte past the end. */
    img_init(&im, true, 0x100000, 0x2000);
    hdr_phoff(&im, 0x2000 - 2 * PHDR64_SIZE + 1);
    img_load(&im, 0x1000, 0x100000, 0x100, 0x100);
    img_load(&im, 0x1000, 0x101000, 0x100, 0x100);
    im.size = 0x2000;
    expect_error(&im, -PL_EINVAL, "program headers");
    assert_err_contains("past the end");
    /* ... and flush with it: fine. */
    img_init(&im, true, 0x100000, 0x2000);
    hdr_phoff(&im, 0x2000 - 2 * PHDR64_SIZE);
    img_load(&im, 0x1000, 0x100000, 0x100, 0x100);
    img_load(&im, 0x1000, 0x101000, 0x100, 0x100);
    assert_int_equal(parse(&im), 0);

    /* phoff at, past and far past the end. */
    static const uint64_t offs[] = { STD_SIZE, STD_SIZE + 1, 0x100000000ull, UINT64_MAX, UINT64_MAX - 8,
                                     UINT64_MAX - PHDR64_SIZE + 1 };
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        make64(&im);
        hdr_phoff(&im, offs[i]);
        expect_error(&im, -PL_EINVAL, "past the end");
    }
    static const uint32_t offs32[] = { STD_SIZE, STD_SIZE - PHDR32_SIZE + 1, 0x80000000u, UINT32_MAX,
                                       UINT32_MAX - PHDR32_SIZE + 1 };
    for (size_t i = 0; i < sizeof(offs32) / sizeof(offs32[0]); i++) {
        make32(&im);
        hdr_phoff(&im, offs32[i]);
        expect_error(&im, -PL_EINVAL, "past the end");
    }

    /* phnum * phentsize far larger than the file (and larger than 32 bits
     * can hold when multiplied naively as 16-bit values). */
    make64(&im);
    hdr_phnum(&im, 0xFFFF);
    hdr_phentsize(&im, 0xFFFF);
    expect_error(&im, -PL_EINVAL, "past the end");
    make32(&im);
    hdr_phnum(&im, 0xFFFF);
    expect_error(&im, -PL_EINVAL, "past the end");
    make64(&im);
    hdr_phnum(&im, (uint16_t)(STD_SIZE / PHDR64_SIZE + 1));
    expect_error(&im, -PL_EINVAL, "past the end");
}

/* ---------------------------------------------------------------- segment errors */

static void test_segment_filesz_above_memsz(void **state)
{
    (void)state;
    make64(&im);
    img_load(&im, 0x1000, 0x300000, 0x101, 0x100);
    expect_error(&im, -PL_EINVAL, "segment 2 has file size larger than memory size");

    make32(&im);
    img_load(&im, 0x1000, 0x300000, 0x1000, 1);
    expect_error(&im, -PL_EINVAL, "file size larger than memory size");
}

static void test_segment_bytes_past_file(void **state)
{
    (void)state;
    /* One byte too many. */
    make64(&im);
    img_load(&im, 0x2800, 0x300000, STD_SIZE - 0x2800 + 1, 0x1000);
    expect_error(&im, -PL_EINVAL, "segment 2's bytes run past the end of the file");
    /* Exactly to the end, and an empty file part at the very end: fine. */
    make64(&im);
    img_load(&im, 0x2800, 0x300000, STD_SIZE - 0x2800, 0x1000);
    img_load(&im, STD_SIZE, 0x400000, 0, 0x1000);
    assert_int_equal(parse(&im), 0);
    assert_int_equal(out.segment_count, 4);

    /* Offset past the end, even with no file bytes. */
    make64(&im);
    img_load(&im, STD_SIZE + 1, 0x300000, 0, 0x1000);
    expect_error(&im, -PL_EINVAL, "past the end of the file");

    /* offset + filesz overflowing 64 bits. */
    make64(&im);
    img_load(&im, UINT64_MAX - 0xF, 0x300000, 0x20, 0x20);
    expect_error(&im, -PL_EINVAL, "past the end of the file");
    make64(&im);
    img_load(&im, 0x1000, 0x300000, UINT64_MAX - 0x800, UINT64_MAX);
    expect_error(&im, -PL_EINVAL, "past the end of the file");
    make64(&im);
    img_load(&im, UINT64_MAX, 0x300000, 1, 1);
    expect_error(&im, -PL_EINVAL, "past the end of the file");

    /* ELF32: the same at 32-bit extremes. */
    make32(&im);
    img_load(&im, 0xFFFFFFF0u, 0x300000, 0x20, 0x20);
    expect_error(&im, -PL_EINVAL, "past the end of the file");
    make32(&im);
    img_load(&im, 0x1000, 0x300000, UINT32_MAX, UINT32_MAX);
    expect_error(&im, -PL_EINVAL, "past the end of the file");
}

static void test_address_wrap(void **state)
{
    (void)state;
    make64(&im);
    img_load(&im, 0x1000, UINT64_MAX - 0xFFF, 0x10, 0x2000);
    expect_error(&im, -PL_EINVAL, "segment 2's address range wraps");

    /* Ending exactly at 2^64 is a wrap too (the end is not representable). */
    make64(&im);
    img_load(&im, 0x1000, UINT64_MAX - 0xFFF, 0x10, 0x1000);
    expect_error(&im, -PL_EINVAL, "wraps");

    make64(&im);
    img_load(&im, 0x1000, 0x100000, 0, UINT64_MAX);
    expect_error(&im, -PL_EINVAL, "wraps");

    /* ELF32: a segment must end within 4 GiB. */
    make32(&im);
    img_load(&im, 0x1000, 0xFFFFF000u, 0x10, 0x1001);
    expect_error(&im, -PL_EINVAL, "wraps");
    make32(&im);
    img_load(&im, 0x1000, 0x100000, 0x10, UINT32_MAX);
    expect_error(&im, -PL_EINVAL, "wraps");
}

static void test_entry_outside_segments(void **state)
{
    (void)state;
    /* make64 has [0x100000, 0x100800) and [0x200000, 0x204000). */
    static const uint64_t bad[] = { 0, 0xFFFFF, 0x100800, 0x1FFFFF, 0x204000, UINT64_MAX,
                                    0x100000 + VADDR64_DELTA /* the virtual address */ };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make64(&im);
        hdr_entry(&im, bad[i]);
        expect_error(&im, -PL_EINVAL, "entry point");
        assert_err_contains("outside every loadable segment");
    }
    /* First and last byte of each segment, and inside the bss tail. */
    static const uint64_t good[] = { 0x100000, 0x1007FF, 0x200000, 0x201000, 0x203FFF };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        make64(&im);
        hdr_entry(&im, good[i]);
        assert_int_equal(parse(&im), 0);
        assert_int_equal(out.entry, good[i]);
    }

    make32(&im);
    hdr_entry(&im, 0x103000);
    expect_error(&im, -PL_EINVAL, "entry point");
    make32(&im);
    hdr_entry(&im, 0x100000 + VADDR32_DELTA);
    expect_error(&im, -PL_EINVAL, "entry point");
}

static void test_no_loadable_segment(void **state)
{
    (void)state;
    img_init(&im, true, 0x100000, 0x2000);
    img_phdr(&im, PT_NOTE, 0x1000, 0x100000, 0x10, 0x10);
    img_phdr(&im, PT_GNU_STACK, 0, 0, 0, 0);
    expect_error(&im, -PL_EINVAL, "no loadable segment");
}

static void test_error_buffer(void **state)
{
    (void)state;
    make64(&im);
    hdr_type(&im, ET_DYN);
    /* No buffer at all. */
    assert_int_equal(parse_into(&im, im.size, NULL, 0), -PL_EINVAL);
    /* A small one is cut and terminated, and nothing beyond it is touched. */
    char small[12];
    memset(small, 'x', sizeof(small));
    assert_int_equal(parse_into(&im, im.size, small, 8), -PL_EINVAL);
    assert_int_equal(strlen(small), 7);
    assert_memory_equal(small, "image: ", 7);
    assert_int_equal(small[8], 'x');
    /* Success leaves the buffer alone. */
    make64(&im);
    strcpy(err, "untouched");
    assert_int_equal(parse_into(&im, im.size, err, sizeof(err)), 0);
    assert_string_equal(err, "untouched");
}

static void test_result_is_fresh(void **state)
{
    (void)state;
    /* A parse fully replaces the previous result. */
    make32(&im);
    img_multiboot(&im, 0x1000, 3);
    assert_int_equal(parse(&im), 0);
    assert_true(out.multiboot1);
    make64(&im);
    assert_int_equal(parse(&im), 0);
    assert_true(out.is64);
    assert_false(out.multiboot1);
    assert_int_equal(out.multiboot1_flags, 0);
    assert_int_equal(out.segment_count, 2);
}

/* ---------------------------------------------------------------- robustness */

/* The bytes a valid image needs: header, program header table, the file
 * bytes of every PT_LOAD. */
static size_t needed_bytes(const struct img *src)
{
    size_t need = (size_t)(src->phoff + (uint64_t)src->phnum * src->phentsize);
    for (unsigned i = 0; i < out.segment_count; i++)
        if (out.segments[i].offset + out.segments[i].filesz > need)
            need = (size_t)(out.segments[i].offset + out.segments[i].filesz);
    return need;
}

static void truncate_everywhere(struct img *src, size_t hdr_size)
{
    assert_int_equal(parse(src), 0);
    bool mb = out.multiboot1;
    size_t need = needed_bytes(src);
    assert_true(need <= src->size);
    for (size_t len = 0; len <= src->size; len++) {
        int rc = parse_len(src, len);
        if (len < hdr_size) {
            assert_int_equal(rc, -PL_EINVAL);
            assert_true(strlen(err) > 0);
        } else if (len < need) {
            assert_int_equal(rc, -PL_EINVAL);
            assert_err_contains("past the end");
        } else {
            assert_int_equal(rc, 0);
            /* The header is found only while all of it is in the image. */
            if (mb)
                assert_int_equal(out.multiboot1, len >= 0x1000 + 12);
        }
    }
}

static void test_truncated_at_every_length(void **state)
{
    (void)state;
    make64(&im);
    truncate_everywhere(&im, EHDR64_SIZE);

    make32(&im);
    truncate_everywhere(&im, EHDR32_SIZE);

    /* A Multiboot image whose last segment's file bytes end before the
     * header does, so some truncations parse without finding it. */
    img_init(&im, false, 0x100000, 0x1010);
    img_load(&im, 0x100, 0x100000, 0x100, 0x1000);
    img_multiboot(&im, 0x1000, 0);
    truncate_everywhere(&im, EHDR32_SIZE);
}

/* Deterministic xorshift, so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_invariants(size_t size)
{
    assert_true(out.segment_count >= 1 && out.segment_count <= ELF_MAX_SEGMENTS);
    bool entry_in = false;
    for (unsigned i = 0; i < out.segment_count; i++) {
        const struct elf_segment *s = &out.segments[i];
        assert_true(s->memsz > 0);
        assert_true(s->filesz <= s->memsz);
        assert_true(s->offset <= size && s->filesz <= size - s->offset);
        assert_true(s->paddr + s->memsz > s->paddr);
        if (!out.is64)
            assert_true(s->paddr + s->memsz <= (1ull << 32));
        assert_true(s->paddr >= out.lowest && s->paddr + s->memsz <= out.highest);
        if (out.entry >= s->paddr && out.entry < s->paddr + s->memsz)
            entry_in = true;
    }
    assert_true(entry_in);
    if (out.multiboot1)
        assert_false(out.multiboot1_flags & (1u << 16));
}

static void test_mutations_stay_in_bounds(void **state)
{
    (void)state;
    /* Random byte and word changes in the header and program headers: the
     * parser must neither read out of bounds nor accept an inconsistent
     * image. */
    for (int round = 0; round < 20000; round++) {
        bool is64 = round & 1;
        if (is64)
            make64(&im);
        else
            make32(&im);
        if (round % 7 == 0)
            img_multiboot(&im, 0x1000, (uint32_t)rng() & 0x10003);
        size_t span = (size_t)im.phoff + (size_t)im.phnum * im.phentsize;
        unsigned changes = 1 + (unsigned)(rng() % 4);
        for (unsigned c = 0; c < changes; c++) {
            size_t at = (size_t)(rng() % span);
            uint64_t r = rng();
            switch (r % 4) {
            case 0: im.buf[at] = (uint8_t)(r >> 8); break;
            case 1: im.buf[at] ^= (uint8_t)(1u << ((r >> 8) % 8)); break;
            case 2: if (at + 4 <= span) put32(&im, at, (uint32_t)(r >> 16)); break;
            default: if (at + 8 <= span) put64(&im, at, r % 3 ? UINT64_MAX - (r >> 56) : r >> 20); break;
            }
        }
        if (rng() % 4 == 0)
            im.size = (size_t)(rng() % (STD_SIZE + 1));
        int rc = parse(&im);
        assert_true(rc == 0 || rc == -PL_EINVAL || rc == -PL_ENOSPC);
        if (rc == 0)
            check_invariants(im.size);
        else
            assert_memory_equal(err, "image: ", 7);
    }
}

/* elf_parse_head: only the first head_len bytes are readable (a malloc'ed
 * copy of just those, so ASan catches a read beyond), the segments are
 * checked against the whole size. */
static int parse_head(const struct img *src, size_t head_len, size_t size)
{
    uint8_t *copy = malloc(head_len);
    assert_non_null(copy);
    memcpy(copy, src->buf, head_len);
    memset(err, 0, sizeof(err));
    int rc = elf_parse_head(copy, head_len, size, &out, err, sizeof(err));
    free(copy);
    return rc;
}

static void test_head_only(void **state)
{
    (void)state;
    make64(&im);
    /* Headers within the first 0x800 bytes, segments beyond: fine. */
    assert_int_equal(parse_head(&im, 0x800, im.size), 0);
    assert_int_equal(out.segment_count, 2);
    assert_int_equal(out.entry, STD64_ENTRY);
    /* The same verdicts as elf_parse on the whole image. */
    struct elf_image whole;
    assert_int_equal(elf_parse(im.buf, im.size, &whole, err, sizeof(err)), 0);
    assert_memory_equal(&whole, &out, sizeof(out));
    /* A segment running past the (whole) size is still refused. */
    assert_int_equal(parse_head(&im, 0x800, 0x2800), -PL_EINVAL);
    assert_err_contains("run past the end of the file");
    /* Program headers beyond the head: -PL_E2BIG, not a read past it. */
    hdr_phoff(&im, 0x900);
    assert_int_equal(parse_head(&im, 0x800, im.size), -PL_E2BIG);
    assert_err_contains("beyond the first");
    /* A head shorter than the ELF header. */
    make64(&im);
    assert_int_equal(parse_head(&im, 40, im.size), -PL_EINVAL);
    assert_err_contains("ELF header not in the first");
}

static void test_head_multiboot_search_limited_to_head(void **state)
{
    (void)state;
    make32(&im);
    img_multiboot(&im, 0x1000, 3);
    assert_int_equal(parse_head(&im, 0x1100, im.size), 0);
    assert_true(out.multiboot1);
    /* The header lies beyond the head: not found (and not read). */
    assert_int_equal(parse_head(&im, 0x1000, im.size), 0);
    assert_false(out.multiboot1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf64_valid),
        cmocka_unit_test(test_elf64_high_addresses),
        cmocka_unit_test(test_phdr_table_layout),
        cmocka_unit_test(test_elf32_valid_without_multiboot),
        cmocka_unit_test(test_elf32_multiboot_found),
        cmocka_unit_test(test_multiboot_not_found),
        cmocka_unit_test(test_multiboot_aout_kludge_rejected),
        cmocka_unit_test(test_non_load_headers_skipped),
        cmocka_unit_test(test_zero_memsz_skipped),
        cmocka_unit_test(test_segment_limit),
        cmocka_unit_test(test_not_elf_or_too_short),
        cmocka_unit_test(test_truncated_elf64_header),
        cmocka_unit_test(test_big_endian_rejected),
        cmocka_unit_test(test_bad_class),
        cmocka_unit_test(test_wrong_machine),
        cmocka_unit_test(test_not_executable),
        cmocka_unit_test(test_no_program_headers),
        cmocka_unit_test(test_phentsize_too_small),
        cmocka_unit_test(test_phdrs_past_end),
        cmocka_unit_test(test_segment_filesz_above_memsz),
        cmocka_unit_test(test_segment_bytes_past_file),
        cmocka_unit_test(test_address_wrap),
        cmocka_unit_test(test_entry_outside_segments),
        cmocka_unit_test(test_no_loadable_segment),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_result_is_fresh),
        cmocka_unit_test(test_truncated_at_every_length),
        cmocka_unit_test(test_mutations_stay_in_bounds),
        cmocka_unit_test(test_head_only),
        cmocka_unit_test(test_head_multiboot_search_limited_to_head),
    };
    return cmocka_run_group_tests_name("elf", tests, NULL, NULL);
}
