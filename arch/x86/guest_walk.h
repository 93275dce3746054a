/* Guest-virtual to guest-physical translation by walking the guest's own
 * page tables (SDM Vol. 3A 4.3-4.7), for emulating an access the way the
 * guest's CPU would see it: fetching the bytes of an instruction that
 * exited, or reading a guest buffer named by a linear address. Pure logic:
 * guest memory is reached through a callback, so it runs on the host in
 * unit tests too.
 *
 * Modes, chosen from the control registers as the CPU does:
 *   CR0.PG = 0                 no paging: gpa = gva (low 32 bits unless
 *                              EFER.LMA)
 *   CR4.PAE = 0                32-bit paging; 4 MiB pages when CR4.PSE and
 *                              PDE.PS, with PSE-36 (PDE bits 20:13 are
 *                              physical address bits 39:32)
 *   CR4.PAE = 1, EFER.LMA = 0  PAE paging: 4 PDPTEs at CR3[31:5]; 2 MiB pages
 *   EFER.LMA = 1               4-level paging, or 5-level when CR4.LA57;
 *                              1 GiB and 2 MiB pages
 * Permissions: present bits, R/W (with CR0.WP for supervisor writes), U/S,
 * NX (only when EFER.NXE and PAE/4-level/5-level), CR4.SMEP and CR4.SMAP.
 *
 * Not modelled (the walk is for emulation, not a TLB):
 *  - Reserved bits are not checked (no #PF with RSVD): bits above
 *    MAXPHYADDR, PS in a PML5E/PML4E (ignored: the entry is followed as a
 *    table), PS or R/W/U/S/XD in a PAE PDPTE (ignored), bit 63 with
 *    EFER.NXE = 0 (ignored), and so on. A guest relying on RSVD faults is
 *    given the translation instead.
 *  - Accessed and Dirty bits are not set (the CPU already set them for the
 *    access that exited; emulated accesses do not).
 *  - Protection keys (CR4.PKE/PKS), shadow stacks (CET), HLAT, LAM: no.
 *  - PAE PDPTEs are read from memory at CR3 unless the caller supplies the
 *    PDPTE registers the CPU loaded at the last CR3 write (see pdptes).
 */
#ifndef ARCH_X86_GUEST_WALK_H
#define ARCH_X86_GUEST_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Control-register bits used by the walk. */
#define GW_CR0_WP (1ull << 16)
#define GW_CR0_PG (1ull << 31)
#define GW_CR4_PSE (1ull << 4)
#define GW_CR4_PAE (1ull << 5)
#define GW_CR4_LA57 (1ull << 12)
#define GW_CR4_SMEP (1ull << 20)
#define GW_CR4_SMAP (1ull << 21)
#define GW_EFER_LMA (1ull << 10)
#define GW_EFER_NXE (1ull << 11)

/* Kind of access (combine; plain supervisor read is 0; GW_WRITE and
 * GW_FETCH exclude each other). The values of the first three match the
 * #PF error-code bits they set. */
#define GW_WRITE (1u << 1)  /* data write */
#define GW_USER (1u << 2)   /* CPL 3 (not an implicit supervisor access) */
#define GW_FETCH (1u << 4)  /* instruction fetch */
#define GW_AC (1u << 8)     /* RFLAGS.AC = 1: an explicit supervisor data access
                             * may reach user pages under CR4.SMAP */

/* #PF error code bits, SDM Vol. 3A 4.7. */
#define PF_ERR_P (1u << 0)    /* 0: not present; 1: protection violation */
#define PF_ERR_W (1u << 1)    /* the access was a write */
#define PF_ERR_U (1u << 2)    /* the access was in user mode */
#define PF_ERR_RSVD (1u << 3) /* never set here: reserved bits are not checked */
#define PF_ERR_I (1u << 4)    /* instruction fetch (only when PAE && NXE, or SMEP) */

struct guest_paging {
    uint64_t cr0, cr3, cr4, efer;
    /* Read len bytes of guest-physical memory at gpa into buf (len <= 8 for
     * table entries, up to a page for guest_read_virt; never crossing a
     * 4 KiB boundary). false when gpa is not guest RAM. */
    bool (*read_gpa)(void *ctx, uint64_t gpa, void *buf, size_t len);
    void *ctx;
    /* PAE paging only, may be NULL: the four PDPTE registers (e.g. the VMCS
     * GUEST_PDPTE0-3 fields with EPT). When NULL they are read at CR3. */
    const uint64_t *pdptes;
};

struct guest_fault {
    uint64_t addr;   /* linear address of the failed access (CR2 for #PF);
                      * outside IA-32e mode its low 32 bits only */
    uint32_t error;  /* -PL_EFAULT: #PF error code (PF_ERR_*) */
    uint64_t gpa;    /* -PL_EIO: guest-physical address that was not RAM */
};

/* Translate gva for an access of the given kind (GW_* bits).
 * Returns
 *   0            *gpa set; *page_size (if not NULL) is the size of the
 *                mapping: 4 KiB, 2 MiB, 4 MiB or 1 GiB (4 GiB, or the whole
 *                space, with paging off);
 *   -PL_EFAULT   the guest's CPU would raise #PF: fault->addr/error;
 *   -PL_EINVAL   gva is not canonical in 4/5-level paging (the CPU raises
 *                #GP, or #SS for a stack access), or the control registers
 *                are inconsistent (EFER.LMA without CR4.PAE);
 *   -PL_EIO      a paging-structure entry is not in guest RAM (read_gpa
 *                failed): fault->gpa says where.
 * fault may be NULL. */
int guest_walk(const struct guest_paging *pg, uint64_t gva, unsigned access, uint64_t *gpa,
               uint64_t *page_size, struct guest_fault *fault);

/* Read len bytes at guest-virtual gva into buf, page by page, so a read
 * that straddles pages mapped to unrelated frames comes out right (e.g. an
 * instruction of up to 15 bytes at the end of a page). access as above
 * (GW_FETCH for instruction bytes; GW_WRITE makes no sense here). Outside
 * 4/5-level paging the linear address wraps at 4 GiB as on the CPU.
 * Returns 0, or the first failure as guest_walk does (-PL_EIO also when a
 * data page is not guest RAM). *done (if not NULL) is the number of bytes
 * read into buf before the failure: a caller fetching an instruction can
 * still decode those, and raise the fault only if the instruction needs
 * more. */
int guest_read_virt(const struct guest_paging *pg, uint64_t gva, void *buf, size_t len,
                    unsigned access, size_t *done, struct guest_fault *fault);

#endif
