/* The shell's line editor; see lineedit.h. */
#include "dom0/kernel/lineedit.h"

static void put(char *echo, size_t echolen, size_t *n, const char *s)
{
    while (*s && *n + 1 < echolen)
        echo[(*n)++] = *s++;
    echo[*n] = 0;
}

void le_init(struct lineed *le)
{
    le->len = 0;
    le->buf[0] = 0;
    le->esc = 0;
    le->last_cr = 0;
}

void le_reset(struct lineed *le)
{
    le->len = 0;
    le->buf[0] = 0;
    le->esc = 0;
}

enum le_event le_feed(struct lineed *le, int c, char *echo, size_t echolen)
{
    size_t n = 0;
    if (echolen)
        echo[0] = 0;
    int was_cr = le->last_cr;
    le->last_cr = 0;
    c &= 0xff;

    if (le->esc == 1) {
        le->esc = (c == '[' || c == 'O') ? 2 : 0;
        return LE_MORE;
    }
    if (le->esc == 2) {
        if (c >= 0x40 && c <= 0x7e)
            le->esc = 0; /* final byte */
        return LE_MORE;
    }

    switch (c) {
    case '\r':
        le->last_cr = 1;
        /* fall through */
    case '\n':
        if (c == '\n' && was_cr)
            return LE_MORE;
        le->buf[le->len] = 0;
        put(echo, echolen, &n, "\n");
        return LE_LINE;
    case 0x08:
    case 0x7f:
        if (le->len) {
            le->len--;
            le->buf[le->len] = 0;
            put(echo, echolen, &n, "\b \b");
        }
        return LE_MORE;
    case 0x15: /* Ctrl-U */
        while (le->len) {
            le->len--;
            put(echo, echolen, &n, "\b \b");
        }
        le->buf[0] = 0;
        return LE_MORE;
    case 0x03: /* Ctrl-C */
        le->len = 0;
        le->buf[0] = 0;
        put(echo, echolen, &n, "^C\n");
        return LE_CANCEL;
    case 0x1b:
        le->esc = 1;
        return LE_MORE;
    default:
        break;
    }
    if (c < 0x20 || c > 0x7e)
        return LE_MORE;
    if (le->len >= LINE_MAX) {
        put(echo, echolen, &n, "\a");
        return LE_MORE;
    }
    le->buf[le->len++] = (char)c;
    le->buf[le->len] = 0;
    char s[2] = { (char)c, 0 };
    put(echo, echolen, &n, s);
    return LE_MORE;
}
