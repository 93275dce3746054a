/* Loads a guest kernel image into guest RAM and sets the vCPU up to start
 * it in the mode the image asks for (docs/guest-platform.md):
 *  - ELF64: 64-bit long mode, paging on with an identity map of the first
 *    4 GiB built here, flat 64-bit code segment;
 *  - ELF32 with a Multiboot header: 32-bit protected mode, paging off,
 *    EAX = 0x2BADB002, EBX = a Multiboot information structure;
 *  - other ELF32: 32-bit protected mode, paging off. */
#include "arch/x86/tsc.h"
#include "hv/arch_cpu.h"
#include "hv/elf.h"
#include "hv/format.h"
#include "hv/domain.h"
#include "arch/x86/spinlock.h"
#include "hv/string.h"
#include "plinth/errno.h"
#include "plinth/start_info.h"

/* Guest-physical layout of what the loader builds (below the image). */
#define GUEST_PML4 0x1000ull
#define GUEST_PDPT 0x2000ull
#define GUEST_PD 0x3000ull          /* four page directories: 0..4 GiB */
#define GUEST_IDENTITY_GIB 4
#define GUEST_GDT 0x7000ull
#define GUEST_TSS 0x7100ull
#define GUEST_MBI 0x8000ull
#define GUEST_CMDLINE 0x8100ull
#define GUEST_CMDLINE_MAX 0x700ull
#define GUEST_START_INFO 0x9000ull  /* ELF64 guests: struct plinth_start_info */
#define GUEST_STACK_TOP 0x80000ull
#define GUEST_IMAGE_MIN 0x100000ull /* images load at 1 MiB or above */
/* The ELF and program headers, and any Multiboot header, must lie in the
 * image's first bytes (parsed from a private copy, so a source domain
 * changing them meanwhile cannot matter); the segments are then copied
 * straight from where the image is. */
#define IMAGE_HEAD_MAX MULTIBOOT1_SEARCH_BYTES
static uint8_t image_head[IMAGE_HEAD_MAX];
static spinlock_t image_head_lock = SPINLOCK_INIT;
#define GUEST_PAGE 4096ull

#define PTE_P_ 1ull
#define PTE_W_ 2ull
#define PTE_PS_ 0x80ull

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS_ 0x18
#define GDT_CODE64 0x00AF9B000000FFFFull /* L=1, present, accessed */
#define GDT_CODE32 0x00CF9B000000FFFFull
#define GDT_DATA 0x00CF93000000FFFFull
#define ATTR_CODE64 0xA9B
#define ATTR_CODE32 0xC9B
#define ATTR_DATA 0xC93
#define ATTR_TSS_BUSY 0x8B
#define ATTR_LDT 0x82
#define TSS_LIMIT 0x67

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_WP 0x10000ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define RFLAGS_RESERVED 0x2ull
#define PAT_POWER_ON 0x0007040600070406ull /* SDM Vol. 3A 11.12.4 */

#define MB1_INFO_MEM (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)

static struct vcpu_segment seg(uint16_t sel, uint16_t attr, uint32_t limit, uint64_t base)
{
    return (struct vcpu_segment){ .selector = sel, .attr = attr, .limit = limit, .base = base };
}

static bool build_identity_map(struct domain *d)
{
    uint64_t pml4e = GUEST_PDPT | PTE_P_ | PTE_W_;
    if (!domain_write(d, GUEST_PML4, &pml4e, 8))
        return false;
    for (uint64_t i = 0; i < GUEST_IDENTITY_GIB; i++) {
        uint64_t pdpte = (GUEST_PD + i * 0x1000) | PTE_P_ | PTE_W_;
        if (!domain_write(d, GUEST_PDPT + i * 8, &pdpte, 8))
            return false;
        for (uint64_t j = 0; j < 512; j++) {
            uint64_t pde = ((i << 30) + (j << 21)) | PTE_P_ | PTE_W_ | PTE_PS_;
            if (!domain_write(d, GUEST_PD + i * 0x1000 + j * 8, &pde, 8))
                return false;
        }
    }
    return true;
}

static bool build_gdt(struct domain *d, bool long_mode)
{
    uint64_t gdt[5] = { 0, long_mode ? GDT_CODE64 : GDT_CODE32, GDT_DATA, 0, 0 };
    /* 64-bit TSS descriptor (two slots); VMX insists on a usable TR. */
    gdt[3] = TSS_LIMIT | ((GUEST_TSS & 0xFFFFFF) << 16) | (0x8Bull << 40) | ((GUEST_TSS >> 24 & 0xFF) << 56);
    gdt[4] = GUEST_TSS >> 32;
    return domain_write(d, GUEST_GDT, gdt, sizeof(gdt));
}

