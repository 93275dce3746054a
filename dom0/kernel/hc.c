/* Hypercall instruction choice and names. */
#include "dom0/kernel/kernel.h"
#include "plinth/grant.h"
#include "plinth/ioreq.h"
#include "plinth/evtchn.h"

bool hc_vmmcall;

void hc_init(void)
{
    uint32_t a, b, c, d;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    /* "AuthenticAMD" and "HygonGenuine": EBX "Auth" / "Hygo". The other
     * vendor's instruction works too (emulated through #UD), only slower. */
    hc_vmmcall = b == 0x68747541u || b == 0x6f677948u;
}

const char *hc_name(unsigned long nr)
{
    static const char *const names[HC_COUNT] = {
        [HC_VERSION] = "HC_VERSION",
        [HC_CONSOLE_WRITE] = "HC_CONSOLE_WRITE",
        [HC_YIELD] = "HC_YIELD",
        [HC_SET_TIMER] = "HC_SET_TIMER",
        [HC_SHUTDOWN] = "HC_SHUTDOWN",
        [HC_EXIT_STATS] = "HC_EXIT_STATS",
        [HC_VCPU_UP] = "HC_VCPU_UP",
        [HC_DOMAIN_INFO] = "HC_DOMAIN_INFO",
        [HC_DOMAIN_PAUSE] = "HC_DOMAIN_PAUSE",
        [HC_DOMAIN_UNPAUSE] = "HC_DOMAIN_UNPAUSE",
        [HC_DOMAIN_DESTROY] = "HC_DOMAIN_DESTROY",
        [HC_DOMAIN_SET_SCHED] = "HC_DOMAIN_SET_SCHED",
        [HC_LOG_READ] = "HC_LOG_READ",
        [HC_DOMAIN_CREATE] = "HC_DOMAIN_CREATE",
        [HC_CONSOLE_READ] = "HC_CONSOLE_READ",
        [HC_VCPU_INFO] = "HC_VCPU_INFO",
        [HC_VCPU_SET_AFFINITY] = "HC_VCPU_SET_AFFINITY",
        [HC_DOMAIN_NEXT] = "HC_DOMAIN_NEXT",
        [HC_PLATFORM_INFO] = "HC_PLATFORM_INFO",
        [HC_MEMORY_MAP] = "HC_MEMORY_MAP",
        [HC_IRQ_BIND] = "HC_IRQ_BIND",
        [HC_IRQ_DONE] = "HC_IRQ_DONE",
        [HC_EVTCHN_INIT] = "HC_EVTCHN_INIT",
        [HC_EVTCHN_ALLOC_UNBOUND] = "HC_EVTCHN_ALLOC_UNBOUND",
        [HC_EVTCHN_BIND] = "HC_EVTCHN_BIND",
        [HC_EVTCHN_SEND] = "HC_EVTCHN_SEND",
        [HC_EVTCHN_CLOSE] = "HC_EVTCHN_CLOSE",
        [HC_EVTCHN_UNMASK] = "HC_EVTCHN_UNMASK",
        [HC_EVTCHN_STATUS] = "HC_EVTCHN_STATUS",
        [HC_IOREQ_REGISTER] = "HC_IOREQ_REGISTER",
        [HC_IOREQ_COMPLETE] = "HC_IOREQ_COMPLETE",
        [HC_FOREIGN_MAP] = "HC_FOREIGN_MAP",
        [HC_FOREIGN_UNMAP] = "HC_FOREIGN_UNMAP",
        [HC_DOMAIN_IRQ] = "HC_DOMAIN_IRQ",
        [HC_MSI_BIND] = "HC_MSI_BIND",
        [HC_GRANT_OFFER] = "HC_GRANT_OFFER",
        [HC_GRANT_REVOKE] = "HC_GRANT_REVOKE",
        [HC_GRANT_STATUS] = "HC_GRANT_STATUS",
        [HC_GRANT_COPY] = "HC_GRANT_COPY",
        [HC_GRANT_MAP] = "HC_GRANT_MAP",
        [HC_GRANT_UNMAP] = "HC_GRANT_UNMAP",
    };
    return nr < HC_COUNT && names[nr] ? names[nr] : "HC_?";
}
