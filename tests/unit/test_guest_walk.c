#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/guest_walk.h"
#include "plinth/errno.h"

/* Entry bits as the guest writes them. */
#define P (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define PS (1ull << 7)
#define PAT_LARGE (1ull << 12) /* PAT bit of a 2 MiB / 1 GiB / 4 MiB leaf */
#define XD (1ull << 63)
#define ADDR 0x000FFFFFFFFFF000ull

#define K4 (1ull << 12)
#define M2 (1ull << 21)
#define M4 (1ull << 22)
#define G1 (1ull << 30)
#define G4 (1ull << 32)

#define CR0_PE 1ull
#define CR0_ON (CR0_PE | GW_CR0_PG)
#define EFER_LME (1ull << 8)
#define EFER_LM (EFER_LME | GW_EFER_LMA)

/* Access kinds */
#define SR 0u                       /* supervisor read */
#define SW GW_WRITE                 /* supervisor write */
#define SX GW_FETCH                 /* supervisor fetch */
#define UR GW_USER
#define UW (GW_USER | GW_WRITE)
#define UX (GW_USER | GW_FETCH)

/* #PF error codes */
#define EP PF_ERR_P
#define EW PF_ERR_W
#define EU PF_ERR_U
#define EI PF_ERR_I

/* ------------------------------------------------------------------ fake guest memory
 *
 * RAM is [0, RAM_SIZE) minus an optional hole. Table pages are handed out
 * from TABLES upward, data frames are chosen by the tests above DATA. */

#define RAM_SIZE (4ull << 20)
#define TABLES 0x10000ull
#define DATA 0x200000ull

struct gmem {
    uint8_t *ram;
    uint64_t next_table;
    uint64_t hole_lo, hole_hi; /* [lo, hi) is not RAM */
    unsigned reads;
    unsigned reads_of_len[9]; /* table-entry sized reads, by length */
};

static bool read_gpa(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct gmem *m = ctx;
    m->reads++;
    if (len <= 8)
        m->reads_of_len[len]++;
    /* the contract: never across a 4 KiB boundary */
    if (len == 0 || len > K4 || (gpa & (K4 - 1)) + len > K4)
        fail_msg("read_gpa(%#" PRIx64 ", %zu) crosses a page", gpa, len);
    if (gpa >= RAM_SIZE || RAM_SIZE - gpa < len)
        return false;
    if (gpa < m->hole_hi && gpa + len > m->hole_lo)
        return false;
    memcpy(buf, m->ram + gpa, len);
    return true;
}

static int setup(void **state)
{
    struct gmem *m = calloc(1, sizeof(*m));
    m->ram = calloc(1, RAM_SIZE);
    m->next_table = TABLES;
    for (uint64_t i = DATA; i < RAM_SIZE; i++) /* data pages: a recognisable pattern */
        m->ram[i] = (uint8_t)(i * 7 + (i >> 12));
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    struct gmem *m = *state;
    free(m->ram);
    free(m);
    return 0;
}

static uint64_t new_table(struct gmem *m)
{
    uint64_t t = m->next_table;
    m->next_table += K4;
    assert_true(m->next_table <= DATA);
    memset(m->ram + t, 0, K4);
    return t;
}

static uint64_t get64(struct gmem *m, uint64_t a) { uint64_t v; memcpy(&v, m->ram + a, 8); return v; }
static void set64(struct gmem *m, uint64_t a, uint64_t v) { memcpy(m->ram + a, &v, 8); }
static uint32_t get32(struct gmem *m, uint64_t a) { uint32_t v; memcpy(&v, m->ram + a, 4); return v; }
static void set32(struct gmem *m, uint64_t a, uint32_t v) { memcpy(m->ram + a, &v, 4); }

