#ifndef HV_PANIC_H
#define HV_PANIC_H

#include "hv/compiler.h"

/* Print the reason, this CPU, its registers and a symbolised backtrace, stop
 * every other CPU, and halt. Never returns. */
NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define BUG_ON(cond)                                                          \
    do {                                                                      \
        if (cond)                                                             \
            panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__);          \
    } while (0)

#endif
