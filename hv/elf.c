#include "hv/elf.h"

#include "hv/compiler.h"
#include "hv/format.h"
#include "hv/string.h"
#include "plinth/errno.h"

/* ELF identification and header fields (gABI "ELF Header") */
#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62
#define PT_LOAD 1
#define MB1_FLAG_AOUT_KLUDGE (1u << 16)

static int fail(char *err, size_t errlen, int rc, const char *fmt, uint64_t a, uint64_t b)
{
    hv_snprintf(err, errlen, fmt, a, b);
    return rc;
}

static uint64_t rd(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    memcpy(&v, p, bytes); /* little endian host and image */
    return v;
}

static void find_multiboot1(const uint8_t *img, size_t size, struct elf_image *out)
{
    size_t limit = MIN(size, (size_t)MULTIBOOT1_SEARCH_BYTES);
    for (size_t off = 0; off + 12 <= limit; off += 4) {
        uint32_t magic = (uint32_t)rd(img + off, 4), flags = (uint32_t)rd(img + off + 4, 4);
        uint32_t sum = (uint32_t)rd(img + off + 8, 4);
        if (magic == MULTIBOOT1_MAGIC && (uint32_t)(magic + flags + sum) == 0) {
            out->multiboot1 = true;
            out->multiboot1_flags = flags;
            return;
        }
    }
}

int elf_parse(const void *image, size_t size, struct elf_image *out, char *err, size_t errlen)
{
    return elf_parse_head(image, size, size, out, err, errlen);
}

int elf_parse_head(const void *head, size_t head_len, size_t size, struct elf_image *out, char *err, size_t errlen)
{
    const uint8_t *img = head;
    memset(out, 0, sizeof(*out));
    if (head_len > size)
        head_len = size;
    if (size < 52 || memcmp(img, "\x7f" "ELF", 4) != 0)
        return fail(err, errlen, -PL_EINVAL, "image: not an ELF file (%lu bytes)", size, 0);
    if (img[EI_DATA] != ELFDATA2LSB)
        return fail(err, errlen, -PL_EINVAL, "image: ELF data encoding %lu, expected little endian", img[EI_DATA], 0);
    bool is64 = img[EI_CLASS] == ELFCLASS64;
    if (!is64 && img[EI_CLASS] != ELFCLASS32)
        return fail(err, errlen, -PL_EINVAL, "image: ELF class %lu is neither 32- nor 64-bit", img[EI_CLASS], 0);
    if (is64 && size < 64)
        return fail(err, errlen, -PL_EINVAL, "image: truncated ELF64 header (%lu bytes)", size, 0);
    if (head_len < (is64 ? 64u : 52u))
        return fail(err, errlen, -PL_EINVAL, "image: ELF header not in the first %lu bytes given", head_len, 0);
    out->is64 = is64;

    uint16_t type = (uint16_t)rd(img + 16, 2), machine = (uint16_t)rd(img + 18, 2);
    if (type != ET_EXEC)
        return fail(err, errlen, -PL_EINVAL, "image: ELF type %lu, expected an executable (2)", type, 0);
    if (machine != (is64 ? EM_X86_64 : EM_386))
        return fail(err, errlen, -PL_EINVAL, "image: ELF machine %lu, expected %lu", machine, is64 ? EM_X86_64 : EM_386);

    uint64_t entry = is64 ? rd(img + 24, 8) : rd(img + 24, 4);
    uint64_t phoff = is64 ? rd(img + 32, 8) : rd(img + 28, 4);
    uint16_t phentsize = (uint16_t)rd(img + (is64 ? 54 : 42), 2);
    uint16_t phnum = (uint16_t)rd(img + (is64 ? 56 : 44), 2);
    unsigned min_phentsize = is64 ? 56 : 32;
    if (phnum == 0)
        return fail(err, errlen, -PL_EINVAL, "image: no program headers", 0, 0);
    if (phentsize < min_phentsize)
        return fail(err, errlen, -PL_EINVAL, "image: program header size %lu, expected at least %lu", phentsize,
                    min_phentsize);
    if (phoff > size || (uint64_t)phnum * phentsize > size - phoff)
        return fail(err, errlen, -PL_EINVAL, "image: program headers at %#lx run past the end of the file (%lu bytes)",
                    phoff, size);
    if (phoff > head_len || (uint64_t)phnum * phentsize > head_len - phoff)
        return fail(err, errlen, -PL_E2BIG, "image: program headers at %#lx lie beyond the first %lu bytes", phoff,
                    head_len);

    out->lowest = UINT64_MAX;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
        if (rd(ph, 4) != PT_LOAD)
            continue;
        struct elf_segment s;
        if (is64) {
            s.offset = rd(ph + 8, 8);
            s.paddr = rd(ph + 24, 8);
            s.filesz = rd(ph + 32, 8);
            s.memsz = rd(ph + 40, 8);
        } else {
            s.offset = rd(ph + 4, 4);
            s.paddr = rd(ph + 12, 4);
            s.filesz = rd(ph + 16, 4);
            s.memsz = rd(ph + 20, 4);
        }
        if (s.memsz == 0)
            continue;
        if (s.filesz > s.memsz)
            return fail(err, errlen, -PL_EINVAL, "image: segment %lu has file size larger than memory size (%#lx)", i,
                        s.filesz);
        if (s.offset > size || s.filesz > size - s.offset)
            return fail(err, errlen, -PL_EINVAL, "image: segment %lu's bytes run past the end of the file (offset %#lx)",
                        i, s.offset);
        /* An ELF32 segment must also end within the 32-bit address space. */
        if (s.paddr + s.memsz < s.paddr || (!is64 && s.paddr + s.memsz > (1ull << 32)))
            return fail(err, errlen, -PL_EINVAL, "image: segment %lu's address range wraps (%#lx)", i, s.paddr);
        if (out->segment_count == ELF_MAX_SEGMENTS)
            return fail(err, errlen, -PL_ENOSPC, "image: more than %lu loadable segments", ELF_MAX_SEGMENTS, 0);
        out->segments[out->segment_count++] = s;
        out->lowest = MIN(out->lowest, s.paddr);
        out->highest = MAX(out->highest, s.paddr + s.memsz);
    }
    if (out->segment_count == 0)
        return fail(err, errlen, -PL_EINVAL, "image: no loadable segment", 0, 0);

    bool entry_ok = false;
    for (unsigned i = 0; i < out->segment_count; i++)
        if (entry >= out->segments[i].paddr && entry < out->segments[i].paddr + out->segments[i].memsz)
            entry_ok = true;
    if (!entry_ok)
        return fail(err, errlen, -PL_EINVAL, "image: entry point %#lx is outside every loadable segment", entry, 0);
    out->entry = entry;

    find_multiboot1(img, head_len, out);
    if (out->multiboot1 && (out->multiboot1_flags & MB1_FLAG_AOUT_KLUDGE))
        return fail(err, errlen, -PL_EINVAL, "image: Multiboot a.out-kludge images are not supported (flags %#lx)",
                    out->multiboot1_flags, 0);
    return 0;
}
