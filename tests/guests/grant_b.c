/* SPDX-License-Identifier: MIT */
/* Grant tables, side B (dom2, the grantee; grant_a is dom1, see there for
 * A's refs and the mailbox in page RW, ref 1). Waits (by copying the
 * mailbox) until A offered its pages, checks the argument errors of COPY
 * and MAP, copies both pages, writes into ref 1 by copy (a write into
 * read-only ref 0 is refused), maps ref 1 read-write and ref 0 read-only in
 * the grant window and reads and writes through them, unmaps ref 0, sees
 * its copy of the revoked ref 0 fail, and keeps ref 1 mapped while A exits:
 * once A's grants are gone (COPY says -ESRCH) the mapping must be gone too,
 * and a read of it must stop this guest (the summary comes before it). */
#include "guest.h"
#include "plinth/grant.h"

GUEST("grant_b");

#define A_DOM 1
#define SELF_DOM 2
#define POLLS 20000000u
#define RAM_END (16ull << 20)
#define OUTSIDE 0xC0000000ull
#define WIN GRANT_MAP_BASE
#define MAP_RW (WIN + 0x1000)   /* ref 1 */
#define MAP_RO (WIN + 0x2000)   /* ref 0 */

struct mbox {
    volatile uint64_t a_state;
    volatile uint64_t b_state;
    volatile uint64_t a_word;
    uint64_t reserved[5];
};
#define MBOX ((struct mbox *)MAP_RW)

static uint8_t buf[4096] __attribute__((aligned(4096)));
static uint8_t out[4096];
static uint64_t grant_pd[512] __attribute__((aligned(4096)));

static long g_copy(uint64_t dom, uint64_t ref, uint64_t off, uint64_t gpa, uint64_t len)
{
    return hypercall(HC_GRANT_COPY, dom, ref, off, gpa, len);
}
static long g_map(uint64_t dom, uint64_t ref, uint64_t gpa, uint64_t fl) { return hypercall(HC_GRANT_MAP, dom, ref, gpa, fl, 0); }
static long g_unmap(uint64_t gpa) { return hypercall(HC_GRANT_UNMAP, gpa, 0, 0, 0, 0); }

static uint8_t ro_byte(unsigned i) { return (uint8_t)((i * 13 + 1) ^ 0x5A); }
static uint8_t rw_byte(unsigned i) { return (uint8_t)(i * 7 + 3); }
static uint8_t b_copy_byte(unsigned i) { return (uint8_t)(i ^ 0xB2); }
static uint8_t b_map_byte(unsigned i) { return (uint8_t)((i * 3) ^ 0x4D); }

/* The library maps the low 4 GiB only: map the first 2 MiB of the grant
 * window (identity) in our page tables. Nothing is behind it in the
 * second-level tables until HC_GRANT_MAP. */
