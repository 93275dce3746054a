/* SPDX-License-Identifier: MIT */
/*
 * Virtio frontend for 64-bit test guests: the virtio-mmio transport
 * (virtio 1.2 section 4.2, modern devices only: Version 2), split
 * virtqueues (section 2.7) and a virtio-blk driver (section 5.2).
 *
 * Platform (include/plinth/ioreq.h): device n's registers are at
 * VIRTIO_PLATFORM_BASE + n * VIRTIO_PLATFORM_STRIDE, and it raises
 * interrupt line 16 + n, delivered as vector PLINTH_IRQ_VECTOR_BASE + line.
 * The VIRTIO_PLATFORM_* macros may be overridden at compile time (e.g. to
 * run the library against QEMU's microvm transports).
 *
 * Every register access is a single plain `mov` (inline assembly): 32-bit
 * for the transport registers, 8/16/32-bit (the field's width) for the
 * device configuration space, as section 4.2.2.2 requires and as the
 * hypervisor's MMIO decoder understands.
 *
 * Memory: queues live in static, page-aligned storage of the library;
 * buffers are ordinary guest memory; guest-physical = virtual (the guests'
 * identity map), so a pointer is the address the device sees.
 *
 * Waiting: in VIRTIO_WAIT_IRQ mode the guest sleeps (sti; hlt) with the
 * HC_SET_TIMER timer armed as a wake-up, left armed across waits
 * (virtio_arm_wait_timer), re-checks the used ring after every wake-up (so a lost
 * interrupt costs one timer slice, not a hang; such completions are counted
 * in `completions_polled`), and gives up at a TSC deadline. In
 * VIRTIO_WAIT_POLL mode it spins on the used ring until the deadline. The
 * functions return with IF = 0. Functions that can fail return 0 or a
 * negated PL_E* code (plinth/errno.h).
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include <plinth/ioreq.h>

/* ---------------------------------------------------------------- platform */
#ifndef VIRTIO_PLATFORM_BASE
#define VIRTIO_PLATFORM_BASE PLINTH_VIRTIO_MMIO_BASE
#endif
#ifndef VIRTIO_PLATFORM_STRIDE
#define VIRTIO_PLATFORM_STRIDE PLINTH_VIRTIO_MMIO_STRIDE
#endif
#ifndef VIRTIO_PLATFORM_COUNT
#define VIRTIO_PLATFORM_COUNT PLINTH_VIRTIO_MMIO_MAX
#endif
/* Vector of device n's interrupt. */
#ifndef VIRTIO_PLATFORM_VECTOR
#define VIRTIO_PLATFORM_VECTOR(n) (PLINTH_IRQ_VECTOR_BASE + PLINTH_VIRTIO_MMIO_IRQ_BASE + (n))
#endif
/* Vector of the HC_SET_TIMER wake-up used while waiting (below the device vectors). */
#ifndef VIRTIO_TIMER_VECTOR
#define VIRTIO_TIMER_VECTOR 0x3F
#endif

/* ---------------------------------------------------------------- virtio-mmio registers (4.2.2) */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000      /* "virt" */
#define VIRTIO_MMIO_VERSION 0x004          /* 2: modern */
#define VIRTIO_MMIO_DEVICE_ID 0x008        /* 0: no device */
#define VIRTIO_MMIO_VENDOR_ID 0x00C
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
/* VIRTIO_MMIO_QUEUE_NOTIFY, _INTERRUPT_STATUS, _INTERRUPT_ACK and _STATUS
 * come from plinth/ioreq.h */
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0A0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0A4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0FC
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976u
#define VIRTIO_MMIO_VERSION_MODERN 2

/* VIRTIO_INT_USED_BUFFER and VIRTIO_INT_CONFIG_CHANGE: plinth/ioreq.h */

/* Device status (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Reserved feature bits (6) */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29      /* VIRTIO_RING_F_EVENT_IDX */
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_BIT(b) (1ull << (b))

/* Device IDs (5) */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

