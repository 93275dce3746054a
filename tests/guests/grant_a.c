/* SPDX-License-Identifier: MIT */
/* Grant tables, side A (dom1, the granter; grant_b is dom2, the grantee).
 * Argument errors first; then, in this order (so dom2 knows the refs): ref 0
 * = page RO offered read-only to dom2, ref 1 = page RW read-write to dom2,
 * ref 2 = page RW to dom3 (dom2's use of it must be refused), ref 3 offered
 * and revoked at once. Page RW doubles as the mailbox of the two guests
 * (struct mbox at its start): A writes a_state in its own RAM, B reads it by
 * copy or through its mapping and answers in b_state. Phases: B copies and
 * maps and writes, A verifies the writes and fails to revoke mapped grants,
 * B unmaps the read-only one, A revokes it, B's copy of it fails, and A
 * exits while B still maps ref 1 (grant_b checks the mapping goes with A). */
#include "guest.h"
#include "plinth/grant.h"
#include "plinth/ioreq.h"

GUEST("grant_a");

#define SELF_DOM 1
#define B_DOM 2
#define C_DOM 3
#define POLLS 20000000u
#define RAM_PAGES ((16u << 20) / 4096)

struct mbox {
    volatile uint64_t a_state;  /* written by A */
    volatile uint64_t b_state;  /* written by B (copy or mapping) */
    volatile uint64_t a_word;   /* A's change B must see through its mapping */
    uint64_t reserved[5];
};

static uint8_t ro_page[4096] __attribute__((aligned(4096)));
static uint8_t rw_page[4096] __attribute__((aligned(4096)));
#define MBOX ((struct mbox *)rw_page)

static long g_offer(uint64_t dom, uint64_t gfn, uint64_t fl) { return hypercall(HC_GRANT_OFFER, dom, gfn, fl, 0, 0); }
static long g_revoke(uint64_t ref) { return hypercall(HC_GRANT_REVOKE, ref, 0, 0, 0, 0); }
static long g_status(uint64_t ref) { return hypercall(HC_GRANT_STATUS, ref, 0, 0, 0, 0); }
static long g_copy(uint64_t dom, uint64_t ref, uint64_t off, uint64_t gpa, uint64_t len)
{
    return hypercall(HC_GRANT_COPY, dom, ref, off, gpa, len);
}
static long g_map(uint64_t dom, uint64_t ref, uint64_t gpa, uint64_t fl) { return hypercall(HC_GRANT_MAP, dom, ref, gpa, fl, 0); }
static long g_unmap(uint64_t gpa) { return hypercall(HC_GRANT_UNMAP, gpa, 0, 0, 0, 0); }
static uint64_t gfn_of(const void *p) { return (uintptr_t)p >> 12; }
static long status_word(unsigned flags, uint64_t dom) { return (long)(flags | dom << 32); }

/* The byte patterns both guests know. */
static uint8_t ro_byte(unsigned i) { return (uint8_t)((i * 13 + 1) ^ 0x5A); }
static uint8_t rw_byte(unsigned i) { return (uint8_t)(i * 7 + 3); }
static uint8_t b_copy_byte(unsigned i) { return (uint8_t)(i ^ 0xB2); }
static uint8_t b_map_byte(unsigned i) { return (uint8_t)((i * 3) ^ 0x4D); }

static bool wait_b(uint64_t state)
{
    for (unsigned i = 0; i < POLLS; i++) {
        if (MBOX->b_state >= state)
            return true;
        hc_yield();
    }
    return false;
}

static void test_errors(void)
{
    static uint8_t buf[64];
    CHECK_EQ(g_status(0), 0, "before any offer: STATUS(0) is 0");
    CHECK_EQ(g_status(GRANT_MAX_REFS), -PL_EINVAL, "STATUS(256): -EINVAL");
    CHECK_EQ(g_revoke(0), -PL_ENOENT, "before any offer: REVOKE(0): -ENOENT");
    CHECK_EQ(g_revoke(GRANT_MAX_REFS), -PL_EINVAL, "REVOKE(256): -EINVAL");
    CHECK_EQ(g_revoke(~0ull), -PL_EINVAL, "REVOKE(2^64 - 1): -EINVAL");
    CHECK_EQ(g_offer(0, gfn_of(ro_page), 0), -PL_EINVAL, "OFFER to dom0: -EINVAL");
    CHECK_EQ(g_offer(SELF_DOM, gfn_of(ro_page), 0), -PL_EINVAL, "OFFER to itself: -EINVAL");
    CHECK_EQ(g_offer(DOMID_HYPERVISOR, gfn_of(ro_page), 0), -PL_EINVAL, "OFFER to DOMID_HYPERVISOR: -EINVAL");
    CHECK_EQ(g_offer(1ull << 32 | B_DOM, gfn_of(ro_page), 0), -PL_EINVAL, "OFFER to 2^32 + 2, not truncated: -EINVAL");
    CHECK_EQ(g_offer(B_DOM, RAM_PAGES, 0), -PL_EFAULT, "OFFER of the page after RAM: -EFAULT");
    CHECK_EQ(g_offer(B_DOM, 1ull << 32, 0), -PL_EFAULT, "OFFER of gfn 2^32: -EFAULT");
    CHECK_EQ(g_offer(B_DOM, ~0ull, 0), -PL_EFAULT, "OFFER of gfn 2^64 - 1: -EFAULT");
    CHECK_EQ(g_offer(B_DOM, gfn_of(ro_page), 2), -PL_EINVAL, "OFFER with unknown flags: -EINVAL");
    CHECK_EQ(g_copy(SELF_DOM, 0, 0, (uintptr_t)buf, 8), -PL_EINVAL, "COPY from itself: -EINVAL");
    CHECK_EQ(g_copy(999, 0, 0, (uintptr_t)buf, 8), -PL_ESRCH, "COPY from dom999: -ESRCH");
    CHECK_EQ(g_map(999, 0, GRANT_MAP_BASE, 0), -PL_ESRCH, "MAP from dom999: -ESRCH");
    CHECK_EQ(g_unmap(GRANT_MAP_BASE), -PL_ENOENT, "UNMAP with nothing mapped: -ENOENT");
    CHECK_EQ(g_unmap(GRANT_MAP_BASE + 8), -PL_EINVAL, "UNMAP of an unaligned address: -EINVAL");
}

