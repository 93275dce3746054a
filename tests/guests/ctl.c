/* SPDX-License-Identifier: MIT */
/* The control domain (first module) managing the others: domain info,
 * pause and unpause (CPU time stops and resumes), scheduling parameters,
 * destroy (the domain disappears), and argument checks; then every ABI 1.1
 * management hypercall (13-21), success and each argument error. Expects
 * dom2 = "victim" (spins forever), dom3 = "noctl" (ends by itself) and one
 * file, hello64.elf ("type=file hello64.elf"), from which it creates dom4
 * "child". */
#include "guest.h"
#include "plinth/ioreq.h"
#include "plinth/start_info.h"
#include "plinth/version.h"

GUEST("ctl");

#define VICTIM 2
#define NOCTL 3
#define CHILD 4
#define WAIT_POLLS 2000000
#define YIELD_POLLS 200000
#define MIB (1ull << 20)
#define OUTSIDE 0xC0000000ull /* beyond any test domain's RAM */

static struct plinth_domain_info info;
static char log_buf[HC_LOG_READ_MAX + 1];

/* Whether the hypervisor log, read from the start in HC_LOG_READ_MAX chunks,
 * contains needle (which may straddle chunks: keep a tail). */
static bool log_contains(const char *needle)
{
    uint64_t pos = 0;
    size_t n = 0;
    while (needle[n])
        n++;
    char window[2 * HC_LOG_READ_MAX];
    size_t kept = 0;
    for (;;) {
        long got = hypercall(HC_LOG_READ, (uint64_t)log_buf, HC_LOG_READ_MAX, (uint64_t)&pos, 0, 0);
        if (got <= 0)
            return false;
        for (long i = 0; i < got; i++)
            window[kept++] = log_buf[i];
        for (size_t i = 0; i + n <= kept; i++) {
            size_t j = 0;
            while (j < n && window[i + j] == needle[j])
                j++;
            if (j == n)
                return true;
        }
        /* keep the last n - 1 bytes for a match across chunks */
        size_t keep = kept < n ? kept : n - 1;
        for (size_t i = 0; i < keep; i++)
            window[i] = window[kept - keep + i];
        kept = keep;
    }
}

static long dom_info(uint64_t id) { return hypercall(HC_DOMAIN_INFO, id, (uint64_t)&info, 0, 0, 0); }

