/* SPDX-License-Identifier: MIT */
/* Learning bridge with access-port VLANs (see vswitch.h). */
#include "dom0/virtio/vswitch.h"

#include "hv/string.h"
#include "plinth/errno.h"

static bool is_mcast(const uint8_t *mac) { return mac[0] & 1; }
static bool mac_eq(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, 6) == 0; }

void vsw_init(struct vswitch *sw, const char *name)
{
    memset(sw, 0, sizeof *sw);
    for (unsigned i = 0; name && name[i] && i < VSW_NAME_MAX; i++)
        sw->name[i] = name[i];
    sw->age_ns = VSW_AGE_DEFAULT_NS;
}

int vsw_add_port(struct vswitch *sw, const char *name, bool uplink, const uint8_t mac[6], uint16_t vlan,
                 vsw_deliver_fn deliver, void *ctx)
{
    if (!sw || !deliver)
        return -PL_EINVAL;
    if (!uplink && (!mac || is_mcast(mac) || vlan > VSW_VLAN_MAX))
        return -PL_EINVAL;
    int free_slot = -1;
    for (int i = 0; i < VSW_MAX_PORTS; i++) {
        if (sw->ports[i].used && uplink && sw->ports[i].uplink)
            return -PL_EEXIST;
        if (!sw->ports[i].used && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0)
        return -PL_ENOSPC;
    struct vsw_port *p = &sw->ports[free_slot];
    memset(p, 0, sizeof *p);
    p->used = true;
    p->uplink = uplink;
    p->vlan = uplink ? 0 : vlan;
    if (!uplink)
        memcpy(p->mac, mac, 6);
    for (unsigned i = 0; name && name[i] && i < VSW_NAME_MAX; i++)
        p->name[i] = name[i];
    p->deliver = deliver;
    p->ctx = ctx;
    return free_slot;
}

void vsw_remove_port(struct vswitch *sw, int port)
{
    if (!sw || port < 0 || port >= VSW_MAX_PORTS || !sw->ports[port].used)
        return;
    for (unsigned i = 0; i < VSW_FDB_SIZE; i++)
        if (sw->fdb[i].used && sw->fdb[i].port == port)
            sw->fdb[i].used = false;
    memset(&sw->ports[port], 0, sizeof sw->ports[port]);
}

static bool fresh(const struct vswitch *sw, const struct vsw_fdb_entry *e, uint64_t now)
{
    return e->used && now - e->seen_ns < sw->age_ns;
}

int vsw_lookup(const struct vswitch *sw, const uint8_t mac[6], uint16_t vlan, uint64_t now_ns)
{
    for (unsigned i = 0; i < VSW_FDB_SIZE; i++) {
        const struct vsw_fdb_entry *e = &sw->fdb[i];
        if (e->used && e->vlan == vlan && mac_eq(e->mac, mac))
            return fresh(sw, e, now_ns) ? e->port : -1;
    }
    return -1;
}

unsigned vsw_fdb_count(const struct vswitch *sw, uint64_t now_ns)
{
    unsigned n = 0;
    for (unsigned i = 0; i < VSW_FDB_SIZE; i++)
        n += fresh(sw, &sw->fdb[i], now_ns);
    return n;
}

unsigned vsw_port_count(const struct vswitch *sw)
{
    unsigned n = 0;
    for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
        n += sw->ports[i].used;
    return n;
}

static void learn(struct vswitch *sw, const uint8_t *mac, uint16_t vlan, int port, uint64_t now)
{
    struct vsw_fdb_entry *slot = NULL, *oldest = NULL;
    for (unsigned i = 0; i < VSW_FDB_SIZE; i++) {
        struct vsw_fdb_entry *e = &sw->fdb[i];
        if (e->used && e->vlan == vlan && mac_eq(e->mac, mac)) {
            if (e->port != port || !fresh(sw, e, now))
                sw->learned++;  /* moved, or back after ageing out */
            e->port = (uint8_t)port;
            e->seen_ns = now;
            return;
        }
        if (!slot && !fresh(sw, e, now))
            slot = e;   /* free, or aged out */
        if (e->used && (!oldest || e->seen_ns < oldest->seen_ns))
            oldest = e;
    }
    if (!slot) {
        slot = oldest;  /* full of live entries: replace the least recently seen */
        sw->evicted++;
    }
    memcpy(slot->mac, mac, 6);
    slot->vlan = vlan;
    slot->port = (uint8_t)port;
    slot->seen_ns = now;
    slot->used = true;
    sw->learned++;
}

/* Send an untagged frame of `vlan` out of port o; tags it for the uplink. */
static bool emit(struct vswitch *sw, int o, const uint8_t *frame, size_t len, uint16_t vlan)
{
    struct vsw_port *p = &sw->ports[o];
    int r;
    if (p->uplink && vlan) {
        if (len + 4 > VSW_FRAME_MAX) {
            p->out_errors++;
            return false;
        }
        memcpy(sw->buf, frame, 12);
        sw->buf[12] = VSW_TPID >> 8;
        sw->buf[13] = VSW_TPID & 0xFF;
        sw->buf[14] = (uint8_t)(vlan >> 8);
        sw->buf[15] = (uint8_t)vlan;
        memcpy(sw->buf + 16, frame + 12, len - 12);
        r = p->deliver(p->ctx, sw->buf, len + 4);
    } else {
        r = p->deliver(p->ctx, frame, len);
    }
    if (r < 0) {
        p->out_errors++;
        return false;
    }
    p->out_frames++;
    return true;
}

int vsw_input(struct vswitch *sw, int port, const uint8_t *frame, size_t len, uint64_t now_ns)
{
    if (!sw || port < 0 || port >= VSW_MAX_PORTS || !sw->ports[port].used)
        return -VSW_DROP_BADPORT;
    struct vsw_port *in = &sw->ports[port];
    int why = 0;
    uint16_t vlan = 0;
    if (!frame || len < VSW_ETH_MIN || len > VSW_FRAME_MAX)
        why = VSW_DROP_LENGTH;
    else if (is_mcast(frame + 6))
        why = VSW_DROP_SRCMCAST;
    else if (!in->uplink && !mac_eq(frame + 6, in->mac))
        why = VSW_DROP_SPOOF;
    if (why) {
        if (why == VSW_DROP_SPOOF)
            in->spoofed++;
        else
            in->in_dropped++;
        return -why;
    }
    bool tagged = frame[12] == (VSW_TPID >> 8) && frame[13] == (VSW_TPID & 0xFF);
    if (tagged && !in->uplink) {
        in->in_dropped++;
        return -VSW_DROP_TAGGED;
    }
    if (in->uplink) {
        if (tagged) {
            if (len < VSW_ETH_MIN + 4) {
                in->in_dropped++;
                return -VSW_DROP_BADTAG;
            }
            vlan = (uint16_t)(((frame[14] << 8) | frame[15]) & 0x0FFF);
            if (vlan > VSW_VLAN_MAX) {
                in->in_dropped++;
                return -VSW_DROP_BADTAG;
            }
            /* Strip the tag: the frame is untagged inside the switch. */
            memcpy(sw->buf, frame, 12);
            memcpy(sw->buf + 12, frame + 16, len - 16);
            frame = sw->buf;
            len -= 4;
        }
    } else {
        vlan = in->vlan;
    }
    in->in_frames++;
    sw->frames++;
    /* The uplink cannot take over the address of one of our vifs. */
    bool ours = false;
    for (int o = 0; in->uplink && o < VSW_MAX_PORTS; o++)
        ours |= sw->ports[o].used && !sw->ports[o].uplink && sw->ports[o].vlan == vlan &&
                mac_eq(sw->ports[o].mac, frame + 6);
    if (!ours)
        learn(sw, frame + 6, vlan, port, now_ns);

    /* A copy for our own use: emit() reuses sw->buf for tagging. */
    uint8_t local[VSW_FRAME_MAX];
    if (frame == sw->buf) {
        memcpy(local, frame, len);
        frame = local;
    }
    if (!is_mcast(frame)) {
        int out = vsw_lookup(sw, frame, vlan, now_ns);
        if (out == port) {
            sw->filtered++;
            return 0;
        }
        if (out >= 0) {
            sw->forwarded++;
            return emit(sw, out, frame, len, vlan) ? 1 : 0;
        }
    }
    sw->flooded++;
    int n = 0;
    for (int o = 0; o < VSW_MAX_PORTS; o++) {
        struct vsw_port *p = &sw->ports[o];
        if (!p->used || o == port)
            continue;
        if (!p->uplink && p->vlan != vlan)
            continue;
        n += emit(sw, o, frame, len, vlan);
    }
    return n;
}