static void map_window(void)
{
    uint64_t cr3;
    __asm__ __volatile__("mov %%cr3, %0" : "=r"(cr3));
    uint64_t *pml4 = (uint64_t *)(cr3 & ~0xFFFull);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & 0x000FFFFFFFFFF000ull);
    grant_pd[0] = WIN | 0x83; /* present, writable, 2 MiB */
    pdpt[WIN >> 30] = (uintptr_t)grant_pd | 0x3;
    __asm__ __volatile__("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

/* A's a_state, by copying the mailbox out of ref 1 (retrying while A has
 * not offered it yet). */
static bool wait_offers(void)
{
    uint64_t st = 0;
    long r = 0;
    for (unsigned i = 0; i < POLLS; i++) {
        r = g_copy(A_DOM, 1, 0, (uintptr_t)&st, 8);
        if (r == 8 && st >= 1)
            return true;
        if (r != 8 && r != -PL_ESRCH && r != -PL_ENOENT)
            break;
        hc_yield();
    }
    printf("grant_b: waiting for dom1's offers: %ld, state %lu\n", r, st);
    return false;
}

static bool wait_a(uint64_t state)
{
    for (unsigned i = 0; i < POLLS; i++) {
        if (MBOX->a_state >= state)
            return true;
        hc_yield();
    }
    return false;
}

static void test_copy_errors(void)
{
    uint64_t b = (uintptr_t)buf;
    CHECK_EQ(g_copy(A_DOM, GRANT_MAX_REFS, 0, b, 8), -PL_EINVAL, "COPY ref 256: -EINVAL");
    CHECK_EQ(g_copy(A_DOM, 1ull << 32 | 1, 0, b, 8), -PL_EINVAL, "COPY ref 2^32 + 1, not truncated: -EINVAL");
    CHECK_EQ(g_copy(A_DOM, 5, 0, b, 8), -PL_ENOENT, "COPY ref 5 (never offered): -ENOENT");
    CHECK_EQ(g_copy(A_DOM, 3, 0, b, 8), -PL_ENOENT, "COPY ref 3 (revoked): -ENOENT");
    CHECK_EQ(g_copy(A_DOM, 2, 0, b, 8), -PL_EPERM, "COPY ref 2 (offered to dom3): -EPERM");
    CHECK_EQ(g_copy(A_DOM, 2, 0, b, 8 | GRANT_COPY_TO_GRANT), -PL_EPERM, "COPY into ref 2 (dom3's): -EPERM");
    CHECK_EQ(g_copy(A_DOM, 0, 0, b, 16 | GRANT_COPY_TO_GRANT), -PL_EPERM, "COPY into read-only ref 0: -EPERM");
    CHECK_EQ(g_copy(A_DOM, 1, 4096, b, 1), -PL_EINVAL, "COPY at offset 4096: -EINVAL");
    CHECK_EQ(g_copy(A_DOM, 1, 4000, b, 100), -PL_EINVAL, "COPY crossing the end of the page: -EINVAL");
    CHECK_EQ(g_copy(A_DOM, 1, ~0ull, b, 2), -PL_EINVAL, "COPY at offset 2^64 - 1: -EINVAL");
    CHECK_EQ(g_copy(A_DOM, 1, 0, b, 0), -PL_EINVAL, "COPY of 0 bytes: -EINVAL");
    CHECK_EQ(g_copy(A_DOM, 1, 0, b, 4097), -PL_EINVAL, "COPY of 4097 bytes: -EINVAL");
    CHECK_EQ(g_copy(A_DOM, 1, 0, b, 16 | 1ull << 33), -PL_EINVAL, "COPY with unknown flag bits: -EINVAL");
    CHECK_EQ(g_copy(A_DOM, 1, 0, OUTSIDE, 16), -PL_EFAULT, "COPY to a buffer outside RAM: -EFAULT");
    CHECK_EQ(g_copy(A_DOM, 1, 0, RAM_END - 8, 16), -PL_EFAULT, "COPY to a buffer crossing the end of RAM: -EFAULT");
    CHECK_EQ(g_copy(A_DOM, 1, 0, -8ull, 16 | GRANT_COPY_TO_GRANT), -PL_EFAULT, "COPY from a wrapping buffer: -EFAULT");
    CHECK_EQ(g_copy(SELF_DOM, 1, 0, b, 8), -PL_EINVAL, "COPY from itself: -EINVAL");
    CHECK_EQ(g_copy(999, 1, 0, b, 8), -PL_ESRCH, "COPY from dom999: -ESRCH");
    CHECK_EQ(g_copy(1ull << 32 | A_DOM, 1, 0, b, 8), -PL_ESRCH, "COPY from dom 2^32 + 1, not truncated: -ESRCH");
}

static void test_copies(void)
{
    CHECK_EQ(g_copy(A_DOM, 0, 0, (uintptr_t)buf, 4096), 4096, "COPY all of read-only ref 0");
    bool ok = true;
    for (unsigned i = 0; i < 4096; i++)
        ok = ok && buf[i] == ro_byte(i);
    CHECK(ok, "ref 0 holds page RO's bytes");
    CHECK_EQ(g_copy(A_DOM, 1, 64, (uintptr_t)buf + 64, 4096 - 64), 4096 - 64, "COPY bytes 64..4095 of ref 1");
    ok = true;
    for (unsigned i = 64; i < 4096; i++)
        ok = ok && buf[i] == rw_byte(i);
    CHECK(ok, "ref 1 holds page RW's bytes");
    for (unsigned i = 0; i < 4096; i++)
        out[i] = b_copy_byte(i);
    CHECK_EQ(g_copy(A_DOM, 1, 2048, (uintptr_t)out + 2048, 1024 | GRANT_COPY_TO_GRANT), 1024,
             "COPY 1024 bytes into ref 1 at 2048");
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(g_copy(A_DOM, 1, 2048, (uintptr_t)buf, 1024), 1024, "COPY them back");
    CHECK(memcmp(buf, out + 2048, 1024) == 0, "the bytes written are in ref 1");
    /* a buffer crossing a 2 MiB chunk of our RAM */
    uint64_t cross = (2ull << 20) - 100;
    CHECK_EQ(g_copy(A_DOM, 0, 0, cross, 200), 200, "COPY to a buffer crossing a 2 MiB boundary");
    ok = true;
    for (unsigned i = 0; i < 200; i++)
        ok = ok && ((volatile uint8_t *)cross)[i] == ro_byte(i);
    CHECK(ok, "the bytes arrived on both sides of the boundary");
}

static void test_map_errors(void)
{
    CHECK_EQ(g_map(A_DOM, 1, WIN + 8, 0), -PL_EINVAL, "MAP at an unaligned address: -EINVAL");
    CHECK_EQ(g_map(A_DOM, 1, 0x100000, 0), -PL_EINVAL, "MAP over our RAM: -EINVAL");
    CHECK_EQ(g_map(A_DOM, 1, 0xFEB00000ull, 0), -PL_EINVAL, "MAP over the test device: -EINVAL");
    CHECK_EQ(g_map(A_DOM, 1, WIN - 4096, 0), -PL_EINVAL, "MAP below the window: -EINVAL");
    CHECK_EQ(g_map(A_DOM, 1, WIN + GRANT_MAP_SIZE, 0), -PL_EINVAL, "MAP above the window: -EINVAL");
    CHECK_EQ(g_map(A_DOM, 1, 64ull << 30, 0), -PL_EINVAL, "MAP in the foreign-mapping area: -EINVAL");
    CHECK_EQ(g_map(A_DOM, 1, WIN, 2), -PL_EINVAL, "MAP with unknown flags: -EINVAL");
    CHECK_EQ(g_map(A_DOM, GRANT_MAX_REFS, WIN, 0), -PL_EINVAL, "MAP ref 256: -EINVAL");
    CHECK_EQ(g_map(SELF_DOM, 1, WIN, 0), -PL_EINVAL, "MAP from itself: -EINVAL");
    CHECK_EQ(g_map(999, 1, WIN, 0), -PL_ESRCH, "MAP from dom999: -ESRCH");
    CHECK_EQ(g_map(A_DOM, 3, WIN, GRANT_MAP_READONLY), -PL_ENOENT, "MAP revoked ref 3: -ENOENT");
    CHECK_EQ(g_map(A_DOM, 2, WIN, GRANT_MAP_READONLY), -PL_EPERM, "MAP ref 2 (dom3's): -EPERM");
    CHECK_EQ(g_map(A_DOM, 0, WIN, 0), -PL_EPERM, "MAP read-only ref 0 writable: -EPERM");
    CHECK_EQ(g_unmap(WIN), -PL_ENOENT, "UNMAP with nothing mapped: -ENOENT");
}

static void test_maps(void)
{
    CHECK_EQ(g_map(A_DOM, 1, MAP_RW, 0), 0, "MAP ref 1 read-write at WIN + 0x1000");
    CHECK_EQ(g_map(A_DOM, 1, WIN + 0x3000, 0), -PL_EBUSY, "MAP ref 1 again elsewhere: -EBUSY");
    CHECK_EQ(g_map(A_DOM, 0, MAP_RW, GRANT_MAP_READONLY), -PL_EEXIST, "MAP ref 0 over ref 1's address: -EEXIST");
    CHECK_EQ(g_map(A_DOM, 0, MAP_RO, GRANT_MAP_READONLY), 0, "MAP ref 0 read-only at WIN + 0x2000");
    const volatile uint8_t *ro = (const volatile uint8_t *)MAP_RO;
    volatile uint8_t *rw = (volatile uint8_t *)MAP_RW;
    bool ok = true;
    for (unsigned i = 0; i < 4096; i++)
        ok = ok && ro[i] == ro_byte(i);
    CHECK(ok, "reading through the read-only mapping: page RO's bytes");
    ok = true;
    for (unsigned i = 64; i < 2048; i++)
        ok = ok && rw[i] == rw_byte(i);
    for (unsigned i = 2048; i < 3072; i++)
        ok = ok && rw[i] == b_copy_byte(i);
    CHECK(ok, "reading through the read-write mapping: page RW's bytes and our copy");
    CHECK_EQ(MBOX->a_state, 1, "the mailbox through the mapping: a_state 1");
    for (unsigned i = 1024; i < 2048; i++)
        rw[i] = b_map_byte(i);
    MBOX->b_state = 2;
}

int main(void)
{
    map_window();
    CHECK(wait_offers(), "dom1 offered its pages (a_state 1, copied from ref 1)");
    test_copy_errors();
    test_copies();
    test_map_errors();
    test_maps();

    CHECK(wait_a(2), "dom1 checked our writes (a_state 2, through the mapping)");
    CHECK_EQ(MBOX->a_word, 0xA5A5F00D12345678ull, "dom1's later write is visible through the mapping");
    CHECK_EQ(g_unmap(MAP_RO), 0, "UNMAP ref 0");
    CHECK_EQ(g_unmap(MAP_RO), -PL_ENOENT, "UNMAP it again: -ENOENT");
    CHECK_EQ(g_unmap(MAP_RW + 8), -PL_EINVAL, "UNMAP of an unaligned address: -EINVAL");
    CHECK_EQ(g_unmap(0x100000), -PL_EINVAL, "UNMAP of a RAM address: -EINVAL");
    MBOX->b_state = 3;

    CHECK(wait_a(3), "dom1 revoked ref 0 (a_state 3)");
    CHECK_EQ(g_copy(A_DOM, 0, 0, (uintptr_t)buf, 16), -PL_ENOENT, "COPY of revoked ref 0: -ENOENT");
    CHECK_EQ(g_map(A_DOM, 0, MAP_RO, GRANT_MAP_READONLY), -PL_ENOENT, "MAP of revoked ref 0: -ENOENT");
    MBOX->b_state = 4;

    /* dom1 exits now, with ref 1 mapped here */
    uint64_t st = 0;
    long r = 0;
    unsigned copies = 0;
    for (unsigned i = 0; i < POLLS && (r = g_copy(A_DOM, 1, 0, (uintptr_t)&st, 8)) == 8; i++) {
        copies++;
        hc_yield();
    }
    printf("grant_b: %u copies while dom1 went away, then %ld\n", copies, r);
    CHECK_EQ(r, -PL_ESRCH, "once dom1 is gone its grants are: COPY -ESRCH");
    CHECK_EQ(g_unmap(MAP_RW), -PL_ENOENT, "the mapping of dom1's page went with dom1: UNMAP -ENOENT");
    CHECK_EQ(g_map(A_DOM, 1, MAP_RW, 0), -PL_ESRCH, "MAP from the gone dom1: -ESRCH");
    printf("grant_b: %u passed, %u failed; now reading the removed mapping (must be stopped)\n", tests_passed(),
           tests_failed());
    uint64_t v = *(volatile uint64_t *)MAP_RW;
    printf("FAIL: still running after reading the removed mapping (read 0x%lx)\n", v);
    guest_exit(1);
}