static uint64_t index_at(uint64_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

/* Map va -> frame in an 8-byte-entry hierarchy (PAE, 4-level, 5-level)
 * rooted at root, whose top level is `top` (4 PML5, 3 PML4, 2 PDPT), with
 * the leaf at leaf_level (0 4K, 1 2M, 2 1G). Missing tables are allocated;
 * new path entries are P|RW|US (only P for a PAE PDPTE), so the leaf's
 * flags decide unless a test edits the path. */
static void map64(struct gmem *m, uint64_t root, int top, bool pae, uint64_t va, uint64_t frame,
                  int leaf_level, uint64_t leaf_flags)
{
    uint64_t table = root;
    for (int level = top; level > leaf_level; level--) {
        uint64_t ea = table + index_at(va, level) * 8;
        uint64_t e = get64(m, ea);
        if (!(e & P)) {
            e = new_table(m) | ((pae && level == 2) ? P : (P | RW | US));
            set64(m, ea, e);
        }
        table = e & ADDR;
    }
    set64(m, table + index_at(va, leaf_level) * 8, frame | leaf_flags | P | (leaf_level ? PS : 0));
}

/* Guest-physical address of the entry for va at level (after map64). */
static uint64_t entry64(struct gmem *m, uint64_t root, int top, uint64_t va, int level)
{
    uint64_t table = root;
    for (int l = top; l > level; l--)
        table = get64(m, table + index_at(va, l) * 8) & ADDR;
    return table + index_at(va, level) * 8;
}

static void clear64(struct gmem *m, uint64_t ea, uint64_t bits) { set64(m, ea, get64(m, ea) & ~bits); }
static void or64(struct gmem *m, uint64_t ea, uint64_t bits) { set64(m, ea, get64(m, ea) | bits); }

static struct guest_paging paging(struct gmem *m, uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer)
{
    return (struct guest_paging){ .cr0 = cr0, .cr3 = cr3, .cr4 = cr4, .efer = efer,
                                  .read_gpa = read_gpa, .ctx = m, .pdptes = NULL };
}

/* ------------------------------------------------------------------ expectations */

#define EXPECT_GPA(pg, va, acc, gpa, size) expect_gpa(__LINE__, (pg), (va), (acc), (gpa), (size))
#define EXPECT_PF(pg, va, acc, err) expect_pf(__LINE__, (pg), (va), (acc), (err), (va))
#define EXPECT_PF_AT(pg, va, acc, err, cr2) expect_pf(__LINE__, (pg), (va), (acc), (err), (cr2))

static void expect_gpa(int line, const struct guest_paging *pg, uint64_t va, unsigned acc, uint64_t want,
                       uint64_t want_size)
{
    uint64_t gpa = 0xdeadull, size = 0xdeadull;
    struct guest_fault f;
    int rc = guest_walk(pg, va, acc, &gpa, &size, &f);
    if (rc != 0)
        fail_msg("line %d: va %#" PRIx64 " access %#x: rc %d (error %#x gpa %#" PRIx64 ")", line, va, acc,
                 rc, f.error, f.gpa);
    if (gpa != want || size != want_size)
        fail_msg("line %d: va %#" PRIx64 " -> %#" PRIx64 " size %#" PRIx64 ", want %#" PRIx64
                 " size %#" PRIx64, line, va, gpa, size, want, want_size);
}

static void expect_pf(int line, const struct guest_paging *pg, uint64_t va, unsigned acc, uint32_t err,
                      uint64_t cr2)
{
    uint64_t gpa = 0xdeadull;
    struct guest_fault f;
    memset(&f, 0xa5, sizeof(f));
    int rc = guest_walk(pg, va, acc, &gpa, NULL, &f);
    if (rc != -PL_EFAULT)
        fail_msg("line %d: va %#" PRIx64 " access %#x: rc %d gpa %#" PRIx64 ", want #PF", line, va, acc, rc,
                 gpa);
    if (f.error != err || f.addr != cr2)
        fail_msg("line %d: va %#" PRIx64 " access %#x: error %#x addr %#" PRIx64 ", want %#x %#" PRIx64,
                 line, va, acc, f.error, f.addr, err, cr2);
    if (gpa != 0xdeadull)
        fail_msg("line %d: gpa written on a fault", line);
}

/* ------------------------------------------------------------------ paging off */

static void test_paging_off(void **state)
{
    struct gmem *m = *state;
    struct guest_paging pg = paging(m, CR0_PE, 0, 0, 0);
    EXPECT_GPA(&pg, 0x12345678, SR, 0x12345678, G4);
    EXPECT_GPA(&pg, 0x112345678ull, UW, 0x12345678, G4); /* 32-bit linear addresses */
    pg.cr0 = 0;                                           /* real mode */
    EXPECT_GPA(&pg, 0xFFFF0, UX, 0xFFFF0, G4);
    /* the CR4/EFER bits for paging do not matter while CR0.PG = 0 */
    pg.cr4 = GW_CR4_PAE | GW_CR4_SMEP | GW_CR4_SMAP;
    pg.efer = GW_EFER_NXE;
    EXPECT_GPA(&pg, 0xFEE00000, SW, 0xFEE00000, G4);
    assert_int_equal(m->reads, 0);
}

/* ------------------------------------------------------------------ 4-level */

/* PML4 1, PDPT 2, PD 3, PT 4 */
#define VA4 ((1ull << 39) | (2ull << 30) | (3ull << 21) | (4ull << 12))

static uint64_t lm_root(struct gmem *m) { return new_table(m); }

static void test_4level_4k(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    map64(m, root, 3, false, VA4, DATA + 0x5000, 0, RW | US);
    map64(m, root, 3, false, VA4 + K4, DATA + 0x1000, 0, RW | US); /* neighbour, lower frame */
    struct guest_paging pg = paging(m, CR0_ON | GW_CR0_WP, root, GW_CR4_PAE, EFER_LM | GW_EFER_NXE);
    EXPECT_GPA(&pg, VA4 + 0x123, SR, DATA + 0x5123, K4);
    EXPECT_GPA(&pg, VA4 + 0xFFF, UW, DATA + 0x5FFF, K4);
    EXPECT_GPA(&pg, VA4 + K4 + 0x8, UX, DATA + 0x1008, K4);
    EXPECT_PF(&pg, VA4 + 2 * K4, SR, 0); /* no PTE */
    EXPECT_PF(&pg, VA4 + M2, SR, 0);     /* no PDE */
    /* CR3 low bits (PCD/PWT, PCID) are not part of the address */
    pg.cr3 = root | 0x018;
    EXPECT_GPA(&pg, VA4 + 0x123, SR, DATA + 0x5123, K4);
    pg.cr3 = root | 0xABC;
    EXPECT_GPA(&pg, VA4 + 0x123, SR, DATA + 0x5123, K4);
    /* nor are the LAM bits 62:61 */
    pg.cr3 = root | (3ull << 61);
    EXPECT_GPA(&pg, VA4 + 0x123, SR, DATA + 0x5123, K4);
}

static void test_4level_high_half(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    uint64_t va = 0xFFFFFFFF80001000ull; /* PML4 511, PDPT 510 */
    map64(m, root, 3, false, va, DATA + 0x7000, 0, RW);
    map64(m, root, 3, false, 0xFFFF800000000000ull, DATA + 0x8000, 0, RW); /* PML4 256 */
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    EXPECT_GPA(&pg, va + 0x42, SR, DATA + 0x7042, K4);
    EXPECT_GPA(&pg, 0xFFFF800000000010ull, SR, DATA + 0x8010, K4);
    EXPECT_PF(&pg, 0x0000000000001000ull, SR, 0);
}

static void test_4level_2m(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    /* the PAT bit (12) of a large leaf is not an address bit */
    map64(m, root, 3, false, VA4 & ~(M2 - 1), 0x40000000ull, 1, RW | PAT_LARGE);
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    uint64_t va = (VA4 & ~(M2 - 1)) + 0x12345;
    EXPECT_GPA(&pg, va, SR, 0x40012345ull, M2);
    EXPECT_GPA(&pg, (VA4 & ~(M2 - 1)) + M2 - 1, SW, 0x401FFFFFull, M2);
}

static void test_4level_1g(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    uint64_t base = VA4 & ~(G1 - 1);
    map64(m, root, 3, false, base, 0x140000000ull, 2, RW | US | PAT_LARGE);
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    EXPECT_GPA(&pg, base + 0x23456789, UR, 0x163456789ull, G1);
    EXPECT_GPA(&pg, base + G1 - 1, SR, 0x17FFFFFFFull, G1);
    EXPECT_PF(&pg, base + G1, SR, 0); /* next PDPTE empty */
}

/* P cleared at each level in turn; error codes for several access kinds. */
static void test_4level_not_present_each_level(void **state)
{
    struct gmem *m = *state;
    for (int level = 3; level >= 0; level--) {
        m->next_table = TABLES;
        uint64_t root = lm_root(m);
        map64(m, root, 3, false, VA4, DATA, 0, RW | US);
        struct guest_paging pg = paging(m, CR0_ON | GW_CR0_WP, root, GW_CR4_PAE, EFER_LM | GW_EFER_NXE);
        EXPECT_GPA(&pg, VA4 + 8, UW, DATA + 8, K4);
        clear64(m, entry64(m, root, 3, VA4, level), P);
        EXPECT_PF(&pg, VA4 + 8, SR, 0);
        EXPECT_PF(&pg, VA4 + 8, SW, EW);
        EXPECT_PF(&pg, VA4 + 8, UR, EU);
        EXPECT_PF(&pg, VA4 + 8, UW, EU | EW);
        EXPECT_PF(&pg, VA4 + 8, SX, EI);
        EXPECT_PF(&pg, VA4 + 8, UX, EU | EI);
        pg.efer &= ~GW_EFER_NXE; /* no NX: fetches do not report I (no SMEP either) */
        EXPECT_PF(&pg, VA4 + 8, UX, EU);
        pg.cr4 |= GW_CR4_SMEP; /* SMEP on: they do again */
        EXPECT_PF(&pg, VA4 + 8, SX, EI);
    }
}

/* R/W = 0 at each level in turn. */
static void test_4level_read_only_each_level(void **state)
{
    struct gmem *m = *state;
    for (int level = 3; level >= 0; level--) {
        m->next_table = TABLES;
        uint64_t root = lm_root(m);
        map64(m, root, 3, false, VA4, DATA, 0, RW | US);
        clear64(m, entry64(m, root, 3, VA4, level), RW);
        struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
        /* CR0.WP = 0: supervisor writes ignore R/W, user writes do not */
        EXPECT_GPA(&pg, VA4 + 1, SW, DATA + 1, K4);
        EXPECT_GPA(&pg, VA4 + 1, SR, DATA + 1, K4);
        EXPECT_GPA(&pg, VA4 + 1, UR, DATA + 1, K4);
        EXPECT_PF(&pg, VA4 + 1, UW, EP | EW | EU);
        /* CR0.WP = 1: supervisor writes fault too */
        pg.cr0 |= GW_CR0_WP;
        EXPECT_PF(&pg, VA4 + 1, SW, EP | EW);
        EXPECT_PF(&pg, VA4 + 1, UW, EP | EW | EU);
        EXPECT_GPA(&pg, VA4 + 1, SR, DATA + 1, K4);
        EXPECT_GPA(&pg, VA4 + 1, UX, DATA + 1, K4); /* fetch needs no R/W */
    }
}

/* U/S = 0 at each level in turn: a supervisor page. */
static void test_4level_supervisor_each_level(void **state)
{
    struct gmem *m = *state;
    for (int level = 3; level >= 0; level--) {
        m->next_table = TABLES;
        uint64_t root = lm_root(m);
        map64(m, root, 3, false, VA4, DATA, 0, RW | US);
        clear64(m, entry64(m, root, 3, VA4, level), US);
        struct guest_paging pg = paging(m, CR0_ON | GW_CR0_WP, root,
                                        GW_CR4_PAE | GW_CR4_SMEP | GW_CR4_SMAP, EFER_LM | GW_EFER_NXE);
        EXPECT_PF(&pg, VA4, UR, EP | EU);
        EXPECT_PF(&pg, VA4, UW, EP | EW | EU);
        EXPECT_PF(&pg, VA4, UX, EP | EU | EI);
        /* a supervisor page is fine for the supervisor, SMEP/SMAP or not */
        EXPECT_GPA(&pg, VA4, SR, DATA, K4);
        EXPECT_GPA(&pg, VA4, SW, DATA, K4);
        EXPECT_GPA(&pg, VA4, SX, DATA, K4);
    }
}

/* XD = 1 at each level in turn. */
static void test_4level_nx_each_level(void **state)
{
    struct gmem *m = *state;
    for (int level = 3; level >= 0; level--) {
        m->next_table = TABLES;
        uint64_t root = lm_root(m);
        map64(m, root, 3, false, VA4, DATA, 0, RW | US);
        or64(m, entry64(m, root, 3, VA4, level), XD);
        struct guest_paging pg = paging(m, CR0_ON | GW_CR0_WP, root, GW_CR4_PAE, EFER_LM | GW_EFER_NXE);
        EXPECT_PF(&pg, VA4 + 5, SX, EP | EI);
        EXPECT_PF(&pg, VA4 + 5, UX, EP | EU | EI);
        EXPECT_GPA(&pg, VA4 + 5, UR, DATA + 5, K4); /* data accesses are fine */
        EXPECT_GPA(&pg, VA4 + 5, UW, DATA + 5, K4);
        /* EFER.NXE = 0: XD means nothing (reserved bits are not checked) */
        pg.efer &= ~GW_EFER_NXE;
        EXPECT_GPA(&pg, VA4 + 5, SX, DATA + 5, K4);
        EXPECT_GPA(&pg, VA4 + 5, UX, DATA + 5, K4);
    }
}

static void test_4level_large_page_rights(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    uint64_t va2m = VA4 & ~(M2 - 1), va1g = (VA4 & ~(G1 - 1)) + G1;
    map64(m, root, 3, false, va2m, 0x40000000ull, 1, US | XD);      /* read-only, user, NX */
    map64(m, root, 3, false, va1g, 0x80000000ull, 2, RW);           /* supervisor */
    struct guest_paging pg = paging(m, CR0_ON | GW_CR0_WP, root, GW_CR4_PAE, EFER_LM | GW_EFER_NXE);
    EXPECT_GPA(&pg, va2m + 0x1000, UR, 0x40001000ull, M2);
    EXPECT_PF(&pg, va2m + 0x1000, UW, EP | EW | EU);
    EXPECT_PF(&pg, va2m + 0x1000, SX, EP | EI);
    EXPECT_GPA(&pg, va1g + 0x10, SW, 0x80000010ull, G1);
    EXPECT_PF(&pg, va1g + 0x10, UR, EP | EU);
}

static void test_smep_smap(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    map64(m, root, 3, false, VA4, DATA, 0, US); /* user page, read-only */
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    /* neither: the supervisor may read, write (WP = 0) and execute it */
    EXPECT_GPA(&pg, VA4, SR, DATA, K4);
    EXPECT_GPA(&pg, VA4, SW, DATA, K4);
    EXPECT_GPA(&pg, VA4, SX, DATA, K4);
    /* SMEP: no supervisor fetch from a user page; I is reported although NXE = 0 */
    pg.cr4 |= GW_CR4_SMEP;
    EXPECT_PF(&pg, VA4, SX, EP | EI);
    EXPECT_GPA(&pg, VA4, SR, DATA, K4);
    EXPECT_GPA(&pg, VA4, UX, DATA, K4);
    /* SMAP: no supervisor data access to a user page unless RFLAGS.AC */
    pg.cr4 = GW_CR4_PAE | GW_CR4_SMAP;
    EXPECT_PF(&pg, VA4, SR, EP);
    EXPECT_PF(&pg, VA4, SW, EP | EW);
    EXPECT_GPA(&pg, VA4, SR | GW_AC, DATA, K4);
    EXPECT_GPA(&pg, VA4, SW | GW_AC, DATA, K4);
    EXPECT_GPA(&pg, VA4, UR, DATA, K4);
    EXPECT_GPA(&pg, VA4, SX, DATA, K4); /* SMAP does not cover fetches */
    pg.cr0 |= GW_CR0_WP;                /* with AC the write still needs R/W under WP */
    EXPECT_PF(&pg, VA4, SW | GW_AC, EP | EW);
}

static void test_non_canonical(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    uint64_t gpa;
    struct guest_fault f;
    const uint64_t bad[] = { 0x0000800000000000ull, 0xFFFF7FFFFFFFF000ull, 0x8000000000000000ull,
                             0x00FF000000000000ull, 0x7FFFFFFFFFFFFFFFull };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(guest_walk(&pg, bad[i], SR, &gpa, NULL, &f), -PL_EINVAL);
        assert_int_equal(guest_walk(&pg, bad[i], UX, &gpa, NULL, NULL), -PL_EINVAL);
    }
    assert_int_equal(m->reads, 0); /* refused before touching the tables */
    /* the edges of the canonical halves are walked (and not mapped here) */
    EXPECT_PF(&pg, 0x00007FFFFFFFFFFFull, SR, 0);
    EXPECT_PF(&pg, 0xFFFF800000000000ull, SR, 0);
}

