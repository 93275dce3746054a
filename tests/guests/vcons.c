/* SPDX-License-Identifier: MIT */
/*
 * vcons: a domU that talks through its virtio console (virtio 1.2 section
 * 5.3), served by dom0 (config key console = "virtio"; docs/pv-io.md).
 * It prints a banner through the virtio console -- not the 16550 -- then
 * reads lines from it and answers each with "vcons got: <line>" until the
 * line "quit", then exits through the exit port. Its 16550 output (the
 * hypervisor's domain log) says what it does, so a test can follow.
 *
 * Command line options: poll (spin instead of sleeping for interrupts),
 * no-event-idx, idle-s=N (give up after N seconds without input; default 600).
 */
#include "guest.h"
#include "virtio.h"

#include <plinth/start_info.h>

GUEST("vcons");

#define LINE_MAX 120

static struct vcons cons;

static struct {
    bool poll, no_event_idx;
    uint64_t idle_s;
} opt = {.idle_s = 600};

static const char *cmdline(void)
{
    const struct plinth_start_info *si = (const struct plinth_start_info *)boot_reg_a;
    if (boot_reg_a && boot_reg_a < 0x100000 && si->magic == PLINTH_START_MAGIC)
        return si->cmdline;
    return "";
}

static bool word_at(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    return n == k && memcmp(s, w, k) == 0;
}

static void parse_options(const char *s)
{
    bool first = true;
    for (size_t i = 0; i < PLINTH_START_CMDLINE_MAX && s[i];) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        size_t n = 0;
        while (i + n < PLINTH_START_CMDLINE_MAX && s[i + n] && s[i + n] != ' ')
            n++;
        const char *t = s + i;
        i += n;
        if (first) {
            first = false; /* the image name */
            continue;
        }
        if (word_at(t, n, "poll"))
            opt.poll = true;
        else if (word_at(t, n, "no-event-idx"))
            opt.no_event_idx = true;
        else if (n > 7 && memcmp(t, "idle-s=", 7) == 0) {
            uint64_t v = 0;
            for (size_t k = 7; k < n && t[k] >= '0' && t[k] <= '9'; k++)
                v = v * 10 + (uint64_t)(t[k] - '0');
            if (v)
                opt.idle_s = v;
        } else if (!(n >= 4 && memcmp(t, "mem=", 4) == 0)) {
            char w[32];
            size_t m = n < sizeof(w) - 1 ? n : sizeof(w) - 1;
            memcpy(w, t, m);
            w[m] = 0;
            printf("vcons: ignoring option '%s'\n", w);
        }
    }
}

/* The line as the 16550 log may show it: printable ASCII only. */
static void printable(char *dst, const char *src, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
    dst[n] = 0;
}

int main(void)
{
    const char *cl = cmdline();
    printf("vcons: command line '%s'\n", cl);
    parse_options(cl);
    virtio_list();
    int rc = vcons_open(&cons, 0, opt.poll ? VIRTIO_WAIT_POLL : VIRTIO_WAIT_IRQ, !opt.no_event_idx);
    if (rc == -PL_ENOENT) {
        CHECKF(false, "virtio-console device found", "no virtio console in the %u virtio-mmio windows",
               (unsigned)VIRTIO_PLATFORM_COUNT);
        return 1;
    }
    CHECKF(rc == 0, "virtio-console device initialised", "result %d", rc);
    if (rc)
        return 1;
    printf("vcons: device %u at 0x%lx (vector 0x%x): features offered 0x%llx, negotiated 0x%llx, receive queue "
           "%u, transmit queue %u, %s\n",
           cons.dev.index, (unsigned long)cons.dev.base, cons.dev.vector,
           (unsigned long long)cons.dev.device_features, (unsigned long long)cons.dev.features, cons.rxq->size,
           cons.txq->size, opt.poll ? "polling" : "interrupts");
    CHECK(!virtio_has(&cons.dev, VIRTIO_CONSOLE_F_MULTIPORT), "MULTIPORT not negotiated");

    if (cons.emerg_write) {
        vcons_emerg_putc(&cons, '*'); /* one byte through emerg_wr, before the banner */
        vcons_emerg_putc(&cons, '\n');
    }
    static const char banner[] = "vcons: hello through the virtio console; type a line, 'quit' ends\n";
    rc = vcons_puts(&cons, banner);
    CHECKF(rc == 0, "banner sent through the virtio console", "result %d", rc);
    printf("vcons: banner sent through the virtio console (%u bytes); echoing lines until 'quit'\n",
           (unsigned)sizeof(banner) - 1);

    static char line[LINE_MAX + 1], shown[LINE_MAX + 1], reply[LINE_MAX + 16];
    unsigned len = 0, lines = 0;
    bool quit = false, overlong = false;
    while (!quit) {
        char in[64];
        int n = vcons_read(&cons, in, sizeof(in), opt.idle_s * 1000);
        if (n <= 0) {
            CHECKF(false, "input before the idle limit", "nothing typed for %llu s", (unsigned long long)opt.idle_s);
            break;
        }
        for (int i = 0; i < n && !quit; i++) {
            char ch = in[i];
            if (ch != '\r' && ch != '\n') {
                if (len < LINE_MAX)
                    line[len++] = ch;
                else
                    overlong = true;
                continue;
            }
            if (len == 0)
                continue; /* the \n of \r\n, or an empty line */
            line[len] = 0;
            printable(shown, line, len);
            if (len == 4 && memcmp(line, "quit", 4) == 0) {
                printf("vcons: received 'quit' after %u lines: leaving\n", lines);
                rc = vcons_puts(&cons, "vcons: bye\n");
                CHECKF(rc == 0, "goodbye sent", "result %d", rc);
                quit = true;
            } else {
                lines++;
                unsigned k = 0;
                memcpy(reply, "vcons got: ", 11);
                k = 11;
                memcpy(reply + k, line, len);
                k += len;
                reply[k++] = '\n';
                rc = vcons_write(&cons, reply, k);
                printf("vcons: line %u: '%s' (%u bytes%s), echoed: %d\n", lines, shown, len,
                       overlong ? ", cut" : "", rc);
                CHECKF(rc == 0, "line echoed", "result %d", rc);
            }
            len = 0;
            overlong = false;
        }
    }
    CHECK(quit, "'quit' received");
    CHECKF(lines > 0, "at least one line echoed", "%u lines", lines);
    CHECK_EQ(cons.rxq->bad_used, 0, "no receive entries with a bad id");
    CHECK_EQ(cons.txq->bad_used, 0, "no transmit entries with a bad id");
    CHECK_EQ(cons.txq->timeouts, 0, "no transmit timed out");
    printf("vcons: %lu bytes sent, %lu bytes received in %lu buffers, %lu interrupts\n", cons.tx_bytes,
           cons.rx_bytes, cons.rx_buffers, cons.dev.irqs);
    virtio_print_stats(&cons.dev, "vcons");
    return tests_failed();
}
