UNIT_TESTS += elf
UNIT_SRCS_elf := hv/elf.c hv/format.c