static void test_lma_without_pae(void **state)
{
    struct gmem *m = *state;
    struct guest_paging pg = paging(m, CR0_ON, lm_root(m), 0, EFER_LM);
    uint64_t gpa;
    assert_int_equal(guest_walk(&pg, 0x1000, SR, &gpa, NULL, NULL), -PL_EINVAL);
}

/* ------------------------------------------------------------------ 5-level */

static void test_5level(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    uint64_t va = (3ull << 48) | VA4;                   /* PML5 index 3 */
    uint64_t hi = 0xFF00000000000000ull | (1ull << 47); /* PML5 index 256 + ... */
    map64(m, root, 4, false, va, DATA + 0x3000, 0, RW | US);
    map64(m, root, 4, false, hi, DATA + 0x4000, 0, RW);
    map64(m, root, 4, false, (5ull << 48) | (7ull << 30), 0xC0000000ull, 2, RW); /* 1 GiB */
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE | GW_CR4_LA57, EFER_LM);
    EXPECT_GPA(&pg, va + 0x77, UR, DATA + 0x3077, K4);
    EXPECT_GPA(&pg, hi + 0x10, SR, DATA + 0x4010, K4);     /* 48-bit non-canonical, fine with LA57 */
    EXPECT_GPA(&pg, (5ull << 48) | (7ull << 30) | 0x1234567, SR, 0xC1234567ull, G1);
    EXPECT_PF(&pg, hi + 0x10, UR, EP | EU);
    EXPECT_PF(&pg, va + K4, SR, 0);
    clear64(m, entry64(m, root, 4, va, 4), P); /* PML5E */
    EXPECT_PF(&pg, va, UW, EU | EW);
    uint64_t gpa;
    assert_int_equal(guest_walk(&pg, 0x0100000000000000ull, SR, &gpa, NULL, NULL), -PL_EINVAL);
    assert_int_equal(guest_walk(&pg, 0xFEFFFFFFFFFFF000ull, SR, &gpa, NULL, NULL), -PL_EINVAL);
    /* the same tables read as 4-level mean something else: va is not canonical */
    pg.cr4 &= ~GW_CR4_LA57;
    assert_int_equal(guest_walk(&pg, va, SR, &gpa, NULL, NULL), -PL_EINVAL);
}

