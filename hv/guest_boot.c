/* Runs every boot module as a guest, one after another on this CPU, and
 * reports how each ended. (Domains with their own scheduling replace this
 * with the domain work.) */
#include "hv/guest_boot.h"

#include "arch/x86/paging.h"
#include "hv/cmdline.h"
#include "hv/format.h"
#include "hv/guest.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "hv/string.h"

/* A guest that reboots more often than this in a row is stopped. */
#define GUEST_MAX_REBOOTS 8

static const char *const exit_names[PLINTH_EXIT_REASONS] = {
    "cpuid", "rdmsr", "wrmsr", "io", "hlt", "hypercall", "memory", "extint", "intwin", "exception",
    "shutdown", "init", "invalid", "other",
};

/* Module command line: "[path] [name] [mem=SIZE]". The name is the last
 * word without '=' (a path's basename, without ".elf"). */
static bool parse_module_cmdline(const char *cmdline, char *name, size_t name_len, uint64_t *mem, char *err,
                                 size_t errlen)
{
    struct cmdline_opt o;
    bool bad_quote;
    const char *cur = cmdline;
    hv_snprintf(name, name_len, "guest");
    *mem = GUEST_MEM_DEFAULT;
    while (cmdline_next(&cur, &o, &bad_quote)) {
        if (bad_quote) {
            hv_snprintf(err, errlen, "unterminated quote in the module command line");
            return false;
        }
        if (cmdline_key_is(&o, "mem")) {
            if (!o.val || !cmdline_parse_u64(o.val, o.val_len, true, mem)) {
                hv_snprintf(err, errlen, "mem=%.*s is not a size", (int)o.val_len, o.val ? o.val : "");
                return false;
            }
        } else if (!o.val) {
            const char *base = o.key;
            for (size_t i = 0; i < o.key_len; i++)
                if (o.key[i] == '/')
                    base = o.key + i + 1;
            size_t len = o.key_len - (size_t)(base - o.key);
            if (len > 4 && strncmp(base + len - 4, ".elf", 4) == 0)
                len -= 4;
            if (len == 0 || len >= name_len) {
                hv_snprintf(err, errlen, "guest name '%.*s' is empty or longer than %zu characters", (int)len, base,
                            name_len - 1);
                return false;
            }
            memcpy(name, base, len);
            name[len] = 0;
        } else {
            hv_snprintf(err, errlen, "unknown module option '%.*s'", (int)o.key_len, o.key);
            return false;
        }
    }
    return true;
}

static void log_exit_stats(struct guest *g)
{
    char line[320];
    int n = hv_snprintf(line, sizeof(line), "exits: total %lu", g->vcpu.exit_total);
    for (unsigned i = 0; i < PLINTH_EXIT_REASONS && n < (int)sizeof(line); i++)
        if (g->vcpu.exit_count[i])
            n += hv_snprintf(line + n, sizeof(line) - (size_t)n, ", %s %lu", exit_names[i], g->vcpu.exit_count[i]);
    guest_log(g, "%s", line);
}

static uint64_t frames_in_use(void)
{
    struct pmm_stats st;
    mm_stats(&st);
    return st.managed_frames - st.free_frames;
}

void guest_boot_all(const struct boot_info *bi, struct guest_boot_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    uint64_t in_use_before = frames_in_use();
    for (unsigned i = 0; i < bi->module_count; i++) {
        const struct boot_module *m = &bi->modules[i];
        char name[GUEST_NAME_MAX], err[160];
        uint64_t mem;
        sum->modules++;
        if (!parse_module_cmdline(m->cmdline, name, sizeof(name), &mem, err, sizeof(err))) {
            pr_err("guest: module %u (\"%s\"): %s; skipped", i, m->cmdline, err);
            sum->rejected++;
            continue;
        }
        unsigned id = 0;
        struct guest *g = NULL;
        for (uint32_t boot = 0;; boot++) {
            g = guest_create(name, mem, id, err, sizeof(err));
            if (!g) {
                pr_err("guest: %s: %s; skipped", name, err);
                break;
            }
            id = g->id;
            g->boot_count = boot;
            if (guest_load(g, phys_to_virt(m->start), m->end - m->start, m->cmdline, err, sizeof(err))) {
                pr_err("guest: dom%u(%s): cannot load: %s", g->id, name, err);
                guest_destroy(g);
                g = NULL;
                break;
            }
            if (boot)
                guest_log(g, "rebooting (start %u), %lu MiB", boot + 1, g->mem_size >> 20);
            else
                guest_log(g, "starting, %lu MiB", g->mem_size >> 20);
            guest_run(g);
            log_exit_stats(g);
            if (!g->reboot_requested)
                break;
            if (boot + 1 == GUEST_MAX_REBOOTS) {
                g->crashed = true;
                pr_warn("dom%u(%s): stopped: rebooted %u times in a row", g->id, name, GUEST_MAX_REBOOTS);
                break;
            }
            /* A reboot starts from scratch: fresh (zeroed) memory, the image
             * loaded again, a new vCPU; only the id and name stay. */
            guest_destroy(g);
        }
        if (!g) {
            sum->rejected++;
            continue;
        }
        if (g->crashed)
            sum->crashed++;
        else if (g->exit_code == 0)
            sum->exited_ok++;
        else
            sum->exited_error++;
        guest_destroy(g);
    }
    pr_info("guests: %u modules: %u exited with code 0, %u exited with an error code, %u stopped for misbehaving, "
            "%u rejected",
            sum->modules, sum->exited_ok, sum->exited_error, sum->crashed, sum->rejected);
    uint64_t in_use_after = frames_in_use();
    sum->leaked_frames = in_use_after > in_use_before ? in_use_after - in_use_before : 0;
    if (sum->leaked_frames)
        pr_err("guests: %lu frames (4 KiB units) not returned after the guests ended", sum->leaked_frames);
    else
        pr_info("guests: all guest memory returned (%lu frames in use, as before)", in_use_after);
}
