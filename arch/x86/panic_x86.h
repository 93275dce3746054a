#ifndef ARCH_X86_PANIC_X86_H
#define ARCH_X86_PANIC_X86_H

#include <stdbool.h>

#include "arch/x86/trap.h"
#include "hv/compiler.h"

NORETURN void panic_exception(struct trap_frame *f);
bool panic_in_progress(void);
/* Halt this CPU for good (it was stopped by a panic elsewhere). */
NORETURN void panic_park_cpu(void);

#endif
