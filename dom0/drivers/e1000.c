/* Intel 8254x ("e1000": 82540EM 8086:100E, 82545EM 8086:100F) and, with
 * the same legacy descriptors, 82574L (e1000e, 8086:10D3): MMIO BAR0,
 * one legacy receive and one legacy transmit ring. */
#include "dom0/drivers/dev.h"
#include "dom0/drivers/drivers.h"
#include "dom0/kernel/dom0.h"

#define E1000_CTRL 0x0000
#define E1000_STATUS 0x0008
#define E1000_EERD 0x0014
#define E1000_ICR 0x00C0
#define E1000_IMS 0x00D0
#define E1000_IMC 0x00D8
#define E1000_RCTL 0x0100
#define E1000_TCTL 0x0400
#define E1000_TIPG 0x0410
#define E1000_RDBAL 0x2800
#define E1000_RDBAH 0x2804
#define E1000_RDLEN 0x2808
#define E1000_RDH 0x2810
#define E1000_RDT 0x2818
#define E1000_TDBAL 0x3800
#define E1000_TDBAH 0x3804
#define E1000_TDLEN 0x3808
#define E1000_TDH 0x3810
#define E1000_TDT 0x3818
#define E1000_MTA 0x5200
#define E1000_RAL0 0x5400
#define E1000_RAH0 0x5404

#define CTRL_ASDE (1u << 5)
#define CTRL_SLU (1u << 6)
#define CTRL_ILOS (1u << 7)
#define CTRL_LRST (1u << 3)
#define CTRL_RST (1u << 26)
#define CTRL_VME (1u << 30)
#define CTRL_PHY_RST (1u << 31)
#define STATUS_LU (1u << 1)
#define RAH_AV (1u << 31)

#define RCTL_EN (1u << 1)
#define RCTL_UPE (1u << 3)          /* unicast promiscuous (8254x SDM 13.4.22) */
#define RCTL_MPE (1u << 4)          /* multicast promiscuous */
#define RCTL_BAM (1u << 15)
#define RCTL_SECRC (1u << 26)       /* strip the Ethernet CRC; BSIZE 00 = 2048 */
#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)          /* pad short packets */
#define TCTL_CT (0x0Fu << 4)
#define TCTL_COLD (0x40u << 12)

#define INT_TXDW (1u << 0)
#define INT_LSC (1u << 2)
#define INT_RXO (1u << 6)
#define INT_RXT0 (1u << 7)

#define RXD_DD 0x01u
#define RXD_EOP 0x02u
#define TXD_CMD_EOP 0x01u
#define TXD_CMD_IFCS 0x02u
#define TXD_CMD_RS 0x08u
#define TXD_STA_DD 0x01u

#define E1000_RX_DESCS 64u          /* ring sizes: multiples of 8 descriptors */
#define E1000_TX_DESCS 32u
#define E1000_BUF 2048u

struct e1000_rx_desc {
    uint64_t addr;
    uint16_t length;
    uint16_t csum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
};

struct e1000_tx_desc {
    uint64_t addr;
    uint16_t length;
    uint8_t cso;
    uint8_t cmd;
    uint8_t status;
    uint8_t css;
    uint16_t special;
};

struct e1000 {
    struct netdev n;
    struct pci_dev *pci;
    uint64_t mmio;
    bool e1000e;
    volatile struct e1000_rx_desc *rx;
    volatile struct e1000_tx_desc *tx;
    uint8_t *rx_buf, *tx_buf;
    unsigned rx_next, tx_tail;
    bool tx_used[E1000_TX_DESCS];
    bool irq_ok;
    uint64_t rx_errors;
};

static uint32_t rd(struct e1000 *e, uint32_t reg) { return mmio_read32(e->mmio + reg); }
static void wr(struct e1000 *e, uint32_t reg, uint32_t v) { mmio_write32(e->mmio + reg, v); }

static bool eeprom_read(struct e1000 *e, uint8_t word, uint16_t *out)
{
    /* 8254x: address in bits 15:8, done in bit 4; 82574: 15:2 and bit 1. */
    uint32_t shift = e->e1000e ? 2 : 8, done = e->e1000e ? (1u << 1) : (1u << 4);
    wr(e, E1000_EERD, 1u | (uint32_t)word << shift);
    for (unsigned i = 0; i < 10000; i++) {
        uint32_t v = rd(e, E1000_EERD);
        if (v & done) {
            *out = (uint16_t)(v >> 16);
            return true;
        }
        delay_us(1);
    }
    return false;
}

