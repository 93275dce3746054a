/* SPDX-License-Identifier: MIT */
#ifndef PLINTH_VERSION_H
#define PLINTH_VERSION_H

/* Public ABI version: bumped when include/plinth changes incompatibly. */
#define PLINTH_ABI_MAJOR 1
#define PLINTH_ABI_MINOR 4

#define PLINTH_VERSION_STRING "0.1.0"

#endif
