/* dom0 as device model: virtio devices of domUs, backed by dom0's devices
 * (docs/pv-io.md). */
#ifndef DOM0_KERNEL_PVDEV_H
#define DOM0_KERNEL_PVDEV_H

#include <stdint.h>

struct domcfg;

/* Attach the config's devices to domain domid (created paused): parse its
 * disk entries, map its RAM, register as its device model. Prints why on
 * failure. 0 or -PL_E*. */
int pvdev_attach(uint32_t domid, const struct domcfg *cfg);
/* Serve every pending request of every domain (called whenever dom0 is
 * about to sleep, and after waking). */
void pvdev_poll(void);
/* `pvdevs`: the devices served. */
void pvdev_list(void);

#endif
