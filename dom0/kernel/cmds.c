/* The shell's built-in commands (xl-style). Every argument is checked and
 * every hypercall error is printed with its name. */
#include "dom0/domcfg.h"
#include "dom0/drivers/dev.h"
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/pvcons.h"
#include "dom0/kernel/pvdev.h"
#include "dom0/kernel/util.h"
#include "plinth/version.h"

#define MAX_DOMS 64
#define SCAN_MAX 64 /* without HC_DOMAIN_NEXT, ids 1..SCAN_MAX are probed */

static struct plinth_domain_info doms[MAX_DOMS];
static struct dom_ref refs[MAX_DOMS];
static unsigned ndoms;

static int usage(const char *u)
{
    kprintf("usage: %s\n", u);
    return 1;
}

static const char *state_name(const struct plinth_domain_info *d)
{
    switch (d->state) {
    case DOMAIN_STATE_RUNNING: return "running";
    case DOMAIN_STATE_PAUSED: return "paused";
    case DOMAIN_STATE_STOPPED: return d->flags & DOMAIN_FLAG_CRASHED ? "crashed" : "stopped";
    default: return "?";
    }
}

static void add_dom(const struct plinth_domain_info *d)
{
    if (ndoms >= MAX_DOMS)
        return;
    doms[ndoms] = *d;
    doms[ndoms].name[sizeof(doms[ndoms].name) - 1] = 0;
    refs[ndoms].id = d->id;
    refs[ndoms].name = doms[ndoms].name;
    ndoms++;
}

/* Snapshot the live domains into doms[]; prints and returns an error. */
static int snapshot(const char *what)
{
    struct plinth_domain_info d;
    ndoms = 0;
    long id = hc1(HC_DOMAIN_NEXT, 0);
    if (id == -PL_ENOSYS) {
        /* A hypervisor without HC_DOMAIN_NEXT: probe the low ids. */
        for (uint32_t i = 1; i <= SCAN_MAX; i++) {
            long rc = hc2(HC_DOMAIN_INFO, i, HC_PTR(&d));
            if (rc == 0)
                add_dom(&d);
            else if (rc != -PL_ENOENT) {
                print_hc_error(what, HC_DOMAIN_INFO, rc);
                return (int)rc;
            }
        }
        return 0;
    }
    while (id >= 0) {
        long rc = hc2(HC_DOMAIN_INFO, id, HC_PTR(&d));
        if (rc == 0)
            add_dom(&d);
        else if (rc != -PL_ENOENT) { /* gone in between: skip it */
            print_hc_error(what, HC_DOMAIN_INFO, rc);
            return (int)rc;
        }
        if (ndoms >= MAX_DOMS)
            break;
        id = hc1(HC_DOMAIN_NEXT, id);
    }
    if (id != -PL_ENOENT && id < 0) {
        print_hc_error(what, HC_DOMAIN_NEXT, id);
        return (int)id;
    }
    return 0;
}

/* <dom> argument to an index into doms[] (after a snapshot), or -1 with
 * the reason printed. */
static int find_dom(const char *what, const char *arg)
{
    if (snapshot(what) < 0)
        return -1;
    char err[120];
    int i = dom_resolve(arg, refs, ndoms, err, sizeof(err));
    if (i < 0) {
        kprintf("%s: %s\n", what, err);
        return -1;
    }
    return i;
}

static void print_time(uint64_t ns)
{
    kprintf("%6llu.%01llu", (unsigned long long)(ns / 1000000000ull),
            (unsigned long long)(ns / 100000000ull % 10));
}

/* ---------------------------------------------------------------- help */
static void help_table(const struct shell_cmd *t, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (t[i].name)
            kprintf("  %-40s %s\n", t[i].usage ? t[i].usage : t[i].name, t[i].help ? t[i].help : "");
}

