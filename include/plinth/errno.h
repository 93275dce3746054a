/* SPDX-License-Identifier: MIT */
/*
 * Plinth error codes, ABI version 1.
 * Shared by the hypervisor, dom0 and guests. Functions and hypercalls return
 * 0 on success or the negated code below. Values follow Linux errno numbers so
 * they read familiarly in logs; they are a stable part of the ABI.
 */
#ifndef PLINTH_ERRNO_H
#define PLINTH_ERRNO_H

#define PL_OK        0
#define PL_EPERM     1   /* caller lacks the privilege */
#define PL_ENOENT    2   /* no such object */
#define PL_ESRCH     3   /* no such domain */
#define PL_EIO       5   /* device or I/O failure */
#define PL_E2BIG     7   /* argument longer than the limit */
#define PL_ENOMEM   12   /* out of memory */
#define PL_EFAULT   14   /* pointer outside the caller's memory */
#define PL_EBUSY    16   /* object in use */
#define PL_EEXIST   17   /* object already exists */
#define PL_EINVAL   22   /* malformed argument */
#define PL_ENOSPC   28   /* a fixed-size table is full */
#define PL_ERANGE   34   /* value out of range */
#define PL_ENOSYS   38   /* no such call */
#define PL_ENOTCONN 107  /* an event channel without a peer */
#define PL_ETIMEDOUT 110 /* operation did not finish in time */

#endif