static bool same_name(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Let time pass with exits (so the hypervisor's timers and other CPUs run). */
static void let_time_pass(void)
{
    for (unsigned i = 0; i < 20000; i++)
        cpuid(0, 0);
}

/* ---------------------------------------------------------------- ABI 1.1 */

static const struct plinth_start_info *si; /* RDI at entry */
static uint64_t ram;                       /* bytes of RAM: [0, ram) */

static long hc_next(uint64_t id) { return hypercall(HC_DOMAIN_NEXT, id, 0, 0, 0, 0); }

/* Waits (yielding, so the housekeeping CPU 0 that ctl is pinned to can
 * reap) until domain id is gone; the last HC_DOMAIN_INFO result. */
static long wait_gone(uint64_t id)
{
    long r = 0;
    for (unsigned i = 0; i < YIELD_POLLS && (r = dom_info(id)) == 0; i++)
        hc_yield();
    return r;
}

struct id_list {
    long ids[8];
    unsigned n;
    long end; /* what ended the walk: -PL_ENOENT expected */
};

/* Walks the domain ids with HC_DOMAIN_NEXT from 0. */
static void list_domains(struct id_list *l)
{
    long id = 0;
    memset(l, 0, sizeof(*l));
    for (;;) {
        id = hc_next((uint64_t)id);
        if (id <= 0 || l->n == 8)
            break;
        l->ids[l->n++] = id;
    }
    l->end = id;
}

/* The walk listed exactly want[0..n), then -PL_ENOENT. */
static void check_list(const struct id_list *l, const long *want, unsigned n, const char *name)
{
    bool ok = l->n == n && l->end == -PL_ENOENT;
    for (unsigned i = 0; ok && i < n; i++)
        ok = l->ids[i] == want[i];
    CHECKF(ok, name, "%u ids: %ld %ld %ld %ld, then %ld", l->n, l->ids[0], l->ids[1], l->ids[2], l->ids[3], l->end);
}

static void check_domains(const long *want, unsigned n, const char *name)
{
    struct id_list l;
    list_domains(&l);
    check_list(&l, want, n, name);
}

static void test_start_info(void)
{
    si = (const struct plinth_start_info *)boot_reg_a;
    CHECK_EQ(si->magic, PLINTH_START_MAGIC, "start info: magic");
    CHECK(si->domid == 1 && (si->flags & START_FLAG_PRIVILEGED), "start info: dom1, the control domain");
    ram = si->mem_bytes;
    CHECK_EQ(ram, 16 * MIB, "start info: 16 MiB of RAM");
    CHECK_EQ(si->module_count, 1, "start info: one file");
    const struct plinth_start_module *m = &si->modules[0];
    const unsigned char *elf = (const unsigned char *)m->gpa;
    CHECKF(same_name(m->cmdline, "type=file hello64.elf") && m->gpa % 4096 == 0 && m->gpa == si->free_end &&
               m->size > 64 && m->gpa + m->size <= ram && elf[0] == 0x7f && elf[1] == 'E' && elf[2] == 'L' &&
               elf[3] == 'F',
           "start info: the file hello64.elf, an ELF image at the top of RAM",
           "cmdline '%s', gpa 0x%lx, size %lu, free_end 0x%lx", m->cmdline, m->gpa, m->size, si->free_end);
}

static void test_domain_next(void)
{
    /* noctl ends by itself early; once it is gone the list is fixed. */
    CHECK_EQ(wait_gone(NOCTL), -PL_ENOENT, "dom3 (noctl) has ended by itself");
    static const long live[] = { 1, VICTIM };
    check_domains(live, 2, "HC_DOMAIN_NEXT from 0 lists dom1, dom2, then -ENOENT");
    CHECK_EQ(hc_next(1), VICTIM, "HC_DOMAIN_NEXT(1) is 2");
    CHECK_EQ(hc_next(VICTIM), -PL_ENOENT, "HC_DOMAIN_NEXT after the last: -ENOENT");
    CHECK_EQ(hc_next(UINT32_MAX), -PL_ENOENT, "HC_DOMAIN_NEXT(UINT32_MAX): -ENOENT");
    CHECK_EQ(hc_next(1ull << 32), -PL_ENOENT, "HC_DOMAIN_NEXT(2^32), not truncated to 0: -ENOENT");
    CHECK_EQ(hc_next((1ull << 32) | 1), -PL_ENOENT, "HC_DOMAIN_NEXT(2^32 + 1), not truncated to 1: -ENOENT");
}

static struct plinth_platform_info pinfo;

static long platform_info(void)
{
    memset(&pinfo, 0xa5, sizeof(pinfo));
    return hypercall(HC_PLATFORM_INFO, (uint64_t)&pinfo, 0, 0, 0, 0);
}

static void test_platform_info(void)
{
    CHECK_EQ(platform_info(), 0, "HC_PLATFORM_INFO");
    CHECK_EQ(pinfo.abi_version, (PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR, "platform: the header's ABI version");
    CHECK_EQ(pinfo.cpus, 2, "platform: 2 CPUs online");
    CHECK_EQ(pinfo.cpus, si->host_cpus, "platform: as many CPUs as the start information says");
    /* 512 MiB machines; ctl and victim hold 16 MiB each. */
    CHECKF(pinfo.mem_total > 256 * MIB && pinfo.mem_total <= 512 * MIB &&
               pinfo.mem_free + 32 * MIB <= pinfo.mem_total && pinfo.mem_free >= 64 * MIB,
           "platform: memory total and free", "total %lu, free %lu", pinfo.mem_total, pinfo.mem_free);
    CHECK_EQ(pinfo.tsc_khz, si->tsc_khz, "platform: the start information's TSC kHz");
    CHECK_EQ(pinfo.domains, 2, "platform: 2 live domains");
    const char *want = hc_default_insn == HC_INSN_VMMCALL ? "AMD-V" : "VT-x";
    CHECKF(same_name(pinfo.virt, want), "platform: virtualization of the CPU's vendor", "'%s', expected '%s'",
           pinfo.virt, want);
    CHECKF(same_name(pinfo.version, PLINTH_VERSION_STRING) && pinfo.reserved == 0,
           "platform: version string, reserved 0", "'%s', reserved %u", pinfo.version, pinfo.reserved);
    CHECK_EQ(hypercall(HC_PLATFORM_INFO, OUTSIDE, 0, 0, 0, 0), -PL_EFAULT, "HC_PLATFORM_INFO outside RAM: -EFAULT");
    CHECK_EQ(hypercall(HC_PLATFORM_INFO, ram - 1, 0, 0, 0, 0), -PL_EFAULT,
             "HC_PLATFORM_INFO at the last byte of RAM: -EFAULT");
}

static struct plinth_vcpu_info vinfo;

static long vcpu_info(uint64_t dom, uint64_t vcpu)
{
    memset(&vinfo, 0xa5, sizeof(vinfo));
    return hypercall(HC_VCPU_INFO, dom, vcpu, (uint64_t)&vinfo, 0, 0);
}

static bool runs_or_waits(void) { return vinfo.state == VCPU_STATE_RUNNING || vinfo.state == VCPU_STATE_RUNNABLE; }

static void test_vcpu_info(void)
{
    CHECK_EQ(vcpu_info(1, 0), 0, "HC_VCPU_INFO on itself");
    CHECKF(vinfo.vcpu == 0 && vinfo.state == VCPU_STATE_RUNNING && vinfo.cpu == 0 && vinfo.affinity == 1 &&
               vinfo.reserved == 0 && vinfo.exits > 0,
           "itself: vCPU 0 running on CPU 0, affinity CPU 0 (cpus=0)", "vcpu %u, state %u, cpu %d, affinity 0x%lx",
           vinfo.vcpu, vinfo.state, vinfo.cpu, vinfo.affinity);
    CHECK_EQ(vcpu_info(VICTIM, 0), 0, "HC_VCPU_INFO on dom2 vCPU 0");
    uint64_t t0 = vinfo.cpu_time_ns;
    CHECKF(vinfo.vcpu == 0 && runs_or_waits() && (vinfo.cpu == 0 || vinfo.cpu == 1) && vinfo.affinity == 3 &&
               vinfo.reserved == 0 && vinfo.exits > 0 && t0 > 0,
           "dom2 vCPU 0: running or runnable, on CPU 0 or 1, affinity both CPUs",
           "vcpu %u, state %u, cpu %d, affinity 0x%lx, time %lu", vinfo.vcpu, vinfo.state, vinfo.cpu, vinfo.affinity,
           t0);
    let_time_pass();
    vcpu_info(VICTIM, 0);
    CHECKF(vinfo.cpu_time_ns > t0, "dom2 vCPU 0's CPU time grows", "%lu ns then %lu ns", t0, vinfo.cpu_time_ns);
    CHECK_EQ(vcpu_info(VICTIM, 1), -PL_EINVAL, "HC_VCPU_INFO of vCPU 1 of a 1-vCPU domain: -EINVAL");
    CHECK_EQ(hypercall(HC_VCPU_INFO, VICTIM, 0, OUTSIDE, 0, 0), -PL_EFAULT, "HC_VCPU_INFO outside RAM: -EFAULT");
    CHECK_EQ(hypercall(HC_VCPU_INFO, VICTIM, 0, ram - 8, 0, 0), -PL_EFAULT,
             "HC_VCPU_INFO across the end of RAM: -EFAULT");
    CHECK_EQ(vcpu_info(99, 0), -PL_ENOENT, "HC_VCPU_INFO of a domain that does not exist: -ENOENT");
    CHECK_EQ(vcpu_info((1ull << 32) | VICTIM, 0), -PL_ENOENT, "HC_VCPU_INFO of dom 2^32 + 2: -ENOENT");
}

static long set_affinity(uint64_t dom, uint64_t vcpu, uint64_t mask)
{
    return hypercall(HC_VCPU_SET_AFFINITY, dom, vcpu, mask, 0, 0);
}

/* Polls until the victim's vCPU 0 has run on cpu (and may run only there). */
static bool wait_on_cpu(int cpu)
{
    for (unsigned i = 0; i < YIELD_POLLS; i++) {
        if (vcpu_info(VICTIM, 0) == 0 && vinfo.cpu == cpu && vinfo.affinity == 1ull << cpu && runs_or_waits())
            return true;
        hc_yield();
    }
    return false;
}

static void test_affinity(void)
{
    CHECK_EQ(set_affinity(VICTIM, 0, 1), 0, "pin dom2 vCPU 0 to CPU 0");
    CHECKF(wait_on_cpu(0), "dom2 runs on CPU 0", "cpu %d, affinity 0x%lx, state %u", vinfo.cpu, vinfo.affinity,
           vinfo.state);
    CHECK_EQ(set_affinity(VICTIM, 0, 2), 0, "pin dom2 vCPU 0 to CPU 1");
    CHECKF(wait_on_cpu(1), "dom2 moves to CPU 1", "cpu %d, affinity 0x%lx, state %u", vinfo.cpu, vinfo.affinity,
           vinfo.state);
    CHECK_EQ(set_affinity(VICTIM, 0, 0), -PL_EINVAL, "affinity mask 0: -EINVAL");
    CHECK_EQ(set_affinity(VICTIM, 0, 1ull << 5), -PL_EINVAL, "affinity only offline CPU 5: -EINVAL");
    CHECK_EQ(set_affinity(VICTIM, 3, 3), -PL_EINVAL, "affinity of vCPU 3 of a 1-vCPU domain: -EINVAL");
    CHECK_EQ(set_affinity(VICTIM, 1, 3), -PL_EINVAL, "affinity of vCPU 1 of a 1-vCPU domain: -EINVAL");
    CHECK_EQ(set_affinity(99, 0, 3), -PL_ENOENT, "affinity in a domain that does not exist: -ENOENT");
    vcpu_info(VICTIM, 0);
    CHECK_EQ(vinfo.affinity, 2, "refused masks leave dom2 on CPU 1");
    CHECK_EQ(set_affinity(VICTIM, VCPU_ALL, 1), 0, "VCPU_ALL: dom2 to CPU 0");
    CHECKF(wait_on_cpu(0), "VCPU_ALL moves dom2 back to CPU 0", "cpu %d, affinity 0x%lx, state %u", vinfo.cpu,
           vinfo.affinity, vinfo.state);
    /* Offline CPUs in a mask with an online one are allowed, not shown. */
    CHECK_EQ(set_affinity(VICTIM, VCPU_ALL, 2 | 1ull << 5), 0, "VCPU_ALL: dom2 to CPUs 1 and (offline) 5");
    CHECKF(wait_on_cpu(1), "dom2 moves to CPU 1 (affinity reads CPU 1 only)", "cpu %d, affinity 0x%lx, state %u",
           vinfo.cpu, vinfo.affinity, vinfo.state);
}

static char con_buf[HC_CONSOLE_READ_MAX + 1];

static long console_read(uint64_t dom, uint64_t buf, uint64_t len, uint64_t pos_gpa)
{
    return hypercall(HC_CONSOLE_READ, dom, buf, len, pos_gpa, 0);
}

static void test_console_read(void)
{
    static const char line[] = "victim: running until destroyed\n";
    const long n = sizeof(line) - 1;
    static uint64_t pos;
    pos = 0;
    long got = console_read(VICTIM, (uint64_t)con_buf, HC_CONSOLE_READ_MAX, (uint64_t)&pos);
    CHECKF(got == n && memcmp(con_buf, line, (size_t)n) == 0 && pos == (uint64_t)n,
           "HC_CONSOLE_READ: dom2's console holds its one line", "got %ld, position %lu", got, pos);
    CHECK_EQ(console_read(VICTIM, (uint64_t)con_buf, HC_CONSOLE_READ_MAX, (uint64_t)&pos), 0,
             "HC_CONSOLE_READ at the end: nothing more");
    CHECK_EQ(pos, n, "HC_CONSOLE_READ at the end leaves the position");
    pos = 0;
    memset(con_buf, 0, 16);
    got = console_read(VICTIM, (uint64_t)con_buf, 7, (uint64_t)&pos);
    CHECKF(got == 7 && pos == 7 && memcmp(con_buf, "victim:", 7) == 0 && con_buf[7] == 0,
           "HC_CONSOLE_READ of 7 bytes: exactly those", "got %ld, position %lu", got, pos);
    pos = 0;
    CHECK_EQ(console_read(VICTIM, (uint64_t)con_buf, HC_CONSOLE_READ_MAX + 1, (uint64_t)&pos), -PL_E2BIG,
             "HC_CONSOLE_READ over the maximum: -E2BIG");
    CHECK_EQ(console_read(VICTIM, OUTSIDE, 16, (uint64_t)&pos), -PL_EFAULT, "HC_CONSOLE_READ into memory it lacks: -EFAULT");
    CHECK_EQ(console_read(VICTIM, ram - 8, 16, (uint64_t)&pos), -PL_EFAULT,
             "HC_CONSOLE_READ across the end of RAM: -EFAULT");
    CHECK_EQ(console_read(VICTIM, (uint64_t)con_buf, 16, OUTSIDE), -PL_EFAULT,
             "HC_CONSOLE_READ with its position outside RAM: -EFAULT");
    CHECK_EQ(console_read(VICTIM, (uint64_t)con_buf, 16, ram - 4), -PL_EFAULT,
             "HC_CONSOLE_READ with its position across the end of RAM: -EFAULT");
    CHECK_EQ(console_read(99, (uint64_t)con_buf, 16, (uint64_t)&pos), -PL_ENOENT,
             "HC_CONSOLE_READ of a domain that does not exist: -ENOENT");
    CHECK_EQ(pos, 0, "refused reads leave the position");
}

#define SENTINEL 0x5a5a5a5a5a5a5a5aull
static uint64_t map[16], map2[16];

static void test_memory_map(void)
{
    for (unsigned i = 0; i < 16; i++)
        map[i] = map2[i] = SENTINEL;
    long chunks = hypercall(HC_MEMORY_MAP, (uint64_t)map, 16, 0, 0, 0);
    CHECK_EQ(chunks, ram / (2 * MIB), "HC_MEMORY_MAP: RAM / 2 MiB chunks (8)");
    bool ok = chunks == 8;
    for (unsigned i = 0; ok && i < 8; i++) {
        ok = map[i] != 0 && map[i] != SENTINEL && map[i] % (2 * MIB) == 0;
        for (unsigned j = 0; ok && j < i; j++)
            ok = map[j] != map[i];
    }
    CHECKF(ok, "HC_MEMORY_MAP: 8 distinct 2 MiB aligned host addresses", "0x%lx 0x%lx 0x%lx ... 0x%lx", map[0], map[1],
           map[2], map[7]);
    CHECKF(map[8] == SENTINEL && map[15] == SENTINEL, "HC_MEMORY_MAP writes no more entries than chunks",
           "0x%lx 0x%lx", map[8], map[15]);
    CHECK_EQ(hypercall(HC_MEMORY_MAP, (uint64_t)map2, 1, 0, 0, 0), 8, "HC_MEMORY_MAP with 1 entry: still 8 chunks");
    CHECKF(map2[0] == map[0] && map2[1] == SENTINEL, "HC_MEMORY_MAP with 1 entry writes only that one", "0x%lx 0x%lx",
           map2[0], map2[1]);
    CHECK_EQ(hypercall(HC_MEMORY_MAP, OUTSIDE, 8, 0, 0, 0), -PL_EFAULT, "HC_MEMORY_MAP outside RAM: -EFAULT");
    CHECK_EQ(hypercall(HC_MEMORY_MAP, ram - 8, 2, 0, 0, 0), -PL_EFAULT, "HC_MEMORY_MAP across the end of RAM: -EFAULT");
}

/* HC_DOMAIN_IRQ's arguments. ctl is not the victim's device model, so the
 * InterruptStatus bits of its windows are not ctl's to set; and a plain
 * raise is not tried, since the victim has no handler for it. */
static long domain_irq(uint64_t dom, uint64_t line, uint64_t status, uint64_t seq)
{
    return hypercall(HC_DOMAIN_IRQ, dom, line, status, seq, 0);
}

static void test_domain_irq(void)
{
    const uint64_t vline = PLINTH_VIRTIO_MMIO_IRQ_BASE;
    CHECK_EQ(domain_irq(VICTIM, 64, 0, 0), -PL_EINVAL, "HC_DOMAIN_IRQ line 64: -EINVAL");
    CHECK_EQ(domain_irq(VICTIM, vline, 4, 0), -PL_EINVAL, "HC_DOMAIN_IRQ unknown InterruptStatus bit: -EINVAL");
    CHECK_EQ(domain_irq(VICTIM, 3, VIRTIO_INT_USED_BUFFER, 0), -PL_EINVAL,
             "HC_DOMAIN_IRQ status bits on a line of no virtio window: -EINVAL");
    CHECK_EQ(domain_irq(VICTIM, vline + PLINTH_VIRTIO_MMIO_MAX, VIRTIO_INT_USED_BUFFER, 0), -PL_EINVAL,
             "HC_DOMAIN_IRQ status bits past the last window: -EINVAL");
    CHECK_EQ(domain_irq(VICTIM, vline, 0, 1ull << 32), -PL_EINVAL, "HC_DOMAIN_IRQ seq of 33 bits: -EINVAL");
    CHECK_EQ(domain_irq(VICTIM, vline, VIRTIO_INT_USED_BUFFER, 0), -PL_EPERM,
             "HC_DOMAIN_IRQ status bits from a domain that is not the device model: -EPERM");
    CHECK_EQ(domain_irq(99, vline, 0, 0), -PL_ENOENT, "HC_DOMAIN_IRQ to no domain: -ENOENT");
}

static long irq_bind(uint64_t line, uint64_t vector, uint64_t flags)
{
    return hypercall(HC_IRQ_BIND, line, vector, flags, 0, 0);
}
static long irq_done(uint64_t gsi) { return hypercall(HC_IRQ_DONE, gsi, 0, 0, 0, 0); }

static void test_irq(void)
{
    CHECK_EQ(irq_bind(7, 5, 0), -PL_EINVAL, "HC_IRQ_BIND to vector 5: -EINVAL");
    CHECK_EQ(irq_bind(7, 31, 0), -PL_EINVAL, "HC_IRQ_BIND to vector 31: -EINVAL");
    CHECK_EQ(irq_bind(7, 256, 0), -PL_EINVAL, "HC_IRQ_BIND to vector 256: -EINVAL");
    CHECK_EQ(irq_bind(7, 0x60, 1u << 3), -PL_EINVAL, "HC_IRQ_BIND with an unknown flag: -EINVAL");
    CHECK_EQ(irq_bind(200, 0x60, 0), -PL_ENOENT, "HC_IRQ_BIND of GSI 200: -ENOENT");
    CHECK_EQ(irq_bind(0, 0x60, IRQ_FLAG_ISA), -PL_EBUSY, "HC_IRQ_BIND of ISA IRQ 0 (the PIT): -EBUSY");
    CHECK_EQ(irq_bind(4, 0x60, IRQ_FLAG_ISA), -PL_EBUSY, "HC_IRQ_BIND of ISA IRQ 4 (the console's COM1): -EBUSY");
    CHECK_EQ(irq_bind(4, 0x60, 0), -PL_EBUSY, "HC_IRQ_BIND of GSI 4 (the console's COM1): -EBUSY");
    CHECK_EQ(irq_done(7), -PL_ENOENT, "HC_IRQ_DONE of an unbound GSI: -ENOENT");
    CHECK_EQ(irq_done(200), -PL_ENOENT, "HC_IRQ_DONE of GSI 200: -ENOENT");
    CHECK_EQ(irq_bind(7, 0x60, 0), 7, "HC_IRQ_BIND of GSI 7, edge, active high, to vector 0x60");
    CHECK_EQ(irq_done(7), 0, "HC_IRQ_DONE of the bound GSI 7");
    CHECK_EQ(irq_bind(7, 0, 0), 7, "HC_IRQ_BIND vector 0 unbinds GSI 7");
    CHECK_EQ(irq_done(7), -PL_ENOENT, "HC_IRQ_DONE after unbinding: -ENOENT");
}

static struct plinth_domain_create req;

/* A valid request: hello64 (it wants 16 MiB and "hello64" as its command
 * line), capped at 1 % of a CPU so it cannot finish before it is looked at. */
static void valid_req(void)
{
    memset(&req, 0, sizeof(req));
    memcpy(req.name, "child", 6);
    req.mem_bytes = 16 * MIB;
    req.vcpus = 1;
    req.weight = 300;
    req.cap = 1;
    req.affinity = 0;
    req.image_gpa = si->modules[0].gpa;
    req.image_size = si->modules[0].size;
    memcpy(req.cmdline, "hello64", 8);
}

static long create(void) { return hypercall(HC_DOMAIN_CREATE, (uint64_t)&req, 0, 0, 0, 0); }

static void test_create_refused(void)
{
    valid_req();
    req.name[0] = 0;
    CHECK_EQ(create(), -PL_EINVAL, "create: empty name: -EINVAL");
    valid_req();
    memcpy(req.name, "a b", 4);
    CHECK_EQ(create(), -PL_EINVAL, "create: name with a space: -EINVAL");
    valid_req();
    memset(req.name, 'x', sizeof(req.name));
    CHECK_EQ(create(), -PL_EINVAL, "create: 32-character name without its NUL: -EINVAL");
    valid_req();
    req.mem_bytes = 2 * MIB;
    CHECK_EQ(create(), -PL_ERANGE, "create: 2 MiB: -ERANGE");
    valid_req();
    req.mem_bytes = 2048 * MIB;
    CHECK_EQ(create(), -PL_ERANGE, "create: 2 GiB: -ERANGE");
    valid_req();
    req.vcpus = 0;
    CHECK_EQ(create(), -PL_EINVAL, "create: 0 vCPUs: -EINVAL");
    valid_req();
    req.vcpus = 9;
    CHECK_EQ(create(), -PL_EINVAL, "create: 9 vCPUs: -EINVAL");
    valid_req();
    req.weight = 70000;
    CHECK_EQ(create(), -PL_EINVAL, "create: weight 70000: -EINVAL");
    valid_req();
    req.cap = 201;
    CHECK_EQ(create(), -PL_EINVAL, "create: cap 201 % on 2 CPUs: -EINVAL");
    valid_req();
    req.flags = 1u << 31; /* DOMAIN_CREATE_PAUSED is the only flag */
    CHECK_EQ(create(), -PL_EINVAL, "create: an unknown flag: -EINVAL");
    valid_req();
    req.affinity = 1ull << 7;
    CHECK_EQ(create(), -PL_EINVAL, "create: affinity only offline CPU 7: -EINVAL");
    valid_req();
    req.image_gpa = OUTSIDE;
    CHECK_EQ(create(), -PL_EFAULT, "create: image outside RAM: -EFAULT");
    valid_req();
    req.image_size = ram - req.image_gpa + 1;
    CHECK_EQ(create(), -PL_EFAULT, "create: image running past the end of RAM: -EFAULT");
    valid_req();
    req.image_size = 0;
    CHECK_EQ(create(), -PL_EFAULT, "create: image of 0 bytes: -EFAULT");
    valid_req();
    memset(req.cmdline, 'x', sizeof(req.cmdline));
    CHECK_EQ(create(), -PL_EINVAL, "create: command line without its NUL: -EINVAL");
    valid_req();
    CHECK_EQ(hypercall(HC_DOMAIN_CREATE, OUTSIDE, 0, 0, 0, 0), -PL_EFAULT, "create: request outside RAM: -EFAULT");
    CHECK_EQ(hypercall(HC_DOMAIN_CREATE, ram - sizeof(req) / 2, 0, 0, 0, 0), -PL_EFAULT,
             "create: request across the end of RAM: -EFAULT");
    static const long live[] = { 1, VICTIM };
    check_domains(live, 2, "refused creates leave no domain behind");
}

static void test_create(void)
{
    platform_info();
    uint64_t free_before = pinfo.mem_free;
    valid_req();
    /* Everything about the new domain is read at once, before any output
     * (which takes exits): capped at 1 %, it is still running then. */
    long id = create();
    long info_rc = dom_info(CHILD);
    struct plinth_domain_info ci = info;
    long vcpu_rc = vcpu_info(CHILD, 0);
    struct plinth_vcpu_info cv = vinfo;
    struct id_list l;
    list_domains(&l);
    long pi_rc = platform_info();
    CHECK_EQ(id, CHILD, "create dom4 \"child\" from the file hello64.elf");
    CHECK_EQ(info_rc, 0, "HC_DOMAIN_INFO on the new dom4");
    CHECKF(ci.id == CHILD && same_name(ci.name, "child") && ci.mem_bytes == 16 * MIB && ci.vcpus == 1 &&
               ci.weight == 300 && ci.cap == 1 && ci.flags == 0 && ci.state == DOMAIN_STATE_RUNNING,
           "dom4 is child: 16 MiB, 1 vCPU, weight 300, cap 1, running, not privileged",
           "id %u, name '%s', mem %lu, vcpus %u, weight %u, cap %u, flags 0x%x, state %u", ci.id, ci.name,
           ci.mem_bytes, ci.vcpus, ci.weight, ci.cap, ci.flags, ci.state);
    CHECK_EQ(vcpu_rc, 0, "HC_VCPU_INFO on dom4 vCPU 0");
    CHECKF(cv.vcpu == 0 && cv.affinity == 3 && cv.state != VCPU_STATE_OFFLINE && cv.state != VCPU_STATE_STOPPED,
           "dom4 vCPU 0 started, affinity 0 means both CPUs", "vcpu %u, state %u, affinity 0x%lx", cv.vcpu,
           cv.state, cv.affinity);
    static const long live[] = { 1, VICTIM, CHILD };
    check_list(&l, live, 3, "HC_DOMAIN_NEXT lists dom1, dom2, dom4");
    CHECKF(pi_rc == 0 && pinfo.domains == 3 && pinfo.mem_free + 16 * MIB <= free_before,
           "platform: 3 domains, 16 MiB less free", "%ld: %u domains, free %lu then %lu", pi_rc, pinfo.domains,
           free_before, pinfo.mem_free);
    /* Let it run: no cap. */
    CHECK_EQ(hypercall(HC_DOMAIN_SET_SCHED, CHILD, 300, 0, 0, 0), 0, "lift dom4's cap");
    CHECK_EQ(wait_gone(CHILD), -PL_ENOENT, "dom4 ends by itself and is gone");
    CHECK(log_contains("dom4(child): guest hello64: 14 passed, 0 failed"), "dom4 passed hello64's 14 checks");
    platform_info();
    CHECKF(pinfo.domains == 2 && pinfo.mem_free == free_before, "platform: dom4's memory is free again",
           "%u domains, free %lu then %lu", pinfo.domains, free_before, pinfo.mem_free);

    /* An image that is not an ELF file: refused after the checks, with the
     * id it took (5) not left behind. */
    static const char not_elf[] = "plain text, not an ELF image\n";
    valid_req();
    memcpy(req.name, "notelf", 7);
    req.image_gpa = (uint64_t)not_elf;
    req.image_size = sizeof(not_elf);
    CHECK_EQ(create(), -PL_EINVAL, "create from an image that is not an ELF file: -EINVAL");
    CHECK_EQ(dom_info(CHILD + 1), -PL_ENOENT, "the refused dom5 does not exist");
    static const long after[] = { 1, VICTIM };
    check_domains(after, 2, "HC_DOMAIN_NEXT lists dom1, dom2 again");
    platform_info();
    CHECK_EQ(pinfo.mem_free, free_before, "the refused create left no memory taken");
}

int main(void)
{
    test_start_info();
    /* Domains are started as they are created: dom2 may not exist yet. */
    long seen = -1;
    for (unsigned i = 0; i < WAIT_POLLS && (seen = dom_info(VICTIM)) != 0; i++)
        pause();
    CHECK_EQ(seen, 0, "dom2 appears");
    CHECK_EQ(dom_info(1), 0, "info on itself");
    CHECK(same_name(info.name, "ctl") && (info.flags & DOMAIN_FLAG_PRIVILEGED), "dom1 is ctl, the control domain");
    CHECK_EQ(dom_info(VICTIM), 0, "info on dom2");
    CHECK(same_name(info.name, "victim") && info.state == DOMAIN_STATE_RUNNING && !(info.flags & DOMAIN_FLAG_PRIVILEGED),
          "dom2 is victim, running, not privileged");
    CHECK_EQ(info.mem_bytes, 16ul << 20, "dom2 has 16 MiB");
    CHECK_EQ(dom_info(99), -PL_ENOENT, "info on a domain that does not exist: -ENOENT");
    CHECK_EQ(dom_info(1ull << 40), -PL_ENOENT, "info on an absurd id: -ENOENT");
    CHECK_EQ(hypercall(HC_DOMAIN_INFO, VICTIM, 0xC0000000ull, 0, 0, 0), -PL_EFAULT, "info into memory it lacks: -EFAULT");
    CHECK_EQ(hypercall(HC_DOMAIN_PAUSE, 1, 0, 0, 0, 0), -PL_EINVAL, "pausing itself: -EINVAL");
    CHECK_EQ(hypercall(HC_DOMAIN_DESTROY, 1, 0, 0, 0, 0), -PL_EINVAL, "destroying itself: -EINVAL");
    CHECK_EQ(hypercall(HC_DOMAIN_SET_SCHED, VICTIM, 0, 0, 0, 0), -PL_EINVAL, "weight 0: -EINVAL");
    CHECK_EQ(hypercall(HC_DOMAIN_SET_SCHED, VICTIM, 512, 0, 0, 0), 0, "weight 512");
    dom_info(VICTIM);
    CHECK_EQ(info.weight, 512, "dom2's weight reads back 512");

    /* Pause: the victim's CPU time stops growing. */
    CHECK_EQ(hypercall(HC_DOMAIN_PAUSE, VICTIM, 0, 0, 0, 0), 0, "pause dom2");
    let_time_pass();
    dom_info(VICTIM);
    uint64_t t1 = info.cpu_time_ns;
    CHECK_EQ(info.state, DOMAIN_STATE_PAUSED, "dom2 reads as paused");
    let_time_pass();
    dom_info(VICTIM);
    CHECKF(info.cpu_time_ns == t1, "paused dom2 gets no CPU time", "%lu ns then %lu ns", t1, info.cpu_time_ns);

    /* Unpause: it runs again. */
    CHECK_EQ(hypercall(HC_DOMAIN_UNPAUSE, VICTIM, 0, 0, 0, 0), 0, "unpause dom2");
    let_time_pass();
    dom_info(VICTIM);
    CHECKF(info.cpu_time_ns > t1 && info.state == DOMAIN_STATE_RUNNING, "unpaused dom2 runs again",
           "%lu ns then %lu ns, state %u", t1, info.cpu_time_ns, info.state);

    /* The hypervisor log holds the victim's console output. */
    CHECK(log_contains("dom2(victim): victim: running until destroyed"), "HC_LOG_READ finds dom2's console line");
    uint64_t pos = 0;
    CHECK_EQ(hypercall(HC_LOG_READ, (uint64_t)log_buf, HC_LOG_READ_MAX + 1, (uint64_t)&pos, 0, 0), -PL_E2BIG,
             "HC_LOG_READ over the maximum: -E2BIG");
    CHECK_EQ(hypercall(HC_LOG_READ, 0xC0000000ull, 16, (uint64_t)&pos, 0, 0), -PL_EFAULT,
             "HC_LOG_READ into memory it lacks: -EFAULT");
    CHECK_EQ(hypercall(HC_LOG_READ, (uint64_t)log_buf, 16, 0xC0000000ull, 0, 0), -PL_EFAULT,
             "HC_LOG_READ with its position outside its memory: -EFAULT");

    /* ABI 1.1, while dom2 runs. */
    test_domain_next();
    test_platform_info();
    test_vcpu_info();
    test_affinity();
    test_console_read();
    test_memory_map();
    test_domain_irq();
    test_irq();
    test_create_refused();
    test_create();

    /* Destroy: it stops, and once reaped it is gone. */
    CHECK_EQ(hypercall(HC_DOMAIN_DESTROY, VICTIM, 0, 0, 0, 0), 0, "destroy dom2");
    long r = 0;
    for (unsigned i = 0; i < WAIT_POLLS && (r = dom_info(VICTIM)) == 0; i++)
        pause();
    CHECK_EQ(r, -PL_ENOENT, "destroyed dom2 is gone");
    return tests_failed();
}
