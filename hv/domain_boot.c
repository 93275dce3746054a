/* Runs every boot module as a guest, one after another on this CPU, and
 * reports how each ended. (Domains with their own scheduling replace this
 * with the domain work.) */
#include "hv/domain_boot.h"

#include "arch/x86/paging.h"
#include "hv/cmdline.h"
#include "hv/format.h"
#include "hv/domain.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "hv/string.h"

/* A guest that reboots more often than this in a row is stopped. */
#define DOMAIN_MAX_REBOOTS 8

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
    *mem = DOMAIN_MEM_DEFAULT;
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

/* One line per vCPU: how many exits of each kind it took. */
static void log_exit_stats(struct domain *d)
{
    for (unsigned c = 0; c < d->vcpu_count; c++) {
        const struct vcpu *v = d->vcpus[c];
        char line[320];
        int n = d->vcpu_count > 1 ? hv_snprintf(line, sizeof(line), "exits vcpu%u: total %lu", c, v->exit_total)
                                  : hv_snprintf(line, sizeof(line), "exits: total %lu", v->exit_total);
        for (unsigned i = 0; i < PLINTH_EXIT_REASONS && n < (int)sizeof(line); i++)
            if (v->exit_count[i])
                n += hv_snprintf(line + n, sizeof(line) - (size_t)n, ", %s %lu", exit_names[i], v->exit_count[i]);
        domain_log(d, "%s", line);
    }
}

static uint64_t frames_in_use(void)
{
    struct pmm_stats st;
    mm_stats(&st);
    return st.managed_frames - st.free_frames;
}

void domain_boot_all(const struct boot_info *bi, struct domain_boot_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    uint64_t in_use_before = frames_in_use();
    for (unsigned i = 0; i < bi->module_count; i++) {
        const struct boot_module *m = &bi->modules[i];
        char name[DOMAIN_NAME_MAX], err[160];
        uint64_t mem;
        sum->modules++;
        if (!parse_module_cmdline(m->cmdline, name, sizeof(name), &mem, err, sizeof(err))) {
            pr_err("guest: module %u (\"%s\"): %s; skipped", i, m->cmdline, err);
            sum->rejected++;
            continue;
        }
        unsigned id = 0;
        struct domain *d = NULL;
        for (uint32_t boot = 0;; boot++) {
            d = domain_create(name, mem, id, err, sizeof(err));
            if (!d) {
                pr_err("guest: %s: %s; skipped", name, err);
                break;
            }
            id = d->id;
            d->boot_count = boot;
            if (domain_load(d, phys_to_virt(m->start), m->end - m->start, m->cmdline, err, sizeof(err))) {
                pr_err("guest: dom%u(%s): cannot load: %s", d->id, name, err);
                domain_destroy(d);
                d = NULL;
                break;
            }
            if (boot)
                domain_log(d, "rebooting (start %u), %lu MiB", boot + 1, d->mem_size >> 20);
            else
                domain_log(d, "starting, %lu MiB", d->mem_size >> 20);
            domain_run(d);
            log_exit_stats(d);
            if (!d->reboot_requested)
                break;
            if (boot + 1 == DOMAIN_MAX_REBOOTS) {
                d->crashed = true;
                pr_warn("dom%u(%s): stopped: rebooted %u times in a row", d->id, name, DOMAIN_MAX_REBOOTS);
                break;
            }
            /* A reboot starts from scratch: fresh (zeroed) memory, the image
             * loaded again, a new vCPU; only the id and name stay. */
            domain_destroy(d);
        }
        if (!d) {
            sum->rejected++;
            continue;
        }
        if (d->crashed)
            sum->crashed++;
        else if (d->exit_code == 0)
            sum->exited_ok++;
        else
            sum->exited_error++;
        domain_destroy(d);
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
