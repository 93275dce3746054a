/* virtio-net devices of domUs: a config's vif = [ "mac=...,bridge=...,
 * vlan=..." ] entries, each a virtio-net backend (dom0/virtio/
 * net_backend.c) attached as a port to a learning switch (dom0/virtio/
 * vswitch.c) named by bridge= (docs/vswitch.md).
 *
 * Bridges are made on first use and stay. A bridge named "brN" has dom0's
 * physical NIC netN (see `devices`) as its uplink when dom0 has one; any
 * other name (or brN without netN) is a switch between domUs only.
 * Transmitted frames are switched when the domU notifies its transmit
 * queue; frames from the uplinks are taken in pvnet_poll (called from
 * pvdev_poll, i.e. whenever dom0 is about to sleep and after it wakes). */
#include "dom0/domcfg.h"
#include "dom0/drivers/dev.h"
#include "dom0/kernel/kernel.h"
#include "dom0/kernel/pvdev.h"
#include "dom0/kernel/util.h"
#include "dom0/virtio/net_backend.h"
#include "dom0/virtio/vswitch.h"
#include "plinth/ioreq.h"

#define PVNET_BRIDGES 4
#define PVNET_POOL 16
#define UPLINK_BUDGET 64     /* frames taken from one uplink per poll */
#define ETH_ZLEN 60          /* shortest frame on a wire (without FCS) */

struct bridge {
    struct vswitch sw;
    struct netdev *uplink;
    int uplink_port;
    uint64_t up_rx, up_rx_errors, up_tx, up_tx_errors;
    uint8_t rx[2048];        /* a frame from the uplink */
    uint8_t tx[VSW_FRAME_MAX + 4];  /* padding short frames for the wire */
};

struct pvnet {
    struct vnet_dev vn;      /* first: kalloc alignment */
    struct pv_dom *pd;
    uint32_t domid;
    unsigned window;
    struct bridge *br;
    int port;
    uint16_t vlan;
    bool in_use;
    bool gone;               /* the domain ended: deliver nothing more */
};

/* kalloc never frees: bridges stay, devices are reused once their domain is gone. */
static struct bridge *bridges[PVNET_BRIDGES];
static struct pvnet *pool[PVNET_POOL];

static struct pvnet *get_dev(void)
{
    for (unsigned i = 0; i < PVNET_POOL; i++) {
        if (!pool[i] && !(pool[i] = kalloc(sizeof(struct pvnet), 64)))
            return NULL;
        if (!pool[i]->in_use) {
            pool[i]->in_use = true;
            return pool[i];
        }
    }
    return NULL;
}

/* ---- the uplink ---- */
static int uplink_send(void *ctx, const uint8_t *frame, size_t len)
{
    struct bridge *b = ctx;
    if (len < ETH_ZLEN) {
        memcpy(b->tx, frame, len);
        memset(b->tx + len, 0, ETH_ZLEN - len);
        frame = b->tx;
        len = ETH_ZLEN;
    }
    int r = b->uplink->send(b->uplink, frame, len);
    if (r < 0) {
        b->up_tx_errors++;
        return r;
    }
    b->up_tx++;
    return 0;
}

/* "br<N>" -> dom0's net<N>, if it has one. */
static struct netdev *uplink_for(const char *bridge)
{
    if (strncmp(bridge, "br", 2) != 0 || !bridge[2])
        return NULL;
    for (const char *p = bridge + 2; *p; p++)
        if (*p < '0' || *p > '9')
            return NULL;
    char name[16];
    ksnprintf(name, sizeof name, "net%s", bridge + 2);
    return netdev_find(name);
}

static struct bridge *get_bridge(const char *name)
{
    for (unsigned i = 0; i < PVNET_BRIDGES; i++)
        if (bridges[i] && strcmp(bridges[i]->sw.name, name) == 0)
            return bridges[i];
    for (unsigned i = 0; i < PVNET_BRIDGES; i++) {
        if (bridges[i])
            continue;
        struct bridge *b = kalloc(sizeof *b, 64);
        if (!b)
            return NULL;
        vsw_init(&b->sw, name);
        b->uplink_port = -1;
        b->uplink = uplink_for(name);
        if (b->uplink) {
            b->uplink_port = vsw_add_port(&b->sw, b->uplink->name, true, NULL, 0, uplink_send, b);
            kprintf("pv: bridge %s: uplink %s (%s, mac %02x:%02x:%02x:%02x:%02x:%02x)\n", name, b->uplink->name,
                    b->uplink->driver, b->uplink->mac[0], b->uplink->mac[1], b->uplink->mac[2],
                    b->uplink->mac[3], b->uplink->mac[4], b->uplink->mac[5]);
        } else {
            kprintf("pv: bridge %s: internal (no uplink)\n", name);
        }
        bridges[i] = b;
        return b;
    }
    return NULL;
}

void pvnet_poll(void)
{
    for (unsigned i = 0; i < PVNET_BRIDGES; i++) {
        struct bridge *b = bridges[i];
        if (!b || !b->uplink || b->uplink_port < 0)
            continue;
        for (unsigned k = 0; k < UPLINK_BUDGET; k++) {
            int len = b->uplink->recv(b->uplink, b->rx, sizeof b->rx);
            if (len == 0)
                break;
            if (len < 0) {
                b->up_rx_errors++;
                continue;
            }
            b->up_rx++;
            vsw_input(&b->sw, b->uplink_port, b->rx, (size_t)len, time_ns());
        }
    }
}