static bool e1000_irq(void *arg)
{
    struct e1000 *e = arg;
    uint32_t icr = rd(e, E1000_ICR);        /* reading clears */
    if (!icr)
        return false;
    e->n.irqs++;
    if (icr & INT_LSC)
        e->n.link_up = (rd(e, E1000_STATUS) & STATUS_LU) != 0;
    return true;
}

static int e1000_send(struct netdev *n, const void *frame, size_t len)
{
    struct e1000 *e = n->priv;
    if (len < 14 || len > 1514)
        return -PL_EINVAL;
    unsigned i = e->tx_tail;
    volatile struct e1000_tx_desc *d = &e->tx[i];
    if (e->tx_used[i] && !(d->status & TXD_STA_DD))
        return -PL_EBUSY;
    memcpy(e->tx_buf + (size_t)i * E1000_BUF, frame, len);
    d->addr = dma_addr(e->tx_buf + (size_t)i * E1000_BUF);
    d->length = (uint16_t)len;
    d->cso = 0;
    d->css = 0;
    d->special = 0;
    d->status = 0;
    d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
    e->tx_used[i] = true;
    e->tx_tail = (i + 1) % E1000_TX_DESCS;
    mb();
    wr(e, E1000_TDT, e->tx_tail);
    n->tx_frames++;
    return 0;
}

static int e1000_recv(struct netdev *n, void *buf, size_t len)
{
    struct e1000 *e = n->priv;
    if (!e->irq_ok)
        n->link_up = (rd(e, E1000_STATUS) & STATUS_LU) != 0;
    for (;;) {
        unsigned i = e->rx_next;
        volatile struct e1000_rx_desc *d = &e->rx[i];
        uint8_t status = d->status;
        if (!(status & RXD_DD))
            return 0;
        barrier();
        uint16_t flen = d->length;
        uint8_t errors = d->errors;
        int r;
        if (!(status & RXD_EOP) || errors) {
            e->rx_errors++;
            r = -1;                 /* drop, look at the next one */
        } else if (flen > len) {
            r = -PL_E2BIG;
        } else {
            memcpy(buf, e->rx_buf + (size_t)i * E1000_BUF, flen);
            r = flen;
            n->rx_frames++;
        }
        d->status = 0;
        e->rx_next = (i + 1) % E1000_RX_DESCS;
        mb();
        wr(e, E1000_RDT, i);        /* give the descriptor back */
        if (r != -1)
            return r;
    }
}

static bool reset_done(void *arg)
{
    return !(rd(arg, E1000_CTRL) & CTRL_RST);
}

