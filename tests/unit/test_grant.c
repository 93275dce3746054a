/* Unit tests of the grant-table bookkeeping (hv/grant_core.c): offers and
 * refs, every argument error, access checks (grantee, read-only), copy
 * arguments, the mapping slots (busy, overlap, full), revoke while mapped,
 * and the destroy rules (others' mappings of a dying granter are unmapped
 * and synced before it goes; a dying grantee releases the entries; no table
 * points at a destroyed one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hv/grant_core.h"
#include "plinth/errno.h"

#define A_ID 1
#define B_ID 2
#define C_ID 3
#define RAM (16ull << 20)
#define PAGES (RAM / GRANT_PAGE_SIZE)
#define WIN GRANT_MAP_BASE

static struct grant_domain *a, *b, *c;
static struct grant_registry reg;

struct unmap_call {
    struct grant_domain *holder;
    uint64_t gpa;
};
static struct unmap_call unmaps[64];
static unsigned n_unmaps;
static struct grant_domain *synced[8];
static unsigned n_syncs;

static void rec_unmap(struct grant_domain *h, uint64_t gpa, void *ctx)
{
    assert_ptr_equal(ctx, &reg);
    assert_true(n_unmaps < 64);
    unmaps[n_unmaps++] = (struct unmap_call){ h, gpa };
}

static void rec_sync(struct grant_domain *h, void *ctx)
{
    assert_ptr_equal(ctx, &reg);
    /* h's unmaps came just before its sync */
    assert_true(n_unmaps > 0);
    assert_ptr_equal(unmaps[n_unmaps - 1].holder, h);
    assert_true(n_syncs < 8);
    synced[n_syncs++] = h;
}

static int setup(void **state)
{
    (void)state;
    a = calloc(1, sizeof(*a));
    b = calloc(1, sizeof(*b));
    c = calloc(1, sizeof(*c));
    reg.head = NULL;
    grant_core_init(a, A_ID, RAM, a);
    grant_core_init(b, B_ID, RAM, b);
    grant_core_init(c, C_ID, RAM, c);
    grant_core_register(&reg, a);
    grant_core_register(&reg, b);
    grant_core_register(&reg, c);
    n_unmaps = n_syncs = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(a);
    free(b);
    free(c);
    return 0;
}

/* No slot of any registered table points at a table that is not registered,
 * and every MAPPED entry has exactly one slot pointing at it. */
static void check_consistent(void)
{
    for (struct grant_domain *h = reg.head; h; h = h->next)
        for (unsigned i = 0; i < GRANT_MAX_MAPS; i++) {
            const struct grant_map *s = &h->maps[i];
            if (!s->gpa)
                continue;
            assert_true(grant_window_page(s->gpa));
            assert_ptr_equal(grant_core_find(&reg, s->granter->domid), s->granter);
            assert_true(s->granter->entries[s->ref].flags & GRANT_MAPPED);
            assert_int_equal(s->granter->entries[s->ref].grantee, h->domid);
        }
    for (struct grant_domain *g = reg.head; g; g = g->next)
        for (unsigned r = 0; r < GRANT_MAX_REFS; r++) {
            if (!(g->entries[r].flags & GRANT_MAPPED))
                continue;
            unsigned holders = 0;
            for (struct grant_domain *h = reg.head; h; h = h->next)
                for (unsigned i = 0; i < GRANT_MAX_MAPS; i++)
                    holders += h->maps[i].gpa && h->maps[i].granter == g && h->maps[i].ref == r;
            assert_int_equal(holders, 1);
        }
}

static void test_registry(void **state)
{
    (void)state;
    assert_ptr_equal(grant_core_find(&reg, A_ID), a);
    assert_ptr_equal(grant_core_find(&reg, B_ID), b);
    assert_ptr_equal(grant_core_find(&reg, C_ID), c);
    assert_null(grant_core_find(&reg, 4));
    assert_null(grant_core_find(&reg, (1ull << 32) | A_ID)); /* not truncated */
    assert_int_equal(a->ram_pages, PAGES);
}

