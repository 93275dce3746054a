/* SPDX-License-Identifier: MIT */
/*
 * Domain configuration files for dom0: a small subset of Xen's xl.cfg, one
 * "key = value" setting per line. Pure logic (no allocation, no floating
 * point); compiles freestanding and in host unit tests.
 *
 *   # comment                      blank lines and comments are ignored
 *   name = "web1"                  string: 1..31 of [A-Za-z0-9_.-]   (required)
 *   kernel = "guests/web.elf"      string: a module name or path      (required)
 *   memory = 64                    MiB, 4..1024, default 16
 *   vcpus = 2                      1..8, default 1
 *   cmdline = "console=hvc0"       string, < 512 characters, default ""
 *   weight = 0x200                 1..65535, default 256
 *   cap = 150                      0..6400 percent of one CPU, 0 = none (default)
 *   cpus = "0-3,6"                 CPU mask (CPUs 0..63), or a list of such
 *                                  strings (their union); default: any CPU (0)
 *   autostart = 1                  0 or 1, default 0
 *   disk = [ "phy:ata0p1,xvda,w" ] at most 8, "backend:target,vdev,mode" with
 *                                  mode r or w; kept verbatim
 *   vif = [ "mac=00:16:3e:00:00:01,bridge=xenbr0,vlan=10" ]
 *                                  at most 8; mac and bridge required, vlan
 *                                  (1..4094) optional; parsed into a struct
 *   console = "virtio"             "virtio": a virtio-console device served by
 *                                  dom0 (`console <dom>`); "none" (default)
 *
 * Integers are decimal (no leading zeros, so 010 is rejected rather than read
 * as octal) or hex with 0x. Strings are "..." with the escapes \" and \\ only
 * and no control characters. A list is [ "a", "b" ] and may span lines until
 * its closing ']'; a trailing comma is allowed; comments may follow any
 * line. Lines end with LF or CRLF and may hold at most DOMCFG_LINE_MAX bytes
 * (not counting the line ending). Keys are case-sensitive; each may appear
 * once. As a string cannot span lines, the line limit caps every string
 * value below DOMCFG_LINE_MAX (cmdline at 243 characters), tighter than the
 * buffers here.
 */
#ifndef DOM0_DOMCFG_H
#define DOM0_DOMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOMCFG_LINE_MAX    255
#define DOMCFG_NAME_MAX    31  /* characters, without the NUL */
#define DOMCFG_STR_MAX     255 /* kernel and each disk entry */
#define DOMCFG_CMDLINE_MAX 511
#define DOMCFG_BRIDGE_MAX  15  /* a Linux interface name (IFNAMSIZ - 1) */
#define DOMCFG_MAX_DISKS   8
#define DOMCFG_MAX_VIFS    8

#define DOMCFG_MEMORY_DEFAULT 16u
#define DOMCFG_VCPUS_DEFAULT  1u
#define DOMCFG_WEIGHT_DEFAULT 256u

/* Keys, also bit numbers in struct domcfg.set. */
enum domcfg_key {
    DOMCFG_KEY_NAME,
    DOMCFG_KEY_MEMORY,
    DOMCFG_KEY_VCPUS,
    DOMCFG_KEY_KERNEL,
    DOMCFG_KEY_CMDLINE,
    DOMCFG_KEY_WEIGHT,
    DOMCFG_KEY_CAP,
    DOMCFG_KEY_CPUS,
    DOMCFG_KEY_AUTOSTART,
    DOMCFG_KEY_DISK,
    DOMCFG_KEY_VIF,
    DOMCFG_KEY_CONSOLE,
    DOMCFG_KEY_COUNT
};

#define DOMCFG_HAS(key) (1u << (key))

struct domcfg_vif {
    uint8_t mac[6];
    char bridge[DOMCFG_BRIDGE_MAX + 1];
    uint16_t vlan; /* 0: untagged (no vlan= given) */
};

enum domcfg_console {
    DOMCFG_CONSOLE_NONE,   /* only the hypervisor's console ring (the 16550) */
    DOMCFG_CONSOLE_VIRTIO, /* plus a virtio-console device served by dom0 */
};

struct domcfg {
    uint32_t set; /* DOMCFG_HAS(key) for every key the file sets explicitly */
    char name[DOMCFG_NAME_MAX + 1];
    char kernel[DOMCFG_STR_MAX + 1];
    char cmdline[DOMCFG_CMDLINE_MAX + 1];
    uint32_t memory_mib;
    uint32_t vcpus;
    uint32_t weight;
    uint32_t cap;       /* percent of one CPU, 0: no cap */
    uint64_t cpus;      /* bit n: may run on CPU n; 0: any CPU */
    bool autostart;
    uint32_t disk_count;
    char disks[DOMCFG_MAX_DISKS][DOMCFG_STR_MAX + 1];
    uint32_t vif_count;
    struct domcfg_vif vifs[DOMCFG_MAX_VIFS];
    enum domcfg_console console;
};

/* Parse text[0..len) (not NUL-terminated; a NUL byte in it is an error).
 * file_name is used only in messages. On success returns 0 with *out filled
 * in (defaults for keys not set) and err set to "". On failure returns
 *   -PL_E2BIG   a line longer than DOMCFG_LINE_MAX bytes, or a string longer
 *               than its key allows (name, cmdline, vif bridge),
 *   -PL_ENOSPC  more than DOMCFG_MAX_DISKS disks or DOMCFG_MAX_VIFS vifs,
 *   -PL_EINVAL  anything else (syntax, range, unknown/duplicate/missing key,
 *               NULL out, NULL text with len > 0),
 * with a one-line message in err (truncated to errlen, always NUL-terminated
 * when errlen > 0; err may be NULL) naming the file, line and key, e.g.
 * "guest1.cfg:7: memory: 4096 is outside 4..1024 MiB". *out is then
 * partially filled and must not be used. */
int domcfg_parse(const char *file_name, const char *text, size_t len, struct domcfg *out, char *err,
                 size_t errlen);

/* "name", "memory", ...; NULL for an out-of-range key. */
const char *domcfg_key_name(enum domcfg_key key);

#endif