static int cmd_help(int argc, char **argv)
{
    (void)argv;
    if (argc > 2)
        return usage("help");
    kprintf("commands (<dom> is a domain id or name):\n");
    help_table(core_shell_cmds, core_shell_cmd_count);
    if (driver_shell_cmd_count) {
        kprintf("device commands:\n");
        help_table(driver_shell_cmds, driver_shell_cmd_count);
    }
    return 0;
}

/* ---------------------------------------------------------------- list, info */
static int cmd_list(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage("list");
    if (snapshot("list") < 0)
        return 1;
    kprintf("%-20s %5s %-8s %5s %7s %6s %5s %8s\n", "Name", "ID", "State", "VCPUs", "Mem MiB", "Weight", "Cap",
            "Time(s)");
    for (unsigned i = 0; i < ndoms; i++) {
        const struct plinth_domain_info *d = &doms[i];
        kprintf("%-20s %5u %-8s %5u %7llu %6u %5u  ", d->name, d->id, state_name(d), d->vcpus,
                (unsigned long long)(d->mem_bytes >> 20), d->weight, d->cap);
        print_time(d->cpu_time_ns);
        kprintf("%s\n", d->flags & DOMAIN_FLAG_PRIVILEGED ? "  (control)" : "");
    }
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage("info");
    static struct plinth_platform_info pi;
    long rc = hc1(HC_PLATFORM_INFO, HC_PTR(&pi));
    if (rc < 0) {
        print_hc_error("info", HC_PLATFORM_INFO, rc);
        long v = hc0(HC_VERSION);
        if (v >= 0)
            kprintf("abi            %ld.%ld\n", v >> 16, v & 0xffff);
        return 1;
    }
    pi.virt[sizeof(pi.virt) - 1] = 0;
    pi.version[sizeof(pi.version) - 1] = 0;
    kprintf("version        Plinth %s, ABI %u.%u (dom0 built for %d.%d)\n", pi.version, pi.abi_version >> 16,
            pi.abi_version & 0xffff, PLINTH_ABI_MAJOR, PLINTH_ABI_MINOR);
    kprintf("virtualization %s\n", pi.virt);
    kprintf("cpus           %u\n", pi.cpus);
    kprintf("memory         %llu MiB total, %llu MiB free\n", (unsigned long long)(pi.mem_total >> 20),
            (unsigned long long)(pi.mem_free >> 20));
    kprintf("domains        %u\n", pi.domains);
    kprintf("tsc            %llu kHz\n", (unsigned long long)pi.tsc_khz);
    kprintf("dom0           domain %u, %u file module(s), %llu KiB free for dom0\n", dom0_id, file_module_count,
            (unsigned long long)(mem_free_bytes() >> 10));
    return 0;
}

static int cmd_modules(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage("modules");
    if (!file_module_count) {
        kprintf("no file modules\n");
        return 0;
    }
    for (unsigned i = 0; i < file_module_count; i++) {
        const struct file_module *m = &file_modules[i];
        kprintf("%2u %-24s %-6s %10llu bytes  %s\n", i, m->name, module_kind_name(m->kind),
                (unsigned long long)m->size, m->cmdline);
    }
    return 0;
}