/* ---- a domU's interface ---- */
static bool domain_alive(uint32_t domid)
{
    static struct plinth_domain_info info;
    return hc2(HC_DOMAIN_INFO, domid, HC_PTR(&info)) == 0 && info.state != DOMAIN_STATE_STOPPED;
}

/* The switch hands a frame to this vif. The domain may have ended since
 * pvdev_poll last looked (its RAM is then no longer mapped): ask first. */
static int vif_deliver(void *ctx, const uint8_t *frame, size_t len)
{
    struct pvnet *p = ctx;
    if (p->gone)
        return -PL_ENOTCONN;
    if (!domain_alive(p->domid)) {
        p->gone = true;
        return -PL_ENOTCONN;
    }
    return vnet_rx(&p->vn, frame, len);
}

/* The domU transmitted a frame (from its QueueNotify). */
static void vif_tx(void *ctx, const uint8_t *frame, size_t len)
{
    struct pvnet *p = ctx;
    vsw_input(&p->br->sw, p->port, frame, len, time_ns());
}

static void raise_irq(void *ctx, uint32_t status)
{
    struct pvnet *p = ctx;
    pvdev_raise(p->pd, p->window, status);
}

static uint64_t net_read(void *dev, uint64_t off, unsigned size) { return vnet_mmio_read(dev, off, size); }
static void net_write(void *dev, uint64_t off, unsigned size, uint64_t v) { vnet_mmio_write(dev, off, size, v); }

static void net_notify(void *dev, unsigned q)
{
    while (vnet_notify(dev, q) > 0)
        ;
}

static void net_describe(void *dev)
{
    struct pvnet *p = dev;
    struct vnet_dev *vn = &p->vn;
    struct bridge *b = p->br;
    const struct vsw_port *port = &b->sw.ports[p->port];
    kprintf("mac %02x:%02x:%02x:%02x:%02x:%02x bridge %s", vn->mac[0], vn->mac[1], vn->mac[2], vn->mac[3],
            vn->mac[4], vn->mac[5], b->sw.name);
    if (p->vlan)
        kprintf(" vlan %u", p->vlan);
    kprintf(", tx %llu frames (%llu dropped, %llu spoofed), rx %llu frames (%llu dropped: %llu no buffer, %llu "
            "device down, %llu buffer too small)%s",
            (unsigned long long)vn->tx_frames, (unsigned long long)(vn->tx_dropped + port->in_dropped),
            (unsigned long long)port->spoofed, (unsigned long long)vn->rx_frames,
            (unsigned long long)(vn->rx_no_buffer + vn->rx_down + vn->rx_too_big),
            (unsigned long long)vn->rx_no_buffer, (unsigned long long)vn->rx_down,
            (unsigned long long)vn->rx_too_big, vnet_needs_reset(vn) ? ", NEEDS RESET" : "");
    kprintf("; bridge %s: %u ports, %u addresses, %llu frames (%llu flooded)", b->sw.name, vsw_port_count(&b->sw),
            vsw_fdb_count(&b->sw, time_ns()), (unsigned long long)b->sw.frames, (unsigned long long)b->sw.flooded);
    if (b->uplink)
        kprintf(", uplink %s rx %llu tx %llu (%llu errors)", b->uplink->name, (unsigned long long)b->up_rx,
                (unsigned long long)b->up_tx, (unsigned long long)(b->up_tx_errors + b->up_rx_errors));
}

static void net_release(void *dev)
{
    struct pvnet *p = dev;
    vsw_remove_port(&p->br->sw, p->port);
    p->gone = true;
    p->in_use = false;
}

static const struct pv_devops net_ops = {
    .kind = "virtio-net",
    .read = net_read,
    .write = net_write,
    .notify = net_notify,
    .describe = net_describe,
    .release = net_release,
};

int pvnet_attach(struct pv_dom *pd, const struct domcfg *cfg)
{
    for (unsigned i = 0; i < cfg->vif_count; i++) {
        const struct domcfg_vif *v = &cfg->vifs[i];
        struct bridge *b = get_bridge(v->bridge);
        if (!b) {
            kprintf("pv: %s: vif %u: more than %d bridges\n", cfg->name, i, PVNET_BRIDGES);
            return -PL_ENOSPC;
        }
        struct pvnet *p = get_dev();
        if (!p) {
            kprintf("pv: %s: out of virtio-net devices\n", cfg->name);
            return -PL_ENOMEM;
        }
        int rc = vnet_create(&p->vn, pvdev_guestmem(pd), v->mac);
        if (rc < 0) {
            p->in_use = false;
            return rc;
        }
        p->pd = pd;
        p->domid = pvdev_domid(pd);
        p->br = b;
        p->vlan = v->vlan;
        p->gone = false;
        char pname[VSW_NAME_MAX + 1];
        ksnprintf(pname, sizeof pname, "dom%u.%u", p->domid, i);
        p->port = vsw_add_port(&b->sw, pname, false, v->mac, v->vlan, vif_deliver, p);
        if (p->port < 0) {
            kprintf("pv: %s: vif %u on bridge %s: %s\n", cfg->name, i, v->bridge,
                    p->port == -PL_EINVAL ? "multicast MAC address" : "bridge full");
            p->in_use = false;
            return p->port;
        }
        int w = pvdev_add(pd, &net_ops, p);
        if (w < 0) {
            kprintf("pv: %s: more than %d devices\n", cfg->name, PLINTH_VIRTIO_MMIO_MAX);
            vsw_remove_port(&b->sw, p->port);
            p->in_use = false;
            return w;
        }
        p->window = (unsigned)w;
        vnet_set_irq(&p->vn, raise_irq, p);
        vnet_set_tx(&p->vn, vif_tx, p);
    }
    return 0;
}
