/* Hypercall dispatch (ABI: include/plinth/hypercall.h, docs/hypercalls.md).
 * The CPUID-free fast path: no allocation, no lock. */
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "hv/compiler.h"
#include "hv/log.h"
#include "hv/arch_cpu.h"
#include "hv/domain.h"
#include "hv/domain_boot.h"
#include "hv/evtchn.h"
#include "hv/grant.h"
#include "hv/ioreq.h"
#include "hv/irq.h"
#include "hv/mm.h"
#include "hv/pmm.h"
#include "arch/x86/paging.h"
#include "hv/schedule.h"
#include "hv/string.h"
#include "plinth/errno.h"
#include "plinth/evtchn.h"
#include "plinth/grant.h"
#include "plinth/ioreq.h"
#include "plinth/version.h"

#define NS_PER_SECOND 1000000000ull
#define MAX_TIMER_NS (3600ull * NS_PER_SECOND)
#define FIRST_EXTERNAL_VECTOR 32


static int64_t hc_console_write(struct domain *d, uint64_t gpa, uint64_t len)
{
    if (len > HC_CONSOLE_MAX)
        return -PL_E2BIG;
    if (!domain_ram_contains(d, gpa, len))
        return -PL_EFAULT;
    char buf[256];
    for (uint64_t done = 0; done < len;) {
        uint64_t n = MIN(len - done, sizeof(buf));
        domain_read(d, gpa + done, buf, n);
        domain_console_write(d, buf, n);
        done += n;
    }
    return (int64_t)len;
}

static int64_t hc_set_timer(struct vcpu *v, uint64_t ns, uint64_t vector)
{
    if (ns == 0) {
        v->hc_timer_deadline = 0;
        return 0;
    }
    if (vector < FIRST_EXTERNAL_VECTOR || vector > 255 || ns > MAX_TIMER_NS)
        return -PL_EINVAL;
    uint64_t cycles = ns / NS_PER_SECOND * tsc_hz + ns % NS_PER_SECOND * tsc_hz / NS_PER_SECOND;
    v->hc_timer_deadline = rdtsc() + MAX(cycles, 1ull);
    v->hc_timer_vector = (uint8_t)vector;
    return 0;
}

static int64_t hc_exit_stats(struct vcpu *v, uint64_t gpa)
{
    struct plinth_exit_stats st;
    struct domain *d = v->dom;
    if (!domain_ram_contains(d, gpa, sizeof(st)))
        return -PL_EFAULT;
    memcpy(st.count, v->exit_count, sizeof(st.count));
    st.total = v->exit_total;
    domain_write(d, gpa, &st, sizeof(st));
    return 0;
}

/* Start secondary vCPU `id` with the caller's current paging, descriptor
 * tables and segments, at rip with stack rsp and RDI = arg. */
static int64_t hc_vcpu_up(struct vcpu *caller, uint64_t id, uint64_t rip, uint64_t rsp, uint64_t arg)
{
    struct domain *d = caller->dom;
    if (id == 0 || id >= d->vcpu_count)
        return -PL_EINVAL;
    struct vcpu *v = d->vcpus[id];
    uint64_t flags = spin_lock_irqsave(&d->lock);
    bool already = v->started;
    v->started = true; /* claimed: a second call gets -PL_EBUSY */
    spin_unlock_irqrestore(&d->lock, flags);
    if (already)
        return -PL_EBUSY;
    struct vcpu_state st;
    arch_vcpu_get_state(caller, &st);
    st.rip = rip;
    st.rflags = 0x2; /* interrupts off, as at any CPU's start */
    v->gprs[REG_RSP] = rsp;
    v->gprs[REG_RDI] = arg;
    arch_vcpu_set_state(v, &st);
    arch_vcpu_put(v); /* touched here; it may run on any CPU */
    schedule_wake(v);
    return 0;
}

/* ---- management (the control domain only) ---- */

struct mgmt_call {
    struct vcpu *caller;
    uint64_t nr, a1, a2, a3;
};

static uint32_t vcpu_state_of(struct vcpu *v, const struct schedule_vcpu_info *si)
{
    if (v->dom->state == DOMAIN_STOPPED)
        return VCPU_STATE_STOPPED;
    switch (si->state) {
    case SCHED_RUNNING: return VCPU_STATE_RUNNING;
    case SCHED_RUNNABLE: return VCPU_STATE_RUNNABLE;
    case SCHED_BLOCKED: return v->started ? VCPU_STATE_BLOCKED : VCPU_STATE_OFFLINE;
    case SCHED_PAUSED: return VCPU_STATE_PAUSED;
    default: return VCPU_STATE_OFFLINE;
    }
}