/* ---------------------------------------------------------------- create */
int domain_create_from(const struct file_module *m)
{
    static struct domcfg cfg;
    static struct plinth_domain_create dc;
    char err[200];
    int rc = domcfg_parse(m->name, m->data, m->size, &cfg, err, sizeof(err));
    if (rc < 0) {
        kprintf("create: %s\n", err);
        return rc;
    }
    const struct file_module *k = module_find(cfg.kernel);
    if (!k) {
        kprintf("create: %s: kernel \"%s\" is not a file module (see `modules`)\n", m->name, cfg.kernel);
        return -PL_ENOENT;
    }
    if (k->kind != MOD_KERNEL) {
        kprintf("create: %s: kernel \"%s\" is not an ELF image\n", m->name, cfg.kernel);
        return -PL_EINVAL;
    }
    if (strlen(cfg.cmdline) >= DOMAIN_CREATE_CMDLINE_MAX) {
        kprintf("create: %s: cmdline is longer than %d characters\n", m->name, DOMAIN_CREATE_CMDLINE_MAX - 1);
        return -PL_E2BIG;
    }
    if (snapshot("create") == 0) {
        for (unsigned i = 0; i < ndoms; i++)
            if (strcmp(doms[i].name, cfg.name) == 0 && doms[i].state != DOMAIN_STATE_STOPPED) {
                kprintf("create: %s: a domain called \"%s\" already exists (id %u)\n", m->name, cfg.name,
                        doms[i].id);
                return -PL_EEXIST;
            }
    }
    memset(&dc, 0, sizeof(dc));
    memcpy(dc.name, cfg.name, strlen(cfg.name) + 1);
    dc.mem_bytes = (uint64_t)cfg.memory_mib << 20;
    dc.vcpus = cfg.vcpus;
    dc.weight = cfg.weight;
    dc.cap = cfg.cap;
    dc.affinity = cfg.cpus;
    dc.image_gpa = (uint64_t)(uintptr_t)k->data;
    dc.image_size = k->size;
    memcpy(dc.cmdline, cfg.cmdline, strlen(cfg.cmdline) + 1);
    /* With devices, it must not run before they exist. */
    if (pvdev_wanted(&cfg))
        dc.flags = DOMAIN_CREATE_PAUSED;
    long id = hc1(HC_DOMAIN_CREATE, HC_PTR(&dc));
    if (id < 0) {
        kprintf("create: %s: %s: %s (%ld)\n", m->name, hc_name(HC_DOMAIN_CREATE), errno_name(id), id);
        return (int)id;
    }
    if (pvdev_wanted(&cfg)) {
        int prc = pvdev_attach((uint32_t)id, &cfg);
        if (prc < 0) {
            kprintf("create: %s: its devices could not be set up; domain %ld destroyed\n", m->name, id);
            hc1(HC_DOMAIN_DESTROY, id);
            return prc;
        }
        long urc = hc1(HC_DOMAIN_UNPAUSE, id);
        if (urc < 0) {
            kprintf("create: %s: %s: %s\n", m->name, hc_name(HC_DOMAIN_UNPAUSE), errno_name(urc));
            return (int)urc;
        }
    }
    kprintf("created domain %ld (%s)\n", id, cfg.name);
    return 0;
}

static int cmd_create(int argc, char **argv)
{
    if (argc != 2)
        return usage("create <config>");
    const struct file_module *m = module_find(argv[1]);
    if (!m) {
        kprintf("create: no file module called \"%s\" (see `modules`)\n", argv[1]);
        return 1;
    }
    if (m->kind == MOD_KERNEL) {
        kprintf("create: %s is a kernel image, not a domain config\n", m->name);
        return 1;
    }
    return domain_create_from(m) < 0;
}

/* ---------------------------------------------------------------- destroy, pause, unpause */
static int simple_dom_op(int argc, char **argv, unsigned long nr, const char *done)
{
    if (argc != 2) {
        kprintf("usage: %s <dom>\n", argv[0]);
        return 1;
    }
    int i = find_dom(argv[0], argv[1]);
    if (i < 0)
        return 1;
    const struct plinth_domain_info *d = &doms[i];
    if (d->id == dom0_id || (d->flags & DOMAIN_FLAG_PRIVILEGED)) {
        kprintf("%s: domain %u (%s) is dom0 itself%s\n", argv[0], d->id, d->name,
                nr == HC_DOMAIN_DESTROY ? " (use `shutdown`)" : "");
        return 1;
    }
    long rc = hc1(nr, d->id);
    if (rc < 0) {
        print_hc_error(argv[0], nr, rc);
        return 1;
    }
    kprintf("%s domain %u (%s)\n", done, d->id, d->name);
    return 0;
}

static int cmd_destroy(int argc, char **argv) { return simple_dom_op(argc, argv, HC_DOMAIN_DESTROY, "destroyed"); }
static int cmd_pause(int argc, char **argv) { return simple_dom_op(argc, argv, HC_DOMAIN_PAUSE, "paused"); }
static int cmd_unpause(int argc, char **argv) { return simple_dom_op(argc, argv, HC_DOMAIN_UNPAUSE, "unpaused"); }

