UNIT_TESTS += heap
UNIT_SRCS_heap := hv/heap.c
