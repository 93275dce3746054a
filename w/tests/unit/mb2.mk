UNIT_TESTS += mb2
UNIT_SRCS_mb2 := hv/mb2.c hv/memmap.c hv/format.c
