UNIT_TESTS += sched
UNIT_SRCS_sched := hv/sched.c
