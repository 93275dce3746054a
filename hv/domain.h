/* A domain (a guest): its RAM, its guest-physical address space, its vCPUs
 * and the virtual devices every domain has (a 16550 console, an exit port,
 * a test MMIO device). Per-vCPU devices (interrupts, timers, x2APIC
 * registers) live in struct vcpu. */
#ifndef HV_DOMAIN_H
#define HV_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/spinlock.h"
#include "hv/aspace.h"
#include "hv/logring.h"
#include "hv/vcpu.h"
#include "hv/virtio_isr.h"
#include "plinth/ioreq.h"

#define DOMAIN_NAME_MAX 32
#define DOMAIN_CHUNK (2ull << 20)            /* RAM is backed in 2 MiB frames */
#define DOMAIN_MEM_MIN (4ull << 20)
#define DOMAIN_MEM_MAX (1ull << 30)
#define DOMAIN_MEM_DEFAULT (16ull << 20)
#define DOMAIN_MAX_CHUNKS (DOMAIN_MEM_MAX / DOMAIN_CHUNK)
#define DOMAIN_CONSOLE_LINE 160
#define DOMAIN_MAX_VCPUS 8
#define DOMAIN_MAX_FOREIGN 16
#define DOMAIN_CONRING_SIZE 4096u           /* console output kept for HC_CONSOLE_READ: one page */

enum domain_state { DOMAIN_RUNNING, DOMAIN_STOPPED };

struct domain {
    unsigned id;
    char name[DOMAIN_NAME_MAX];
    enum domain_state state;
    bool crashed;            /* stopped for misbehaving, not by its own exit */
    bool privileged;         /* the control domain: may use the management hypercalls */
    bool paused;             /* paused by the control domain */
    bool destroyed;          /* stopped by the control domain */
    bool reboot_requested;   /* HC_SHUTDOWN(SHUTDOWN_REBOOT): start it again */
    uint32_t exit_code;      /* from the exit port or shutdown hypercall */
    uint32_t boot_count;     /* times this guest was started before (reboots) */

    uint64_t mem_size;
    uint64_t *chunk_hpa;     /* DOMAIN_MAX_CHUNKS entries (one page) */
    struct aspace as;
    unsigned vcpu_count;
    struct vcpu *vcpus[DOMAIN_MAX_VCPUS];

    /* scheduling parameters (from the domain's configuration) */
    struct sched_dom sd;
    uint32_t weight, cap;
    uint64_t affinity;       /* CPUs its vCPUs may run on */
    spinlock_t lock;         /* state and devices shared by its vCPUs */
    spinlock_t console_lock; /* the console line buffer */

    unsigned parent;         /* id of the domain that created it by hypercall, 0: a boot module */
    struct io_perm *io_perm; /* the control domain's port permissions (hv/devices.c), else NULL */
    uint32_t pci_address;    /* its PCI CONFIG_ADDRESS register (forwarded accesses) */
    bool msi_write_warned;   /* logged once: its writes to MSI capabilities are dropped */
    struct evtchn_domain *evtchn; /* its event channels (hv/evtchn.c), NULL until first used */
    struct grant_domain *grant;   /* its grant table and grant mappings (hv/grant.c), NULL until first used */

    /* the device model serving its virtio-mmio windows (hv/ioreq.c) */
    unsigned ioreq_server;   /* that domain's id; 0: none */
    uint64_t ioreq_ring_gpa; /* struct plinth_ioreq_ring in the server's RAM */
    unsigned ioreq_port;     /* the server's event port to notify */
    uint32_t ioreq_seq;
    /* InterruptStatus of each virtio-mmio window (resets and raises
     * under virtio_lock) */
    spinlock_t virtio_lock;
    struct virtio_isr virtio_isr[PLINTH_VIRTIO_MMIO_MAX];
    /* foreign mappings it holds: another domain's RAM in its space */
    struct foreign_map {
        unsigned domid;      /* 0: free slot */
        uint64_t gpa, size;
    } foreign[DOMAIN_MAX_FOREIGN];