static void test_offer(void **state)
{
    (void)state;
    assert_int_equal(grant_core_offer(a, B_ID, 5, GRANT_READONLY), 0);
    assert_int_equal(grant_core_offer(a, B_ID, 6, 0), 1);
    assert_int_equal(grant_core_offer(a, C_ID, 6, 0), 2); /* the same page twice: fine */
    assert_int_equal(grant_core_status(a, 0), GRANT_VALID | GRANT_READONLY | (int64_t)B_ID << 32);
    assert_int_equal(grant_core_status(a, 1), GRANT_VALID | (int64_t)B_ID << 32);
    assert_int_equal(grant_core_status(a, 2), GRANT_VALID | (int64_t)C_ID << 32);
    assert_int_equal(grant_core_status(a, 3), 0);
    assert_int_equal(grant_core_status(a, GRANT_MAX_REFS), -PL_EINVAL);
    assert_int_equal(grant_core_status(NULL, 0), 0);
    assert_int_equal(grant_core_status(NULL, ~0ull), -PL_EINVAL);
    /* revoke frees the lowest ref again */
    assert_int_equal(grant_core_revoke(a, 1), 0);
    assert_int_equal(grant_core_status(a, 1), 0);
    assert_int_equal(grant_core_offer(a, B_ID, PAGES - 1, 0), 1);
}

static void test_offer_errors(void **state)
{
    (void)state;
    assert_int_equal(grant_core_offer(a, B_ID, 0, 2), -PL_EINVAL);
    assert_int_equal(grant_core_offer(a, B_ID, 0, ~0ull), -PL_EINVAL);
    assert_int_equal(grant_core_offer(a, B_ID, 0, 1ull << 32), -PL_EINVAL);
    assert_int_equal(grant_core_offer(a, 0, 0, 0), -PL_EINVAL);
    assert_int_equal(grant_core_offer(a, A_ID, 0, 0), -PL_EINVAL);
    assert_int_equal(grant_core_offer(a, GRANT_DOMID_LIMIT, 0, 0), -PL_EINVAL);
    assert_int_equal(grant_core_offer(a, (1ull << 32) | B_ID, 0, 0), -PL_EINVAL);
    assert_int_equal(grant_core_offer(a, ~0ull, 0, 0), -PL_EINVAL);
    assert_int_equal(grant_core_offer(a, B_ID, PAGES, 0), -PL_EFAULT);
    assert_int_equal(grant_core_offer(a, B_ID, 1ull << 32, 0), -PL_EFAULT);
    assert_int_equal(grant_core_offer(a, B_ID, ~0ull, 0), -PL_EFAULT);
    for (unsigned i = 0; i < GRANT_MAX_REFS; i++)
        assert_int_equal(grant_core_offer(a, B_ID, i % PAGES, 0), (int)i);
    assert_int_equal(grant_core_offer(a, B_ID, 0, 0), -PL_ENOSPC);
}

static void test_revoke_errors(void **state)
{
    (void)state;
    assert_int_equal(grant_core_revoke(NULL, 0), -PL_ENOENT);
    assert_int_equal(grant_core_revoke(NULL, GRANT_MAX_REFS), -PL_EINVAL);
    assert_int_equal(grant_core_revoke(a, 0), -PL_ENOENT);
    assert_int_equal(grant_core_revoke(a, GRANT_MAX_REFS), -PL_EINVAL);
    assert_int_equal(grant_core_revoke(a, (1ull << 32)), -PL_EINVAL);
    assert_int_equal(grant_core_revoke(a, ~0ull), -PL_EINVAL);
    assert_int_equal(grant_core_offer(a, B_ID, 1, 0), 0);
    assert_int_equal(grant_core_revoke(a, 0), 0);
    assert_int_equal(grant_core_revoke(a, 0), -PL_ENOENT);
}

static void test_access(void **state)
{
    (void)state;
    uint32_t gfn = 99;
    assert_int_equal(grant_core_offer(a, B_ID, 5, GRANT_READONLY), 0);
    assert_int_equal(grant_core_offer(a, B_ID, 6, 0), 1);
    assert_int_equal(grant_core_offer(a, C_ID, 7, 0), 2);
    assert_int_equal(grant_core_access(a, 0, B_ID, false, &gfn), 0);
    assert_int_equal(gfn, 5);
    assert_int_equal(grant_core_access(a, 0, B_ID, true, &gfn), -PL_EPERM); /* read-only */
    assert_int_equal(grant_core_access(a, 1, B_ID, true, &gfn), 0);
    assert_int_equal(gfn, 6);
    assert_int_equal(grant_core_access(a, 2, B_ID, false, &gfn), -PL_EPERM); /* C's */
    assert_int_equal(grant_core_access(a, 2, C_ID, true, &gfn), 0);
    assert_int_equal(grant_core_access(a, 3, B_ID, false, &gfn), -PL_ENOENT);
    assert_int_equal(grant_core_access(a, GRANT_MAX_REFS, B_ID, false, &gfn), -PL_EINVAL);
    assert_int_equal(grant_core_access(a, ~0ull, B_ID, false, &gfn), -PL_EINVAL);
    assert_int_equal(grant_core_access(NULL, 0, B_ID, false, &gfn), -PL_ESRCH);
    assert_int_equal(grant_core_revoke(a, 1), 0);
    assert_int_equal(grant_core_access(a, 1, B_ID, false, &gfn), -PL_ENOENT);
}

