/* Hypervisor command-line options (documented in docs/boot.md). */
#ifndef HV_OPTIONS_H
#define HV_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/log.h"

enum selftest { SELFTEST_NONE, SELFTEST_WP, SELFTEST_NX, SELFTEST_PANIC, SELFTEST_REBOOT, SELFTEST_DOMAINS };
enum testexit { TESTEXIT_NONE, TESTEXIT_QEMU, TESTEXIT_BOCHS };

struct hv_options {
    uint16_t console_port;     /* 0: no console */
    uint32_t console_baud;
    enum log_level loglvl;
    bool x2apic;
    unsigned maxcpus;
    unsigned timer_hz;
    enum testexit testexit;
    enum selftest selftest;
    unsigned tsc_source;   /* enum tsc_source (arch/x86/tsc.h), 0 = auto */
    uint64_t dom0_mem;     /* bytes, 0: the module's mem= or the default */
    unsigned dom0_vcpus;   /* 0: the module's vcpus= or 1 */
};

#define OPTIONS_MAX_ERRORS 8
#define OPTIONS_ERROR_LEN 120

struct options_errors {
    unsigned count;  /* may exceed OPTIONS_MAX_ERRORS; extra ones not stored */
    char msg[OPTIONS_MAX_ERRORS][OPTIONS_ERROR_LEN];
};

void options_defaults(struct hv_options *o);
/* Apply every option on the line; a bad or unknown option leaves the
 * default in place and adds a message naming it. */
void options_parse(const char *cmdline, struct hv_options *o, struct options_errors *errs);

#endif
