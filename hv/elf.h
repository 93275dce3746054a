/* Guest kernel image parser: ELF64 and ELF32 executables (System V gABI,
 * x86-64 psABI) and the Multiboot (v1) header (Multiboot spec 0.6.96, 3.1).
 * Pure logic: reads only inside [image, image + size). */
#ifndef HV_ELF_H
#define HV_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 16
#define MULTIBOOT1_MAGIC 0x1BADB002u
#define MULTIBOOT1_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT1_SEARCH_BYTES 8192u

struct elf_segment {
    uint64_t paddr;     /* where it goes in guest-physical memory */
    uint64_t offset;    /* file offset of its bytes */
    uint64_t filesz;    /* bytes copied from the file */
    uint64_t memsz;     /* bytes in memory; the rest is zeroed */
};

struct elf_image {
    bool is64;          /* ELFCLASS64 (x86-64) or ELFCLASS32 (i386) */
    bool multiboot1;    /* a valid Multiboot v1 header is present */
    uint32_t multiboot1_flags;
    uint64_t entry;
    uint64_t lowest, highest; /* physical span of all segments [lowest, highest) */
    unsigned segment_count;
    struct elf_segment segments[ELF_MAX_SEGMENTS];
};

/* Parse an executable image. Returns 0 or -PL_EINVAL / -PL_ENOSPC with a
 * one-line reason in err: bad magic, class, data encoding (must be little
 * endian), machine (x86-64 for ELF64, i386 for ELF32), type (must be
 * ET_EXEC), program headers outside the file, a segment whose file bytes
 * run past the file or whose filesz exceeds memsz or whose address range
 * wraps, no loadable segment, an entry point outside every segment, more
 * than ELF_MAX_SEGMENTS loadable segments. */
int elf_parse(const void *image, size_t size, struct elf_image *out, char *err, size_t errlen);
/* The same for an image of `size` bytes of which only the first head_len
 * are at `head` (the rest is read later, segment by segment): the program
 * headers must lie in them (-PL_E2BIG otherwise) and the Multiboot header
 * is searched for there. */
int elf_parse_head(const void *head, size_t head_len, size_t size, struct elf_image *out, char *err, size_t errlen);

#endif