static void test_copy_args(void **state)
{
    (void)state;
    uint32_t len = 0;
    bool to = true;
    assert_int_equal(grant_core_copy_args(0, 4096, &len, &to), 0);
    assert_int_equal(len, 4096);
    assert_false(to);
    assert_int_equal(grant_core_copy_args(4095, 1 | GRANT_COPY_TO_GRANT, &len, &to), 0);
    assert_int_equal(len, 1);
    assert_true(to);
    assert_int_equal(grant_core_copy_args(2048, 2048, &len, &to), 0);
    assert_int_equal(grant_core_copy_args(2048, 2049, &len, &to), -PL_EINVAL);
    assert_int_equal(grant_core_copy_args(0, 0, &len, &to), -PL_EINVAL);
    assert_int_equal(grant_core_copy_args(0, GRANT_COPY_TO_GRANT, &len, &to), -PL_EINVAL);
    assert_int_equal(grant_core_copy_args(0, 4097, &len, &to), -PL_EINVAL);
    assert_int_equal(grant_core_copy_args(4096, 1, &len, &to), -PL_EINVAL);
    assert_int_equal(grant_core_copy_args(~0ull, 1, &len, &to), -PL_EINVAL);
    assert_int_equal(grant_core_copy_args(1, 0xFFFFFFFFull, &len, &to), -PL_EINVAL);
    assert_int_equal(grant_core_copy_args(0, 1ull << 33 | 16, &len, &to), -PL_EINVAL);
    assert_int_equal(grant_core_copy_args(0, 1ull << 63 | 16, &len, &to), -PL_EINVAL);
    assert_int_equal(grant_core_copy_args(0, ~0ull, &len, &to), -PL_EINVAL);
}

static void test_window(void **state)
{
    (void)state;
    assert_true(grant_window_page(WIN));
    assert_true(grant_window_page(WIN + GRANT_MAP_SIZE - 4096));
    assert_false(grant_window_page(WIN + GRANT_MAP_SIZE));
    assert_false(grant_window_page(WIN - 4096));
    assert_false(grant_window_page(WIN + 8));
    assert_false(grant_window_page(0));
    assert_false(grant_window_page(0x100000));
    assert_false(grant_window_page(~0ull & ~0xFFFull));
    assert_false(grant_window_page(WIN + (1ull << 63)));
}

