/* The control domain's physical interrupt lines (HC_IRQ_BIND, HC_IRQ_DONE). */
#ifndef HV_IRQ_H
#define HV_IRQ_H

#include <stdint.h>

struct domain;

/* Remember which line the hypervisor's console UART uses (kept). */
void irq_init(uint16_t console_port);
/* HC_IRQ_BIND: the GSI bound, or -PL_E*. */
int64_t irq_bind(struct domain *d, uint64_t line, uint64_t vector, uint64_t flags);
/* HC_IRQ_DONE: unmask a level-triggered line after its interrupt. */
int64_t irq_done(struct domain *d, uint64_t gsi);
/* HC_MSI_BIND: 0 or -PL_E*. */
int64_t msi_bind(struct domain *d, uint64_t bdf, uint64_t vector);
/* Unbind and mask every line of a domain that is going away. */
void irq_release_domain(struct domain *d);

#endif
