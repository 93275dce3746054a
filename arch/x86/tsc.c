#include "arch/x86/tsc.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpufeature.h"
#include "arch/x86/paging.h"
#include "hv/log.h"
#include "hv/panic.h"

/* 8254 PIT, channel 2 gated through port 0x61 (IBM PC AT technical
 * reference; Intel 8254 datasheet). */
#define PIT_HZ 1193182u
#define PIT_CH2_DATA 0x42
#define PIT_MODE 0x43
#define PIT_MODE_CH2_LOHI_MODE0 0xB0
#define PORT61 0x61
#define PORT61_GATE2 0x01
#define PORT61_SPEAKER 0x02
#define PORT61_OUT2 0x20
#define CALIBRATE_MS 10u /* 11932 PIT ticks: +-1 tick is 0.01 % */
#define CALIBRATE_ROUNDS 3
/* How many TSC cycles to wait for OUT2 before deciding there is no PIT:
 * 2^34 is several seconds on any CPU, even under emulation. */
#define PIT_TIMEOUT_CYCLES (1ull << 34)

/* HPET registers, IA-PC HPET specification 1.0a, 2.3 */
#define HPET_CAPABILITIES 0x00
#define HPET_CONFIG 0x10
#define HPET_COUNTER 0xF0
#define HPET_CONFIG_ENABLE 0x1
#define HPET_MAX_PERIOD_FS 100000000ull /* spec: at most 100 ns per tick */
#define FS_PER_SECOND 1000000000000000ull

uint64_t tsc_hz;

/* One PIT measurement of TSC cycles per CALIBRATE_MS; 0 if the PIT never
 * signalled. */
static uint64_t pit_measure(void)
{
    uint32_t count = PIT_HZ * CALIBRATE_MS / 1000;
    uint8_t p61 = inb(PORT61);
    outb(PORT61, (uint8_t)((p61 & ~PORT61_SPEAKER) & ~PORT61_GATE2));
    outb(PIT_MODE, PIT_MODE_CH2_LOHI_MODE0);
    outb(PIT_CH2_DATA, count & 0xFF);
    outb(PIT_CH2_DATA, (count >> 8) & 0xFF);
    /* Counting starts on the gate's rising edge (mode 0). */
    outb(PORT61, (uint8_t)((p61 & ~PORT61_SPEAKER) | PORT61_GATE2));
    uint64_t start = rdtsc();
    while (!(inb(PORT61) & PORT61_OUT2)) {
        if (rdtsc() - start > PIT_TIMEOUT_CYCLES)
            return 0;
    }
    uint64_t cycles = rdtsc() - start;
    outb(PORT61, p61);
    return cycles;
}

static uint64_t pit_calibrate(void)
{
    uint64_t best = 0;
    for (int i = 0; i < CALIBRATE_ROUNDS; i++) {
        uint64_t c = pit_measure();
        if (c == 0)
            return 0;
        /* The shortest round had the least interference (SMIs, host). */
        if (best == 0 || c < best)
            best = c;
    }
    return best * 1000 / CALIBRATE_MS;
}

/* TSC cycles per second measured against the HPET main counter; 0 when
 * there is no usable HPET. */
static uint64_t hpet_calibrate(uint64_t hpet_phys)
{
    if (!hpet_phys)
        return 0;
    volatile uint64_t *hpet = ioremap(hpet_phys, 1024);
    if (!hpet)
        return 0;
    uint64_t period_fs = hpet[HPET_CAPABILITIES / 8] >> 32;
    if (period_fs == 0 || period_fs > HPET_MAX_PERIOD_FS) {
        pr_warn("tsc: HPET reports a period of %lu fs; not using it", period_fs);
        return 0;
    }
    hpet[HPET_CONFIG / 8] |= HPET_CONFIG_ENABLE;
    uint64_t ticks = CALIBRATE_MS * 1000000000000ull / period_fs;
    uint64_t best = 0;
    for (int i = 0; i < CALIBRATE_ROUNDS; i++) {
        uint64_t h0 = hpet[HPET_COUNTER / 8], t0 = rdtsc(), h1;
        do {
            h1 = hpet[HPET_COUNTER / 8];
            if (rdtsc() - t0 > PIT_TIMEOUT_CYCLES) {
                pr_warn("tsc: the HPET counter does not advance; not using it");
                return 0;
            }
        } while (h1 - h0 < ticks);
        uint64_t cycles = rdtsc() - t0;
        uint64_t hz = cycles * (FS_PER_SECOND / period_fs) / (h1 - h0);
        if (best == 0 || hz < best)
            best = hz;
    }
    return best;
}

static uint64_t cpuid_frequency(const char **how)
{
    const struct cpu_features *f = &cpu_features;
    if (f->tsc_crystal_hz && f->tsc_ratio_den && f->tsc_ratio_num) {
        *how = "CPUID 15h";
        return (uint64_t)f->tsc_crystal_hz * f->tsc_ratio_num / f->tsc_ratio_den;
    }
    if (f->base_mhz) {
        *how = "CPUID 16h base frequency";
        return (uint64_t)f->base_mhz * 1000000;
    }
    return 0;
}

void tsc_calibrate(enum tsc_source want, uint64_t hpet_phys)
{
    const char *how = NULL;
    if (want == TSC_SOURCE_AUTO || want == TSC_SOURCE_PIT) {
        tsc_hz = pit_calibrate();
        how = "calibrated against the PIT";
        if (!tsc_hz && want == TSC_SOURCE_PIT)
            panic("tsc: tsc_calib=pit, but PIT channel 2 never signalled");
    }
    if (!tsc_hz && (want == TSC_SOURCE_AUTO || want == TSC_SOURCE_HPET)) {
        tsc_hz = hpet_calibrate(hpet_phys);
        how = "calibrated against the HPET";
        if (!tsc_hz && want == TSC_SOURCE_HPET)
            panic("tsc: tsc_calib=hpet, but there is no usable HPET");
    }
    if (!tsc_hz && (want == TSC_SOURCE_AUTO || want == TSC_SOURCE_CPUID)) {
        tsc_hz = cpuid_frequency(&how);
        if (!tsc_hz && want == TSC_SOURCE_CPUID)
            panic("tsc: tsc_calib=cpuid, but CPUID reports no TSC frequency");
    }
    if (!tsc_hz)
        panic("tsc: no PIT or HPET answered and CPUID reports no TSC frequency");
    pr_info("tsc: %lu.%03lu MHz (%s)", tsc_hz / 1000000, tsc_hz / 1000 % 1000, how);
}

uint64_t tsc_us_to_cycles(uint64_t us) { return tsc_hz / 1000000 * us + tsc_hz % 1000000 * us / 1000000; }

void tsc_delay_us(uint64_t us)
{
    uint64_t end = rdtsc() + tsc_us_to_cycles(us);
    while (rdtsc() < end)
        cpu_relax();
}