static void test_map(void **state)
{
    (void)state;
    uint32_t gfn = 0;
    bool w = false;
    assert_int_equal(grant_core_offer(a, B_ID, 5, GRANT_READONLY), 0);
    assert_int_equal(grant_core_offer(a, B_ID, 6, 0), 1);
    assert_int_equal(grant_core_offer(a, C_ID, 7, 0), 2);
    /* argument errors */
    assert_int_equal(grant_core_map(b, a, 1, WIN, 2, &gfn, &w), -PL_EINVAL);
    assert_int_equal(grant_core_map(b, a, 1, WIN + 1, 0, &gfn, &w), -PL_EINVAL);
    assert_int_equal(grant_core_map(b, a, 1, 0x100000, 0, &gfn, &w), -PL_EINVAL);
    assert_int_equal(grant_core_map(b, a, 1, WIN + GRANT_MAP_SIZE, 0, &gfn, &w), -PL_EINVAL);
    assert_int_equal(grant_core_map(b, a, GRANT_MAX_REFS, WIN, 0, &gfn, &w), -PL_EINVAL);
    assert_int_equal(grant_core_map(b, b, 0, WIN, 0, &gfn, &w), -PL_EINVAL);
    assert_int_equal(grant_core_map(b, NULL, 0, WIN, 0, &gfn, &w), -PL_ESRCH);
    assert_int_equal(grant_core_map(b, a, 3, WIN, 0, &gfn, &w), -PL_ENOENT);
    assert_int_equal(grant_core_map(b, a, 2, WIN, 0, &gfn, &w), -PL_EPERM);  /* C's */
    assert_int_equal(grant_core_map(b, a, 0, WIN, 0, &gfn, &w), -PL_EPERM);  /* rw map of ro */
    check_consistent();
    /* read-only grant, read-only map */
    assert_int_equal(grant_core_map(b, a, 0, WIN, GRANT_MAP_READONLY, &gfn, &w), 0);
    assert_int_equal(gfn, 5);
    assert_false(w);
    /* read-write grant, read-write map */
    assert_int_equal(grant_core_map(b, a, 1, WIN + 0x1000, 0, &gfn, &w), 1);
    assert_int_equal(gfn, 6);
    assert_true(w);
    assert_int_equal(grant_core_status(a, 1), GRANT_VALID | GRANT_MAPPED | (int64_t)B_ID << 32);
    check_consistent();
    /* mapped again, or at a taken address */
    assert_int_equal(grant_core_map(b, a, 1, WIN + 0x2000, 0, &gfn, &w), -PL_EBUSY);
    assert_int_equal(grant_core_offer(a, B_ID, 8, 0), 3);
    assert_int_equal(grant_core_map(b, a, 3, WIN + 0x1000, 0, &gfn, &w), -PL_EEXIST);
    /* C maps its own grant at the same address as B: separate spaces */
    assert_int_equal(grant_core_map(c, a, 2, WIN + 0x1000, GRANT_MAP_READONLY, &gfn, &w), 0);
    assert_false(w);
    check_consistent();
    /* revoke while mapped */
    assert_int_equal(grant_core_revoke(a, 1), -PL_EBUSY);
    assert_int_equal(grant_core_revoke(a, 0), -PL_EBUSY);
    /* unmap */
    assert_int_equal(grant_core_find_map(b, WIN + 0x1000), 1);
    assert_int_equal(grant_core_find_map(b, WIN + 0x3000), -PL_ENOENT);
    assert_int_equal(grant_core_find_map(b, WIN + 0x1001), -PL_EINVAL);
    assert_int_equal(grant_core_find_map(b, 0), -PL_EINVAL);
    assert_int_equal(grant_core_find_map(NULL, WIN), -PL_ENOENT);
    grant_core_release(b, 1);
    assert_int_equal(grant_core_find_map(b, WIN + 0x1000), -PL_ENOENT);
    assert_int_equal(grant_core_status(a, 1), GRANT_VALID | (int64_t)B_ID << 32);
    assert_int_equal(grant_core_revoke(a, 1), 0);
    assert_int_equal(grant_core_revoke(a, 0), -PL_EBUSY);
    check_consistent();
    /* a freed slot is reused, the address too */
    assert_int_equal(grant_core_map(b, a, 3, WIN + 0x1000, 0, &gfn, &w), 1);
    check_consistent();
}

static void test_map_full(void **state)
{
    (void)state;
    uint32_t gfn;
    bool w;
    for (unsigned i = 0; i <= GRANT_MAX_MAPS; i++)
        assert_int_equal(grant_core_offer(a, B_ID, i, 0), (int)i);
    for (unsigned i = 0; i < GRANT_MAX_MAPS; i++)
        assert_int_equal(grant_core_map(b, a, i, WIN + i * 4096ull, 0, &gfn, &w), (int)i);
    assert_int_equal(grant_core_map(b, a, GRANT_MAX_MAPS, WIN + 0x100000, 0, &gfn, &w), -PL_ENOSPC);
    assert_false(a->entries[GRANT_MAX_MAPS].flags & GRANT_MAPPED);
    check_consistent();
}

static void test_destroy_granter(void **state)
{
    (void)state;
    uint32_t gfn;
    bool w;
    assert_int_equal(grant_core_offer(a, B_ID, 5, GRANT_READONLY), 0);
    assert_int_equal(grant_core_offer(a, B_ID, 6, 0), 1);
    assert_int_equal(grant_core_offer(a, C_ID, 7, 0), 2);
    assert_int_equal(grant_core_offer(c, B_ID, 9, 0), 0);
    assert_int_equal(grant_core_map(b, a, 0, WIN, GRANT_MAP_READONLY, &gfn, &w), 0);
    assert_int_equal(grant_core_map(b, a, 1, WIN + 0x5000, 0, &gfn, &w), 1);
    assert_int_equal(grant_core_map(b, c, 0, WIN + 0x6000, 0, &gfn, &w), 2);
    assert_int_equal(grant_core_map(c, a, 2, WIN + 0x1000, 0, &gfn, &w), 0);
    check_consistent();
    /* A goes: B's two mappings and C's one are removed, each space synced once */
    assert_int_equal(grant_core_destroy(&reg, a, rec_unmap, rec_sync, &reg), 3);
    assert_int_equal(n_unmaps, 3);
    assert_int_equal(n_syncs, 2);
    unsigned b_unmaps = 0, c_unmaps = 0;
    for (unsigned i = 0; i < n_unmaps; i++) {
        if (unmaps[i].holder == b) {
            assert_true(unmaps[i].gpa == WIN || unmaps[i].gpa == WIN + 0x5000);
            b_unmaps++;
        } else {
            assert_ptr_equal(unmaps[i].holder, c);
            assert_int_equal(unmaps[i].gpa, WIN + 0x1000);
            c_unmaps++;
        }
    }
    assert_int_equal(b_unmaps, 2);
    assert_int_equal(c_unmaps, 1);
    assert_true((synced[0] == b && synced[1] == c) || (synced[0] == c && synced[1] == b));
    assert_null(grant_core_find(&reg, A_ID));
    check_consistent();
    /* B's mapping of C's page stays; the others are gone */
    assert_int_equal(grant_core_find_map(b, WIN), -PL_ENOENT);
    assert_int_equal(grant_core_find_map(b, WIN + 0x5000), -PL_ENOENT);
    assert_int_equal(grant_core_find_map(b, WIN + 0x6000), 2);
    assert_int_equal(grant_core_find_map(c, WIN + 0x1000), -PL_ENOENT);
    /* copies and maps naming A now find no table */
    assert_int_equal(grant_core_access(grant_core_find(&reg, A_ID), 1, B_ID, false, &gfn), -PL_ESRCH);
    for (unsigned i = 0; i < GRANT_MAX_REFS; i++)
        assert_int_equal(a->entries[i].flags, 0);
}