/* ------------------------------------------------------------------ PAE */

/* PDPT 2, PD 5, PT 6 */
#define VAPAE ((2u << 30) | (5u << 21) | (6u << 12))

static uint64_t pae_root(struct gmem *m)
{
    return new_table(m) + 0x40; /* CR3[31:5]: the PDPT need not be page-aligned */
}

static void test_pae(void **state)
{
    struct gmem *m = *state;
    uint64_t pdpt = pae_root(m);
    map64(m, pdpt, 2, true, VAPAE, DATA + 0x9000, 0, RW | US);
    map64(m, pdpt, 2, true, 0xC0000000u, 0x7FE00000ull, 1, RW | PAT_LARGE); /* 2M at PDPTE 3 */
    map64(m, pdpt, 2, true, 0x00400000u, 0x1234400000ull, 1, RW | US);       /* above 4 GiB */
    struct guest_paging pg = paging(m, CR0_ON | GW_CR0_WP, pdpt, GW_CR4_PAE, 0);
    EXPECT_GPA(&pg, VAPAE + 0x321, UW, DATA + 0x9321, K4);
    EXPECT_GPA(&pg, 0xC0000000u + 0x1ABCDE, SR, 0x7FFABCDEull, M2);
    EXPECT_GPA(&pg, 0x00400000u + 0x5, UR, 0x1234400005ull, M2);
    /* 32-bit linear addresses: bits 63:32 of gva are dropped, also in CR2 */
    EXPECT_GPA(&pg, 0x500000000ull | (VAPAE + 0x10), SR, DATA + 0x9010, K4);
    EXPECT_PF_AT(&pg, 0x100000000ull | 0x40000000u, SR, 0, 0x40000000u);
    /* PDPTE not present (index 1), PDE, PTE */
    EXPECT_PF(&pg, 0x40000000u, UW, EU | EW);
    EXPECT_PF(&pg, VAPAE + M2, SR, 0);
    EXPECT_PF(&pg, VAPAE + K4, SR, 0);
    /* rights still apply at PD and PT */
    EXPECT_PF(&pg, 0xC0000000u, UR, EP | EU);
    clear64(m, entry64(m, pdpt, 2, VAPAE, 1), RW);
    EXPECT_PF(&pg, VAPAE, SW, EP | EW);
    EXPECT_GPA(&pg, VAPAE, UR, DATA + 0x9000, K4);
    /* PAE has no 1 GiB pages: PS in a PDPTE (reserved) is not a leaf */
    or64(m, entry64(m, pdpt, 2, VAPAE, 2), PS);
    EXPECT_GPA(&pg, VAPAE + 0x10, UR, DATA + 0x9010, K4);
}

