/* SPDX-License-Identifier: MIT */
/*
 * A QEMU TCG plugin for profiling Plinth under -icount: counts executed
 * guest instructions per (phase, vCPU, translation-block start address) and
 * writes them to a file at exit. tools/prof/report.py turns that into a
 * per-function profile with the ELF symbol tables.
 *
 * Phases let one boot be cut into parts: each time vCPU `trigger_cpu`
 * starts the translation block at `trigger`, the phase number goes up
 * (phase 0 is everything before the first trigger).
 *
 * Arguments: out=FILE, trigger=HEXADDR, trigger_cpu=N.
 *
 * Only the few entry points of the QEMU 7.x plugin API (version 1) that
 * this needs are declared here, from the API's documentation.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct {
    const char *target_name;
    struct { int min, cur; } version;
    bool system_emulation;
    union { struct { int smp_vcpus, max_vcpus; } system; };
} qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*vcpu_udata_cb)(unsigned int vcpu_index, void *udata);
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*udata_cb)(qemu_plugin_id_t id, void *udata);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, vcpu_udata_cb cb,
                                          enum qemu_plugin_cb_flags flags, void *udata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb cb, void *udata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_PHASES 8
#define MAX_CPUS 4
#define TABLE_BITS 17
#define TABLE_SIZE (1u << TABLE_BITS)

struct entry {
    uint64_t vaddr;
    uint32_t ninsns;
    uint32_t used;
    uint64_t count[MAX_PHASES][MAX_CPUS];
};

static struct entry *table;
static struct entry overflow;   /* where blocks go once the table is full */
static uint32_t entries;
static unsigned phase;
static uint64_t trigger = ~0ull;
static unsigned trigger_cpu;
static const char *out_path = "tbprof.out";

static struct entry *lookup(uint64_t vaddr, uint32_t ninsns)
{
    uint64_t h = (vaddr ^ ((uint64_t)ninsns << 48)) * 0x9E3779B97F4A7C15ull;
    for (uint32_t i = (uint32_t)(h >> (64 - TABLE_BITS));; i = (i + 1) & (TABLE_SIZE - 1)) {
        struct entry *e = &table[i];
        if (!e->used) {
            if (++entries > TABLE_SIZE / 2) {
                entries--;
                return &overflow;
            }
            e->used = 1;
            e->vaddr = vaddr;
            e->ninsns = ninsns;
            return e;
        }
        if (e->vaddr == vaddr && e->ninsns == ninsns)
            return e;
    }
}

static void on_exec(unsigned int cpu, void *udata)
{
    struct entry *e = udata;
    if (e->vaddr == trigger && cpu == trigger_cpu && phase + 1 < MAX_PHASES)
        phase++;
    if (cpu < MAX_CPUS)
        e->count[phase][cpu] += e->ninsns;
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    struct entry *e = lookup(qemu_plugin_tb_vaddr(tb), (uint32_t)qemu_plugin_tb_n_insns(tb));
    if (e == &overflow) {
        overflow.ninsns = 1;
        return;
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS, e);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id, (void)udata;
    FILE *f = fopen(out_path, "w");
    if (!f)
        return;
    if (overflow.ninsns)
        fprintf(f, "# table full: some blocks were not counted\n");
    for (uint32_t i = 0; i < TABLE_SIZE; i++) {
        struct entry *e = &table[i];
        if (!e->used)
            continue;
        for (unsigned p = 0; p <= phase; p++)
            for (unsigned c = 0; c < MAX_CPUS; c++)
                if (e->count[p][c])
                    fprintf(f, "%u %u %" PRIx64 " %" PRIu64 "\n", p, c, e->vaddr, e->count[p][c]);
    }
    fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0)
            out_path = strdup(argv[i] + 4);
        else if (strncmp(argv[i], "trigger=", 8) == 0)
            trigger = strtoull(argv[i] + 8, NULL, 16);
        else if (strncmp(argv[i], "trigger_cpu=", 12) == 0)
            trigger_cpu = (unsigned)strtoul(argv[i] + 12, NULL, 10);
        else {
            fprintf(stderr, "tbprof: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    table = calloc(TABLE_SIZE, sizeof(*table));
    if (!table)
        return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
