/* The shell's line editor: feeds typed bytes into a line buffer and says
 * what to echo. Pure logic (tests/unit/test_dom0_lineedit.c).
 *
 *   printable ASCII   appended (a bell when the line is full)
 *   BS (0x08), DEL    erase the last character
 *   Ctrl-U            erase the whole line
 *   Ctrl-C            abandon the line
 *   CR, LF, CR LF     end the line (LF right after CR is ignored)
 *   ESC [ ... final   ignored (arrow keys and other escape sequences)
 *   anything else     ignored
 */
#ifndef DOM0_KERNEL_LINEEDIT_H
#define DOM0_KERNEL_LINEEDIT_H

#include <stddef.h>

#define LINE_MAX 255

enum le_event {
    LE_MORE,   /* keep feeding */
    LE_LINE,   /* a line is complete in buf (NUL-terminated); reset before the next */
    LE_CANCEL, /* Ctrl-C: the line was abandoned (buf is empty again) */
};

struct lineed {
    char buf[LINE_MAX + 1];
    size_t len;
    int esc;   /* 0: none, 1: after ESC, 2: inside ESC [ */
    int last_cr;
};

void le_init(struct lineed *le);
/* Start a new line (keeps the CR LF memory). */
void le_reset(struct lineed *le);
/* Feed one byte; echo (at least 8 bytes + LINE_MAX * 3) receives what to
 * print, NUL-terminated. */
enum le_event le_feed(struct lineed *le, int c, char *echo, size_t echolen);

#define LE_ECHO_MAX (3 * LINE_MAX + 8)

#endif
