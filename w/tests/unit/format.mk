UNIT_TESTS += format
UNIT_SRCS_format := hv/format.c
