/* dom0 as device model: virtio devices of domUs, backed by dom0's devices
 * (docs/pv-io.md). pvdev.c is the transport-level core (rings, foreign
 * mappings, windows, interrupts); each device kind plugs in with a
 * struct pv_devops and an attach function called for every new domain:
 * pvblk.c (disk = [...]), and others for vif/console. */
#ifndef DOM0_KERNEL_PVDEV_H
#define DOM0_KERNEL_PVDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "dom0/virtio/guestmem.h"

struct domcfg;
struct pv_dom;

struct pv_devops {
    const char *kind;                    /* "virtio-blk" */
    uint64_t (*read)(void *dev, uint64_t offset, unsigned size);
    void (*write)(void *dev, uint64_t offset, unsigned size, uint64_t value);
    /* QueueNotify: process queue q's available buffers */
    void (*notify)(void *dev, unsigned q);
    /* one line for `pvdevs` (without the domain and window) */
    void (*describe)(void *dev);
    /* the domain is gone: forget it (may be NULL) */
    void (*release)(void *dev);
};

/* Attach the config's devices to domain domid (created paused): map its
 * RAM, register as its device model, then let every device kind add its
 * devices. Prints why on failure. 0 (also when it has no devices) or
 * -PL_E*. */
int pvdev_attach(uint32_t domid, const struct domcfg *cfg);
/* True when the config asks for any device dom0 serves. */
bool pvdev_wanted(const struct domcfg *cfg);
/* Serve every pending request of every domain (called whenever dom0 is
 * about to sleep, and after waking). */
void pvdev_poll(void);
/* `pvdevs`: the devices served. */
void pvdev_list(void);

/* ---- for device kinds ---- */
/* The next free window of the domain for dev: its number, or -PL_ENOSPC. */
int pvdev_add(struct pv_dom *pd, const struct pv_devops *ops, void *dev);
const struct guestmem *pvdev_guestmem(struct pv_dom *pd);
uint32_t pvdev_domid(const struct pv_dom *pd);
const char *pvdev_name(const struct pv_dom *pd);
/* Raise the interrupt of window n of the domain. */
void pvdev_raise(struct pv_dom *pd, unsigned window, uint32_t status);

/* Device kinds: each adds the devices its config keys ask for (0 when none)
 * and may have work to do on every poll (e.g. frames from a physical NIC). */
int pvblk_attach(struct pv_dom *pd, const struct domcfg *cfg);
int pvnet_attach(struct pv_dom *pd, const struct domcfg *cfg);
int pvcons_attach(struct pv_dom *pd, const struct domcfg *cfg);
void pvnet_poll(void);
void pvcons_poll(void);

#endif
