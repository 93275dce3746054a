#include "hv/log.h"

#include <stdbool.h>

#include "arch/x86/percpu.h"
#include "arch/x86/spinlock.h"
#include "drivers/uart16550.h"
#include "hv/format.h"
#include "hv/string.h"

#define LOG_LINE_MAX 256
/* Roughly a second of polling on a fast CPU: long enough for any healthy
 * holder, short enough that a panic still gets its report out. */
#define PANIC_LOCK_SPINS 50000000ull

static struct uart *console;
static enum log_level level = LOG_INFO;
static spinlock_t lock = SPINLOCK_INIT;
static bool in_panic;
static char ring_buf[LOG_RING_SIZE];
static struct logring ring = { ring_buf, LOG_RING_SIZE, 0 };

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const char *const level_tags[] = { "ERROR: ", "WARNING: ", "", "" };

void log_set_console(struct uart *u) { console = u; }
struct uart *log_console(void) { return console; }
void log_set_level(enum log_level l) { level = l; }
enum log_level log_get_level(void) { return level; }
const struct logring *log_ring(void) { return &ring; }

int log_level_parse(const char *s, unsigned len)
{
    if (len == 1 && s[0] >= '0' && s[0] <= '3')
        return s[0] - '0';
    for (unsigned i = 0; i < ARRAY_SIZE(level_names); i++)
        if (strlen(level_names[i]) == len && strncmp(s, level_names[i], len) == 0)
            return (int)i;
    return -1;
}

static bool console_mid_line;

static void emit(const char *s, size_t n, bool to_console)
{
    logring_write(&ring, s, n);
    if (to_console && console) {
        if (console_mid_line)
            uart_write(console, "\n", 1);
        console_mid_line = false;
        uart_write(console, s, n);
    }
}

static uint64_t lock_console(void)
{
    uint64_t flags = read_rflags();
    irq_disable();
    if (!in_panic)
        spin_lock(&lock);
    return flags;
}

static void unlock_console(uint64_t flags)
{
    if (!in_panic)
        spin_unlock(&lock);
    if (flags & RFLAGS_IF)
        irq_enable();
}

/* A domain's direct console may leave the cursor mid-line (a prompt): the
 * next log line then starts on a line of its own (emit). */
void log_console_write(const char *s, size_t n)
{
    if (!console || n == 0)
        return;
    uint64_t flags = lock_console();
    uart_write(console, s, n);
    console_mid_line = s[n - 1] != '\n';
    unlock_console(flags);
}

int log_console_getc(void)
{
    if (!console)
        return -1;
    uint64_t flags = lock_console();
    int c = uart_getc(console);
    unlock_console(flags);
    return c;
}

void log_vmsg(enum log_level l, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    int n = hv_snprintf(line, sizeof(line), "[cpu%u] %s", this_cpu_id(), level_tags[l]);
    int m = hv_vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    size_t len = strlen(line);
    if ((size_t)n + (size_t)m >= sizeof(line)) {
        /* Never cut a message silently: mark where it was cut. */
        memcpy(line + sizeof(line) - 5, "...\n", 5);
        len = sizeof(line) - 1;
    } else if (len == 0 || line[len - 1] != '\n') {
        line[len++] = '\n';
        line[len] = 0;
    }
    uint64_t flags = lock_console();
    emit(line, len, l <= level);
    unlock_console(flags);
}

void log_msg(enum log_level l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(l, fmt, ap);
    va_end(ap);
}

static void raw_sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    emit(s, n, true);
}

void log_raw(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    uint64_t flags = lock_console();
    fmt_format(raw_sink, NULL, fmt, ap);
    unlock_console(flags);
    va_end(ap);
}

size_t log_read(uint64_t *pos, char *out, size_t n, uint64_t *lost)
{
    uint64_t flags = lock_console();
    size_t got = logring_read(&ring, pos, out, n, lost);
    unlock_console(flags);
    return got;
}

void log_enter_panic(void)
{
    /* Take the lock if its holder is alive; otherwise proceed without it. */
    spin_trylock_bounded(&lock, PANIC_LOCK_SPINS);
    in_panic = true;
}

void log_drain(void)
{
    if (console)
        uart_drain(console);
}