static int mgmt_op(struct domain *target, void *arg)
{
    struct mgmt_call *c = arg;
    struct domain *self = c->caller->dom;
    switch (c->nr) {
    case HC_DOMAIN_INFO: {
        struct plinth_domain_info info;
        memset(&info, 0, sizeof(info));
        info.id = target->id;
        info.state = target->state == DOMAIN_STOPPED ? DOMAIN_STATE_STOPPED
                     : target->paused               ? DOMAIN_STATE_PAUSED
                                                    : DOMAIN_STATE_RUNNING;
        info.flags = (target->privileged ? DOMAIN_FLAG_PRIVILEGED : 0) | (target->crashed ? DOMAIN_FLAG_CRASHED : 0);
        info.vcpus = target->vcpu_count;
        info.weight = target->sd.weight;
        info.cap = target->sd.cap;
        info.mem_bytes = target->mem_size;
        info.cpu_time_ns = schedule_domain_runtime_ns(target);
        memcpy(info.name, target->name, sizeof(info.name) - 1);
        return domain_write(self, c->a1, &info, sizeof(info)) ? 0 : -PL_EFAULT;
    }
    case HC_DOMAIN_PAUSE:
    case HC_DOMAIN_UNPAUSE:
        if (target == self)
            return -PL_EINVAL; /* it could never unpause itself */
        if (target->state == DOMAIN_STOPPED)
            return -PL_EINVAL;
        target->paused = c->nr == HC_DOMAIN_PAUSE;
        if (target->paused)
            schedule_pause_domain(target);
        else
            schedule_unpause_domain(target);
        return 0;
    case HC_DOMAIN_DESTROY:
        if (target == self)
            return -PL_EINVAL; /* HC_SHUTDOWN is for that */
        if (target->paused) {
            target->paused = false;
            schedule_unpause_domain(target); /* so its vCPUs can be taken off */
        }
        target->destroyed = target->state == DOMAIN_RUNNING;
        domain_stop(target, false, 0, "destroyed by dom%u", self->id);
        return 0;
    case HC_DOMAIN_SET_SCHED:
        if (c->a1 > UINT32_MAX || c->a2 > UINT32_MAX)
            return -PL_EINVAL;
        return schedule_set_params(target, (uint32_t)c->a1, (uint32_t)c->a2);
    case HC_CONSOLE_READ: {
        /* a1 buf, a2 len, a3 position (all checked by the caller) */
        uint64_t pos, lost, done = 0;
        domain_read(self, c->a3, &pos, sizeof(pos));
        char chunk[256];
        while (done < c->a2) {
            uint64_t flags = spin_lock_irqsave(&target->console_lock);
            size_t got = logring_read(&target->conring, &pos, chunk, MIN(sizeof(chunk), c->a2 - done), &lost);
            spin_unlock_irqrestore(&target->console_lock, flags);
            if (got == 0)
                break;
            domain_write(self, c->a1 + done, chunk, got);
            done += got;
        }
        domain_write(self, c->a3, &pos, sizeof(pos));
        return (int)done;
    }
    case HC_VCPU_INFO: {
        if (c->a1 >= target->vcpu_count)
            return -PL_EINVAL;
        struct vcpu *v = target->vcpus[c->a1];
        struct schedule_vcpu_info si;
        schedule_vcpu_info(v, &si);
        struct plinth_vcpu_info info = {
            .vcpu = (uint32_t)c->a1,
            .state = vcpu_state_of(v, &si),
            .cpu = si.cpu,
            .affinity = si.affinity & arch_cpu_online_mask(),
            .cpu_time_ns = si.runtime_ns,
            .exits = v->exit_total,
        };
        return domain_write(self, c->a2, &info, sizeof(info)) ? 0 : -PL_EFAULT;
    }
    case HC_VCPU_SET_AFFINITY: {
        if (c->a1 != VCPU_ALL && c->a1 >= target->vcpu_count)
            return -PL_EINVAL;
        if (!(c->a2 & arch_cpu_online_mask()))
            return -PL_EINVAL;
        for (unsigned i = 0; i < target->vcpu_count; i++) {
            if (c->a1 != VCPU_ALL && i != c->a1)
                continue;
            int rc = schedule_set_affinity(target->vcpus[i], c->a2);
            if (rc)
                return rc;
        }
        return 0;
    }
    default:
        return -PL_ENOSYS;
    }
}

static int64_t hc_log_read(struct vcpu *v, uint64_t buf, uint64_t len, uint64_t pos_gpa)
{
    struct domain *d = v->dom;
    uint64_t pos, lost;
    if (len > HC_LOG_READ_MAX)
        return -PL_E2BIG;
    if (!domain_ram_contains(d, buf, len) || !domain_read(d, pos_gpa, &pos, sizeof(pos)))
        return -PL_EFAULT;
    char chunk[256];
    uint64_t done = 0;
    while (done < len) {
        size_t got = log_read(&pos, chunk, MIN(sizeof(chunk), len - done), &lost);
        if (got == 0)
            break;
        domain_write(d, buf + done, chunk, got);
        done += got;
    }
    domain_write(d, pos_gpa, &pos, sizeof(pos));
    return (int64_t)done;
}

