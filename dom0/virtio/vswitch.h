/* SPDX-License-Identifier: MIT */
/*
 * A learning Ethernet bridge for the domUs' virtio-net interfaces
 * (docs/vswitch.md). Ports are domU interfaces ("vifs") and at most one
 * uplink (one of dom0's physical NICs). Pure: no globals, no allocation,
 * time passed in; host-tested.
 *
 * VLANs: every frame inside the switch belongs to one VLAN, 0 standing
 * for "untagged". A vif is an access port: its frames belong to its
 * configured VLAN (0 without vlan=), it receives only frames of that VLAN,
 * always untagged, and a tagged frame it sends is dropped. The uplink is a
 * trunk: an untagged (or priority-tagged, VID 0) frame from it belongs to
 * VLAN 0, an 802.1Q frame with VID v to VLAN v (tag removed inside the
 * switch); frames of VLAN v != 0 leave through it tagged with v, frames of
 * VLAN 0 untagged.
 *
 * Forwarding: the source address is learnt per (MAC, VLAN) with the
 * ingress port; broadcast, multicast and unknown unicast are flooded to
 * every other port of the frame's VLAN; a known unicast goes to its port
 * only, or nowhere when that is the ingress port. Entries age out after
 * age_ns; the table is bounded (VSW_FDB_SIZE): when full, the oldest
 * entry is replaced. A frame from a vif whose source MAC is not the vif's
 * configured MAC is dropped (anti-spoofing), as is any frame with a
 * multicast source address.
 */
#ifndef DOM0_VIRTIO_VSWITCH_H
#define DOM0_VIRTIO_VSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSW_MAX_PORTS 16
#define VSW_FDB_SIZE 256
#define VSW_AGE_DEFAULT_NS (300ull * 1000 * 1000 * 1000)   /* 300 s, as 802.1D */
#define VSW_FRAME_MAX 1518u    /* without FCS, one tag included */
#define VSW_ETH_MIN 14u
#define VSW_VLAN_MAX 4094u
#define VSW_TPID 0x8100u
#define VSW_NAME_MAX 15

/* Why vsw_input dropped a frame (negative return values). */
enum {
    VSW_DROP_BADPORT = 1,  /* no such port */
    VSW_DROP_LENGTH,       /* shorter than 14 bytes, longer than VSW_FRAME_MAX */
    VSW_DROP_SPOOF,        /* source MAC is not the vif's */
    VSW_DROP_SRCMCAST,     /* multicast/broadcast source MAC */
    VSW_DROP_TAGGED,       /* an 802.1Q frame from a vif (access port) */
    VSW_DROP_BADTAG,       /* a tag from the uplink with VID 4095, or truncated */
};

/* Deliver a frame to the port's owner: 0 or a negative error (counted). */
typedef int (*vsw_deliver_fn)(void *ctx, const uint8_t *frame, size_t len);

struct vsw_port {
    bool used;
    bool uplink;
    uint16_t vlan;              /* vif: its VLAN (0: untagged); uplink: 0 */
    uint8_t mac[6];             /* vif: the only source MAC it may use */
    char name[VSW_NAME_MAX + 1];
    vsw_deliver_fn deliver;
    void *ctx;
    /* statistics */
    uint64_t in_frames;         /* frames from the port accepted by the switch */
    uint64_t out_frames;        /* frames delivered to the port */
    uint64_t out_errors;        /* ... that deliver() refused (e.g. no rx buffer) */
    uint64_t spoofed;           /* dropped: wrong source MAC */
    uint64_t in_dropped;        /* dropped for any other reason on input */
};

struct vsw_fdb_entry {
    uint8_t mac[6];
    uint16_t vlan;
    uint8_t port;
    bool used;
    uint64_t seen_ns;
};

struct vswitch {
    char name[VSW_NAME_MAX + 1];
    uint64_t age_ns;
    struct vsw_port ports[VSW_MAX_PORTS];
    struct vsw_fdb_entry fdb[VSW_FDB_SIZE];
    /* statistics */
    uint64_t frames, flooded, forwarded, filtered, learned, evicted;
    uint8_t buf[VSW_FRAME_MAX + 4];  /* tag rewriting scratch */
};

void vsw_init(struct vswitch *sw, const char *name);

/* Add a port. A vif (uplink false) needs its MAC (unicast) and VLAN
 * 0..VSW_VLAN_MAX; an uplink ignores both (at most one per switch).
 * Returns the port number or -PL_ENOSPC (full), -PL_EEXIST (second
 * uplink), -PL_EINVAL. */
int vsw_add_port(struct vswitch *sw, const char *name, bool uplink, const uint8_t mac[6], uint16_t vlan,
                 vsw_deliver_fn deliver, void *ctx);
/* Remove a port and forget every address learnt on it. */
void vsw_remove_port(struct vswitch *sw, int port);

/* A frame sent by port `port` at time now_ns: the number of ports it was
 * delivered to (0 is fine: filtered, or no other port in its VLAN), or
 * -VSW_DROP_*. */
int vsw_input(struct vswitch *sw, int port, const uint8_t *frame, size_t len, uint64_t now_ns);

/* Where (mac, vlan) was last seen: its port, or -1 (unknown or aged out). */
int vsw_lookup(const struct vswitch *sw, const uint8_t mac[6], uint16_t vlan, uint64_t now_ns);
/* Entries in use and not aged out. */
unsigned vsw_fdb_count(const struct vswitch *sw, uint64_t now_ns);
unsigned vsw_port_count(const struct vswitch *sw);

#endif