/* ---------------------------------------------------------------- console */
/* A domain with a virtio console (console = "virtio"): its output so far,
 * then (following) new output as it comes while what is typed goes to its
 * receive queue; Ctrl-] leaves (Ctrl-C goes to the domain). */
static int console_virtio(uint32_t id, const char *name, bool follow)
{
    if (follow)
        kprintf("[virtio console of domain %u (%s); typing goes to it, Ctrl-] leaves]\n", id, name);
    static char buf[1024];
    uint64_t pos = 0, lost = 0;
    char last = '\n';
    bool gone_said = false;
    for (;;) {
        long n = pvcons_read(id, &pos, buf, sizeof(buf), &lost);
        if (n < 0)
            break; /* the device went to another domain */
        if (lost) {
            if (last != '\n')
                console_puts("\n");
            kprintf("[%llu earlier bytes are no longer kept]\n", (unsigned long long)lost);
            last = '\n';
        }
        if (n > 0) {
            console_write_untrusted(buf, (size_t)n);
            last = buf[n - 1];
            continue;
        }
        if (!follow)
            break;
        if (pvcons_gone(id)) {
            if (last != '\n')
                console_puts("\n");
            last = '\n';
            kprintf("[domain %u (%s) is gone]\n", id, name);
            gone_said = true;
            break;
        }
        int c = console_getc();
        if (c < 0) {
            sleep_ms(10);
            continue;
        }
        char in[64];
        size_t k = 0;
        while (c >= 0 && c != 0x1d && k < sizeof(in)) {
            in[k++] = (char)c;
            if (k < sizeof(in))
                c = console_getc();
        }
        if (k && pvcons_write(id, in, k) < 0 && !gone_said) {
            if (last != '\n')
                console_puts("\n");
            last = '\n';
            kprintf("[domain %u (%s) takes no more input]\n", id, name);
            gone_said = true;
        }
        if (c == 0x1d)
            break;
    }
    if (last != '\n')
        console_puts("\n");
    return 0;
}

static int cmd_console(int argc, char **argv)
{
    const char *arg = NULL;
    bool follow = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-follow") == 0 || strcmp(argv[i], "-n") == 0)
            follow = false;
        else if (argv[i][0] == '-' && argv[i][1])
            return usage("console <dom> [--no-follow]");
        else if (arg)
            return usage("console <dom> [--no-follow]");
        else
            arg = argv[i];
    }
    if (!arg)
        return usage("console <dom> [--no-follow]");
    int i = find_dom("console", arg);
    if (i < 0)
        return 1;
    uint32_t id = doms[i].id;
    char name[32];
    memcpy(name, doms[i].name, sizeof(name));
    if (id == dom0_id) {
        kprintf("console: domain %u (%s) is dom0 itself\n", id, name);
        return 1;
    }
    if (pvcons_has(id))
        return console_virtio(id, name, follow);
    if (follow)
        kprintf("[console of domain %u (%s); Ctrl-] or Ctrl-C leaves]\n", id, name);
    static char buf[HC_CONSOLE_READ_MAX];
    uint64_t pos = 0;
    char last = '\n';
    int ret = 0;
    for (;;) {
        long n = hc4(HC_CONSOLE_READ, id, HC_PTR(buf), sizeof(buf), HC_PTR(&pos));
        if (n < 0) {
            if (n == -PL_ENOENT && follow) {
                if (last != '\n')
                    console_puts("\n");
                last = '\n';
                kprintf("[domain %u (%s) is gone]\n", id, name);
            } else {
                if (last != '\n')
                    console_puts("\n");
                last = '\n';
                print_hc_error("console", HC_CONSOLE_READ, n);
                ret = 1;
            }
            break;
        }
        if (n > 0) {
            console_write_untrusted(buf, (size_t)n);
            last = buf[n - 1];
            continue;
        }
        if (!follow)
            break;
        int c = console_getc();
        if (c == 0x03 || c == 0x1d)
            break;
        if (c < 0)
            sleep_ms(10);
    }
    if (last != '\n')
        console_puts("\n");
    return ret;
}