/* ---------------------------------------------------------------- split virtqueue layout (2.7) */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq_desc {             /* 16-byte aligned */
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {            /* 2-byte aligned; used_event follows ring[size] */
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq_used {             /* 4-byte aligned; avail_event follows ring[size] */
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];
};

/* Largest queue the library sets up (the device's QueueNumMax may be smaller). */
#define VIRTQ_MAX_SIZE 128
/* Queues in the library's static pool (all devices together). */
#define VIRTQ_POOL 4

/* ---------------------------------------------------------------- devices and queues */
enum virtio_wait_mode {
    VIRTIO_WAIT_IRQ,    /* sleep until the device's interrupt (with a timer as a safety net) */
    VIRTIO_WAIT_POLL,   /* spin on the used ring; interrupts suppressed (a hint to the device) */
};

struct virtq;

struct virtio_dev {
    uintptr_t base;             /* register window */
    unsigned index;             /* window number n */
    unsigned vector;            /* its interrupt vector */
    uint32_t version, device_id, vendor_id;
    uint64_t device_features;   /* offered */
    uint64_t features;          /* negotiated */
    enum virtio_wait_mode wait_mode;
    uint64_t timeout_ms;        /* per wait, 0: the default (10 s) */
    struct virtq *queues[4];    /* set up with virtq_setup, by queue index */
    /* Counters. */
    volatile unsigned long irqs;            /* interrupts taken on the device's vector */
    volatile unsigned long irqs_spurious;   /* ... with InterruptStatus = 0 */
    volatile unsigned long config_changes;  /* ... with the configuration-change bit */
    volatile uint32_t isr_seen;             /* OR of every InterruptStatus read */
};

struct virtq {
    struct virtio_dev *dev;
    uint16_t index;             /* queue index (QueueSel) */
    uint16_t size;              /* QueueNum (a power of two) */
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    volatile uint16_t *used_event;  /* in avail, after ring[size] */
    volatile uint16_t *avail_event; /* in used, after ring[size] */
    bool event_idx;             /* VIRTIO_F_EVENT_IDX negotiated */
    /* Driver-private state (never read back from device-visible memory). */
    uint16_t free_head, num_free;
    uint16_t avail_idx;         /* next avail->idx to publish */
    uint16_t kicked_idx;        /* avail idx at the last notification decision */
    uint16_t last_used;         /* next used->idx entry to consume */
    uint16_t next[VIRTQ_MAX_SIZE];
    uint16_t chain_len[VIRTQ_MAX_SIZE];
    void *token[VIRTQ_MAX_SIZE];
    /* Counters. */
    unsigned long added;                /* chains made available */
    unsigned long notifies;             /* QueueNotify writes */
    unsigned long notifies_suppressed;  /* kicks the device asked us to skip */
    unsigned long completions;          /* used entries consumed */
    unsigned long completions_polled;   /* ... found with no interrupt taken while waiting (IRQ mode) */
    unsigned long waits, timeouts;
    unsigned long bad_used;             /* used entries with an invalid id */
};

/* One buffer of a descriptor chain. */
struct virtq_buf {
    void *addr;
    uint32_t len;
    bool device_writes;         /* VIRTQ_DESC_F_WRITE: the device writes into it */
};

/* Raw register access (one mov each). */
uint32_t virtio_read32(const struct virtio_dev *d, unsigned off);
void virtio_write32(const struct virtio_dev *d, unsigned off, uint32_t v);
/* Device configuration space (offset from 0x100), width-correct accesses;
 * virtio_config64 reads two 32-bit halves, retrying on a ConfigGeneration change. */
uint8_t virtio_config8(const struct virtio_dev *d, unsigned off);
uint16_t virtio_config16(const struct virtio_dev *d, unsigned off);
uint32_t virtio_config32(const struct virtio_dev *d, unsigned off);
uint64_t virtio_config64(const struct virtio_dev *d, unsigned off);

/* True if window n holds a device: MagicValue "virt" and DeviceID != 0
 * (fills d->base, index, vector, version, device_id, vendor_id). */
bool virtio_probe(unsigned n, struct virtio_dev *d);
/* The nth (0, 1, ...) device with this DeviceID, or -PL_ENOENT. */
int virtio_find(uint32_t device_id, unsigned nth, struct virtio_dev *d);
/* Prints every window that holds a device. Returns how many. */
unsigned virtio_list(void);

/*
 * Reset, ACKNOWLEDGE, DRIVER, feature negotiation, FEATURES_OK (read back).
 * Accepts VERSION_1 (required: -PL_EINVAL for a legacy device or one that
 * does not offer it) plus `wanted & offered`. On failure sets FAILED.
 * Also installs the device's interrupt handler (and the timer handler).
 */
int virtio_dev_init(struct virtio_dev *d, uint64_t wanted, enum virtio_wait_mode mode);
/* Queue setup (QueueSel, QueueNumMax, QueueNum, addresses, QueueReady):
 * size = min(QueueNumMax, max_size, VIRTQ_MAX_SIZE) rounded down to a power
 * of two. Between virtio_dev_init and virtio_driver_ok. */
int virtq_setup(struct virtio_dev *d, uint16_t index, uint16_t max_size, struct virtq **out);
/* Sets DRIVER_OK; -PL_EIO if the device reports DEVICE_NEEDS_RESET or FAILED. */
int virtio_driver_ok(struct virtio_dev *d);
/* Marks the device FAILED (the driver gave up). */
void virtio_fail(struct virtio_dev *d);
/* Writes 0 to Status (the device forgets its queues; the library's queues stay allocated). */
void virtio_reset(struct virtio_dev *d);
static inline bool virtio_has(const struct virtio_dev *d, unsigned bit) { return d->features >> bit & 1; }

/* Makes a chain of n buffers available (device-readable ones must come
 * first); `token` (non-NULL) comes back from virtq_get_used. Does not
 * notify. -PL_ENOSPC if fewer than n descriptors are free. */
int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *token);
/* Notifies the device (QueueNotify) unless it asked not to be
 * (VIRTQ_USED_F_NO_NOTIFY or, with EVENT_IDX, avail_event). Returns true if notified. */
