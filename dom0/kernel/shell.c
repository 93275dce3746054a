/* The management shell: line editing on the console, command lookup in
 * the core table (cmds.c) and the drivers' table, boot scripts. */
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/lineedit.h"
#include "dom0/kernel/util.h"

#define PROMPT "dom0> "

void print_hc_error(const char *what, unsigned long nr, long rc)
{
    kprintf("%s: %s: %s (%ld)\n", what, hc_name(nr), errno_name(rc), rc);
}

static const struct shell_cmd *lookup(const char *name)
{
    for (unsigned i = 0; i < core_shell_cmd_count; i++)
        if (strcmp(core_shell_cmds[i].name, name) == 0)
            return &core_shell_cmds[i];
    for (unsigned i = 0; i < driver_shell_cmd_count; i++)
        if (driver_shell_cmds[i].name && strcmp(driver_shell_cmds[i].name, name) == 0)
            return &driver_shell_cmds[i];
    return NULL;
}

int shell_exec(char *line)
{
    char *argv[SHELL_MAX_ARGS + 1];
    int argc = split_args(line, argv, SHELL_MAX_ARGS + 1);
    if (argc == -PL_E2BIG) {
        kprintf("error: more than %d words on the line\n", SHELL_MAX_ARGS);
        return 1;
    }
    if (argc < 0) {
        kprintf("error: unterminated quote\n");
        return 1;
    }
    if (argc == 0 || argv[0][0] == '#')
        return 0;
    const struct shell_cmd *c = lookup(argv[0]);
    if (!c) {
        kprintf("%s: unknown command (try `help`)\n", argv[0]);
        return 1;
    }
    return c->fn(argc, argv);
}

void shell_run_script(const struct file_module *m)
{
    char line[LINE_MAX + 1];
    uint64_t i = 0, lineno = 0;
    while (i < m->size) {
        uint64_t s = i;
        while (i < m->size && m->data[i] != '\n')
            i++;
        uint64_t n = i - s;
        i++; /* past the '\n' */
        lineno++;
        if (n && m->data[s + n - 1] == '\r')
            n--;
        if (n > LINE_MAX) {
            kprintf("%s:%llu: line longer than %d characters, skipped\n", m->name, (unsigned long long)lineno,
                    LINE_MAX);
            continue;
        }
        memcpy(line, m->data + s, n);
        line[n] = 0;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        kprintf(PROMPT "%s\n", line);
        shell_exec(line);
    }
}

/* Wait for input: 5 ms naps keep an idle dom0 off its CPU. */
static int getc_blocking(void)
{
    int c;
    while ((c = console_getc()) < 0)
        sleep_ms(5);
    return c;
}

void shell_loop(void)
{
    static struct lineed le;
    char echo[LE_ECHO_MAX];
    le_init(&le);
    for (;;) {
        console_puts(PROMPT);
        le_reset(&le);
        for (;;) {
            enum le_event ev = le_feed(&le, getc_blocking(), echo, sizeof(echo));
            console_puts(echo);
            if (ev == LE_CANCEL)
                break;
            if (ev == LE_LINE) {
                shell_exec(le.buf);
                break;
            }
        }
    }
}
