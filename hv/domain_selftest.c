/* selftest=domains: create and destroy domains in a loop, check that every
 * frame comes back, and report what a create+destroy costs for several
 * memory sizes (bench/domain_cost.py reads the figures). */
#include "arch/x86/cpu.h"
#include "hv/domain.h"
#include "hv/domain_selftest.h"
#include "hv/log.h"
#include "hv/mm.h"

#define ROUNDS 8

bool domain_selftest(void)
{
    static const uint64_t sizes_mib[] = { 16, 64, 256 };
    uint64_t before = mm_frames_in_use();
    unsigned made = 0;
    bool ok = true;
    for (unsigned i = 0; i < ARRAY_SIZE(sizes_mib); i++) {
        uint64_t cycles = 0;
        for (unsigned r = 0; r < ROUNDS; r++) {
            char err[160];
            uint64_t t0 = rdtsc();
            struct domain *d = domain_create("selftest", sizes_mib[i] << 20, 0, err, sizeof(err));
            if (!d) {
                pr_err("domains: cannot create a %lu MiB domain: %s", sizes_mib[i], err);
                return false;
            }
            domain_destroy(d);
            cycles += rdtsc() - t0;
            made++;
        }
        pr_info("domain-cost: mem=%lu MiB create+destroy=%lu cycles", sizes_mib[i], cycles / ROUNDS);
    }
    uint64_t after = mm_frames_in_use();
    if (after != before) {
        pr_err("domains: %u created and destroyed, %ld frames not returned", made, (long)(after - before));
        ok = false;
    } else {
        pr_info("domains: %u created and destroyed, every frame returned (%lu in use)", made, after);
    }
    return ok;
}