/* A PAE PDPTE has no R/W or U/S (they are reserved): it restricts nothing. */
static void test_pae_pdpte_grants_all(void **state)
{
    struct gmem *m = *state;
    uint64_t pdpt = pae_root(m);
    map64(m, pdpt, 2, true, VAPAE, DATA, 0, RW | US);
    uint64_t e = entry64(m, pdpt, 2, VAPAE, 2);
    assert_int_equal(get64(m, e) & (RW | US), 0);
    struct guest_paging pg = paging(m, CR0_ON | GW_CR0_WP, pdpt, GW_CR4_PAE, 0);
    EXPECT_GPA(&pg, VAPAE, UW, DATA, K4);
}

static void test_pae_nx(void **state)
{
    struct gmem *m = *state;
    uint64_t pdpt = pae_root(m);
    map64(m, pdpt, 2, true, VAPAE, DATA, 0, RW | US | XD);
    struct guest_paging pg = paging(m, CR0_ON, pdpt, GW_CR4_PAE, GW_EFER_NXE);
    EXPECT_PF(&pg, VAPAE, UX, EP | EU | EI);
    EXPECT_GPA(&pg, VAPAE, UR, DATA, K4);
    pg.efer = 0;
    EXPECT_GPA(&pg, VAPAE, UX, DATA, K4);
    EXPECT_PF(&pg, VAPAE + K4, UX, EU); /* not present, no NXE: no I */
}

/* The PDPTE registers, when given, win over memory at CR3. */
static void test_pae_pdpte_registers(void **state)
{
    struct gmem *m = *state;
    uint64_t pdpt = pae_root(m);
    map64(m, pdpt, 2, true, VAPAE, DATA + 0x2000, 0, RW | US);
    uint64_t regs[4] = { 0, 0, get64(m, entry64(m, pdpt, 2, VAPAE, 2)), 0 };
    struct guest_paging pg = paging(m, CR0_ON, pdpt, GW_CR4_PAE, 0);
    pg.pdptes = regs;
    EXPECT_GPA(&pg, VAPAE, SR, DATA + 0x2000, K4);
    /* the guest rewrote the PDPT in memory without reloading CR3 */
    set64(m, entry64(m, pdpt, 2, VAPAE, 2), 0);
    EXPECT_GPA(&pg, VAPAE, SR, DATA + 0x2000, K4);
    pg.pdptes = NULL;
    EXPECT_PF(&pg, VAPAE, SR, 0);
    /* and a register not present faults although memory has the entry */
    regs[2] = 0;
    pg.pdptes = regs;
    map64(m, pdpt, 2, true, VAPAE, DATA + 0x2000, 0, RW | US);
    EXPECT_PF(&pg, VAPAE, SR, 0);
}

/* ------------------------------------------------------------------ 32-bit paging */

/* PD 0x123, PT 0x045 */
#define VA32 ((0x123u << 22) | (0x045u << 12))

static void map32_4k(struct gmem *m, uint64_t pd, uint32_t va, uint32_t frame, uint32_t pde_flags,
                     uint32_t pte_flags)
{
    uint64_t pdea = pd + (va >> 22) * 4;
    uint32_t pde = get32(m, pdea);
    if (!(pde & P)) {
        pde = (uint32_t)new_table(m);
        set32(m, pdea, pde | P | pde_flags);
    }
    set32(m, (pde & 0xFFFFF000u) + ((va >> 12) & 1023) * 4, frame | P | pte_flags);
}

