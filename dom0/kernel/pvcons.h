/* virtio-console devices of domUs (config key console = "virtio"), served
 * by dom0 (dom0/kernel/pvcons.c over dom0/virtio/console_backend.c), and
 * what the shell's `console <dom>` uses to show their output and type into
 * them (docs/pv-io.md). */
#ifndef DOM0_KERNEL_PVCONS_H
#define DOM0_KERNEL_PVCONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Does dom0 hold a virtio console of domain domid (served now, or kept
 * after the domain ended until the device is reused)? */
bool pvcons_has(uint32_t domid);
/* Copy its output from position *pos on (see vcons_out_read): bytes copied,
 * *pos advanced, *lost (may be NULL) the bytes that were no longer kept.
 * -PL_ENOENT if there is no such console. */
long pvcons_read(uint32_t domid, uint64_t *pos, char *buf, size_t len, uint64_t *lost);
/* Type into it: bytes accepted (the rest is dropped and counted), or
 * -PL_ENOENT when the domain has no console or has ended. */
long pvcons_write(uint32_t domid, const char *buf, size_t len);
/* True once the console's domain has ended (its output stays readable). */
bool pvcons_gone(uint32_t domid);

#endif
