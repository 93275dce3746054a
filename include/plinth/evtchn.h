/* SPDX-License-Identifier: MIT */
/*
 * Plinth event channels, ABI version 1.2 (docs/evtchn.md).
 *
 * An event channel connects a port of one domain with a port of another.
 * Sending on a port sets the peer port's bit in the peer's event page and,
 * unless that port is masked or was already pending, raises the peer's
 * upcall vector on its vCPU 0. The receiver clears pending bits itself
 * (atomically) after handling them; it may set and clear mask bits itself
 * too, but should unmask with HC_EVTCHN_UNMASK, which re-raises the upcall
 * for an event that arrived while masked.
 *
 * Closing a connected port, or the end of its domain, makes the peer's port
 * EVTCHN_STATE_PEER_GONE and delivers one last event to it (the hang-up), so
 * a peer waiting for events wakes up. Events sent before the receiver
 * registered its page are kept and delivered by HC_EVTCHN_INIT.
 *
 * Ports are 1..EVTCHN_MAX_PORTS-1 (port 0 is never valid). Any domain may
 * use these calls. Errors: -PL_EINVAL bad port number or argument (also:
 * BIND to a port that is not UNBOUND for the caller, SEND on a HYPERVISOR
 * port), -PL_ENOENT the port is not open, -PL_ENOTCONN the port is open but
 * has no peer (not yet bound, or the peer closed it or died), -PL_ENOSPC no
 * free port, -PL_ESRCH no such remote domain, -PL_EFAULT the page is not in
 * the caller's RAM, -PL_EBUSY already initialised, -PL_ENOMEM no memory for
 * the domain's event-channel state.
 */
#ifndef PLINTH_EVTCHN_H
#define PLINTH_EVTCHN_H

#include <stdint.h>

#define EVTCHN_MAX_PORTS 64

/* Hypercall numbers (continuing include/plinth/hypercall.h). */
#define HC_EVTCHN_INIT 22          /* (gpa of the 4 KiB-aligned event page, upcall vector 32..255) -> 0 */
#define HC_EVTCHN_ALLOC_UNBOUND 23 /* (remote domid) -> port waiting for that domain to bind */
#define HC_EVTCHN_BIND 24          /* (remote domid, remote port) -> local port, connected */
#define HC_EVTCHN_SEND 25          /* (port) -> 0 */
#define HC_EVTCHN_CLOSE 26         /* (port) -> 0; the peer's port stays open, unconnected */
#define HC_EVTCHN_UNMASK 27        /* (port) -> 0 */
#define HC_EVTCHN_STATUS 28        /* (port) -> EVTCHN_STATE_* | remote domid << 8 | remote port << 32
                                    * (0, CLOSED, for a port that is not open) */

#define EVTCHN_STATE_CLOSED 0
#define EVTCHN_STATE_UNBOUND 1     /* allocated, waiting for the remote domain to bind */
#define EVTCHN_STATE_CONNECTED 2
#define EVTCHN_STATE_PEER_GONE 3   /* was connected; the peer closed it or died */
#define EVTCHN_STATE_HYPERVISOR 4  /* events from the hypervisor (ioreq notifications) */

/* The event page (guest RAM, registered with HC_EVTCHN_INIT). */
struct plinth_evtchn_page {
    uint64_t pending;   /* bit p: port p has an event (set by the hypervisor, cleared by the guest) */
    uint64_t mask;      /* bit p: do not raise the upcall for port p */
    uint64_t reserved[510];
};

#endif