static void test_32bit_4k(void **state)
{
    struct gmem *m = *state;
    uint64_t pd = new_table(m);
    map32_4k(m, pd, VA32, DATA + 0x4000, RW | US, RW | US);
    map32_4k(m, pd, 0xFFFFF000u, DATA + 0x6000, RW | US, RW);
    struct guest_paging pg = paging(m, CR0_ON | GW_CR0_WP, pd, 0, 0);
    EXPECT_GPA(&pg, VA32 + 0xABC, UW, DATA + 0x4ABC, K4);
    EXPECT_GPA(&pg, 0xFFFFFFFFu, SW, DATA + 0x6FFF, K4);
    EXPECT_GPA(&pg, 0x300000000ull + VA32, SR, DATA + 0x4000, K4); /* 32-bit linear */
    EXPECT_PF(&pg, 0xFFFFF000u, UR, EP | EU);
    EXPECT_PF(&pg, VA32 + K4, SR, 0);      /* no PTE */
    EXPECT_PF(&pg, 0x00400000u, UW, EU | EW); /* no PDE */
    /* 32-bit paging has no NX: I only with SMEP, never from EFER.NXE */
    pg.efer = GW_EFER_NXE;
    EXPECT_PF(&pg, VA32 + K4, UX, EU);
    EXPECT_GPA(&pg, VA32, UX, DATA + 0x4000, K4);
    pg.cr4 = GW_CR4_SMEP;
    EXPECT_PF(&pg, VA32 + K4, UX, EU | EI);
    EXPECT_PF(&pg, VA32, SX, EP | EI);
}

static void test_32bit_rights(void **state)
{
    struct gmem *m = *state;
    /* PDE read-only: the whole 4 MiB is read-only; PTE supervisor: that page */
    uint64_t pd = new_table(m);
    map32_4k(m, pd, VA32, DATA, US, RW | US);
    map32_4k(m, pd, VA32 + K4, DATA + K4, US, RW);
    struct guest_paging pg = paging(m, CR0_ON, pd, 0, 0);
    EXPECT_GPA(&pg, VA32, SW, DATA, K4); /* WP = 0 */
    EXPECT_PF(&pg, VA32, UW, EP | EW | EU);
    EXPECT_GPA(&pg, VA32, UR, DATA, K4);
    EXPECT_PF(&pg, VA32 + K4, UR, EP | EU);
    pg.cr0 |= GW_CR0_WP;
    EXPECT_PF(&pg, VA32, SW, EP | EW);
    /* PTE read-only under a writable PDE */
    set32(m, pd + (VA32 >> 22) * 4, get32(m, pd + (VA32 >> 22) * 4) | RW);
    uint32_t pt = get32(m, pd + (VA32 >> 22) * 4) & 0xFFFFF000u;
    EXPECT_GPA(&pg, VA32, SW, DATA, K4);
    set32(m, pt + ((VA32 >> 12) & 1023) * 4, DATA | P | US);
    EXPECT_PF(&pg, VA32, SW, EP | EW);
}

static void test_32bit_4m_pse36(void **state)
{
    struct gmem *m = *state;
    uint64_t pd = new_table(m);
    /* 4 MiB page at 0xA5_40C0_0000: PSE-36 puts address bits 39:32 in PDE
     * bits 20:13; bit 12 is PAT, not address */
    uint64_t frame = 0xA540C00000ull;
    uint32_t pde = (uint32_t)(frame & 0xFFC00000u) | (uint32_t)(((frame >> 32) & 0xFF) << 13);
    set32(m, pd + (VA32 >> 22) * 4, pde | (uint32_t)(P | RW | US | PS | PAT_LARGE));
    /* top 4 MiB -> physical 0, supervisor */
    set32(m, pd + 0x3FFu * 4, 0x00000000u | (uint32_t)(P | RW | PS));
    struct guest_paging pg = paging(m, CR0_ON, pd, GW_CR4_PSE, 0);
    EXPECT_GPA(&pg, (VA32 & 0xFFC00000u) + 0x3ABCDE, UR, frame + 0x3ABCDE, M4);
    EXPECT_GPA(&pg, (VA32 & 0xFFC00000u), UW, frame, M4);
    EXPECT_GPA(&pg, 0xFFC00000u + 0x1234, SR, 0x1234ull, M4);
    EXPECT_PF(&pg, 0xFFC00000u, UR, EP | EU);
    /* without CR4.PSE, PS is ignored and the PDE points to a page table:
     * here physical page 0, all zero, so nothing is present */
    pg.cr4 = 0;
    EXPECT_PF(&pg, 0xFFC00000u + 0x1234, SR, 0);
    /* PSE on but PS clear: a normal page table */
    pg.cr4 = GW_CR4_PSE;
    set32(m, pd + 0x3FFu * 4, 0);
    map32_4k(m, pd, 0xFFC01000u, DATA + 0x3000, RW, RW);
    EXPECT_GPA(&pg, 0xFFC01008u, SR, DATA + 0x3008, K4);
}

/* With CR4.PAE = 0 entries are 4 bytes wide; with it, 8. */
static void test_entry_sizes(void **state)
{
    struct gmem *m = *state;
    uint64_t pd = new_table(m);
    map32_4k(m, pd, VA32, DATA, RW | US, RW | US);
    /* the next PTE has bit 31 set: an 8-byte read would see it as bit 63 */
    map32_4k(m, pd, VA32 + K4, (DATA + K4) | 0x80000000u, RW | US, RW | US);
    set32(m, pd + 5 * 4, 0x00C00000u | (uint32_t)(P | RW | PS));
    struct guest_paging pg = paging(m, CR0_ON | GW_CR0_WP, pd, GW_CR4_PSE, GW_EFER_NXE);
    memset(m->reads_of_len, 0, sizeof(m->reads_of_len));
    EXPECT_GPA(&pg, VA32, UX, DATA, K4);
    assert_int_equal(m->reads_of_len[4], 2);
    EXPECT_GPA(&pg, VA32 + K4, UR, (DATA + K4) | 0x80000000u, K4);
    EXPECT_GPA(&pg, (5u << 22) + 0x10, SR, 0x00C00010u, M4);
    assert_int_equal(m->reads_of_len[4], 5);
    assert_int_equal(m->reads_of_len[8], 0);

    uint64_t root = lm_root(m);
    map64(m, root, 3, false, VA4, DATA, 0, RW | US);
    struct guest_paging lm = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    memset(m->reads_of_len, 0, sizeof(m->reads_of_len));
    EXPECT_GPA(&lm, VA4, SR, DATA, K4);
    assert_int_equal(m->reads_of_len[8], 4);
    assert_int_equal(m->reads_of_len[4], 0);
}

