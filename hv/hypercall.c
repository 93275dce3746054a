/* Hypercall dispatch (ABI: include/plinth/hypercall.h, docs/hypercalls.md).
 * The CPUID-free fast path: no allocation, no lock. */
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "hv/compiler.h"
#include "hv/guest.h"
#include "hv/string.h"
#include "plinth/errno.h"
#include "plinth/version.h"

#define NS_PER_SECOND 1000000000ull
#define MAX_TIMER_NS (3600ull * NS_PER_SECOND)
#define FIRST_EXTERNAL_VECTOR 32


static int64_t hc_console_write(struct guest *g, uint64_t gpa, uint64_t len)
{
    if (len > HC_CONSOLE_MAX)
        return -PL_E2BIG;
    if (!guest_ram_contains(g, gpa, len))
        return -PL_EFAULT;
    char buf[256];
    for (uint64_t done = 0; done < len;) {
        uint64_t n = MIN(len - done, sizeof(buf));
        guest_read(g, gpa + done, buf, n);
        for (uint64_t i = 0; i < n; i++)
            guest_console_putc(g, buf[i]);
        done += n;
    }
    return (int64_t)len;
}

static int64_t hc_set_timer(struct guest *g, uint64_t ns, uint64_t vector)
{
    if (ns == 0) {
        g->hc_timer_deadline = 0;
        return 0;
    }
    if (vector < FIRST_EXTERNAL_VECTOR || vector > 255 || ns > MAX_TIMER_NS)
        return -PL_EINVAL;
    uint64_t cycles = ns / NS_PER_SECOND * tsc_hz + ns % NS_PER_SECOND * tsc_hz / NS_PER_SECOND;
    g->hc_timer_deadline = rdtsc() + MAX(cycles, 1ull);
    g->hc_timer_vector = (uint8_t)vector;
    return 0;
}

static int64_t hc_exit_stats(struct guest *g, uint64_t gpa)
{
    struct plinth_exit_stats st;
    if (!guest_ram_contains(g, gpa, sizeof(st)))
        return -PL_EFAULT;
    memcpy(st.count, g->vcpu.exit_count, sizeof(st.count));
    st.total = g->vcpu.exit_total;
    guest_write(g, gpa, &st, sizeof(st));
    return 0;
}

/* Returns true when the call ended the guest. */
static bool dispatch(struct guest *g, uint64_t nr, const uint64_t *a, int64_t *ret)
{
    switch (nr) {
    case HC_VERSION:
        *ret = (PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR;
        return false;
    case HC_CONSOLE_WRITE:
        *ret = hc_console_write(g, a[0], a[1]);
        return false;
    case HC_YIELD:
        *ret = 0; /* one vCPU per CPU for now: nothing else to run */
        return false;
    case HC_SET_TIMER:
        *ret = hc_set_timer(g, a[0], a[1]);
        return false;
    case HC_SHUTDOWN:
        if (a[0] > SHUTDOWN_CRASH) {
            *ret = -PL_EINVAL;
            return false;
        }
        g->reboot_requested = a[0] == SHUTDOWN_REBOOT;
        guest_stop(g, a[0] == SHUTDOWN_CRASH, 0, "shut itself down (%s)",
                   a[0] == SHUTDOWN_POWEROFF ? "power off" : a[0] == SHUTDOWN_REBOOT ? "reboot" : "crash");
        return true;
    case HC_EXIT_STATS:
        *ret = hc_exit_stats(g, a[0]);
        return false;
    default:
        *ret = -PL_ENOSYS;
        return false;
    }
}

/* VMCALL is 0F 01 C1, VMMCALL 0F 01 D9 (SDM Vol. 2B, APM Vol. 3). */
static bool is_hypercall_insn(const uint8_t *b) { return b[0] == 0x0F && b[1] == 0x01 && (b[2] == 0xC1 || b[2] == 0xD9); }

void handle_hypercall(struct guest *g, const struct vcpu_exit *e)
{
    struct vcpu *v = &g->vcpu;
    struct vcpu_exit skip = *e;
    if (e->reason == VEXIT_EXCEPTION) {
        /* #UD: the other vendor's hypercall instruction is emulated;
         * anything else is the guest's own #UD. */
        uint8_t insn[3];
        unsigned got = 0;
        struct vcpu_state st;
        arch_vcpu_get_state(v, &st);
        if (!guest_fetch_insn(g, &st, insn, sizeof(insn), &got) || got < 3 || !is_hypercall_insn(insn)) {
            guest_inject_exception(g, 6, false, 0);
            return;
        }
        skip.insn_len = 3;
    }
    /* Hypercalls are for the guest kernel only: user code gets #UD, as
     * on a machine without a hypervisor. */
    if (arch_vcpu_cpl(v) != 0) {
        guest_inject_exception(g, 6, false, 0);
        return;
    }
    const uint64_t args[5] = { v->gprs[REG_RDI], v->gprs[REG_RSI], v->gprs[REG_RDX], v->gprs[REG_R10],
                               v->gprs[REG_R8] };
    int64_t ret = 0;
    arch_vcpu_skip(v, &skip);
    if (dispatch(g, v->gprs[REG_RAX], args, &ret))
        return;
    v->gprs[REG_RAX] = (uint64_t)ret;
}
