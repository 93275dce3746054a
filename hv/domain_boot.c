/* Starts every boot module as a domain (or hands it to the control domain
 * as a file), runs them all at once under the scheduler together with the
 * domains the control domain creates, restarts the boot modules that
 * reboot, and reports how each ended. */
#include "hv/domain_boot.h"

#include "arch/x86/spinlock.h"
#include "plinth/errno.h"
#include "plinth/start_info.h"

#include "arch/x86/paging.h"
#include "hv/arch_cpu.h"
#include "hv/cmdline.h"
#include "hv/devices.h"
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
    bool file;              /* type=file: for the control domain, not run */
    bool console_direct;    /* console=direct */
    bool mem_set, vcpus_set;
};

/* A domain the runner looks after: one per boot module that is a domain
 * (slots [0, boot_slot_count)), then the ones the control domain created
 * (in_use while they exist). */
#define SLOT_MAX 64
struct boot_slot {
    const struct boot_module *module;  /* NULL: created by hypercall */
    struct domain_config cfg;
    struct domain *d;                  /* set once it is fully started */
    unsigned id;
    uint32_t starts;
    bool finished;
    bool in_use;                       /* a created-domain slot is taken */
};

static struct boot_slot slots[SLOT_MAX];
static unsigned boot_slot_count;
static spinlock_t slots_lock = SPINLOCK_INIT; /* claiming and freeing created-domain slots */
static struct domain_boot_summary *summary;
static const struct boot_module *boot_modules;
static struct load_file files[PLINTH_START_MAX_MODULES];
static unsigned file_count;

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
 * [cap=PERCENT] [cpus=LIST] [type=domain|file] [console=log|direct] [--
 * words for the domain's kernel]". The name is the last word without '='
 * (a path's basename, without ".elf") before any "--". */
static bool parse_module_cmdline(const char *cmdline, struct domain_config *c, char *err, size_t errlen)
{
    struct cmdline_opt o;
    bool bad_quote;
    const char *cur = cmdline;
    *c = (struct domain_config){ .mem = DOMAIN_MEM_DEFAULT, .vcpus = 1, .weight = SCHED_WEIGHT_DEFAULT };
    hv_snprintf(c->name, sizeof(c->name), "guest");
    while (cmdline_next(&cur, &o, &bad_quote)) {
        uint64_t n = 0;
        if (!o.val && o.key_len == 2 && strncmp(o.key, "--", 2) == 0)
            break; /* the rest is for the domain's own kernel */
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
            c->mem_set = true;
        } else if (cmdline_key_is(&o, "type")) {
            if (cmdline_val_is(&o, "file"))
                c->file = true;
            else if (cmdline_val_is(&o, "domain"))
                c->file = false;
            else {
                hv_snprintf(err, errlen, "type=%.*s: expected domain or file", (int)o.val_len, o.val ? o.val : "");
                return false;
            }
        } else if (cmdline_key_is(&o, "console")) {
            if (cmdline_val_is(&o, "direct"))
                c->console_direct = true;
            else if (cmdline_val_is(&o, "log"))
                c->console_direct = false;
            else {
                hv_snprintf(err, errlen, "console=%.*s: expected log or direct", (int)o.val_len, o.val ? o.val : "");
                return false;
            }
        } else if (cmdline_key_is(&o, "vcpus")) {
            if (!num || n < 1 || n > DOMAIN_MAX_VCPUS) {
                hv_snprintf(err, errlen, "vcpus=%.*s: expected 1..%u", (int)o.val_len, o.val ? o.val : "",
                            DOMAIN_MAX_VCPUS);
                return false;
            }
            c->vcpus = (unsigned)n;
            c->vcpus_set = true;
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
            uint64_t online = arch_cpu_online_mask();
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

/* Create, load and start a domain for slot s from src. Returns 0 with
 * s->d set, or an error (logged) with nothing left behind. */
static int start_domain(struct boot_slot *s, const struct load_source *src, const char *cmdline, unsigned parent,
                        bool privileged, bool paused)
{
    const struct domain_config *c = &s->cfg;
    char err[160];
    struct domain *d = domain_create(c->name, c->mem, s->id, err, sizeof(err));
    if (!d) {
        pr_err("guest: %s: %s; skipped", c->name, err);
        return -PL_ENOMEM;
    }
    s->id = d->id;
    d->boot_count = s->starts;
    d->privileged = privileged;
    d->parent = parent;
    d->console_direct = c->console_direct;
    d->paused = paused; /* the scheduler attaches its vCPUs paused */
    d->weight = c->weight;
    d->cap = c->cap;
    d->affinity = c->affinity;
    const char *why = NULL;
    int rc = 0;
    while (d->vcpu_count < c->vcpus)
        if (!domain_add_vcpu(d)) {
            why = "out of memory for its vCPUs";
            rc = -PL_ENOMEM;
            break;
        }
    if (!why && privileged && (rc = devices_attach(d)) != 0)
        why = "out of memory for its device permissions";
    if (!why && (rc = domain_load(d, src, cmdline, privileged ? files : NULL, privileged ? file_count : 0, err,
                                  sizeof(err))) != 0)
        why = err;
    if (!why && schedule_add_domain(d)) {
        why = "the scheduler refused its vCPUs";
        rc = -PL_ENOSPC;
    }
    if (!why && !domain_publish(d)) {
        /* Already running: stop it and let reap() free it once its vCPUs
         * are off their CPUs. */
        __atomic_store_n(&s->d, d, __ATOMIC_RELEASE);
        domain_stop(d, true, 0, "too many domains to manage");
        return 0;
    }
    if (why) {
        pr_err("guest: dom%u(%s): cannot load: %s", d->id, c->name, why);
        schedule_reap(d);
        domain_destroy(d);
        return rc ? rc : -PL_EINVAL;
    }
    if (s->starts)
        domain_log(d, "rebooting (start %u), %lu MiB", s->starts + 1, d->mem_size >> 20);
    else
        domain_log(d, "%s, %lu MiB, %u vCPU%s, weight %u%s%s", paused ? "created paused" : "starting",
                   d->mem_size >> 20, d->vcpu_count, d->vcpu_count > 1 ? "s" : "", d->weight,
                   d->cap ? ", capped" : "", privileged ? ", control domain" : "");
    __atomic_store_n(&s->d, d, __ATOMIC_RELEASE);
    return 0;
}

/* A boot module's slot. false (slot finished, counted as rejected) when
 * that fails. */
static bool start_slot(struct boot_slot *s)
{
    struct load_source src = { .host = phys_to_virt(s->module->start), .size = s->module->end - s->module->start };
    /* The first module is the control domain (dom0). */
    return start_domain(s, &src, s->module->cmdline, 0, s->module == &boot_modules[0], false) == 0;
}

static bool domain_name_ok(const char *name, size_t max)
{
    size_t len = 0;
    while (len < max && name[len]) {
        char c = name[len++];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return false;
    }
    return len > 0 && len < max;
}

int domain_boot_create(struct domain *parent, const struct plinth_domain_create *req)
{
    struct domain_config c = { .weight = SCHED_WEIGHT_DEFAULT };
    uint64_t online = arch_cpu_online_mask();
    const char *why = NULL;
    int rc = -PL_EINVAL;
    if (!domain_name_ok(req->name, sizeof(req->name)))
        why = "the name must be 1 to 31 of A-Z a-z 0-9 - _ .";
    else if (req->mem_bytes < DOMAIN_MEM_MIN || req->mem_bytes > DOMAIN_MEM_MAX)
        why = "memory must be 4 MiB to 1 GiB", rc = -PL_ERANGE;
    else if (req->vcpus < 1 || req->vcpus > DOMAIN_MAX_VCPUS)
        why = "vcpus must be 1 to 8";
    else if (req->weight > SCHED_WEIGHT_MAX || req->cap > 100u * arch_cpu_count())
        why = "weight must be 0 (default) or 1 to 65535, cap at most 100 per CPU";
    else if (req->flags & ~DOMAIN_CREATE_PAUSED)
        why = "unknown flags";
    else if (req->affinity && !(req->affinity & online))
        why = "the CPU mask holds no online CPU";
    else if (!req->image_size || !domain_ram_contains(parent, req->image_gpa, req->image_size))
        why = "the image is not inside the caller's RAM", rc = -PL_EFAULT;
    else if (!memchr(req->cmdline, 0, sizeof(req->cmdline)))
        why = "the command line is not NUL-terminated";
    if (why) {
        pr_warn("dom%u(%s): create refused: %s", parent->id, parent->name, why);
        return rc;
    }
    memcpy(c.name, req->name, sizeof(c.name));
    c.name[sizeof(c.name) - 1] = 0;
    c.mem = req->mem_bytes;
    c.vcpus = req->vcpus;
    c.weight = req->weight ? req->weight : SCHED_WEIGHT_DEFAULT;
    c.cap = req->cap;
    c.affinity = req->affinity;

    struct boot_slot *s = NULL;
    uint64_t flags = spin_lock_irqsave(&slots_lock);
    for (unsigned i = boot_slot_count; i < SLOT_MAX && !s; i++)
        if (!slots[i].in_use) {
            s = &slots[i];
            memset(s, 0, sizeof(*s));
            s->in_use = true;
        }
    spin_unlock_irqrestore(&slots_lock, flags);
    if (!s) {
        pr_warn("dom%u(%s): create refused: already %u domains", parent->id, parent->name, SLOT_MAX);
        return -PL_ENOSPC;
    }
    s->cfg = c;
    struct load_source src = { .dom = parent, .gpa = req->image_gpa, .size = req->image_size };
    rc = start_domain(s, &src, req->cmdline, parent->id, false, req->flags & DOMAIN_CREATE_PAUSED);
    if (rc) {
        __atomic_store_n(&s->in_use, false, __ATOMIC_RELEASE);
        return rc;
    }
    /* Created by a control domain that stopped meanwhile: it goes too. */
    if (parent->state == DOMAIN_STOPPED)
        domain_stop(s->d, false, 0, "stopped: its control domain dom%u ended", parent->id);
    return (int)s->id;
}

/* When a control domain ends, the domains it created end with it. */
static void stop_children(unsigned parent)
{
    for (unsigned i = boot_slot_count; i < SLOT_MAX; i++) {
        struct domain *d = __atomic_load_n(&slots[i].d, __ATOMIC_ACQUIRE);
        if (d && d->parent == parent && d->state == DOMAIN_RUNNING) {
            d->destroyed = true;
            domain_stop(d, false, 0, "stopped: its control domain dom%u ended", parent);
        }
    }
}

static bool all_slots_finished(void)
{
    for (unsigned i = 0; i < SLOT_MAX; i++) {
        if (i < boot_slot_count ? !slots[i].finished : __atomic_load_n(&slots[i].in_use, __ATOMIC_ACQUIRE))
            return false;
    }
    return true;
}

static bool finished; /* every slot finished, as of the last scan */
static uint64_t scanned = ~0ull;  /* the request count of the last full scan */

/* BSP housekeeping between picks: finish stopped domains whose vCPUs are
 * all off their CPUs, restart rebooting ones. */
static void reap(void)
{
    uint64_t requests = schedule_housekeeping_begin();
    /* Domains stop with a housekeeping request (domain_stop), so with none
     * new since the last complete scan there is nothing to reap: the
     * scheduler loop calls this between every two picks. */
    if (requests == scanned)
        return;
    bool waiting = false;
    for (unsigned i = 0; i < SLOT_MAX; i++) {
        struct boot_slot *s = &slots[i];
        bool created = i >= boot_slot_count;
        if (created && !__atomic_load_n(&s->in_use, __ATOMIC_ACQUIRE))
            continue;
        struct domain *d = __atomic_load_n(&s->d, __ATOMIC_ACQUIRE);
        if (!d && created) {
            /* Still being started by HC_DOMAIN_CREATE on another CPU, and
             * it may stop before its slot names it: look again. */
            waiting = true;
            continue;
        }
        if (!d || d->state != DOMAIN_STOPPED)
            continue;
        if (d->privileged)
            stop_children(d->id);
        if (!schedule_reap(d)) {
            waiting = true; /* a vCPU is still on its CPU: try again */
            continue;
        }
        log_exit_stats(d);
        domain_log(d, "ran for %lu ms of CPU time", schedule_domain_runtime_ns(d) / 1000000);
        s->d = NULL;
        if (created) {
            if (d->reboot_requested)
                domain_log(d, "asked to reboot: a domain created by dom%u is restarted by it, not here", d->parent);
            if (d->destroyed)
                summary->created_destroyed++;
            else if (d->crashed)
                summary->created_crashed++;
            summary->created_ended++;
            domain_destroy(d);
            __atomic_store_n(&s->in_use, false, __ATOMIC_RELEASE);
            continue;
        }
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
    if (!waiting) {
        schedule_housekeeping_done(requests);
        scanned = requests;
    }
    finished = all_slots_finished();
}

static bool all_finished(void) { return finished; }

void domain_boot_all(const struct boot_info *bi, const struct domain_boot_params *params,
                     struct domain_boot_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    summary = sum;
    boot_modules = bi->modules;
    uint64_t in_use_before = mm_frames_in_use();
    boot_slot_count = 0;
    file_count = 0;
    memset(slots, 0, sizeof(slots));
    for (unsigned i = 0; i < bi->module_count; i++) {
        struct boot_slot *s = &slots[boot_slot_count];
        char err[160];
        memset(s, 0, sizeof(*s));
        s->module = &bi->modules[i];
        sum->modules++;
        bool ok = parse_module_cmdline(s->module->cmdline, &s->cfg, err, sizeof(err));
        if (ok && s->cfg.file && i == 0) {
            hv_snprintf(err, sizeof(err), "the first module is the control domain, not a file");
            ok = false;
        }
        if (!ok) {
            pr_err("guest: module %u (\"%s\"): %s; skipped", i, s->module->cmdline, err);
            sum->rejected++;
            continue;
        }
        if (s->cfg.file) {
            if (file_count == PLINTH_START_MAX_MODULES) {
                pr_err("guest: module %u (\"%s\"): more than %u files for the control domain; skipped", i,
                       s->module->cmdline, PLINTH_START_MAX_MODULES);
                sum->rejected++;
                continue;
            }
            files[file_count++] = (struct load_file){ (const void *)phys_to_virt(s->module->start),
                                                      s->module->end - s->module->start, s->module->cmdline };
            sum->files++;
            continue;
        }
        if (i == 0 && params->dom0_mem && !s->cfg.mem_set)
            s->cfg.mem = params->dom0_mem;
        if (i == 0 && params->dom0_vcpus && !s->cfg.vcpus_set)
            s->cfg.vcpus = params->dom0_vcpus;
        boot_slot_count++;
    }
    if (file_count && (bi->module_count == 0 || slots[0].module != &bi->modules[0]))
        pr_err("guest: %u files given but no control domain to hand them to", file_count);
    /* All created before any runs, so domain ids follow module order. */
    for (unsigned i = 0; i < boot_slot_count; i++)
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
            sum->modules - sum->files, sum->exited_ok, sum->exited_error, sum->crashed, sum->rejected, sum->destroyed);
    if (sum->files || sum->created_ended)
        pr_info("guests: %u files handed to the control domain; %u domains it created have ended: %u destroyed, "
                "%u stopped for misbehaving, %u by themselves",
                sum->files, sum->created_ended, sum->created_destroyed, sum->created_crashed,
                sum->created_ended - sum->created_destroyed - sum->created_crashed);
    uint64_t in_use_after = mm_frames_in_use();
    sum->leaked_frames = in_use_after > in_use_before ? in_use_after - in_use_before : 0;
    if (sum->leaked_frames)
        pr_err("guests: %lu frames (4 KiB units) not returned after the guests ended", sum->leaked_frames);
    else
        pr_info("guests: all guest memory returned (%lu frames in use, as before)", in_use_after);
}
