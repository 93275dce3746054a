/* SPDX-License-Identifier: MIT */
/*
 * Plinth start information, ABI version 1 (docs/guest-platform.md).
 *
 * Every ELF64 domain starts with RDI = RBX = the guest-physical address of
 * a struct plinth_start_info in its RAM (below 1 MiB, page aligned). It
 * says who the domain is, how much RAM it has, and, for the control domain,
 * which boot modules the hypervisor handed to it as files (module2 lines
 * with `type=file`): each is copied into the top of the domain's RAM,
 * page aligned, and the domain must not use those pages for anything else.
 */
#ifndef PLINTH_START_INFO_H
#define PLINTH_START_INFO_H

#include <stdint.h>

#define PLINTH_START_MAGIC 0x4f464e4948544e4cull /* "LNTHINFO" little endian */
#define PLINTH_START_VERSION 1
#define PLINTH_START_MAX_MODULES 31
#define PLINTH_START_CMDLINE_MAX 512
#define PLINTH_START_MODULE_CMDLINE_MAX 128

#define START_FLAG_PRIVILEGED (1u << 0) /* the control domain */

struct plinth_start_module {
    uint64_t gpa;   /* first byte, page aligned */
    uint64_t size;  /* bytes */
    char cmdline[PLINTH_START_MODULE_CMDLINE_MAX]; /* the module2 line after the path, NUL-terminated */
};

struct plinth_start_info {
    uint64_t magic;           /* PLINTH_START_MAGIC */
    uint32_t version;         /* PLINTH_START_VERSION */
    uint32_t flags;           /* START_FLAG_* */
    uint32_t domid;
    uint32_t vcpus;
    uint64_t mem_bytes;       /* RAM is [0, mem_bytes) */
    uint64_t free_start;      /* first byte after the image and the boot structures */
    uint64_t free_end;        /* lowest module (or mem_bytes): [free_start, free_end) is the domain's to use */
    uint64_t tsc_khz;         /* TSC frequency (invariant TSC; the guest reads host TSC) */
    uint32_t host_cpus;       /* physical CPUs online */
    uint32_t module_count;
    char cmdline[PLINTH_START_CMDLINE_MAX]; /* the domain's command line, NUL-terminated */
    struct plinth_start_module modules[PLINTH_START_MAX_MODULES];
};

#endif
