UNIT_TESTS += cmdline
UNIT_SRCS_cmdline := hv/cmdline.c