static void test_destroy_grantee(void **state)
{
    (void)state;
    uint32_t gfn;
    bool w;
    assert_int_equal(grant_core_offer(a, B_ID, 5, 0), 0);
    assert_int_equal(grant_core_offer(c, B_ID, 6, 0), 0);
    assert_int_equal(grant_core_map(b, a, 0, WIN, 0, &gfn, &w), 0);
    assert_int_equal(grant_core_map(b, c, 0, WIN + 0x1000, GRANT_MAP_READONLY, &gfn, &w), 1);
    assert_int_equal(grant_core_revoke(a, 0), -PL_EBUSY);
    /* B goes: its own mappings are unmapped (no sync: its vCPUs are gone),
     * the granters' entries are no longer mapped and can be revoked */
    assert_int_equal(grant_core_destroy(&reg, b, rec_unmap, rec_sync, &reg), 0);
    assert_int_equal(n_unmaps, 2);
    assert_ptr_equal(unmaps[0].holder, b);
    assert_ptr_equal(unmaps[1].holder, b);
    assert_int_equal(n_syncs, 0);
    assert_int_equal(grant_core_status(a, 0), GRANT_VALID | (int64_t)B_ID << 32);
    assert_int_equal(grant_core_status(c, 0), GRANT_VALID | (int64_t)B_ID << 32);
    assert_int_equal(grant_core_revoke(a, 0), 0);
    assert_int_equal(grant_core_revoke(c, 0), 0);
    assert_null(grant_core_find(&reg, B_ID));
    check_consistent();
}

static void test_destroy_both_orders(void **state)
{
    (void)state;
    uint32_t gfn;
    bool w;
    /* A and B grant to each other and map each other's pages; A then B go */
    assert_int_equal(grant_core_offer(a, B_ID, 1, 0), 0);
    assert_int_equal(grant_core_offer(b, A_ID, 2, 0), 0);
    assert_int_equal(grant_core_map(b, a, 0, WIN, 0, &gfn, &w), 0);
    assert_int_equal(grant_core_map(a, b, 0, WIN, 0, &gfn, &w), 0);
    check_consistent();
    assert_int_equal(grant_core_destroy(&reg, a, rec_unmap, rec_sync, &reg), 1);
    assert_int_equal(n_syncs, 1);
    assert_ptr_equal(synced[0], b);
    assert_int_equal(n_unmaps, 2); /* B's mapping of A's page, A's own of B's */
    assert_int_equal(grant_core_status(b, 0), GRANT_VALID | (int64_t)A_ID << 32); /* no longer mapped */
    check_consistent();
    assert_int_equal(grant_core_destroy(&reg, b, rec_unmap, rec_sync, &reg), 0);
    assert_int_equal(n_unmaps, 2);
    assert_ptr_equal(reg.head, c);
    assert_null(c->next);
    check_consistent();
    /* the last one; destroying an empty table is fine too */
    assert_int_equal(grant_core_destroy(&reg, c, NULL, NULL, NULL), 0);
    assert_null(reg.head);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offer_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_granter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_grantee, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_both_orders, setup, teardown),
    };
    return cmocka_run_group_tests_name("grant", tests, NULL, NULL);
}