static void test_offers(void)
{
    CHECK_EQ(g_offer(B_DOM, gfn_of(ro_page), GRANT_READONLY), 0, "OFFER page RO read-only to dom2: ref 0");
    CHECK_EQ(g_offer(B_DOM, gfn_of(rw_page), 0), 1, "OFFER page RW read-write to dom2: ref 1");
    CHECK_EQ(g_offer(C_DOM, gfn_of(rw_page), 0), 2, "OFFER page RW to dom3: ref 2");
    CHECK_EQ(g_offer(B_DOM, gfn_of(ro_page), 0), 3, "OFFER page RO to dom2 again: ref 3");
    CHECK_EQ(g_revoke(3), 0, "REVOKE(3)");
    CHECK_EQ(g_status(0), status_word(GRANT_VALID | GRANT_READONLY, B_DOM), "STATUS(0): valid, read-only, dom2");
    CHECK_EQ(g_status(1), status_word(GRANT_VALID, B_DOM), "STATUS(1): valid, dom2");
    CHECK_EQ(g_status(2), status_word(GRANT_VALID, C_DOM), "STATUS(2): valid, dom3");
    CHECK_EQ(g_status(3), 0, "STATUS(3): free after REVOKE");
    CHECK_EQ(g_revoke(3), -PL_ENOENT, "REVOKE(3) again: -ENOENT");
}

int main(void)
{
    for (unsigned i = 0; i < 4096; i++) {
        ro_page[i] = ro_byte(i);
        rw_page[i] = rw_byte(i);
    }
    memset(rw_page, 0, sizeof(struct mbox));
    test_errors();
    test_offers();
    MBOX->a_state = 1;

    CHECK(wait_b(2), "dom2 copied, mapped and wrote (b_state 2)");
    bool same = true, b_copy = true, b_map = true;
    for (unsigned i = 64; i < 1024; i++)
        same = same && rw_page[i] == rw_byte(i);
    for (unsigned i = 3072; i < 4096; i++)
        same = same && rw_page[i] == rw_byte(i);
    for (unsigned i = 1024; i < 2048; i++)
        b_map = b_map && rw_page[i] == b_map_byte(i);
    for (unsigned i = 2048; i < 3072; i++)
        b_copy = b_copy && rw_page[i] == b_copy_byte(i);
    CHECK(b_copy, "dom2's COPY into ref 1 (bytes 2048..3071) arrived in page RW");
    CHECK(b_map, "dom2's writes through its mapping of ref 1 (bytes 1024..2047) arrived in page RW");
    CHECK(same, "the rest of page RW is unchanged");
    bool ro_same = true;
    for (unsigned i = 0; i < 4096; i++)
        ro_same = ro_same && ro_page[i] == ro_byte(i);
    CHECK(ro_same, "page RO (read-only grant) is unchanged");
    CHECK_EQ(g_status(0), status_word(GRANT_VALID | GRANT_READONLY | GRANT_MAPPED, B_DOM), "STATUS(0): mapped");
    CHECK_EQ(g_status(1), status_word(GRANT_VALID | GRANT_MAPPED, B_DOM), "STATUS(1): mapped");
    CHECK_EQ(g_revoke(0), -PL_EBUSY, "REVOKE(0) while dom2 maps it: -EBUSY");
    CHECK_EQ(g_revoke(1), -PL_EBUSY, "REVOKE(1) while dom2 maps it: -EBUSY");
    MBOX->a_word = 0xA5A5F00D12345678ull;
    MBOX->a_state = 2;

    CHECK(wait_b(3), "dom2 unmapped ref 0 (b_state 3)");
    CHECK_EQ(g_status(0), status_word(GRANT_VALID | GRANT_READONLY, B_DOM), "STATUS(0): no longer mapped");
    CHECK_EQ(g_revoke(0), 0, "REVOKE(0) after dom2 unmapped it");
    CHECK_EQ(g_revoke(0), -PL_ENOENT, "REVOKE(0) again: -ENOENT");
    CHECK_EQ(g_status(0), 0, "STATUS(0): free");
    MBOX->a_state = 3;

    CHECK(wait_b(4), "dom2 saw the revocation (b_state 4)");
    CHECK_EQ(g_revoke(1), -PL_EBUSY, "REVOKE(1) while dom2 still maps it: -EBUSY");
    printf("grant_a: exiting while dom2 maps ref 1\n");
    return tests_failed();
}
