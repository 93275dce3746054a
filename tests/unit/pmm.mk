UNIT_TESTS += pmm
UNIT_SRCS_pmm := hv/pmm.c
