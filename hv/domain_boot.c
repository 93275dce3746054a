/* Starts every boot module as a domain, runs them all at once under the
 * scheduler, restarts the ones that reboot, and reports how each ended.
 * (dom0 takes over creating domains with the control-domain work.) */
#include "hv/domain_boot.h"

#include "arch/x86/paging.h"
#include "hv/arch_cpu.h"
#include "hv/cmdline.h"
#include "hv/domain.h"
#include "hv/format.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/schedule.h"
#include "hv/string.h"
#include "hv/mmio.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"

/* A guest that reboots more often than this in a row is stopped. */
#define DOMAIN_MAX_REBOOTS 8

static const char *const exit_names[PLINTH_EXIT_REASONS] = {
    "cpuid", "rdmsr", "wrmsr", "io", "hlt", "hypercall", "memory", "extint", "intwin", "exception",
    "shutdown", "init", "invalid", "other",
};

/* What a module asks for (its command line). */
struct domain_config {
    char name[DOMAIN_NAME_MAX];
    uint64_t mem;
    unsigned vcpus;
    uint32_t weight, cap;
    uint64_t affinity;      /* 0: any CPU */
};

struct boot_slot {
    const struct boot_module *module;
    struct domain_config cfg;
    struct domain *d;
    unsigned id;
    uint32_t starts;
    bool finished;
};

static struct boot_slot slots[BOOT_MAX_MODULES];
static unsigned slot_count;
static struct domain_boot_summary *summary;
static const struct boot_module *boot_modules;

/* "0", "1-3", "0,2" -> CPU bit mask; false if malformed or out of range. */
static bool parse_cpu_list(const char *s, size_t len, uint64_t *mask)
{
    *mask = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        size_t dash = i;
        while (dash < j && s[dash] != '-')
            dash++;
        uint64_t lo, hi;
        if (!cmdline_parse_u64(s + i, dash - i, false, &lo))
            return false;
        hi = lo;
        if (dash < j && !cmdline_parse_u64(s + dash + 1, j - dash - 1, false, &hi))
            return false;
        if (lo > hi || hi >= 64)
            return false;
        for (uint64_t c = lo; c <= hi; c++)
            *mask |= 1ull << c;
        i = j + 1;
    }
    return *mask != 0;
}

/* Module command line: "[path] [name] [mem=SIZE] [vcpus=N] [weight=N]
 * [cap=PERCENT] [cpus=LIST]". The name is the last word without '=' (a
 * path's basename, without ".elf"). */
