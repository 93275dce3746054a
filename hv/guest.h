/* A guest: its RAM, its guest-physical address space, one vCPU and the
 * small set of virtual devices every guest has (a 16550 console, an exit
 * port, a timer, the x2APIC registers it needs, a test MMIO device).
 * The domain work (issue 4) grows this into full domains. */
#ifndef HV_GUEST_H
#define HV_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/aspace.h"
#include "hv/vcpu.h"

#define GUEST_NAME_MAX 32
#define GUEST_CHUNK (2ull << 20)            /* RAM is backed in 2 MiB frames */
#define GUEST_MEM_MIN (4ull << 20)
#define GUEST_MEM_MAX (1ull << 30)
#define GUEST_MEM_DEFAULT (16ull << 20)
#define GUEST_MAX_CHUNKS (GUEST_MEM_MAX / GUEST_CHUNK)
#define GUEST_CONSOLE_LINE 160

enum guest_state { GUEST_RUNNING, GUEST_STOPPED };

struct guest {
    unsigned id;
    char name[GUEST_NAME_MAX];
    enum guest_state state;
    bool crashed;            /* stopped for misbehaving, not by its own exit */
    bool reboot_requested;   /* HC_SHUTDOWN(SHUTDOWN_REBOOT): start it again */
    uint32_t exit_code;      /* from the exit port or shutdown hypercall */
    uint32_t boot_count;     /* times this guest was started before (reboots) */

    uint64_t mem_size;
    uint64_t *chunk_hpa;     /* GUEST_MAX_CHUNKS entries (one page) */
    struct aspace as;
    struct vcpu vcpu;

    /* console (16550 at 0x3F8) */
    char console[GUEST_CONSOLE_LINE];
    unsigned console_len;
    uint8_t uart_scratch, uart_lcr, uart_ier, uart_mcr;

    /* interrupts waiting to be injected, one bit per vector */
    uint64_t pending_irq[4];

    /* timers: the hypercall one-shot and the x2APIC LVT timer in
     * TSC-deadline mode; deadlines in host TSC cycles, 0 = off */
    uint64_t hc_timer_deadline;
    uint8_t hc_timer_vector;
    uint64_t tsc_deadline;
    uint32_t lapic_lvt_timer, lapic_svr, lapic_tpr;

    /* test MMIO device (hv/testdev.c) */
    uint64_t testdev_scratch;
    uint32_t testdev_accesses;
    /* one RAM page the guest asked to have write-protected in its
     * second-level tables; the first write to it exits, lifts the
     * protection and is counted (tests exits during event delivery) */
    uint64_t wp_page;        /* 0: none armed */
    uint32_t wp_hits;
};

/* Create a guest with mem bytes of RAM (rounded up to 2 MiB), with a new
 * id, or with id when it is non-zero (a reboot keeps the id). Returns NULL
 * with a reason in err when memory or the virtualization backend fail. */
struct guest *guest_create(const char *name, uint64_t mem, unsigned id, char *err, size_t errlen);
void guest_destroy(struct guest *g);

/* Host pointer to [gpa, gpa+len) when it lies inside one RAM chunk. */
void *guest_ram_ptr(struct guest *g, uint64_t gpa, uint64_t len);
bool guest_ram_contains(const struct guest *g, uint64_t gpa, uint64_t len);
/* Copy to/from guest RAM; false (nothing copied) if any byte is outside. */
bool guest_write(struct guest *g, uint64_t gpa, const void *src, uint64_t len);
bool guest_read(struct guest *g, uint64_t gpa, void *dst, uint64_t len);

/* Stop the guest; crashed says it misbehaved. reason is logged. */
void guest_stop(struct guest *g, bool crashed, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Console output of the guest (hv/exit_io.c); flush prints a partial line. */
void guest_console_putc(struct guest *g, char c);
void guest_console_flush(struct guest *g);
/* Fetch up to len bytes of the instruction at the vCPU's RIP through the
 * guest's page tables (hv/guest_mem.c); st is the vCPU's current state.
 * *got may be less than len when the instruction is near an unmapped page. */
bool guest_fetch_insn(struct guest *g, const struct vcpu_state *st, uint8_t *buf, unsigned len, unsigned *got);
/* Log with the guest's prefix. */
void guest_log(struct guest *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run the guest's vCPU on this CPU until the guest stops. */
void guest_run(struct guest *g);

/* Exit handlers (one file each in hv/). Return after updating the vCPU. */
void handle_cpuid(struct guest *g, const struct vcpu_exit *e);
void handle_msr(struct guest *g, const struct vcpu_exit *e);
void handle_io(struct guest *g, const struct vcpu_exit *e);
void handle_hypercall(struct guest *g, const struct vcpu_exit *e);
void handle_memory(struct guest *g, const struct vcpu_exit *e);
void handle_hlt(struct guest *g, const struct vcpu_exit *e);

/* Interrupts and timers (hv/virq.c). */
void virq_raise(struct guest *g, uint8_t vector);
bool virq_pending(const struct guest *g);
/* Fire expired timers and inject the highest pending interrupt if the vCPU
 * can take it, else ask for an interrupt-window exit. */
void virq_deliver(struct guest *g);
/* Earliest armed timer deadline (host TSC), 0 if none. */
uint64_t virq_next_deadline(const struct guest *g);
void virq_fire_timers(struct guest *g);
void guest_inject_exception(struct guest *g, uint8_t vector, bool has_error, uint32_t error);

/* Load an ELF64, ELF32 or Multiboot image into guest RAM and set the vCPU
 * to start it (hv/guest_load.c). */
int guest_load(struct guest *g, const void *image, size_t size, const char *cmdline, char *err, size_t errlen);

#endif
