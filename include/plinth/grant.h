/* SPDX-License-Identifier: MIT */
/*
 * Plinth grant tables (docs/grants.md).
 *
 * A domain (the granter) offers single 4 KiB pages of its own RAM to one
 * named other domain (the grantee), read-only or read-write, and revokes
 * them again. The table of offers is kept in the hypervisor: a granter adds
 * an entry with HC_GRANT_OFFER and gets a reference (ref, the index of the
 * entry, lowest free first, so a fixed order of offers gives fixed refs).
 * The grantee names a page by (granter domid, ref) and copies from or into
 * it (HC_GRANT_COPY), or maps it into its own guest-physical space, in the
 * grant window above its RAM (HC_GRANT_MAP, HC_GRANT_UNMAP).
 *
 * A mapped grant cannot be revoked (-PL_EBUSY) until the grantee unmaps it.
 * When the granter's domain is freed, every mapping of its pages is removed
 * from the grantees' address spaces first (a later access to the address
 * faults like any access outside RAM, which stops the grantee); when the
 * grantee's domain is freed its mappings go with it and the granter may
 * revoke. Any domain may use these calls; no privilege is needed.
 *
 * Every argument is a full 64-bit register (nothing is truncated). Errors:
 * -PL_EINVAL malformed argument (ref out of range, flags, alignment, offset
 * or length, an address outside the grant window, a domid of 0, of the
 * caller itself or >= DOMID_HYPERVISOR), -PL_EFAULT a page or buffer
 * outside the caller's RAM, -PL_ESRCH the named granter has no grant table
 * (never offered anything, or its domain is gone), -PL_ENOENT the entry is
 * not in use (never offered, or revoked) or no mapping at that address,
 * -PL_EPERM the grant is for another domain, or a write to (or a writable
 * mapping of) a read-only grant, -PL_EBUSY a mapped grant (REVOKE, MAP
 * again), -PL_EEXIST a mapping at that address already, -PL_ENOSPC table
 * or mapping slots full, -PL_ENOMEM no memory.
 */
#ifndef PLINTH_GRANT_H
#define PLINTH_GRANT_H

#include <stdint.h>

/* Hypercall numbers (continuing include/plinth/hypercall.h). */
/* (grantee domid, gfn of the caller's page, GRANT_READONLY or 0) -> ref */
#define HC_GRANT_OFFER 35
/* (ref) -> 0: the entry is free again; -PL_EBUSY while it is mapped */
#define HC_GRANT_REVOKE 36
/* (ref) -> 0 for an entry not in use, else GRANT_VALID | GRANT_READONLY? |
 * GRANT_MAPPED? | grantee domid << 32 */
#define HC_GRANT_STATUS 37
/* (granter domid, ref, offset in the granted page, gpa in the caller's RAM,
 * len 1..4096 | GRANT_COPY_TO_GRANT) -> len: copy len bytes from the
 * granted page at offset to the caller's gpa, or with GRANT_COPY_TO_GRANT
 * from the caller's gpa into the granted page (read-write grants only).
 * offset + len may not exceed 4096. */
#define HC_GRANT_COPY 38
/* (granter domid, ref, gpa in the grant window (4 KiB aligned),
 * GRANT_MAP_READONLY or 0) -> 0: the granted page appears at gpa in the
 * caller's space; read-only when asked or when the grant is read-only
 * (then asking for a writable mapping is -PL_EPERM). One mapping per grant
 * at a time. */
#define HC_GRANT_MAP 39
/* (gpa of a mapping made with HC_GRANT_MAP) -> 0 */
#define HC_GRANT_UNMAP 40

/* Limits. */
#define GRANT_MAX_REFS 256        /* refs 0..255 per granter */
#define GRANT_MAX_MAPS 32         /* mappings held by one grantee at a time */
#define GRANT_PAGE_SIZE 4096u

/* The grant window of every domain's guest-physical space: [16 GiB,
 * 17 GiB), above any RAM (1 GiB at most) and the 4 GiB device hole, below
 * the foreign-mapping area (64 GiB and up, include/plinth/ioreq.h). */
#define GRANT_MAP_BASE 0x400000000ull
#define GRANT_MAP_SIZE 0x40000000ull

/* HC_GRANT_OFFER flags. */
#define GRANT_READONLY (1u << 0)
/* HC_GRANT_STATUS bits (with GRANT_READONLY). */
#define GRANT_VALID (1u << 1)
#define GRANT_MAPPED (1u << 2)
/* HC_GRANT_MAP flags. */
#define GRANT_MAP_READONLY (1u << 0)
/* HC_GRANT_COPY, ORed into the length argument. */
#define GRANT_COPY_TO_GRANT (1ull << 32)

#endif