static int64_t hc_domain_create(struct vcpu *v, uint64_t gpa)
{
    struct plinth_domain_create req;
    if (!domain_read(v->dom, gpa, &req, sizeof(req)))
        return -PL_EFAULT;
    return domain_boot_create(v->dom, &req);
}

static int64_t hc_platform_info(struct vcpu *v, uint64_t gpa)
{
    struct plinth_platform_info info;
    struct pmm_stats st;
    memset(&info, 0, sizeof(info));
    mm_stats(&st);
    info.abi_version = (PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR;
    info.cpus = arch_cpu_count();
    info.mem_total = st.managed_frames * PAGE_SIZE;
    info.mem_free = st.free_frames * PAGE_SIZE;
    info.tsc_khz = tsc_hz / 1000;
    info.domains = domain_count();
    /* The backend's short name ("VT-x", "AMD-V"): its first word. */
    const char *vn = arch_virt_name();
    for (size_t i = 0; i < sizeof(info.virt) - 1 && vn[i] && vn[i] != ' '; i++)
        info.virt[i] = vn[i];
    memcpy(info.version, PLINTH_VERSION_STRING, MIN(sizeof(PLINTH_VERSION_STRING), sizeof(info.version) - 1));
    return domain_write(v->dom, gpa, &info, sizeof(info)) ? 0 : -PL_EFAULT;
}

static int64_t hc_memory_map(struct vcpu *v, uint64_t gpa, uint64_t entries)
{
    struct domain *d = v->dom;
    uint64_t chunks = d->mem_size / DOMAIN_CHUNK;
    if (entries > chunks)
        entries = chunks;
    if (entries > UINT64_MAX / 8 || !domain_ram_contains(d, gpa, entries * 8))
        return -PL_EFAULT;
    domain_write(d, gpa, d->chunk_hpa, entries * 8);
    return (int64_t)chunks;
}

static int64_t hc_management(struct vcpu *v, uint64_t nr, const uint64_t *a)
{
    if (!v->dom->privileged)
        return -PL_EPERM;
    switch (nr) {
    case HC_LOG_READ:
        return hc_log_read(v, a[0], a[1], a[2]);
    case HC_DOMAIN_CREATE:
        return hc_domain_create(v, a[0]);
    case HC_PLATFORM_INFO:
        return hc_platform_info(v, a[0]);
    case HC_MEMORY_MAP:
        return hc_memory_map(v, a[0], a[1]);
    case HC_IRQ_BIND:
        return irq_bind(v->dom, a[0], a[1], a[2]);
    case HC_IRQ_DONE:
        return irq_done(v->dom, a[0]);
    case HC_MSI_BIND:
        return msi_bind(v->dom, a[0], a[1]);
    case HC_IOREQ_REGISTER:
    case HC_IOREQ_COMPLETE:
    case HC_FOREIGN_MAP:
    case HC_FOREIGN_UNMAP:
    case HC_DOMAIN_IRQ:
        return ioreq_hypercall(v, nr, a);
    case HC_DOMAIN_NEXT: {
        if (a[0] > UINT32_MAX)
            return -PL_ENOENT;
        unsigned next = domain_next_id((unsigned)a[0]);
        return next ? (int64_t)next : -PL_ENOENT;
    }
    case HC_DOMAIN_INFO:
        if (!domain_ram_contains(v->dom, a[1], sizeof(struct plinth_domain_info)))
            return -PL_EFAULT;
        break;
    case HC_VCPU_INFO:
        if (!domain_ram_contains(v->dom, a[2], sizeof(struct plinth_vcpu_info)))
            return -PL_EFAULT;
        break;
    case HC_CONSOLE_READ:
        if (a[2] > HC_CONSOLE_READ_MAX)
            return -PL_E2BIG;
        if (!domain_ram_contains(v->dom, a[1], a[2]) || !domain_ram_contains(v->dom, a[3], sizeof(uint64_t)))
            return -PL_EFAULT;
        break;
    default:
        break;
    }
    if (a[0] > UINT32_MAX)
        return -PL_ENOENT;
    struct mgmt_call c = { v, nr, a[1], a[2], a[3] };
    return domain_with((unsigned)a[0], mgmt_op, &c);
}

/* Returns true when the call ended the guest. */
static bool dispatch(struct vcpu *v, uint64_t nr, const uint64_t *a, int64_t *ret)
{
    struct domain *d = v->dom;
    switch (nr) {
    case HC_VERSION:
        *ret = (PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR;
        return false;
    case HC_CONSOLE_WRITE:
        *ret = hc_console_write(d, a[0], a[1]);
        return false;
    case HC_YIELD:
        v->yielded = true; /* the scheduling loop acts on it after this exit */
        *ret = 0;
        return false;
    case HC_SET_TIMER:
        *ret = hc_set_timer(v, a[0], a[1]);
        return false;
    case HC_SHUTDOWN:
        if (a[0] > SHUTDOWN_CRASH) {
            *ret = -PL_EINVAL;
            return false;
        }
        d->reboot_requested = a[0] == SHUTDOWN_REBOOT;
        domain_stop(d, a[0] == SHUTDOWN_CRASH, 0, "shut itself down (%s)",
                   a[0] == SHUTDOWN_POWEROFF ? "power off" : a[0] == SHUTDOWN_REBOOT ? "reboot" : "crash");
        return true;
    case HC_EXIT_STATS:
        *ret = hc_exit_stats(v, a[0]);
        return false;
    case HC_VCPU_UP:
        *ret = hc_vcpu_up(v, a[0], a[1], a[2], a[3]);
        return false;
    case HC_DOMAIN_INFO:
    case HC_DOMAIN_PAUSE:
    case HC_DOMAIN_UNPAUSE:
    case HC_DOMAIN_DESTROY:
    case HC_DOMAIN_SET_SCHED:
    case HC_LOG_READ:
    case HC_DOMAIN_CREATE:
    case HC_CONSOLE_READ:
    case HC_VCPU_INFO:
    case HC_VCPU_SET_AFFINITY:
    case HC_DOMAIN_NEXT:
    case HC_PLATFORM_INFO:
    case HC_MEMORY_MAP:
    case HC_IRQ_BIND:
    case HC_IRQ_DONE:
    case HC_MSI_BIND:
    case HC_IOREQ_REGISTER:
    case HC_IOREQ_COMPLETE:
    case HC_FOREIGN_MAP:
    case HC_FOREIGN_UNMAP:
    case HC_DOMAIN_IRQ:
        *ret = hc_management(v, nr, a);
        return false;
    case HC_EVTCHN_INIT:
    case HC_EVTCHN_ALLOC_UNBOUND:
    case HC_EVTCHN_BIND:
    case HC_EVTCHN_SEND:
    case HC_EVTCHN_CLOSE:
    case HC_EVTCHN_UNMASK:
    case HC_EVTCHN_STATUS:
        *ret = evtchn_hypercall(v, nr, a);
        return false;
    case HC_GRANT_OFFER:
    case HC_GRANT_REVOKE:
    case HC_GRANT_STATUS:
    case HC_GRANT_COPY:
    case HC_GRANT_MAP:
    case HC_GRANT_UNMAP:
        *ret = grant_hypercall(v, nr, a);
        return false;
    default:
        *ret = -PL_ENOSYS;
        return false;
    }
}

/* VMCALL is 0F 01 C1, VMMCALL 0F 01 D9 (SDM Vol. 2B, APM Vol. 3). */
static bool is_hypercall_insn(const uint8_t *b) { return b[0] == 0x0F && b[1] == 0x01 && (b[2] == 0xC1 || b[2] == 0xD9); }

void handle_hypercall(struct vcpu *v, const struct vcpu_exit *e)
{
    struct vcpu_exit skip = *e;
    if (e->reason == VEXIT_EXCEPTION) {
        /* #UD: the other vendor's hypercall instruction is emulated;
         * anything else is the guest's own #UD. */
        uint8_t insn[3];
        unsigned got = 0;
        struct vcpu_state st;
        arch_vcpu_get_state(v, &st);
        if (!vcpu_fetch_insn(v, &st, insn, sizeof(insn), &got) || got < 3 || !is_hypercall_insn(insn)) {
            vcpu_inject_exception(v, 6, false, 0);
            return;
        }
        skip.insn_len = 3;
    }
    /* Hypercalls are for the guest kernel only: user code gets #UD, as
     * on a machine without a hypervisor. */
    if (arch_vcpu_cpl(v) != 0) {
        vcpu_inject_exception(v, 6, false, 0);
        return;
    }
    const uint64_t args[5] = { v->gprs[REG_RDI], v->gprs[REG_RSI], v->gprs[REG_RDX], v->gprs[REG_R10],
                               v->gprs[REG_R8] };
    int64_t ret = 0;
    arch_vcpu_skip(v, &skip);
    if (dispatch(v, v->gprs[REG_RAX], args, &ret))
        return;
    v->gprs[REG_RAX] = (uint64_t)ret;
}
