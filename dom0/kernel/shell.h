/* dom0's management shell: commands are looked up by name in tables; the
 * drivers contribute their own (dom0/drivers/devcmd.c). */
#ifndef DOM0_KERNEL_SHELL_H
#define DOM0_KERNEL_SHELL_H

#define SHELL_MAX_ARGS 16

struct shell_cmd {
    const char *name;
    const char *usage;     /* "create <config>" */
    const char *help;      /* one line */
    /* argv[0] is the command name. 0 on success; otherwise the command has
     * printed why it failed. */
    int (*fn)(int argc, char **argv);
};

/* Commands of the device drivers (dom0/drivers/devcmd.c). */
extern const struct shell_cmd driver_shell_cmds[];
extern const unsigned driver_shell_cmd_count;

#endif