/* ------------------------------------------------------------------ tables outside RAM */

static void test_tables_outside_ram(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    map64(m, root, 3, false, VA4, DATA, 0, RW | US);
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    uint64_t gpa = 0xdead;
    struct guest_fault f;

    /* CR3 beyond RAM */
    pg.cr3 = 0x80000000ull;
    assert_int_equal(guest_walk(&pg, VA4, SR, &gpa, NULL, &f), -PL_EIO);
    assert_int_equal(f.gpa, 0x80000000ull + index_at(VA4, 3) * 8);
    assert_int_equal(gpa, 0xdead);

    /* the PD lies in a hole */
    pg.cr3 = root;
    uint64_t pd = get64(m, entry64(m, root, 3, VA4, 2)) & ADDR;
    m->hole_lo = pd;
    m->hole_hi = pd + K4;
    assert_int_equal(guest_walk(&pg, VA4, UW, &gpa, NULL, &f), -PL_EIO);
    assert_int_equal(f.gpa, pd + index_at(VA4, 1) * 8);
    assert_int_equal(f.addr, VA4);
    m->hole_lo = m->hole_hi = 0;
    EXPECT_GPA(&pg, VA4, UW, DATA, K4);

    /* a PDE pointing outside RAM */
    set64(m, entry64(m, root, 3, VA4, 1), 0x7FFFF000ull | P | RW | US);
    assert_int_equal(guest_walk(&pg, VA4 + 0x10, SR, &gpa, NULL, NULL), -PL_EIO);
    assert_int_equal(guest_walk(&pg, VA4 + 0x10, SR, &gpa, NULL, &f), -PL_EIO);
    assert_int_equal(f.gpa, 0x7FFFF000ull + index_at(VA4, 0) * 8);

    /* 32-bit paging: the page directory outside RAM */
    struct guest_paging pg32 = paging(m, CR0_ON, 0xF0000000u, 0, 0);
    assert_int_equal(guest_walk(&pg32, 0x00401000u, SR, &gpa, NULL, &f), -PL_EIO);
    assert_int_equal(f.gpa, 0xF0000000u + 1 * 4);

    /* PAE: the PDPT outside RAM */
    struct guest_paging pgp = paging(m, CR0_ON, 0xF0000020u, GW_CR4_PAE, 0);
    assert_int_equal(guest_walk(&pgp, 0xC0000000u, SR, &gpa, NULL, &f), -PL_EIO);
    assert_int_equal(f.gpa, 0xF0000020u + 3 * 8);
}

/* ------------------------------------------------------------------ guest_read_virt */

static void test_read_straddling_pages(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    uint64_t va = VA4;
    /* page va -> frame A, page va+4K -> a lower, unrelated frame B */
    uint64_t fa = DATA + 0x30000, fb = DATA + 0x12000;
    map64(m, root, 3, false, va, fa, 0, RW | US);
    map64(m, root, 3, false, va + K4, fb, 0, RW | US);
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM | GW_EFER_NXE);

    uint8_t buf[15], want[15];
    memcpy(want, m->ram + fa + K4 - 6, 6);
    memcpy(want + 6, m->ram + fb, 9);
    assert_memory_not_equal(want + 6, m->ram + fa + K4, 9); /* contiguity would be caught */
    size_t done = 99;
    struct guest_fault f;
    assert_int_equal(guest_read_virt(&pg, va + K4 - 6, buf, sizeof(buf), UX, &done, &f), 0);
    assert_int_equal(done, 15);
    assert_memory_equal(buf, want, 15);

    /* within one page */
    assert_int_equal(guest_read_virt(&pg, va + 0x100, buf, 15, SR, NULL, NULL), 0);
    assert_memory_equal(buf, m->ram + fa + 0x100, 15);

    /* exactly up to the page end: the next page is not touched */
    clear64(m, entry64(m, root, 3, va + K4, 0), P);
    assert_int_equal(guest_read_virt(&pg, va + K4 - 15, buf, 15, SR, &done, &f), 0);
    assert_int_equal(done, 15);

    /* second page not present: #PF at its first byte, 6 bytes already read */
    memset(buf, 0, sizeof(buf));
    assert_int_equal(guest_read_virt(&pg, va + K4 - 6, buf, 15, UX, &done, &f), -PL_EFAULT);
    assert_int_equal(done, 6);
    assert_int_equal(f.addr, va + K4);
    assert_int_equal(f.error, EU | EI);
    assert_memory_equal(buf, want, 6);

    /* first page not present: nothing read, CR2 is the start */
    clear64(m, entry64(m, root, 3, va, 0), P);
    assert_int_equal(guest_read_virt(&pg, va + K4 - 6, buf, 15, SR, &done, &f), -PL_EFAULT);
    assert_int_equal(done, 0);
    assert_int_equal(f.addr, va + K4 - 6);
    assert_int_equal(f.error, 0);

    /* zero length reads nothing and succeeds */
    assert_int_equal(guest_read_virt(&pg, va, buf, 0, SR, &done, &f), 0);
    assert_int_equal(done, 0);
}

static void test_read_permissions(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    map64(m, root, 3, false, VA4, DATA, 0, RW | US);
    map64(m, root, 3, false, VA4 + K4, DATA + 0x5000, 0, RW | XD); /* supervisor, NX */
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM | GW_EFER_NXE);
    uint8_t buf[8];
    size_t done;
    struct guest_fault f;
    assert_int_equal(guest_read_virt(&pg, VA4 + K4 - 4, buf, 8, UR, &done, &f), -PL_EFAULT);
    assert_int_equal(done, 4);
    assert_int_equal(f.error, EP | EU);
    assert_int_equal(f.addr, VA4 + K4);
    assert_int_equal(guest_read_virt(&pg, VA4 + K4 - 4, buf, 8, SX, &done, &f), -PL_EFAULT);
    assert_int_equal(f.error, EP | EI);
    assert_int_equal(guest_read_virt(&pg, VA4 + K4 - 4, buf, 8, SR, &done, &f), 0);
    assert_memory_equal(buf + 4, m->ram + DATA + 0x5000, 4);
}

