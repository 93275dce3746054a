UNIT_TESTS += guest_walk
UNIT_SRCS_guest_walk := arch/x86/guest_walk.c