bool virtq_kick(struct virtq *q);
/* The next used chain's token (its descriptors are freed) and the length
 * the device wrote, or NULL if none is pending. Counts bad ids in bad_used. */
void *virtq_get_used(struct virtq *q, uint32_t *len);
/* True if a used entry is pending. */
bool virtq_has_used(const struct virtq *q);
/* Waits for a used entry (see above): 0 or -PL_ETIMEDOUT. */
int virtq_wait(struct virtq *q);
/* Adds, kicks, waits for and takes back one chain (one request in flight):
 * 0 (and *len) or -PL_ENOSPC / -PL_ETIMEDOUT / -PL_EIO (another token came back). */
int virtq_transfer(struct virtq *q, const struct virtq_buf *bufs, unsigned n, uint32_t *len);

/* Prints the device's and its queues' counters on one line each, prefixed. */
void virtio_print_stats(const struct virtio_dev *d, const char *prefix);

/* TSC frequency used for timeouts: the start information's tsc_khz, or 1 GHz without one. */
uint64_t virtio_tsc_khz(void);
/* Before sleeping for a device: makes sure a timer (VIRTIO_TIMER_VECTOR)
 * fires within 10 ms, the safety net for a lost interrupt that lets
 * a waiter look at its time limit. It stays armed across waits rather than
 * being set and cancelled around each (two hypercalls a wait), so an
 * occasional sleep ends early on it. */
void virtio_arm_wait_timer(void);

/* ---------------------------------------------------------------- virtio-blk (5.2) */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11

/* Configuration space offsets (struct virtio_blk_config). */
#define VIRTIO_BLK_CFG_CAPACITY 0x00    /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 0x08    /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX 0x0C     /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE 0x14    /* le32 */
#define VIRTIO_BLK_CFG_WRITEBACK 0x20   /* u8 */

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR_SIZE 512
#define VIRTIO_BLK_ID_BYTES 20
/* Largest data transfer per request (further limited by size_max). */
#define VBLK_MAX_REQUEST 65536

struct virtio_blk_req_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct vblk {
    struct virtio_dev dev;
    struct virtq *vq;
    uint64_t capacity;          /* sectors */
    uint32_t size_max;          /* bytes per data segment (VBLK_MAX_REQUEST if not offered) */
    uint32_t blk_size;          /* 512 if not offered */
    bool read_only, flush;      /* VIRTIO_BLK_F_RO, VIRTIO_BLK_F_FLUSH negotiated */
    uint32_t last_len;          /* used length of the last request */
    unsigned long requests, errors;
    /* The in-flight request (one at a time). */
    struct virtio_blk_req_hdr hdr __attribute__((aligned(16)));
    uint8_t status;
};

/*
 * Finds the nth virtio-blk device, initialises it (offering to accept
 * EVENT_IDX if `event_idx`, and FLUSH, RO, SIZE_MAX, SEG_MAX, BLK_SIZE),
 * sets up queue 0 and DRIVER_OK. -PL_ENOENT if there is no such device.
 */
int vblk_open(struct vblk *b, unsigned nth, enum virtio_wait_mode mode, bool event_idx);
/*
 * Requests. Result: >= 0 is the device's status byte (VIRTIO_BLK_S_*; 0 is
 * success), < 0 a transport failure (-PL_ETIMEDOUT, -PL_EIO for a bad used
 * length or id, -PL_EINVAL for a bad argument). Transfers larger than
 * size_max are split into several requests (the first non-OK status ends it).
 */
int vblk_read(struct vblk *b, uint64_t sector, void *buf, uint32_t sectors);
int vblk_write(struct vblk *b, uint64_t sector, const void *buf, uint32_t sectors);
/* -> VIRTIO_BLK_S_UNSUPP without sending anything if FLUSH was not negotiated. */
int vblk_flush(struct vblk *b);
/* id: VIRTIO_BLK_ID_BYTES + 1 bytes, NUL-terminated on success. */
int vblk_get_id(struct vblk *b, char *id);
/* Any request: type, sector, one optional data buffer. */
int vblk_request(struct vblk *b, uint32_t type, uint64_t sector, void *data, uint32_t len, bool device_writes);

