#include "arch/x86/exitport.h"

#include "arch/x86/cpu.h"
#include "hv/log.h"

#define QEMU_DEBUG_EXIT_PORT 0xF4   /* -device isa-debug-exit,iobase=0xf4 */
#define BOCHS_SHUTDOWN_PORT 0x8900  /* Bochs: the string "Shutdown" ends the run */

static enum exitport_kind kind = EXITPORT_NONE;

void exitport_set(enum exitport_kind k) { kind = k; }
enum exitport_kind exitport_get(void) { return kind; }

void exitport_exit(int code)
{
    log_raw("plinth: exit code %#x\n", code);
    log_drain();
    switch (kind) {
    case EXITPORT_QEMU:
        outl(QEMU_DEBUG_EXIT_PORT, (uint32_t)code);
        break;
    case EXITPORT_BOCHS:
        /* Bochs has no exit status: the harness reads the line above. */
        for (const char *s = "Shutdown"; *s; s++)
            outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
        break;
    case EXITPORT_NONE:
        break;
    }
}
