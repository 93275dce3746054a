#include "hv/options.h"

#include "drivers/uart16550.h"
#include "hv/cmdline.h"
#include "hv/format.h"
#include "hv/string.h"

#define DEFAULT_MAXCPUS 64
#define MAX_TIMER_HZ 10000
/* As for any domain (hv/domain.h); kept here so the parser stays pure. */
#define DOM0_MEM_MIN (4ull << 20)
#define DOM0_MEM_MAX (1ull << 30)
#define DOM0_VCPUS_MAX 8

void options_defaults(struct hv_options *o)
{
    *o = (struct hv_options){
        .console_port = UART_COM1,
        .console_baud = UART_DEFAULT_BAUD,
        .loglvl = LOG_INFO,
        .x2apic = true,
        .maxcpus = DEFAULT_MAXCPUS,
        .timer_hz = 100,
        .testexit = TESTEXIT_NONE,
        .selftest = SELFTEST_NONE,
    };
}

static void add_error(struct options_errors *e, const struct cmdline_opt *opt, const char *why)
{
    if (e->count < OPTIONS_MAX_ERRORS)
        hv_snprintf(e->msg[e->count], OPTIONS_ERROR_LEN, "option '%.*s%s%.*s': %s", (int)opt->key_len, opt->key,
                    opt->val ? "=" : "", (int)opt->val_len, opt->val ? opt->val : "", why);
    e->count++;
}

static bool parse_console(const struct cmdline_opt *opt, struct hv_options *o)
{
    static const struct { const char *name; uint16_t port; } names[] = {
        { "com1", UART_COM1 }, { "com2", UART_COM2 }, { "com3", UART_COM3 }, { "com4", UART_COM4 },
    };
    const char *v = opt->val;
    size_t len = opt->val_len, comma = len;
    for (size_t i = 0; i < len; i++)
        if (v[i] == ',') {
            comma = i;
            break;
        }
    uint16_t port = 0;
    bool known = false;
    if (comma == 4 && strncmp(v, "none", 4) == 0) {
        known = true;
    } else {
        for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
            if (comma == 4 && strncmp(v, names[i].name, 4) == 0) {
                port = names[i].port;
                known = true;
            }
        uint64_t p;
        if (!known && cmdline_parse_u64(v, comma, false, &p) && p > 0 && p <= 0xFFF8) {
            port = (uint16_t)p;
            known = true;
        }
    }
    if (!known)
        return false;
    uint32_t baud = UART_DEFAULT_BAUD;
    if (comma < len) {
        uint64_t b;
        if (!cmdline_parse_u64(v + comma + 1, len - comma - 1, false, &b) || b == 0 || b > UART_CLOCK_HZ ||
            UART_CLOCK_HZ % b != 0)
            return false;
        baud = (uint32_t)b;
    }
    o->console_port = port;
    o->console_baud = baud;
    return true;
}

/* The option's value as a number in [min, max]; false when absent or out
 * of range. */
static bool parse_bounded(const struct cmdline_opt *opt, uint64_t min, uint64_t max, unsigned *out)
{
    uint64_t n;
    if (!opt->val || !cmdline_parse_u64(opt->val, opt->val_len, false, &n) || n < min || n > max)
        return false;
    *out = (unsigned)n;
    return true;
}

void options_parse(const char *cmdline, struct hv_options *o, struct options_errors *errs)
{
    struct cmdline_opt opt;
    bool bad_quote;
    errs->count = 0;
    while (cmdline_next(&cmdline, &opt, &bad_quote)) {
        if (bad_quote) {
            add_error(errs, &opt, "unterminated quote; rest of the line ignored");
        } else if (cmdline_key_is(&opt, "console")) {
            if (!opt.val || !parse_console(&opt, o))
                add_error(errs, &opt, "expected com1..com4, an I/O port number or none, then optionally ,BAUD "
                                      "(a divisor of 115200)");
        } else if (cmdline_key_is(&opt, "loglvl")) {
            int l = opt.val ? log_level_parse(opt.val, (unsigned)opt.val_len) : -1;
            if (l < 0)
                add_error(errs, &opt, "expected error, warn, info or debug");
            else
                o->loglvl = (enum log_level)l;
        } else if (cmdline_key_is(&opt, "x2apic")) {
            if (cmdline_val_is(&opt, "on"))
                o->x2apic = true;
            else if (cmdline_val_is(&opt, "off"))
                o->x2apic = false;
            else
                add_error(errs, &opt, "expected on or off");
        } else if (cmdline_key_is(&opt, "maxcpus")) {
            if (!parse_bounded(&opt, 1, DEFAULT_MAXCPUS, &o->maxcpus))
                add_error(errs, &opt, "expected a number of CPUs from 1 to 64");
        } else if (cmdline_key_is(&opt, "timer_hz")) {
            if (!parse_bounded(&opt, 10, MAX_TIMER_HZ, &o->timer_hz))
                add_error(errs, &opt, "expected a frequency from 10 to 10000");
        } else if (cmdline_key_is(&opt, "testexit")) {
            if (cmdline_val_is(&opt, "qemu"))
                o->testexit = TESTEXIT_QEMU;
            else if (cmdline_val_is(&opt, "bochs"))
                o->testexit = TESTEXIT_BOCHS;
            else
                add_error(errs, &opt, "expected qemu or bochs");
        } else if (cmdline_key_is(&opt, "tsc_calib")) {
            static const char *const sources[] = { "auto", "pit", "hpet", "cpuid" };
            unsigned i = 0;
            while (i < ARRAY_SIZE(sources) && !cmdline_val_is(&opt, sources[i]))
                i++;
            if (i < ARRAY_SIZE(sources))
                o->tsc_source = i;
            else
                add_error(errs, &opt, "expected auto, pit, hpet or cpuid");
        } else if (cmdline_key_is(&opt, "dom0_mem")) {
            uint64_t n;
            if (!opt.val || !cmdline_parse_u64(opt.val, opt.val_len, true, &n) || n < DOM0_MEM_MIN ||
                n > DOM0_MEM_MAX)
                add_error(errs, &opt, "expected a size from 4M to 1G");
            else
                o->dom0_mem = n;
        } else if (cmdline_key_is(&opt, "dom0_vcpus")) {
            if (!parse_bounded(&opt, 1, DOM0_VCPUS_MAX, &o->dom0_vcpus))
                add_error(errs, &opt, "expected a number of vCPUs from 1 to 8");
        } else if (cmdline_key_is(&opt, "selftest")) {
            if (cmdline_val_is(&opt, "wp"))
                o->selftest = SELFTEST_WP;
            else if (cmdline_val_is(&opt, "nx"))
                o->selftest = SELFTEST_NX;
            else if (cmdline_val_is(&opt, "panic"))
                o->selftest = SELFTEST_PANIC;
            else if (cmdline_val_is(&opt, "reboot"))
                o->selftest = SELFTEST_REBOOT;
            else if (cmdline_val_is(&opt, "domains"))
                o->selftest = SELFTEST_DOMAINS;
            else
                add_error(errs, &opt, "expected wp, nx, panic, reboot or domains");
        } else {
            add_error(errs, &opt, "unknown option, ignored");
        }
    }
}