/* ---------------------------------------------------------------- re-initialisation after a reset */
/* Programs queue q again into the device (QueueNum, addresses, QueueReady)
 * with its storage and size unchanged, its rings zeroed and the driver's
 * state (free list, indices, tokens) fresh. For after virtio_reset and
 * virtio_dev_init (the device forgot its queues); the counters stay. */
int virtq_reinit(struct virtq *q);
/* Reset the device (Status 0) and initialise it again as vblk_open did
 * (same features, same queue, DRIVER_OK). 0 or a negated PL_E* code. */
int vblk_reinit(struct vblk *b);

/* ---------------------------------------------------------------- virtio-console (5.3) */
/* A single port (MULTIPORT is never negotiated): receiveq0 (queue 0) brings
 * what the device's user types, transmitq0 (queue 1) takes our output. */
#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
#define VIRTIO_CONSOLE_CFG_EMERG_WR 0x08   /* le32: a write outputs its low byte */
#define VCONS_RX_BUFS 8                    /* receive buffers kept posted */
#define VCONS_RX_BUF_SIZE 64

struct vcons {
    struct virtio_dev dev;
    struct virtq *rxq, *txq;
    bool emerg_write;           /* VIRTIO_CONSOLE_F_EMERG_WRITE negotiated */
    unsigned long tx_bytes, rx_bytes, rx_buffers;
    /* The receive buffer being consumed (NULL: none). */
    uint8_t *rx_cur;
    uint32_t rx_cur_len, rx_cur_off;
    uint8_t rx_buf[VCONS_RX_BUFS][VCONS_RX_BUF_SIZE] __attribute__((aligned(64)));
};

/* Finds the nth virtio-console device, initialises it (EMERG_WRITE,
 * INDIRECT_DESC and, if event_idx, EVENT_IDX accepted), sets up both
 * queues, posts the receive buffers and sets DRIVER_OK. -PL_ENOENT if
 * there is no such device. */
int vcons_open(struct vcons *c, unsigned nth, enum virtio_wait_mode mode, bool event_idx);
/* Sends len bytes through transmitq0 (one request at a time, waiting for
 * each): 0 or -PL_ETIMEDOUT / -PL_EIO. */
int vcons_write(struct vcons *c, const void *buf, uint32_t len);
int vcons_puts(struct vcons *c, const char *s);
/* Up to len received bytes; waits up to timeout_ms for the first (0: no
 * waiting). Returns the bytes read (0: none came). Consumed receive
 * buffers are posted again. */
int vcons_read(struct vcons *c, void *buf, uint32_t len, uint64_t timeout_ms);
/* One byte through the emergency-write register (works before DRIVER_OK). */
void vcons_emerg_putc(struct vcons *c, char ch);

/* ---------------------------------------------------------------- virtio-net (5.1) */
/* A minimal virtio-net driver: VERSION_1 (12-byte header), MAC from the
 * configuration space, no offloads, no mergeable buffers; VNET_RX_BUFS
 * receive buffers posted at open and reposted as frames are taken. One
 * transmit in flight at a time (vnet_send waits for its completion). */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_CFG_MAC 0x00         /* u8[6] */
#define VIRTIO_NET_CFG_STATUS 0x06      /* le16 */
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_HDR_LEN 12           /* struct virtio_net_hdr with VERSION_1 */
#define VNET_FRAME_MAX 1514             /* untagged, without FCS */
#define VNET_RX_BUFS 32
#define VNET_BUF_SIZE 1536              /* >= header + 1518 */

struct vnet {
    struct virtio_dev dev;
    struct virtq *rxq, *txq;
    uint8_t mac[6];
    bool link_up;                       /* STATUS negotiated: the status field; else true */
    unsigned long rx_frames, tx_frames, rx_bad;
    uint8_t rx_buf[VNET_RX_BUFS][VNET_BUF_SIZE] __attribute__((aligned(64)));
    uint8_t tx_buf[VNET_BUF_SIZE] __attribute__((aligned(64)));
};

/* Finds the nth virtio-net device, initialises it (MAC, STATUS and, if
 * event_idx, EVENT_IDX), sets up queues 0 (receive) and 1 (transmit),
 * posts the receive buffers, DRIVER_OK. -PL_ENOENT if there is none. */
int vnet_open(struct vnet *n, unsigned nth, enum virtio_wait_mode mode, bool event_idx);
/* Sends one frame (14..VNET_FRAME_MAX bytes, without FCS) and waits for
 * the device to take it: 0, -PL_EINVAL, -PL_ETIMEDOUT, -PL_EIO. */
int vnet_send(struct vnet *n, const void *frame, uint32_t len);
/* Takes the next received frame into buf (at most cap bytes copied),
 * waiting up to timeout_ms (0: just look): its length, or 0 when none
 * came (quietly: not being sent anything may be the point of a test). */
int vnet_recv(struct vnet *n, void *buf, uint32_t cap, uint64_t timeout_ms);

#endif