static bool source_read(const struct load_source *src, uint64_t off, void *dst, uint64_t len)
{
    if (off > src->size || len > src->size - off)
        return false;
    if (src->host) {
        memcpy(dst, (const uint8_t *)src->host + off, len);
        return true;
    }
    return domain_read(src->dom, src->gpa + off, dst, len);
}

/* Copy [off, off + len) of the source to guest-physical gpa, through the
 * destination's host mapping chunk by chunk (no bounce buffer). */
static bool copy_in(struct domain *d, uint64_t gpa, const struct load_source *src, uint64_t off, uint64_t len)
{
    while (len) {
        uint64_t n = MIN(len, DOMAIN_CHUNK - gpa % DOMAIN_CHUNK);
        void *dst = domain_ram_ptr(d, gpa, n);
        if (!dst || !source_read(src, off, dst, n))
            return false;
        gpa += n;
        off += n;
        len -= n;
    }
    return true;
}

static bool zero_range(struct domain *d, uint64_t gpa, uint64_t len)
{
    while (len) {
        uint64_t n = MIN(len, DOMAIN_CHUNK - gpa % DOMAIN_CHUNK);
        void *dst = domain_ram_ptr(d, gpa, n);
        if (!dst)
            return false;
        memset(dst, 0, n);
        gpa += n;
        len -= n;
    }
    return true;
}

/* Files for the domain at the top of its RAM, and the start information
 * that lists them (include/plinth/start_info.h). */
static int place_start_info(struct domain *d, const struct elf_image *img, const char *cmdline,
                            const struct load_file *files, unsigned nfiles, char *err, size_t errlen)
{
    if (nfiles > PLINTH_START_MAX_MODULES) {
        hv_snprintf(err, errlen, "%u files for the domain, at most %u", nfiles, PLINTH_START_MAX_MODULES);
        return -PL_E2BIG;
    }
    _Static_assert(sizeof(struct plinth_start_info) <= 2 * GUEST_PAGE, "start info fits below 0xB000");
    /* Built in place: the first 2 MiB chunk is one host range. */
    struct plinth_start_info *si = domain_ram_ptr(d, GUEST_START_INFO, sizeof(*si));
    if (!si) {
        hv_snprintf(err, errlen, "guest RAM too small for the start information");
        return -PL_ERANGE;
    }
    memset(si, 0, sizeof(*si));
    si->magic = PLINTH_START_MAGIC;
    si->version = PLINTH_START_VERSION;
    si->flags = d->privileged ? START_FLAG_PRIVILEGED : 0;
    si->domid = d->id;
    si->vcpus = d->vcpu_count;
    si->mem_bytes = d->mem_size;
    si->free_start = ALIGN_UP(MAX(img->highest, GUEST_IMAGE_MIN), GUEST_PAGE);
    si->tsc_khz = tsc_hz / 1000;
    si->host_cpus = arch_cpu_count();
    hv_snprintf(si->cmdline, sizeof(si->cmdline), "%s", cmdline);
    uint64_t top = d->mem_size;
    int rc = 0;
    for (unsigned i = 0; i < nfiles && rc == 0; i++) {
        const struct load_file *f = &files[i];
        uint64_t size_up = ALIGN_UP(f->size, GUEST_PAGE);
        if (size_up > top || top - size_up < si->free_start) {
            hv_snprintf(err, errlen, "file %u (\"%s\", %lu KiB) does not fit in RAM above the image", i, f->cmdline,
                        f->size >> 10);
            rc = -PL_ENOMEM;
            break;
        }
        top -= size_up;
        struct load_source src = { .host = f->data, .size = f->size };
        copy_in(d, top, &src, 0, f->size);
        struct plinth_start_module *m = &si->modules[si->module_count++];
        m->gpa = top;
        m->size = f->size;
        hv_snprintf(m->cmdline, sizeof(m->cmdline), "%s", f->cmdline);
    }
    si->free_end = top;
    return rc;
}

