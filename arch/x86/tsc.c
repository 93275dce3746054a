#include "arch/x86/tsc.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpufeature.h"
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

void tsc_calibrate(void)
{
    uint64_t best = 0;
    for (int i = 0; i < CALIBRATE_ROUNDS; i++) {
        uint64_t c = pit_measure();
        if (c == 0) {
            best = 0;
            break;
        }
        /* The shortest round had the least interference (SMIs, host). */
        if (best == 0 || c < best)
            best = c;
    }
    if (best) {
        tsc_hz = best * 1000 / CALIBRATE_MS;
        pr_info("tsc: %lu.%03lu MHz (calibrated against the PIT)", tsc_hz / 1000000, tsc_hz / 1000 % 1000);
        return;
    }
    const struct cpu_features *f = &cpu_features;
    if (f->tsc_crystal_hz && f->tsc_ratio_den && f->tsc_ratio_num) {
        tsc_hz = (uint64_t)f->tsc_crystal_hz * f->tsc_ratio_num / f->tsc_ratio_den;
        pr_info("tsc: %lu kHz (CPUID 15h; no PIT)", tsc_hz / 1000);
    } else if (f->base_mhz) {
        tsc_hz = (uint64_t)f->base_mhz * 1000000;
        pr_info("tsc: %lu MHz (CPUID 16h base frequency; no PIT)", tsc_hz / 1000000);
    } else {
        panic("tsc: no PIT answered and CPUID reports no TSC frequency");
    }
}

uint64_t tsc_us_to_cycles(uint64_t us) { return tsc_hz / 1000000 * us + tsc_hz % 1000000 * us / 1000000; }

void tsc_delay_us(uint64_t us)
{
    uint64_t end = rdtsc() + tsc_us_to_cycles(us);
    while (rdtsc() < end)
        cpu_relax();
}
