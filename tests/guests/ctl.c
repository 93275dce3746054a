/* SPDX-License-Identifier: MIT */
/* The control domain (first module) managing the others: domain info,
 * pause and unpause (CPU time stops and resumes), scheduling parameters,
 * destroy (the domain disappears), and argument checks. Expects dom2 =
 * "victim" (spins forever) and dom3 = "noctl". */
#include "guest.h"

GUEST("ctl");

#define VICTIM 2
#define WAIT_POLLS 2000000

static struct plinth_domain_info info;
static char log_buf[HC_LOG_READ_MAX + 1];

/* Whether the hypervisor log, read from the start in HC_LOG_READ_MAX chunks,
 * contains needle (which may straddle chunks: keep a tail). */
static bool log_contains(const char *needle)
{
    uint64_t pos = 0;
    size_t n = 0;
    while (needle[n])
        n++;
    char window[2 * HC_LOG_READ_MAX];
    size_t kept = 0;
    for (;;) {
        long got = hypercall(HC_LOG_READ, (uint64_t)log_buf, HC_LOG_READ_MAX, (uint64_t)&pos, 0, 0);
        if (got <= 0)
            return false;
        for (long i = 0; i < got; i++)
            window[kept++] = log_buf[i];
        for (size_t i = 0; i + n <= kept; i++) {
            size_t j = 0;
            while (j < n && window[i + j] == needle[j])
                j++;
            if (j == n)
                return true;
        }
        /* keep the last n - 1 bytes for a match across chunks */
        size_t keep = kept < n ? kept : n - 1;
        for (size_t i = 0; i < keep; i++)
            window[i] = window[kept - keep + i];
        kept = keep;
    }
}

static long dom_info(uint64_t id) { return hypercall(HC_DOMAIN_INFO, id, (uint64_t)&info, 0, 0, 0); }

static bool same_name(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Let time pass with exits (so the hypervisor's timers and other CPUs run). */
static void let_time_pass(void)
{
    for (unsigned i = 0; i < 20000; i++)
        cpuid(0, 0);
}

int main(void)
{
    /* Domains are started as they are created: dom2 may not exist yet. */
    long seen = -1;
    for (unsigned i = 0; i < WAIT_POLLS && (seen = dom_info(VICTIM)) != 0; i++)
        pause();
    CHECK_EQ(seen, 0, "dom2 appears");
    CHECK_EQ(dom_info(1), 0, "info on itself");
    CHECK(same_name(info.name, "ctl") && (info.flags & DOMAIN_FLAG_PRIVILEGED), "dom1 is ctl, the control domain");
    CHECK_EQ(dom_info(VICTIM), 0, "info on dom2");
    CHECK(same_name(info.name, "victim") && info.state == DOMAIN_STATE_RUNNING && !(info.flags & DOMAIN_FLAG_PRIVILEGED),
          "dom2 is victim, running, not privileged");
    CHECK_EQ(info.mem_bytes, 16ul << 20, "dom2 has 16 MiB");
    CHECK_EQ(dom_info(99), -PL_ENOENT, "info on a domain that does not exist: -ENOENT");
    CHECK_EQ(dom_info(1ull << 40), -PL_ENOENT, "info on an absurd id: -ENOENT");
    CHECK_EQ(hypercall(HC_DOMAIN_INFO, VICTIM, 0xC0000000ull, 0, 0, 0), -PL_EFAULT, "info into memory it lacks: -EFAULT");
    CHECK_EQ(hypercall(HC_DOMAIN_PAUSE, 1, 0, 0, 0, 0), -PL_EINVAL, "pausing itself: -EINVAL");
    CHECK_EQ(hypercall(HC_DOMAIN_DESTROY, 1, 0, 0, 0, 0), -PL_EINVAL, "destroying itself: -EINVAL");
    CHECK_EQ(hypercall(HC_DOMAIN_SET_SCHED, VICTIM, 0, 0, 0, 0), -PL_EINVAL, "weight 0: -EINVAL");
    CHECK_EQ(hypercall(HC_DOMAIN_SET_SCHED, VICTIM, 512, 0, 0, 0), 0, "weight 512");
    dom_info(VICTIM);
    CHECK_EQ(info.weight, 512, "dom2's weight reads back 512");

    /* Pause: the victim's CPU time stops growing. */
    CHECK_EQ(hypercall(HC_DOMAIN_PAUSE, VICTIM, 0, 0, 0, 0), 0, "pause dom2");
    let_time_pass();
    dom_info(VICTIM);
    uint64_t t1 = info.cpu_time_ns;
    CHECK_EQ(info.state, DOMAIN_STATE_PAUSED, "dom2 reads as paused");
    let_time_pass();
    dom_info(VICTIM);
    CHECKF(info.cpu_time_ns == t1, "paused dom2 gets no CPU time", "%lu ns then %lu ns", t1, info.cpu_time_ns);

    /* Unpause: it runs again. */
    CHECK_EQ(hypercall(HC_DOMAIN_UNPAUSE, VICTIM, 0, 0, 0, 0), 0, "unpause dom2");
    let_time_pass();
    dom_info(VICTIM);
    CHECKF(info.cpu_time_ns > t1 && info.state == DOMAIN_STATE_RUNNING, "unpaused dom2 runs again",
           "%lu ns then %lu ns, state %u", t1, info.cpu_time_ns, info.state);

    /* The hypervisor log holds the victim's console output. */
    CHECK(log_contains("dom2(victim): victim: running until destroyed"), "HC_LOG_READ finds dom2's console line");
    uint64_t pos = 0;
    CHECK_EQ(hypercall(HC_LOG_READ, (uint64_t)log_buf, HC_LOG_READ_MAX + 1, (uint64_t)&pos, 0, 0), -PL_E2BIG,
             "HC_LOG_READ over the maximum: -E2BIG");
    CHECK_EQ(hypercall(HC_LOG_READ, 0xC0000000ull, 16, (uint64_t)&pos, 0, 0), -PL_EFAULT,
             "HC_LOG_READ into memory it lacks: -EFAULT");
    CHECK_EQ(hypercall(HC_LOG_READ, (uint64_t)log_buf, 16, 0xC0000000ull, 0, 0), -PL_EFAULT,
             "HC_LOG_READ with its position outside its memory: -EFAULT");

    /* Destroy: it stops, and once reaped it is gone. */
    CHECK_EQ(hypercall(HC_DOMAIN_DESTROY, VICTIM, 0, 0, 0, 0), 0, "destroy dom2");
    long r = 0;
    for (unsigned i = 0; i < WAIT_POLLS && (r = dom_info(VICTIM)) == 0; i++)
        pause();
    CHECK_EQ(r, -PL_ENOENT, "destroyed dom2 is gone");
    return tests_failed();
}