int domain_load(struct domain *d, const struct load_source *src, const char *cmdline, const struct load_file *files,
                unsigned nfiles, char *err, size_t errlen)
{
    struct elf_image img;
    uint64_t head_len = MIN(src->size, (uint64_t)IMAGE_HEAD_MAX);
    uint64_t flags = spin_lock_irqsave(&image_head_lock);
    int rc = source_read(src, 0, image_head, head_len)
                 ? elf_parse_head(image_head, head_len, src->size, &img, err, errlen)
                 : -PL_EFAULT;
    spin_unlock_irqrestore(&image_head_lock, flags);
    if (rc == -PL_EFAULT)
        hv_snprintf(err, errlen, "image: not readable");
    if (rc)
        return rc;
    for (unsigned i = 0; i < img.segment_count; i++) {
        const struct elf_segment *s = &img.segments[i];
        if (s->paddr < GUEST_IMAGE_MIN || !domain_ram_contains(d, s->paddr, s->memsz)) {
            hv_snprintf(err, errlen, "image: segment at %#lx (%#lx bytes) is outside guest RAM [%#llx, %#lx)",
                        s->paddr, s->memsz, GUEST_IMAGE_MIN, d->mem_size);
            return -PL_ERANGE;
        }
    }
    for (unsigned i = 0; i < img.segment_count; i++) {
        const struct elf_segment *s = &img.segments[i];
        if (!copy_in(d, s->paddr, src, s->offset, s->filesz) ||
            !zero_range(d, s->paddr + s->filesz, s->memsz - s->filesz)) {
            hv_snprintf(err, errlen, "image: segment %u could not be copied", i);
            return -PL_EFAULT;
        }
    }
    if (!img.is64 && nfiles) {
        hv_snprintf(err, errlen, "files can only be handed to an ELF64 domain");
        return -PL_EINVAL;
    }
    if (img.is64) {
        rc = place_start_info(d, &img, cmdline, files, nfiles, err, errlen);
        if (rc)
            return rc;
    }

    struct vcpu *v = d->vcpus[0];
    struct vcpu_state st;
    memset(&st, 0, sizeof(st));
    memset(v->gprs, 0, sizeof(v->gprs));
    st.rip = img.entry;
    st.rflags = RFLAGS_RESERVED;
    st.pat = PAT_POWER_ON;
    st.gdtr = (struct vcpu_dtable){ GUEST_GDT, 5 * 8 - 1 };
    st.idtr = (struct vcpu_dtable){ 0, 0 };
    st.tr = seg(SEL_TSS_, ATTR_TSS_BUSY, TSS_LIMIT, GUEST_TSS);
    st.ldtr = seg(0, ATTR_LDT & ~0x80u, 0, 0); /* not present: unusable */
    struct vcpu_segment data = seg(SEL_DATA, ATTR_DATA, 0xFFFFFFFF, 0);
    st.ds = st.es = st.fs = st.gs = st.ss = data;
    v->gprs[REG_RSP] = GUEST_STACK_TOP;
    if (!build_gdt(d, img.is64)) {
        hv_snprintf(err, errlen, "guest RAM too small for the boot structures");
        return -PL_ERANGE;
    }

    if (img.is64) {
        if (!build_identity_map(d)) {
            hv_snprintf(err, errlen, "guest RAM too small for the boot page tables");
            return -PL_ERANGE;
        }
        st.cs = seg(SEL_CODE, ATTR_CODE64, 0xFFFFFFFF, 0);
        st.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
        st.cr3 = GUEST_PML4;
        st.cr4 = CR4_PAE;
        st.efer = EFER_LME | EFER_LMA;
        v->gprs[REG_RDI] = v->gprs[REG_RBX] = GUEST_START_INFO;
    } else {
        st.cs = seg(SEL_CODE, ATTR_CODE32, 0xFFFFFFFF, 0);
        st.cr0 = CR0_PE | CR0_ET | CR0_NE;
        if (img.multiboot1) {
            uint32_t mbi[4] = { MB1_INFO_MEM, 640, (uint32_t)((d->mem_size - GUEST_IMAGE_MIN) >> 10), 0 };
            size_t len = strlen(cmdline);
            if (len >= GUEST_CMDLINE_MAX) {
                hv_snprintf(err, errlen, "command line of %zu bytes is longer than %llu", len, GUEST_CMDLINE_MAX - 1);
                return -PL_E2BIG;
            }
            domain_write(d, GUEST_CMDLINE, cmdline, len + 1);
            mbi[0] |= MB1_INFO_CMDLINE;
            uint32_t cmdline_ptr = (uint32_t)GUEST_CMDLINE;
            domain_write(d, GUEST_MBI, mbi, sizeof(mbi));
            domain_write(d, GUEST_MBI + 16, &cmdline_ptr, 4);
            v->gprs[REG_RAX] = MULTIBOOT1_BOOTLOADER_MAGIC;
            v->gprs[REG_RBX] = GUEST_MBI;
        }
    }
    arch_vcpu_set_state(v, &st);
    /* Done with it on this CPU: it may first run on another. */
    arch_vcpu_put(v);
    v->started = true;
    return 0;
}
