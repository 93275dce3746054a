/* Services the dom0 kernel offers its own code and its device drivers
 * (dom0/drivers). dom0 is a single-address-space kernel: guest-physical
 * addresses below 4 GiB are identity-mapped (the hypervisor's loader sets
 * that up), and physical devices' MMIO BARs appear at their host-physical
 * addresses. */
#ifndef DOM0_KERNEL_DOM0_H
#define DOM0_KERNEL_DOM0_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plinth/errno.h"

/* ---- console and formatting ---- */
/* printf subset: %d %i %u %x %X %p %s %c %% with l, ll, z, width, '-', '0',
 * precision for %s (%.*s). Output goes to the console (the hypervisor
 * logs it with a "dom0(name):" prefix, one line at a time). */
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ksnprintf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int kvsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
/* Console input: -1 when no character is waiting. */
int console_getc(void);

/* ---- memory ---- */
/* Zeroed, never freed, `align` a power of two (>= 8). A request of at
 * most 2 MiB never crosses a 2 MiB boundary, so it is one DMA range.
 * NULL when dom0's RAM is exhausted. */
void *kalloc(size_t size, size_t align);
/* Bus (host-physical) address of dom0 memory at p, for a device's DMA. */
uint64_t dma_addr(const void *p);

/* ---- time ---- */
uint64_t time_ns(void);          /* since dom0 started */
void delay_us(uint64_t us);
/* Wait until cond(arg) is true or timeout_us passes, sleeping (HLT) between
 * checks; interrupts and a 1 ms timer wake it. true if cond became true. */
bool wait_until(bool (*cond)(void *arg), void *arg, uint64_t timeout_us);

/* ---- interrupts ---- */
/* Route a physical interrupt to handler(arg), run with interrupts off.
 * flags are IRQ_FLAG_* (include/plinth/hypercall.h): with IRQ_FLAG_ISA,
 * irq is an ISA IRQ number (what a PCI device's Interrupt Line register
 * holds) and the hypervisor applies the firmware's routing for it;
 * otherwise irq is an IOAPIC input (GSI) with the trigger and polarity
 * given. Level-triggered lines are re-enabled (HC_IRQ_DONE) after the
 * handler returns. 0 or -PL_E*. */
int irq_bind(unsigned irq, unsigned flags, void (*handler)(void *arg), void *arg);
/* A message-signalled interrupt of PCI function bdf (bus << 8 | dev << 3 |
 * fn) to handler(arg): the hypervisor programs its MSI capability. 0, or
 * -PL_ENOENT when the function has no MSI capability, -PL_E* otherwise. */
int msi_bind(uint16_t bdf, void (*handler)(void *arg), void *arg);

/* ---- port and memory-mapped I/O ---- */
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(p)); }
static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mb(void) { __asm__ volatile("mfence" ::: "memory"); }

/* ---- strings (dom0/kernel/string.c) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