/* ---------------------------------------------------------------- vCPUs */
static const char *vcpu_state_name(uint32_t s)
{
    switch (s) {
    case VCPU_STATE_OFFLINE: return "offline";
    case VCPU_STATE_RUNNING: return "running";
    case VCPU_STATE_RUNNABLE: return "runnable";
    case VCPU_STATE_BLOCKED: return "blocked";
    case VCPU_STATE_PAUSED: return "paused";
    case VCPU_STATE_STOPPED: return "stopped";
    default: return "?";
    }
}

static int vcpu_list_dom(const struct plinth_domain_info *d)
{
    for (uint32_t v = 0; v < d->vcpus; v++) {
        struct plinth_vcpu_info vi;
        long rc = hc3(HC_VCPU_INFO, d->id, v, HC_PTR(&vi));
        if (rc < 0) {
            if (rc == -PL_ENOENT)
                return 0; /* destroyed meanwhile */
            print_hc_error("vcpu-list", HC_VCPU_INFO, rc);
            return 1;
        }
        char cpus[80];
        kprintf("%-20s %5u %4u ", d->name, d->id, v);
        if (vi.cpu < 0)
            kprintf("%4s", "-");
        else
            kprintf("%4d", vi.cpu);
        kprintf(" %-8s ", vcpu_state_name(vi.state));
        print_time(vi.cpu_time_ns);
        kprintf(" %10llu  %s\n", (unsigned long long)vi.exits, format_cpulist(vi.affinity, cpus, sizeof(cpus)));
    }
    return 0;
}

static int cmd_vcpu_list(int argc, char **argv)
{
    if (argc > 2)
        return usage("vcpu-list [dom]");
    int one = -1;
    if (argc == 2) {
        one = find_dom("vcpu-list", argv[1]);
        if (one < 0)
            return 1;
    } else if (snapshot("vcpu-list") < 0) {
        return 1;
    }
    kprintf("%-20s %5s %4s %4s %-8s %8s %10s  %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)", "Exits",
            "Affinity");
    int ret = 0;
    for (unsigned i = 0; i < ndoms && !ret; i++)
        if (one < 0 || (unsigned)one == i)
            ret = vcpu_list_dom(&doms[i]);
    return ret;
}

static int cmd_vcpu_pin(int argc, char **argv)
{
    if (argc != 4)
        return usage("vcpu-pin <dom> <vcpu|all> <cpus>");
    int i = find_dom("vcpu-pin", argv[1]);
    if (i < 0)
        return 1;
    const struct plinth_domain_info *d = &doms[i];
    uint64_t vcpu;
    if (strcmp(argv[2], "all") == 0) {
        vcpu = VCPU_ALL;
    } else if (parse_uint(argv[2], UINT32_MAX, &vcpu) < 0 || vcpu >= d->vcpus) {
        kprintf("vcpu-pin: \"%s\": not a vCPU of domain %u (%s), which has vCPUs 0..%u, or `all`\n", argv[2], d->id,
                d->name, d->vcpus ? d->vcpus - 1 : 0);
        return 1;
    }
    uint64_t mask;
    char err[120];
    if (parse_cpulist(argv[3], &mask, err, sizeof(err)) < 0) {
        kprintf("vcpu-pin: %s\n", err);
        return 1;
    }
    uint32_t host = start_info ? start_info->host_cpus : 0;
    if (host && host < 64 && !(mask & ((1ull << host) - 1))) {
        char want[80], online[80];
        kprintf("vcpu-pin: no CPU in %s is online (the online CPUs are %s)\n", format_cpulist(mask, want, sizeof(want)),
                format_cpulist((1ull << host) - 1, online, sizeof(online)));
        return 1;
    }
    long rc = hc3(HC_VCPU_SET_AFFINITY, d->id, vcpu, mask);
    if (rc < 0) {
        print_hc_error("vcpu-pin", HC_VCPU_SET_AFFINITY, rc);
        return 1;
    }
    char cpus[80];
    if (vcpu == VCPU_ALL)
        kprintf("domain %u (%s): all vCPUs pinned to CPUs %s\n", d->id, d->name,
                format_cpulist(mask, cpus, sizeof(cpus)));
    else
        kprintf("domain %u (%s): vCPU %llu pinned to CPUs %s\n", d->id, d->name, (unsigned long long)vcpu,
                format_cpulist(mask, cpus, sizeof(cpus)));
    return 0;
}

