UNIT_TESTS += memmap
UNIT_SRCS_memmap := hv/memmap.c hv/format.c
