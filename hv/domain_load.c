/* Loads a guest kernel image into guest RAM and sets the vCPU up to start
 * it in the mode the image asks for (docs/guest-platform.md):
 *  - ELF64: 64-bit long mode, paging on with an identity map of the first
 *    4 GiB built here, flat 64-bit code segment;
 *  - ELF32 with a Multiboot header: 32-bit protected mode, paging off,
 *    EAX = 0x2BADB002, EBX = a Multiboot information structure;
 *  - other ELF32: 32-bit protected mode, paging off. */
#include "hv/elf.h"
#include "hv/format.h"
#include "hv/domain.h"
#include "hv/string.h"
#include "plinth/errno.h"

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
#define GUEST_STACK_TOP 0x80000ull
#define GUEST_IMAGE_MIN 0x100000ull /* images load at 1 MiB or above */

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

int domain_load(struct domain *d, const void *image, size_t size, const char *cmdline, char *err, size_t errlen)
{
    struct elf_image img;
    int rc = elf_parse(image, size, &img, err, errlen);
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
        domain_write(d, s->paddr, (const uint8_t *)image + s->offset, s->filesz);
        static const uint8_t zeros[256];
        for (uint64_t off = s->filesz; off < s->memsz; off += sizeof(zeros))
            domain_write(d, s->paddr + off, zeros, MIN(sizeof(zeros), s->memsz - off));
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