static bool parse_module_cmdline(const char *cmdline, struct domain_config *c, char *err, size_t errlen)
{
    struct cmdline_opt o;
    bool bad_quote;
    const char *cur = cmdline;
    *c = (struct domain_config){ .mem = DOMAIN_MEM_DEFAULT, .vcpus = 1, .weight = SCHED_WEIGHT_DEFAULT };
    hv_snprintf(c->name, sizeof(c->name), "guest");
    while (cmdline_next(&cur, &o, &bad_quote)) {
        uint64_t n = 0;
        bool num = o.val && cmdline_parse_u64(o.val, o.val_len, cmdline_key_is(&o, "mem"), &n);
        if (bad_quote) {
            hv_snprintf(err, errlen, "unterminated quote in the module command line");
            return false;
        }
        if (cmdline_key_is(&o, "mem")) {
            if (!num) {
                hv_snprintf(err, errlen, "mem=%.*s is not a size", (int)o.val_len, o.val ? o.val : "");
                return false;
            }
            c->mem = n;
        } else if (cmdline_key_is(&o, "vcpus")) {
            if (!num || n < 1 || n > DOMAIN_MAX_VCPUS) {
                hv_snprintf(err, errlen, "vcpus=%.*s: expected 1..%u", (int)o.val_len, o.val ? o.val : "",
                            DOMAIN_MAX_VCPUS);
                return false;
            }
            c->vcpus = (unsigned)n;
        } else if (cmdline_key_is(&o, "weight")) {
            if (!num || n < SCHED_WEIGHT_MIN || n > SCHED_WEIGHT_MAX) {
                hv_snprintf(err, errlen, "weight=%.*s: expected %u..%u", (int)o.val_len, o.val ? o.val : "",
                            SCHED_WEIGHT_MIN, SCHED_WEIGHT_MAX);
                return false;
            }
            c->weight = (uint32_t)n;
        } else if (cmdline_key_is(&o, "cap")) {
            if (!num || n > 100u * arch_cpu_count()) {
                hv_snprintf(err, errlen, "cap=%.*s: expected 0 (none)..%u percent of one CPU", (int)o.val_len,
                            o.val ? o.val : "", 100u * arch_cpu_count());
                return false;
            }
            c->cap = (uint32_t)n;
        } else if (cmdline_key_is(&o, "cpus")) {
            uint64_t online = arch_cpu_count() >= 64 ? ~0ull : (1ull << arch_cpu_count()) - 1;
            if (!o.val || !parse_cpu_list(o.val, o.val_len, &c->affinity) || !(c->affinity & online)) {
                hv_snprintf(err, errlen, "cpus=%.*s: expected a list of online CPUs such as 0,1 or 0-1",
                            (int)o.val_len, o.val ? o.val : "");
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
            if (len == 0 || len >= sizeof(c->name)) {
                hv_snprintf(err, errlen, "guest name '%.*s' is empty or longer than %zu characters", (int)len, base,
                            sizeof(c->name) - 1);
                return false;
            }
            memcpy(c->name, base, len);
            c->name[len] = 0;
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
        if (!v->started)
            continue;
        char line[320];
        int n = d->vcpu_count > 1 ? hv_snprintf(line, sizeof(line), "exits vcpu%u: total %lu", c, v->exit_total)
                                  : hv_snprintf(line, sizeof(line), "exits: total %lu", v->exit_total);
        for (unsigned i = 0; i < PLINTH_EXIT_REASONS && n < (int)sizeof(line); i++)
            if (v->exit_count[i])
                n += hv_snprintf(line + n, sizeof(line) - (size_t)n, ", %s %lu", exit_names[i], v->exit_count[i]);
        if (n < (int)sizeof(line))
            hv_snprintf(line + n, sizeof(line) - (size_t)n, "; %lu runs", v->runs);
        domain_log(d, "%s", line);
    }
}

/* Create, load and start the slot's domain. false (slot finished, counted
 * as rejected) when that fails. */
static bool start_slot(struct boot_slot *s)
{
    const struct domain_config *c = &s->cfg;
    char err[160];
    struct domain *d = domain_create(c->name, c->mem, s->id, err, sizeof(err));
    if (!d) {
        pr_err("guest: %s: %s; skipped", c->name, err);
        return false;
    }
    s->id = d->id;
    d->boot_count = s->starts;
    /* The first module is the control domain (dom0). */
    d->privileged = s->module == &boot_modules[0];
    d->weight = c->weight;
    d->cap = c->cap;
    d->affinity = c->affinity;
    const char *why = NULL;
    while (d->vcpu_count < c->vcpus)
        if (!domain_add_vcpu(d)) {
            why = "out of memory for its vCPUs";
            break;
        }
    if (!why && domain_load(d, phys_to_virt(s->module->start), s->module->end - s->module->start,
                            s->module->cmdline, err, sizeof(err)))
        why = err;
    if (!why && schedule_add_domain(d))
        why = "the scheduler refused its vCPUs";
    if (!why && !domain_publish(d)) {
        /* Already running: stop it and let reap() free it once its vCPUs
         * are off their CPUs. */
        s->d = d;
        domain_stop(d, true, 0, "too many domains to manage");
        return true;
    }
    if (why) {
        pr_err("guest: dom%u(%s): cannot load: %s", d->id, c->name, why);
        schedule_reap(d);
        domain_destroy(d);
        return false;
    }
    if (s->starts)
        domain_log(d, "rebooting (start %u), %lu MiB", s->starts + 1, d->mem_size >> 20);
    else
        domain_log(d, "starting, %lu MiB, %u vCPU%s, weight %u%s%s", d->mem_size >> 20, d->vcpu_count,
                   d->vcpu_count > 1 ? "s" : "", d->weight, d->cap ? ", capped" : "",
                   d->privileged ? ", control domain" : "");
    s->d = d;
    return true;
}

/* BSP housekeeping between picks: finish stopped domains whose vCPUs are
 * all off their CPUs, restart rebooting ones. */
static void reap(void)
{
    uint64_t requests = schedule_housekeeping_begin();
    bool waiting = false;
    for (unsigned i = 0; i < slot_count; i++) {
        struct boot_slot *s = &slots[i];
        struct domain *d = s->d;
        if (!d || d->state != DOMAIN_STOPPED)
            continue;
        if (!schedule_reap(d)) {
            waiting = true; /* a vCPU is still on its CPU: try again */
            continue;
        }
        log_exit_stats(d);
        domain_log(d, "ran for %lu ms of CPU time", schedule_domain_runtime_ns(d) / 1000000);
        s->d = NULL;
        if (d->reboot_requested && s->starts + 1 < DOMAIN_MAX_REBOOTS) {
            domain_destroy(d);
            s->starts++;
            if (!start_slot(s)) {
                summary->rejected++;
                s->finished = true;
            }
            continue;
        }
        if (d->reboot_requested)
            pr_warn("dom%u(%s): stopped: rebooted %u times in a row", d->id, d->name, DOMAIN_MAX_REBOOTS);
        if (d->destroyed)
            summary->destroyed++;
        else if (d->crashed || d->reboot_requested)
            summary->crashed++;
        else if (d->exit_code == 0)
            summary->exited_ok++;
        else
            summary->exited_error++;
        domain_destroy(d);
        s->finished = true;
    }
    if (!waiting)
        schedule_housekeeping_done(requests);
}

static bool all_finished(void)
{
    for (unsigned i = 0; i < slot_count; i++)
        if (!slots[i].finished)
            return false;
    return true;
}

void domain_boot_all(const struct boot_info *bi, struct domain_boot_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    summary = sum;
    boot_modules = bi->modules;
    uint64_t in_use_before = mm_frames_in_use();
    slot_count = 0;
    for (unsigned i = 0; i < bi->module_count; i++) {
        struct boot_slot *s = &slots[slot_count];
        char err[160];
        memset(s, 0, sizeof(*s));
        s->module = &bi->modules[i];
        sum->modules++;
        if (!parse_module_cmdline(s->module->cmdline, &s->cfg, err, sizeof(err))) {
            pr_err("guest: module %u (\"%s\"): %s; skipped", i, s->module->cmdline, err);
            sum->rejected++;
            continue;
        }
        slot_count++;
    }
    /* All created before any runs, so domain ids follow module order. */
    for (unsigned i = 0; i < slot_count; i++)
        if (!start_slot(&slots[i])) {
            sum->rejected++;
            slots[i].finished = true;
        }
    /* CPU-share probes measure from 50 ms after every domain is up, for
     * one second, all over the same span (hv/testdev.c). */
    uint64_t start = rdtsc() + tsc_us_to_cycles(50000);
    testdev_window_end = start + tsc_us_to_cycles(1000000);
    __atomic_store_n(&testdev_window_start, start, __ATOMIC_RELEASE);
    schedule_loop(reap, all_finished);

    pr_info("guests: %u modules: %u exited with code 0, %u exited with an error code, %u stopped for misbehaving, "
            "%u rejected, %u destroyed by the control domain",
            sum->modules, sum->exited_ok, sum->exited_error, sum->crashed, sum->rejected, sum->destroyed);
    uint64_t in_use_after = mm_frames_in_use();
    sum->leaked_frames = in_use_after > in_use_before ? in_use_after - in_use_before : 0;
    if (sum->leaked_frames)
        pr_err("guests: %lu frames (4 KiB units) not returned after the guests ended", sum->leaked_frames);
    else
        pr_info("guests: all guest memory returned (%lu frames in use, as before)", in_use_after);
}