static void test_read_many_pages_and_large_pages(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    /* a 2 MiB page over the data area: many 4 KiB chunks, each a separate
     * read_gpa call that must not cross a page (checked by read_gpa) */
    map64(m, root, 3, false, 0x40000000ull, DATA, 1, RW);
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    size_t n = 3 * K4 + 100;
    uint8_t *buf = malloc(n);
    size_t done;
    assert_int_equal(guest_read_virt(&pg, 0x40000000ull + 0x7F0, buf, n, SR, &done, NULL), 0);
    assert_int_equal(done, n);
    assert_memory_equal(buf, m->ram + DATA + 0x7F0, n);
    free(buf);
}

static void test_read_data_outside_ram(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    /* the last page of one page table, then the first of the next */
    uint64_t va = (VA4 & ~(M2 - 1)) + M2 - K4;
    map64(m, root, 3, false, va, DATA, 0, RW);
    map64(m, root, 3, false, va + K4, 0xFEE00000ull, 0, RW); /* e.g. the local APIC */
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    uint8_t buf[16];
    size_t done;
    struct guest_fault f;
    assert_int_equal(guest_read_virt(&pg, va + K4 - 8, buf, 16, SR, &done, &f), -PL_EIO);
    assert_int_equal(done, 8);
    assert_int_equal(f.gpa, 0xFEE00000ull);
    assert_int_equal(f.addr, va + K4);
    assert_memory_equal(buf, m->ram + DATA + K4 - 8, 8);
    /* a table read failing inside guest_read_virt is -PL_EIO too */
    set64(m, entry64(m, root, 3, va + K4, 1), 0x90000000ull | P | RW);
    assert_int_equal(guest_read_virt(&pg, va + K4 - 8, buf, 16, SR, &done, &f), -PL_EIO);
    assert_int_equal(done, 8);
    assert_int_equal(f.gpa, 0x90000000ull);
}

static void test_read_non_canonical(void **state)
{
    struct gmem *m = *state;
    uint64_t root = lm_root(m);
    uint64_t last = 0x00007FFFFFFFF000ull;
    map64(m, root, 3, false, last, DATA, 0, RW | US);
    struct guest_paging pg = paging(m, CR0_ON, root, GW_CR4_PAE, EFER_LM);
    uint8_t buf[8];
    size_t done;
    /* runs off the end of the low half */
    assert_int_equal(guest_read_virt(&pg, last + K4 - 2, buf, 8, SR, &done, NULL), -PL_EINVAL);
    assert_int_equal(done, 2);
}

static void test_read_32bit_wraps(void **state)
{
    struct gmem *m = *state;
    uint64_t pd = new_table(m);
    map32_4k(m, pd, 0xFFFFF000u, DATA + 0x7000, RW, RW);
    map32_4k(m, pd, 0x00000000u, DATA + 0x1000, RW, RW);
    struct guest_paging pg = paging(m, CR0_ON, pd, 0, 0);
    uint8_t buf[8], want[8];
    memcpy(want, m->ram + DATA + 0x7FFD, 3);
    memcpy(want + 3, m->ram + DATA + 0x1000, 5);
    size_t done;
    assert_int_equal(guest_read_virt(&pg, 0xFFFFFFFDu, buf, 8, SR, &done, NULL), 0);
    assert_int_equal(done, 8);
    assert_memory_equal(buf, want, 8);
    /* past the wrap, page 0 is not RAM: the fault names linear address 0 */
    map32_4k(m, pd, 0x00000000u, 0xFEC00000u, RW, RW);
    struct guest_fault f;
    assert_int_equal(guest_read_virt(&pg, 0xFFFFFFFDu, buf, 8, SR, &done, &f), -PL_EIO);
    assert_int_equal(done, 3);
    assert_int_equal(f.addr, 0);
    assert_int_equal(f.gpa, 0xFEC00000u);

    /* paging off wraps at 4 GiB as well */
    struct guest_paging off = paging(m, CR0_PE, 0, 0, 0);
    assert_int_equal(guest_read_virt(&off, 0x100000000ull + DATA + 0x20, buf, 8, SR, &done, NULL), 0);
    assert_memory_equal(buf, m->ram + DATA + 0x20, 8);
    assert_int_equal(guest_read_virt(&off, 0xFFFFFFFCu, buf, 8, SR, &done, NULL), -PL_EIO);
    assert_int_equal(done, 0);
    assert_int_equal(guest_read_virt(&off, 0x1FEE00000ull, buf, 8, SR, &done, &f), -PL_EIO);
    assert_int_equal(f.addr, 0xFEE00000u);
    assert_int_equal(f.gpa, 0xFEE00000u);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_paging_off),
        T(test_4level_4k),
        T(test_4level_high_half),
        T(test_4level_2m),
        T(test_4level_1g),
        T(test_4level_not_present_each_level),
        T(test_4level_read_only_each_level),
        T(test_4level_supervisor_each_level),
        T(test_4level_nx_each_level),
        T(test_4level_large_page_rights),
        T(test_smep_smap),
        T(test_non_canonical),
        T(test_lma_without_pae),
        T(test_5level),
        T(test_pae),
        T(test_pae_pdpte_grants_all),
        T(test_pae_nx),
        T(test_pae_pdpte_registers),
        T(test_32bit_4k),
        T(test_32bit_rights),
        T(test_32bit_4m_pse36),
        T(test_entry_sizes),
        T(test_tables_outside_ram),
        T(test_read_straddling_pages),
        T(test_read_permissions),
        T(test_read_many_pages_and_large_pages),
        T(test_read_data_outside_ram),
        T(test_read_non_canonical),
        T(test_read_32bit_wraps),
    };
#undef T
    return cmocka_run_group_tests_name("guest_walk", tests, NULL, NULL);
}