bool e1000_probe(struct pci_dev *d)
{
    if (d->vendor != 0x8086)
        return false;
    bool e1000e;
    switch (d->device) {
    case 0x100E: case 0x100F: case 0x1004: case 0x1011: case 0x1026:
        e1000e = false;
        break;
    case 0x10D3:
        e1000e = true;
        break;
    default:
        return false;
    }
    const char *who = e1000e ? "e1000e" : "e1000";
    if (d->bar[0].io || !d->bar[0].size || !d->bar[0].base ||
        d->bar[0].base + d->bar[0].size > (1ull << 32)) {
        kprintf("%s: %02x:%02x.%x: BAR0 is not a memory BAR below 4 GiB\n", who, d->bus, d->dev, d->fn);
        return false;
    }
    struct e1000 *e = kalloc(sizeof *e, 64);
    if (!e)
        return false;
    e->pci = d;
    e->mmio = d->bar[0].base;
    e->e1000e = e1000e;
    pci_enable(d, PCI_CMD_MEM | PCI_CMD_MASTER);

    /* Reset with interrupts masked. */
    wr(e, E1000_IMC, 0xFFFFFFFFu);
    wr(e, E1000_CTRL, rd(e, E1000_CTRL) | CTRL_RST);
    delay_us(1000);
    if (!wait_until(reset_done, e, 100000)) {
        kprintf("%s: %02x:%02x.%x: reset did not finish\n", who, d->bus, d->dev, d->fn);
        return false;
    }
    wr(e, E1000_IMC, 0xFFFFFFFFu);
    (void)rd(e, E1000_ICR);
    uint32_t ctrl = rd(e, E1000_CTRL);
    ctrl &= ~(CTRL_LRST | CTRL_PHY_RST | CTRL_ILOS | CTRL_VME);
    wr(e, E1000_CTRL, ctrl | CTRL_SLU | CTRL_ASDE);

    /* MAC: the receive address the EEPROM load put in RAL0/RAH0, else the
     * EEPROM itself. */
    uint32_t ral = rd(e, E1000_RAL0), rah = rd(e, E1000_RAH0);
    const char *mac_src = "RAL/RAH";
    if (!(rah & RAH_AV) || (ral == 0 && (rah & 0xFFFF) == 0)) {
        uint16_t w[3];
        if (!eeprom_read(e, 0, &w[0]) || !eeprom_read(e, 1, &w[1]) || !eeprom_read(e, 2, &w[2])) {
            kprintf("%s: %02x:%02x.%x: no MAC address (EEPROM read failed)\n", who, d->bus, d->dev, d->fn);
            return false;
        }
        ral = w[0] | (uint32_t)w[1] << 16;
        rah = w[2];
        mac_src = "EEPROM";
    }
    for (unsigned i = 0; i < 4; i++)
        e->n.mac[i] = (uint8_t)(ral >> (8 * i));
    e->n.mac[4] = (uint8_t)rah;
    e->n.mac[5] = (uint8_t)(rah >> 8);
    wr(e, E1000_RAL0, ral);
    wr(e, E1000_RAH0, (rah & 0xFFFF) | RAH_AV);
    for (unsigned i = 0; i < 128; i++)
        wr(e, E1000_MTA + 4 * i, 0);

    e->rx = kalloc(E1000_RX_DESCS * sizeof *e->rx, 128);
    e->tx = kalloc(E1000_TX_DESCS * sizeof *e->tx, 128);
    e->rx_buf = kalloc(E1000_RX_DESCS * E1000_BUF, 4096);
    e->tx_buf = kalloc(E1000_TX_DESCS * E1000_BUF, 4096);
    if (!e->rx || !e->tx || !e->rx_buf || !e->tx_buf) {
        kprintf("%s: out of memory\n", who);
        return false;
    }
    for (unsigned i = 0; i < E1000_RX_DESCS; i++)
        e->rx[i].addr = dma_addr(e->rx_buf + (size_t)i * E1000_BUF);
    uint64_t rx_bus = dma_addr((const void *)e->rx), tx_bus = dma_addr((const void *)e->tx);
    wr(e, E1000_RDBAL, (uint32_t)rx_bus);
    wr(e, E1000_RDBAH, (uint32_t)(rx_bus >> 32));
    wr(e, E1000_RDLEN, E1000_RX_DESCS * sizeof *e->rx);
    wr(e, E1000_RDH, 0);
    wr(e, E1000_RDT, E1000_RX_DESCS - 1);
    e->rx_next = 0;
    wr(e, E1000_TDBAL, (uint32_t)tx_bus);
    wr(e, E1000_TDBAH, (uint32_t)(tx_bus >> 32));
    wr(e, E1000_TDLEN, E1000_TX_DESCS * sizeof *e->tx);
    wr(e, E1000_TDH, 0);
    wr(e, E1000_TDT, 0);
    e->tx_tail = 0;
    wr(e, E1000_TIPG, 10u | 8u << 10 | 6u << 20);
    wr(e, E1000_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
    /* Promiscuous: the NIC may be the uplink of dom0's switch, which must
     * see frames for the domUs' MACs too (as a virtio-net NIC delivers). */
    wr(e, E1000_RCTL, RCTL_EN | RCTL_UPE | RCTL_MPE | RCTL_BAM | RCTL_SECRC);

    e->n.driver = who;
    e->n.send = e1000_send;
    e->n.recv = e1000_recv;
    e->n.priv = e;
    d->driver = who;
    /* MSI where the function has it (82574L), else its INTx line. */
    if (pci_find_cap(d, PCI_CAP_ID_MSI) && drv_msi_attach(d->bus, d->dev, d->fn, e1000_irq, e, who) == 0)
        e->irq_ok = true;
    else if (d->irq_pin)
        e->irq_ok = drv_irq_attach(d->irq_line, e1000_irq, e, who) == 0;
    else
        kprintf("%s: no interrupt pin, polling\n", who);
    (void)rd(e, E1000_ICR);
    if (e->irq_ok)
        wr(e, E1000_IMS, INT_RXT0 | INT_TXDW | INT_LSC | INT_RXO);
    e->n.link_up = (rd(e, E1000_STATUS) & STATUS_LU) != 0;
    kprintf("%s: %02x:%02x.%x mmio %llx, mac from %s, rx %u tx %u descriptors\n", who, d->bus,
            d->dev, d->fn, (unsigned long long)e->mmio, mac_src, E1000_RX_DESCS, E1000_TX_DESCS);
    netdev_register(&e->n);
    return true;
}