/* ---------------------------------------------------------------- scheduler */
static void sched_line(const struct plinth_domain_info *d)
{
    kprintf("%-20s %5u %6u %5u\n", d->name, d->id, d->weight, d->cap);
}

static int cmd_sched_credit(int argc, char **argv)
{
    static const char u[] = "sched-credit [-d <dom> [-w <weight>] [-c <cap>]]";
    const char *dom = NULL, *w = NULL, *c = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = strcmp(argv[i], "-d") == 0   ? &dom
                             : strcmp(argv[i], "-w") == 0 ? &w
                             : strcmp(argv[i], "-c") == 0 ? &c
                                                          : NULL;
        if (!slot) {
            kprintf("sched-credit: unknown option \"%s\"\n", argv[i]);
            return usage(u);
        }
        if (i + 1 >= argc) {
            kprintf("sched-credit: %s needs a value\n", argv[i]);
            return usage(u);
        }
        if (*slot) {
            kprintf("sched-credit: %s given twice\n", argv[i]);
            return 1;
        }
        *slot = argv[++i];
    }
    if (!dom && (w || c)) {
        kprintf("sched-credit: -w and -c need -d <dom>\n");
        return usage(u);
    }
    uint64_t weight = 0, cap = 0;
    if (w && parse_uint(w, 65535, &weight) < 0) {
        kprintf("sched-credit: weight \"%s\" is not a number in 1..65535\n", w);
        return 1;
    }
    if (w && weight == 0) {
        kprintf("sched-credit: weight \"%s\" is not a number in 1..65535\n", w);
        return 1;
    }
    if (c && parse_uint(c, 6400, &cap) < 0) {
        kprintf("sched-credit: cap \"%s\" is not a percentage in 0..6400 (0 = no cap)\n", c);
        return 1;
    }
    if (!dom) {
        if (snapshot("sched-credit") < 0)
            return 1;
        kprintf("%-20s %5s %6s %5s\n", "Name", "ID", "Weight", "Cap");
        for (unsigned i = 0; i < ndoms; i++)
            sched_line(&doms[i]);
        return 0;
    }
    int i = find_dom("sched-credit", dom);
    if (i < 0)
        return 1;
    struct plinth_domain_info *d = &doms[i];
    if (w || c) {
        uint64_t nw = w ? weight : d->weight, nc = c ? cap : d->cap;
        long rc = hc3(HC_DOMAIN_SET_SCHED, d->id, nw, nc);
        if (rc < 0) {
            print_hc_error("sched-credit", HC_DOMAIN_SET_SCHED, rc);
            return 1;
        }
        d->weight = (uint32_t)nw;
        d->cap = (uint32_t)nc;
    }
    kprintf("%-20s %5s %6s %5s\n", "Name", "ID", "Weight", "Cap");
    sched_line(d);
    return 0;
}

