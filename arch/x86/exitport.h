/* Emulator exit ports, used by the integration tests to end a run with a
 * status (selected with testexit= on the command line; off by default). */
#ifndef ARCH_X86_EXITPORT_H
#define ARCH_X86_EXITPORT_H

enum exitport_kind { EXITPORT_NONE, EXITPORT_QEMU, EXITPORT_BOCHS };

#define EXIT_SUCCESS_CODE 0x10 /* QEMU exits with (code << 1) | 1 = 33 */
#define EXIT_FAILURE_CODE 0x11 /* 35 */

void exitport_set(enum exitport_kind kind);
enum exitport_kind exitport_get(void);
/* Ends the emulator when an exit port is configured; otherwise returns. */
void exitport_exit(int code);

#endif
