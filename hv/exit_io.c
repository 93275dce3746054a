/* Port I/O: each guest's 16550 console at 0x3F8, the test exit port at
 * 0xF4; every other port reads as all ones and ignores writes, except the
 * control domain's passed-through and forwarded ones (hv/devices.c). The
 * control domain's console also takes what is typed on the serial line. */
#include "hv/devices.h"
#include "hv/domain.h"
#include "hv/log.h"
#include "hv/string.h"

#define VUART_BASE 0x3F8
#define VUART_PORTS 8
#define EXIT_PORT 0xF4
/* 16550 registers (PC16550D datasheet table 2) */
#define UART_THR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define LCR_DLAB 0x80
#define IIR_NO_INTERRUPT 0x01
#define LSR_THRE_TEMT 0x60       /* always ready: output is taken at once */
#define LSR_DATA_READY 0x01
#define MSR_CTS_DSR_DCD 0xB0

static void console_flush_locked(struct domain *d)
{
    if (d->console_len == 0)
        return;
    if (d->console_direct) {
        log_console_write(d->console, d->console_len);
    } else {
        d->console[d->console_len] = 0;
        domain_log(d, "%s", d->console);
    }
    d->console_len = 0;
}

void domain_console_flush(struct domain *d)
{
    uint64_t flags = spin_lock_irqsave(&d->console_lock);
    console_flush_locked(d);
    spin_unlock_irqrestore(&d->console_lock, flags);
}

static void console_putc_locked(struct domain *d, char c)
{
    if (d->console_direct) {
        /* The control domain's shell: its bytes as they are (it is
         * trusted with the terminal), a line at a time so hypervisor log
         * lines never land inside one; a partial line (a prompt, an echo)
         * goes out as soon as it reads the keyboard. */
        logring_write(&d->conring, &c, 1);
        d->console[d->console_len++] = c;
        if (c == '\n' || d->console_len == DOMAIN_CONSOLE_LINE - 1)
            console_flush_locked(d);
        return;
    }
    if (c == '\r')
        return;
    if (c == '\n') {
        console_flush_locked(d);
        logring_write(&d->conring, &c, 1);
        return;
    }
    /* Replace control characters so a guest cannot drive our terminal. */
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7F)
        c = '?'; /* C0 and C1 controls and anything not ASCII */
    d->console[d->console_len++] = c;
    logring_write(&d->conring, &c, 1);
    if (d->console_len == DOMAIN_CONSOLE_LINE - 1)
        console_flush_locked(d); /* a long line continues on the next log line */
}

void domain_console_putc(struct domain *d, char c) { domain_console_write(d, &c, 1); }

void domain_console_write(struct domain *d, const char *s, size_t n)
{
    uint64_t flags = spin_lock_irqsave(&d->console_lock);
    for (size_t i = 0; i < n; i++)
        console_putc_locked(d, s[i]);
    spin_unlock_irqrestore(&d->console_lock, flags);
}

/* Only the control domain hears the keyboard; others never have input. */
static bool vuart_input_ready(struct domain *d)
{
    if (!d->privileged)
        return false;
    uint64_t flags = spin_lock_irqsave(&d->console_lock);
    if (d->console_direct)
        console_flush_locked(d); /* it waits for input: show the prompt */
    if (d->uart_rx < 0)
        d->uart_rx = log_console_getc();
    bool ready = d->uart_rx >= 0;
    spin_unlock_irqrestore(&d->console_lock, flags);
    return ready;
}

static uint32_t vuart_take_input(struct domain *d)
{
    if (!vuart_input_ready(d))
        return 0;
    uint64_t flags = spin_lock_irqsave(&d->console_lock);
    uint32_t c = d->uart_rx >= 0 ? (uint32_t)d->uart_rx : 0;
    d->uart_rx = -1;
    spin_unlock_irqrestore(&d->console_lock, flags);
    return c;
}

static uint32_t vuart_read(struct domain *d, unsigned reg)
{
    bool dlab = d->uart_lcr & LCR_DLAB;
    switch (reg) {
    case UART_THR: return dlab ? 1 : vuart_take_input(d); /* divisor latch low, or input */
    case UART_IER: return dlab ? 0 : d->uart_ier;
    case UART_IIR: return IIR_NO_INTERRUPT;
    case UART_LCR: return d->uart_lcr;
    case UART_MCR: return d->uart_mcr;
    case UART_LSR: return LSR_THRE_TEMT | (vuart_input_ready(d) ? LSR_DATA_READY : 0);
    case UART_MSR: return MSR_CTS_DSR_DCD;
    default: return d->uart_scratch;
    }
}

static void vuart_write(struct domain *d, unsigned reg, uint8_t val)
{
    bool dlab = d->uart_lcr & LCR_DLAB;
    switch (reg) {
    case UART_THR:
        if (!dlab)
            domain_console_putc(d, (char)val);
        break;
    case UART_IER:
        if (!dlab)
            d->uart_ier = val & 0x0F;
        break;
    case UART_LCR: d->uart_lcr = val; break;
    case UART_MCR: d->uart_mcr = val & 0x1F; break;
    case UART_SCR: d->uart_scratch = val; break;
    default: break; /* FCR, LSR, MSR writes have no effect here */
    }
}

void handle_io(struct vcpu *v, const struct vcpu_exit *e)
{
    struct domain *d = v->dom;
    uint16_t port = e->io.port;
    unsigned size = e->io.size;
    uint32_t mask = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;

    if (e->io.string) {
        /* INS/OUTS are not emulated yet; a guest using them gets #UD
         * rather than silently lost data. */
        vcpu_inject_exception(v, 6, false, 0);
        return;
    }
    if (d->io_perm) {
        uint32_t val = (uint32_t)v->gprs[REG_RAX] & mask;
        if (devices_pci_config(d, port, size, e->io.in, &val)) {
            if (e->io.in)
                v->gprs[REG_RAX] = size == 4 ? (val & mask) : (v->gprs[REG_RAX] & ~(uint64_t)mask) | (val & mask);
            arch_vcpu_skip(v, e);
            return;
        }
    }
    if (e->io.in) {
        uint32_t val = mask;
        if (port >= VUART_BASE && port < VUART_BASE + VUART_PORTS && size == 1)
            val = vuart_read(d, port - VUART_BASE);
        /* 8/16-bit IN merge into AL/AX; 32-bit IN zero-extends into RAX */
        if (size == 4)
            v->gprs[REG_RAX] = val;
        else
            v->gprs[REG_RAX] = (v->gprs[REG_RAX] & ~(uint64_t)mask) | (val & mask);
    } else {
        uint32_t val = (uint32_t)v->gprs[REG_RAX] & mask;
        if (port >= VUART_BASE && port < VUART_BASE + VUART_PORTS && size == 1) {
            vuart_write(d, port - VUART_BASE, (uint8_t)val);
        } else if (port == EXIT_PORT) {
            domain_console_flush(d);
            arch_vcpu_skip(v, e);
            domain_stop(d, false, val, "exited through the exit port with code %u", val);
            return;
        }
    }
    arch_vcpu_skip(v, e);
}
