/* Hypervisor log: leveled messages to the console UART and to an in-memory
 * ring (kept for dom0's dmesg). */
#ifndef HV_LOG_H
#define HV_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include "hv/compiler.h"
#include "hv/logring.h"

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

#define LOG_RING_SIZE (64u << 10)

struct uart;

void log_set_console(struct uart *u);
struct uart *log_console(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error|warn|info|debug" or "0".."3"; returns -1 if unknown. */
int log_level_parse(const char *s, unsigned len);

void log_msg(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap);
/* Raw output, no prefix, for the panic path; bypasses the level filter. */
void log_raw(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* The panic path stops waiting for a console lock held by a dead CPU. */
/* A domain's console bytes straight to the console UART (not into the
 * log ring), serialised with log lines; a '\n' becomes CR LF. */
void log_console_write(const char *s, size_t n);
/* One byte typed on the console UART, -1 if none. */
int log_console_getc(void);
void log_enter_panic(void);
void log_drain(void);

const struct logring *log_ring(void);
/* Copy up to n bytes of the log from stream position *pos (see
 * logring_read), under the log lock. */
size_t log_read(uint64_t *pos, char *out, size_t n, uint64_t *lost);

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
