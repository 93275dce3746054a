UNIT_TESTS += grant
UNIT_SRCS_grant := hv/grant_core.c
