/* SPDX-License-Identifier: MIT */
/* The smallest 64-bit guest: serial output, one console hypercall, the ABI version. */
#include "guest.h"
#include "plinth/start_info.h"
#include "plinth/version.h"

GUEST("hello64");

int main(void)
{
    static const char msg[] = "hello from a 64-bit guest (via HC_CONSOLE_WRITE)\n";

    printf("hello from a 64-bit guest\n");
    /* The start information (include/plinth/start_info.h). */
    const struct plinth_start_info *si = (const struct plinth_start_info *)boot_reg_a;
    CHECK_EQ(boot_reg_a, 0x9000, "entry: RDI = the start information");
    CHECK_EQ(si->magic, PLINTH_START_MAGIC, "start info: magic");
    CHECK_EQ(si->version, PLINTH_START_VERSION, "start info: version");
    CHECK_EQ(si->mem_bytes, 16u << 20, "start info: 16 MiB of RAM (the default)");
    CHECK_EQ(si->vcpus, 1, "start info: one vCPU");
    CHECK(si->domid >= 1, "start info: a domain id");
    CHECK(si->free_start >= 0x100000 && si->free_start < si->free_end, "start info: a free range above the image");
    CHECK_EQ(si->free_end, si->mem_bytes, "start info: no files, so free up to the end of RAM");
    CHECK_EQ(si->module_count, 0, "start info: no files");
    CHECK(si->tsc_khz > 0, "start info: TSC frequency");
    CHECK(memcmp(si->cmdline, "hello64", 8) == 0, "start info: the module command line");
    CHECK(!(boot_rflags & RFLAGS_IF), "entry: interrupts disabled");
    CHECK_EQ(hc_console_write(msg, sizeof(msg) - 1), sizeof(msg) - 1, "HC_CONSOLE_WRITE returns the length");
    CHECK_EQ(hc_version(), (PLINTH_ABI_MAJOR << 16) | PLINTH_ABI_MINOR, "HC_VERSION is the header's");
    return tests_failed();
}
