UNIT_TESTS += logring
UNIT_SRCS_logring := hv/logring.c
