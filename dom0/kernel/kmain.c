/* dom0 boot: start information, file modules, drivers, autostart, the
 * boot script, then the shell. */
#include "dom0/domcfg.h"
#include "dom0/drivers/dev.h"
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/util.h"
#include "plinth/version.h"

extern char __image_start[], __image_end[];

const struct plinth_start_info *start_info;
uint32_t dom0_id;
struct file_module file_modules[PLINTH_START_MAX_MODULES];
unsigned file_module_count;

/* Without start information: assume the smallest domain, 4 MiB. */
#define FALLBACK_MEM (4ull << 20)

const char *module_kind_name(enum module_kind k)
{
    switch (k) {
    case MOD_KERNEL: return "kernel";
    case MOD_CONFIG: return "config";
    default: return "file";
    }
}

const struct file_module *module_find(const char *name)
{
    for (unsigned i = 0; i < file_module_count; i++)
        if (module_matches(file_modules[i].name, name))
            return &file_modules[i];
    return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void modules_init(const struct plinth_start_info *si)
{
    unsigned n = si->module_count;
    if (n > PLINTH_START_MAX_MODULES) {
        kprintf("dom0: start information lists %u modules, using the first %u\n", n, PLINTH_START_MAX_MODULES);
        n = PLINTH_START_MAX_MODULES;
    }
    for (unsigned i = 0; i < n; i++) {
        const struct plinth_start_module *sm = &si->modules[i];
        struct file_module *m = &file_modules[file_module_count++];
        /* The hypervisor NUL-terminates, but do not trust a missing NUL. */
        static char cmdlines[PLINTH_START_MAX_MODULES][PLINTH_START_MODULE_CMDLINE_MAX];
        memcpy(cmdlines[i], sm->cmdline, PLINTH_START_MODULE_CMDLINE_MAX - 1);
        m->cmdline = cmdlines[i];
        module_name(m->cmdline, m->name, sizeof(m->name));
        if (!m->name[0])
            ksnprintf(m->name, sizeof(m->name), "module%u", i);
        m->data = (const char *)(uintptr_t)sm->gpa;
        m->size = sm->size;
        if (m->size >= 4 && memcmp(m->data, "\177ELF", 4) == 0)
            m->kind = MOD_KERNEL;
        else if (ends_with(m->name, ".cfg"))
            m->kind = MOD_CONFIG;
        else
            m->kind = MOD_FILE;
        kprintf("dom0: module %u: %s, %s, %llu bytes at 0x%llx (\"%s\")\n", i, m->name, module_kind_name(m->kind),
                (unsigned long long)m->size, (unsigned long long)sm->gpa, m->cmdline);
    }
}

/* RAM disks: every file module named *.img becomes mem0, mem1, ... */
static void ramdisks_init(void)
{
    for (unsigned i = 0; i < file_module_count; i++) {
        struct file_module *m = &file_modules[i];
        if (m->kind == MOD_FILE && ends_with(m->name, ".img"))
            memdisk_add(m->name, (void *)(uintptr_t)m->data, m->size);
    }
}

/* Create every config module's domain that has autostart = 1. */
static void autostart(void)
{
    static struct domcfg cfg;
    char err[160];
    for (unsigned i = 0; i < file_module_count; i++) {
        const struct file_module *m = &file_modules[i];
        if (m->kind != MOD_CONFIG)
            continue;
        if (domcfg_parse(m->name, m->data, m->size, &cfg, err, sizeof(err)) < 0) {
            kprintf("dom0: autostart: %s\n", err);
            continue;
        }
        if (cfg.autostart)
            domain_create_from(m);
    }
}

/* The boot script: the module named by script= on dom0's command line, or
 * else a file module called dom0.rc (the hypervisor may refuse key=value
 * words it does not know on dom0's module line). */
#define DEFAULT_SCRIPT "dom0.rc"

static void run_boot_script(void)
{
    char name[MODULE_NAME_MAX];
    const struct file_module *m;
    if (start_info && cmdline_value(start_info->cmdline, "script", name, sizeof(name))) {
        m = module_find(name);
        if (!m) {
            kprintf("dom0: script=%s: no file module called \"%s\"\n", name, name);
            return;
        }
    } else {
        m = module_find(DEFAULT_SCRIPT);
        if (!m)
            return;
    }
    if (m->kind == MOD_KERNEL) {
        kprintf("dom0: script %s is a kernel image, not run\n", m->name);
        return;
    }
    kprintf("dom0: running script %s\n", m->name);
    shell_run_script(m);
}

void kmain(const struct plinth_start_info *si);
void kmain(const struct plinth_start_info *si)
{
    hc_init();
    console_init();
    trap_init();

    uint64_t image_end = (uint64_t)(uintptr_t)__image_end;
    if (si && (uint64_t)(uintptr_t)si < 0x100000 && si->magic == PLINTH_START_MAGIC &&
        si->version >= PLINTH_START_VERSION) {
        start_info = si;
        dom0_id = si->domid;
        static char own_cmdline[PLINTH_START_CMDLINE_MAX];
        memcpy(own_cmdline, si->cmdline, sizeof(own_cmdline) - 1);
        kprintf("dom0: Plinth control domain: domain %u, %llu MiB, %u vCPU(s), %u host CPU(s), TSC %llu kHz%s%s\n",
                si->domid, (unsigned long long)(si->mem_bytes >> 20), si->vcpus, si->host_cpus,
                (unsigned long long)si->tsc_khz, own_cmdline[0] ? ", command line: " : "", own_cmdline);
        uint64_t fs = si->free_start > image_end ? si->free_start : image_end;
        mem_init(fs, si->free_end);
        time_init(si->tsc_khz);
    } else {
        kprintf("dom0: no start information from the hypervisor (RDI = 0x%llx): no file modules, "
                "assuming %llu MiB of RAM\n", (unsigned long long)(uintptr_t)si,
                (unsigned long long)(FALLBACK_MEM >> 20));
        mem_init(image_end, FALLBACK_MEM);
        static struct plinth_platform_info pi;
        time_init(hc1(HC_PLATFORM_INFO, HC_PTR(&pi)) == 0 ? pi.tsc_khz : 0);
    }
    long v = hc0(HC_VERSION);
    if (v >= 0 && (v >> 16) != PLINTH_ABI_MAJOR)
        kprintf("dom0: hypervisor ABI %ld.%ld, dom0 built for %d.%d\n", v >> 16, v & 0xffff, PLINTH_ABI_MAJOR,
                PLINTH_ABI_MINOR);
    mem_map_init();
    if (start_info)
        modules_init(start_info);
    drivers_init();
    ramdisks_init();
    autostart();
    run_boot_script();
    kprintf("dom0: ready\n");
    shell_loop();
}
