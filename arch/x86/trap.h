#ifndef ARCH_X86_TRAP_H
#define ARCH_X86_TRAP_H

#include <stdint.h>

/* Layout pushed by arch/x86/isr.asm (lowest address first). */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Exception vectors, SDM Vol. 3A table 6-1 */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3
#define VEC_UD 6
#define VEC_DF 8
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MC 18
#define VEC_FIRST_IRQ 32

/* Vectors the hypervisor uses for its own interrupts. */
#define VEC_TIMER 0xEC
#define VEC_IPI_PING 0xF0
#define VEC_IPI_PONG 0xF1
#define VEC_RESCHED 0xF2
#define VEC_SPURIOUS 0xFF

typedef void (*irq_handler_fn)(struct trap_frame *f);

/* Handlers for vectors >= 32 run with interrupts off and get an EOI after. */
void trap_set_irq_handler(unsigned vector, irq_handler_fn fn);
const char *trap_exception_name(unsigned vector);

void trap_dispatch(struct trap_frame *f);

#endif