/* ---------------------------------------------------------------- dmesg */
static int cmd_dmesg(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage("dmesg");
    /* Read it all first: what dom0 prints is logged too (unless its
     * console is direct), so printing while reading would never end. */
    static char buf[72 * 1024];
    uint64_t pos = 0;
    size_t len = 0;
    while (len < sizeof(buf)) {
        size_t want = sizeof(buf) - len < HC_LOG_READ_MAX ? sizeof(buf) - len : HC_LOG_READ_MAX;
        long n = hc3(HC_LOG_READ, HC_PTR(buf + len), want, HC_PTR(&pos));
        if (n < 0) {
            print_hc_error("dmesg", HC_LOG_READ, n);
            return 1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    console_write(buf, len);
    if (len && buf[len - 1] != '\n')
        console_puts("\n");
    return 0;
}

/* ---------------------------------------------------------------- devices */
static int cmd_devices(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage("devices");
    unsigned nb = blkdev_count(), nn = netdev_count();
    if (!nb)
        kprintf("no block devices\n");
    for (unsigned i = 0; i < nb; i++) {
        struct blkdev *b = blkdev_get(i);
        if (!b)
            continue;
        kprintf("%-8s %-12s %8llu MiB (%llu sectors) %s, %llu irqs\n", b->name, b->driver ? b->driver : "?",
                (unsigned long long)(b->sectors * BLK_SECTOR >> 20), (unsigned long long)b->sectors,
                b->read_only ? "ro" : "rw", (unsigned long long)b->irqs);
    }
    if (!nn)
        kprintf("no network devices\n");
    for (unsigned i = 0; i < nn; i++) {
        struct netdev *n = netdev_get(i);
        if (!n)
            continue;
        kprintf("%-8s %-12s %02x:%02x:%02x:%02x:%02x:%02x link %s, %llu irqs, %llu tx, %llu rx\n", n->name,
                n->driver ? n->driver : "?", n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
                n->link_up ? "up" : "down", (unsigned long long)n->irqs, (unsigned long long)n->tx_frames,
                (unsigned long long)n->rx_frames);
    }
    return 0;
}

/* ---------------------------------------------------------------- shutdown */
static int cmd_pvdevs(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage("pvdevs");
    pvdev_list();
    return 0;
}

static int cmd_shutdown(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage("shutdown");
    kprintf("dom0: powering off\n");
    long rc = hc1(HC_SHUTDOWN, SHUTDOWN_POWEROFF);
    print_hc_error("shutdown", HC_SHUTDOWN, rc);
    return 1;
}

const struct shell_cmd core_shell_cmds[] = {
    { "help", "help", "this list", cmd_help },
    { "list", "list", "domains: id, state, vCPUs, memory, weight, cap, CPU time", cmd_list },
    { "pvdevs", "pvdevs", "virtio devices dom0 serves to domains, with request counts", cmd_pvdevs },
    { "info", "info", "the hypervisor: version, CPUs, memory", cmd_info },
    { "modules", "modules", "the file modules dom0 was given", cmd_modules },
    { "create", "create <config>", "create the domain a config module describes", cmd_create },
    { "destroy", "destroy <dom>", "stop a domain and free its memory", cmd_destroy },
    { "pause", "pause <dom>", "stop running a domain's vCPUs", cmd_pause },
    { "unpause", "unpause <dom>", "let a paused domain run again", cmd_unpause },
    { "console", "console <dom> [--no-follow]", "a domain's console output; typing goes to a virtio console (Ctrl-] leaves)", cmd_console },
    { "vcpu-list", "vcpu-list [dom]", "vCPUs: state, CPU, time, affinity", cmd_vcpu_list },
    { "vcpu-pin", "vcpu-pin <dom> <vcpu|all> <cpus>", "set the CPUs vCPUs may run on (0-1,3 or all)",
      cmd_vcpu_pin },
    { "sched-credit", "sched-credit [-d <dom> [-w <weight>] [-c <cap>]]", "show or set weights and caps",
      cmd_sched_credit },
    { "dmesg", "dmesg", "the hypervisor log", cmd_dmesg },
    { "devices", "devices", "block and network devices", cmd_devices },
    { "shutdown", "shutdown", "power dom0 off (HC_SHUTDOWN)", cmd_shutdown },
};
const unsigned core_shell_cmd_count = sizeof(core_shell_cmds) / sizeof(core_shell_cmds[0]);