    /* console (16550 at 0x3F8) */
    bool console_direct;     /* bytes go to the serial console as they are, not as log lines */
    char console[DOMAIN_CONSOLE_LINE];
    unsigned console_len;
    struct logring conring;  /* everything it printed (the last DOMAIN_CONRING_SIZE bytes) */
    int uart_rx;             /* a byte typed on the console, not yet read; -1 none */
    uint8_t uart_scratch, uart_lcr, uart_ier, uart_mcr;

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
struct domain *domain_create(const char *name, uint64_t mem, unsigned id, char *err, size_t errlen);
void domain_destroy(struct domain *d);
/* The registry of live domains (created and not yet destroyed). Run fn on
 * the domain with this id while holding the registry lock, so it cannot be
 * destroyed meanwhile; -PL_ENOENT if there is none. */
int domain_with(unsigned id, int (*fn)(struct domain *d, void *arg), void *arg);
/* Make a fully started domain (loaded, attached to the scheduler) visible
 * to domain_with; false when the registry is full. domain_destroy removes
 * it again. */
bool domain_publish(struct domain *d);
/* The smallest id of a published domain above `after`, or 0 if none. */
unsigned domain_next_id(unsigned after);
unsigned domain_count(void);
/* Run fn on every published domain, holding the registry lock. */
void domain_for_each(void (*fn)(struct domain *d, void *arg), void *arg);

/* Create the domain's next vCPU (not started); NULL when out of memory or
 * at DOMAIN_MAX_VCPUS. */
struct vcpu *domain_add_vcpu(struct domain *d);

/* Host pointer to [gpa, gpa+len) when it lies inside one RAM chunk. */
void *domain_ram_ptr(struct domain *d, uint64_t gpa, uint64_t len);
bool domain_ram_contains(const struct domain *d, uint64_t gpa, uint64_t len);
/* Copy to/from guest RAM; false (nothing copied) if any byte is outside. */
bool domain_write(struct domain *d, uint64_t gpa, const void *src, uint64_t len);
bool domain_read(struct domain *d, uint64_t gpa, void *dst, uint64_t len);

/* Stop the guest; crashed says it misbehaved. reason is logged. */
void domain_stop(struct domain *d, bool crashed, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Console output of the guest (hv/exit_io.c); flush prints a partial line. */
void domain_console_putc(struct domain *d, char c);
/* n bytes under one acquisition of the console lock (HC_CONSOLE_WRITE). */
void domain_console_write(struct domain *d, const char *s, size_t n);
void domain_console_flush(struct domain *d);
/* Fetch up to len bytes of the instruction at the vCPU's RIP through the
 * guest's page tables (hv/vcpu_fetch.c); st is the vCPU's current state.
 * *got may be less than len when the instruction is near an unmapped page. */
bool vcpu_fetch_insn(struct vcpu *v, const struct vcpu_state *st, uint8_t *buf, unsigned len, unsigned *got);
/* Log with the guest's prefix. */
void domain_log(struct domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Enter the guest once and handle the exit (hv/vcpu_run.c). false when the
 * domain is not running. */
bool vcpu_run_once(struct vcpu *v);

/* Exit handlers (one file each in hv/). Return after updating the vCPU. */
void handle_cpuid(struct vcpu *v, const struct vcpu_exit *e);
void handle_msr(struct vcpu *v, const struct vcpu_exit *e);
void handle_io(struct vcpu *v, const struct vcpu_exit *e);
void handle_hypercall(struct vcpu *v, const struct vcpu_exit *e);
void handle_memory(struct vcpu *v, const struct vcpu_exit *e);
void handle_hlt(struct vcpu *v, const struct vcpu_exit *e);

/* Interrupts and timers of a vCPU (hv/virq.c). */
void virq_raise(struct vcpu *v, uint8_t vector);
bool virq_pending(const struct vcpu *v);
/* Fire expired timers and inject the highest pending interrupt if the vCPU
 * can take it, else ask for an interrupt-window exit. */
void virq_deliver(struct vcpu *v);
/* Earliest armed timer deadline (host TSC), 0 if none. */
uint64_t virq_next_deadline(const struct vcpu *v);
void virq_fire_timers(struct vcpu *v);
void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);

/* Where an image comes from: host memory (a boot module) or another
 * domain's RAM (HC_DOMAIN_CREATE). */
struct load_source {
    const void *host;        /* non-NULL: the whole image here */
    struct domain *dom;      /* else: in this domain's RAM at gpa */
    uint64_t gpa;
    uint64_t size;
};

/* A file handed to the domain (a boot module with type=file). */
struct load_file {
    const void *data;
    uint64_t size;
    const char *cmdline;
};

/* Load an ELF64, ELF32 or Multiboot image into guest RAM and set vCPU 0 to
 * start it (hv/domain_load.c). ELF64 domains also get their start
 * information and the files (at the top of their RAM). */
int domain_load(struct domain *d, const struct load_source *src, const char *cmdline, const struct load_file *files,
                unsigned nfiles, char *err, size_t errlen);

#endif
